#!/usr/bin/env bash
# mpxlab sweep EXP --shards N --engine local|parallel|slurm [options]
# mpxlab sweep --status DIR
#
# Splits an experiment into independent shards, writes one experiment file per shard and
# hands the jobs to an engine that already exists: one after another here (local), GNU
# parallel (this host or several over SSH), or a Slurm job array. Each job is a plain
# `./mpxlab run shards/ID.exp --out shards/ID --seed S --reps R [--rep-range A-B]`, so a
# failed shard is rerun alone; `mpxlab merge` combines the folders into one report.
#
# A shard is one or more whole variants (when there are at most as many shards as variants)
# or a block of repetitions of one variant. It keeps the run's seed: the link emulators
# seed every link direction from (seed, link, direction) at bring-up, so a whole-variant
# shard draws the loss and jitter of the single run packet for packet. A block of
# repetitions keeps its repetition numbers, order and step numbers; its links are brought up
# afresh, so its packet N meets the draws of the single run's packet N (equal to the single
# run's drops for the first block; later blocks see the same random sequence from its start).
#
# Exit: 0 every shard done (and merged, for the engines that wait), or the Slurm array
# submitted; 1 a shard failed / the merge is incomplete / the engine failed; 2 usage or a
# bad experiment.
set -euo pipefail
MPX_ROOT=${MPX_ROOT:-$(cd "$(dirname "$(readlink -f "$0")")/../.." && pwd)}
export MPX_ROOT
# shellcheck source=../harness/exp.sh
source "$MPX_ROOT/emu/harness/exp.sh"
# shellcheck source=../sweep/lib.sh
source "$MPX_ROOT/emu/sweep/lib.sh"

usage() {
  cat <<'EOF'
usage: mpxlab sweep EXP --shards N --engine local|parallel|slurm [options]
       mpxlab sweep --status DIR
  EXP                 an .exp file (or a name in experiments/)
  --shards N          number of jobs: whole variants when N <= variants, else blocks of
                      repetitions of each variant (at most variants x repetitions)
  --engine E          local: one after another on this host; parallel: GNU parallel, one
                      shard per host at a time; slurm: an sbatch --array script, one shard
                      per node (--exclusive)
  --out DIR           sweep folder (default results/sweep-<time>-<name>)
  -S, --hosts LIST    parallel: hosts, GNU parallel's -S syntax (":" = this host; default)
  --sshloginfile F    parallel: GNU parallel's host file
  --sbatch-opt OPT    slurm: one more "#SBATCH OPT" line (e.g. --partition=emu); repeatable
  --wait              slurm: submit with sbatch --wait, then merge
  --dry-run           write the shard files, print the jobs (slurm: the script) and stop
  --no-merge          do not merge into DIR/merged after the shards
  --seed S, --reps N, --signals LIST, --no-plots, --backend B    passed to every shard
  --status DIR        done / running / failed / pending shards and an ETA
exit: 0 all shards done (or submitted), 1 a shard or the engine failed, 2 usage / bad experiment
Shards on other hosts need this checkout (same commit, built) at the same path and DIR on a
shared filesystem; jobs run as root there (network namespaces).
EOF
}

exp='' shards='' engine='' out='' hosts='' loginfile='' dry=0 merge=1 wait=0
o_seed='' o_reps='' o_signals='' noplots=0 backend='' status_dir=''
sbopts=()
while [ $# -gt 0 ]; do
  case $1 in
    -h|--help) usage; exit 0 ;;
    --status) status_dir=${2:?--status needs DIR}; shift 2 ;;
    --shards) shards=${2:?--shards needs N}; shift 2 ;;
    --engine) engine=${2:?--engine needs local, parallel or slurm}; shift 2 ;;
    --out) out=${2:?--out needs DIR}; shift 2 ;;
    -S|--hosts) hosts=${2:?$1 needs a host list}; shift 2 ;;
    --sshloginfile) loginfile=${2:?--sshloginfile needs FILE}; shift 2 ;;
    --sbatch-opt) sbopts+=("${2:?--sbatch-opt needs OPT}"); shift 2 ;;
    --wait) wait=1; shift ;;
    --dry-run) dry=1; shift ;;
    --no-merge) merge=0; shift ;;
    --seed) o_seed=${2:?--seed needs S}; shift 2 ;;
    --reps) o_reps=${2:?--reps needs N}; shift 2 ;;
    --signals) o_signals=${2:?--signals needs a list}; shift 2 ;;
    --no-plots) noplots=1; shift ;;
    --backend) backend=${2:?--backend needs a name}; shift 2 ;;
    -*) echo "mpxlab sweep: unknown option '$1'" >&2; usage >&2; exit 2 ;;
    *) [ -z "$exp" ] || { echo "mpxlab sweep: one experiment at a time" >&2; exit 2; }; exp=$1; shift ;;
  esac
