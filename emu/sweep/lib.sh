# shellcheck shell=bash
# mpxlab sweep: shared functions of `mpxlab sweep` and `mpxlab merge`.
#   mpx_sweep_split V R N        shard plan: "VARIANTS A-B" lines (VARIANTS comma separated)
#   mpx_sweep_header_get TEXT KEY   a key of the "# mpxlab-sweep:" header of a shard .exp
#   mpx_sweep_state DIR ID       a shard's state: pending|running|done|failed (+ fields)
#   mpx_sweep_status DIR         the --status table and ETA
# A sweep folder holds sweep.json (the plan), shards/ID.exp (one experiment file per job),
# shards/ID/ (that job's `mpxlab run` output), state/ID.json (host, start, end, exit status;
# written by emu/sweep/shard.sh), logs/ID.log (the job's stdout and stderr).

# mpx_sweep_split NVARIANTS REPS NSHARDS: one line per shard, "FIRST_VARIANT LAST_VARIANT A B"
# (0-based variant indices, repetitions A..B). At most as many shards as variants: whole
# variants, contiguous groups. More: every variant split into near-equal blocks of repetitions.
mpx_sweep_split() {
  local nv=$1 reps=$2 n=$3 i v b j
  [ "$n" -le $((nv * reps)) ] || n=$((nv * reps))
  if [ "$n" -le "$nv" ]; then
    for ((i = 0; i < n; i++)); do echo "$((i * nv / n)) $(((i + 1) * nv / n - 1)) 1 $reps"; done
    return 0
  fi
  for ((v = 0; v < nv; v++)); do
    b=$((n / nv + (v < n % nv ? 1 : 0)))
    for ((j = 0; j < b; j++)); do echo "$v $v $((j * reps / b + 1)) $(((j + 1) * reps / b))"; done
  done
}

# mpx_sweep_header_get TEXT KEY: KEY=VALUE from the "# mpxlab-sweep:" line of a shard file
mpx_sweep_header_get() {
  sed -n 's/^# mpxlab-sweep: //p' <<< "$1" | head -n1 | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n1
}

# mpx_sweep_ts ISO: epoch seconds (empty on failure)
mpx_sweep_ts() { [ -n "$1" ] && [ "$1" != null ] && date -u -d "$1" +%s 2>/dev/null; }

# mpx_sweep_state DIR ID: "STATE HOST START END RC" of one shard (START/END ISO, "-" unknown)
mpx_sweep_state() { mpx_sweep_state_of "$1/state/$2.json" "$1/shards/$2"; }

# mpx_sweep_state_of STATE_FILE SHARD_DIR: the same from the two places that know it. The
# run's own manifest wins over the state file: a shard rerun by hand with its plain
# `mpxlab run` line counts as what that run says.
mpx_sweep_state_of() {
  local sf=$1 sd=$2 m st=pending host=- start=- end=- rc=-
  m=$sd/manifest.json
  if [ -s "$sf" ]; then
    read -r host start end rc < <(jq -r '[.host // "-", .start // "-", .end // "-", (.rc // "-" | tostring)] | join(" ")' "$sf" 2>/dev/null) || true
    if [ "$end" = - ]; then
      st=running
      # a job that died without writing its end (node lost, SIGKILL): its PID is gone
      local pid h; pid=$(jq -r '.pid // empty' "$sf" 2>/dev/null) h=$(uname -n)
      [ "$host" = "$h" ] && [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null && st=failed rc=lost
    elif [ "$rc" = 0 ]; then st="done"; else st=failed; fi
  fi
  if [ -s "$m" ]; then
    # a run that wrote its report (exit 0, or 3/4/6: a failed variant, the time limit, a
    # signal without verified connections: mpxlab run --help) is merged; its exit is listed
    local ms mrc; ms=$(jq -r .status "$m" 2>/dev/null) mrc=$(jq -r '.exit_code // empty' "$m" 2>/dev/null)
    if [ "$ms" = running ] && [ ! -s "$sd/report.md" ]; then [ "$st" = pending ] && st=running
    elif [ -s "$sd/summary.json" ] && [ -s "$sd/report.md" ]; then
      st="done"
      # the run whose files are merged (also one rerun by hand after its job failed)
      start=$(jq -r .start "$m") end=$(jq -r '.end // "-"' "$m") host=$(jq -r .host.name "$m") rc=${mrc:-0}
    else st=failed; [ "$rc" = - ] && rc=${mrc:-$ms}; fi
  fi
  echo "$st ${host:--} ${start:--} ${end:--} ${rc:--}"
}

# mpx_sweep_status DIR: one line per shard, totals and an ETA from the finished shards'
# mean duration (running shards count as half done; concurrency = shards running now)
mpx_sweep_status() {
  local d=$1 id st host start end rc dur now n=0 nd=0 nr=0 nf=0 np=0 sum=0 rel=0
  [ -s "$d/sweep.json" ] || { echo "mpxlab sweep: $d has no sweep.json" >&2; return 2; }
  now=$EPOCHSECONDS
  printf 'sweep %s: %s shards, engine %s, experiment %s\n' "$(jq -r .id "$d/sweep.json")" \
    "$(jq '.shards | length' "$d/sweep.json")" "$(jq -r .engine "$d/sweep.json")" "$(jq -r .experiment "$d/sweep.json")"
  printf '%-5s %-24s %-7s %-8s %-20s %8s %s\n' shard variants reps state host time exit
  while IFS=$'\t' read -r id vs reps; do
    read -r st host start end rc < <(mpx_sweep_state "$d" "$id")
    n=$((n + 1)) dur=-
    local s e; s=$(mpx_sweep_ts "$start") e=$(mpx_sweep_ts "$end")
    case $st in
      done) nd=$((nd + 1)); [ -n "$s" ] && [ -n "$e" ] && { dur=$((e - s)); sum=$((sum + dur)); } ;;
      running) nr=$((nr + 1)); [ -n "$s" ] && { dur=$((now - s)); rel=$((rel + dur)); } ;;
      failed) nf=$((nf + 1)); [ -n "$s" ] && [ -n "$e" ] && dur=$((e - s)) ;;
      *) np=$((np + 1)) ;;
    esac
    printf '%-5s %-24s %-7s %-8s %-20s %8s %s\n' "$id" "$vs" "$reps" "$st" "$host" "$([ "$dur" = - ] && echo - || echo "${dur}s")" "$rc"
  done < <(jq -r '.shards[] | [.id, (.variants | join(",")), .reps] | @tsv' "$d/sweep.json")
  local eta='unknown (no shard finished yet)'
  if [ $nd -gt 0 ]; then
    local mean=$((sum / nd)) par=$((nr > 0 ? nr : 1)) left
    left=$(( (np * mean + nr * mean - rel) / par )); [ $left -lt 0 ] && left=0
    eta="${left}s (mean ${mean}s per finished shard, ${par} at a time)"
    [ $((np + nr)) = 0 ] && eta="0s (nothing left)"
  fi
  echo "done $nd, running $nr, failed $nf, pending $np of $n; ETA $eta"
  [ $nf = 0 ] || echo "failed shards rerun alone: emu/sweep/shard.sh $d ID (or the plain line in $d/sweep.json .shards[].cmd)"
}
