#!/usr/bin/env bash
# mpxlab test runner: static checks (tests/lint.sh), unit tests (cmocka, SAN build), fuzz
# targets (short), integration scripts.
# Every result is one line "PASS: id", "FAIL: id: why", "SKIP: id: why" (a machine feature is
# missing) or "KNOWN: id: why" (a documented kernel bug was hit: reported, named in the last
# lines, not a failure of ours); the last line is "N passed, N failed, N skipped, N known
# kernel bugs hit"; the exit code is 1 when anything failed.
#   tests/run.sh [--filter REGEX] [--fuzz-seconds N]
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
filter=. fuzz_s=${FUZZ_SECONDS:-8}
while [ $# -gt 0 ]; do
  case $1 in
    --filter) filter=$2; shift 2 ;;
    --fuzz-seconds) fuzz_s=$2; shift 2 ;;
    *) echo "usage: tests/run.sh [--filter REGEX] [--fuzz-seconds N]" >&2; exit 2 ;;
  esac
done
logdir=build/test-logs; mkdir -p "$logdir"
# one runner at a time on a machine: the namespace bookkeeping below assumes it (children get
# fd 9 closed, so a process a test leaves behind cannot hold the lock)
exec 9> /run/mpxlab-tests.lock
flock -n 9 || { echo "waiting for another tests/run.sh on this machine..."; flock 9; }
pass=0 fail=0 skip=0 known=0 known_ids=()
rm -f "$logdir/times.txt"
t0=$(date +%s)
result() { # kind id [why]
  case $1 in
    PASS) pass=$((pass+1)); echo "PASS: $2" ;;
    FAIL) fail=$((fail+1)); echo "FAIL: $2${3:+: $3}" ;;
    SKIP) skip=$((skip+1)); echo "SKIP: $2${3:+: $3}" ;;
    KNOWN) known=$((known+1)); known_ids+=("$2"); echo "KNOWN: $2${3:+: $3}" ;;
  esac
}
want() { [[ $1 =~ $filter ]]; }

