#!/usr/bin/env bash
# A run stopped by its time limit (timeout run) is partial: exit 4, manifest "partial" with
# run_timeout_hit, and the report's header states the connections each signal really got
# (recorded/planned, equal to the connection records), the variant the limit never reached is
# marked "not run" in the cross-variant table. Reduced topology (single.topo), tcp only.
# timeout: 60
set -uo pipefail
source "$(dirname "$0")/../lib.sh"
t_require_harness
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/p.exp" <<'X'
topology    single
signals     tcp
workload    rr 100/1000
repetitions 300
warmup      0
model       cp=acc ps=wan
timeout     conn 2s
timeout     run 12s
variant     first    param acc.delay=10ms
variant     second   param acc.delay=12ms
X
o=$tmp/p
t0=$EPOCHSECONDS
./mpxlab run "$tmp/p.exp" --out "$o" --quiet --no-plots > "$tmp/out" 2> "$tmp/err"; rc=$?
t_check "partial_rc4 ($((EPOCHSECONDS - t0)) s)" test "$rc" = 4
t_check prints_report test "$(cat "$tmp/out")" = "$o/report.md"
t_check manifest_partial test "$(jq -c '[.status, .exit_code, .run_timeout_hit]' "$o/manifest.json" 2>/dev/null)" = '["partial",4,true]'
n=$(jq -s '[.[] | select(.variant == "first" and .signal == "tcp")] | length' "$o/connections.jsonl" 2>/dev/null)
t_check "ran_fewer_than_planned ($n of 300)" test "${n:-300}" -lt 300
# the limit counts from the start: on a very busy host it may come before the first variant
h1=$(jq -r '.variants[0].health.status' "$o/summary.json" 2>/dev/null)
if [ "$h1" = "not run" ]; then
  echo "# the time limit came before the first variant (busy host): no connection ran"
  t_check header_states_none grep -qF "no connection ran, interleaved" "$o/report.md"
  first="first not run"
else
  t_check header_states_recorded grep -qF "repetitions per signal as recorded (recorded/planned): first: \`tcp\` $n/300;" "$o/report.md"
  first="first: tcp $n/300"
fi
t_check header_status grep -q 'status \*\*partial\*\* (the time limit stopped the run: partial), exit 4' "$o/report.md"
t_check summary_counts test "$(jq -c '[.variants[] | {name, h: .health.status, n: .signals[0].n, p: .signals[0].planned}]' "$o/summary.json" 2>/dev/null)" = \
  "[{\"name\":\"first\",\"h\":\"$h1\",\"n\":$n,\"p\":300},{\"name\":\"second\",\"h\":\"not run\",\"n\":0,\"p\":300}]"
t_check problem_line grep -qF -- "- partial: the time limit (12 s) stopped the run; connections recorded per signal: $first; second not run" "$o/report.md"
t_check glance_marks_not_run grep -q '^| second (not run: time limit) |' "$o/report.md"
t_check stderr_says grep -q '^mpxlab run: status partial, exit 4' "$tmp/err"
[ "$rc" = 4 ] || tail -n 20 "$tmp/err" "$o/logs/run.log" 2>/dev/null
t_done
