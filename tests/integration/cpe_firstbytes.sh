#!/usr/bin/env bash
# First bytes in the CPE's SYN (issue 16, item 2), on topologies/hybrid-cpe.topo with the
# convert channel; the LAN application is mpx-client --signal tcp (plain TCP, no proxy):
#  - W > 0 (wait=50): the CPE waits for the LAN client's first bytes and carries them in its
#    SYN to the HAG: on the dsl link (mpx-linkem's pcap) every SYN's payload is the Convert
#    message for the LAN client's destination followed by the MPX1 request header, and
#    mpx-analyze --json says so (convert, valid, req_in_syn, 0 round trips before data);
#  - W = 0: the SYN holds the Convert message alone, the request follows the handshake
#    (after the SYN/ACK, >= 1 round trip before data);
#  - TTFB: with the HAG acting on SYN data at once (--syn-data-policy immediate, the
#    model's 0-RTT case) W > 0 saves max(RTT_a, RTT_w) - RTT_w over W = 0 (the request no
#    longer waits one access round trip, but the HAG's server handshake overlaps it):
#    RTT_a and RTT_w are measured in this run's pcaps (handshake SYN -> third ACK on dsl and
#    wan). Asserted: the order, at least half the model's saving, never more than
#    RTT_a + RTT_w (the most W = 0 can lose: the handshake and, if the CPE waited for the
#    converter's reply before sending the request, the server handshake behind it);
#  - a LAN client that itself uses TFO (mpx-client --tfo-no-cookie) gets its request into
#    the CPE's SYN even with W = 0 (the bytes are there at accept);
#  - an IPv6 LAN client (the run is dual stack: the v6 tproxy rule of agents/cpe/cpe.sh) gets
#    the same with W = 50: Convert with the IPv6 Connect TLV + MPX1 in the SYN, served by the
#    HAG over IPv6;
#  - the default W is 5 ms (reported in the CPE's stats); the CPE's per-listener counters
#    (syn_with_lan_bytes, syn_without_lan_bytes, wait_timeouts, mptcp, subflows_max) and the
#    HAG's clients.cpe count what happened; the server sees the HAG, not the CPE.
# timeout: 90
set -uo pipefail
source "$(dirname "$0")/../lib.sh"
source "$MPX_ROOT/tests/cpe_lib.sh"
B=$MPX_ROOT/bin
N=${CPE_FB_N:-12}          # connections per W variant (in rounds, W=0 and W=50 interleaved)
ROUNDS=3
# ports: W=0 on the channel's own ports, W=50, the default W and the TFO LAN client on more
export MPX_CPT_EXTRA_PORTS="8203 8303 8403"
mpx_cpt_up cfb --param all.ipv6=1
P0=$(mpx_cpt_srv_port convert) C0=$(mpx_cpt_cpe_port convert)
mpx_cpt_server || exit 1
mpx_cpt_hag --syn-data-policy immediate || exit 1
mpx_cpt_cpe "convert,wait=0" "8203:9203=convert,wait=50" "8303:9303=convert" \
  "8403:9403=convert,wait=0" -- --cpe-timeout 3000 || exit 1
S=$MPX_CPT_SRV D=$MPX_CPT_DIR

per=$((N / ROUNDS))
for ((r = 1; r <= ROUNDS; r++)); do
  mpx_cpt_client lan1 "w0-$r" --target "$S:$P0" --count "$per" --workload "rr 100/1000"
  mpx_cpt_client lan1 "w50-$r" --target "$S:8203" --count "$per" --workload "rr 100/1000"
done
mpx_cpt_client lan2 wdef --target "$S:8303" --count 4
mpx_cpt_client lan2 tfo --target "$S:8403" --count 6 --tfo-no-cookie
mpx_cpt_client lan1 v6 --target "[$MPX_CPT_SRV6]:8203" --count 4    # IPv6 LAN client, W=50

# every LAN connection verified
allconns() { cat "$D/$1"-*.json 2>/dev/null | jq -c 'select(.type=="conn")'; }
check_ok() { # name count jsonl-lines
  local n; n=$(jq -s '[.[] | select(.ok and .verified)] | length' <<< "$3")
  t_check "$1 - $n/$2 LAN connections verified" [ "$n" = "$2" ]
}
W0=$(allconns w0) W50=$(allconns w50)
check_ok "W=0" "$N" "$W0"
check_ok "W=50" "$N" "$W50"
check_ok "W default" 4 "$(mpx_cpt_conns wdef)"
check_ok "TFO LAN client, W=0" 6 "$(mpx_cpt_conns tfo)"
check_ok "IPv6 LAN client, W=50" 4 "$(mpx_cpt_conns v6)"
n=$(mpx_cpt_conns tfo | jq -s '[.[] | select(.tfo == "syn-data-acked")] | length')
t_check "TFO LAN client - the CPE's listener took the request from the LAN SYN ($n/6 syn-data-acked)" [ "$n" = 6 ]

