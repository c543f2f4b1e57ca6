#!/usr/bin/env bash
# mpxlab sweep --engine parallel -S : (GNU parallel on this host, one shard at a time) of a
# small experiment (2 variants x 4 repetitions, one shard per variant): both shards complete
# (parallel's joblog: both on ":", with the exits the shards recorded), the merge holds every
# connection. Then merge itself:
# it refuses a shard from another commit (naming the field and both shards), and after one
# shard is rerun to fail on purpose (the run's MPX_RUN_FAIL_AFTER hook) it merges the other,
# names the failed one in the report and the manifest, exits 4, and sweep --status counts it.
# timeout: 150
set -uo pipefail
source "$(dirname "$0")/../lib.sh"
t_require_harness
if ! command -v parallel > /dev/null; then
  # an installable package (Debian 12's registry, as root) is not a missing machine feature:
  # when its install fails, that is a failure, with what apt said
  out=$(tests/deps.sh --with sweep 2>&1)
  command -v parallel > /dev/null || { echo "FAIL: all: GNU parallel did not install (tests/deps.sh --with sweep): $(tail -n 3 <<< "$out" | tr '\n' ' ')"; exit 1; }
fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/tiny.exp" <<'X'
topology    hybrid
signals     tcp convert
workload    rr 100/1000
repetitions 4
seed        9
warmup      0
timeout     conn 10s
variant     near   param dsl.delay=5ms
variant     far    param dsl.delay=10ms
X
sw=$tmp/sw
head0=$(git rev-parse HEAD 2> /dev/null)
path=$(./mpxlab sweep "$tmp/tiny.exp" --shards 2 --engine parallel -S : --out "$sw" --no-plots 2> "$tmp/sweep.err"); rc=$?
t_check sweep_rc test "$rc" = 0
# shards run at different commits are refused by design: say so when others committed meanwhile
[ "$head0" = "$(git rev-parse HEAD 2> /dev/null)" ] || echo "# HEAD moved during the sweep ($head0 -> $(git rev-parse HEAD)): merge refuses shards of different commits"
t_check sweep_prints_report test "$path" = "$sw/merged/report.md"
if [ ! -s "$sw/merged/summary.json" ]; then tail -n 20 "$tmp/sweep.err" "$sw"/logs/*.log 2>/dev/null; t_done; fi
# joblog: Seq Host Starttime JobRuntime Send Receive Exitval Signal Command
t_check joblog_two_jobs test "$(awk 'NR > 1 && $2 == ":"' "$sw/parallel.joblog" | wc -l)" = 2
# the exit parallel saw is the one the shard recorded (0, or 5: not faithful on a busy host)
t_check joblog_exit test "$(awk 'NR > 1 {print $NF, $7}' "$sw/parallel.joblog" | sort)" = "$(for i in 001 002; do echo "$i $(jq .rc "$sw/state/$i.json")"; done)"
t_check shards_whole_variants test "$(jq -r '[.shards[] | "\(.variants | join(",")):\(.reps)"] | join(" ")' "$sw/sweep.json")" = "near:1-4 far:1-4"
# every connection of both shards, none lost or doubled (their outcome is the run's business)
t_check merged_connections test "$(grep -c . "$sw/merged/connections.jsonl")" = 16
t_check merged_ok test "$(jq -s 'map(select(.ok == true)) | length' "$sw/merged/connections.jsonl")" = "$(cat "$sw"/shards/00[12]/connections.jsonl | jq -s 'map(select(.ok == true)) | length')"
t_check merged_status test "$(jq -r .status "$sw/merged/manifest.json")" = "done"

# another commit: refused, and the message says which field and which shards
cp -a "$sw/shards/002" "$tmp/002"
jq '.git.commit = "0000000000000000000000000000000000000000"' "$sw/shards/002/manifest.json" > "$tmp/002/manifest.json"
./mpxlab merge "$sw/shards/001" "$tmp/002" --out "$tmp/m-commit" > /dev/null 2> "$tmp/m-commit.err"; rc=$?
t_check refuse_commit_rc test "$rc" = 3
t_check refuse_commit_says grep -q "refusing: commit differs: shard 001 .* shard 002 ($tmp/002) has 0000000000" "$tmp/m-commit.err"
t_check refuse_commit_no_report test ! -e "$tmp/m-commit/report.md"
# the same folder twice overlaps
./mpxlab merge "$sw/shards/001" "$sw/shards/001" --out "$tmp/m-dup" > /dev/null 2> "$tmp/m-dup.err"; rc=$?
t_check refuse_overlap test "$rc" = 3
t_check refuse_overlap_says grep -q "shards overlap" "$tmp/m-dup.err"

# shard 002 rerun alone, failing after its first connection: the merge names it
MPX_RUN_FAIL_AFTER=1 emu/sweep/shard.sh "$sw" 2 > /dev/null 2>&1; rc=$?
t_check failed_shard_rc test "$rc" = 1
t_check failed_state test "$(jq -r '.rc' "$sw/state/002.json")" = 1
./mpxlab merge "$sw" --out "$tmp/m-fail" --no-plots > /dev/null 2> "$tmp/m-fail.err"; rc=$?
t_check merge_incomplete_rc test "$rc" = 4
t_check merge_incomplete_says grep -q "not merged: 002 (failed)" "$tmp/m-fail.err"
t_check failed_listed test "$(jq -c '[.status, .shards_failed, (.shards[] | select(.id == "002") | [.state, .exit_status])]' "$tmp/m-fail/manifest.json")" = '["partial",["002"],["failed",1]]'
t_check failed_in_report grep -q '^> \*\*Incomplete: shard 002 (variant far, repetitions 1-4) failed, exit 1' "$tmp/m-fail/report.md"
t_check failed_in_table grep -q '^| 002 | far | 1-4 | \*\*failed: not in this report\*\*' "$tmp/m-fail/report.md"
t_check merged_rest test "$(grep -c . "$tmp/m-fail/connections.jsonl")" = 8
st=$(./mpxlab sweep --status "$sw")
t_check status_failed grep -q '^done 1, running 0, failed 1, pending 0 of 2' <<< "$st"
t_done
