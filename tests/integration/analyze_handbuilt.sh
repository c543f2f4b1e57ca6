#!/usr/bin/env bash
# mpx-analyze on hand-built corner-case captures (tests/tools/mkpcap.c): exact verdicts,
# rule IDs, packet numbers, timelines and exit codes; the same capture in every link type
# gives the same analysis; snaplen-cut captures are flagged, never misjudged.
# timeout: 120
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
t_require_cmd jq
t_require_bin mpx-analyze mpx-mkpcap
A=$MPX_ROOT/bin/mpx-analyze
MK=$MPX_ROOT/bin/mpx-mkpcap
D=$MPX_ROOT/tests/data/pcap
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT INT TERM

jqe() { jq -e "$@" > /dev/null; }
# an_case NAME EXPECTED_RC JQ_FILTER [MKPCAP ARGS...]: builds, analyses, asserts.
# The filter sees the JSON lines slurped into an array: .[0] first connection, .[-1] summary.
an_case() {
  local name=$1 want_rc=$2 filter=$3; shift 3
  local pc=$W/$name.pcap rc=0
  "$MK" "$@" "$pc"
  "$A" --json "$pc" > "$W/$name.json" || rc=$?
  if [ "$rc" != "$want_rc" ]; then t_fail "$name" "exit $rc, want $want_rc: $(cat "$W/$name.json")"; return; fi
  if jq -e -s "$filter" "$W/$name.json" > /dev/null; then t_pass "$name"
  else t_fail "$name" "filter [$filter] false on: $(jq -c -s '.' "$W/$name.json")"; fi
}

an_case convert 0 '.[0] | .signal=="convert" and .signal_valid and .target=="198.18.2.2:8080"
  and .req_in_syn and .mptcp=="mptcp" and .mpc.syn and .mpc.synack and .mpc.ack
  and .syn_opt_bytes==24 and .syn_opt_left==16 and .synack_opt_bytes==32
  and .tfo.syn_data_len==40 and .tfo.syn_data_acked and (.tfo.cookie_req|not)
  and .t_us=={"syn":0,"synack":30000,"ack":40000,"first_req":0,"first_resp":45000}
  and .hs_rtt_us==30000 and .ttfb_us==45000 and .rtts_before_data==0 and .pkts==7
  and .reply_where=="synack" and (.reply|test("valid")) and .violations==[]
  and .keys.client=="1122334455667788" and .keys.server=="99aabbccddeeff00"' convert
an_case convert-reply-data 0 '.[0] | .reply_where=="first-data" and .ttfb_us==45000 and .t_us.first_resp==45000' convert-reply-data
an_case convert-zero-tlv 1 '.[0].violations==[{"rule":"CONV-TLV-ZERO","pkt":1,"t_us":0,"msg":.[0].violations[0].msg}]
  and (.[0].signal_valid|not) and .[-1].by_rule=={"CONV-TLV-ZERO":1}' convert-zero-tlv
an_case overrun 1 '[.[0].violations[]|[.rule,.pkt]]==[["TCPOPT-OVERRUN",1],["TCPOPT-LEN-ZERO",3]]' overrun
an_case mpc-dropped 0 '.[0] | .mptcp=="fallback" and (.fallback_cause|test("option space exhausted"))
  and .syn_opt_bytes==40 and .syn_opt_left==0 and .mpc_dropped and .tfo.cookie_used and .tfo.cookie_len==16
  and (.req_in_syn|not) and .rtts_before_data==1' mpc-dropped
an_case cookie 0 '(.[0] | .tfo.cookie_req and .tfo.cookie_granted and .tfo.cookie_len==8 and (.tfo.cookie_used|not))
  and (.[1] | .tfo.cookie_used and .tfo.syn_data_len==16 and .tfo.syn_data_acked and .req_in_syn
  and .rtts_before_data==0 and .ttfb_us==10010) and .[-1].connections==2' cookie
an_case syndata-nack 0 '.[0] | .tfo.syn_data_len==16 and (.tfo.syn_data_acked|not) and .tfo.syn_data_retx
  and .ttfb_us==30010' syndata-nack
an_case tcprst 1 '.[0] | .mp_tcprst==6 and .mptcp=="mptcp" and ([.violations[]|[.rule,.pkt]]==[["TCPRST-NOT-RST",6]])' tcprst
an_case add-addr 1 '.[0] | .add_addr==2 and .add_addr_hmac_ok==1 and .add_addr_hmac_bad==1
  and ([.violations[]|[.rule,.pkt]]==[["ADD-ADDR-HMAC",6]])' add-addr
