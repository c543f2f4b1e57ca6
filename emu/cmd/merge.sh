#!/usr/bin/env bash
# mpxlab merge DIR... --out DIR [--no-plots] [--quiet]
#
# Combines shard folders (the `mpxlab run` output of `mpxlab sweep` jobs) into one results
# folder with the files of a single run: connections.csv/.jsonl (every shard's rows, in
# experiment and step order), summary.json, plots and report.md/.html recomputed over all
# repetitions by the harness's own code (collect.sh, summary.jq, plots.sh, report.sh), per
# variant links/, merged link and agent counters, analyzer output, and pcaps/VARIANT/shard-ID
# links to each shard's pcaps (not copied). The simulator cross-check (emu/harness/sim.sh) runs
# again over the merged plan, with one calibration of the processing times on the first loss-free
# variant's connections from every shard (the shards' own fits, named in the report, are not
# mixed). A DIR is a sweep folder (its sweep.json lists the shards it expects) or one shard's
# folder.
#
# Refuses (exit 3, printing which and where) shards whose commit, kernel, topology file or
# experiment (file, seed, repetitions, --signals) differ, and shards that overlap (one
# repetition twice). Failed or missing shards are left out and named: in manifest.json
# (.shards: id, host, start, end, exit status, state), at the top of the report and in its
# "Shards" section.
# Exit: 0 merged, every shard done; 4 merged, some shard failed or missing (named); 3 refused;
# 2 usage; 1 nothing to merge / cannot write.
set -euo pipefail
MPX_ROOT=${MPX_ROOT:-$(cd "$(dirname "$(readlink -f "$0")")/../.." && pwd)}
export MPX_ROOT
H=$MPX_ROOT/emu/harness
# shellcheck source=../sweep/lib.sh
source "$MPX_ROOT/emu/sweep/lib.sh"
# shellcheck source=../harness/registry.sh
source "$H/registry.sh"
# shellcheck source=../harness/collect.sh
source "$H/collect.sh"
# shellcheck source=../harness/report.sh
source "$H/report.sh"
# shellcheck source=../harness/plots.sh
source "$H/plots.sh"
# shellcheck source=../harness/sim.sh
source "$H/sim.sh"

usage() {
  cat <<'EOF'
usage: mpxlab merge DIR... --out DIR [--no-plots] [--quiet]
  DIR         a sweep folder (mpxlab sweep --out) or shard folders (its shards/ID)
  --out DIR   the merged results folder (same files as one run)
  --no-plots  skip gnuplot
exit: 0 merged, 4 merged without failed/missing shards (named in the report), 3 refused
(commit, kernel, topology or experiment differ, or shards overlap), 2 usage, 1 error
EOF
}

dirs=() out='' noplots=0 quiet=0
while [ $# -gt 0 ]; do
  case $1 in
    -h|--help) usage; exit 0 ;;
    --out) out=${2:?--out needs DIR}; shift 2 ;;
    --no-plots) noplots=1; shift ;;
    --quiet) quiet=1; shift ;;
    -*) echo "mpxlab merge: unknown option '$1'" >&2; usage >&2; exit 2 ;;
    *) dirs+=("$1"); shift ;;
  esac
