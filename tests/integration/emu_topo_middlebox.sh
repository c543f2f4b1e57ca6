#!/usr/bin/env bash
# middlebox.topo behaviours (emu/lib/middlebox.sh), each seen on the wire: the SYN on the
# access link (dsl pcap, before the middlebox) against the same SYN on the aggregation link
# (agg pcap, after it), plus the hag's counters.
#   run 1: strip-mptcp + strip-opt=8 (timestamps) + snat=agg  -> MPTCP falls back to TCP,
#          the hag sees the middlebox's address, bytes still match
#   run 2: drop-syn-data + drop-ipopts -> a TFO SYN with data is dropped and the retried
#          plain SYN gets through; ping -R (IP option) is dropped, plain ping passes
#   run 3: no behaviour -> MPTCP end to end through the middlebox, with the LTE join
# timeout: 120
# shellcheck disable=SC2015,SC2086,SC2119  # "check && pass || fail" lines; PID lists split on purpose
set -uo pipefail
source "$(dirname "$0")/../lib.sh"
t_require_root
t_require_cmd ip ethtool tcpdump jq nft iptables nstat
t_require_bin mpx-linkem
source "$MPX_ROOT/emu/lib/topo.sh"
source "$MPX_ROOT/emu/lib/testutil.sh"
XFER=$(mpx_tu_xfer_bin) || { echo "FAIL: all: cannot build mptcp_xfer"; exit 1; }
TOPO=$MPX_ROOT/topologies/middlebox.topo
R=emum$$
TMP=$(mktemp -d /tmp/mpx-emu-mb.XXXXXX)
cleanup() { local r; for r in "${R}1" "${R}2" "${R}3"; do mpx_topo_down "$r" >/dev/null 2>&1; done; rm -rf "$TMP"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# xfer RUN PORT OUTPREFIX CLIENT-ARGS...: hag listens on its agg address, client connects
xfer() {
  local run=$1 port=$2 o=$3 h; shift 3
  h=$(mpx_topo_addr "$run" hag agg)
  mpx_tu_listen "$run" hag "$o.srv" --listen "$h:$port" || return 1
  mpx_topo_exec "$run" client timeout 20 "$XFER" --connect "$h:$port" "$@" > "$o.cli" 2>&1
  mpx_tu_wait "$MPX_TU_PID" 10
}
syn_of() { tcpdump -nr "$1" "tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn and port $2" 2>/dev/null; }

# --- run 1
run=${R}1
if mpx_topo_up "$TOPO" "$run" 1 --pcap-dir "$TMP/c1" --param mbox.strip-mptcp=1 --param mbox.strip-opt=8 --param mbox.snat=agg; then
  xfer "$run" 6001 "$TMP/r1" --send 200000
  capsyn=$(mpx_topo_exec "$run" hag nstat -az MPTcpExtMPCapableSYNRX | awk '/MPCapableSYNRX/{print $2}')
  peer=$(mpx_tu_json "$TMP/r1.srv" peer)
  mpx_topo_down "$run"
  in=$(syn_of "$TMP/c1/dsl.pcap" 6001) out=$(syn_of "$TMP/c1/agg.pcap" 6001)
  echo "dsl SYN: $in"; echo "agg SYN: $out"
  [[ $in == *"mptcp 4 capable"* && $in == *"TS val"* ]] && [[ $out != *mptcp* && $out != *"TS val"* ]] &&
    t_pass "strip_mptcp_and_ts_on_wire" || t_fail strip_mptcp_and_ts_on_wire "in='$in' out='$out'"
  [ "$capsyn" = 0 ] && t_pass "hag_saw_no_mp_capable" || t_fail hag_saw_no_mp_capable "MPCapableSYNRX=$capsyn"
  [ "$(mpx_tu_json "$TMP/r1.srv" proto)" = 6 ] && t_pass "fallback_to_tcp" || t_fail fallback_to_tcp "server proto $(mpx_tu_json "$TMP/r1.srv" proto)"
  [[ $peer == 198.18.3.1:* ]] && t_pass "snat_peer_is_middlebox ($peer)" || t_fail snat_peer_is_middlebox "peer $peer"
  [ "$(mpx_tu_json "$TMP/r1.srv" recv)" = 200000 ] && [ "$(mpx_tu_json "$TMP/r1.cli" hash_sent)" = "$(mpx_tu_json "$TMP/r1.srv" hash_recv)" ] &&
    t_pass "bytes_match_through_middlebox" || t_fail bytes_match_through_middlebox "$(cat "$TMP/r1.cli" "$TMP/r1.srv")"
else
  t_fail run1_up "mpx_topo_up failed"
fi

# --- run 2 (client tfo=0x5 forced: data in the SYN without cookie; hag 0x203 accepts it)
run=${R}2
if mpx_topo_up "$TOPO" "$run" 1 --pcap-dir "$TMP/c2" --param client.tfo=0x5 --param mbox.drop-syn-data=1 --param mbox.drop-ipopts=1; then
  xfer "$run" 6002 "$TMP/r2" --tcp --fastopen --send 500
  h=$(mpx_topo_addr "$run" hag agg)
  rr=$(mpx_topo_exec "$run" client ping -n -c 2 -i 0.2 -W 1 -R "$h" 2>&1 | grep -c 'bytes from')
  plain=$(mpx_topo_exec "$run" client ping -n -c 2 -i 0.2 -W 1 "$h" 2>&1 | grep -c 'bytes from')
  cnt=$(mpx_mb_counters "$(mpx_topo_ns "$run" mbox)" | awk '/comment "drop-syn-data"/ {for (i=1;i<=NF;i++) if ($i=="packets") s+=$(i+1)} END{print s+0}')
  mpx_topo_down "$run"
  in=$(syn_of "$TMP/c2/dsl.pcap" 6002) out=$(syn_of "$TMP/c2/agg.pcap" 6002)
  echo "dsl SYNs:"; echo "$in"; echo "agg SYNs:"; echo "$out"
  [ "$(grep -c 'length 500' <<< "$in")" -ge 1 ] && [ "$(grep -c 'length [1-9]' <<< "$out")" = 0 ] && [ "$(grep -c 'length 0' <<< "$out")" -ge 1 ] &&
    t_pass "syn_data_dropped_plain_syn_passes (nft count $cnt)" || t_fail syn_data_dropped_plain_syn_passes "in='$in' out='$out'"
  [ "$(mpx_tu_json "$TMP/r2.srv" recv)" = 500 ] && [ "$(mpx_tu_json "$TMP/r2.srv" hash_recv)" = "$(mpx_tu_json "$TMP/r2.cli" hash_sent)" ] &&
    t_pass "tfo_data_arrives_after_retry" || t_fail tfo_data_arrives_after_retry "$(cat "$TMP/r2.cli" "$TMP/r2.srv")"
  [ "$rr" = 0 ] && [ "$plain" = 2 ] && t_pass "ip_options_dropped (ping -R $rr/2, plain $plain/2)" ||
    t_fail ip_options_dropped "ping -R $rr/2 replies, plain $plain/2"
else
  t_fail run2_up "mpx_topo_up failed"
fi

# --- run 3: no behaviour
run=${R}3
if mpx_topo_up "$TOPO" "$run" 1 --pcap-dir "$TMP/c3"; then
  xfer "$run" 6003 "$TMP/r3" --send 1000000
  mpx_topo_down "$run"
  joins=$(tcpdump -nr "$TMP/c3/lte.pcap" 'port 6003' 2>/dev/null | grep -c 'Flags \[S\].*mptcp [0-9]* join')
  [ "$(mpx_tu_json "$TMP/r3.srv" proto)" = 262 ] && [ "$joins" -ge 1 ] && [ "$(mpx_tu_json "$TMP/r3.srv" hash_recv)" = "$(mpx_tu_json "$TMP/r3.cli" hash_sent)" ] &&
    t_pass "mptcp_through_middlebox (join on lte: $joins)" || t_fail mptcp_through_middlebox "joins=$joins $(cat "$TMP/r3.srv")"
else
  t_fail run3_up "mpx_topo_up failed"
fi
t_done
