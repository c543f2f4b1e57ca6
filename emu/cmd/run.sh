#!/usr/bin/env bash
# mpxlab run EXP [--reps N] [--seed S] [--out DIR] [--signals LIST] [--check] [--quiet]
#
# Runs an experiment (.exp file, format in experiments/README.md): brings the topology up,
# starts mpx-server and mpx-proxy, runs signals x repetitions interleaved round-robin,
# collects link pcaps / events / stats and the agents' JSON, runs mpx-analyze, aggregates,
# writes results/<run-id>/ (report.md, report.html, plots, connections.csv, summary.json,
# manifest.json) and prints the report's path. Everything the run created is removed on
# success, on failure and on Ctrl-C.
#
# Exit codes (the table is in experiments/README.md and `mpxlab run --help`): 0 report written and
# every problem below absent; 1 the run could not be carried out; 2 usage or a bad .exp line;
# 3 a variant failed (warm-up connection failed, a link emulator or agent died); 4 partial (the
# time limit stopped the run); 6 a signal ran with 0 verified connections; 5 a variant is not
# faithful (fidelity monitor; --accept-unfaithful accepts it); 128+N interrupted by signal N.
# 3, 4, 6 and 5 still write the report; with several, the first in this order wins.
# The whole script is one compound command: bash parses it completely before running it, so
# editing this file while a run is in progress cannot break that run.
{
set -euo pipefail
# copies of stdout and stderr: user-facing lines (errors, the interrupt notice, progress) go
# there even when a trap fires inside a function whose output is redirected to a log
exec {MPX_ERR_FD}>&2 {MPX_OUT_FD}>&1
export MPX_PROG_FD=$MPX_ERR_FD
MPX_ROOT=${MPX_ROOT:-$(cd "$(dirname "$(readlink -f "$0")")/../.." && pwd)}
export MPX_ROOT
H=$MPX_ROOT/emu/harness
# shellcheck source=../harness/exp.sh
source "$H/exp.sh"
# shellcheck source=../harness/progress.sh
source "$H/progress.sh"
# shellcheck source=../harness/model.sh
source "$H/model.sh"
# shellcheck source=../harness/collect.sh
source "$H/collect.sh"
# shellcheck source=../harness/report.sh
source "$H/report.sh"
# shellcheck source=../harness/plots.sh
source "$H/plots.sh"
# shellcheck source=../harness/agents.sh
source "$H/agents.sh"
# shellcheck source=../harness/failover.sh
source "$H/failover.sh"
# shellcheck source=../harness/fidelity.sh
source "$H/fidelity.sh"
# shellcheck source=../harness/sim.sh
source "$H/sim.sh"
# shellcheck source=../harness/chain.sh
source "$H/chain.sh"

usage() {
  cat <<'EOF'
usage: mpxlab run EXP [options]
  EXP                 an .exp file (or a name in experiments/, e.g. "default")
  --reps N            repetitions (overrides the file)
  --seed S            seed of the link emulators: loss and jitter draws (overrides the file)
  --rep-range A-B     only repetitions A..B (sweep shards: numbers, order and step numbers as in
                      the whole run, so shards merge into one; mpxlab sweep)
  --out DIR           result directory (default results/<run-id>, results/latest links to it)
  --signals LIST      only these signals (comma or space separated; NAME? = optional)
  --check             parse the file, print it as JSON and exit (0 ok, 2 bad line)
  --quiet             no progress lines
  --no-plots          skip gnuplot (report without figures)
  --backend NAME      topology backend: netns (default), mininet (emu/mininet) or sim (the
                      discrete-event model bin/mpx-sim, sim/README.md: no namespaces, no root)
  --accept-unfaithful exit 0 (not 5) when a variant is not faithful: the host did not keep
                      up with the emulation (experiments/README.md, "Fidelity"); still reported
  --client-mode M     plan (default): one long-lived mpx-client per client namespace and
                      variant runs the connections line by line (mpx-client --plan); process:
                      one mpx-client process per connection (the old way; same records)
  --cpu-placement P   off (default) or split: the link emulators on one CPU, the agents and
                      the harness on the others, by PID (taskset); recorded in the manifest
                      and each variant's fidelity numbers; split without 2 CPUs or taskset: off
  --keep-awake on|off on (default): one SCHED_IDLE spinner per CPU (bin/mpx-awake) keeps an
                      idle vCPU from halting, which on a VM delays every timer by up to ms;
                      the CPU pressure is then read for the run's own cgroup2 group (needs a
                      writable cgroup2, else off with the reason); recorded in the manifest
exit: 0 report written, nothing below; 1 the run could not be carried out (no report);
      2 usage / bad experiment file; 3 a variant failed (warm-up connection failed, a link
      emulator or agent died; the other variants ran); 4 partial: the time limit stopped the
      run (the report states the repetitions each signal got); 6 a signal ran with 0 verified
      connections (variants without a middlebox); 5 a variant is not faithful (emulator
      lateness, kernel drops or CPU pressure beyond the rule's bounds) unless
      --accept-unfaithful; 128+N interrupted by signal N (130 SIGINT, 143 SIGTERM).
      3, 4, 6, 5 write the report; with several, the first listed wins.
EOF
}

keep_awake=${MPX_KEEP_AWAKE:-on} cpu_placement=${MPX_CPU_PLACEMENT_MODE:-off} accept_unfaithful=0 client_mode=plan exp='' o_reps='' o_range='' o_seed='' o_out='' o_signals='' check=0 noplots=0 backend=
while [ $# -gt 0 ]; do
  case $1 in
    -h|--help) usage; exit 0 ;;
    --reps) o_reps=${2:?--reps needs N}; shift 2 ;;
    --seed) o_seed=${2:?--seed needs S}; shift 2 ;;
    --rep-range) o_range=${2:?--rep-range needs A-B}; shift 2 ;;
    --out) o_out=${2:?--out needs DIR}; shift 2 ;;
    --signals) o_signals=${2:?--signals needs a list}; shift 2 ;;
    --check) check=1; shift ;;
    --quiet) export MPX_PROG_QUIET=1; shift ;;
    --no-plots) noplots=1; shift ;;
    --backend) backend=${2:?--backend needs netns, mininet or sim}; shift 2 ;;
    --accept-unfaithful) accept_unfaithful=1; shift ;;
    --cpu-placement) cpu_placement=${2:?--cpu-placement needs off or split}; shift 2
      [[ $cpu_placement =~ ^(off|split)$ ]] || { echo "mpxlab run: --cpu-placement wants off or split" >&2; exit 2; } ;;
    --keep-awake) keep_awake=${2:?--keep-awake needs on or off}; shift 2
      [[ $keep_awake =~ ^(on|off)$ ]] || { echo "mpxlab run: --keep-awake wants on or off" >&2; exit 2; } ;;
    --client-mode) client_mode=${2:?--client-mode needs plan or process}; shift 2
      [[ $client_mode =~ ^(plan|process)$ ]] || { echo "mpxlab run: --client-mode wants plan or process" >&2; exit 2; } ;;
    -*) echo "mpxlab run: unknown option '$1'" >&2; usage >&2; exit 2 ;;
    *) [ -z "$exp" ] || { echo "mpxlab run: one experiment at a time" >&2; exit 2; }; exp=$1; shift ;;
  esac