# the server sees the HAG's WAN address (relayed, no direct fallback)
want=$((2 * N + 10))
mpx_cpt_srv_wait "$want"
for ((i = 0; i < 250; i++)); do   # the IPv6 server's lines (written as each connection ends)
  [ "$(jq -s '[.[] | select(.type=="conn")] | length' "$D/server6.json" 2>/dev/null || echo 0)" -ge 4 ] && break
  sleep 0.02
done
n=$(jq -s --arg h "$MPX_CPT_HAG_WAN:" '[.[] | select(.type=="conn" and .verified and (.peer | startswith($h)))] | length' "$D/server.json")
t_check "server - $n/$want connections arrived from the HAG ($MPX_CPT_HAG_WAN)" [ "$n" = "$want" ]
n=$(jq -s --arg h "[$(mpx_topo_addr "$MPX_CPT_RUN" hag wan 6)]:" '[.[] | select(.type=="conn" and .verified and (.peer | startswith($h)))] | length' "$D/server6.json")
t_check "server - $n/4 IPv6 connections arrived from the HAG's IPv6 address" [ "$n" = 4 ]

CS=$(mpx_cpt_stats cpe) HS=$(mpx_cpt_stats hag)
row() { mpx_cpt_cpe_row "$CS" "$1"; }
r0=$(row "$C0") r50=$(row 9203) rd=$(row 9303) rt=$(row 9403)
echo "# cpe W=0 $r0"; echo "# cpe W=50 $r50"; echo "# cpe default $rd"; echo "# cpe tfo $rt"
t_check "CPE W=0 - $(jq .syn_without_lan_bytes <<< "$r0") SYNs without LAN bytes, $(jq .syn_with_lan_bytes <<< "$r0") with" \
  jq -e --argjson n "$N" '.wait_ms == 0 and .syn_without_lan_bytes == $n and .syn_with_lan_bytes == 0' <<< "$r0"
t_check "CPE W=50 - $(jq .syn_with_lan_bytes <<< "$r50") SYNs with LAN bytes, $(jq .wait_timeouts <<< "$r50") wait timeouts" \
  jq -e --argjson n "$N" '.wait_ms == 50 and .syn_with_lan_bytes == $n + 4 and .wait_timeouts == 0' <<< "$r50"
t_check "CPE default W - wait_ms $(jq .wait_ms <<< "$rd"), $(jq .accepted <<< "$rd") accepted" \
  jq -e '.wait_ms == 5 and .accepted == 4 and (.syn_with_lan_bytes + .syn_without_lan_bytes) == 4' <<< "$rd"
t_check "CPE TFO client with W=0 - $(jq .syn_with_lan_bytes <<< "$rt")/6 SYNs carried the LAN bytes" \
  jq -e '.syn_with_lan_bytes == 6' <<< "$rt"
t_check "CPE - MPTCP to the HAG with the LTE subflow (W=50: mptcp $(jq .mptcp <<< "$r50"), subflows_max $(jq .subflows_max <<< "$r50"))" \
  jq -e --argjson n "$((N + 4))" '.mptcp == $n and .subflows_max >= 2' <<< "$r50"
t_check "HAG - $(jq -c .clients <<< "$HS") (CPE clients counted as such)" \
  jq -e --argjson n "$((want + 4))" '.clients.cpe >= $n and .clients.direct == 0' <<< "$HS"

