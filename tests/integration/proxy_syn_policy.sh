#!/usr/bin/env bash
# mpx-proxy's SYN data policy (--syn-data-policy) against spoofed SYNs, and what each policy
# costs a real client.
# tests/topo/stall.topo, emulated: the client's dsl link 20 ms each way (RTT 40 ms), the wan
# 5 ms each way (the proxy-server RTT the third-ACK wait no longer overlaps).
#  1. TTFB per policy: 200 Convert connections (request in the SYN, no TFO cookie) through a
#     proxy with each policy, and Convert behind a real TFO cookie (convert-cookie) with the
#     default; all must succeed; the numbers are printed (agents/README.md quotes them).
#  2. A spoofed-SYN flood: 300 raw SYNs from an address of the access prefix that does not
#     exist (MP_CAPABLE, a Convert request to the server as SYN data; the SYN-ACKs go nowhere,
#     no third ACK ever comes). Under the default (cookie) and third-ack policies the server
#     sees no connection (an nft counter of SYNs in the server's namespace), the proxy holds all
#     300 and closes them at the header timeout, and its CPU time (/proc/PID/stat) stays under
#     1 ms per SYN. Under immediate the same flood reaches the server (the flood is real);
#     under immediate:50 only the bucket (50 + 50/s) does.
# timeout: 90
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$MPX_ROOT/tests/lib/netns.sh"
source "$MPX_ROOT/tests/lib-proxy.sh"
t_require_root
t_require_cmd jq ip nft ethtool
t_require_bin mpx-proxy mpx-client mpx-server mpx-linkem mpx-proxy-probe mpx-wire

