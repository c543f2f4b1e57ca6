#!/usr/bin/env bash
# bin/mpx-awake, the keep-awake spinners `mpxlab run` starts: usage errors exit 2; --probe
# prints ordered lateness percentiles; in the background it runs one SCHED_IDLE thread per CPU
# it was given, each bound to its CPU, and stops with exit 0 on SIGTERM, at --timeout, and when
# its parent dies (SIGKILL, no cleanup).
# timeout: 40
set -uo pipefail
source "$(dirname "$0")/../lib.sh"
t_require_root
t_require_cmd jq
cd "$MPX_ROOT" || exit 1
t_require_bin mpx-awake
A=bin/mpx-awake
tmp=$(mktemp -d); pids=()
cleanup() { local p; for p in "${pids[@]}"; do kill -KILL "$p" 2> /dev/null; done; rm -rf "$tmp"; }
trap cleanup EXIT

for bad in "--cpus 0-x" "--cpus 5-2" "--timeout -1" "--probe 0" "--bogus" "extra"; do
  # shellcheck disable=SC2086 # the words are the arguments
  $A $bad > /dev/null 2>&1
  t_check "usage_${bad//[^a-z0-9]/_}_rc2" test $? = 2
done

$A --probe 200 > "$tmp/p.json"; rc=$?
t_check probe_rc test "$rc" = 0
t_check probe_json jq -e '.samples == 200 and (.late_us | .p50 <= .p90 and .p90 <= .p99 and .p99 <= .p999
  and .p999 <= .max and .p50 >= 0)' "$tmp/p.json"

# policy (field 41 of /proc/PID/task/TID/stat: 5 = SCHED_IDLE) and CPU of each spinner
cpus=$(nproc)
$A & pid=$!; pids+=("$pid")
for ((i = 0; i < 100; i++)); do [ "$(ls "/proc/$pid/task" | wc -l)" -gt "$cpus" ] && break; sleep 0.02; done
t_check one_thread_per_cpu test "$(ls "/proc/$pid/task" | wc -l)" = $((cpus + 1))
pol='' aff=''
for t in /proc/"$pid"/task/*; do
  [ "${t##*/}" = "$pid" ] && continue
  pol+="$(awk '{print $41}' "$t/stat") "
  aff+="$(awk '/^Cpus_allowed_list/ {print $2}' "$t/status") "
done
t_check spinners_sched_idle test "$(echo $pol | tr ' ' '\n' | sort -u)" = 5
t_check spinners_one_cpu_each test "$(echo $aff | tr ' ' '\n' | sort -n | tr '\n' ' ')" = "$(seq -s ' ' 0 $((cpus - 1))) "
# paused and resumed (the harness stops the spinners between variants): still there, spinning
# again, and a TERM sent while stopped ends it once continued
st() { for t in /proc/"$pid"/task/*; do [ "${t##*/}" = "$pid" ] || awk '{printf "%s", $3}' "$t/stat"; done; }
for round in 1 2 3; do
  kill -STOP "$pid"; sleep 0.1; s1=$(st)
  kill -CONT "$pid"; sleep 0.1; s2=$(st)
  t_check "stop_cont_$round - stopped ($s1), running again ($s2)" \
    test "$s1" = "$(printf 'T%.0s' $(seq "$cpus"))" -a -n "$s2" -a "${s2//[RS]/}" = "" -a -e "/proc/$pid"
done
kill -STOP "$pid"; kill -TERM "$pid"; kill -CONT "$pid"; wait "$pid"; rc=$?
t_check sigterm_rc0 test "$rc" = 0

$A --cpus 0 --timeout 1 & pid=$!; pids+=("$pid")
sleep 0.3
t_check cpus_one_thread test "$(ls "/proc/$pid/task" | wc -l)" = 2
wait "$pid"; rc=$?
t_check timeout_rc0 test "$rc" = 0

# the parent killed without any cleanup: the spinners go with it
bash -c "$A & echo \$! > '$tmp/child'; wait" & parent=$!; pids+=("$parent")
for ((i = 0; i < 100; i++)); do [ -s "$tmp/child" ] && break; sleep 0.02; done
child=$(cat "$tmp/child"); pids+=("$child")
t_check child_runs test "$(cat "/proc/$child/comm" 2> /dev/null)" = mpx-awake
kill -KILL "$parent"; wait "$parent" 2> /dev/null
for ((i = 0; i < 100; i++)); do [ -e "/proc/$child" ] || break; sleep 0.02; done
t_check parent_death_stops test ! -e "/proc/$child"
t_done
