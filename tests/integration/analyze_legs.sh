#!/usr/bin/env bash
# mpx-analyze --legs: the three legs (LAN host -> CPE, CPE -> HAG over dsl/lte, HAG -> server)
# of proxy/proxy connections joined per application connection, on the hand-built story of
# bin/mpx-mkpcap legs-* (tests/tools/mkpcap.c, sc_legs): join count, the key of each join,
# every time and gap computed by hand from the story, unjoinable legs reported as such, the
# fallback key when the payload is cut, options and exit codes; then the real captures of
# tests/data/legs/ when present.
# timeout: 60
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
t_require_cmd jq
t_require_bin mpx-analyze mpx-mkpcap
A=$MPX_ROOT/bin/mpx-analyze
MK=$MPX_ROOT/bin/mpx-mkpcap
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT INT TERM

for l in lan1 lan2 dsl lte wan; do timeout 10 "$MK" "legs-$l" "$W/$l.pcap"; done
SPEC="lan=$W/lan1.pcap,$W/lan2.pcap,access=$W/dsl.pcap,$W/lte.pcap,wan=$W/wan.pcap"

# mpx_legs_case NAME FILTER ARGS...: runs mpx-analyze ARGS (exit 0 wanted) and asserts the jq
# FILTER on the slurped JSON lines (.[-1] = legs_summary).
# MPX_LEGS_JQ: more jq arguments (--slurpfile ...).
MPX_LEGS_JQ=()
mpx_legs_case() {
  local name=$1 filter=$2 rc=0; shift 2
  timeout 20 "$A" "$@" > "$W/$name.json" 2> "$W/$name.err" || rc=$?
  if [ "$rc" != 0 ]; then t_fail "$name" "exit $rc: $(cat "$W/$name.err")"; return; fi
  if jq -e -s "${MPX_LEGS_JQ[@]}" "$filter" "$W/$name.json" > /dev/null; then t_pass "$name"
  else t_fail "$name" "filter [$filter] false on: $(jq -c -s '.' "$W/$name.json" | head -c 3000)"; fi
}

# The story (one-way delays lan 250 us, dsl 10 ms, lte 25 ms, wan 5 ms; stamps on arrival at
# the next hop; hosts forward after 10 us): A convert, W > 0, HAG on the SYN, lte subflow;
# B from lan2 with the same MPX1 header as A (same seed), W = 0, HAG on the request; C
# implicit with HTTP bytes; E convert with HTTP bytes in the SYN; D a LAN connection the CPE
# resets; F and G refused by the HAG (Convert Error 32; F's attempt carried the request, G's
# did not), then the CPE's direct TCP to the server, routed by the HAG; and one HAG -> server
# connection no LAN host made.
mpx_legs_case summary '.[-1] | .type=="legs_summary" and .connections==8 and .complete==6
  and .keys=={"mpx1":8,"target-time":4} and .legs=={"lan":7,"access":8,"wan":7}
  and .unjoined=={"lan":1,"access":0,"wan":1} and .refused_attempts==2 and .violations==0
  and .read_errors==[]
  and (.pcaps.access|length)==2' --legs "$SPEC"