done
[ ${#dirs[@]} -gt 0 ] && [ -n "$out" ] || { usage >&2; exit 2; }
say() { [ $quiet = 1 ] || echo "mpxlab merge: $*" >&2; }

# ---------------------------------------------------------------------------------------------
# The shards: ID, folder, state (done|failed|missing|running|pending), host, start, end, rc
S_ID=() S_DIR=() S_ST=() S_HOST=() S_T0=() S_T1=() S_RC=() S_SWEEP=()
mpx_merge_add() { # ID DIR STATE HOST START END RC SWEEP
  S_ID+=("$1") S_DIR+=("$2") S_ST+=("$3") S_HOST+=("$4") S_T0+=("$5") S_T1+=("$6") S_RC+=("$7") S_SWEEP+=("$8")
}
for d in "${dirs[@]}"; do
  [ -d "$d" ] || { echo "mpxlab merge: $d: no such folder" >&2; exit 2; }
  d=$(cd "$d" && pwd -P)
  if [ -s "$d/sweep.json" ]; then
    sid=$(jq -r .id "$d/sweep.json")
    while read -r id; do
      read -r st host t0 t1 rc < <(mpx_sweep_state "$d" "$id")
      [ -d "$d/shards/$id" ] || [ "$st" != pending ] || st=missing
      [ "$st" = pending ] && st=missing
      mpx_merge_add "$id" "$d/shards/$id" "$st" "$host" "$t0" "$t1" "$rc" "$sid"
    done < <(jq -r '.shards[].id' "$d/sweep.json")
  elif [ -f "$d/manifest.json" ] || [ -f "$d/plan.csv" ]; then
    id=$(basename "$d") sd=$(dirname "$(dirname "$d")") sid=-
    [ -s "$sd/sweep.json" ] && sid=$(jq -r .id "$sd/sweep.json")
    read -r st host t0 t1 rc < <(mpx_sweep_state_of "$sd/state/$id.json" "$d")
    mpx_merge_add "$id" "$d" "$st" "$host" "$t0" "$t1" "$rc" "$sid"
  else
    echo "mpxlab merge: $d is neither a sweep folder (sweep.json) nor a run folder (manifest.json)" >&2; exit 2
  fi
done
ns=${#S_ID[@]}

# ---------------------------------------------------------------------------------------------
# Refuse what cannot be one experiment: compare every shard that has a manifest with the first
mpx_merge_key() { # MANIFEST FIELD
  local m=$1
  case $2 in
    commit) jq -r '.git.commit // "?"' "$m" ;;
    kernel) jq -r '.kernel.release // "?"' "$m" ;;
    topology) jq -r '.topology_file.text // ""' "$m" | sha256sum | cut -c1-16 ;;
    experiment)
      local t s
      t=$(jq -r '.experiment_file.text // ""' "$m")
      s=$(mpx_sweep_header_get "$t" sha256)
      [ -n "$s" ] || s=$(printf '%s' "$t" | sha256sum | cut -c1-64)
      printf 'file %s, seed %s, repetitions %s%s' "${s:0:16}" "$(jq -r .seed "$m")" "$(jq -r .repetitions "$m")" \
        "$(jq -r '.reproduce // ""' "$m" | grep -o -- "--signals [^ ]*" | sed 's/^/, /' || true)" ;;
  esac
}
ref=-1 bad=0
for ((i = 0; i < ns; i++)); do
  m=${S_DIR[$i]}/manifest.json
  [ -s "$m" ] || continue
  if [ $ref -lt 0 ]; then ref=$i; continue; fi
  for k in commit kernel topology experiment; do
    a=$(mpx_merge_key "${S_DIR[$ref]}/manifest.json" $k) b=$(mpx_merge_key "$m" $k)
    if [ "$a" != "$b" ]; then
      echo "mpxlab merge: refusing: $k differs: shard ${S_ID[$ref]} (${S_DIR[$ref]}) has $a; shard ${S_ID[$i]} (${S_DIR[$i]}) has $b" >&2
      bad=1
    fi
  done