done
[ -n "$exp" ] || { usage >&2; exit 2; }
if [ ! -f "$exp" ]; then
  for c in "$MPX_ROOT/experiments/$exp" "$MPX_ROOT/experiments/$exp.exp"; do [ -f "$c" ] && { exp=$c; break; }; done
fi
exp=$(readlink -f "$exp" 2>/dev/null || echo "$exp")

mpx_exp_parse "$exp" || exit 2
# the parsed file, restored before each variant (run_load_variant) instead of a re-parse
_RUN_EXP_STATE=$(declare -p "${!EXP_@}" _MPX_EXP_POST | sed -e "s/^declare -- /declare -g /" -e "s/^declare -\([a-zA-Z]*\) /declare -g\1 /")
if [ -n "$o_reps" ]; then [[ $o_reps =~ ^[1-9][0-9]{0,4}$ ]] || { echo "mpxlab run: --reps wants 1..99999" >&2; exit 2; }; EXP_REPS=$o_reps; fi
if [ -n "$o_seed" ]; then mpx_seed "$o_seed" > /dev/null 2>&1 || { echo "mpxlab run: --seed wants an integer 0..$MPX_SEED_MAX without leading zeros" >&2; exit 2; }; EXP_SEED=$o_seed; fi
REP_A=1 REP_B=$EXP_REPS
if [ -n "$o_range" ]; then
  [[ $o_range =~ ^([1-9][0-9]{0,4})-([1-9][0-9]{0,4})$ ]] && [ "${BASH_REMATCH[1]}" -le "${BASH_REMATCH[2]}" ] && [ "${BASH_REMATCH[2]}" -le "$EXP_REPS" ] ||
    { echo "mpxlab run: --rep-range wants A-B with 1 <= A <= B <= $EXP_REPS" >&2; exit 2; }
  REP_A=${BASH_REMATCH[1]} REP_B=${BASH_REMATCH[2]}
fi
_sigs=()
if [ -n "$o_signals" ]; then
  read -r -a _sigs <<< "${o_signals//,/ }"
  for s in "${_sigs[@]}"; do mpx_exp_signal_ok "$s" || { echo "mpxlab run: unknown signal '$s' (known: ${MPX_REG_NAMES[*]} all; NAME? marks one optional)" >&2; exit 2; }; done
  mpx_exp_signals_set "${_sigs[@]}"
fi
if [ $check = 1 ]; then mpx_exp_json | jq .; exit 0; fi

[ "$backend" = sim ] || [ "$(id -u)" = 0 ] || { echo "mpxlab run: needs root (network namespaces; --backend sim does not)" >&2; exit 1; }
for c in jq ip nft timeout; do command -v "$c" >/dev/null || { echo "mpxlab run: '$c' not installed (make deps)" >&2; exit 1; }; done

# ---------------------------------------------------------------------------------------------
# Result directory, run id, names
RUN_TS=$(date -u +%Y%m%d-%H%M%S)
RUN_ID=$RUN_TS-$EXP_NAME
if [ -n "$o_out" ]; then OUT=$o_out; else OUT=$MPX_ROOT/results/$RUN_ID; [ -e "$OUT" ] && OUT=$OUT-$$ && RUN_ID=$RUN_ID-$$; fi
mkdir -p "$OUT"/{pcaps,logs,raw,analysis,plots,links}
OUT=$(cd "$OUT" && pwd -P)
RUN_LOG=$OUT/logs/run.log
: > "$RUN_LOG"
# tool versions and git state for the manifest, gathered while the plan is built
mpx_manifest_facts_bg "$OUT/.facts.json"
# the signal registry this run used (every signal's row and SYN option budgets): evidence
# (two jq runs: in the background while the plan is built; waited for before the manifest)
{ mpx_reg_save "$OUT/signals.json" || { echo "mpxlab run: cannot save the signal registry" >&2; exit 1; }
  mpx_reg_budget_json "$OUT/budget.json" || { echo "mpxlab run: cannot write budget.json" >&2; exit 1; }; } &
RUN_REG_PID=$!
# shellcheck disable=SC2034  # read by the sourced harness (manifest, progress)
RUN_T0=$(date -u +%Y-%m-%dT%H:%M:%SZ)
RUN_T0_S=$EPOCHSECONDS
NSTAG=e$$           # namespaces: mpx-<NSTAG>v<i>-<node>; unique per process
RUN_STATUS=running
RUN_OVERRUN=0
# the user-level overrides, recorded in the manifest and the reproduce line
REPRO="./mpxlab run ${exp#"$MPX_ROOT"/} --seed $EXP_SEED --reps $EXP_REPS"
if [[ $o_signals == *\?* ]]; then REPRO+=" --signals '${o_signals// /,}'"   # "?" would glob
elif [ -n "$o_signals" ]; then REPRO+=" --signals ${o_signals// /,}"; fi
[ -n "$backend" ] && REPRO+=" --backend $backend"
[ -n "$o_range" ] && REPRO+=" --rep-range $o_range"
[ "$client_mode" = plan ] || REPRO+=" --client-mode $client_mode"
[ "$cpu_placement" = off ] || REPRO+=" --cpu-placement $cpu_placement"
[ "$keep_awake" = on ] || REPRO+=" --keep-awake off"
# read by mpx_client_step (agents.sh)
export MPX_CLIENT_MODE=$client_mode

