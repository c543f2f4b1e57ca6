#!/usr/bin/env bash
# Cleanup: after a run, after a run that fails midway (MPX_RUN_FAIL_AFTER test hook) and after
# SIGINT, no namespace of the run and no process started for it (agents, link emulators:
# their command lines name the result directory) remains, nor the keep-awake spinners
# (bin/mpx-awake) and the cgroup2 groups the run made for them and for itself.
# timeout: 240
set -uo pipefail
source "$(dirname "$0")/../lib.sh"
t_require_root
t_require_cmd jq ip nft env
cd "$MPX_ROOT" || exit 1
t_require_bin mpx-linkem mpx-server mpx-client mpx-proxy
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/c.exp" <<'X'
topology    hybrid
signals     tcp convert
workload    rr 100/1000
repetitions 6
timeout     conn 5s
X
left() { # OUT TAG: what remains of that run
  ip netns list | awk '{print $1}' | grep "^mpx-$2v" || true
  ps -eo pid=,args= | grep -F -- "$1/" | grep -v grep || true
  # run.log: "keep-awake: mpx-awake PID N in GROUP/awake, the run in GROUP/run"
  local l p g
  l=$(grep -o 'keep-awake: mpx-awake PID [0-9]* in [^ ]*/awake' "$1/logs/run.log" 2> /dev/null | head -n 1)
  [ -n "$l" ] || return 0
  p=${l#*PID }; p=${p%% *}; g=${l##* in }; g=${g%/awake}
  [ "$(cat "/proc/$p/comm" 2> /dev/null)" != mpx-awake ] || echo "mpx-awake $p still runs"
  [ ! -d "$g" ] || echo "cgroup $g remains"
}

# 1. a normal run
./mpxlab run "$tmp/c.exp" --reps 2 --out "$tmp/ok" --quiet --accept-unfaithful > /dev/null 2>&1
t_check normal_rc test $? = 0
tag=$(jq -r .namespace_tag "$tmp/ok/manifest.json")
t_check normal_clean test -z "$(left "$tmp/ok" "$tag")"
# the CPUs were kept awake (the default), in a group of their own: the PSI read is the run's
why=$(jq -r '.keep_awake.why_not // empty' "$tmp/ok/manifest.json")
if [ -n "$why" ]; then t_skip normal_keep_awake "$why"
else
  t_check normal_keep_awake test "$(jq -r .keep_awake.mode "$tmp/ok/manifest.json")" = on
  t_check normal_keep_awake_logged grep -q 'keep-awake: mpx-awake PID [0-9]* in .*/awake' "$tmp/ok/logs/run.log"
  t_check normal_psi_own_group test "$(jq -r '.variants[0].fidelity.cpu.psi_scope' "$tmp/ok/summary.json")" = run
fi

# 2. failing midway
# (without keep-awake: nothing of it may appear)
MPX_RUN_FAIL_AFTER=3 ./mpxlab run "$tmp/c.exp" --out "$tmp/fail" --quiet --keep-awake off > /dev/null 2> "$tmp/fail.err"; rc=$?
t_check fail_rc test "$rc" = 1
t_check fail_reason grep -q "test hook" "$tmp/fail.err"
t_check fail_status test "$(jq -r .status "$tmp/fail/manifest.json")" = failed
t_check fail_keep_awake_off test "$(jq -r .keep_awake.mode "$tmp/fail/manifest.json")" = off
t_check fail_no_spinners bash -c '! grep -q "keep-awake:" "$1/logs/run.log"' _ "$tmp/fail"
tag=$(jq -r .namespace_tag "$tmp/fail/manifest.json")
t_check fail_clean test -z "$(left "$tmp/fail" "$tag")"

# 3. SIGINT while connections run (SIGINT restored: background jobs start with it ignored)
env --default-signal=INT ./mpxlab run "$tmp/c.exp" --reps 50 --out "$tmp/int" --quiet > /dev/null 2> "$tmp/int.err" &
pid=$!
for ((i = 0; i < 600; i++)); do [ -s "$tmp/int/steps.csv" ] && break; sleep 0.05; done
t_check int_started test -s "$tmp/int/steps.csv"
kill -INT "$pid"
wait "$pid"; rc=$?
t_check int_rc test "$rc" = 130
t_check int_status test "$(jq -r .status "$tmp/int/manifest.json")" = interrupted
t_check int_clean test -z "$(left "$tmp/int" "e$pid")"
t_check int_stopped_early test "$(wc -l < "$tmp/int/steps.csv")" -lt 100
t_done