cleanup() {
  if [ "$T_FAILED" = 1 ]; then { mpx_nt_dump; tail -n 30 "$MPX_NT_DIR"/*.log; } || true; fi
  mpx_nt_down
  return 0
}
trap cleanup EXIT INT TERM
mpx_nt_up pxsd --topo "$MPX_ROOT/tests/topo/stall.topo" --emulated --param wan.delay=5ms ||
  { echo "FAIL: setup: namespaces"; exit 1; }
D=$MPX_NT_DIR
mpx_px_server || { t_fail setup "mpx-server not ready"; exit 1; }
HT=2000   # header timeout: also the bound on the wait for a third ACK
mpx_px_start cookie --convert 5124 --convert-tfo 5129 --header-timeout $HT || { t_fail setup "proxy"; exit 1; }
mpx_px_start third --convert 5134 --syn-data-policy third-ack --header-timeout $HT || { t_fail setup "proxy"; exit 1; }
mpx_px_start imm --convert 5144 --syn-data-policy immediate --header-timeout $HT || { t_fail setup "proxy"; exit 1; }
mpx_px_start rate --convert 5154 --syn-data-policy immediate:50 --header-timeout $HT || { t_fail setup "proxy"; exit 1; }
t_check "stats_name_the_policy_per_front_end" \
  jq -e '.syn_data_policy.convert == "third-ack" and .syn_data_policy["convert-tfo"] == "immediate"' \
  <(mpx_px_stats cookie)

# 1. TTFB per policy
N=200
ttfb() { # name signal port
  local out
  out=$(mpx_px_client --signal "$2" --target "$MPX_NT_S4:8080" --proxy "$MPX_NT_H_DSL4:$3" \
    --count $N --concurrency 20 --timeout 5 --json "$D/$1.json" > /dev/null 2>&1; tail -1 "$D/$1.json")
  P50[$1]=$(( $(jq -r '.ttfb_us_p50 // 0' <<<"$out") / 1000 ))
  t_check "ttfb_$1: $N/$N ok (p50 ${P50[$1]} ms, p95 $(( $(jq -r '.ttfb_us_p95 // 0' <<<"$out") / 1000 )) ms)" \
    [ "$(jq -r .ok <<<"$out")" = $N ]
}
declare -A P50=()
ttfb convert_cookie_policy convert 5124
ttfb convert_third_ack convert 5134
ttfb convert_immediate convert 5144
ttfb convert_cookie_tfo convert-cookie 5129
echo "ttfb p50 ms: cookie(default) ${P50[convert_cookie_policy]}, third-ack ${P50[convert_third_ack]}, immediate ${P50[convert_immediate]}, convert-cookie ${P50[convert_cookie_tfo]}"
sd=$(mpx_px_stats cookie | jq -c .syn_data)
t_check "default_policy_held_the_cookie_less_connections ($sd)" [ "$(jq .held <<<"$sd")" -ge $N ]

# 2. the spoofed-SYN flood
mpx_nt_exec server nft -f - <<'NFT'
table inet pxsd {
  counter syns { }
  chain in { type filter hook input priority 0; tcp dport 8080 tcp flags & (syn | ack) == syn counter name "syns"; }
}
NFT
server_syns() { mpx_nt_exec server nft -j list counter inet pxsd syns | jq '[.nftables[] | .counter? | select(.) | .packets][0]'; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
HZ=$(getconf CLK_TCK)
SPOOF=${MPX_NT_C_DSL4%.*}.77   # in the allowed access prefix, no such host
NF=300
flood() { # name port [wait] -> sets F_SYNS F_CPU_MS F_STATS
  local name=$1 port=$2 wait=${3:-idle} pid=${MPX_PX_PIDS[$1]} s0 c0 hex i
  hex=$(mpx_px_connect_hex "$MPX_NT_S4" 8080)
  s0=$(server_syns) c0=$(cpu_ticks "$pid") F_T0=$(date +%s%N)
  mpx_nt_exec client timeout 30 "$MPX_ROOT/bin/mpx-proxy-probe" --to "$MPX_NT_H_DSL4:$port" \
    --hex "${hex}000102030405060708090a0b0c0d0e0f" --flood $NF --spoof "$SPOOF" > "$D/flood-$name.out"
  F_MS=$((($(date +%s%N) - F_T0) / 1000000))
  # every held connection ends at the header timeout; wait for the proxy to be idle again
  for ((i = 0; i < 100; i++)); do
    sleep 0.1
    [ "$wait" = idle ] || { [ "$i" -ge 10 ] && break; continue; }
    [ "$(mpx_px_stats "$name" | jq .active)" = 0 ] && [ "$i" -ge $((HT / 100)) ] && break
  done
  F_SYNS=$(( $(server_syns) - s0 ))
  F_CPU_MS=$(( ($(cpu_ticks "$pid") - c0) * 1000 / HZ ))
  F_STATS=$(mpx_px_stats "$name")
}
for p in cookie:5124 third:5134; do
  name=${p%:*}
  flood "$name" "${p#*:}"
  acc=$(jq ".accepted.convert" <<<"$F_STATS")
  echo "$name flood: $(cat "$D/flood-$name.out"), server SYNs $F_SYNS, proxy CPU $F_CPU_MS ms, $(jq -c .syn_data <<<"$F_STATS")"
  t_check "flood_${name}_reached_proxy (accepted $acc >= $NF)" [ "$acc" -ge $NF ]
  t_check "flood_${name}_no_downstream_connection (server SYNs $F_SYNS)" [ "$F_SYNS" = 0 ]
  t_check "flood_${name}_all_closed_at_header_timeout" \
    test "$(jq .syn_data.no_third_ack <<<"$F_STATS")" = $NF -a "$(jq .active <<<"$F_STATS")" = 0
  t_check "flood_${name}_cpu_bounded ($F_CPU_MS ms < $NF ms)" [ "$F_CPU_MS" -lt $NF ]
done
flood imm 5144 1s
echo "imm flood: server SYNs $F_SYNS, proxy CPU $F_CPU_MS ms, stall guard $(jq -c .stall_guard <<<"$F_STATS")"
t_check "flood_immediate_reaches_the_server (server SYNs $F_SYNS of $NF: the flood is real)" [ "$F_SYNS" -ge $NF ]
# immediate:50: a bucket of 50 (+50/s while the flood lasted) goes through, the rest is held
flood rate 5154 1s
max=$((50 + 50 * F_MS / 1000 + 1))
t_check "flood_rate_limited (server SYNs $F_SYNS in 1..$max, flood $F_MS ms; $(jq -c .syn_data <<<"$F_STATS"))" \
  test "$F_SYNS" -ge 1 -a "$F_SYNS" -le $max -a "$(jq .syn_data.rate_limited <<<"$F_STATS")" -ge $((NF - max))
t_done