done
if [ -n "$status_dir" ]; then mpx_sweep_status "$status_dir"; exit $?; fi
[ -n "$exp" ] && [ -n "$shards" ] && [ -n "$engine" ] || { usage >&2; exit 2; }
[[ $shards =~ ^[1-9][0-9]{0,3}$ ]] || { echo "mpxlab sweep: --shards wants 1..9999" >&2; exit 2; }
case $engine in local|parallel|slurm) ;; *) echo "mpxlab sweep: --engine wants local, parallel or slurm" >&2; exit 2 ;; esac
[ -z "$hosts$loginfile" ] || [ "$engine" = parallel ] || { echo "mpxlab sweep: -S/--sshloginfile are for --engine parallel" >&2; exit 2; }
if [ ! -f "$exp" ]; then
  for c in "$MPX_ROOT/experiments/$exp" "$MPX_ROOT/experiments/$exp.exp"; do [ -f "$c" ] && { exp=$c; break; }; done
fi
exp=$(readlink -f "$exp" 2>/dev/null || echo "$exp")
mpx_exp_parse "$exp" || exit 2
if [ -n "$o_reps" ]; then [[ $o_reps =~ ^[1-9][0-9]{0,4}$ ]] || { echo "mpxlab sweep: --reps wants 1..99999" >&2; exit 2; }; EXP_REPS=$o_reps; fi
if [ -n "$o_seed" ]; then mpx_seed "$o_seed" > /dev/null 2>&1 || { echo "mpxlab sweep: bad --seed '$o_seed'" >&2; exit 2; }; EXP_SEED=$o_seed; fi
if [ -n "$o_signals" ]; then
  for s in ${o_signals//,/ }; do mpx_exp_signal_ok "$s" || { echo "mpxlab sweep: unknown signal '$s'" >&2; exit 2; }; done
fi
variants=("${EXP_VARIANTS[@]}")
[ ${#variants[@]} -gt 0 ] || variants=(base)
nv=${#variants[@]}
[ "$shards" -le $((nv * EXP_REPS)) ] ||
  echo "mpxlab sweep: $shards shards asked, $nv variant(s) x $EXP_REPS repetitions allow $((nv * EXP_REPS))" >&2

# ---------------------------------------------------------------------------------------------
# The sweep folder, one experiment file per shard, sweep.json
ts=$(date -u +%Y%m%d-%H%M%S)
sid=sweep-$ts-$EXP_NAME
[ -n "$out" ] || out=$MPX_ROOT/results/$sid
if [ -e "$out/sweep.json" ]; then echo "mpxlab sweep: $out already holds a sweep (--status $out, or another --out)" >&2; exit 2; fi
mkdir -p "$out/shards" "$out/state" "$out/logs"
out=$(cd "$out" && pwd -P)
sha=$(sha256sum "$exp" | cut -d' ' -f1)
order=$(IFS=,; echo "${variants[*]}")
mapfile -t plan < <(mpx_sweep_split "$nv" "$EXP_REPS" "$shards")
n=${#plan[@]}
sj='[]' i=0
for p in "${plan[@]}"; do
  i=$((i + 1)); id=$(printf '%03d' "$i")
  read -r v0 v1 ra rb <<< "$p"
  sv=("${variants[@]:v0:v1-v0+1}")
  f=$out/shards/$id.exp
  {
    echo "# mpxlab-sweep: sweep=$sid shard=$id of=$n variants=$(IFS=,; echo "${sv[*]}") reps=$ra-$rb repetitions=$EXP_REPS seed=$EXP_SEED sha256=$sha order=$order name=$EXP_NAME source=$exp"
    echo "# mpxlab-sweep: shard $id of $n of $exp (the other shards' variant lines are commented out"
    echo "# with '#sweep# '; the topology line resolved to its file)"
    awk -v keep=" ${sv[*]} " -v topo="$EXP_TOPO" '
      { w1 = $1; w2 = $2 }
      w1 == "topology" { print "topology " topo "   # mpxlab-sweep: was: " $0; next }
      w1 == "variant" && index(keep, " " w2 " ") == 0 { print "#sweep# " $0; next }
      { print }' "$exp"
  } > "$f"
  argv=(./mpxlab run "$f" --out "$out/shards/$id" --quiet --seed "$EXP_SEED" --reps "$EXP_REPS")
  [ "$ra-$rb" = "1-$EXP_REPS" ] || argv+=(--rep-range "$ra-$rb")
  [ -n "$o_signals" ] && argv+=(--signals "$o_signals")
  [ $noplots = 1 ] && argv+=(--no-plots)
  [ -n "$backend" ] && argv+=(--backend "$backend")
  sj=$(jq -c --arg id "$id" --arg reps "$ra-$rb" --arg f "$f" --arg o "$out/shards/$id" \
    --argjson vs "$(printf '%s\n' "${sv[@]}" | jq -R . | jq -s -c .)" --argjson argv "$(printf '%s\n' "${argv[@]}" | jq -R . | jq -s -c .)" \
    '. + [{id: $id, variants: $vs, reps: $reps, file: $f, out: $o, argv: $argv, cmd: ($argv | map(if test("^[A-Za-z0-9_./,:=+-]+$") then . else @sh end) | join(" "))}]' <<< "$sj")
done
jq -n --arg id "$sid" --arg exp "$exp" --arg sha "$sha" --arg name "$EXP_NAME" --argjson seed "$EXP_SEED" \
  --argjson reps "$EXP_REPS" --arg engine "$engine" --arg hosts "${hosts:-}" --arg lf "$loginfile" \
  --arg commit "$(git -C "$MPX_ROOT" rev-parse HEAD 2>/dev/null || echo unknown)" --arg created "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
  --arg root "$MPX_ROOT" --argjson variants "$(printf '%s\n' "${variants[@]}" | jq -R . | jq -s -c .)" --argjson shards "$sj" \
  '{id: $id, created: $created, experiment: $exp, name: $name, exp_sha256: $sha, seed: $seed, repetitions: $reps,
    variants: $variants, engine: $engine, hosts: (if $hosts == "" then null else $hosts end),
    sshloginfile: (if $lf == "" then null else $lf end), commit: $commit, mpxlab_root: $root, shards: $shards}' > "$out/sweep.json"
jq -r '.shards[] | .cmd' "$out/sweep.json" > "$out/jobs.txt"
echo "mpxlab sweep: $n shard(s) of $EXP_NAME ($nv variant(s) x $EXP_REPS repetitions, seed $EXP_SEED), engine $engine, in $out" >&2

# ---------------------------------------------------------------------------------------------
# Engines
SHARD=$MPX_ROOT/emu/sweep/shard.sh
ids=()
for ((i = 1; i <= n; i++)); do ids+=("$(printf '%03d' "$i")"); done

mpx_sweep_need() { # CMD GROUP: install tests/deps.sh's optional group when CMD is missing
  command -v "$1" > /dev/null && return 0
  [ "$(id -u)" = 0 ] && "$MPX_ROOT/tests/deps.sh" --with "$2" >&2 && command -v "$1" > /dev/null && return 0
  echo "mpxlab sweep: '$1' not installed (tests/deps.sh --with $2, as root)" >&2; return 1
}

mpx_sweep_merge() {
  [ $merge = 1 ] || { echo "mpxlab sweep: merge with: ./mpxlab merge $out --out $out/merged" >&2; return 0; }
  local rc=0 ma=()
  [ $noplots = 1 ] && ma=(--no-plots)
  bash "$MPX_ROOT/emu/cmd/merge.sh" "$out" --out "$out/merged" "${ma[@]}" > /dev/null || rc=$?
  return $rc
}

sweep_rc=0
case $engine in
  local)
    if [ $dry = 1 ]; then for id in "${ids[@]}"; do echo "$SHARD $out $id"; done; exit 0; fi
    for id in "${ids[@]}"; do
      t=$EPOCHSECONDS
      echo "shard $id/$(printf '%03d' "$n"): $(jq -r --arg id "$id" '.shards[] | select(.id == $id) | "\(.variants | join(",")) repetitions \(.reps)"' "$out/sweep.json")" >&2
      "$SHARD" "$out" "$id" > /dev/null || true
      read -r st _ _ _ rc < <(mpx_sweep_state "$out" "$id")
      echo "shard $id: $st (exit $rc) in $((EPOCHSECONDS - t)) s$([ "$st" = "done" ] || echo "; log: $out/logs/$id.log")" >&2
    done ;;
  parallel)
    # --jobs is per host: one emulation shard per host at a time (two would distort each
    # other's timing); simulator shards (--backend sim, no real time) one per core
    pj=1; [ "$backend" = sim ] && pj=100%
    pargs=(--jobs "$pj" --joblog "$out/parallel.joblog" --will-cite)
    [ -n "$loginfile" ] && pargs+=(--sshloginfile "$loginfile")
    [ -n "$hosts" ] && pargs+=(-S "$hosts")
    [ -n "$hosts$loginfile" ] || pargs+=(-S :)
    if [ $dry = 1 ]; then echo "parallel ${pargs[*]} $SHARD $out {} ::: ${ids[*]}"; exit 0; fi
    mpx_sweep_need parallel sweep || exit 1
    parallel "${pargs[@]}" "$SHARD" "$out" '{}' ::: "${ids[@]}" >&2 || true ;;
  slurm)
    sb=$out/sweep.sbatch
    {
      echo "#!/bin/bash"
      echo "# mpxlab $sid: $n shard(s) of $exp, one array task per shard, one shard per node"
      echo "#SBATCH --job-name=mpxlab-$EXP_NAME"
      echo "#SBATCH --array=1-$n"
      echo "#SBATCH --exclusive"
      echo "#SBATCH --nodes=1"
      echo "#SBATCH --ntasks=1"
      echo "#SBATCH --output=$out/logs/slurm-%A_%a.out"
      for o in "${sbopts[@]}"; do echo "#SBATCH $o"; done
      echo "exec $SHARD $out \"\$SLURM_ARRAY_TASK_ID\""
    } > "$sb"
    chmod +x "$sb"
    if [ $dry = 1 ]; then cat "$sb"; echo "# submit with: sbatch $sb"; exit 0; fi
    mpx_sweep_need sbatch slurm || exit 1
    sbw=(); [ $wait = 1 ] && sbw=(--wait)
    # with --wait, sbatch fails when a task did: the shard states below say which
    jid=$(sbatch --parsable "${sbw[@]}" "$sb") || [ -n "$jid" ] || { echo "mpxlab sweep: sbatch failed" >&2; exit 1; }
    jid=${jid%%;*}
    [ -n "$jid" ] && jq --arg j "$jid" '.slurm_job = $j' "$out/sweep.json" > "$out/sweep.json.tmp" && mv "$out/sweep.json.tmp" "$out/sweep.json"
    if [ $wait = 0 ]; then
      echo "mpxlab sweep: submitted Slurm array job ${jid:-?} ($n tasks); progress: ./mpxlab sweep --status $out" >&2
      echo "$out"; exit "$sweep_rc"
    fi ;;
esac
mpx_sweep_status "$out" >&2 || true
for id in "${ids[@]}"; do
  read -r st _ < <(mpx_sweep_state "$out" "$id")
  [ "$st" = "done" ] || sweep_rc=1
done
mrc=0; mpx_sweep_merge || mrc=$?
[ $mrc = 0 ] || sweep_rc=1
[ $merge = 1 ] && [ -s "$out/merged/report.md" ] && echo "$out/merged/report.md" || echo "$out"
exit "$sweep_rc"