# (no fork: it runs between every two steps)
log() { local t=$EPOCHREALTIME; TZ=UTC printf '%(%H:%M:%S)T.%s %s\n' "${t%.*}" "${t:${#t}-6:3}" "$*" >> "$RUN_LOG"; }
# say TEXT: a line for the user, on the run's own stderr (never into an agent's log)
say() { echo "mpxlab run: $*" >&"$MPX_ERR_FD"; }
die() { mpx_progress_end; say "$*"; log "FATAL: $*"; RUN_STATUS=failed RUN_EXIT_CODE=1; exit 1; }

# ---------------------------------------------------------------------------------------------
# Cleanup: agents by PID, fault rules, topologies this run brought up. Idempotent.
TOPO_UP=()          # RUN names currently up
RUN_OUT=$OUT        # OUT is rebound for the warm-up's client records; the manifest is here
_cleaning=0
run_cleanup() {
  [ $_cleaning = 1 ] && return 0; _cleaning=1
  set +e
  # a second Ctrl-C must not cut the teardown short (namespaces and emulators would stay)
  trap '' INT TERM HUP
  # a trap can fire inside a function running with OUT rebound (the warm-up) or with stderr
  # redirected to a log: restore both
  local OUT=$RUN_OUT
  exec 2>&"$MPX_ERR_FD"
  if [ -n "${MPX_FACTS_PID:-}" ]; then kill "$MPX_FACTS_PID" 2>/dev/null; wait "$MPX_FACTS_PID" 2>/dev/null; rm -f "$OUT/.facts.json"*; fi
  mpx_jq_early_stop   # collect.sh: the pre-started jq not fed
  local p; for p in "${_MPX_ANALYZE_WAIT[@]}"; do kill "$p" 2>/dev/null; done  # verification reports
  if [ -n "${MPX_PLOTS_FD:-}" ]; then exec {MPX_PLOTS_FD}>&-; MPX_PLOTS_FD=''; fi
  [ -n "${CUR_R:-}" ] && mpx_ic_variant_down "$CUR_R"
  mpx_agents_stop_all
  local r
  for r in "${TOPO_UP[@]}"; do run_topo_down "$r"; done
  TOPO_UP=()
  mpx_fid_awake_stop 2>> "$RUN_LOG"
  # RUN_FINISHED: the end of the script wrote the final manifest, the report and said what
  # went wrong; anything else that ends the run is a failure (or an interruption)
  if [ "${RUN_FINISHED:-0}" != 1 ]; then
    [ "$RUN_STATUS" = interrupted ] || RUN_STATUS=failed RUN_EXIT_CODE=1
    rm -f "$OUT/.verdict"
    if [ -f "$OUT/manifest.json" ]; then mpx_manifest_finish "$RUN_STATUS" 2>> "$RUN_LOG"
    else # stopped before the manifest was written: still say so in one
      jq -n --arg id "$RUN_ID" --arg st "$RUN_STATUS" --arg s "$RUN_T0" --arg e "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
        '{run_id: $id, status: $st, start: $s, end: $e}' > "$OUT/manifest.json" 2>> "$RUN_LOG"
    fi
    mpx_progress_end
    say "$RUN_STATUS; partial results and logs in $OUT"
    # the documented code, not whatever a failing command (set -e) returned
    _cleaning=0; exit "$RUN_EXIT_CODE"
  fi
  _cleaning=0
}
# on_signal NAME NUMBER: the manifest says "interrupted", stderr says so, exit 128 + NUMBER
# While a plan step waits in `read -t` (agents.sh _mpx_plan_line) the signal is only noted:
# bash 5.2 arms a timer for read -t and, when a trap exits from inside the read, that timer
# later longjmps into the dead frame ("longjmp causes uninitialized stack frame", SIGABRT, exit
# 134 instead of 128 + N); the read returns within 1 s and the step calls on_signal again.
on_signal() {
  # shellcheck disable=SC2034 # MPX_PENDING_SIGNAL is read by agents.sh
  if [ "${MPX_IN_PLAN_READ:-0}" = 1 ]; then MPX_PENDING_SIGNAL="$1 $2"; return 0; fi
  RUN_STATUS=interrupted
  RUN_EXIT_CODE=$((128 + $2))
  exec 2>&"$MPX_ERR_FD"
  log "caught $1"; mpx_progress_end
  say "interrupted ($1), cleaning up"
  exit "$RUN_EXIT_CODE"
}
trap run_cleanup EXIT
# an unexpected failing command ends the run (set -e): say which one
# shellcheck disable=SC2154
trap 'rc=$?; log "error: line $LINENO: $BASH_COMMAND (exit $rc)"; say "line $LINENO: $BASH_COMMAND failed (exit $rc)"' ERR
trap 'on_signal SIGINT 2' INT
trap 'on_signal SIGTERM 15' TERM
trap 'on_signal SIGHUP 1' HUP

# The pre-started jq of the end of the run (collect.sh mpx_jq_early): the report's text, the
# verdict and the figures read nothing before they are fed, so with --backend sim (a run of about
# a second) they start here and compile while the run is set up; an emulated run starts them
# after its variants. RUN_VERDICT_JQ: the verdict on the run as a whole (summary.json .problems:
# the report shows the same list), then the problem lines printed at the end.
RUN_VERDICT_JQ='(.problems |
  if (.failed_variants | length) > 0 then "3 failed" elif .partial then "4 partial"
  elif (.no_verified | length) > 0 then "6 done"
  elif (.unfaithful | length) > 0 and $acc == 0 then "5 done" else "0 done" end), .problems.lines[]'
