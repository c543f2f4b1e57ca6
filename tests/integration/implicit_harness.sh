#!/usr/bin/env bash
# The interception and option-helper signals in the experiment harness (mpxlab run on
# hybrid.topo): every implicit / option-space signal runs, its row of the evidence table has
# a measured extra-RTT value, the SYN option bytes the analyzer saw (24 for implicit /
# implicit-ra, 28 with MP_PREFER_PROXY, 36 with MP_CONVERT) and the "native MPTCP survives"
# verdict measured by the harness's probes: hijacked for plain implicit, end to end for
# implicit-ra and implicit-prefer.
# timeout: 300
set -uo pipefail
source "$(dirname "$0")/../lib.sh"
t_require_root
t_require_cmd ip jq nft iptables tcpdump
t_require_bin mpx-server mpx-client mpx-proxy mpx-optd mpx-analyze mpx-linkem
OUTD=$(mktemp -d /tmp/mpx-imph-$$.XXXXXX)
trap 'rm -rf "$OUTD"' EXIT INT TERM
SIGS=tcp,implicit,implicit-ra,implicit-prefer,mpconvert-opt
if ! timeout 280 "$MPX_ROOT/mpxlab" run default --reps 3 --signals "$SIGS" --out "$OUTD/r" --accept-unfaithful \
    >"$OUTD/run.log" 2>&1; then
  echo "FAIL: run: mpxlab run failed"; tail -20 "$OUTD/run.log"; exit 1
fi
S=$OUTD/r/summary.json
[ -s "$S" ] || { echo "FAIL: run: no summary.json"; tail -20 "$OUTD/run.log"; exit 1; }
sig() { jq -r --arg s "$1" ".variants[0].signals[] | select(.signal == \$s) | $2" "$S"; }
row() { awk -v s="| \`$1\` " 'index($0, s) == 1 {print; exit}' "$OUTD/r/report.md"; }
sed -n '/^| signal | mode/,/^$/p' "$OUTD/r/report.md" | head -8 | sed 's/^/# /'
for s in implicit implicit-ra implicit-prefer mpconvert-opt; do
  st=$(sig "$s" .status) ver=$(sig "$s" .verified) n=$(sig "$s" .n) x=$(sig "$s" .extra_rtt)
  t_check "$s: ran, $ver/$n verified, extra RTTs measured ($x)" test "$st" = run -a "$ver" = 3 -a "$n" = 3 -a "$x" != null
done
for p in implicit:24 implicit-ra:24 implicit-prefer:28 mpconvert-opt:36; do
  s=${p%:*} w=${p#*:} b=$(sig "${p%:*}" .syn_opt.bytes)
  t_check "$s: SYN option bytes $b (expected $w)" test "$b" = "$w"
done
nat=$(jq -c '.variants[0].native_mptcp' "$S")
echo "# native probes: $nat"
t_check "implicit hijacks native MPTCP ($(jq -c '.implicit' <<<"$nat"))" \
  test "$(jq '.implicit.end_to_end' <<<"$nat")" = 0 -a "$(jq '.implicit.intercepted' <<<"$nat")" = 3
for s in implicit-ra implicit-prefer; do
  t_check "$s: native MPTCP survives ($(jq -c --arg s "$s" '.[$s]' <<<"$nat"))" \
    test "$(jq --arg s "$s" '.[$s].end_to_end' <<<"$nat")" = 3
done
# every intercepted connection closed through the proxy: the mode's rules are switched off
# right after each connection, and its last packets (FIN, DATA_FIN) must still reach the proxy
# (not the server, which answers RST and leaves the relay open until the proxy is killed)
acc=$(jq '.variants[0].agents.proxy.accepted.transparent // -1' "$S")
t_check "the proxy drained and wrote its counters (transparent accepted $acc >= 9)" test "$acc" -ge 9
k=$(jq -c '.variants[0].host.agents_killed // []' "$S")
t_check "no agent had to be killed at the end ($k)" test "$k" = "[]"
# (an RST answering a segment of no connection has no ACK flag; the server's RST/ACKs answer
# the native probes' MP_JOIN SYNs that arrive after their connection closed, which is normal)
lk=$(tcpdump -nr "$OUTD/r/pcaps/base/wan.pcap" 'tcp[tcpflags] & (tcp-rst|tcp-ack) == tcp-rst and (dst net 198.18.1.0/24 or dst net 198.18.2.0/24)' 2>/dev/null | wc -l)
t_check "the server reset no client segment that leaked past the HAG ($lk)" test "$lk" = 0
r=$(row implicit)
case $r in *"**no**: hijacked"*) t_pass "evidence row of implicit says hijacked" ;; *) t_fail "evidence row of implicit" "$r" ;; esac
r=$(row implicit-ra)
case $r in *"yes (3/3 end to end)"*) t_pass "evidence row of implicit-ra says survives" ;; *) t_fail "evidence row of implicit-ra" "$r" ;; esac
t_done
