# shellcheck shell=bash
# mpxlab harness: the host side of the fidelity monitor. Per variant it measures the CPU
# pressure on the host (Linux PSI /proc/pressure/cpu "some" and "full" totals, steal time from
# /proc/stat) over the whole variant and over its measured connections only, and the agents'
# own scheduling delay (/proc/PID/schedstat: time runnable but waiting for a CPU). The link
# emulators report their release lateness and kernel drops themselves (LINK.stats.json);
# fidelity.jq turns both into the variant's verdict (rule: experiments/README.md, "Fidelity").
#   mpx_fid_variant_begin          start of the variant's window (after the topology is up)
#   mpx_fid_step_begin / _end      around each measured connection
#   mpx_fid_conn T0 T1 [native]    the client's own times of a connection (agents.sh)
#   mpx_fid_agents_killed FILE NAME...  agents killed at the end (did not drain) into host.json
#   mpx_fid_variant_end FILE [RUN] write the variant's host.json (before the agents stop); with
#                                  RUN also each node's MPTCP fallback counters (.kernel)
# Sampling uses builtins only (no fork), so it costs nothing between connections.

# _mpx_fid_sample: FID_S=(t_us psi_some_us psi_full_us steal_ticks total_ticks); -1 = no PSI
_mpx_fid_sample() {
  local k _a _b _c tot some=-1 full=-1 u n s i w q sq st
  if [ -r "$MPX_FID_PSI" ]; then
    while read -r k _a _b _c tot; do
      case $k in some) some=${tot#total=} ;; full) full=${tot#total=} ;; esac
    done < "$MPX_FID_PSI"
  fi
  read -r _a u n s i w q sq st _b < /proc/stat
  FID_S=("${EPOCHREALTIME/./}" "$some" "$full" "$st" $((u + n + s + i + w + q + sq + st)))
}

# _mpx_fid_add ACC_NAME FROM...: ACC += FID_S - FROM, element-wise
_mpx_fid_add() {
  local -n acc=$1
  shift
  local j from=("$@")
  for j in 0 1 2 3 4; do acc[j]=$(( ${acc[j]:-0} + FID_S[j] - from[j] )); done
}

