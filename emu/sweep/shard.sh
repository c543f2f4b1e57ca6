#!/usr/bin/env bash
# emu/sweep/shard.sh SWEEP_DIR ID: run one shard of a sweep, the job every engine starts
# (local loop, GNU parallel, a Slurm array task). The work is the shard's plain
# `./mpxlab run shards/ID.exp --out shards/ID ...` line from SWEEP_DIR/sweep.json; around it
# this records state/ID.json (host, PID, start, end, exit status) for `mpxlab sweep --status`
# and `mpxlab merge`, and sends the run's output to logs/ID.log. A shard's earlier output
# folder is removed first, so a failed shard is simply started again.
# ID may be a number ("3"), formatted to the sweep's "003". Needs the same mpxlab checkout
# (same commit, built) at the same path on every host, and SWEEP_DIR on a shared filesystem.
# Exit: the run's exit status (0 report written, 1 run failed, 2 bad shard); 2 usage.
set -euo pipefail
MPX_ROOT=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.." && pwd)
export MPX_ROOT
[ $# = 2 ] || { echo "usage: emu/sweep/shard.sh SWEEP_DIR ID" >&2; exit 2; }
d=$(cd "$1" 2>/dev/null && pwd) || { echo "shard: no sweep folder $1" >&2; exit 2; }
[ -s "$d/sweep.json" ] || { echo "shard: $d/sweep.json missing" >&2; exit 2; }
id=$2
[[ $id =~ ^[0-9]+$ ]] && id=$(printf '%03d' "$((10#$id))")
mapfile -t argv < <(jq -r --arg id "$id" '.shards[] | select(.id == $id) | .argv[]' "$d/sweep.json")
[ ${#argv[@]} -gt 0 ] || { echo "shard: no shard $id in $d/sweep.json" >&2; exit 2; }
out=$d/shards/$id
mkdir -p "$d/state" "$d/logs"
case $out in "$d"/shards/?*) rm -rf -- "$out" ;; esac
mpx_shard_state() { # END RC: state/ID.json (END/RC empty: still running)
  jq -n --arg id "$id" --arg host "$(uname -n)" --argjson pid "$$" --arg start "$t0" --arg endt "$1" \
    --arg rc "$2" --arg job "${SLURM_ARRAY_JOB_ID:+slurm:$SLURM_ARRAY_JOB_ID/${SLURM_ARRAY_TASK_ID:-}}${PARALLEL_SEQ:+parallel:$PARALLEL_SEQ}" \
    '{id: $id, host: $host, pid: $pid, start: $start, "end": (if $endt == "" then null else $endt end),
      rc: (if $rc == "" then null else ($rc | tonumber) end), job: (if $job == "" then null else $job end)}' \
    > "$d/state/$id.json.tmp" && mv "$d/state/$id.json.tmp" "$d/state/$id.json"
}
t0=$(date -u +%Y-%m-%dT%H:%M:%SZ)
mpx_shard_state "" ""
rc=0
cd "$MPX_ROOT"
echo "shard $id on $(uname -n), $t0: ${argv[*]}" > "$d/logs/$id.log"
# the run bounds itself (per-step and run timeouts); this is the last resort
timeout -k 30 "${MPX_SWEEP_SHARD_TIMEOUT:-86400}" "${argv[@]}" >> "$d/logs/$id.log" 2>&1 || rc=$?
mpx_shard_state "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$rc"
echo "shard $id: exit $rc ($(uname -n))"
exit "$rc"
