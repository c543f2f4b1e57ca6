#!/usr/bin/env bash
# The harness reports only success it saw, on a reduced topology (single.topo, tcp only):
# 1. a warm-up connection that fails (the WAN link loses every frame) fails the variant: exit 3,
#    manifest "failed", the client's error on stderr and in the report's problems;
# 2. the same path with no warm-up: every measured connection fails, so the signal has 0
#    verified connections: exit 6, said in the findings and on stderr;
# 3. a link emulator killed (SIGKILL, by its PID from the topology state) mid-run ends the
#    variant: exit 3, manifest "failed", the dead emulator named, no step after the check.
# timeout: 120
set -uo pipefail
source "$(dirname "$0")/../lib.sh"
t_require_harness
tmp=$(mktemp -d)
run_pid=''
# shellcheck disable=SC2317  # the trap
cleanup() { [ -n "$run_pid" ] && kill -TERM "$run_pid" 2>/dev/null && wait "$run_pid"; rm -rf "$tmp"; }
trap cleanup EXIT
mkexp() { # FILE WARMUP REPS EXTRA-LINE
  printf 'topology single\nsignals tcp\nworkload rr 100/1000\nrepetitions %s\nwarmup %s\nmodel cp=acc ps=wan\ntimeout conn 1s\n%s\n' \
    "$3" "$2" "$4" > "$1"
}
dump() { tail -n 15 "$1.err" "$1/logs/run.log" 2>/dev/null; }
status() { jq -r .status "$1/manifest.json" 2>/dev/null; }

# 1. failed warm-up
mkexp "$tmp/w.exp" 1ms 3 'param wan.loss=100%'
./mpxlab run "$tmp/w.exp" --out "$tmp/w" --quiet --no-plots > /dev/null 2> "$tmp/w.err"; rc=$?
t_check warmup_rc3 test "$rc" = 3
t_check warmup_manifest_failed test "$(status "$tmp/w")" = failed
t_check warmup_manifest_code test "$(jq .exit_code "$tmp/w/manifest.json" 2>/dev/null)" = 3
t_check warmup_stderr grep -q 'variant base FAILED: warm-up connection failed: tcp (mpx-client exit' "$tmp/w.err"
t_check warmup_report_problem grep -q '^- variant `base` FAILED: warm-up connection failed' "$tmp/w/report.md"
t_check warmup_no_measured_step test ! -s "$tmp/w/steps.csv"
t_check warmup_health test "$(jq -r '.variants[0].health.status' "$tmp/w/summary.json" 2>/dev/null)" = failed
[ "$rc" = 3 ] || dump "$tmp/w"

# 2. no warm-up, every measured connection fails: 0 verified
mkexp "$tmp/z.exp" 0 3 'param wan.loss=100%'
./mpxlab run "$tmp/z.exp" --out "$tmp/z" --quiet --no-plots > /dev/null 2> "$tmp/z.err"; rc=$?
t_check noverified_rc6 test "$rc" = 6
t_check noverified_manifest test "$(status "$tmp/z")/$(jq .exit_code "$tmp/z/manifest.json" 2>/dev/null)" = done/6
t_check noverified_findings grep -q '^- no verified connection: `tcp` in variant `base` (3 run, 3 failed' "$tmp/z/report.md"
t_check noverified_stderr grep -q 'no verified connection: `tcp`' "$tmp/z.err"
t_check noverified_summary test "$(jq -c '.problems.no_verified | map(.signal)' "$tmp/z/summary.json" 2>/dev/null)" = '["tcp"]'
[ "$rc" = 6 ] || dump "$tmp/z"

# 3. the link emulator of "acc" killed while connections run
mkexp "$tmp/k.exp" 0 200 ''
./mpxlab run "$tmp/k.exp" --out "$tmp/k" --quiet --no-plots > /dev/null 2> "$tmp/k.err" &
run_pid=$!
for ((i = 0; i < 600; i++)); do [ -s "$tmp/k/steps.csv" ] && break; sleep 0.05; done
tag=$(jq -r .namespace_tag "$tmp/k/manifest.json" 2>/dev/null)
lpid=$(awk '$1 == "acc" {print $6}' "${MPX_TOPO_STATE_BASE:-/run/mpxlab}/${tag}v1/links" 2>/dev/null)
t_check kill_found_emulator test -n "$lpid"
grep -q mpx-linkem "/proc/$lpid/cmdline" 2>/dev/null && kill -KILL "$lpid"
n_at_kill=$(grep -c . "$tmp/k/steps.csv")
wait "$run_pid"; rc=$?; run_pid=''
t_check kill_rc3 test "$rc" = 3
t_check kill_manifest_failed test "$(status "$tmp/k")" = failed
t_check kill_stderr grep -q "variant base FAILED: link emulator acc (PID $lpid) died during the measured connections" "$tmp/k.err"
# the check runs after every step: at most the step that was running when the emulator died
# (and the one it noticed it after) follow the kill
n=$(grep -c . "$tmp/k/steps.csv")
t_check "kill_stopped_at_once ($n_at_kill steps at the kill, $n in all)" test "$n" -le $((n_at_kill + 2))
t_check kill_report_failed grep -q '^## Evidence table — \*\*FAILED\*\*' "$tmp/k/report.md"
t_check kill_no_namespaces_left test -z "$(ip netns list | awk '{print $1}' | grep "^mpx-${tag}v")"
[ "$rc" = 3 ] || dump "$tmp/k"
t_done