mpx_fid_variant_begin() {
  _mpx_fid_sample
  FID_V0=("${FID_S[@]}")
  FID_STEPS=(0 0 0 0 0) FID_NSTEPS=0
  FID_CONN=(0 0 0 0 0 0)
}
# mpx_fid_conn T0 T1 [native]: a measured step's connection set ran from T0 to T1 (wall clock
# "S.UUUUUU", the client's own); FID_CONN = (n, us, native n, native us, first T0, last T1): the
# harness's own time between connections is the span minus both sums (fidelity.jq)
mpx_fid_conn() {
  [ "${FID_IN_STEP:-0}" = 1 ] || return 0   # measured steps only (not the warm-up)
  local a=${1/./} b=${2/./}
  [[ $a =~ ^[0-9]+$ && $b =~ ^[0-9]+$ ]] || return 0
  a=$((10#$a)) b=$((10#$b))
  if [ "${3:-}" = native ]; then FID_CONN[2]=$((FID_CONN[2] + 1)) FID_CONN[3]=$((FID_CONN[3] + b - a))
  else FID_CONN[0]=$((FID_CONN[0] + 1)) FID_CONN[1]=$((FID_CONN[1] + b - a)); fi
  { [ "${FID_CONN[4]}" = 0 ] || [ "$a" -lt "${FID_CONN[4]}" ]; } && FID_CONN[4]=$a
  [ "$b" -gt "${FID_CONN[5]}" ] && FID_CONN[5]=$b
  return 0
}
mpx_fid_step_begin() { _mpx_fid_sample; FID_T0=("${FID_S[@]}"); FID_IN_STEP=1; }
mpx_fid_step_end() { _mpx_fid_sample; _mpx_fid_add FID_STEPS "${FID_T0[@]}"; FID_NSTEPS=$((FID_NSTEPS + 1)) FID_IN_STEP=0; }

# _mpx_fid_slice_us: the scheduler's base slice (EEVDF: 0.75 ms x (1 + log2 of min(CPUs, 8)),
# the kernel's default logarithmic scaling); the longest a waking task waits for the running
# one when the CPU is contended
_mpx_fid_slice_us() {
  local c f=1
  c=$(nproc 2>/dev/null || echo 1); [ "$c" -gt 8 ] && c=8
  while [ "$c" -gt 1 ]; do c=$((c / 2)); f=$((f + 1)); done
  echo $((750 * f))
}

# _mpx_fid_agents_json: {"name": {"run_ms", "wait_ms", "slices"}} of every agent that came up
# (the agent is the only child of its timeout wrapper, MPX_AGENT_WATCH in agents.sh; this kernel
# has no /proc/PID/task/TID/children, so ps finds it by parent PID)
_mpx_fid_agents_json() {
  local k p c run wait sl out=''
  for k in "${!MPX_AGENT_WATCH[@]}"; do
    p=${MPX_AGENT_WATCH[$k]}
    c=$(ps -o pid= --ppid "$p" 2>/dev/null | head -n 1) || c=''
    c=${c// /}
    [ -n "$c" ] || continue
    read -r run wait sl < "/proc/$c/schedstat" 2>/dev/null || continue
    out+="${out:+,}\"$k\":{\"run_ms\":$((run / 1000000)),\"wait_us\":$((wait / 1000)),\"slices\":$sl}"
  done
  echo "{$out}"
}

# _mpx_fid_cpus PID...: the distinct CPU lists the PIDs may run on (/proc/PID/status), "|"-joined
_mpx_fid_cpus() {
  local p k v out='|'
  for p; do
    while read -r k v; do [ "$k" = Cpus_allowed_list: ] && break; done < "/proc/$p/status" 2> /dev/null || continue
    [ "$k" = Cpus_allowed_list: ] && [[ $out != *"|$v|"* ]] && out+="$v|"
  done
  out=${out#|}; echo "${out%|}"
}

# mpx_fid_variant_end FILE: the variant's window and its connections' windows, as raw deltas
# (fidelity.jq computes the shares)
# _mpx_fid_kernel RUN: {"NODE": {"MPTcpExt...": N, ...}} of the kernel counters that say a
# connection meant as MPTCP went out as TCP because of another one: MPCapableSYNTXDisabled
# (active MPTCP off after a blackhole), Blackhole (detections), and, per connection,
# MPCapableSYNTXDrop (a SYN retransmitted without MP_CAPABLE). Fresh namespaces per variant:
# the totals are the variant's.
_mpx_fid_kernel() {
  local r=$1 n ns out=''
  [ -n "$r" ] || { echo '{}'; return; }
  for n in $(mpx_topo_nodes "$r"); do
    ns=$(mpx_topo_ns "$r" "$n")
    out+="$n $(ip netns exec "$ns" nstat -az MPTcpExtMPCapableSYNTXDisabled MPTcpExtBlackhole \
      MPTcpExtMPCapableSYNTXDrop 2>/dev/null | awk 'NR > 1 && $1 ~ /^MPTcpExt/ {printf "%s=%s ", $1, $2}')"$'\n'
  done
  jq -R -s -c 'split("\n") | map(select(length > 0) | split(" ") | map(select(length > 0))
    | {(.[0]): (.[1:] | map(split("=") | {(.[0]): (.[1] | tonumber)}) | add // {})}) | add // {}' <<< "$out"
}

# mpx_fid_agents_killed FILE NAME...: the agents that did not exit on SIGTERM (agents.sh
# mpx_agents_stop_all) into the variant's host.json (.agents_killed)
mpx_fid_agents_killed() {
  local f=$1; shift
  [ -s "$f" ] || return 0
  jq -c '. + {agents_killed: $ARGS.positional}' --args "$@" < "$f" > "$f.tmp" && mv "$f.tmp" "$f"
}

mpx_fid_variant_end() {
  local f=$1 v=(0 0 0 0 0) a10='' a60='' k x y kern
  kern=$(_mpx_fid_kernel "${2:-}") || kern='{}'
  _mpx_fid_sample
  _mpx_fid_add v "${FID_V0[@]}"
  if [ -r "$MPX_FID_PSI" ]; then
    while read -r k x y _; do [ "$k" = some ] && { a10=${x#avg10=}; a60=${y#avg60=}; }; done < "$MPX_FID_PSI"
  fi
  jq -n -c --argjson v "[$(IFS=,; echo "${v[*]}")]" --argjson s "[$(IFS=,; echo "${FID_STEPS[*]}")]" \
    --argjson n "$FID_NSTEPS" --argjson psi "$([ "${FID_S[1]}" -ge 0 ] && echo true || echo false)" \
    --arg a10 "$a10" --arg a60 "$a60" --argjson cpus "$(nproc 2>/dev/null || echo 1)" \
    --argjson hz "$(getconf CLK_TCK 2>/dev/null || echo 100)" --argjson slice "$(_mpx_fid_slice_us)" \
    --arg pl "${MPX_CPU_PLACEMENT:-off}" --arg ple "${MPX_CPU_EMU:-}" --arg plr "${MPX_CPU_REST:-}" \
    --arg sle "$(_mpx_fid_cpus "${MPX_LINK_PID[@]}")" --arg slr "$(_mpx_fid_cpus "${MPX_AGENT_WATCH[@]}")" \
    --arg awake "$MPX_AWAKE" \
    --argjson agents "$(_mpx_fid_agents_json)" --argjson conn "[$(IFS=,; echo "${FID_CONN[*]:-0}")]" \
    --argjson kern "${kern:-"{}"}" '
    def win($a): {elapsed_us: $a[0], psi_some_us: (if $psi then $a[1] else null end),
      psi_full_us: (if $psi then $a[2] else null end), steal_ticks: $a[3], cpu_ticks: $a[4]};
    {psi: $psi, keep_awake: ($awake == "on"), cpus: $cpus, clk_tck: $hz, sched_base_slice_us: $slice,
     variant: win($v), steps: (win($s) + {n: $n}),
     psi_some_avg10_end: ($a10 | tonumber? // null), psi_some_avg60_end: ($a60 | tonumber? // null),
     agents: $agents, kernel: $kern,
     placement: ((if $pl == "split" then {mode: $pl, emulators_cpus: $ple, others_cpus: $plr} else {mode: $pl} end)
       + {emulators_seen: ($sle | split("|")), agents_seen: ($slr | split("|"))}),
     conns: (if ($conn | length) == 6 and $conn[0] > 0 then {n: $conn[0], conn_us: $conn[1], native_n: $conn[2],
       native_us: $conn[3], span_us: ($conn[5] - $conn[4])} else null end)}' > "$f"
}

# ---------------------------------------------------------------------------------------------
# Keeping the CPUs awake (bin/mpx-awake, emu/README.md "Keeping the CPUs awake"): on a VM an
# idle vCPU halts and a sleeping emulator's next timer waits for the host to schedule it again
# (p99 lateness 1-5 ms on an idle host here, 36-69 us with the CPUs kept awake). One SCHED_IDLE
# spinner per CPU fills only time that would have been halted, but it is always runnable, so the
# system-wide PSI would count it as pressure: the harness moves itself (and so everything it
# starts) into a cgroup2 group of its own, the spinners into another, and reads the PSI of its
# own group, which is exactly the time the experiment's processes waited for a CPU.
#   mpx_fid_awake_start on|off   MPX_AWAKE on/off; MPX_AWAKE_WHY: why off although asked
#   mpx_fid_awake_stop           spinners stopped by PID, the harness back, the groups removed
#   mpx_fid_awake_resume / _pause  spinners on while a variant's topology is up and its
#                                connections run, stopped (SIGSTOP) otherwise: set-up, teardown
#                                and analysis fork hundreds of short processes, and a CPU
#                                handed back and forth with a spinner made a small run about a
#                                quarter slower (sweep_local's 2 x 8 connections: 20.5-21.5 s on,
#                                15.3-17.2 s off) while halting only matters to the emulators
MPX_FID_PSI=/proc/pressure/cpu MPX_AWAKE=off MPX_AWAKE_WHY='' MPX_AWAKE_PID='' MPX_AWAKE_CG='' MPX_AWAKE_BASE=''
mpx_fid_awake_start() {
  MPX_AWAKE=off MPX_AWAKE_WHY=''
  [ "$1" = on ] || return 0
  local mnt rel g
  [ -x "$MPX_BIN/mpx-awake" ] || { MPX_AWAKE_WHY="bin/mpx-awake missing (make)"; return 0; }
  while read -r _ g rel _; do [ "$rel" = cgroup2 ] && { mnt=$g; break; }; done < /proc/mounts
  [ -n "${mnt:-}" ] || { MPX_AWAKE_WHY="no cgroup2 mount: the spinners could not be told apart from the experiment in the CPU pressure"; return 0; }
  rel=$(sed -n 's/^0:://p' "/proc/$BASHPID/cgroup")
  MPX_AWAKE_BASE=$mnt${rel%/}
  # groups a run killed with SIGKILL left behind (empty, or rmdir refuses)
  for g in "$MPX_AWAKE_BASE"/mpxlab-[0-9]*; do
    [ -d "$g" ] && [ ! -e "/proc/${g##*/mpxlab-}" ] && rmdir "$g"/run "$g"/awake "$g" 2> /dev/null
  done
  MPX_AWAKE_CG=$MPX_AWAKE_BASE/mpxlab-$BASHPID
  if ! mkdir -p "$MPX_AWAKE_CG/run" "$MPX_AWAKE_CG/awake" 2> /dev/null \
     || ! [ -r "$MPX_AWAKE_CG/run/cpu.pressure" ] || ! echo "$BASHPID" 2> /dev/null > "$MPX_AWAKE_CG/run/cgroup.procs"; then
    MPX_AWAKE_WHY="cannot use cgroup2 at $MPX_AWAKE_BASE (a group of its own with cpu.pressure): CPU pressure would count the spinners"
    rmdir "$MPX_AWAKE_CG/run" "$MPX_AWAKE_CG/awake" "$MPX_AWAKE_CG" 2> /dev/null
    MPX_AWAKE_CG=''; return 0
  fi
  "$MPX_BIN/mpx-awake" < /dev/null > /dev/null 2>> "${RUN_LOG:-/dev/null}" {MPX_ERR_FD}>&- {MPX_OUT_FD}>&- &
  MPX_AWAKE_PID=$!
  if ! echo "$MPX_AWAKE_PID" 2> /dev/null > "$MPX_AWAKE_CG/awake/cgroup.procs"; then
    # shellcheck disable=SC2034 # run.sh says it
    MPX_AWAKE_WHY="cannot move the spinners into $MPX_AWAKE_CG/awake"
    mpx_fid_awake_stop; return 0
  fi
  declare -F log > /dev/null && log "keep-awake: mpx-awake PID $MPX_AWAKE_PID in $MPX_AWAKE_CG/awake, the run in $MPX_AWAKE_CG/run"
  mpx_fid_awake_pause   # until a variant's links are up
  # the emulators and agents are this group's: their waits are its PSI
  MPX_FID_PSI=$MPX_AWAKE_CG/run/cpu.pressure MPX_AWAKE=on
}
mpx_fid_awake_pause() { [ -z "$MPX_AWAKE_PID" ] || kill -STOP "$MPX_AWAKE_PID" 2> /dev/null || true; }
mpx_fid_awake_resume() {
  [ -n "$MPX_AWAKE_PID" ] || return 0
  kill -CONT "$MPX_AWAKE_PID" 2> /dev/null && return 0
  # gone: the variant's host.json must not claim the CPUs were kept awake
  declare -F log > /dev/null && log "keep-awake: mpx-awake (PID $MPX_AWAKE_PID) is gone: the CPUs are no longer kept awake"
  MPX_AWAKE=off MPX_AWAKE_PID=''
}
mpx_fid_awake_stop() {
  local i
  # (a stopped process keeps a TERM pending until it continues)
  if [ -n "$MPX_AWAKE_PID" ]; then kill -TERM "$MPX_AWAKE_PID" 2> /dev/null; kill -CONT "$MPX_AWAKE_PID" 2> /dev/null; wait "$MPX_AWAKE_PID" 2> /dev/null; fi
  MPX_AWAKE_PID='' MPX_FID_PSI=/proc/pressure/cpu
  [ -n "$MPX_AWAKE_CG" ] || return 0
  echo "$BASHPID" 2> /dev/null > "$MPX_AWAKE_BASE/cgroup.procs"
  # a process this run started and that is still exiting keeps the group busy for a moment
  for i in 1 2 3 4 5 6 7 8 9 10; do
    rmdir "$MPX_AWAKE_CG/run" "$MPX_AWAKE_CG/awake" "$MPX_AWAKE_CG" 2> /dev/null && break
    [ -d "$MPX_AWAKE_CG" ] || break
    sleep 0.1
  done
  [ ! -d "$MPX_AWAKE_CG" ] || echo "mpxlab: cgroup $MPX_AWAKE_CG still holds: $(cat "$MPX_AWAKE_CG"/*/cgroup.procs 2> /dev/null | tr '\n' ' ')" >&2
  MPX_AWAKE_CG=''
}