an_case join 0 '.[0] | .subflows==2 and (.joins|length)==1 and .joins[0].hmac=="ok" and .joins[0].pkts==4 and .violations==[]' join
an_case join-bad 1 '.[0] | .subflows==2 and .joins[0].hmac=="bad" and ([.violations[]|[.rule,.pkt]]==[["MPJ-HMAC",6]])' join-bad
an_case socks5 0 '.[0] | .signal=="socks5" and .signal_valid and .target=="198.18.2.2:8080" and .rtts_before_data==3
  and .ttfb_us==120040 and (.reply|test("succeeded"))' socks5
an_case mpconvert 0 '.[0] | .signal=="mpconvert" and .signal_valid and .target=="198.18.2.2:8080" and .req_in_syn
  and .rtts_before_data==0 and .tfo.syn_data_len==27' mpconvert
an_case mpconvert-ie 0 '.[0] | .signal=="mpconvert-ie" and .signal_valid and .reply_where=="synack" and .req_in_syn' mpconvert-ie
an_case plain 0 '.[0] | .signal=="plain" and .mptcp=="tcp" and .rtts_before_data==1 and .ttfb_us==60020 and (.router_alert|not)' plain
an_case plain-ra 0 '.[0] | .router_alert and .ttfb_us==60020' plain-ra
an_case fallback 0 '.[0] | .mptcp=="fallback" and .fallback_cause=="no MP_CAPABLE in SYN/ACK"' fallback
an_case ts-dropped 0 '.[0] | .ts_dropped and .tfo.cookie_req and .tfo.cookie_granted and .tfo.cookie_len==8 and .mptcp=="mptcp"
  and .syn_opt_bytes==28 and .synack_opt_bytes==36 and (.space_note|test("ts dropped \\(mptcp-listener-tfo-cookie\\)"))' ts-dropped
an_case syn-retx 0 '.[0] | .mptcp=="fallback" and (.fallback_cause|test("SYN retransmitted without MP_CAPABLE"))
  and ([.syns[] | [.pkt,.dir,.opt_bytes,.mpc]] == [[1,"syn",24,true],[2,"syn",24,true],[3,"syn",20,false],[4,"synack",20,false]])
  and .t_us.syn==0 and .hs_rtt_us==3020000' syn-retx
an_case mpconvert-opt 0 '.[0] | .signal=="mpconvert-opt" and .signal_valid and .target=="198.18.2.2:8080" and .mpconvert_opt
  and .syn_opt_bytes==36 and .syn_opt_left==4 and .mptcp=="mptcp" and .violations==[]' mpconvert-opt
an_case convert-error 0 '.[0] | .signal=="convert" and .convert_error==96 and .target=="198.18.2.2:8081" and (.reply|test("Error TLV code 96"))' convert-error
an_case join-syn-data 1 '[.[0].violations[]|[.rule,.pkt,.pcap==null]]==[["AN-MPJ-SYN-DATA",5,false]]' join-syn-data
an_case mpc-dropped-note 0 '.[0].space_note=="Linux SYN layout of mss,sackperm,ts,ws,tfo:16,mpc needs 44 B: mpc dropped (no-room)"' mpc-dropped
an_case idsn-bad 1 '[.[0].violations[]|[.rule,.pkt]]==[["AN-DSS-IDSN",5]] and (.[0].violations[0].msg|test("from the server: DSN 1000 - SSN 1"))' idsn-bad
an_case dss-csum 1 '.[0] | .dss_csum=={"ok":1,"bad":1,"unchecked":0} and ([.violations[]|[.rule,.pkt]]==[["DSS-CSUM",6]])' dss-csum
an_case prefer-proxy 0 '.[0] | .prefer_proxy and .mpc.syn and .syn_opt_bytes==28 and .syn_opt_left==12 and .violations==[] and .signal=="none"' prefer-proxy
an_case convert-v6 0 '.[0] | .signal=="convert" and .signal_valid and .target=="[fd00:2::2]:8080" and .client=="[fd00::1]:40000" and .req_in_syn' --v6 convert

# implicit interception across two captures: joined by server endpoint and time, ISN differs
"$MK" implicit-dsl "$W/imp-dsl.pcap"; "$MK" implicit-wan "$W/imp-wan.pcap"
"$A" --json "$W/imp-dsl.pcap" "$W/imp-wan.pcap" > "$W/imp.json" || true
t_check implicit-intercepted jqe -s '[.[] | select(.type=="conn")] | length==2 and .[0].mptcp=="mptcp"
  and .[0].downstream.intercepted and (.[0].downstream.pcap|endswith("imp-wan.pcap")) and .[0].downstream.client==.[0].client
  and .[1].downstream==null' "$W/imp.json"