MPX_PLOTS_PID='' MPX_PLOTS_FD='' _RUN_EARLY=0
run_jq_early() {
  [ "$_RUN_EARLY" = 0 ] || return 0
  _RUN_EARLY=1
  mpx_report_jq_early "$OUT"
  mpx_jq_early verdict "$OUT/.verdict" -r --argjson acc "$accept_unfaithful" "input | $RUN_VERDICT_JQ"
  # the figures (plots.sh) likewise: their jq reads summary.json and the connections from this
  # pipe (MPX_PLOTS_FD); mpx_report_write waits for them (MPX_PLOTS_PID) before its Plots section
  if [ $noplots = 0 ] && [ -z "${MPX_JQ_PLAIN:-}" ]; then
    exec {MPX_PLOTS_FD}> >(mpx_plots_all "$OUT" fed || log "plots failed")
    # shellcheck disable=SC2034  # MPX_PLOTS_PID: read by mpx_report_write (report.sh)
    MPX_PLOTS_PID=$!
  fi
}
[ "$backend" != sim ] || run_jq_early

# ---------------------------------------------------------------------------------------------
# Topology (emu/lib/topo.sh, the topology helper's library)
run_topo_lib() {
  [ -f "$MPX_ROOT/emu/lib/topo.sh" ] || return 1
  declare -F mpx_topo_up >/dev/null && return 0
  # shellcheck source=/dev/null
  source "$MPX_ROOT/emu/lib/topo.sh"
}

# run_topo_up RUN PARAMS...: brings the topology up with the exp's seed and parameter overrides
run_topo_up() {
  local r=$1 pdir=$2; shift 2
  local args=() p
  for p in "$@"; do args+=(--param "$p"); done
  # faults from the link emulator's own schedule: entries counted from each SIGUSR2 (run_fault_trigger)
  local f ft fl fa
  for f in "${EXP_FAULT[@]}"; do
    read -r ft fl fa <<< "$f"
    [[ $fa != linkem:* ]] || args+=(--at "usr2+$ft $fl ${fa#linkem:}")
  done
  [ -n "$backend" ] && args+=(--backend "$backend")
  mkdir -p "$pdir"
  log "topo up $EXP_TOPO $r $EXP_SEED ${args[*]} --pcap-dir $pdir"
  TOPO_UP+=("$r")
  timeout -s TERM -k 10 "$EXP_TIMEOUT_SETUP" bash -c 'source "$MPX_ROOT/emu/lib/topo.sh"; mpx_topo_up "$@"' topo-up \
    "$EXP_TOPO" "$r" "$EXP_SEED" "${args[@]}" --pcap-dir "$pdir" >> "$RUN_LOG" 2>&1 {MPX_ERR_FD}>&- {MPX_OUT_FD}>&- ||
    die "topology did not come up ($(basename "$EXP_TOPO") as $r); see $RUN_LOG"
}

run_topo_down() {
  local r=$1
  log "topo down $r"
  timeout -s KILL 60 bash -c 'source "$MPX_ROOT/emu/lib/topo.sh"; mpx_topo_down "$1"' topo-down "$r" >> "$RUN_LOG" 2>&1 || log "topo down $r failed (rc $?)"
  local i; for i in "${!TOPO_UP[@]}"; do [ "${TOPO_UP[$i]}" = "$r" ] && unset "TOPO_UP[$i]"; done
  TOPO_UP=("${TOPO_UP[@]}")
}

# run_ns RUN NODE: the node's network namespace
run_ns() { mpx_topo_ns "$1" "$2"; }

