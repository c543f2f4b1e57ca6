#!/usr/bin/env bash
# Nothing of a run is left behind: after `topo down`, after a failing `topo up` (emulator
# fails, namespace collision, parse error), after SIGINT/SIGTERM during `topo up`, and after
# `topo down --all` (with lost state). Uses a private state base so --all cannot touch runs
# of anyone else on the machine.
# timeout: 150
# shellcheck disable=SC2015,SC2086,SC2119  # "check && pass || fail" lines; PID lists split on purpose
set -uo pipefail
source "$(dirname "$0")/../lib.sh"
t_require_root
t_require_cmd ip ethtool
t_require_bin mpx-linkem
export MPX_TOPO_STATE_BASE
MPX_TOPO_STATE_BASE=$(mktemp -d /tmp/mpx-emu-cleanup.XXXXXX)
source "$MPX_ROOT/emu/lib/topo.sh"
source "$MPX_ROOT/emu/lib/testutil.sh"
TOPO=$MPX_ROOT/topologies/hybrid.topo
R=emuc$$
cleanup() {
  mpx_topo_down_all >/dev/null 2>&1
  ip netns del "mpx-${R}b-server" 2>/dev/null
  rm -rf "$MPX_TOPO_STATE_BASE"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
netns_before=$(ip netns list | awk '{print $1}' | sort)

# linkem PIDs of a run (from its state)
pids_of() { awk '{print $1}' "$(mpx_topo_state "$1")/pids" 2>/dev/null; }

# 1. up, a stray process started with exec, down
run=${R}a
if mpx_topo_up "$TOPO" "$run" 1; then
  lp=$(pids_of "$run")
  mpx_topo_exec "$run" client sleep 300 </dev/null >/dev/null 2>&1 &
  sp=$!
  mpx_topo_exec "$run" server ip link show wan >/dev/null && t_pass "up_ok ($(echo $lp | wc -w) emulators)" || t_fail up_ok "no wan in server"
  # the CLI on the same run: exec passes the command's status, unknown node -> 2, show lists it
  "$MPX_ROOT/mpxlab" exec "$run" client -- sh -c 'exit 7'; e1=$?
  "$MPX_ROOT/mpxlab" exec "$run" nosuch -- true 2>/dev/null; e2=$?
  rows=$("$MPX_ROOT/mpxlab" topo show "$run" | grep -c "^| \(client\|hag\|server\|dsl\|lte\|wan\) ")
  [ $e1 = 7 ] && [ $e2 = 2 ] && [ "$rows" = 9 ] && t_pass cli_exec_show || t_fail cli_exec_show "exec rc $e1 (want 7), unknown node rc $e2 (want 2), show rows $rows (want 9)"
  mpx_topo_down "$run"; rc=$?
  left=$(mpx_tu_run_gone "$run" $lp $sp) && t_pass "down_leaves_nothing (rc $rc)" || t_fail down_leaves_nothing "$left"
  kill -0 "$sp" 2>/dev/null && t_fail down_kills_exec_processes "PID $sp alive" || t_pass down_kills_exec_processes
  mpx_topo_down "$run" && t_pass down_idempotent || t_fail down_idempotent "second down failed"
else
  t_fail up_ok "mpx_topo_up failed"
fi

# 2. a failing up: the emulator exits at once (MPX_LINKEM=/bin/false) -> rc 3, torn down
run=${R}f
MPX_LINKEM=/bin/false mpx_topo_up "$TOPO" "$run" 1 2>"$MPX_TOPO_STATE_BASE/err"; rc=$?
[ $rc = 3 ] && t_pass "emulator_failure_rc3" || t_fail emulator_failure_rc3 "rc=$rc: $(cat "$MPX_TOPO_STATE_BASE/err")"
left=$(mpx_tu_run_gone "$run") && t_pass emulator_failure_leaves_nothing || t_fail emulator_failure_leaves_nothing "$left"

# 3. a failing up half-way: mpx-RUN-server already exists (not ours): the run's client and hag
# namespaces go, the foreign one stays
run=${R}b
ip netns add "mpx-$run-server"
mpx_topo_up "$TOPO" "$run" 1 2>"$MPX_TOPO_STATE_BASE/err"; rc=$?
[ $rc = 3 ] && grep -q "already exists" "$MPX_TOPO_STATE_BASE/err" && t_pass collision_rc3 || t_fail collision_rc3 "rc=$rc: $(cat "$MPX_TOPO_STATE_BASE/err")"
[ -e "/run/netns/mpx-$run-server" ] && t_pass collision_foreign_ns_kept || t_fail collision_foreign_ns_kept "foreign namespace deleted"
ip netns del "mpx-$run-server"
left=$(mpx_tu_run_gone "$run") && t_pass collision_leaves_nothing || t_fail collision_leaves_nothing "$left"

# 4. a parse error: rc 2, nothing created
run=${R}p
printf 'node a host\nnode b host\nlink l a:x b:y delay=10\n' > "$MPX_TOPO_STATE_BASE/bad.topo"
mpx_topo_up "$MPX_TOPO_STATE_BASE/bad.topo" "$run" 1 2>"$MPX_TOPO_STATE_BASE/err"; rc=$?
[ $rc = 2 ] && grep -q "bad.topo:3: delay '10' needs a time unit" "$MPX_TOPO_STATE_BASE/err" && t_pass parse_error_rc2 ||
  t_fail parse_error_rc2 "rc=$rc: $(cat "$MPX_TOPO_STATE_BASE/err")"
left=$(mpx_tu_run_gone "$run") && t_pass parse_error_leaves_nothing || t_fail parse_error_leaves_nothing "$left"

# 5. SIGINT / SIGTERM while `mpxlab topo up` is building: a fake emulator that never gets
# ready holds up in its ready wait (deterministic "half-built" moment); the signal goes to
# the whole process group like a Ctrl-C. The fake is named mpx-linkem (as the real one).
fake=$MPX_TOPO_STATE_BASE/fake/mpx-linkem
mkdir -p "$(dirname "$fake")"
printf '#!/bin/bash\nsleep 60 & wait\n' > "$fake"; chmod +x "$fake"
for sig in INT TERM; do
  run=${R}s$sig
  set -m   # own process group, default signal dispositions for the background job
  MPX_LINKEM=$fake "$MPX_ROOT/mpxlab" topo up "$TOPO" --name "$run" > /dev/null 2>"$MPX_TOPO_STATE_BASE/err.$sig" &
  upid=$!
  set +m
  st=$(mpx_topo_state "$run")
  for ((i = 0; i < 500; i++)); do [ "$(wc -l 2>/dev/null < "$st/pids" || echo 0)" -ge 3 ] && break; sleep 0.01; done
  lp=$(pids_of "$run")
  sleep 0.1
  kill -"$sig" -- -"$upid" 2>/dev/null
  mpx_tu_wait "$upid" 20; rc=$?
  left=$(mpx_tu_run_gone "$run" $lp) && t_pass "sig${sig}_during_up_leaves_nothing (rc $rc, $(echo $lp | wc -w) emulators were running)" ||
    t_fail "sig${sig}_during_up_leaves_nothing" "$left; $(cat "$MPX_TOPO_STATE_BASE/err.$sig")"
done

# 6. two runs side by side (same addresses, separate namespaces); a second up with a taken
# name fails (3) and leaves the first alone; down --all with one state dir lost -> both gone
if mpx_topo_up "$TOPO" "${R}x" 1 && mpx_topo_up "$MPX_ROOT/topologies/single.topo" "${R}y" 1; then
  lp="$(pids_of "${R}x") $(pids_of "${R}y")"
  nx=$(mpx_topo_exec "${R}x" client ping -n -c 2 -i 0.2 -W 1 198.18.1.1 | grep -c 'bytes from')
  ny=$(mpx_topo_exec "${R}y" client ping -n -c 2 -i 0.2 -W 1 198.18.1.1 | grep -c 'bytes from')
  [ "$nx" = 2 ] && [ "$ny" = 2 ] && t_pass two_runs_side_by_side || t_fail two_runs_side_by_side "replies $nx/2 $ny/2"
  mpx_topo_up "$TOPO" "${R}x" 1 2>/dev/null; rc=$?
  nx=$(mpx_topo_exec "${R}x" client ping -n -c 1 -W 1 198.18.1.1 | grep -c 'bytes from')
  [ $rc = 3 ] && [ "$nx" = 1 ] && t_pass name_taken_rc3_first_run_intact || t_fail name_taken_rc3_first_run_intact "rc=$rc replies=$nx"
  # lose y's state: its emulators are then only found through their namespaces
  rm -rf "$(mpx_topo_state "${R}y")"
  mpx_topo_down_all > /dev/null
  left=$( { mpx_tu_run_gone "${R}x" $lp; mpx_tu_run_gone "${R}y" $lp; } ) && t_pass down_all_incl_lost_state ||
    t_fail down_all_incl_lost_state "$left"
else
  t_fail down_all_incl_lost_state "up failed"
fi

netns_after=$(ip netns list | awk '{print $1}' | sort)
extra=$(comm -13 <(echo "$netns_before") <(echo "$netns_after") | grep "^mpx-$R" || true)
[ -z "$extra" ] && t_pass netns_list_as_before || t_fail netns_list_as_before "new: $extra"
t_done
