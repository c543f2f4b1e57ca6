#!/usr/bin/env bash
# The .topo parser: every shipped topology parses; each kind of bad line is rejected with
# FILE:LINE and its reason (exit 2 through `mpxlab topo check`); overrides and schedules
# resolve as documented; per-direction seeds are deterministic. No root needed.
# timeout: 60
# shellcheck disable=SC2015,SC2086,SC2119  # "check && pass || fail" lines; PID lists split on purpose
set -uo pipefail
source "$(dirname "$0")/../lib.sh"
source "$MPX_ROOT/emu/lib/topo.sh"
TMP=$(mktemp -d /tmp/mpx-emu-parse.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

for f in "$MPX_ROOT"/topologies/*.topo; do
  out=$("$MPX_ROOT/mpxlab" topo check "$f" 2>&1) && t_pass "parses_$(basename "$f" .topo)" ||
    t_fail "parses_$(basename "$f" .topo)" "$out"
done

# bad files: "name|file text|expected line|expected reason fragment"
N='node a host\nnode b host\n'
cases=(
  "role|node a hostx|1|unknown role 'hostx'"
  "node_twice|node a host\nnode a router|2|node 'a' defined twice (first at line 1)"
  "node_name|node A host|1|bad node name 'A'"
  "unknown_node|node a host\nlink l a:x b:y|2|unknown node 'b'"
  "link_end|${N}link l a-x b:y|3|link end 'a-x' is not NODE:IFACE"
  "self_link|${N}link l a:x a:y|3|connects node 'a' to itself"
  "iface_twice|${N}link l a:x b:y\nlink m a:x b:z|4|node 'a' already has an interface 'x'"
  "link_twice|${N}link l a:x b:y\nlink l a:p b:q|4|link 'l' defined twice"
  "delay_unit|${N}link l a:x b:y delay=10|3|delay '10' needs a time unit"
  "rate_unit|${N}link l a:x b:y rate=20mb|3|rate '20mb' needs a unit"
  "loss_unit|${N}link l a:x b:y loss=0.1|3|loss '0.1' needs a % unit"
  "loss_range|${N}link l a:x b:y loss=101%|3|above 100%"
  "queue_unit|${N}link l a:x b:y queue=100|3|queue '100' needs a unit"
  "three_values|${N}link l a:x b:y rate=1mbit/2mbit/3mbit|3|more than two values"
  "unknown_key|${N}link l a:x b:y colour=red|3|unknown link parameter 'colour'"
  "not_kv|${N}link l a:x b:y fast|3|'fast' is not KEY=VALUE"
  "ge_form|${N}link l a:x b:y ge=1%/2%|3|ge '1%/2%' wants 4 values"
  "trace_missing|${N}link l a:x b:y trace=nope.trace|3|trace file 'nope.trace' not found"
  "reorder|${N}link l a:x b:y reorder=2|3|reorder '2' must be 0 or 1"
  "sched_link|${N}link l a:x b:y\nat 1s down m|4|unknown link 'm'"
  "sched_time|${N}link l a:x b:y\nat 1x down l|4|bad time '1x'"
  "sched_action|${N}link l a:x b:y\nat 1s explode l|4|unknown link 'explode'"
  "sched_seed|${N}link l a:x b:y\nat 1s set l seed=3|4|seed cannot change"
  "directive|${N}wire a b|3|unknown directive 'wire'"
  "mb_role|node a host strip-mptcp|1|needs role middlebox"
  "strip_opt|node m middlebox strip-opt=tfo|1|strip-opt wants option kinds"
  "snat_if|node m middlebox snat=zz\nnode b host\nlink l m:x b:y|1|snat: node 'm' has no interface 'zz'"
  "snat_form|node m middlebox snat=2x|1|snat wants snat"
  "subflows_if|node a host subflows=lte\nnode b host\nlink l a:x b:y|1|subflows: node 'a' has no interface 'lte'"
  "v6only|node a host ipv6only\nnode b host\nlink l a:x b:y|3|one end is ipv6only"
  "node_opt|node a host turbo|1|unknown node option 'turbo'"
  "tfo|node a host tfo=fast|1|tfo wants a bitmask"
  "sysctl|node a host sysctl.kernel.panic=1|1|only net.* keys"
  "empty|# nothing|1|no nodes defined"
)
for c in "${cases[@]}"; do
  IFS='|' read -r name text line why <<< "$c"
  printf '%b\n' "$text" > "$TMP/$name.topo"
  out=$("$MPX_ROOT/mpxlab" topo check "$TMP/$name.topo" 2>&1); rc=$?
  want="$TMP/$name.topo:$line: "
  if [ $rc = 2 ] && [[ $out == "$want"*"$why"* ]] && [ "$(wc -l <<< "$out")" = 1 ]; then t_pass "reject_$name"
  else t_fail "reject_$name" "rc=$rc out='$out' (want '$want...$why')"; fi
done

# overrides (harness forms) and the schedule resolve as documented
out=$("$MPX_ROOT/mpxlab" topo check "$MPX_ROOT/topologies/hybrid.topo" --param dsl.jitter=0ms \
  --param lte.ab.loss=1% --param dsl.rate=8mbit/1mbit --param wan.both.delay=7ms --param client.tfo=0x7 \
  --param all.sysctl.net.ipv4.tcp_ecn=1 --at "1s down dsl" --at "2s up dsl" --at "1500ms set lte delay=40ms/30ms" \
  --at "3s wan ab rate=100mbit" 2>&1)
want_lines=(
  "link dsl hag:dsl client:dsl ab[rate=8mbit delay=10ms jitter=0ms queue=100p] ba[rate=1mbit delay=10ms jitter=0ms queue=100p]"
  "link lte hag:lte client:lte ab[rate=30mbit delay=25ms jitter=5ms loss=1% queue=200p] ba[rate=10mbit delay=25ms jitter=5ms loss=0.1% queue=200p]"
  "link wan hag:wan server:wan ab[rate=1gbit delay=7ms queue=1000p] ba[rate=1gbit delay=7ms queue=1000p]"
  "node client host sysctl.net.ipv4.tcp_ecn=1 tfo=0x7"
  "at 1000000 dsl down"
  "at 2000000 dsl up"
  "at 1500000 lte ab delay=40ms"
  "at 1500000 lte ba delay=30ms"
  "at 3000000 wan ab rate=100mbit"
)
bad=''
for w in "${want_lines[@]}"; do grep -qxF "$w" <<< "$out" || bad+="missing '$w'; "; done
[ -z "$bad" ] && t_pass overrides_and_schedule || t_fail overrides_and_schedule "$bad got: $out"
for p in "nosuch.delay=1ms" "dsl.delay=10" "dsl.up.delay=1ms" "client.bogus=1" "hag.strip-mptcp=1"; do
  out=$("$MPX_ROOT/mpxlab" topo check "$MPX_ROOT/topologies/hybrid.topo" --param "$p" 2>&1); rc=$?
  [ $rc = 2 ] && [[ $out == "--param $p: "* ]] && t_pass "reject_param_$p" || t_fail "reject_param_$p" "rc=$rc $out"
done

# linkem schedule file of a link: sorted by time, times in us
mpx_topofile_parse "$MPX_ROOT/topologies/hybrid.topo"
mpx_topofile_at "2s up dsl"; mpx_topofile_at "1s down dsl"; mpx_topofile_at "1500ms set dsl delay=30ms"
got=$(mpx_topofile_schedule dsl | tr '\n' ';')
[ "$got" = "1000000us down;1500000us ab delay=30ms;1500000us ba delay=30ms;2000000us up;" ] &&
  t_pass schedule_file || t_fail schedule_file "$got"

# seeds: deterministic, per direction and per link, and follow the run seed
s1=$(mpx_topo_dir_seed 1 dsl ab) s1b=$(mpx_topo_dir_seed 1 dsl ab) s2=$(mpx_topo_dir_seed 1 dsl ba)
s3=$(mpx_topo_dir_seed 2 dsl ab) s4=$(mpx_topo_dir_seed 1 lte ab)
[ "$s1" = "$s1b" ] && [ "$s1" != "$s2" ] && [ "$s1" != "$s3" ] && [ "$s1" != "$s4" ] && [[ $s1 =~ ^[0-9]+$ ]] &&
  t_pass "seeds_deterministic ($s1 $s2 $s3 $s4)" || t_fail seeds_deterministic "$s1 $s1b $s2 $s3 $s4"

# speed: pure bash, no external command per line
t0=$EPOCHREALTIME
for _ in $(seq 20); do mpx_topofile_parse "$MPX_ROOT/topologies/three-link.topo" || break; done
ms=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.1f", (b-a)*1000/20}')
awk -v m="$ms" 'BEGIN{exit !(m < 200)}' && t_pass "parse_fast (${ms} ms per file)" || t_fail parse_fast "${ms} ms per file"
t_done