# A by hand. LAN: SYN 0, SYN/ACK 250, ACK 500, request 510 (so owd c2s = s2c = 250).
# CPE SYN leaves at 520 (request + 10), at the HAG 10520; SYN/ACK 20520, ACK 30520.
# HAG SYN leaves at 10530, at the server 15530; SYN/ACK 20530, ACK 25530; request leaves the
# HAG at 20540 (SYN/ACK + 10), at the server 25540; server answers after 60 us, at the HAG
# 30600; to the CPE: 30610 + 10000 = 40610; to the LAN host 40620 + 250 = 40870.
# Gaps: cpe_wait = (10520 - 10000) - 500 = 20; cpe_req_to_access_syn = 520 - 510 = 10;
# hag_wait = (15530 - 5000) - 10520 = 10; lan_ttfb = 40870 - (0 - 250) = 41120;
# access_ttfb = 40610 - 520 = 40090; wan_ttfb = 30600 - 10530 = 20070;
# server_resp = (30600 - 5000) - 25540 = 60; the HAG's SYN left (10530) before the CPE's ACK
# reached it (30520): hag_connect_at syn. FINs: LAN 41870 / 42370, access 51880 / 71880.
# The first payload each way, signalling included: on the access leg the SYN data (10520) and
# the converter's reply, sent when the server's SYN/ACK reached the HAG (20530 + 10 + 10000 =
# 30540).
mpx_legs_case conn_a '.[0] | .id==1 and .complete and .target=="198.18.6.2:8101"
  and .mpx1=={"seed":257,"req_len":32,"resp_len":16,"echo":false}
  and .key=={"access":"mpx1","wan":"mpx1"} and .t0_epoch_us==1764316800000000
  and .lan.client=="198.18.3.2:40001" and .lan.relay=="proxied" and .lan.signal=="plain"
  and .lan.t_us=={"syn":0,"synack":250,"ack":500,"data_c2s":510,"data_s2c":40870,"first_req":510,"first_resp":40870,
                  "fin_c2s":41870,"fin_s2c":42370,"rst":null}
  and .lan.owd_us=={"c2s":250,"s2c":250}
  and .access.client=="198.18.0.2:50001" and .access.server=="198.18.0.1:5124"
  and .access.signal=="convert" and .access.signal_valid and .access.signal_target=="198.18.6.2:8101"
  and .access.mptcp=="mptcp" and .access.subflows==2 and (.access.subflow_pcaps|map(split("/")[-1]))==["dsl.pcap","lte.pcap"]
  and .access.syn_data_len==56 and .access.req_in_syn and .access.syn_carries_request and (.access.refused|not)
  and .access.t_us=={"syn":10520,"synack":20520,"ack":30520,"data_c2s":10520,"data_s2c":30540,"first_req":10520,"first_resp":40610,
                     "fin_c2s":51880,"fin_s2c":71880,"rst":null}
  and .wan.client=="198.18.4.1:60001" and .wan.relay==null
  and .wan.t_us=={"syn":15530,"synack":20530,"ack":25530,"data_c2s":25540,"data_s2c":30600,"first_req":25540,"first_resp":30600,
                  "fin_c2s":56890,"fin_s2c":66890,"rst":null}
  and .hag_connect_at=="syn"
  and .gaps_us=={"lan_syn_to_access_syn":10520,"access_syn_to_wan_syn":5010,"cpe_wait":20,
                 "cpe_req_to_access_syn":10,"hag_wait":10,"lan_ttfb":41120,"access_ttfb":40090,
                 "wan_ttfb":20070,"server_resp":60}' --legs "$SPEC"

# B: the same MPX1 header as A from another LAN host, 200 ms later: joined in time order to
# its own legs. CPE SYN leaves at accept + 5 = 200505 (before the request, 200510), at the
# HAG 210505; request after the handshake at the HAG 230515; HAG SYN leaves at 230525, at the
# server 235525; server 90 us. cpe_wait 5, cpe_req_to_access_syn -5, hag_wait 20020,
# hag_connect_at ack (230525 >= ACK 230505).
mpx_legs_case conn_b_same_seed '.[1] | .id==2 and .complete and .mpx1.seed==257
  and .key=={"access":"mpx1","wan":"mpx1"} and .t0_epoch_us==1764316800200000
  and (.lan.pcap|endswith("lan2.pcap")) and .lan.client=="198.18.5.2:40002"
  and .access.client=="198.18.0.2:50003" and .wan.client=="198.18.4.1:60002"
  and .access.syn_data_len==24 and (.access.req_in_syn|not) and (.access.syn_carries_request|not)
  and .access.subflows==1 and .hag_connect_at=="ack"
  and .gaps_us.cpe_wait==5 and .gaps_us.cpe_req_to_access_syn==-5 and .gaps_us.hag_wait==20020
  and .gaps_us.server_resp==90 and .gaps_us.lan_ttfb==61145' --legs "$SPEC"

# C (implicit: the access leg is addressed to the target) and E (Convert to 8104): no MPX1
# bytes, joined by target and time.
mpx_legs_case target_time '(.[2] | .complete and .mpx1==null and .target=="198.18.6.2:8102"
    and .key=={"access":"target-time","wan":"target-time"} and .access.server=="198.18.6.2:8102"
    and .access.signal_target==null and .access.mptcp=="mptcp" and .wan.client=="198.18.4.1:60003")
  and (.[3] | .complete and .target=="198.18.6.2:8104" and .key.access=="target-time"
    and .access.signal_target=="198.18.6.2:8104" and .access.req_in_syn
    and (.access.syn_carries_request|not) and .wan.client=="198.18.4.1:60005")' --legs "$SPEC"