t_check implicit-clean jqe -s '.[-1].violations==0' "$W/imp.json"
# the same capture twice is the same connection seen at two points, never "intercepted"
"$A" --json "$W/imp-dsl.pcap" "$W/imp-dsl.pcap" > "$W/imp2.json" || true
t_check same-conn-not-intercepted jqe -s '[.[] | select(.type=="conn" and .downstream!=null)] | length==0' "$W/imp2.json"

# the token of the join scenario's server key, computed independently with sha256sum
tok=$(printf '\x41\x42\x43\x44\x45\x46\x47\x48' | sha256sum | cut -c1-8)
t_check join-token-sha256 test "$(jq -r 'select(.type=="conn").token' "$W/join.json")" = "$tok"

# every link type gives the same analysis as Ethernet (pcap name aside)
"$MK" convert "$W/ref.pcap"
ref=$("$A" --json "$W/ref.pcap" | jq -c 'del(.pcap)')
for lt in sll sll2 raw null loop; do
  "$MK" --linktype $lt convert "$W/lt-$lt.pcap"
  got=$("$A" --json "$W/lt-$lt.pcap" | jq -c 'del(.pcap)')
  t_check "linktype-$lt" test "$got" = "$ref"
done
# pcapng (converted by editcap when present) reads the same
if command -v editcap >/dev/null; then
  editcap -F pcapng "$W/ref.pcap" "$W/ref.pcapng" >/dev/null 2>&1
  got=$("$A" --json "$W/ref.pcapng" | jq -c 'del(.pcap)')
  t_check pcapng test "$got" = "$ref"
  editcap -F nsecpcap "$W/ref.pcap" "$W/ref-ns.pcap" >/dev/null 2>&1
  got=$("$A" --json "$W/ref-ns.pcap" | jq -c 'del(.pcap)')
  t_check pcap-nanosecond test "$got" = "$ref"
else t_skip pcapng "editcap not installed"; fi

# snaplen 70: options of the SYN are cut; flagged as truncated, no option verdicts on cut
# areas, still one connection with the right handshake times
"$MK" --snaplen 70 convert "$W/cut.pcap"
rc=0; "$A" --json "$W/cut.pcap" > "$W/cut.json" || rc=$?
t_check snaplen-flagged jqe -s '.[-1].truncated > 0 and .[0].truncated > 0 and .[0].pkts==7 and .[0].hs_rtt_us==30000 and ([.[0].violations[].rule]|map(startswith("TCPOPT"))|any|not)' "$W/cut.json"

# usage and input errors exit 2
rc=0; "$A" > /dev/null 2>&1 || rc=$?; t_check usage-exit-2 test "$rc" = 2
rc=0; "$A" "$W/missing.pcap" > /dev/null 2>&1 || rc=$?; t_check missing-file-exit-2 test "$rc" = 2
printf 'not a pcap at all' > "$W/junk.pcap"
rc=0; "$A" "$W/junk.pcap" > /dev/null 2>&1 || rc=$?; t_check junk-file-exit-2 test "$rc" = 2

# csv and report agree with json on the convert capture
"$A" --csv "$W/ref.pcap" > "$W/ref.csv" || true
t_check csv-row test "$(sed -n 2p "$W/ref.csv" | cut -d, -f4,5,7,8)" = "convert,1,1,mptcp"
"$A" --report "$W/ref.pcap" > "$W/ref.md" || true
t_check report-convert-valid grep -q 'signal check | Convert header valid (version 1, 24 B, magic 0x2263); Connect TLV valid (5 words, 198.18.2.2:8080)' "$W/ref.md"
t_check report-in-syn grep -q 'request in SYN | yes' "$W/ref.md"
t_check report-mpc grep -q 'SYN options | 24 B used, 16 B left; MP_CAPABLE carried' "$W/ref.md"
t_check report-timeline grep -q '| first response byte | 45.000 | 4 |' "$W/ref.md"
"$A" --report "$W/overrun.pcap" > "$W/overrun.md" || true
t_check report-violation-row grep -qE '^\| TCPOPT-OVERRUN \| `[^`]*overrun.pcap` \| 1 \| 0.000 \|' "$W/overrun.md"

# the committed golden copies are what mkpcap builds today (deterministic)
for f in "$D"/hb-*.pcap "$D"/hb-*.pcapng; do
  [ -e "$f" ] || continue
  sc=$(basename "$f"); sc=${sc%.pcap*}; sc=${sc#hb-}
  "$MK" "$sc" "$W/re-$sc.cap"
  t_check "golden-$sc-bytes" cmp -s "$f" "$W/re-$sc.cap"
done
t_done
