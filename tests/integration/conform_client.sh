#!/usr/bin/env bash
# mpx-client --signal convert against mpx-conform --serve, one answer kind at a time, in real
# namespaces (client -> hag [mpx-conform --serve] -> server [mpx-server]):
# - success answers (fixed header only, Supported TCP Extensions, Extended TCP Header, a reply
#   split across two segments): the client's request is relayed and verified (exit 0), and it
#   closes without an RST;
# - every Error code, a duplicate TLV and a TLV of type 0: the client reports the error code
#   (exit 1), resets the connection (RFC 8803 s6.2.8, s6.2.1, s6.2.2; the server sees the RST)
#   and does not hang;
# - a cookie demand: Error 3 stores the cookie, the next run sends it and is served.
# timeout: 80
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$MPX_ROOT/tests/lib/netns.sh"
source "$MPX_ROOT/tests/lib-proxy.sh"
t_require_root
t_require_cmd jq ip
t_require_bin mpx-conform mpx-client mpx-server

fail_dump() { mpx_nt_dump; for f in "$MPX_NT_DIR"/*.log "$MPX_NT_DIR"/*.out; do [ -f "$f" ] && { echo "== $f"; tail -n 20 "$f"; }; done; }
cleanup() { if [ "$T_FAILED" = 1 ]; then fail_dump || true; fi; mpx_nt_down; }
trap cleanup EXIT INT TERM
mpx_nt_up confc || { echo "FAIL: setup: namespaces"; exit 1; }
mpx_px_server || { t_fail setup "mpx-server not ready"; exit 1; }

PORT=5200
SERVE_PID=''
# mpx_cc_serve KIND COUNT: mpx-conform --serve KIND on a fresh port of the hag
mpx_cc_serve() {
  PORT=$((PORT + 1))
  rm -f "$MPX_NT_DIR/serve.ready"
  mpx_nt_bg hag "$MPX_NT_DIR/serve-$1.log" timeout 40 "$MPX_ROOT/bin/mpx-conform" \
    --serve "$MPX_NT_H_DSL4:$PORT" --answer "$1" --count "$2" --json --timeout 2000 \
    --ready "$MPX_NT_DIR/serve.ready"
  SERVE_PID=$MPX_NT_LASTPID
  mpx_nt_wait_file "$MPX_NT_DIR/serve.ready" 10
}
# mpx_cc_client KIND [ARGS...]: one connection; JSON lines in KIND.out, exit code in CC_RC,
# wall time in CC_MS
CC_RC=0 CC_MS=0
mpx_cc_client() {
  local kind=$1 t0; shift
  CC_RC=0
  t0=$(date +%s%N)
  mpx_px_client --signal convert --target "$MPX_NT_S4:8080" --proxy "$MPX_NT_H_DSL4:$PORT" \
    --timeout 8 --json - "$@" > "$MPX_NT_DIR/$kind.out" 2>&1 || CC_RC=$?
  CC_MS=$((($(date +%s%N) - t0) / 1000000))
}
# mpx_cc_verdicts KIND: the serve side's per-connection verdicts ("pass pass"); waits for it
mpx_cc_verdicts() {
  local rc=0
  wait "$SERVE_PID" 2>/dev/null || rc=$?
  grep '^{' "$MPX_NT_DIR/serve-$1.log" | jq -r .verdict | tr '\n' ' ' | sed 's/ $//'
  return "$rc"
}

for kind in ok supported ext-hdr split; do
  mpx_cc_serve "$kind" 1 || { t_fail "$kind" "serve not ready"; continue; }
  mpx_cc_client "$kind"
  t_check "${kind}_client_exit_0" test "$CC_RC" = 0
  t_check "${kind}_client_ok" test "$(tail -1 "$MPX_NT_DIR/$kind.out" | jq -r .ok 2>/dev/null)" = 1
  v=$(mpx_cc_verdicts "$kind") || true
  t_check "${kind}_relayed_closed_no_rst" test "$v" = pass
done
# the Extended TCP Header reaches the client when it sent an Extended Connect: MSS 1460,
# SACK-permitted, Timestamps, WS 7, one byte of padding
mpx_cc_serve ext-hdr 1 || t_fail ext_connect "serve not ready"
mpx_cc_client ext-connect --convert-opts 30
t_check ext_connect_client_sees_ext_hdr test "$(head -1 "$MPX_NT_DIR/ext-connect.out" | jq -r .ext_tcp_hdr 2>/dev/null)" = 020405b40402080a000000000000000003030700
mpx_cc_verdicts ext-hdr >/dev/null || true

for code in 0 1 2 3 32 33 64 65 96 97; do
  kind=error-$code
  mpx_cc_serve "$kind" 1 || { t_fail "$kind" "serve not ready"; continue; }
  mpx_cc_client "$kind"
  t_check "${kind}_client_exit_1" test "$CC_RC" = 1
  t_check "${kind}_client_reports_code" test "$(head -1 "$MPX_NT_DIR/$kind.out" | jq -r .convert_error 2>/dev/null)" = "$code"
  t_check "${kind}_no_hang" test "$CC_MS" -lt 6000
  v=$(mpx_cc_verdicts "$kind") || true
  t_check "${kind}_client_reset" test "$v" = pass
done

for kind in dup-tlv type0; do
  mpx_cc_serve "$kind" 1 || { t_fail "$kind" "serve not ready"; continue; }
  mpx_cc_client "$kind"
  t_check "${kind}_client_exit_1" test "$CC_RC" = 1
  t_check "${kind}_client_reports_bad_reply" grep -q 'bad Convert reply' "$MPX_NT_DIR/$kind.out"
  v=$(mpx_cc_verdicts "$kind") || true
  t_check "${kind}_client_reset" test "$v" = pass
done

# cookie: the demand (Error 3) is cached, the next connection carries the cookie and is served
mpx_cc_serve cookie 2 || t_fail cookie "serve not ready"
mpx_cc_client cookie-1 --cookie-cache "$MPX_NT_DIR/cookies"
t_check cookie_first_error_3 test "$(head -1 "$MPX_NT_DIR/cookie-1.out" | jq -r .convert_error 2>/dev/null)" = 3
mpx_cc_client cookie-2 --cookie-cache "$MPX_NT_DIR/cookies"
t_check cookie_retry_served test "$CC_RC" = 0
v=$(mpx_cc_verdicts cookie) || true
t_check cookie_serve_verdicts test "$v" = "pass pass"
t_done