# D: reset by the CPE, no other leg; the HAG connection nobody asked for: lines of their own.
mpx_legs_case unjoined '(.[4] | (.complete|not) and .access==null and .wan==null
    and .key=={"access":null,"wan":null} and .lan.client=="198.18.3.2:40004"
    and .lan.t_us.rst==3760 and .lan.relay==null and .gaps_us.cpe_wait==null and .mpx1.seed==514)
  and (.[7] | (.complete|not) and .lan==null and .access==null and .wan.client=="198.18.4.1:60009"
    and .target=="198.18.6.2:9999")' --legs "$SPEC"

# F and G: the refused attempt kept apart (F by its MPX1 header, G by target and time, its
# SYN held only the Convert message), the direct TCP joined as the access leg and routed to
# the WAN leg. F by hand: LAN SYN 0 (ACK 500); attempt SYN at the HAG 10530, SYN/ACK 20530,
# Error 32 at the CPE 20540, RST 30550; direct SYN leaves 30550, at the HAG 40550, at the
# server 45560; SYN/ACK 50560 (wan), 60570 (dsl); request 70580 (dsl), 75590 (wan); server
# 50 us: response at the HAG 80640, at the CPE 90650, at the LAN host 90910.
mpx_legs_case refused '(.[5] | .complete and .target=="198.18.6.2:8105" and .mpx1.seed==771
    and .key=={"access":"mpx1","wan":"mpx1"} and .lan.relay=="proxied" and .access.relay=="routed"
    and .access.client=="198.18.0.2:50012" and .access.server=="198.18.6.2:8105"
    and .access.mptcp=="tcp" and .wan.client=="198.18.0.2:50012"
    and .attempts==[{"pcap":.attempts[0].pcap,"client":"198.18.0.2:50011","server":"198.18.0.1:5124",
                     "signal":"convert","mptcp":"mptcp","why":"convert-error 32","key":"mpx1",
                     "convert_error":32,"socks_reply":null,
                     "t_syn_us":10530,"t_end_us":30550}]
    and .access.t_us.syn==40550 and .wan.t_us.syn==45560 and .wan.t_us.first_resp==80640
    and .lan.t_us.first_resp==90910 and .gaps_us.hag_wait==null and .hag_connect_at==null
    and .gaps_us.server_resp==50 and .gaps_us.lan_ttfb==91160)
  and (.[6] | .complete and .target=="198.18.6.2:8106" and .key.access=="mpx1"
    and .access.client=="198.18.0.2:50014" and (.attempts|length)==1
    and .attempts[0].client=="198.18.0.2:50013" and .attempts[0].convert_error==32
    and .attempts[0].key=="target-time" and .attempts[0].why=="convert-error 32")
  and all(.[0:5][]; .attempts==[])' --legs "$SPEC"

# The same captures named in another order and in several --legs: the same legs lines.
timeout 20 "$A" --legs "$SPEC" | grep '"type":"legs"' > "$W/ref.jsonl"
timeout 20 "$A" --legs "wan=$W/wan.pcap" --legs "access=$W/lte.pcap,$W/dsl.pcap" \
  --legs "lan=$W/lan2.pcap" --legs "lan=$W/lan1.pcap" | grep '"type":"legs"' \
  | jq -c 'if .access then .access.subflow_pcaps |= sort else . end' > "$W/perm.jsonl"
jq -c 'if .access then .access.subflow_pcaps |= sort else . end' "$W/ref.jsonl" > "$W/ref2.jsonl"
t_check order_independent cmp -s "$W/ref2.jsonl" "$W/perm.jsonl"

# The WAN capture cut at 66 bytes (12 payload bytes: "MPX1" but not the whole header): the
# access -> WAN joins fall back to target and time order and still find the same partners.
timeout 10 "$MK" --snaplen 66 legs-wan "$W/wan-cut.pcap"
mpx_legs_case snaplen_fallback '(.[0] | .key=={"access":"mpx1","wan":"target-time"}
    and .wan.client=="198.18.4.1:60001" and .gaps_us.server_resp==60)
  and (.[1] | .key=={"access":"mpx1","wan":"target-time"} and .wan.client=="198.18.4.1:60002")
  and .[-1].keys=={"mpx1":4,"target-time":8} and .[-1].complete==6' \
  --legs "lan=$W/lan1.pcap,$W/lan2.pcap,access=$W/dsl.pcap,$W/lte.pcap,wan=$W/wan-cut.pcap"

# Without the lte capture the join subflow is not seen: one subflow, same join.
mpx_legs_case no_lte '.[0].access.subflows==1 and .[0].key.wan=="mpx1" and .[-1].complete==6' \
  --legs "lan=$W/lan1.pcap,$W/lan2.pcap,access=$W/dsl.pcap,wan=$W/wan.pcap"

