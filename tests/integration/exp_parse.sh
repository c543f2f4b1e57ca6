#!/usr/bin/env bash
# The .exp parser (emu/harness/exp.sh) through `mpxlab run --check`: every shipped experiment
# parses; good lines give the expected JSON; each kind of bad line is rejected with exit 2 and
# "FILE:LINE: reason" naming the line.
# timeout: 120
set -uo pipefail
source "$(dirname "$0")/../lib.sh"
t_require_cmd jq
cd "$MPX_ROOT" || exit 1
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

for e in experiments/*.exp; do
  out=$(./mpxlab run "$e" --check 2>&1); rc=$?
  t_check "shipped_$(basename "$e" .exp)" test "$rc" = 0 -a -n "$(jq -r .name <<< "$out" 2>/dev/null)"
done

cat > "$tmp/good.exp" <<'X'
# comment line
description  two words   # trailing comment
topology     hybrid
signals      tcp socks5 convert
workload     bulk-down 10MB
repetitions  7
seed         42
tfo          on
sysctl       client net.ipv4.tcp_fastopen=0x5 net.ipv4.tcp_sack=1
route        client initcwnd=30
route        hag dev dsl,lte initrwnd=40 initcwnd=20
param        dsl.delay=12ms lte.ab.loss=1%
fault        1500ms dsl down
fault        3s dsl up
timeout      conn 5s
model        cp=dsl ps=wan
variant      slow   param dsl.delay=30ms ; signals tcp convert ; target 6
variant      cwnd   route all to default initcwnd=12 ; route server to fd00::/64 initrwnd=5
X
j=$(./mpxlab run "$tmp/good.exp" --check 2>&1); rc=$?
t_check good_rc test "$rc" = 0
t_check good_fields test "$(jq -c '[(.topology | endswith("topologies/hybrid.topo")), .signals, .workload, .repetitions, .seed, .tfo, .sysctl, .param, .fault, .timeouts.conn_s, .description]' <<< "$j")" = \
  '[true,["tcp","socks5","convert"],"bulk-down 10MB",7,42,"on",["client net.ipv4.tcp_fastopen=0x5","client net.ipv4.tcp_sack=1"],["dsl.delay=12ms","lte.ab.loss=1%"],["1500ms dsl down","3s dsl up"],5,"two words"]'
t_check good_variant test "$(jq -r '.variants.slow' <<< "$j")" = "param dsl.delay=30ms ; signals tcp convert ; target 6"
t_check good_route test "$(jq -c '[.route, .variants.cwnd]' <<< "$j")" = \
  '[["client initcwnd=30","hag dev dsl,lte initrwnd=40 initcwnd=20"],"route all to default initcwnd=12 ; route server to fd00::/64 initrwnd=5"]'
# command-line overrides win over the file
j=$(./mpxlab run "$tmp/good.exp" --check --reps 3 --seed 9 --signals tcp,convert 2>&1)
t_check overrides test "$(jq -c '[.repetitions, .seed, .signals]' <<< "$j")" = '[3,9,["tcp","convert"]]'

# bad lines: LINE|TEXT|expected reason fragment
bad=(
  "unknown directive|frobnicate 1|unknown directive 'frobnicate'"
  "unknown signal|signals tcp smoke-signal|unknown signal 'smoke-signal'"
  "workload form|workload rr 100|workload rr wants REQ/RESP"
  "workload kind|workload stream 1MB|unknown workload 'stream'"
  "reps zero|repetitions 0|repetitions wants an integer"
  "seed text|seed abc|seed wants a non-negative integer"
  "mptcp value|mptcp maybe|mptcp wants on|off"
  "target value|target 5|target wants 4|6"
  "sysctl key|sysctl client kernel.panic=1|is not net.KEY=VALUE"
  "route empty|route client|route wants NODE [all"
  "route attr|route client mtu=1400|route: 'mtu=1400' is not initcwnd=N or initrwnd=N"
  "route zero|route client initcwnd=0|is not initcwnd=N or initrwnd=N (N = 1..1024"
  "route big|route client initrwnd=1025|is not initcwnd=N or initrwnd=N (N = 1..1024"
  "route twice|route client initcwnd=3 initcwnd=4|route: initcwnd given twice"
  "route no attr|route client dev lte|route: no attribute"
  "route node|route nosuch initcwnd=3|route: no node 'nosuch' in hybrid.topo"
  "route dev|route client dev wan initcwnd=3|route: client has no interface 'wan' in hybrid.topo (its interfaces: dsl lte)"
  "route dev all|route all dev nosuch initcwnd=3|route: all has no interface 'nosuch'"
  "route prefix|route client to 1.2.3.400/8 initcwnd=3|route: 'to' wants default or an IPv4/IPv6 prefix"
  "variant route|variant v1 route client dev wan initcwnd=3|route: client has no interface 'wan'"
  "param unit|param dsl.delay=10|needs a time unit"
  "param link|param nosuch.delay=1ms|no link or node named 'nosuch'"
  "param key|param dsl.ab.dealy=1ms|unknown link parameter 'dealy'"
  "fault time|fault 2x dsl down|fault: bad time '2x'"
  "fault link|fault 1s nosuch down|no link 'nosuch'"
  "fault action|fault 1s dsl explode|fault: unknown action 'explode'"
  "timeout step|timeout coffee 5s|timeout: unknown step 'coffee'"
  "middlebox none in topo|middlebox strip-mptcp|has no node with role middlebox"
  "variant topology|variant v1 topology other.topo|'topology' cannot be set per variant"
  "variant twice|variant v1 target 6\nvariant v1 target 4|variant 'v1' defined twice"
  "duplicate|seed 1\nseed 2|seed given twice (first at line 3)"
  "model link|model cp=dsl+nosuch|no link 'nosuch'"
)
for b in "${bad[@]}"; do
  IFS="|" read -r name _ want <<< "$b"
  [[ $b == *"|mptcp wants on|off" ]] && want="mptcp wants on|off"
  [[ $b == *"|target wants 4|6" ]] && want="target wants 4|6"
  printf 'topology hybrid\nsignals tcp\n%b\n' "${b#*|}" | sed 's/|.*$//' > "$tmp/bad.exp"
  err=$(./mpxlab run "$tmp/bad.exp" --check 2>&1 >/dev/null); rc=$?
  line=$(grep -n . "$tmp/bad.exp" | tail -1 | cut -d: -f1)
  if [ "$rc" = 2 ] && [[ $err == "$tmp/bad.exp:$line: "* ]] && [[ $err == *"$want"* ]]; then t_pass "bad_${name// /_}"
  else t_fail "bad_${name// /_}" "rc=$rc err='$err' (want line $line, '$want')"; fi
done
# missing topology / signals, unreadable file
printf 'signals tcp\n' > "$tmp/nt.exp"
err=$(./mpxlab run "$tmp/nt.exp" --check 2>&1 >/dev/null); rc=$?
t_check missing_topology test "$rc" = 2 -a -n "$(grep "no 'topology' line" <<< "$err")"
err=$(./mpxlab run "$tmp/none.exp" --check 2>&1 >/dev/null); rc=$?
t_check unreadable test "$rc" = 2
# a relative topology name: the experiment's own (beside it, then topologies/) before a file of
# that name in the current directory; an absolute path as given
mkdir -p "$tmp/cwd" && printf 'node stray\n' > "$tmp/cwd/hybrid.topo"
printf 'topology hybrid.topo\nsignals tcp\n' > "$tmp/rel.exp"
t=$(cd "$tmp/cwd" && "$MPX_ROOT/mpxlab" run "$tmp/rel.exp" --check 2>/dev/null | jq -r .topology)
t_check relative_topology_not_cwd test "$t" = "$(readlink -f "$MPX_ROOT/topologies/hybrid.topo")"
cp "$MPX_ROOT/topologies/hybrid.topo" "$tmp/abs.topo" && printf 'topology %s\nsignals tcp\n' "$tmp/abs.topo" > "$tmp/abs.exp"
t=$(./mpxlab run "$tmp/abs.exp" --check 2>/dev/null | jq -r .topology)
t_check absolute_topology test "$t" = "$(readlink -f "$tmp/abs.topo")"
t_done