# client-side TTFB medians (us)
med() { jq -s '[.[] | select(.ok) | .ttfb_us] | sort | if length == 0 then null
  elif length % 2 == 1 then .[length / 2 | floor] else (.[length / 2 - 1] + .[length / 2]) / 2 end' <<< "$1"; }
T0=$(med "$W0") T50=$(med "$W50")

mpx_cpt_finish
AN=$D/dsl.an.json WAN=$D/wan.an.json
"$B/mpx-analyze" --json "$D/pcap/dsl.pcap" > "$AN" 2>/dev/null
"$B/mpx-analyze" --json "$D/pcap/wan.pcap" > "$WAN" 2>/dev/null
an() { jq -c --arg t "$S:$1" 'select(.type=="conn" and .target == $t)' "$AN"; }

# W=50: Convert + request in the SYN
n=$(an 8203 | jq -s '[.[] | select(.signal == "convert" and .signal_valid and .req_in_syn and .rtts_before_data == 0)] | length')
t_check "analyzer W=50 - $n/$N CPE SYNs: valid Convert, request in the SYN, 0 round trips before data" [ "$n" = "$N" ]
# W=0: Convert alone; the request after the SYN/ACK
n=$(an "$P0" | jq -s '[.[] | select(.signal == "convert" and .signal_valid and (.req_in_syn | not) and
      .rtts_before_data >= 1 and .t_us.first_req >= .t_us.synack)] | length')
t_check "analyzer W=0 - $n/$N CPE SYNs: valid Convert alone, request after the SYN/ACK" [ "$n" = "$N" ]
n=$(an 8403 | jq -s '[.[] | select(.signal == "convert" and .req_in_syn and .rtts_before_data == 0)] | length')
t_check "analyzer TFO LAN client, W=0 - $n/6 CPE SYNs carry the request" [ "$n" = 6 ]

# the SYN payload bytes themselves: the encoder's Convert message for the LAN client's
# destination, then the MPX1 header ("MPX1" = 4d505831) or nothing
syncheck() { # port expect(req|none) [target address]
  local enc; enc=$("$B/mpx-wire" encode convert --connect "${3:-$S}:$1") || return 1
  mpx_cpt_syn_hex "$D/pcap/dsl.pcap" 5124 | awk -v e="$enc" -v w="$2" '
    index($2, e) == 1 { n++; rest = substr($2, length(e) + 1)
      if ((w == "req" && substr(rest, 1, 8) == "4d505831") || (w == "none" && rest == "")) g++ }
    END { printf "%d %d\n", n, g }'
}
read -r n g < <(syncheck 8203 req)
t_check "SYN bytes W=50 - $g/$n SYNs: Convert (Connect $S:8203) immediately followed by MPX1" [ "$n" -ge "$N" ] && [ "$g" = "$n" ]
read -r n g < <(syncheck "$P0" none)
t_check "SYN bytes W=0 - $g/$n SYNs: the Convert message (Connect $S:$P0) and nothing else" [ "$n" -ge "$N" ] && [ "$g" = "$n" ]
read -r n g < <(syncheck 8403 req)
t_check "SYN bytes TFO LAN client - $g/$n SYNs: Convert then MPX1" [ "$n" -ge 6 ] && [ "$g" = "$n" ]
read -r n g < <(syncheck 8203 req "[$MPX_CPT_SRV6]")
t_check "SYN bytes IPv6 LAN client - $g/$n SYNs: Convert (Connect [$MPX_CPT_SRV6]:8203) then MPX1" [ "$n" -ge 4 ] && [ "$g" = "$n" ]

# TTFB: the model's saving from this run's own round trips
rtt_a=$(an "$P0" | jq -s '[.[] | .t_us.ack - .t_us.syn] | sort | .[length / 2 | floor]')
rtt_w=$(jq -s --arg s "$S:$P0" '[.[] | select(.type=="conn" and .server == $s) | .t_us.ack - .t_us.syn] | sort | .[length / 2 | floor]' "$WAN")
echo "# TTFB median W=0 $T0 us, W=50 $T50 us; RTT_a (dsl, SYN->ACK) $rtt_a us, RTT_w (wan) $rtt_w us"
if [ "$T0" = null ] || [ "$T50" = null ] || [ "$rtt_a" = null ] || [ "$rtt_w" = null ]; then
  t_fail "TTFB model" "missing values (ttfb $T0/$T50, rtt $rtt_a/$rtt_w)"
else
  read -r save model ok < <(awk -v a="$T0" -v b="$T50" -v ra="$rtt_a" -v rw="$rtt_w" 'BEGIN {
    s = a - b; m = (ra > rw ? ra : rw) - rw
    printf "%d %d %d\n", s, m, (s > 0 && s >= m / 2 && s <= ra + rw) }')
  t_check "TTFB - W=50 saves $save us over W=0 (model max(RTT_a,RTT_w)-RTT_w = $model us; asserted > 0, >= model/2, <= RTT_a + RTT_w)" [ "$ok" = 1 ]
fi
t_done