done
[ $bad = 0 ] || exit 3
ok=()
for ((i = 0; i < ns; i++)); do [ "${S_ST[$i]}" = "done" ] && ok+=("$i"); done
[ ${#ok[@]} -gt 0 ] || { echo "mpxlab merge: no finished shard to merge (states: ${S_ST[*]})" >&2; exit 1; }
# one repetition in two shards (the same folder given twice, two sweeps of one experiment)
dup=$(for i in "${ok[@]}"; do tail -n +2 "${S_DIR[$i]}/plan.csv" | sed "s/^/${S_ID[$i]},/"; done |
  awk -F, '{k = $2 "," $3 "," $4; if (k in s) print "variant " $2 " repetition " $3 " step " $4 " in shards " s[k] " and " $1; else s[k] = $1}' | head -n 5)
if [ -n "$dup" ]; then echo "mpxlab merge: refusing: shards overlap:"$'\n'"$dup" >&2; exit 3; fi

# ---------------------------------------------------------------------------------------------
# The merged folder
if [ -e "$out" ] && [ -n "$(ls -A "$out" 2>/dev/null)" ]; then
  if [ -f "$out/.mpxlab-merge" ]; then rm -rf -- "$out"
  else echo "mpxlab merge: $out exists and is not an earlier merge; choose another --out" >&2; exit 1; fi
fi
mkdir -p "$out"/{pcaps,logs,raw,analysis,plots,links}
: > "$out/.mpxlab-merge"    # an earlier merge (even a half-written one) may be replaced
OUT=$(cd "$out" && pwd -P)
RUN_LOG=$OUT/logs/run.log
: > "$RUN_LOG"
log() { printf '%s %s\n' "$(date -u +%H:%M:%S.%3N)" "$*" >> "$RUN_LOG"; }
first=${S_DIR[${ok[0]}]}
cp "$first/signals.json" "$first/budget.json" "$OUT/" 2>/dev/null || true
# variants in the experiment's order: the shard header's order=, else as the shards list them
etext=$(jq -r '.experiment_file.text // ""' "$first/manifest.json")
IFS=, read -r -a VORDER <<< "$(mpx_sweep_header_get "$etext" order)"
if [ ${#VORDER[@]} = 0 ]; then
  mapfile -t VORDER < <(for i in "${ok[@]}"; do jq -r '.variants[]' "${S_DIR[$i]}/manifest.json"; done | awk '!s[$0]++')
fi
# relative link from a folder in OUT to a shard's folder (the sweep folder moves as a whole)
mpx_merge_link() { ln -sfn "$(realpath --relative-to="$(dirname "$2")" "$1")" "$2"; }
# numbers of several counter files added up (maxima, percentiles, high-water marks: the
# largest; start times: the earliest); anything else from the first
SUMJQ='def m($a; $b; $k): if ($a | type) == "number" and ($b | type) == "number" then
    (if ($k | test("max|hwm|^p[0-9]+$|late|wake|_ms$|delay|avg|cpus|clk_tck|slice")) then ([$a, $b] | max)
     elif ($k | test("start|t0")) then ([$a, $b] | min) else $a + $b end)
  elif ($a | type) == "object" and ($b | type) == "object" then
    reduce (($a + $b) | keys_unsorted[]) as $kk ($a; .[$kk] = m($a[$kk]; $b[$kk]; $kk))
  elif $a == null then $b else $a end;
reduce .[1:][] as $x (.[0]; m(.; $x; ""))'

echo "variant,rep,step,signal" > "$OUT/plan.csv"
echo "variant,signal,status,reason" > "$OUT/signals.csv"
: > "$OUT/steps.csv"; : > "$OUT/skipped.csv"; : > "$OUT/connections.jsonl"
for v in "${VORDER[@]}"; do
  have=()
  for i in "${ok[@]}"; do [ -d "${S_DIR[$i]}/links/$v" ] && have+=("$i"); done
  [ ${#have[@]} -gt 0 ] || { log "variant $v: no finished shard"; continue; }
  say "variant $v: ${#have[@]} shard(s)"
  mkdir -p "$OUT/links/$v" "$OUT/pcaps/$v" "$OUT/analysis/$v" "$OUT/raw/$v" "$OUT/logs/$v"
  f0=${S_DIR[${have[0]}]}
  cp -a "$f0/links/$v/." "$OUT/links/$v/"
  rm -f "$OUT/links/$v/failover.json"
  for i in "${have[@]}"; do
    s=${S_DIR[$i]} id=${S_ID[$i]}
    awk -F, -v v="$v" 'NR > 1 && $1 == v' "$s/plan.csv" >> "$OUT/plan.csv.tmp"
    awk -F, -v v="$v" '$1 == v' "$s/steps.csv" >> "$OUT/steps.csv.tmp"
    awk -F, -v v="$v" 'NR > 1 && $1 == v' "$s/signals.csv" >> "$OUT/signals.csv.tmp"
    awk -F, -v v="$v" '$1 == v' "$s/skipped.csv" >> "$OUT/skipped.csv"
    jq -c --arg v "$v" 'select(.variant == $v)' "$s/connections.jsonl" >> "$OUT/connections.tmp"
    [ -d "$s/raw/$v" ] && cp -a "$s/raw/$v/." "$OUT/raw/$v/"
    [ -d "$s/native/$v" ] && { mkdir -p "$OUT/native/$v"; cp -a "$s/native/$v/." "$OUT/native/$v/"; }
    [ -d "$s/pcaps/$v" ] && mpx_merge_link "$s/pcaps/$v" "$OUT/pcaps/$v/shard-$id"
    [ -d "$s/logs/$v" ] && mpx_merge_link "$s/logs/$v" "$OUT/logs/$v/shard-$id"
    for f in "$s/pcaps/$v"/*.events.jsonl; do
      [ -f "$f" ] && jq -c --arg id "$id" '. + {shard: $id}' "$f" >> "$OUT/pcaps/$v/$(basename "$f")"
    done
    for f in "$s/analysis/$v"/*.jsonl; do [ -f "$f" ] && cat "$f" >> "$OUT/analysis/$v/$(basename "$f")"; done
    [ -f "$s/analysis/$v/verification.md" ] && { echo "# shard $id"; cat "$s/analysis/$v/verification.md"; echo; } >> "$OUT/analysis/$v/verification.md"
    [ -f "$s/analysis/$v/NOT-ANALYZED" ] && cp "$s/analysis/$v/NOT-ANALYZED" "$OUT/analysis/$v/"
    for f in server.jsonl server-mptcp.jsonl faults.log; do [ -f "$s/logs/$v/$f" ] && cat "$s/logs/$v/$f" >> "$OUT/logs/$v/$f"; done
    [ -f "$s/links/$v/failover.json" ] && cat "$s/links/$v/failover.json" >> "$OUT/links/$v/.failover.all"
  done
  # counters: link emulators per link, agents per instance
  for f in "$f0/pcaps/$v"/*.stats.json "$f0/logs/$v"/*.stats.json; do
    [ -f "$f" ] || continue
    rel=${f#"$f0"/}
    files=(); for i in "${have[@]}"; do [ -s "${S_DIR[$i]}/$rel" ] && files+=("${S_DIR[$i]}/$rel"); done
    jq -s -c "$SUMJQ" "${files[@]}" > "$OUT/$rel"
  done
  # a variant cut into blocks: its health is the worst block's (named), the fidelity monitor's
  # host counters are added up like the others, the simulator's per-connection rows joined
  if [ ${#have[@]} -gt 1 ]; then
    hs2=(); : > "$OUT/links/$v/.health.all"
    for i in "${have[@]}"; do
      [ -s "${S_DIR[$i]}/links/$v/health.json" ] &&
        jq -c --arg id "${S_ID[$i]}" '. + {shard: $id}' "${S_DIR[$i]}/links/$v/health.json" >> "$OUT/links/$v/.health.all"
      [ -s "${S_DIR[$i]}/links/$v/host.json" ] && hs2+=("${S_DIR[$i]}/links/$v/host.json")
    done
    [ -s "$OUT/links/$v/.health.all" ] && jq -s -c '(map(select(.status != "ok")) | .[0]) as $bad
      | if $bad then $bad + {reason: "shard \($bad.shard): \($bad.reason // $bad.status)"} else .[0] end | del(.shard)' \
      "$OUT/links/$v/.health.all" > "$OUT/links/$v/health.json"
    rm -f "$OUT/links/$v/.health.all"
    [ ${#hs2[@]} -gt 1 ] && jq -s -c "$SUMJQ" "${hs2[@]}" > "$OUT/links/$v/host.json"
    : > "$OUT/links/$v/sim.jsonl.tmp"
    for i in "${have[@]}"; do [ -f "${S_DIR[$i]}/links/$v/sim.jsonl" ] && cat "${S_DIR[$i]}/links/$v/sim.jsonl" >> "$OUT/links/$v/sim.jsonl.tmp"; done
    if [ -s "$OUT/links/$v/sim.jsonl.tmp" ]; then mv "$OUT/links/$v/sim.jsonl.tmp" "$OUT/links/$v/sim.jsonl"; else rm -f "$OUT/links/$v/sim.jsonl.tmp"; fi
  fi
  # failover rows of every shard (summary.jq computes the totals from .per_connection)
  if [ -s "$OUT/links/$v/.failover.all" ]; then
    jq -s -c '.[0] + {per_connection: (map(.per_connection // []) | add)}' "$OUT/links/$v/.failover.all" > "$OUT/links/$v/failover.json"
  fi
  rm -f "$OUT/links/$v/.failover.all"
done
# plan, steps and connections in experiment order, by step within a variant
vo=$(printf '%s\n' "${VORDER[@]}" | jq -R . | jq -s -c .)
for f in plan signals; do
  [ -f "$OUT/$f.csv.tmp" ] || continue
  if [ $f = plan ]; then
    jq -R -c --argjson vo "$vo" 'split(",") | [(. as $r | $vo | index($r[0])), (.[2] | tonumber), .]' "$OUT/plan.csv.tmp" |
      jq -s -r 'sort_by(.[0], .[1])[] | .[2] | join(",")' >> "$OUT/plan.csv"
  else awk '!s[$0]++' "$OUT/$f.csv.tmp" >> "$OUT/$f.csv"; fi
  rm -f "$OUT/$f.csv.tmp"
done
[ -f "$OUT/steps.csv.tmp" ] && { jq -R -c --argjson vo "$vo" 'split(",") | [(. as $r | $vo | index($r[0])), (.[2] | tonumber), (. | join(","))]' "$OUT/steps.csv.tmp" |
  jq -s -r 'sort_by(.[0], .[1])[] | .[2]' > "$OUT/steps.csv"; rm -f "$OUT/steps.csv.tmp"; }
[ -f "$OUT/connections.tmp" ] && { jq -s -c --argjson vo "$vo" 'sort_by([(.variant as $v | $vo | index($v)), .step])[]' "$OUT/connections.tmp" > "$OUT/connections.jsonl"; rm -f "$OUT/connections.tmp"; }
jq -r -s -f "$H/csv.jq" "$OUT/connections.jsonl" > "$OUT/connections.csv"

# ---------------------------------------------------------------------------------------------
# The manifest: the first finished shard's, with every shard listed
shj='[]'
for ((i = 0; i < ns; i++)); do
  s=${S_DIR[$i]} m=${S_DIR[$i]}/manifest.json rng='' vs='[]' nconn=null repro=''
  if [ -s "$m" ]; then
    t=$(jq -r '.experiment_file.text // ""' "$m")
    rng=$(mpx_sweep_header_get "$t" reps); vs=$(jq -c '.variants // []' "$m"); repro=$(jq -r '.reproduce // ""' "$m")
  fi
  [ "${S_ST[$i]}" = "done" ] && nconn=$(grep -c . "$s/connections.jsonl" || true)
  shj=$(jq -c --arg id "${S_ID[$i]}" --arg dir "$s" --arg st "${S_ST[$i]}" --arg host "${S_HOST[$i]}" \
    --arg t0 "${S_T0[$i]}" --arg t1 "${S_T1[$i]}" --arg rc "${S_RC[$i]}" --arg reps "$rng" --argjson vs "$vs" \
    --argjson n "${nconn:-null}" --arg sw "${S_SWEEP[$i]}" --arg repro "$repro" --arg rel "$(realpath --relative-to="$OUT" "$s")" \
    'def opt: if . == "-" or . == "" then null else . end;
     . + [{id: $id, sweep: ($sw | opt), dir: $rel, state: $st, host: ($host | opt), start: ($t0 | opt), "end": ($t1 | opt),
       exit_status: ($rc | opt | if . != null and test("^[0-9]+$") then tonumber else . end),
       variants: $vs, repetitions: ($reps | opt), connections: $n, reproduce: ($repro | opt),
       merged: ($st == "done")}]' <<< "$shj")
done
sweep_ids=$(printf '%s\n' "${S_SWEEP[@]}" | awk '$0 != "-" && !s[$0]++' | paste -sd, -)
RUN_ID=${sweep_ids:-merge-$(date -u +%Y%m%d-%H%M%S)}-merged
nbad=$(jq '[.[] | select(.merged | not)] | length' <<< "$shj")
single=$(jq -r '.reproduce // ""' "$first/manifest.json" | sed -E 's#^\./mpxlab run [^ ]+#./mpxlab run '"$(jq -r '.experiment_file.path // "EXP"' "$first/manifest.json" | sed 's#[&\#]#\\&#g')"'#; s/ --rep-range [0-9]+-[0-9]+//')
jq --arg id "$RUN_ID" --argjson sh "$shj" --argjson vo "$vo" --arg st "$([ "$nbad" = 0 ] && echo "done" || echo partial)" \
  --arg single "$single" --arg hdr_name "$(mpx_sweep_header_get "$etext" name)" --arg hdr_src "$(mpx_sweep_header_get "$etext" source)" --slurpfile all <(for i in "${ok[@]}"; do cat "${S_DIR[$i]}/manifest.json"; done) \
  --arg now "$(date -u +%Y-%m-%dT%H:%M:%SZ)" --arg nstag "-" \
  '($sh | map(select(.merged))) as $okd
   | ($hdr_name | if . == "" then null else . end) as $nm | ($hdr_src | if . == "" then null else . end) as $src
   | if $nm then .experiment.name = $nm else . end
   | if $src then .experiment.file = $src | .experiment_file.path = $src else . end
   | .run_id = $id | .status = $st | .variants = $vo | .namespace_tag = $nstag
   | .merged_from = ($sh | length) | .merged_at = $now | .shards = $sh
   | .shards_failed = [$sh[] | select(.merged | not) | .id]
   | .start = ([$all[].start] | min) | .["end"] = ([$all[].end | select(. != null)] | max)
   | .elapsed_s = ([$all[].elapsed_s // 0] | add)
   | .host = {name: ([$all[].host.name] | unique | join(",")), cpus: ([$all[].host.cpus] | min), sysctl: .host.sysctl}
   | .link_specs = (reduce $all[] as $m ({}; . * ($m.link_specs // {})))
   | .sysctls = (reduce $all[] as $m ({}; . * ($m.sysctls // {})))
   | .git.dirty_files = ([$all[].git.dirty_files // 0] | max)
   | .run_timeout_hit = ([$all[].run_timeout_hit // false] | any)
   | .reproduce = "# the same as one run:\n\($single)\n# as merged here, each shard rerunnable alone:\n" +
       ([$sh[] | .reproduce // empty] | join("\n")) + "\n./mpxlab merge SHARD_DIRS... --out DIR"' \
  "$first/manifest.json" > "$OUT/manifest.json"

# ---------------------------------------------------------------------------------------------
# The simulator cross-check and its calibration, again over the merged folder (emu/harness/sim.sh):
# each shard simulated its own part of the plan and fitted the processing times on its own part
# of the first loss-free variant, or on none (a shard of lossy variants only); mixing those fits
# would give variants calibrated differently. So the merged variants are simulated again on the
# merged plan, in the experiment's order, and one fit is made on the first loss-free variant's
# connections from every shard. A variant the shards ran on the simulator itself (--backend sim:
# its sim.json is the run) keeps the first shard's files.
mpx_merge_sim() {
  local v i f fits='[]' n=0
  EXP_TIMEOUT_CONN=$(jq -r '.experiment.timeouts.conn_s // 20' "$first/manifest.json")
  EXP_WARMUP_MS=$(jq -r '.experiment.warmup_ms // 1' "$first/manifest.json")
  export EXP_TIMEOUT_CONN EXP_WARMUP_MS
  rm -f "$OUT/sim-calibration.json"
  for v in "${VORDER[@]}"; do
    [ -f "$OUT/links/$v/variant.json" ] || continue
    grep -qs '"backend":"sim"' "$OUT/links/$v/sim.json" && continue
    rm -f "$OUT/links/$v"/sim.{json,jsonl,args,err} "$OUT/links/$v/sim-measured.txt"
    mpx_sim_variant "$OUT" "$v" || log "variant $v: simulator cross-check failed"
    n=$((n + 1))
  done
  [ "$n" -gt 0 ] || return 0
  # what each shard had fitted, for the report's Shards section
  for i in "${ok[@]}"; do
    f=${S_DIR[$i]}/sim-calibration.json
    fits=$(jq -c --arg id "${S_ID[$i]}" --slurpfile c <(cat "$f" 2>/dev/null) \
      '. + [{id: $id, from: ($c[0].from // null), proc_us: ($c[0].calibration.proc_us // null)}]' <<< "$fits")
  done
  jq -c --argjson n "$n" '{rerun: $n, shards: .}' <<< "$fits" > "$OUT/.merge-sim.json"
}
# mpx_merge_sim_md: the paragraph on the calibration for the Shards section
mpx_merge_sim_md() {
  [ -s "$OUT/.merge-sim.json" ] || return 0
  jq -r --slurpfile c <(cat "$OUT/sim-calibration.json" 2>/dev/null) '
    def t: "client \(.client) µs, proxy \(.proxy) µs, server \(.server) µs";
    ($c[0] // null) as $m
    | "The simulator cross-check ran again over the merged plan (\(.rerun) variant(s); emu/harness/sim.sh) and "
      + (if $m == null then "made no calibration (no loss-free variant that ran and was modelled)."
         else "calibrated once, on the connections of every shard of the loss-free variant `\($m.from)` (\([$m.calibration.signals[].measured_n] | add) measured connections): \($m.calibration.proc_us | t) per step, the times of every evidence table and figure here." end)
      + " The shards'"'"' own fits, each on its part of the connections, are not used: "
      + (.shards | map("shard \(.id): " + (if .from == null then "none (no loss-free variant)" else "`\(.from)` \(.proc_us | t)" end)) | join("; ")) + "."' \
    "$OUT/.merge-sim.json"
}

# ---------------------------------------------------------------------------------------------
# Statistics, plots and report: the harness's own functions over the merged folder
say "the simulator cross-check and its calibration over the merged plan"
mpx_merge_sim
say "aggregating $(grep -c . "$OUT/connections.jsonl" || true) connections"
mpx_collect_summary "$OUT" || { echo "mpxlab merge: summary failed (logs/run.log)" >&2; exit 1; }
if [ $noplots = 0 ]; then mpx_plots_all "$OUT" || log "plots failed"; fi
mpx_report_write "$OUT"
# the shards: a line at the top when one is missing, a section before "How to reproduce"
shmd=$(jq -r '
  "## Shards\n\nThis report merges \([.shards[] | select(.merged)] | length) of \(.shards | length) shard(s) (`mpxlab merge`); statistics are recomputed over all merged repetitions.\n\n| shard | variants | repetitions | state | host | start | end | exit | connections |\n|---|---|---|---|---|---|---|---|---|\n" +
  (.shards | map("| \(.id) | \(.variants | join(", ")) | \(.repetitions // "all") | \(if .merged then "merged" else "**\(.state): not in this report**" end) | \(.host // "–") | \(.start // "–") | \(.end // "–") | \(.exit_status // "–") | \(.connections // "–") |") | join("\n")) + "\n"' "$OUT/manifest.json")
simmd=$(mpx_merge_sim_md)
[ -z "$simmd" ] || shmd+=$'\n'"$simmd"$'\n'
rm -f "$OUT/.merge-sim.json"
warn=$(jq -r 'select(.shards_failed | length > 0) | "> **Incomplete: " + ([.shards[] | select(.merged | not) | "shard \(.id) (\(if (.variants | length) > 0 then "variant " + (.variants | join(", ")) else "variant ?" end)\(if .repetitions then ", repetitions " + .repetitions else "" end)) \(.state)\(if .exit_status then ", exit \(.exit_status)" else "" end)"] | join("; ")) + " — its connections are not in this report.**\n"' "$OUT/manifest.json")
awk -v sh="$shmd" -v warn="$warn" '
  NR == 2 && warn != "" { print ""; print warn }
  /^## How to reproduce/ && !done { print sh; print ""; done = 1 }
  { print }
  END { if (!done) print sh }' "$OUT/report.md" > "$OUT/report.md.tmp" && mv "$OUT/report.md.tmp" "$OUT/report.md"
awk -v dir="$OUT" -f "$H/md2html.awk" "$OUT/report.md" > "$OUT/report.html"
say "$(mpx_report_headline "$OUT" 2>/dev/null || true)"
if [ "$nbad" != 0 ]; then
  echo "mpxlab merge: $nbad shard(s) not merged: $(jq -r '[.shards[] | select(.merged | not) | "\(.id) (\(.state))"] | join(", ")' "$OUT/manifest.json")" >&2
fi
echo "$OUT/report.md"
[ "$nbad" = 0 ] || exit 4
exit 0