# Scale: the story 300 times (mpx-mkpcap --repeat: 2 s apart, client ports + 16 k, other
# seeds and keys; A..G repeat their targets, so only header, target and time order tell the
# repetitions apart): every count exactly 300 times the story's, and every joined leg from
# the same repetition k (its client port's offset).
for l in lan1 lan2 dsl lte wan; do timeout 20 "$MK" --repeat 300 "legs-$l" "$W/n-$l.pcap"; done
mpx_legs_case scale_300 '(.[-1] | .connections==2400 and .complete==1800
    and .keys=={"mpx1":2400,"target-time":1200} and .legs=={"lan":2100,"access":2400,"wan":2100}
    and .unjoined=={"lan":300,"access":0,"wan":300} and .refused_attempts==600)
  and all(.[] | select(.type=="legs" and .complete);
    def k($base): (split(":")[1] | tonumber - $base) / 16 | floor;
    (.lan.client | k(40000)) as $k
    | (.access.client | k(50000)) == $k
    and (.wan.client | k(if startswith("198.18.4.1:") then 60000 else 50000 end)) == $k
    and all(.attempts[]; .client | k(50000) == $k))' \
  --legs "lan=$W/n-lan1.pcap,$W/n-lan2.pcap,access=$W/n-dsl.pcap,$W/n-lte.pcap,wan=$W/n-wan.pcap"

# --text: the compact table; --report: the verification report, then the timelines.
timeout 20 "$A" --legs "$SPEC" --text > "$W/t.txt"
t_check text_header grep -q '^legs: 8 application connection(s), 6 complete; joins by mpx1 8, by target-time 4; unjoined lan 1, access 0, wan 1; refused attempts 2$' "$W/t.txt"
t_check text_conn_a grep -qE '^  access dsl.pcap +198.18.0.2:50001 -> 198.18.0.1:5124 +convert +10.520 +20.520 +30.520 +10.520 +40.610 +51.880 +71.880 2 \(dsl.pcap,lte.pcap\)$' "$W/t.txt"
t_check text_gaps grep -qF 'gaps (ms): LAN SYN->access SYN 10.520, access SYN->WAN SYN 5.010, CPE wait 0.020, LAN request->CPE SYN 0.010, HAG wait 0.010, TTFB lan 41.120, TTFB access 40.090, TTFB wan 20.070, server 0.060; HAG connected at the access SYN (0-RTT)' "$W/t.txt"
t_check text_unjoined grep -qF '  access (not joined / not captured)' "$W/t.txt"
timeout 20 "$A" --legs "$SPEC" --report > "$W/r.md"
t_check report grep -q '^## Three-leg timelines' "$W/r.md"
t_check report_verdict grep -q '^\*\*Verdict: clean.\*\*' "$W/r.md"

# Usage errors: exit 2 with a message.
mpx_legs_usage() {
  local name=$1 want=$2 rc=0; shift 2
  timeout 10 "$A" "$@" > /dev/null 2> "$W/u.err" || rc=$?
  if [ "$rc" = 2 ] && grep -q -- "$want" "$W/u.err"; then t_pass "$name"
  else t_fail "$name" "exit $rc: $(head -2 "$W/u.err")"; fi
}
mpx_legs_usage usage_role "unknown role 'dsl'" --legs "dsl=$W/dsl.pcap"
mpx_legs_usage usage_norole "has no role" --legs "$W/dsl.pcap"
mpx_legs_usage usage_positional "no positional PCAP" --legs "lan=$W/lan1.pcap" "$W/wan.pcap"
mpx_legs_usage usage_csv "no --csv" --csv --legs "lan=$W/lan1.pcap"
mpx_legs_usage usage_text "needs --legs" --text "$W/lan1.pcap"

