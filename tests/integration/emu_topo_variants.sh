#!/usr/bin/env bash
# The other shipped topologies come up and do what their comments say:
#   single.topo      client -> server through the hag (RTT 30 ms: 20 access + 10 wan)
#   three-link.topo  an MPTCP download uses three subflows (joins over lte and sat)
#   hybrid-v6.topo   the IPv6-only server is reachable from the client over IPv6 and not
#                    over IPv4; MPTCP over IPv6 joins over LTE
#   proxy-chain.topo LAN host -> cpe -> hag -> server; the cpe's MPTCP joins over LTE
#   lte-trace.topo   TCP over the trace-driven LTE gets the trace's mean rate
#   lossy-lte.topo   comes up, LTE answers (Gilbert-Elliott loss, deep queue)
# timeout: 150
# shellcheck disable=SC2015,SC2086,SC2119  # "check && pass || fail" lines; PID lists split on purpose
set -uo pipefail
source "$(dirname "$0")/../lib.sh"
t_require_root
t_require_cmd ip ethtool tcpdump jq
t_require_bin mpx-linkem
source "$MPX_ROOT/emu/lib/topo.sh"
source "$MPX_ROOT/emu/lib/testutil.sh"
XFER=$(mpx_tu_xfer_bin) || { echo "FAIL: all: cannot build mptcp_xfer"; exit 1; }
R=emuv$$
TMP=$(mktemp -d /tmp/mpx-emu-var.XXXXXX)
cleanup() { local r; for r in s t v c r l; do mpx_topo_down "$R$r" >/dev/null 2>&1; done; rm -rf "$TMP"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
# median of 50 pings; the models below add the serialization of the echo frames (98 bytes
# IPv4, 118 IPv6) at 2 Mbit/s up and 20 Mbit/s down to the propagation delays; tolerance
# 1 ms for two emulated hops with 1 ms jitter on one of them
median_rtt() { mpx_topo_exec "$1" "$2" ping -n -c "${4:-50}" -i 0.02 -W 1 "$3" 2>&1 | mpx_tu_ping_times | mpx_tu_median; }

# single
run=${R}s
if mpx_topo_up "$MPX_ROOT/topologies/single.topo" "$run" 1; then
  srv=$(mpx_topo_addr "$run" server)
  med=$(median_rtt "$run" client "$srv")
  t_near_late "single_client_server_rtt_ms" "$med" 30.43 1.0 "$(t_topo_late_rt_ms "$run" acc wan)"
  mpx_topo_down "$run"
else t_fail single_up "mpx_topo_up failed"; fi

# three-link: download hag -> client, joins over lte and sat
run=${R}t
if mpx_topo_up "$MPX_ROOT/topologies/three-link.topo" "$run" 1 --pcap-dir "$TMP/t"; then
  h=$(mpx_topo_addr "$run" hag dsl)
  mpx_tu_listen "$run" hag "$TMP/t.srv" --listen "$h:7001" --send 3000000
  mpx_topo_exec "$run" client timeout 30 "$XFER" --connect "$h:7001" > "$TMP/t.cli" 2>&1
  mpx_tu_wait "$MPX_TU_PID" 10
  eps=$(mpx_topo_exec "$run" client ip mptcp endpoint | wc -l)
  mpx_topo_down "$run"
  jl=$(tcpdump -nr "$TMP/t/lte.pcap" 'port 7001' 2>/dev/null | grep -c 'Flags \[S\].*join')
  js=$(tcpdump -nr "$TMP/t/sat.pcap" 'port 7001' 2>/dev/null | grep -c 'Flags \[S\].*join')
  sf=$(mpx_tu_json "$TMP/t.srv" subflows)
  [ "$sf" = 2 ] && [ "$jl" -ge 1 ] && [ "$js" -ge 1 ] && [ "$eps" = 2 ] &&
    t_pass "three_link_three_subflows (extra subflows $sf, join SYNs lte $jl sat $js)" ||
    t_fail three_link_three_subflows "subflows=$sf joins lte=$jl sat=$js endpoints=$eps"
  [ "$(mpx_tu_json "$TMP/t.cli" hash_recv)" = "$(mpx_tu_json "$TMP/t.srv" hash_sent)" ] && [ "$(mpx_tu_json "$TMP/t.cli" recv)" = 3000000 ] &&
    t_pass three_link_bytes_match || t_fail three_link_bytes_match "$(cat "$TMP/t.cli")"
else t_fail three_link_up "mpx_topo_up failed"; fi

# hybrid-v6
run=${R}v
if mpx_topo_up "$MPX_ROOT/topologies/hybrid-v6.topo" "$run" 1 --pcap-dir "$TMP/v"; then
  s6=$(mpx_topo_addr "$run" server 6)
  s4=$(mpx_topo_addr "$run" server 4 2>/dev/null || echo none)
  [ "$s4" = none ] && [[ $s6 == fd00:6d70:78:* ]] && t_pass "server_ipv6_only ($s6)" || t_fail server_ipv6_only "v4=$s4 v6=$s6"
  med=$(median_rtt "$run" client "$s6")
  t_near_late "v6_client_server_rtt_ms" "$med" 30.52 1.0 "$(t_topo_late_rt_ms "$run" dsl wan)"
  n4=$(mpx_topo_exec "$run" client ping -n -c 1 -W 1 198.18.3.2 2>&1 | grep -c 'bytes from')
  [ "$n4" = 0 ] && t_pass "no_ipv4_to_server" || t_fail no_ipv4_to_server "IPv4 reply from 198.18.3.2"
  h6=$(mpx_topo_addr "$run" hag dsl 6)
  mpx_tu_listen "$run" hag "$TMP/v.srv" --listen "[$h6]:7002" --send 1000000
  mpx_topo_exec "$run" client timeout 30 "$XFER" --connect "[$h6]:7002" > "$TMP/v.cli" 2>&1
  mpx_tu_wait "$MPX_TU_PID" 10
  mpx_topo_down "$run"
  jl=$(tcpdump -nr "$TMP/v/lte.pcap" 'ip6 and port 7002' 2>/dev/null | grep -c 'Flags \[S\].*join')
  [ "$(mpx_tu_json "$TMP/v.srv" subflows)" = 1 ] && [ "$jl" -ge 1 ] &&
    [ "$(mpx_tu_json "$TMP/v.cli" hash_recv)" = "$(mpx_tu_json "$TMP/v.srv" hash_sent)" ] &&
    t_pass "mptcp_ipv6_join_over_lte ($jl)" || t_fail mptcp_ipv6_join_over_lte "joins=$jl $(cat "$TMP/v.srv")"
else t_fail hybrid_v6_up "mpx_topo_up failed"; fi

# proxy-chain: the LAN host reaches the server through cpe and hag; the cpe's own MPTCP
# connection to the hag adds its subflow over lte (subflows=lte on a proxy node)
run=${R}c
if mpx_topo_up "$MPX_ROOT/topologies/proxy-chain.topo" "$run" 1 --pcap-dir "$TMP/c"; then
  med=$(median_rtt "$run" lan "$(mpx_topo_addr "$run" server)")
  t_near_late "chain_lan_server_rtt_ms" "$med" 31.43 1.0 "$(t_topo_late_rt_ms "$run" home dsl wan)"
  h=$(mpx_topo_addr "$run" hag dsl)
  mpx_tu_listen "$run" hag "$TMP/c.srv" --listen "$h:7003" --send 2000000
  mpx_topo_exec "$run" cpe timeout 30 "$XFER" --connect "$h:7003" > "$TMP/c.cli" 2>&1
  mpx_tu_wait "$MPX_TU_PID" 10
  mpx_topo_down "$run"
  jl=$(tcpdump -nr "$TMP/c/lte.pcap" 'port 7003' 2>/dev/null | grep -c 'Flags \[S\].*join')
  [ "$(mpx_tu_json "$TMP/c.srv" subflows)" = 1 ] && [ "$jl" -ge 1 ] &&
    [ "$(mpx_tu_json "$TMP/c.cli" hash_recv)" = "$(mpx_tu_json "$TMP/c.srv" hash_sent)" ] &&
    t_pass "chain_cpe_mptcp_join_over_lte ($jl)" || t_fail chain_cpe_mptcp_join_over_lte "joins=$jl $(cat "$TMP/c.srv")"
else t_fail proxy_chain_up "mpx_topo_up failed"; fi

# lte-trace: the synthetic LTE trace (mean 20 Mbit/s down) drives the link: a TCP download
# over LTE averages near the trace's mean payload rate (20 * 1448/1514 = 19.1 Mbit/s), +-20 %
run=${R}r
if mpx_topo_up "$MPX_ROOT/topologies/lte-trace.topo" "$run" 1; then
  h=$(mpx_topo_addr "$run" hag lte)
  mpx_tu_listen "$run" hag "$TMP/r.srv" --tcp --listen "$h:7004" --send 8000000
  mpx_topo_exec "$run" client timeout 30 "$XFER" --tcp --connect "$h:7004" > "$TMP/r.cli" 2>&1
  mpx_tu_wait "$MPX_TU_PID" 10
  good=$(awk -v b="$(mpx_tu_json "$TMP/r.cli" recv)" -v u="$(mpx_tu_json "$TMP/r.cli" elapsed_us)" 'BEGIN{printf "%.2f", b*8/u}')
  t_check "trace_lte_goodput_mbit at most 19.1 + 20 % ($good)" awk -v g="$good" 'BEGIN{exit !(g <= 22.9)}'
  t_rate_late "trace_lte_goodput_mbit" "$good" 15.3 50 "$(t_topo_late_rt_ms "$run" lte)"
  mpx_topo_down "$run"
else t_fail lte_trace_up "mpx_topo_up failed"; fi

# lossy-lte
run=${R}l
if mpx_topo_up "$MPX_ROOT/topologies/lossy-lte.topo" "$run" 1; then
  n=$(mpx_topo_exec "$run" client ping -n -c 50 -i 0.02 -W 1 "$(mpx_topo_addr "$run" hag lte)" 2>&1 | grep -c 'bytes from')
  [ "$n" -ge 35 ] && t_pass "lossy_lte_answers ($n/50)" || t_fail lossy_lte_answers "$n/50 replies"
  mpx_topo_down "$run"
else t_fail lossy_lte_up "mpx_topo_up failed"; fi
t_done
