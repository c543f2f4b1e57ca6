#!/usr/bin/env bash
# A reduced proxy/proxy experiment (experiments/chain.exp's format) end to end over
# hybrid-cpe.topo: the direct LAN -> server row and cpe:convert (W = 0 and 5 ms) and
# cpe:socks5 (W = 0) x 2 repetitions, plain-TCP clients on lan1/lan2, one CPE with a listener
# per row. Asserts: every row verified, the evidence table has the proxy/proxy rows with
# numbers and the who-signals / CPE columns, the model columns and the chain model table are
# there (formula ids chain:*), the rows' analyzer record is the CPE's own MPTCP SYN (option
# bytes of an MP_CAPABLE SYN), the CPE's W = 5 SYNs carried the LAN request and SOCKS5's none
# (the CPE's counters), the legs were joined, the server saw the HAG, SOCKS5 costs more than
# Convert (order, not a time window), a curl download through the CPE verified by sha256.
# timeout: 120
set -uo pipefail
source "$(dirname "$0")/../lib.sh"
t_require_harness
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/chain.exp" <<'X'
topology    hybrid-cpe
chain       cpe wait=0,5 hosts=lan1,lan2
signals     tcp cpe:convert cpe:socks5:w0
workload    rr 100/1000
repetitions 2
seed        3
sysctl      hag net.ipv4.tcp_fastopen=0x3
model       cp=dsl ps=wan lan=home1
timeout     conn 5s
X
out=$tmp/run
path=$(MPX_CHAIN_APPS_TOOLS=curl MPX_CHAIN_APPS_SIZES=1k ./mpxlab run "$tmp/chain.exp" --out "$out" --quiet --no-plots \
  --accept-unfaithful 2> "$tmp/run.err"); rc=$?
t_check run_rc test "$rc" = 0
t_check prints_report_path test "$path" = "$out/report.md"
if [ "$rc" != 0 ] || [ ! -s "$out/summary.json" ]; then
  tail -n 30 "$tmp/run.err" "$out/logs/run.log" "$out"/logs/base/cpe.log 2>/dev/null; t_done
fi
s=$out/summary.json r=$out/report.md
sig() { jq -r --arg s "$1" ".variants[0].signals[] | select(.signal == \$s) | $2" "$s"; }
rows=(cpe:convert:w0 cpe:convert:w5 cpe:socks5:w0)
t_check connections test "$(wc -l < "$out/connections.jsonl")" = 8
for x in tcp "${rows[@]}"; do
  t_check "verified_$x" test "$(sig "$x" '"\(.verified)/\(.n)"')" = 2/2
done
for x in "${rows[@]}"; do
  t_check "role_$x" test "$(sig "$x" .role)" = proxy/proxy
  # the evidence row: who signals, measured and model extra RTTs and TTFB are numbers
  line=$(awk -v s="| \`$x\` |" 'index($0, s) == 1 { print; exit }' "$r")
  t_check "evidence_row_$x" test -n "$line"
  t_check "evidence_role_$x" grep -q "proxy/proxy (W = ${x##*:w} ms)" <<< "$line"
  t_check "evidence_numbers_$x" test "$(awk -F' [|] ' '{print $5 " " $6 " " $8 " " $9}' <<< "$line" | grep -cE '^[-+]?[0-9.]+ [-+]?[0-9.]+ [0-9.]+ \[[0-9.]+–[0-9.]+\] [0-9.]+')" = 1
  t_check "model_formula_$x" grep -q '^chain:' <<< "$(sig "$x" .model.formula_id)"
  t_check "model_table_$x" grep -q "^| \`$x\` | ${x##*:w} | chain:" "$r"
  # the row's analyzer record is the CPE's MPTCP connection: an MP_CAPABLE SYN (more option
  # bytes than the LAN client's plain SYN, 20 B)
  b=$(sig "$x" .syn_opt.bytes)
  t_check "cpe_syn_options_$x" test "${b:-0}" -gt 20
  t_check "cpe_mptcp_$x" test "$(sig "$x" '.mptcp.mptcp // 0')" = 2
  t_check "legs_joined_$x" test "$(sig "$x" .legs.complete)" = 2
done
# the model's timeline per row (HAG policy cookie: cookie-less SYN data waits for the third ACK)
t_check model_ids test "$(sig cpe:convert:w0 .model.formula_id) $(sig cpe:convert:w5 .model.formula_id) $(sig cpe:socks5:w0 .model.formula_id)" = \
  "chain:third-ack chain:third-ack-data chain:app-2x"
# causality on the legs: the CPE's SYN after the LAN SYN, the HAG's SYN after the CPE's
for x in "${rows[@]}"; do
  t_check "legs_order_$x" test "$(sig "$x" '(.legs.lan_syn_to_access_syn_ms > 0) and (.legs.access_syn_to_wan_syn_ms > 0)')" = true
done
t_check evidence_columns grep -q '| who signals (W) |.*| model TTFB ms |.*| CPE.s SYN carries the LAN request |' "$r"
t_check chain_sections grep -q '^### Per-leg timeline' "$r"
# the CPE's own counters: with W = 5 every SYN carried the LAN request, SOCKS5 never does
t_check cpe_w5_syn_data test "$(sig cpe:convert:w5 '"\(.cpe.syn_with_lan_bytes)/\(.cpe.accepted)"')" = 3/3
t_check cpe_socks5_no_syn_data test "$(sig cpe:socks5:w0 .cpe.syn_with_lan_bytes)" = 0
t_check cpe_no_fallback test "$(jq '[.variants[0].signals[] | .cpe.fallback_direct // empty] | add' "$s")" = 0
# the row server saw the HAG (its wan address), never a LAN host
hag=$(awk '$1 == "hag" && $2 == "wan" {print $3}' "$out/links/base/addrs")
t_check server_sees_hag test "$(jq -r --arg h "$hag" '.variants[0].agents.server_chain.peers[$h] // 0' "$s")" -ge 6
# SOCKS5 spends two more round trips with the HAG than Convert: order, not a window
t_check socks5_slower test "$(jq -n --argjson a "$(sig cpe:socks5:w0 .ttfb_ms.p50)" --argjson b "$(sig cpe:convert:w5 .ttfb_ms.p50)" '$a > $b')" = true
# LAN applications: curl through the CPE's convert listener, sha256 checked
t_check apps_convert grep -q '^| `convert` | curl | 1/1 |' "$r"
tag=$(jq -r .namespace_tag "$out/manifest.json")
t_check no_namespaces_left test -z "$(ip netns list | awk '{print $1}' | grep "^mpx-${tag}v")"
echo "# $(jq -r -L emu/harness 'include "fidelity"; .variants[0] | fid_line' "$s" 2>/dev/null)"
t_done