# Results a script printed (PASS:/FAIL:/SKIP:/KNOWN: lines), prefixed with the script's id.
collect() { # id log rc
  local id=$1 log=$2 rc=$3 n=0 kind rest
  while IFS= read -r line; do
    case $line in
      PASS:*|FAIL:*|SKIP:*|KNOWN:*) kind=${line%%:*}; rest=${line#*: }
        result "$kind" "$id/${rest%%: *}" "$( [[ $rest == *": "* ]] && echo "${rest#*: }")"; n=$((n+1))
        [ "$kind" = FAIL ] && rc_failed=1 ;;
    esac
  done < "$log"
  if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then result FAIL "$id" "timed out (log: $log)"
  elif [ "$rc" = 77 ] && [ $n = 0 ]; then result SKIP "$id" "$(tail -n1 "$log")"
  elif [ "$rc" != 0 ] && [ "$rc" != 77 ] && [ -z "${rc_failed:-}" ]; then
    result FAIL "$id" "exit $rc (log: $log)"; tail -n 15 "$log" | sed 's/^/    /'
  elif [ $n = 0 ] && [ "$rc" = 0 ]; then result FAIL "$id" "printed no result"
  fi
  if [ -n "${rc_failed:-}" ]; then tail -n 25 "$log" | sed 's/^/    /'; fi
  unset rc_failed
}

# 0. static checks (the same as make lint): results lint/shellcheck, lint/cppcheck
for tool in shellcheck cppcheck; do
  want "lint/$tool" || continue
  log=$logdir/lint_$tool.log
  timeout -s KILL 900 tests/lint.sh --only "$tool" > "$log" 2>&1 9>&-; rc=$?
  collect lint "$log" "$rc"
done

# 1. unit tests (cmocka, TAP output)
for t in build/san/tests/test_*; do
  [ -x "$t" ] || continue
  id=unit/$(basename "$t"); want "$id" || continue
  log=$logdir/${id//\//_}.log
  CMOCKA_MESSAGE_OUTPUT=TAP timeout -s KILL 300 "$t" > "$log" 2>&1 9>&-; rc=$?
  sed -E -e 's/^ok [0-9]+ - (.*)$/PASS: \1/' -e 's/^not ok [0-9]+ - (.*)$/FAIL: \1/' "$log" > "$log.r"
  collect "$id" "$log.r" "$rc"
done

# 2. fuzz targets, each for a bounded time from its seed corpus; one per CPU at a time (each
# is single-threaded: the same time per target, the stage's wall time divided by the CPUs)
fuzz_one() { # binary: its exit code into its log's .rc
  local f=$1 name work seeds log
  name=$(basename "$f") log=$logdir/fuzz_$(basename "$f").log work=$(mktemp -d)
  seeds=tests/fuzz/corpus/$name; mkdir -p "$seeds"
  timeout -s KILL $((fuzz_s + 60)) "$f" -max_total_time="$fuzz_s" -timeout=5 -rss_limit_mb=2048 \
    -artifact_prefix="$logdir/$name-" "$work" "$seeds" > "$log" 2>&1 9>&-
  echo $? > "$log.rc"
  rm -rf "$work"
}
fuzz_list=()
for f in build/fuzz/fuzz_*; do
  [ -x "$f" ] && want "fuzz/$(basename "$f")" && fuzz_list+=("$f")
done
fuzz_par=$(nproc 2> /dev/null || echo 1)
for ((i = 0; i < ${#fuzz_list[@]}; i += fuzz_par)); do
  for f in "${fuzz_list[@]:i:fuzz_par}"; do fuzz_one "$f" & done
  wait
  for f in "${fuzz_list[@]:i:fuzz_par}"; do
    name=$(basename "$f") id=fuzz/$(basename "$f") log=$logdir/fuzz_$(basename "$f").log
    rc=$(cat "$log.rc" 2> /dev/null || echo lost)
    if [ "$rc" = 0 ]; then result PASS "$id" "$(grep -o 'Done [0-9]* runs' "$log" | tail -1)"
    else result FAIL "$id" "rc=$rc (log: $log)"; grep -m3 -E 'ERROR|SUMMARY' "$log" | sed 's/^/    /'; fi
  done
done

# Namespaces created while a script ran and still there after it: a leak, unless something
# else created them concurrently (runners are serialized by a lock, a hand-started run is not).
# Each script gets its own topology state base (MPX_TOPO_STATE_BASE), and emu/lib/topo.sh marks
# every namespace with it (lo alias "mpxlab-topo RUN BASE"): a namespace marked with another
# base belongs to someone else (a hand-started `mpxlab run`, another checkout) and is neither
# touched nor counted. This script's own leftovers are deleted when empty, and when they hold
# processes only after a timeout (its own trap could not run; the processes are its own, ended
# by PID from ip netns pids). Unmarked ones (tools that name their own namespaces) are counted,
# never deleted: their owner cannot be told. Prints how many were left behind.
sweep_netns() { # BEFORE-LIST TIMED-OUT(0|1) STATE-BASE
  local n=0 ns pids mark
  for ns in $(comm -13 <(printf '%s\n' "$1") <(ip netns list 2>/dev/null | awk '{print $1}' | sort)); do
    [[ $ns == mpx-* ]] || continue
    mark=$(ip -n "$ns" -o link show lo 2>/dev/null | sed -n 's/.*alias mpxlab-topo [^ ]* \([^ ]*\).*/\1/p')
    if [ -n "$mark" ] && [ "$mark" != "$3" ]; then continue; fi
    n=$((n + 1))
    if [ -z "$mark" ]; then echo "    left: $ns (unmarked: not touched)" >&2; continue; fi
    pids=$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')
    if [ -n "${pids// /}" ]; then
      [ "$2" = 1 ] || { echo "    left: $ns (processes $pids: not touched)" >&2; continue; }
      kill -KILL $pids 2>/dev/null
    fi
    ip netns del "$ns" 2>/dev/null
  done
  echo "$n"
}

# 3. integration scripts (real namespaces); "# timeout: N" in a script overrides 600 s
for s in tests/integration/*.sh; do
  [ -f "$s" ] || continue
  id=integration/$(basename "$s" .sh); want "$id" || continue
  log=$logdir/${id//\//_}.log
  to=$(sed -n 's/^# timeout: *\([0-9]*\).*/\1/p' "$s" | head -1); to=${to:-600}
  echo "... $id (timeout ${to}s)"
  ts=$(date +%s)
  before=$(ip netns list 2>/dev/null | awk '{print $1}' | sort)
  sbase=/run/mpxlab-tests/$$-$(basename "$s" .sh)
  MPX_TOPO_STATE_BASE=$sbase timeout -s TERM -k 20 "$to" bash "$s" > "$log" 2>&1 < /dev/null 9>&-; rc=$?
  collect "$id" "$log" "$rc"
  echo "$(( $(date +%s) - ts )) $id" >> "$logdir/times.txt"
  timed_out=0; { [ "$rc" = 124 ] || [ "$rc" = 137 ]; } && timed_out=1
  left=$(sweep_netns "$before" "$timed_out" "$sbase")
  rm -rf "$sbase" 2>/dev/null || true
  # a script that ended on its own must clean up after itself
  if [ "$left" -gt 0 ] && [ $timed_out = 0 ]; then
    result FAIL "$id/cleanup" "$left network namespace(s) appeared during the script and are still there"
  fi
done

echo "elapsed $(( $(date +%s) - t0 )) s; logs in $logdir"
# where the time went: the suite must stay under 20 minutes on CI
[ -s "$logdir/times.txt" ] && echo "slowest: $(sort -rn "$logdir/times.txt" | head -n 12 | awk '{printf "%s%s %d s", (NR > 1 ? ", " : ""), $2, $1}')"
[ $known = 0 ] || echo "known kernel bugs hit (written up in agents/README.md, kernel issues): ${known_ids[*]}"
echo "$pass passed, $fail failed, $skip skipped, $known known kernel bugs hit"
[ $fail = 0 ]