# run_addr RUN NODE IFACE FAMILY: an address of a node (IFACE may be empty: any)
run_addr() {
  local a
  a=$(mpx_topo_addr "$1" "$2" "$3" "$4" 2>/dev/null) || a=''
  [ -n "$a" ] || a=$(mpx_topo_addr "$1" "$2" "" "$4" 2>/dev/null) || a=''
  a=${a%%/*}
  [ -n "$a" ] && echo "$a"
}

# ---------------------------------------------------------------------------------------------
# Faults: "TIME LINK down|up" relative to the start of every measured connection. A link goes
# down as a silent blackhole (no carrier loss, as when a DSL line stops passing traffic):
# nftables drops everything the two end nodes send or receive on that link's interfaces.
# "TIME LINK linkem:ACTION" is the link emulator's own schedule instead (its "usr2+TIME"
# entries, given at topology start): run_fault_trigger sends the emulator SIGUSR2 right before
# each connection, and the emulator applies the action TIME later in its own clock and logs
# it (pcaps/VARIANT/LINK.schedule.jsonl); ACTION down|up (blackhole) or carrier-down|carrier-up.
run_fault_apply() { # RUN LINK down|up
  local r=$1 l=$2 act=$3 end node ifn ns
  for end in a b; do
    read -r node ifn <<< "$(mpx_links_end "$r" "$l" "$end")"
    [ -n "$node" ] || { log "fault: link $l has no end $end"; continue; }
    ns=$(run_ns "$r" "$node")
    if [ "$act" = down ]; then
      ip netns exec "$ns" nft -f - <<EOF 2>>"$RUN_LOG" || log "fault: nft down $node/$ifn failed"
table inet mpxfault_$l {
  chain in { type filter hook prerouting priority -400; policy accept; iifname "$ifn" drop; }
  chain out { type filter hook postrouting priority 400; policy accept; oifname "$ifn" drop; }
}
EOF
    else
      ip netns exec "$ns" nft delete table inet "mpxfault_$l" 2>/dev/null || true
    fi
  done
  log "fault: $l $act"
  echo "$(date +%s.%N) $l $act" >> "$FAULT_LOG"
}

run_fault_trigger() { # RUN: SIGUSR2 to each link emulator with linkem: faults (it restores the link)
  local r=$1 l pid
  for l in $(printf '%s\n' "${EXP_FAULT[@]}" | awk '$3 ~ /^linkem:/ {print $2}' | sort -u); do
    pid=$(mpx_topo_link_pid "$r" "$l") && kill -USR2 "$pid" 2>/dev/null || { log "fault: no emulator to trigger on $l"; continue; }
    echo "$EPOCHREALTIME $l trigger" >> "$FAULT_LOG"
  done
}

run_fault_schedule() { # RUN: background job, one line per fault in time order
  local r=$1 f t ms l act sp='' t_start=$EPOCHREALTIME
  trap - EXIT INT HUP
  # ended by TERM from the step loop: take the sleep child along
  trap '[ -n "$sp" ] && kill "$sp" 2>/dev/null; exit 0' TERM
  # the schedule's own time zero, so a check can tell a late fault from an early one
  echo "$t_start schedule start" >> "$FAULT_LOG"
  for f in $(printf '%s\n' "${EXP_FAULT[@]}" | while read -r t l act; do [[ $act == linkem:* ]] || echo "$(mpx_exp_dur_ms "$t"):$l:$act"; done | sort -n -t: -k1,1); do
    IFS=: read -r ms l act <<< "$f"
    # sleep to an absolute deadline from the scheduler's start: no drift from the work between
    sleep "$(awk -v a="$ms" -v t0="$t_start" -v now="$EPOCHREALTIME" 'BEGIN{d = t0 + a / 1000 - now; if (d < 0) d = 0; printf "%.3f", d}')" & sp=$!
    wait "$sp" || true; sp=''
    run_fault_apply "$r" "$l" "$act"
  done
}

run_fault_clear() { # RUN: every faulted link back up (once per link)
  local r=$1 l
  for l in $(printf '%s\n' "${EXP_FAULT[@]}" | awk '$3 !~ /^linkem:/ {print $2}' | sort -u); do run_fault_apply "$r" "$l" up; done
}

# ---------------------------------------------------------------------------------------------
# Plan: variants x repetitions x signals, interleaved round-robin (signal order rotated by one
# each repetition, so slow drift in the machine's load hits every signal alike).
VARIANTS=("${EXP_VARIANTS[@]}")
[ ${#VARIANTS[@]} = 0 ] && VARIANTS=(base)

# run_load_variant NAME: the globals for one variant (base file + its clauses + CLI overrides)
run_load_variant() {
  local v=$1 reps=$EXP_REPS seed=$EXP_SEED
  eval "$_RUN_EXP_STATE" || return 2
  EXP_REPS=$reps EXP_SEED=$seed
  [ "$v" != base ] && mpx_exp_variant_apply "$v"
  [ -n "$o_signals" ] && mpx_exp_signals_set "${_sigs[@]}"
  return 0
}

: > "$OUT/plan.csv"
echo "variant,rep,step,signal" > "$OUT/plan.csv"
: > "$OUT/steps.csv"
echo "variant,signal,status,reason" > "$OUT/signals.csv"
: > "$OUT/skipped.csv"
total=0
# each variant's description (~6 jq start-ups) in the background: run_describe_wait before its
# first reader (the analysis; an emulated variant's cross-check)
DESCRIBE_PIDS=()
run_describe_wait() {
  local p; for p in "${DESCRIBE_PIDS[@]}"; do wait "$p" || die "a variant's description failed"; done; DESCRIBE_PIDS=()
}
for v in "${VARIANTS[@]}"; do
  run_load_variant "$v"
  mkdir -p "$OUT/links/$v"
  mpx_variant_describe "$v" > "$OUT/links/$v/variant.json" & DESCRIBE_PIDS+=($!)
  runnable=()
  for s in "${EXP_SIGNALS[@]}"; do
    # (the simulator needs none of the agents, nft or NFQUEUE: a registry row runs; no subshell)
    if [ "$backend" = sim ] && mpx_reg_known "$s"; then why=''; else why=$(mpx_agents_signal_why "$s"); fi
    if [ -z "$why" ]; then
      runnable+=("$s"); echo "$v,$s,run," >> "$OUT/signals.csv"
    elif [ -n "${EXP_SIG_OPTIONAL[$s]:-}" ]; then echo "$v,$s,not run,\"${why//\"/\'}\"" >> "$OUT/signals.csv"
    else
      die "variant $v: signal $s cannot run: $why (mark it optional, '$s?', to run without it)"
    fi
  done
  n=${#runnable[@]}
  [ "$n" -gt 0 ] || continue
  step=$(( (REP_A - 1) * n )) step0=$(( (REP_A - 1) * n ))
  for ((rep = REP_A; rep <= REP_B; rep++)); do
    for ((i = 0; i < n; i++)); do
      step=$((step + 1))
      echo "$v,$rep,$step,${runnable[$(( (i + rep - 1) % n ))]}" >> "$OUT/plan.csv"
    done
  done
  total=$((total + step - step0))
done

wait "$RUN_REG_PID" || exit 1
# CPU placement (agents.sh): what was asked, what this machine allows
[ "$backend" = sim ] || mpx_cpu_place_detect "$cpu_placement"
[ -z "$MPX_CPU_WHY" ] || say "--cpu-placement $cpu_placement: $MPX_CPU_WHY; running without placement"
# keeping the CPUs awake (fidelity.sh): what was asked, what this machine allows
[ "$backend" = sim ] || mpx_fid_awake_start "$keep_awake"
[ -z "$MPX_AWAKE_WHY" ] || say "--keep-awake $keep_awake: $MPX_AWAKE_WHY; running without it"
# both in the manifest as it is written (its one jq; they were 4 more)
mpx_manifest_start '.cpu_placement = {asked: $a, mode: $m, emulators_cpus: (if $e == "" then null else $e end),
    others_cpus: (if $r == "" then null else $r end), why_not: (if $why == "" then null else $why end)}
  | .keep_awake = {asked: $ka, mode: $km, why_not: (if $kwhy == "" then null else $kwhy end)}' \
  --arg a "$cpu_placement" --arg m "$MPX_CPU_PLACEMENT" --arg e "$MPX_CPU_EMU" --arg r "$MPX_CPU_REST" \
  --arg why "$MPX_CPU_WHY" --arg ka "$keep_awake" --arg km "$MPX_AWAKE" --arg kwhy "$MPX_AWAKE_WHY"
# with --backend sim the summary's inputs but the connections are final now (the plan, the
# signals, the manifest; a time limit reached in the loop is handled after it)
[ "$backend" != sim ] || mpx_summary_early "$OUT"
mpx_progress_init "$total"
mpx_progress_msg "run $RUN_ID: $total connections in ${#VARIANTS[@]} variant(s); results in $OUT"
[ "$total" -gt 0 ] || mpx_progress_msg "nothing can run: $(cut -d, -f4- "$OUT/signals.csv" | tail -n +2 | sort -u | tr '\n' ' ')"

# ---------------------------------------------------------------------------------------------
# Warm-up: wait until the topology has been up EXP_WARMUP_MS, then one unrecorded connection
# per signal. Connections in the first ~3 s after bring-up were measured 10-60 ms slower
# (all signals, in whatever order they ran), which biased the signals that happened to come
# first; the warm-up also fills the kernel's TFO cookie cache like any later connection has it.
# Warm-up connections stay in the link pcaps; their client records go to warmup/, not raw/.
# WARMUP_BAD: the signals whose warm-up connection failed, with the client's error ("" = none).
# A failed warm-up connection fails the variant: the same connection measured a moment later
# would be evidence of a path that did not work a moment before.
run_warmup() { # RUN VARIANT SIGNAL...
  local r=$1 v=$2 i=0 sig t_end rc err; shift 2
  WARMUP_BAD=''
  [ "$EXP_WARMUP_MS" -gt 0 ] && [ $# -gt 0 ] || return 0
  t_end=$(( ${T_UP_US:-${EPOCHREALTIME/./}} + EXP_WARMUP_MS * 1000 ))
  mkdir -p "$OUT/warmup/raw/$v" "$OUT/warmup/logs/$v"
  mpx_progress_msg "variant $v: warm-up (one unrecorded connection per signal after $((EXP_WARMUP_MS)) ms)"
  # a fixed number of connections (one per signal) after the wait, so two runs with one seed
  # send the same packets through the links (identical drop sequences)
  local left=$(( t_end - ${EPOCHREALTIME/./} ))
  [ "$left" -gt 0 ] && sleep "$(awk -v u="$left" 'BEGIN{printf "%.3f", u / 1e6}')"
  for sig; do
    i=$((i + 1)) rc=0
    OUT=$OUT/warmup mpx_client_step "$r" "$v" 0 "$i" "$sig" > /dev/null 2>&1 || rc=$?
    [ "$rc" = 0 ] && continue
    err=$(jq -r 'select(.type == "conn") | .error // empty' "$OUT/warmup/raw/$v/$(printf '%05d' "$i")-$sig.jsonl" 2>/dev/null | head -n 1) || err=''
    WARMUP_BAD+="${WARMUP_BAD:+; }$sig (mpx-client exit $rc${err:+: $err})"
    mpx_progress_msg "variant $v: warm-up connection of $sig FAILED (exit $rc${err:+: $err})"
  done
  log "variant $v: warm-up done ($i unrecorded connections${WARMUP_BAD:+; failed: $WARMUP_BAD})"
}

# run_variant_health VARIANT STATUS [REASON]: links/VARIANT/health.json, read by the summary.
# STATUS: ok, failed (warm-up failed, a component died: the run exits 3), partial (the time
# limit stopped it), not run (the time limit came before it)
run_variant_health() {
  # (the usual case without a jq start-up: jq -c's own bytes)
  if [ "$2" = ok ] && [ -z "${3:-}" ]; then
    echo '{"status":"ok","reason":null}' > "$OUT/links/$1/health.json"; return
  fi
  jq -n -c --arg st "$2" --arg why "${3:-}" '{status: $st, reason: (if $why == "" then null else $why end)}' \
    > "$OUT/links/$1/health.json"
}
run_variant_fail() { # VARIANT REASON
  run_variant_health "$1" failed "$2"
  mpx_progress_end; say "variant $1 FAILED: $2"; log "variant $1 failed: $2"
}
# run_time_up: the experiment's time limit (timeout run) is reached
run_time_up() { [ "$EXP_TIMEOUT_RUN" -gt 0 ] && [ $((EPOCHSECONDS - RUN_T0_S)) -ge "$EXP_TIMEOUT_RUN" ]; }
run_mark_overrun() {
  [ "$RUN_OVERRUN" = 1 ] && return 0
  RUN_OVERRUN=1
  mpx_manifest_set run_timeout_hit true
  log "run time limit (${EXP_TIMEOUT_RUN}s) reached: remaining steps skipped"
  mpx_progress_msg "time limit (${EXP_TIMEOUT_RUN}s) reached: the remaining connections are skipped; the run will be partial"
}

# ---------------------------------------------------------------------------------------------
# One variant: topology up, sysctls, agents, steps, collection, topology down
[ "$backend" = sim ] || run_describe_wait
done_steps=0
vi=0
for v in "${VARIANTS[@]}"; do
  vi=$((vi + 1))
  run_load_variant "$v"
  mapfile -t steps < <(awk -F, -v v="$v" 'NR > 1 && $1 == v { print $2 " " $3 " " $4 }' "$OUT/plan.csv")
  [ ${#steps[@]} -gt 0 ] || { log "variant $v: nothing to run"; continue; }
  if [ "$RUN_OVERRUN" = 1 ] || run_time_up; then
    run_mark_overrun; run_variant_health "$v" "not run" "the time limit (${EXP_TIMEOUT_RUN}s) was reached before this variant"
    done_steps=$((done_steps + ${#steps[@]})); continue
  fi
  run_variant_health "$v" ok
  run_topo_lib || die "emu/lib/topo.sh not available yet (topology helper); cannot bring $EXP_TOPO up"
  R=${NSTAG}v$vi
  VDIR=$OUT/raw/$v; LDIR=$OUT/logs/$v; mkdir -p "$VDIR" "$LDIR" "$OUT/links/$v"
  FAULT_LOG=$LDIR/faults.log; : > "$FAULT_LOG"

  params=("${EXP_PARAM[@]}")
  if [ ${#EXP_MIDDLEBOX[@]} -gt 0 ]; then
    mpx_topofile_parse "$EXP_TOPO" >/dev/null 2>&1
    mb=$(mpx_exp_mb_node) || die "variant $v: middlebox asked but the topology has none"
    for b in "${EXP_MIDDLEBOX[@]}"; do params+=("$(mpx_exp_mb_param "$mb" "$b")"); done
  fi
  if [ "$backend" = sim ]; then
    mpx_progress_msg "variant $v ($vi/${#VARIANTS[@]}): simulating ${#steps[@]} connections (mpx-sim)"
    mpx_sim_backend_variant "$v" "${params[@]}" || true
    done_steps=$((done_steps + ${#steps[@]})); continue
  fi
  mpx_progress_msg "variant $v ($vi/${#VARIANTS[@]}): bringing $(basename "$EXP_TOPO") up${params:+ with ${params[*]}}"
  run_topo_up "$R" "$OUT/pcaps/$v" "${params[@]}"
  T_UP_US=${EPOCHREALTIME/./}
  mpx_fid_awake_resume   # the spinners: while the emulators run (fidelity.sh)
  mpx_fid_variant_begin
  mpx_links_load "$R" "$OUT/links/$v/links.txt"
  # (before the agents start: they inherit the harness's CPUs)
  mpx_cpu_place_variant >> "$RUN_LOG" 2>&1 || die "variant $v: CPU placement failed (see $RUN_LOG)"

  # sysctls asked by the experiment (node "all" = every node)
  for sc in "${EXP_SYSCTL[@]}"; do
    read -r node kv <<< "$sc"
    # a vector value (tcp_rmem, tcp_wmem, ...) is written with commas in the .exp: spaces here
    if [[ $kv =~ ^net\.ipv4\.(tcp_rmem|tcp_wmem|tcp_mem|udp_mem)= ]]; then kv=${kv//,/ }; fi
    nodes=("$node"); [ "$node" = all ] && mapfile -t nodes < <(mpx_links_nodes "$R")
    for n in "${nodes[@]}"; do
      ip netns exec "$(run_ns "$R" "$n")" sysctl -q -w "$kv" >> "$RUN_LOG" 2>&1 || die "variant $v: sysctl $kv on $n failed"
    done
  done
  mpx_sysctl_snapshot "$R" > "$OUT/links/$v/sysctls.json"
  # route attributes asked by the experiment (route NODE ... initcwnd=N: exp.sh)
  mpx_exp_routes_apply "$R" >> "$RUN_LOG" 2>&1 || die "variant $v: route failed: $(tail -1 "$RUN_LOG")"
  mpx_exp_routes_snapshot "$R" > "$OUT/links/$v/routes.json"

  # agents

  fam=$EXP_TARGET
  SRV_ADDR=$(run_addr "$R" server "${EXP_PS##*+}" "$fam") || die "variant $v: no IPv$fam address on the server"
  PROXY_ADDR=$(run_addr "$R" hag "${EXP_CP%%+*}" 4) || die "variant $v: no IPv4 address on the hag"
  log "variant $v: server $SRV_ADDR proxy $PROXY_ADDR"
  mpx_progress_msg "variant $v: starting mpx-server and mpx-proxy"
  mpx_agents_start "$R" "$LDIR" || die "variant $v: agents did not start (logs in $LDIR)"
  CUR_R=$R
  mapfile -t vsigs < <(printf '%s\n' "${steps[@]}" | awk '{print $3}' | sort -u)
  mpx_chain_variant_up "$R" "$v" "$LDIR" "${vsigs[@]}" || die "variant $v: CPE (chain $EXP_CHAIN) did not start (logs in $LDIR)"
  mpx_ic_variant_up "$R" "$v" "${vsigs[@]}" ||
    die "variant $v: client-side interception setup failed (logs/$v/intercept.log)"

  # the plan clients (agents.sh) start with the variant's first step; their stderr goes here
  # shellcheck disable=SC2034  # read by mpx_client_plan_start (agents.sh)
  MPX_PLAN_LOG=$LDIR/client.log
  run_warmup "$R" "$v" "${vsigs[@]}"
  vfailed=0
  if [ -n "$WARMUP_BAD" ] && [ ${#EXP_MIDDLEBOX[@]} -gt 0 ]; then
    # behind a middlebox a signal that does not get through is the measured verdict ("breaks"):
    # the variant's connections measure it; shown, not a failure of the testbed
    mpx_progress_msg "variant $v: warm-up failures behind the middlebox are measured, not a testbed failure: $WARMUP_BAD"
    log "variant $v: middlebox variant, warm-up failures kept as findings: $WARMUP_BAD"
  elif [ -n "$WARMUP_BAD" ]; then
    run_variant_fail "$v" "warm-up connection failed: $WARMUP_BAD (client records in warmup/raw/$v/)"; vfailed=1
  fi
  mpx_health_check
  if [ "$vfailed" = 0 ] && dead=$MPX_DEAD && [ -n "$dead" ]; then
    run_variant_fail "$v" "$dead died before the measured connections (logs in logs/$v/)"; vfailed=1
  fi

  mpx_progress_steps_begin "$done_steps"
  declare -A tried=() failed=()
  sdone=0
  for st in "${steps[@]}"; do
    [ "$vfailed" = 0 ] || break
    read -r rep k sig <<< "$st"
    # a signal whose first 3 connections all failed is not tried further in this variant:
    # each failure costs a whole connection timeout (the report counts the skipped ones)
    if [ "${tried[$sig]:-0}" -ge 3 ] && [ "${failed[$sig]:-0}" = "${tried[$sig]}" ]; then
      echo "$v,$rep,$k,$sig" >> "$OUT/skipped.csv"; log "step $v/$rep/$k $sig skipped (first ${tried[$sig]} failed)"
      done_steps=$((done_steps + 1)) sdone=$((sdone + 1)); continue
    fi
    if run_time_up; then
      run_mark_overrun; run_variant_health "$v" partial "the time limit (${EXP_TIMEOUT_RUN}s) stopped it after $sdone of ${#steps[@]} steps"
      break
    fi
    # a progress line at most every second (each one forks a few subshells)
    if [ "$EPOCHSECONDS" != "${prog_s:-}" ]; then prog_s=$EPOCHSECONDS; mpx_progress "$v rep $rep/$EXP_REPS $sig" "$done_steps"; fi
    fpid=''
    if [ ${#EXP_FAULT[@]} -gt 0 ]; then run_fault_trigger "$R"; run_fault_schedule "$R" & fpid=$!; fi
    tried[$sig]=$(( ${tried[$sig]:-0} + 1 ))
    mpx_fid_step_begin
    mpx_client_step "$R" "$v" "$rep" "$k" "$sig" || failed[$sig]=$(( ${failed[$sig]:-0} + 1 ))
    mpx_fid_step_end
    if [ -n "$fpid" ]; then kill "$fpid" 2>/dev/null || true; wait "$fpid" 2>/dev/null || true; run_fault_clear "$R"; fi
    done_steps=$((done_steps + 1)) sdone=$((sdone + 1))
    # a link emulator or agent that died makes every later connection of this variant a
    # measurement of a broken testbed: the variant ends here
    mpx_health_check; dead=$MPX_DEAD
    if [ -n "$dead" ]; then
      run_variant_fail "$v" "$dead died during the measured connections (noticed after step $k: rep $rep, $sig; $sdone of ${#steps[@]} steps ran)"
      vfailed=1; break
    fi
    # test hook (tests/integration/exp_cleanup.sh): fail midway like a crashed step would
    if [ -n "${MPX_RUN_FAIL_AFTER:-}" ] && [ "$done_steps" -ge "$MPX_RUN_FAIL_AFTER" ]; then die "MPX_RUN_FAIL_AFTER=$MPX_RUN_FAIL_AFTER reached (test hook)"; fi
  done
  # the steps not run count as done for the progress estimate
  done_steps=$((done_steps + ${#steps[@]} - sdone))
  mpx_progress "$v done" "$done_steps"; mpx_progress_end
  mpx_cpu_place_release

  mpx_progress_msg "variant $v: collecting pcaps, counters and logs"
  mpx_links_stats "$R" "$OUT/links/$v"
  mpx_fid_variant_end "$OUT/links/$v/host.json" "$R"   # while the agents still run (their schedstat)
  mpx_fid_awake_pause
  mpx_ic_variant_down "$R"
  mpx_agents_stop_all
  if [ ${#MPX_AGENTS_KILLED[@]} -gt 0 ]; then
    log "variant $v: ${MPX_AGENTS_KILLED[*]} still running 5 s after SIGTERM (connections not closed): killed"
    mpx_fid_agents_killed "$OUT/links/$v/host.json" "${MPX_AGENTS_KILLED[@]}"
  fi
  # shellcheck disable=SC2034  # read by mpx_health_dead (agents.sh)
  MPX_LINK_PID=()
  mpx_links_collect "$R" "$v" "$OUT"      # after the link emulators flushed (topo down)
  mpx_progress_msg "variant $v: the simulator on the same links, seeds and plan"
  mpx_sim_variant "$OUT" "$v" || log "variant $v: simulator cross-check failed"  # emu/harness/sim.sh
done

# ---------------------------------------------------------------------------------------------
# Analysis, aggregation, report
run_describe_wait
# (collect.sh mpx_jq_early: these compile while the pcaps are analyzed and the connections joined;
# a summary started before a time limit was reached read the manifest without it: again)
run_jq_early
if [ "$RUN_OVERRUN" = 1 ]; then mpx_jq_early_cancel summary; fi
mpx_jq_started summary || mpx_summary_early "$OUT"
mpx_manifest_finish_early
mpx_progress_msg "analyzing pcaps"
mpx_analyze_all "$OUT"
mpx_report_early "$OUT"   # report.sh: the analyzer-verdict section, beside the aggregation
mpx_progress_msg "aggregating"
mpx_collect_connections "$OUT"
for v in "${VARIANTS[@]}"; do
  if [ -s "$OUT/logs/$v/faults.log" ]; then mpx_progress_msg "failover analysis ($v)"; mpx_failover_analyze "$OUT" "$v" || log "failover analysis $v failed"; fi
done
mpx_collect_summary "$OUT"
# the figures render while the verdict, the manifest and the report's text are written
if [ -n "$MPX_PLOTS_FD" ]; then
  mpx_progress_msg "plotting"
  # (the figures' fields of the connections, plots.sh mpx_plots_conns, else the whole rows)
  _conns=$(mpx_plots_conns "$OUT/connections.jsonl") || _conns=$(mpx_jsonl_array "$OUT/connections.jsonl")
  { cat "$OUT/summary.json"; cat <<< "$_conns"; } 1>&"$MPX_PLOTS_FD" 2> /dev/null || log "plots: not fed"
  exec {MPX_PLOTS_FD}>&-; MPX_PLOTS_FD=''
elif [ $noplots = 0 ]; then
  mpx_progress_msg "plotting"
  { mpx_plots_all "$OUT" || log "plots failed"; } &
  # shellcheck disable=SC2034  # read by mpx_report_write (report.sh)
  MPX_PLOTS_PID=$!
fi
# the verdict on the run as a whole (summary.json .problems: the report shows the same list)
# (one jq: the verdict, then the problem lines printed at the end)
# (.verdict removed with the report's parts, mpx_report_write)
if mpx_jq_feed verdict "$OUT/summary.json" && mpx_jq_done verdict; then mapfile -t RUN_VERDICT < "$OUT/.verdict"
else mpx_jq_done verdict 2> /dev/null || true; mapfile -t RUN_VERDICT < <(jq -r --argjson acc "$accept_unfaithful" "$RUN_VERDICT_JQ" "$OUT/summary.json"); fi
[ -n "${RUN_VERDICT[0]:-}" ] || die "no verdict: $OUT/summary.json unreadable"
read -r RUN_EXIT_CODE RUN_STATUS <<< "${RUN_VERDICT[0]}"
mpx_manifest_finish "$RUN_STATUS"
mpx_report_write "$OUT"
RUN_FINISHED=1
# results/latest follows runs kept in results/ (not --out elsewhere, e.g. tests' temp dirs)
case $OUT in "$(cd "$MPX_ROOT/results" && pwd -P)"/*) ln -sfn "$OUT" "$MPX_ROOT/results/latest" 2>/dev/null || true ;; esac
mpx_progress_msg "done in $(_mpx_fmt_s $((EPOCHSECONDS - RUN_T0_S)))"
mpx_report_headline "$OUT" >&2 || true
# every problem on stderr too, one line each (the report's "Problems" list)
for line in "${RUN_VERDICT[@]:1}"; do say "$line"; done
[ "$RUN_EXIT_CODE" = 0 ] || say "status $RUN_STATUS, exit $RUN_EXIT_CODE (see mpxlab run --help); report: $OUT/report.md"
echo "$OUT/report.md"
exit "$RUN_EXIT_CODE"
}
