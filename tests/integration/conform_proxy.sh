#!/usr/bin/env bash
# mpx-conform against mpx-proxy in real namespaces (client -> hag -> server):
# - RFC 8803 suite over MPTCP with SYN data: every MUST case passes and the exit code is 0;
#   the cases that need a target really ran (IPv4 and IPv6 relays echoed);
# - a cookie-requiring proxy: Missing Cookie, retry with the cookie served, forged cookie 32;
# - mpx-proxy-conform-break (agents/proxy/convert.c built with -DMPX_PROXY_CONFORM_BREAK: no
#   s6.2.5 target address check): exactly the five policy cases fail, exit 1;
# - plain TCP without SYN data (--tcp --no-syn-data): served, the MPTCP/TFO cases n/a;
# - SOCKS5 suite: the only MUST failing is GSSAPI support (RFC 1928 s3; mpx-proxy has none);
#   RFC 1929 against a --users proxy.
# timeout: 60
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$MPX_ROOT/tests/lib/netns.sh"
source "$MPX_ROOT/tests/lib-proxy.sh"
t_require_root
t_require_cmd jq ip
t_require_bin mpx-proxy mpx-proxy-conform-break mpx-conform mpx-server

fail_dump() { mpx_nt_dump; for f in "$MPX_NT_DIR"/*.log "$MPX_NT_DIR"/*.json; do [ -f "$f" ] && { echo "== $f"; tail -c 3000 "$f"; echo; }; done; }
cleanup() { if [ "$T_FAILED" = 1 ]; then fail_dump || true; fi; mpx_nt_down; }
trap cleanup EXIT INT TERM
mpx_nt_up conf || { echo "FAIL: setup: namespaces"; exit 1; }
mpx_px_server || { t_fail setup "mpx-server not ready"; exit 1; }

# mpx_cf_run NAME ARGS...: mpx-conform --json on the client; JSON in $MPX_NT_DIR/NAME.json,
# exit code in CF_RC
CF_RC=0
mpx_cf_run() {
  local name=$1; shift
  CF_RC=0
  mpx_nt_exec client timeout 50 "$MPX_ROOT/bin/mpx-conform" --json --timeout 1500 "$@" \
    > "$MPX_NT_DIR/$name.json" 2> "$MPX_NT_DIR/$name.err" || CF_RC=$?
}
# mpx_cf_verdicts NAME FILTER: "id=verdict" lines of the cases FILTER (jq) selects, sorted
mpx_cf_ids() { jq -r "[.cases[] | select($2) | .id] | sort | join(\" \")" "$MPX_NT_DIR/$1.json" 2>/dev/null || echo "?"; }
mpx_cf_verdict() { jq -r ".cases[] | select(.id == \"$2\") | .verdict" "$MPX_NT_DIR/$1.json" 2>/dev/null || echo "?"; }

TARGETS=(--target "$MPX_NT_S4:8080" --target "[$MPX_NT_S6]:8080" --unreachable 198.19.99.1:80)

# --- the real proxy: every MUST passes
mpx_px_start good --convert 5124 --socks5 1080 || { t_fail setup "proxy not ready"; exit 1; }
mpx_cf_run good "$MPX_NT_H_DSL4:5124" "${TARGETS[@]}"
t_check good_exit_0 test "$CF_RC" = 0
t_check good_no_must_fails test "$(mpx_cf_ids good '.level == "MUST" and .verdict == "fail"')" = ""
# the cases that need the targets and MPTCP did run and pass (not n/a)
for id in connect-v4 connect-v4-data connect-v6 connect-v6-data split-header split-tlv \
          info-mptcp-kind ext-connect ext-connect-ignored ext-connect-ao tlv-dup-connect \
          policy-loopback4 policy-broadcast target-unreachable target-closed-port error-then-fin \
          hdr-len-zero tfo-syn-data; do
  t_check "good_$id" test "$(mpx_cf_verdict good "$id")" = pass
done
# bytes on the wire, as the proxy's README documents them
t_check good_dup_connect_echo test "$(jq -r '.cases[] | select(.id=="tlv-dup-connect") | .rx_hex[0:16]' "$MPX_NT_DIR/good.json")" = 010d22631e0c0100
t_check good_closed_port_96 test "$(jq -r '.cases[] | select(.id=="target-closed-port") | .rx_hex' "$MPX_NT_DIR/good.json")" = 010222631e016000
t_check good_transport_mptcp test "$(jq -r '.cases[] | select(.id=="connect-v4") | .transport' "$MPX_NT_DIR/good.json")" = mptcp
t_check good_cookie_na test "$(mpx_cf_verdict good cookie-retry)" = n/a

# plain TCP, first bytes after the handshake: the MPTCP and SYN-data cases become n/a
mpx_cf_run tcp "$MPX_NT_H_DSL4:5124" "${TARGETS[@]}" --tcp --no-syn-data --case '^(connect-v4|tfo-syn-data|info-mptcp-kind)$'
t_check tcp_exit_0 test "$CF_RC" = 0
t_check tcp_connect_v4 test "$(jq -r '.cases[] | select(.id=="connect-v4") | "\(.transport) \(.syn_data) \(.verdict)"' "$MPX_NT_DIR/tcp.json")" = "tcp false pass"
t_check tcp_na test "$(mpx_cf_ids tcp '.verdict == "n/a"')" = "info-mptcp-kind tfo-syn-data"
# the converter reached over IPv6
mpx_cf_run v6 "[$MPX_NT_H_DSL6]:5124" "${TARGETS[@]}" --case '^(connect-v4|connect-v6|policy-loopback6)$'
t_check v6_converter test "$CF_RC $(mpx_cf_ids v6 '.verdict == "pass"')" = "0 connect-v4 connect-v6 policy-loopback6"

# --- cookie policy: the demand, the retry with the cookie, a forged cookie
mpx_px_start ck --convert 5144 --cookie-required --cookie-key 000102030405060708090a0b0c0d0e0f ||
  { t_fail setup "cookie proxy not ready"; exit 1; }
mpx_cf_run ck "$MPX_NT_H_DSL4:5144" "${TARGETS[@]}" --case '^(cookie-retry|cookie-invalid|connect-v4)$'
t_check cookie_exit_0 test "$CF_RC" = 0
t_check cookie_verdicts test "$(mpx_cf_ids ck '.verdict == "pass"')" = "connect-v4 cookie-invalid cookie-retry"

# --- the broken build: the address check skipped, the policy cases (and only they) fail
MPX_PX_BIN=$MPX_ROOT/bin/mpx-proxy-conform-break mpx_px_start broken --convert 5134 ||
  { t_fail setup "broken proxy not ready"; exit 1; }
mpx_cf_run broken "$MPX_NT_H_DSL4:5134" "${TARGETS[@]}"
t_check broken_exit_1 test "$CF_RC" = 1
t_check broken_fails_policy test "$(mpx_cf_ids broken '.verdict == "fail"')" = \
  "policy-broadcast policy-loopback4 policy-loopback6 policy-multicast4 policy-multicast6"
t_check broken_summary test "$(jq -r .exit "$MPX_NT_DIR/broken.json")" = 1

# --- SOCKS5 (RFC 1928/1929) on the same proxy
mpx_cf_run s5 "$MPX_NT_H_DSL4:1080" --socks5 "${TARGETS[@]}"
t_check s5_exit_1 test "$CF_RC" = 1
t_check s5_only_gssapi_must_fails test "$(mpx_cf_ids s5 '.level == "MUST" and .verdict == "fail"')" = s5-method-gssapi
for id in s5-connect-v4 s5-connect-v6 s5-refused-close s5-bad-cmd-close s5-bad-atyp-close; do
  t_check "s5_$id" test "$(mpx_cf_verdict s5 "$id")" = pass
done

# RFC 1929 on a proxy with --users: username/password selected, a wrong login refused and
# closed, the right one relays
printf 'alice:s3cret\n' > "$MPX_NT_DIR/users"
mpx_px_start s5a --socks5 1081 --users "$MPX_NT_DIR/users" || { t_fail setup "auth proxy not ready"; exit 1; }
mpx_cf_run s5a "$MPX_NT_H_DSL4:1081" --socks5 "${TARGETS[@]}" --socks-user alice --socks-pass s3cret \
  --case '^s5-(method-userpass|auth-fail-close|connect-v4)$'
t_check s5_auth_exit_0 test "$CF_RC" = 0
t_check s5_auth_verdicts test "$(mpx_cf_ids s5a '.verdict == "pass"')" = "s5-auth-fail-close s5-connect-v4 s5-method-userpass"

# --- usage and setup errors
rc=0; mpx_nt_exec client "$MPX_ROOT/bin/mpx-conform" --bogus >/dev/null 2>&1 || rc=$?
t_check usage_exit_2 test "$rc" = 2
rc=0; mpx_nt_exec client timeout 10 "$MPX_ROOT/bin/mpx-conform" "$MPX_NT_H_DSL4:5999" --timeout 1000 >/dev/null 2>&1 || rc=$?
t_check no_converter_exit_2 test "$rc" = 2
t_done
