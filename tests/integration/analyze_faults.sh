#!/usr/bin/env bash
# mpx-analyze on the regression captures of the faults found against outside decoders
# (tests/data/pcap/hb-*, built by mpx-mkpcap): MPTCP v0 keys and DSS checksums on every
# subflow, violation counts past the stored details, option areas cut by the snaplen, captures
# that end mid-packet (exit code precedence), jumbograms, pcapng with mixed link types, the
# Info-only Convert message, and --help listing every option. Exact values throughout.
# timeout: 60
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
t_require_cmd jq sha1sum
t_require_bin mpx-analyze mpx-mkpcap
A=$MPX_ROOT/bin/mpx-analyze
D=$MPX_ROOT/tests/data/pcap
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT INT TERM

# mpx_fault_case NAME EXPECTED_RC JQ_FILTER PCAP [ARGS...]: the filter sees the JSON lines
# slurped into an array (.[0] first connection, .[-1] summary)
mpx_fault_case() {
  local name=$1 want_rc=$2 filter=$3 pc=$4 rc=0; shift 4
  "$A" --json "$@" "$pc" > "$W/$name.json" 2> "$W/$name.err" || rc=$?
  if [ "$rc" != "$want_rc" ]; then
    t_fail "$name" "exit $rc, want $want_rc: $(head -c 600 "$W/$name.json") $(cat "$W/$name.err")"; return
  fi
  if jq -e -s "$filter" "$W/$name.json" > /dev/null; then t_pass "$name"
  else t_fail "$name" "filter [$filter] false on: $(jq -c -s '.' "$W/$name.json" | head -c 1500)"; fi
}

# 1. MPTCP v0 (RFC 6824): SHA-1 keys; the 32-bit DSNs of every mapping widened with the v0
# IDSN; the MP_JOIN subflow's mappings checked and counted with the initial subflow's keys
mpx_fault_case v0-csum 0 '.[0] | .mpc.version==0 and .mptcp=="mptcp" and .subflows==2
  and .dss_csum=={"ok":2,"bad":0,"unchecked":0} and .dss_maps==2
  and .joins[0].hmac=="ok" and .joins[0].dss_maps==2 and .joins[0].dss_csum=={"ok":2,"bad":0,"unchecked":0}
  and .dss_csum_all=={"ok":4,"bad":0,"unchecked":0} and .violations==[]' "$D/hb-v0-csum.pcap"
# the v0 token is the top 32 bits of SHA-1(key), computed here with sha1sum
tok=$(printf '\xd1\xd2\xd3\xd4\xd5\xd6\xd7\xd8' | sha1sum | cut -c1-8)
ctok=$(printf '\xc1\xc2\xc3\xc4\xc5\xc6\xc7\xc8' | sha1sum | cut -c1-8)
t_check "v0-token-sha1 ($tok)" test "$(jq -r -s '.[0].token' "$W/v0-csum.json")" = "$tok"
t_check "v0-client-token-sha1 ($ctok)" test "$(jq -r -s '.[0].client_token' "$W/v0-csum.json")" = "$ctok"
"$A" --report "$D/hb-v0-csum.pcap" > "$W/v0.md" || true
t_check v0-report-all grep -q '^| DSS mappings | 4 (all subflows); checksums: 4 right, 0 wrong, 0 not checkable |$' "$W/v0.md"
t_check v0-report-join grep -q 'HMAC verified; 2 DSS mapping(s), checksums 2 right, 0 wrong, 0 not checkable.$' "$W/v0.md"
# one data byte of the join's last mapping flipped: found, on the join subflow
cp "$D/hb-v0-csum.pcap" "$W/v0-flip.pcap"
off=$(grep -obUa 'v0 body over the join' "$W/v0-flip.pcap" | head -1 | cut -d: -f1)
printf 'V' | dd of="$W/v0-flip.pcap" bs=1 seek="$off" conv=notrunc status=none
mpx_fault_case v0-csum-flipped 1 '.[0] | .joins[0].dss_csum=={"ok":1,"bad":1,"unchecked":0}
  and ([.violations[] | [.rule, .pkt, (.pcap != null)]] == [["DSS-CSUM", 10, true]]) and (.violations[0].msg | test("RFC 6824 3.3.1"))' "$W/v0-flip.pcap"

# 2. every violation counted, details stored up to 4096 per connection
mpx_fault_case many-violations 1 '(.[0] | .violations_total==9500 and .violations_not_stored==5404
  and (.violations|length)==4096) and (.[-1] | .violations==9500 and .violations_not_stored==5404
  and .by_rule=={"TCPOPT-MSS-NOT-SYN":5000,"TCPOPT-DUP":4500})' "$D/hb-many-violations.pcap"
"$A" --report "$D/hb-many-violations.pcap" > "$W/many.md" || true
t_check many-violations-report grep -q '^5404 more not stored (details are kept for the first 4096 violations of each connection): TCPOPT-MSS-NOT-SYN' "$W/many.md"
t_check many-violations-verdict grep -q '^\*\*Verdict: 9500 violation(s)\*\* in 1 of 1 connection(s)' "$W/many.md"

