#!/usr/bin/env bash
# Load: 2,000 concurrent proxied connections (convert, MPTCP clients with two subflows;
# then 2,000 SOCKS5) complete with verified payloads, and afterwards the proxy's fd count
# (/proc/PID/fd) and RSS are back at their idle values.
# timeout: 240
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$MPX_ROOT/tests/lib/netns.sh"
source "$MPX_ROOT/tests/lib-proxy.sh"
t_require_root
t_require_cmd jq ip
t_require_bin mpx-proxy mpx-client mpx-server

cleanup() { if [ "$T_FAILED" = 1 ]; then { mpx_nt_dump; tail -n 30 "$MPX_NT_DIR"/*.log; } || true; fi; mpx_nt_down; }
trap cleanup EXIT INT TERM
mpx_nt_up pxload || { echo "FAIL: setup: namespaces"; exit 1; }
for n in client hag server; do
  mpx_nt_exec $n sysctl -qw net.core.somaxconn=8192 net.ipv4.tcp_max_syn_backlog=8192
done
mpx_nt_exec client sysctl -qw net.ipv4.ip_local_port_range="10000 65000"
mpx_nt_exec hag sysctl -qw net.ipv4.ip_local_port_range="10000 65000"
ulimit -n 65536 2>/dev/null || true
mpx_px_server || { t_fail setup "mpx-server not ready"; exit 1; }
mpx_px_start pa --header-timeout 20000 || { t_fail setup "proxy not ready"; exit 1; }
PID=$MPX_PX_PID

fds() { ls "/proc/$PID/fd" | wc -l; }
rss() { awk '/VmRSS/{print $2}' "/proc/$PID/status"; }
idle() { # waits until the proxy reports no active connection
  local i
  for ((i = 0; i < 100; i++)); do
    [ "$(mpx_px_stats pa | jq -r .active)" = 0 ] && return 0
    sleep 0.1
  done
  return 1
}
fd0=$(fds); rss0=$(rss)
N=2000
run() { # name signal
  local out
  out=$(mpx_px_client --signal "$2" --target "$MPX_NT_S4:8080" --proxy "$MPX_NT_H_DSL4" \
    --count $N --concurrency $N --timeout 30 --workload "rr 1000/20000" --json "$MPX_NT_DIR/$1.json" >/dev/null 2>&1
    tail -1 "$MPX_NT_DIR/$1.json")
  local ok ver
  ok=$(jq -r .ok <<<"$out")
  ver=$(jq -s '[.[] | select(.type=="conn" and .verified==true)] | length' "$MPX_NT_DIR/$1.json")
  if [ "$ok" = $N ] && [ "$ver" = $N ]; then
    t_pass "$1 ($N/$N concurrent ok+verified, ttfb p50 $(jq -r .ttfb_us_p50 <<<"$out") us, p95 $(jq -r .ttfb_us_p95 <<<"$out") us, $(jq -r .elapsed_us <<<"$out") us total)"
  else t_fail "$1" "ok=$ok verified=$ver: $(jq -c '.' <<<"$out" | cut -c1-300); $(grep -m3 '"ok":false' "$MPX_NT_DIR/$1.json" | cut -c1-300)"; fi
}
run load_convert_2000 convert
idle || t_fail idle_after_convert "active connections remain"
run load_socks5_2000 socks5
idle || t_fail idle_after_socks5 "active connections remain"
stats=$(mpx_px_stats pa)
echo "stats: $stats"
am=$(jq -r .active_max <<<"$stats")
t_check load_concurrency_reached test "$am" -ge 1000
echo "active_max=$am"
fd1=$(fds); rss1=$(rss)
t_check fd_count_back_to_idle test "$fd1" = "$fd0"
echo "fds: idle $fd0, after $fd1; rss kB: idle $rss0, after $rss1"
t_check rss_back_to_idle test "$rss1" -le $((rss0 + 2048))
t_check all_relayed test "$(jq -r '.relayed.convert + .relayed.socks5' <<<"$stats")" = $((2 * N))
t_done
