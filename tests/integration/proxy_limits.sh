#!/usr/bin/env bash
# mpx-proxy's resource limits and the smaller refusals, checked on the wire:
#  - --idle-timeout: a relay where nobody sends is closed (FIN) after the timeout, not before,
#    and counted (idle_timeouts);
#  - the fd limit: a proxy started under `ulimit -n 40` reports that limit; filled up to it
#    with held connections, the next Convert client gets Error 64 and the next SOCKS5 client
#    REP 1 (through the spare descriptor, not a silent close), and SIGUSR1 still writes the
#    stats (through the second spare);
#  - SOCKS5: a request cut short and then silent gets REP 1 (general failure), not REP 7;
#    --max-conns answers a SOCKS5 client with REP 1 after the method choice (RFC 1928: a
#    reply code exists only for a request);
#  - MP_CONVERT naming protocol 17 (UDP) is refused (reset), not relayed as TCP.
# timeout: 60
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$MPX_ROOT/tests/lib/netns.sh"
source "$MPX_ROOT/tests/lib-proxy.sh"
t_require_root
t_require_cmd jq ip
t_require_bin mpx-proxy mpx-client mpx-server mpx-proxy-probe mpx-wire

fail_dump() { mpx_nt_dump; for f in "$MPX_NT_DIR"/*.log; do echo "== $f"; tail -n 20 "$f"; done; }
cleanup() { if [ "$T_FAILED" = 1 ]; then fail_dump || true; fi; mpx_nt_down; }
trap cleanup EXIT INT TERM
mpx_nt_up pxlim || { echo "FAIL: setup: namespaces"; exit 1; }
D=$MPX_NT_DIR
mpx_px_server || { t_fail setup "mpx-server not ready"; exit 1; }
conn() { mpx_px_connect_hex "$MPX_NT_S4" 8080; }
RX='' END='' TEND=0
probe() { # to hex timeout_ms [more probe args]
  local out
  out=$(mpx_px_probe --to "$1" --hex "$2" --timeout "$3" "${@:4}" || true)
  RX=$(jq -r .rx_hex <<<"$out" 2>/dev/null || echo "?")
  END=$(jq -r .end <<<"$out" 2>/dev/null || echo "?")
  TEND=$(jq -r .t_end_us <<<"$out" 2>/dev/null || echo 0)
}
H=$MPX_NT_H_DSL4
REP1=05010001000000000000
IFS=. read -r o1 o2 o3 o4 <<< "$MPX_NT_S4"
# SOCKS5 greeting (no auth) + CONNECT to the server, pipelined
SOCKS_REQ=$(printf '05010005010001%02x%02x%02x%02x1f90' "$o1" "$o2" "$o3" "$o4")

# --- idle timeout (and the SOCKS5 / MP_CONVERT refusals on the same proxy)
mpx_px_start pi --convert 5124 --socks5 1080 --mpconvert 5125 --idle-timeout 800 \
  --header-timeout 1500 --max-conns 2 || { t_fail setup "proxy not ready"; exit 1; }
# the Convert reply comes, then nobody sends: the proxy ends the relay after 800 ms
probe "$H:5124" "$(conn)" 5000
t_check "idle_relay_closed_after_the_timeout (reply ${RX:0:8}, $END after $((TEND / 1000)) ms >= 800)" \
  test "${RX:0:8}" = 01012263 -a "$END" = eof -a "$TEND" -ge 800000
t_check "idle_timeout_counted" test "$(mpx_px_stats pi | jq .idle_timeouts)" = 1

# a SOCKS5 request cut short (VER CMD RSV), then silence until --header-timeout: REP 1
probe "$H:1080" 050100050100 4000
t_check "socks_truncated_request_rep1 ($RX, $END)" test "$RX" = "0500$REP1" -a "$END" = eof

# MP_CONVERT (-09) naming protocol 17: refused with a reset, nothing relayed
probe "$H:5125" "$("$MPX_ROOT/bin/mpx-wire" encode mpconvert --target "$MPX_NT_S4:8080" --proto 17)" 3000
st=$(mpx_px_stats pi)
t_check "mpconvert_udp_refused ($END, relayed $(jq .relayed.mpconvert <<<"$st"))" \
  test "$END" = reset -a "$RX" = "" -a "$(jq .failed.mpconvert <<<"$st")" = 1

# --max-conns 2: two silent clients held in their headers, the third SOCKS5 client gets the
# method choice and then REP 1 for its request
HOLD=()
for _ in 1 2; do
  mpx_nt_exec client timeout 5 "$MPX_ROOT/bin/mpx-proxy-probe" --to "$H:5124" --no-syn-data \
    --timeout 1400 > /dev/null 2>&1 &
  HOLD+=("$!")
done
sleep 0.3
probe "$H:1080" "$SOCKS_REQ" 3000
wait "${HOLD[@]}" || true
t_check "max_conns_socks_rep1 ($RX)" test "$RX" = "0500$REP1" -a "$END" = eof
t_check "max_conns_counted" test "$(mpx_px_stats pi | jq .acl.global_limit)" -ge 1

# --- the fd limit: a low ulimit -n inside the test (a wrapper keeps the PID the proxy's)
LIM=40
printf '#!/bin/sh\nulimit -n %d || exit 3\nexec "%s" "$@"\n' $LIM "$MPX_ROOT/bin/mpx-proxy" > "$D/lowfd.sh"
chmod +x "$D/lowfd.sh"
MPX_PX_BIN=$D/lowfd.sh mpx_px_start pf --convert 5134 --socks5 1090 --header-timeout 20000 -v ||
  { t_fail setup "low-fd proxy not ready"; exit 1; }
PF=$MPX_PX_PID
t_check "fd_limit_reported_at_start" grep -q "fd limit $LIM (hard $LIM)" "$D/pf.log"
t_check "fd_limit_in_stats" test "$(mpx_px_stats pf | jq .fd.limit)" = $LIM
# silent SOCKS5 clients (one descriptor each) until the proxy holds LIM descriptors
# descriptors numbered below the limit (an inherited one above it takes no slot)
fdcount() { local f n=0; for f in "/proc/$PF/fd"/*; do [ "${f##*/}" -lt $LIM ] && n=$((n + 1)); done; echo $n; }
holders=0 HOLD=()
while n=$(fdcount) && [ "$n" -lt $LIM ] && [ $holders -lt $LIM ]; do
  mpx_nt_exec client timeout 20 "$MPX_ROOT/bin/mpx-proxy-probe" --to "$H:1090" --no-syn-data \
    --timeout 8000 > /dev/null 2>&1 &
  HOLD+=("$!")
  holders=$((holders + 1))
  for _ in $(seq 25); do [ "$(fdcount)" -gt "$n" ] && break; sleep 0.02; done
done
nfd=$(fdcount)
t_check "proxy_filled_to_the_limit ($nfd fds, $holders held clients)" test "$nfd" = $LIM
probe "$H:5134" "$(conn)" 4000
t_check "fd_limit_convert_error_64 ($RX, $END)" test "$RX" = 010222631e014000 -a "$END" = eof
probe "$H:1090" "$SOCKS_REQ" 4000
t_check "fd_limit_socks_rep1 ($RX, $END)" test "$RX" = "0500$REP1" -a "$END" = eof
st=$(mpx_px_stats pf)
t_check "fd_limit_stats_written_at_the_limit ($(jq -c .fd <<<"$st"))" \
  test "$(jq .fd.answered_at_limit <<<"$st")" -ge 2 -a "$(jq .fd.stats_via_reserve <<<"$st")" -ge 1
# the held clients give up (their 8 s) and close: the proxy accepts again and serves
wait "${HOLD[@]}" 2>/dev/null || true
ok=$(mpx_px_client --signal convert --target "$MPX_NT_S4:8080" --proxy "$H:5134" --json - 2>/dev/null | tail -1 || true)
t_check "fd_limit_serves_again_after" test "$(jq -r .ok <<<"$ok")" = 1
t_done
