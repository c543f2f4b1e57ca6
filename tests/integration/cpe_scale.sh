#!/usr/bin/env bash
# One CPE, four LAN hosts, 100 concurrent connections each (issue 16, tests): on
# tests/data/cpe-4lan.topo (hybrid-cpe.topo with lan1..lan4) every LAN host runs
# mpx-client --signal tcp --count 100 --concurrency 100 at the same time, through the CPE's
# convert (lan1, lan2), mpconvert (lan3) and socks5 (lan4) listeners, to the server behind
# the HAG. Asserted: all 400 verified at the LAN hosts and at the server; the CPE accepted
# 400 and relayed each (through the HAG or by its direct fallback; none failed); the HAG
# counted those it relayed as CPE clients; once the CPE has no connection left, its descriptor count (/proc/PID/fd) is
# back where it was before the load (no fd growth), and so is the HAG's.
# timeout: 120
set -uo pipefail
source "$(dirname "$0")/../lib.sh"
source "$MPX_ROOT/tests/cpe_lib.sh"
PER=${CPE_SCALE_PER:-100}
MPX_CPT_TOPO=$MPX_ROOT/tests/data/cpe-4lan.topo mpx_cpt_up cscale
mpx_cpt_server || exit 1
mpx_cpt_hag || exit 1
mpx_cpt_cpe convert mpconvert socks5 -- --cpe-timeout 5000 || exit 1
S=$MPX_CPT_SRV D=$MPX_CPT_DIR
declare -A SIG=([lan1]=convert [lan2]=convert [lan3]=mpconvert [lan4]=socks5)

fdcount() { local p; p=$(mpx_cpt_pid "$1") && find "/proc/$p/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
CPE_PID=$(mpx_cpt_pid cpe)
fd0=$(fdcount cpe) hfd0=$(fdcount hag)
echo "# CPE PID $CPE_PID: $fd0 descriptors before the load (HAG: $hfd0)"

t0=$EPOCHREALTIME
pids=()
for h in lan1 lan2 lan3 lan4; do
  mpx_cpt_client "$h" "load-$h" --target "$S:$(mpx_cpt_srv_port "${SIG[$h]}")" --count "$PER" \
    --concurrency "$PER" --timeout 30 --workload "rr 100/1000" &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
echo "# 4 x $PER connections in $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.2f", b-a}') s"

total=0
for h in lan1 lan2 lan3 lan4; do
  s=$(mpx_cpt_summary "load-$h")
  n=$(mpx_cpt_conns "load-$h" | jq -s '[.[] | select(.ok and .verified and .bytes_in == 1000)] | length')
  total=$((total + n))
  t_check "$h (${SIG[$h]}) - $n/$PER verified (rc $(cat "$D/load-$h.rc"), max_active $(jq .max_active <<< "$s"), ttfb p50 $(jq .ttfb_us_p50 <<< "$s") us, p95 $(jq .ttfb_us_p95 <<< "$s") us)" \
    [ "$n" = "$PER" ]
done
ALL=$((4 * PER))
mpx_cpt_srv_wait "$ALL"
n=$(jq -s '[.[] | select(.type=="conn" and .verified)] | length' "$D/server.json")
t_check "server - $n/$ALL verified requests" [ "$n" = "$ALL" ]

# the CPE's connections drain (the LAN clients closed; the relays end with the server's
# half-close), then its descriptors are counted again
CS='' HS='' act='' hact=''
for ((i = 0; i < 100; i++)); do
  CS=$(mpx_cpt_stats cpe) HS=$(mpx_cpt_stats hag)
  act=$(jq '.active // empty' <<< "$CS" 2>/dev/null) hact=$(jq '.active // empty' <<< "$HS" 2>/dev/null)
  [ "$act" = 0 ] && [ "$hact" = 0 ] && break
  sleep 0.1
done
fd1=$(fdcount cpe) hfd1=$(fdcount hag)
acc=$(jq '[.cpe // {} | .. | objects | select(has("port") and has("signal")) | .accepted] | add // 0' <<< "$CS")
rel=$(jq '[.cpe // {} | .. | objects | select(has("port") and has("signal")) | .relayed] | add // 0' <<< "$CS")
fb=$(jq '[.cpe // {} | .. | objects | select(has("port") and has("signal")) | .fallback_direct] | add // 0' <<< "$CS")
fl=$(jq '[.cpe // {} | .. | objects | select(has("port") and has("signal")) | .failed] | add // 0' <<< "$CS")
t_check "CPE - accepted $acc, relayed $rel (of them $fb by the direct fallback), failed $fl (want $ALL, $ALL, 0 failed)" \
  [ "$acc" = "$ALL" ] && [ "$rel" = "$ALL" ] && [ "$fl" = 0 ]
t_check "CPE and HAG - no connection left (active $act, $hact)" [ "$act" = 0 ] && [ "$hact" = 0 ]
t_check "CPE - no fd growth: $fd0 descriptors before, $fd1 after $ALL connections" [ "$fd1" = "$fd0" ]
t_check "HAG - CPE clients $(jq -c '.clients | {cpe, direct}' <<< "$HS") >= relayed via the HAG $((rel - fb)); descriptors $hfd0 before, $hfd1 after" \
  jq -e --argjson r "$((rel - fb))" --argjson a "$hfd0" --argjson b "$hfd1" '.clients.cpe >= $r and .clients.direct == 0 and $a == $b' <<< "$HS"
t_done