# Real captures (tests/data/legs/: the mpx-linkem pcaps of a hybrid-cpe.topo run made by
# tests/data/legs/make.sh, README there): convert W = 0 and W = 50, socks5 (two connections
# each, the same two seeds on every channel), and the direct baseline (routed through CPE and
# HAG, not intercepted). Every connection joined by its MPX1 header to the right target, the
# SYNs in causal order, W = 50's SYN carrying the request and W = 0's not, two subflows.
R=$MPX_ROOT/tests/data/legs
mpx_legs_case real '(.[-1] | .connections==7 and .complete==7 and .keys=={"mpx1":14,"target-time":0}
    and .unjoined=={"lan":0,"access":0,"wan":0} and .violations==0)
  and all(.[] | select(.type=="legs"); .key=={"access":"mpx1","wan":"mpx1"}
    and .wan.server==.lan.server and .lan.t_us.syn <= .access.t_us.syn
    and .access.t_us.syn <= .wan.t_us.syn and .gaps_us.lan_ttfb > 0)
  and ([.[] | select(.type=="legs" and .lan.relay=="proxied")] | length==6
    and all(.access.mptcp=="mptcp" and .access.subflows==2 and .access.signal_target==.lan.server
            and .gaps_us.cpe_wait != null and .gaps_us.hag_wait > 0 and .gaps_us.server_resp >= 0))
  and ([.[] | select(.type=="legs" and .access.signal=="convert") | [(.target|split(":")[1]), .access.syn_carries_request]]
    | sort==[["8103",false],["8103",false],["8203",true],["8203",true]])
  and ([.[] | select(.type=="legs" and .lan.relay=="routed")] | length==1
    and .[0].access.relay=="routed" and .[0].gaps_us.cpe_wait==null and .[0].hag_connect_at==null)' \
  --legs "lan=$R/home1.pcap,$R/home2.pcap,access=$R/dsl.pcap,$R/lte.pcap,wan=$R/wan.pcap"
# The HAG refusing the CPE (tests/data/legs/refused/, make.sh refused: its ACL does not list
# the CPE): every LAN connection reached the server by the CPE's direct TCP (routed through
# the HAG: the same connection on dsl and wan), each after one refused attempt: Convert Error
# 32 (its bytes name the header: joined by mpx1) or SOCKS method 0xff (no request, no target:
# attached by time). The direct baseline has no attempt.
RR=$R/refused
mpx_legs_case real_refused '(.[-1] | .connections==7 and .complete==7 and .refused_attempts==6
    and .unjoined=={"lan":0,"access":0,"wan":0} and .violations==0)
  and all(.[] | select(.type=="legs"); .key=={"access":"mpx1","wan":"mpx1"}
    and .access.relay=="routed" and .access.mptcp=="tcp" and .wan.client==.access.client
    and .wan.server==.lan.server and .hag_connect_at==null and .gaps_us.hag_wait==null)
  and ([.[] | select(.type=="legs") | [(.target|split(":")[1]), (.attempts|map([.why, .key]))]]
    | sort==[["8080",[]],
             ["8101",[["socks-no-method","time"]]],["8101",[["socks-no-method","time"]]],
             ["8103",[["convert-error 32","mpx1"]]],["8103",[["convert-error 32","mpx1"]]],
             ["8203",[["convert-error 32","mpx1"]]],["8203",[["convert-error 32","mpx1"]]]])
  and all(.[] | select(.type=="legs") | .attempts[]; .t_syn_us < 30000)' \
  --legs "lan=$RR/home1.pcap,$RR/home2.pcap,access=$RR/dsl.pcap,$RR/lte.pcap,wan=$RR/wan.pcap"
# Every registry channel (tests/data/legs/channels/, make.sh channels; its registry as
# signals.json, server port 8100 + index): each connection joined by its MPX1 header; the
# access leg shows the channel's wire class, MPTCP with the lte subflow where the row says
# MPTCP, and the tcp channel (mode none) is routed by the HAG: no HAG step.
RC=$R/channels
MPX_LEGS_JQ=(--slurpfile sig "$RC/signals.json")
mpx_legs_case real_channels '(.[-1] | .connections==24
    and .complete==24 and .keys=={"mpx1":48,"target-time":0} and .violations==0)
  and all(.[] | select(.type=="legs");
    $sig[0][(.target | split(":")[1] | tonumber) - 8100] as $row
    | .key=={"access":"mpx1","wan":"mpx1"} and .access.signal==$row.wire
    and .access.mptcp==(if $row.mptcp then "mptcp" else "tcp" end)
    and .access.subflows==(if $row.mptcp then 2 else 1 end)
    and .access.relay==(if $row.mode=="none" then "routed" else "proxied" end)
    and (.hag_connect_at==null)==($row.mode=="none")
    and (.access.signal_target==null or .access.signal_target==.lan.server)
    and .lan.t_us.syn <= .access.t_us.syn and .access.t_us.syn <= .wan.t_us.syn)
  and ([.[] | select(.type=="legs") | .target] | unique | length)==12' \
  --legs "lan=$RC/home1.pcap,access=$RC/dsl.pcap,$RC/lte.pcap,wan=$RC/wan.pcap"
MPX_LEGS_JQ=()
t_done