# 3. snaplen-cut option areas: the captured bytes are judged, the cut is reported apart
mpx_fault_case opt-cut 1 '.[0] | ([.violations[] | [.rule, .pkt]] == [["MPTCP-LEN-SHORT",5],["TCPOPT-OVERRUN",6]])
  and .opt_cut=={"pkts":3,"first_pkt":5,"cut_at":5,"area":16}
  and (.violations[0].msg | test("capture cut at 5 of 16 option bytes"))' "$D/hb-opt-cut.pcap"
cut=$("$A" --packets "$D/hb-opt-cut.pcap" | jq -c -s '[.[] | select(.opt_cut_at != null) | [.pkt, .opt_cut_at]]' || true)
t_check "opt-cut-packets ($cut)" test "$cut" = '[[5,5],[6,6],[7,6]]'
"$A" --report "$D/hb-opt-cut.pcap" > "$W/cut.md" || true
t_check opt-cut-report grep -q '| option areas cut by the snaplen | 3 (first: packet 5, cut at 5 of 16 bytes); judged up to the cut |' "$W/cut.md"

# 4. a capture that ends mid-packet: the analysis of what was read, the read error in JSON and
# report, exit 2 (input error) or 3 (input error and violations)
mpx_fault_case cut-end-clean 2 '(.[0] | .signal=="convert" and .pkts==7 and .violations==[])
  and (.[-1].read_errors | length==1 and .[0].frames_read==7 and (.[0].error | test("truncated dump file")))' "$D/incomplete/hb-convert-cut-end.pcap"
mpx_fault_case cut-end-violations 3 '(.[-1] | .violations==2 and (.read_errors|length)==1)' "$D/incomplete/hb-overrun-cut-end.pcap"
rc=0; "$A" --report "$D/incomplete/hb-convert-cut-end.pcap" > "$W/cut-end.md" 2>/dev/null || rc=$?
t_check "cut-end-report-exit ($rc)" test "$rc" = 2
t_check cut-end-report-verdict grep -q '^\*\*Verdict: incomplete.\*\*' "$W/cut-end.md"
t_check cut-end-report-not-clean bash -c "! grep -q 'every check passed' '$W/cut-end.md'"
t_check cut-end-report-input grep -q 'read error, the rest of the file is not analysed.*truncated dump file' "$W/cut-end.md"
# the cut captures live in incomplete/ (every other test reads the complete ones); they are
# what mkpcap builds today
for f in "$D"/incomplete/hb-*.pcap; do
  sc=$(basename "$f" .pcap); sc=${sc#hb-}
  "$MPX_ROOT/bin/mpx-mkpcap" "$sc" "$W/re-$sc.pcap"
  t_check "golden-$sc-bytes" cmp -s "$f" "$W/re-$sc.pcap"
done
# the complete capture is unaffected
mpx_fault_case complete-read 0 '.[-1].read_errors==[]' "$D/hb-convert.pcap"

# 5. RFC 2675 jumbogram and IPv4 BIG TCP: decoded, not skipped as malformed
for j in jumbo-v6 bigtcp-v4; do
  mpx_fault_case "$j" 0 '(.[0] | .bytes.c2s==70000 and .pkts==6 and .truncated==1 and .violations==[])
    and (.[-1].skipped == {"not_ip":0,"not_tcp":0,"fragment":0,"trunc":0,"bad":0})' "$D/hb-$j.pcap"
done

# 6. pcapng whose interfaces differ in link type (Ethernet, raw IP): each packet read with its
# own interface's type; the analysis equals the single-link capture of the same exchange
mpx_fault_case multilink 0 '(.[0] | .subflows==2 and .joins[0].hmac=="ok") and .[-1].frames==9' "$D/hb-join-multilink.pcapng"
strip='del(.pcap) | if .joins then .joins |= map(del(.pcap)) else . end'
a=$("$A" --json "$D/hb-join-multilink.pcapng" | jq -c "$strip" || true)
b=$("$A" --json "$D/hb-join.pcap" | jq -c "$strip" || true)
t_check multilink-same-as-single test "$a" = "$b"

# 7. an Info-only Convert message is valid (RFC 8803 6.2.3)
mpx_fault_case convert-info 0 '.[0] | .signal=="convert" and .signal_valid and .violations==[]
  and (.signal_detail | test("Info-only")) and (.reply | test("Supported TCP Extensions TLV valid"))' "$D/hb-convert-info.pcap"

# 8. --help names every long option of the option table
"$A" --help > "$W/help.txt"
mapfile -t opts < <(sed -n '/static const struct option lo\[\]/,/};/p' "$MPX_ROOT/pcap-analysis/main.c" | grep -o '{ "[a-z-]*"' | cut -d'"' -f2)
t_check "options-found (${#opts[@]})" test "${#opts[@]}" -ge 8
for o in "${opts[@]}"; do t_check "help-lists--$o" grep -q -- "--$o\b" "$W/help.txt"; done
t_done
