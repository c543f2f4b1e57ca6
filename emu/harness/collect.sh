# shellcheck shell=bash
# mpxlab harness: manifest, analysis, aggregation.
#   mpx_manifest_start / mpx_manifest_finish STATUS     OUT/manifest.json
#   mpx_analyze_all OUT          mpx-analyze over every variant's link pcaps
#   mpx_collect_connections OUT  OUT/connections.jsonl + connections.csv (client JSON joined
#                                with the analyzer's verdict for the same connection)
#   mpx_collect_summary OUT      OUT/summary.json (per variant and signal, with the model)
# Needs: OUT/plan.csv, steps.csv, signals.csv, raw/V/*.jsonl, links/V/{variant,model}.json,
# analysis/V/*.jsonl (all written by run.sh and the functions here).

MPX_BIN=${MPX_BIN:-$MPX_ROOT/bin}
# shellcheck source=registry.sh
declare -F mpx_reg_load > /dev/null || source "$MPX_ROOT/emu/harness/registry.sh"

# Pre-started jq. jq 1.6 compiles its builtins and the program at every start before it reads a
# byte: 35 ms of CPU for a one-liner, 0.2 s for summary.jq or report.jq, all of it on the run's
# critical path when started once their input is there. mpx_jq_early NAME OUT JQARG... starts
# `jq -n JQARG...` now (stdout to OUT, stderr discarded), its stdin a pipe from this shell, so
# it compiles while the run still makes its input; the program reads that input with `input`, a
# counted number of values, each an object or array (jq takes one as soon as its closing bracket
# arrives, not at end of file: every child started later holds the pipe's write end too).
# mpx_jq_feed NAME FILE... writes FILEs into it; mpx_jq_done NAME closes the pipe and waits:
# 0 when jq succeeded; else the caller falls back to a plain jq (which shows the errors).
# mpx_jq_early_stop ends those not done (cleanup). Without a started NAME: feed/done return 1.
# MPX_JQ_PLAIN=1: none is started and the join reads the whole analyzer records: every step on
# its plain jq (tests/integration/sim_fastpath.sh compares both ways' files)
declare -gA _MPX_JQE_FD=() _MPX_JQE_PID=() _MPX_JQE_OUT=()
mpx_jq_early() {
  local name=$1 out=$2 fd
  shift 2
  [ -z "${MPX_JQ_PLAIN:-}" ] || return 0
  exec {fd}> >(exec jq -n "$@" > "$out" 2> /dev/null)
  _MPX_JQE_PID[$name]=$! _MPX_JQE_FD[$name]=$fd _MPX_JQE_OUT[$name]=$out
}
mpx_jq_started() { [ -n "${_MPX_JQE_PID[$1]:-}" ]; }
mpx_jq_feed() {
  local name=$1
  shift
  mpx_jq_started "$name" || return 1
  cat -- "$@" 2> /dev/null 1>&"${_MPX_JQE_FD[$name]}"
}
mpx_jq_done() {
  local name=$1 fd rc=0 out
  mpx_jq_started "$name" || return 1
  fd=${_MPX_JQE_FD[$name]} out=${_MPX_JQE_OUT[$name]}
  exec {fd}>&-
  wait "${_MPX_JQE_PID[$name]}" || rc=$?
  unset "_MPX_JQE_PID[$name]" "_MPX_JQE_FD[$name]" "_MPX_JQE_OUT[$name]"
  if [ "$rc" != 0 ]; then
    rm -f "$out"
    ! declare -F log > /dev/null || log "pre-started jq $name: exit $rc, the plain jq runs"
    return 1
  fi
}
# mpx_jq_early_cancel NAME: ends a pre-started jq not fed (its input changed)
mpx_jq_early_cancel() {
  local name=$1 fd
  mpx_jq_started "$name" || return 0
  fd=${_MPX_JQE_FD[$name]}
  exec {fd}>&-
  kill "${_MPX_JQE_PID[$name]}" 2> /dev/null
  wait "${_MPX_JQE_PID[$name]}" 2> /dev/null
  rm -f "${_MPX_JQE_OUT[$name]}"
  unset "_MPX_JQE_PID[$name]" "_MPX_JQE_FD[$name]" "_MPX_JQE_OUT[$name]"
  return 0
}
mpx_jq_early_stop() {
  local name fd
  for name in "${!_MPX_JQE_PID[@]}"; do
    fd=${_MPX_JQE_FD[$name]}
    exec {fd}>&-
    kill "${_MPX_JQE_PID[$name]}" 2> /dev/null
    wait "${_MPX_JQE_PID[$name]}" 2> /dev/null
    rm -f "${_MPX_JQE_OUT[$name]}"
  done
  _MPX_JQE_PID=() _MPX_JQE_FD=() _MPX_JQE_OUT=()
  return 0
}
# mpx_jsonl_array FILE: FILE's JSON lines (one compact value per line, as jq -c writes them) as
# one array: what jq -s reads from it, as one input for a pre-started jq
mpx_jsonl_array() { awk 'NF { printf "%s%s", (n++ ? "," : "["), $0 } END { print (n ? "]" : "[]") }' "$1"; }
# mpx_jq_wrap FILE PRELUDE [FILE...]: FILE's program for mpx_jq_early: its include lines, then
# PRELUDE (binding what the plain run gets from --slurpfile or as its input), then the rest of
# FILE; with more FILEs (the same inputs) each one's output after the one before and a line of
# one \x1e (mpx_jq_split), their includes once. A FILE =TEXT is the program TEXT (no includes).
mpx_jq_wrap() {
  local LC_ALL=C l inc='' body='' lines=() pre=$2 file f=("$1")
  shift 2
  f+=("$@")
  for file in "${f[@]}"; do
    [ -z "$body" ] || body+=$'\n), "\\u001e", (\n'
    # (=TEXT: a program given as text, without includes)
    if [[ $file == =* ]]; then body+=${file#=}$'\n'; continue; fi
    mapfile -t lines < "$file"
    for l in "${lines[@]}"; do
      if [[ $l == 'include '* ]]; then [[ $inc == *"$l"$'\n'* ]] || inc+=$l$'\n'; else body+=$l$'\n'; fi
    done
  done
  printf '%s%s (\n%s\n)\n' "$inc" "$pre" "$body"
}
# mpx_jq_split FILE OUT...: FILE (the output of a wrap of several programs) cut at its \x1e lines
# into OUT..., one part each; fails unless there are as many parts as OUTs
mpx_jq_split() {
  local src=$1 outs
  shift
  outs=$(printf '%s\n' "$@")
  MPX_SPLIT_OUTS=$outs awk 'BEGIN { n = split(ENVIRON["MPX_SPLIT_OUTS"], o, "\n"); k = 1; for (i = 1; i <= n; i++) printf "" > o[i] }
    $0 == "\036" { k++; next } k <= n { print > o[k] } END { exit k != n }' "$src"
}

_mpx_ver() { # NAME CMD...: first line of a version output, or "missing"
  shift
  # (tshark run as root first warns that it runs as root: not a version)
  if command -v "$1" >/dev/null 2>&1 || [ -x "$1" ]; then "$@" 2>&1 | grep -v -m1 '^Running as user' | tr -d '"\\' ; else echo missing; fi
}

# _mpx_manifest_facts: {commit, dirty, tools} as JSON, the slow part of the manifest (tool
# versions: tshark alone takes ~2 s). The tools' part is kept in build/.tool-versions with the
# path, size, mtime and inode of every binary asked and the bash version, and read back while
# they are unchanged: 12 version calls and a jq (~0.15 s of CPU; the manifest waits for them)
_mpx_manifest_facts() {
  local tc=$MPX_ROOT/build/.tool-versions key k tools f tp=()
  mapfile -t tp < <(which jq gnuplot tcpdump ip nft tshark 2> /dev/null)
  key="$BASH_VERSION $(stat -L -c '%n %s %Y %i' "$MPX_BIN"/mpx-{linkem,server,client,proxy,analyze,wire} "${tp[@]}" \
    2> /dev/null | tr '\n' ' ')"
  if { IFS= read -r k && IFS= read -r tools; } 2> /dev/null < "$tc" && [ "$k" = "$key" ] && [[ $tools == \{*\} ]]; then
    printf '{"commit":"%s","dirty":%d,"tools":%s}\n' "$(git -C "$MPX_ROOT" rev-parse HEAD 2>/dev/null || echo unknown)" \
      "$(git -C "$MPX_ROOT" status --porcelain 2>/dev/null | grep -c . || true)" "$tools"
    return 0
  fi
  f=$(_mpx_manifest_facts_run) || return 1
  echo "$f"
  # (the tools object is the line's end: jq -c writes the keys in this order)
  [[ $f == *',"tools":{'*'}}' ]] && { { echo "$key"; tools=${f#*,\"tools\":}; echo "${tools%\}}"; } > "$tc.$$" &&
    mv "$tc.$$" "$tc"; } 2> /dev/null
  return 0
}
_mpx_manifest_facts_run() {
  local commit dirty b v kv=() ts tsf tsp='' tsk='' tsc=$MPX_ROOT/build/.tshark-version k
  # tshark's version (the slowest: ~0.6 s and 0.3 s of CPU, it registers every dissector) in the
  # background while the rest is gathered; kept in build/ with the binary's path, size, mtime
  # and inode, and read back from there while that binary is unchanged
  tsf=$(mktemp) || return 1
  command -v tshark > /dev/null 2>&1 && tsk=$(stat -L -c '%n %s %Y %i' "$(command -v tshark)" 2>/dev/null)
  if [ -n "$tsk" ] && { read -r k && read -r ts; } 2> /dev/null < "$tsc" && [ "$k" = "$tsk" ]; then
    echo "$ts" > "$tsf"
  else
    { _mpx_ver tshark tshark --version > "$tsf" 2> /dev/null
      [ -z "$tsk" ] || { { echo "$tsk"; cat "$tsf"; } > "$tsc.$$" && mv "$tsc.$$" "$tsc"; } 2> /dev/null || true; } &
    tsp=$!
  fi
  commit=$(git -C "$MPX_ROOT" rev-parse HEAD 2>/dev/null || echo unknown)
  dirty=$(git -C "$MPX_ROOT" status --porcelain 2>/dev/null | grep -c . || true)
  for b in mpx-linkem mpx-server mpx-client mpx-proxy mpx-analyze mpx-wire; do
    if [ -x "$MPX_BIN/$b" ]; then v=$(timeout 5 "$MPX_BIN/$b" --version 2>&1 | head -n1 || true); else v=missing; fi
    kv+=("$b" "$v")
  done
  # the other host tools while tshark still runs
  local jqv gp td ipv nft
  jqv=$(jq --version) gp=$(_mpx_ver gnuplot gnuplot --version) td=$(_mpx_ver tcpdump tcpdump --version)
  ipv=$(_mpx_ver ip ip -V) nft=$(_mpx_ver nft nft --version)
  [ -z "$tsp" ] || wait "$tsp" || true
  ts=$(<"$tsf"); rm -f "$tsf"
  # one jq: our binaries (name/version pairs, in this order), then the host tools
  jq -n -c --arg commit "$commit" --argjson dirty "${dirty:-0}" \
    --arg jq "$jqv" --arg gp "$gp" --arg td "$td" --arg ts "$ts" \
    --arg ip "$ipv" --arg nft "$nft" --arg bash "$BASH_VERSION" \
    '$ARGS.positional as $kv | (([range(0; $kv | length; 2) | {($kv[.]): $kv[. + 1]}] | add)
      + {jq:$jq, gnuplot:$gp, tcpdump:$td, tshark:$ts, iproute2:$ip, nft:$nft, bash:$bash}) as $tools
     | {commit: $commit, dirty: $dirty, tools: $tools}' --args "${kv[@]}"
}

# mpx_manifest_facts_bg FILE: _mpx_manifest_facts in the background (while the plan is built);
# mpx_manifest_start waits for it. MPX_FACTS_PID: the job (the cleanup ends it by PID)
mpx_manifest_facts_bg() {
  MPX_FACTS_FILE=$1
  { _mpx_manifest_facts > "$1.tmp" 2> /dev/null && mv "$1.tmp" "$1"; } &
  MPX_FACTS_PID=$!
}

# mpx_manifest_start [FILTER JQARG...]: FILTER, with its jq arguments, applied to the new manifest
mpx_manifest_start() {
  local facts commit dirty post=${1:-.}
  [ $# = 0 ] || shift
  if [ -n "${MPX_FACTS_PID:-}" ]; then wait "$MPX_FACTS_PID" 2> /dev/null || true; MPX_FACTS_PID=''; fi
  if [ -s "${MPX_FACTS_FILE:-}" ]; then facts=$(<"$MPX_FACTS_FILE"); rm -f "$MPX_FACTS_FILE"
  else facts=$(_mpx_manifest_facts); fi
  # the kernel's release, version and host name, and the two sysctls as `sysctl` prints them,
  # read from /proc (what uname and sysctl read: four processes less before the manifest)
  local kr kv kh sc='' k v
  { read -r kr < /proc/sys/kernel/osrelease && read -r kv < /proc/sys/kernel/version &&
    read -r kh < /proc/sys/kernel/hostname; } 2> /dev/null || { kr=$(uname -r) kv=$(uname -v) kh=$(uname -n); }
  for k in net.ipv4.tcp_fastopen net.mptcp.enabled; do
    read -r v 2> /dev/null < "/proc/sys/${k//.//}" && sc+="${sc:+$'\n'}$k = $v"
  done
  # one jq: the facts, the experiment (exp.sh _MPX_EXPJ_JQ, made here), the variant list
  # (positional arguments "variant\x01NAME") and the host sysctls are read inside
  _mpx_exp_json_args
  jq -n --arg id "$RUN_ID" --argjson facts "$facts" "${_MPX_EXPJ_A[@]}" \
    --arg kernel "$kr" --arg kver "$kv" --arg host "$kh" --argjson cpus "$(nproc)" \
    --arg start "$RUN_T0" --arg cmd "$REPRO" \
    --rawfile expfile "$EXP_FILE" --rawfile topofile "$EXP_TOPO" \
    --arg nstag "$NSTAG" --arg backend "${backend:-netns}" --argjson seed "$EXP_SEED" --argjson reps "$EXP_REPS" \
    --arg sysctl "$sc" \
    '($sysctl | split("\n") | map(select(length>0) | split(" = ")) | map({(.[0]): .[1]}) | add // {}) as $host_sysctl
     | ('"$_MPX_EXPJ_JQ"') as $exp
     | [$ARGS.positional[] | select(startswith("variant\u0001")) | ltrimstr("variant\u0001")] as $variants | $facts.tools as $tools | ($facts.dirty // 0) as $dirty | $facts.commit as $commit |
     {run_id:$id, status:"running", git:{commit:$commit, dirty_files:$dirty}, kernel:{release:$kernel, version:$kver},
      host:{name:$host, cpus:$cpus, sysctl:$host_sysctl}, tools:$tools,
      seed:$seed, repetitions:$reps, reproduce:$cmd, namespace_tag:$nstag, backend:$backend, variants:$variants,
      experiment:$exp, experiment_file:{path:$exp.file, text:$expfile},
      topology_file:{path:$exp.topology, text:$topofile},
      link_seeds:"per link and direction: cksum of \"mpxlab:SEED:LINK:DIR\" (emu/lib/topo.sh mpx_topo_dir_seed), see links/VARIANT/*.spec",
      start:$start, end:null} | '"$post" "$@" --args "${_MPX_EXPJ_P[@]}" "${VARIANTS[@]/#/variant$'\x01'}" > "$OUT/manifest.json"
}

mpx_manifest_finish() {
  local st=$1 m=$OUT/manifest.json
  [ -f "$m" ] || return 0
  # the pre-started one (mpx_manifest_finish_early): fed the status, exit code, end time and the
  # spec lines it counted; the plain jq when it fails
  if mpx_jq_started finish && [[ $st =~ ^[a-z\ ]+$ ]] && [[ ${RUN_EXIT_CODE:-null} =~ ^(null|[0-9]+)$ ]]; then
    if { printf '{"st":"%s","code":%s,"endt":"%s","el":%d}\n' "$st" "${RUN_EXIT_CODE:-null}" \
           "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$((EPOCHSECONDS - RUN_T0_S))"
         printf '%s' "$_MPX_FIN_LINES"; } | mpx_jq_feed finish - && mpx_jq_done finish; then
      mv "$m.early" "$m"; return 0
    fi
  fi
  mpx_jq_done finish 2> /dev/null || true
  _mpx_manifest_finish_args
  # one jq: the exact linkem SPEC of every link direction, seeds included (the spec files
  # LINKS/VARIANT/LINK.spec as raw input, one "ab|ba SPEC" line per direction; none: stdin is
  # /dev/null), and the manifest's final fields
  jq -R -n --arg root "$OUT/links/" --slurpfile man "$m" \
     --arg st "$st" --arg endt "$(date -u +%Y-%m-%dT%H:%M:%SZ)" --argjson el "$((EPOCHSECONDS - RUN_T0_S))" \
     --argjson sys "$_MPX_FIN_SYS" --argjson routes "$_MPX_FIN_ROUTES" --argjson overrun "${RUN_OVERRUN:-0}" \
     --argjson code "${RUN_EXIT_CODE:-null}" "
    $(_mpx_manifest_finish_jq '(inputs | [(input_filename | ltrimstr($root)), .])')" \
     "${_MPX_FIN_SPECS[@]}" < /dev/null > "$m.tmp" && mv "$m.tmp" "$m"
}
# _mpx_manifest_finish_jq SPECS: the finishing filter, SPECS a stream of [path under links/, line]
# of the spec files
_mpx_manifest_finish_jq() {
  printf '%s' '(reduce ('"$1"' | .[0] as $f | .[1] | capture("^(?<d>ab|ba) (?<s>.*)$") as $m
            | ($f | rtrimstr(".spec") | split("/")) as $p
            | {v: $p[0], l: $p[-1], d: $m.d, s: $m.s}) as $x
      ({}; .[$x.v][$x.l][$x.d] = $x.s)) as $specs
    | $man[0] | .link_specs = $specs | .status = $st | .exit_code = $code | .["end"] = $endt | .elapsed_s = $el | .sysctls = $sys | .routes = $routes | .run_timeout_hit = ($overrun == 1)'
}
# _mpx_manifest_finish_args: _MPX_FIN_SYS, _MPX_FIN_ROUTES (every variant's sysctls.json and
# routes.json by name), _MPX_FIN_SPECS (the spec files)
_mpx_manifest_finish_args() {
  local v f
  _MPX_FIN_SYS='{}' _MPX_FIN_ROUTES='{}' _MPX_FIN_SPECS=()
  for v in "$OUT"/links/*/; do
    [ -f "$v/sysctls.json" ] && _MPX_FIN_SYS=$(jq -c --arg k "$(basename "$v")" --slurpfile s "$v/sysctls.json" '. + {($k): $s[0]}' <<< "$_MPX_FIN_SYS")
    [ -f "$v/routes.json" ] && _MPX_FIN_ROUTES=$(jq -c --arg k "$(basename "$v")" --slurpfile s "$v/routes.json" '. + {($k): $s[0]}' <<< "$_MPX_FIN_ROUTES")
    for f in "$v"*.spec; do [ -f "$f" ] && _MPX_FIN_SPECS+=("$f"); done
  done
  return 0
}
# mpx_manifest_finish_early: mpx_manifest_finish's jq pre-started (mpx_jq_early) once the variants
# have run: the manifest, the link specs, sysctls and routes are final then. Its input: the
# status, exit code and end time as one JSON line, then each spec line as "PATH<TAB>LINE" (PATH
# under links/), as many as counted here (a counted read needs no end of file)
mpx_manifest_finish_early() {
  local m=$OUT/manifest.json f l rel n=0
  [ -f "$m" ] || return 0
  _mpx_manifest_finish_args
  _MPX_FIN_LINES=''
  for f in "${_MPX_FIN_SPECS[@]}"; do
    rel=${f#"$OUT/links/"}
    [[ $rel != *$'\t'* ]] || return 0
    while IFS= read -r l || [ -n "$l" ]; do _MPX_FIN_LINES+=$rel$'\t'$l$'\n' n=$((n + 1)); done < "$f"
  done
  mpx_jq_early finish "$m.early" -R --slurpfile man "$m" --argjson sys "$_MPX_FIN_SYS" --argjson routes "$_MPX_FIN_ROUTES" \
    --argjson overrun "${RUN_OVERRUN:-0}" --argjson n "$n" \
    "(input | fromjson) as \$a | \$a.st as \$st | \$a.code as \$code | \$a.endt as \$endt | \$a.el as \$el
     | $(_mpx_manifest_finish_jq '(if $n == 0 then empty else limit($n; inputs) end | capture("^(?<f>[^\t]*)\t(?<l>.*)$") | [.f, .l])')"
}

# mpx_manifest_set KEY JSON: one field of OUT/manifest.json, at once (e.g. run_timeout_hit when the
# time limit stops the run, so the summary sees it before the manifest is finished)
mpx_manifest_set() {
  local m=$OUT/manifest.json
  [ -f "$m" ] || return 0
  jq --arg k "$1" --argjson v "$2" '.[$k] = $v' "$m" > "$m.tmp" && mv "$m.tmp" "$m"
}

# mpx_analyze_all OUT: per variant, one --json file per link pcap and a --report over all
mpx_analyze_all() {
  local o=$1 vd v p l rc
  for vd in "$o"/pcaps/*/; do
    [ -d "$vd" ] || continue
    v=${vd%/}; v=${v##*/}; mkdir -p "$o/analysis/$v"
    if [ ! -x "$MPX_BIN/mpx-analyze" ]; then
      echo "bin/mpx-analyze missing (make)" > "$o/analysis/$v/NOT-ANALYZED"; continue
    fi
    # the links' analyses and the verification report in parallel (each only reads pcaps); the
    # exit codes are noted in link order
    local pcaps=() pids=() i rp
    for p in "$vd"*.pcap; do
      [ -s "$p" ] || continue
      pcaps+=("$p"); l=${p##*/}; l=${l%.pcap}
      timeout -s KILL 300 "$MPX_BIN/mpx-analyze" --json --out "$o/analysis/$v/$l.jsonl" "$p" \
        2>> "$o/analysis/$v/analyze.log" & pids+=($!)
    done
    [ ${#pcaps[@]} -gt 0 ] || continue
    # (the verification report is waited for by the report (mpx_analyze_wait), not by the join and
    # summary; its file made here so that the report's link to it does not depend on when
    # mpx-analyze, which opens it at its start, got to run)
    : > "$o/analysis/$v/verification.md"
    timeout -s KILL 300 "$MPX_BIN/mpx-analyze" --report --out "$o/analysis/$v/verification.md" "${pcaps[@]}" \
      2>> "$o/analysis/$v/analyze.log" & rp=$!
    _MPX_ANALYZE_WAIT+=("$rp")
    for i in "${!pids[@]}"; do
      p=${pcaps[$i]}; l=${p##*/}; l=${l%.pcap}
      rc=0; wait "${pids[$i]}" || rc=$?
      echo "$l $rc" >> "$o/analysis/$v/exit-codes"
      [ "$rc" -le 1 ] || log "mpx-analyze $p: exit $rc"
    done
    # proxy/proxy: the three-leg join (LAN, access, WAN captures) of a chain variant
    declare -F mpx_chain_legs > /dev/null && mpx_chain_legs "$o" "$v"
  done
}

# The join's stubs. join.jq reads of an analyzer record only .client, .t0_epoch_us and .link,
# and writes the record whole as the row's "a". _mpx_stub (awk; RECORD LINK N FILE) appends to
# FILE the stub {"client", "t0_epoch_us", "link", "__a_line": N} of the Nth tagged record and
# returns "no" when the record is not plainly in jq's own form: jq would print it with other bytes
# (a \u escape: jq writes \b, \f and the replacement of a bad byte its own way; a fraction, an
# exponent or 17 digits: jq's number form; a "link" key: the tag would replace it in place) or
# its client or t0_epoch_us is not where the stub reads it. _MPX_SPLICE_AWK (the tagged records,
# then the join's rows) puts each record's tagged line in place of its stub, and fails on a row
# whose stub it cannot place. Both together give the plain join's bytes.
_MPX_STUB_AWK='
function _mpx_stub(r, l, n, f,   c, t, rest) {
  if (r ~ /\\u/ || r ~ /"link":/ || r ~ /[,:[]-?[0-9]+[.eE]/ ||
      r ~ /[,:[]-?[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]/) return "no"
  if (!match(r, /^\{"type":"conn","pcap":"([^"\\]|\\.)*","client":/)) return "no"
  rest = substr(r, RLENGTH + 1)
  if (match(rest, /^null[,}]/)) c = "null"
  else if (match(rest, /^"[^"\\]*"[,}]/)) c = substr(rest, 1, RLENGTH - 1)
  else return "no"
  if (gsub(/"t0_epoch_us":/, "&", r) != 1 || !match(r, /"t0_epoch_us":(null|-?[0-9]+)[,}]/)) return "no"
  t = substr(r, RSTART + 14, RLENGTH - 15)
  printf "{\"client\":%s,\"t0_epoch_us\":%s,\"link\":\"%s\",\"__a_line\":%d}\n", c, t, l, n > f
  return "yes"
}'
_MPX_SPLICE_AWK='
NR == FNR { rec[FNR] = $0; next }
{ if (match($0, /"a":\{"client":(null|"[^"\\]*"),"t0_epoch_us":(null|-?[0-9]+),"link":"[^"\\]*","__a_line":[0-9]+\}/)) {
    s = substr($0, RSTART, RLENGTH); sub(/^.*"__a_line":/, "", s); sub(/\}$/, "", s)
    if (!((s + 0) in rec)) exit 3
    $0 = substr($0, 1, RSTART - 1) "\"a\":" rec[s + 0] substr($0, RSTART + RLENGTH)
  }
  if (index($0, "\"__a_line\":")) exit 3
  print }'

# mpx_analyze_wait: the verification reports mpx_analyze_all started
_MPX_ANALYZE_WAIT=()
mpx_analyze_wait() {
  local p
  for p in "${_MPX_ANALYZE_WAIT[@]}"; do wait "$p" || true; done
  _MPX_ANALYZE_WAIT=()
}

# mpx_collect_connections OUT
mpx_collect_connections() {
  local o=$1 v vd
  : > "$o/connections.jsonl"
  for vd in "$o"/raw/*/; do
    [ -d "$vd" ] || continue
    v=${vd%/}; v=${v##*/}
    local cp=dsl vj=''
    [ -f "$o/links/$v/variant.json" ] && vj=$(<"$o/links/$v/variant.json")
    # the first client<->proxy link: from the compact variant.json (mpx_variant_describe), with
    # jq only when it is written otherwise
    if [[ $vj =~ \"model_links\":\{\"cp\":\"([A-Za-z0-9_.+-]*)\" ]]; then cp=${BASH_REMATCH[1]%%+*}
    elif [ -n "$vj" ]; then cp=$(jq -r '.model_links.cp | split("+")[0]' <<< "$vj"); fi
    # analyzer records, tagged with their link; the first client<->proxy link is preferred
    # (one jq, in the background while the client lines are gathered)
    local an=$o/analysis/$v/.all.jsonl; : > "$an"
    local f afs=() anp=''
    for f in "$o/analysis/$v"/*.jsonl; do
      [ -f "$f" ] && [ "${f##*/}" != .all.jsonl ] && afs+=("$f")
    done
    if [ ${#afs[@]} -gt 0 ] && ! grep -qv '^{"type":"' "${afs[@]}" 2>/dev/null; then
      # mpx-analyze's own lines (compact, "type" first, as jq -c writes them): its conn records
      # tagged by awk, the same bytes as the jq below without its ~0.15 s of CPU. Beside them the
      # join's stubs (_mpx_join_stubs: the join parses 60 kB instead of ~1 MB); none when a
      # record is not plainly in jq's own form
      awk -v stubs="$an.stub" 'FNR == 1 { l = FILENAME; sub(/.*\//, "", l); sub(/\.jsonl$/, "", l) }
        /^\{"type":"conn",.*\}$/ { print substr($0, 1, length($0) - 1) ",\"link\":\"" l "\"}"
          n++; if (ok != "no") ok = _mpx_stub($0, l, n, stubs) }
        END { if (ok == "no") exit 3 }
        '"$_MPX_STUB_AWK" "${afs[@]}" > "$an" &
      anp=$!
    elif [ ${#afs[@]} -gt 0 ]; then
      jq -c 'select(.type == "conn") | . + {link: (input_filename | sub(".*/"; "") | rtrimstr(".jsonl"))}' \
        "${afs[@]}" > "$an" 2>/dev/null &
      anp=$!
    fi
    # client lines (one file per step); steps without output become failed rows
    local cl=$o/raw/$v/.client.jsonl; : > "$cl"
    if [ "$(echo "$o/raw/$v"/*.jsonl)" = "$o/raw/$v/sim.jsonl" ] && ! grep -qv '^{"type":"conn",.*,"simulated":true}$' "$o/raw/$v/sim.jsonl"; then
      cat "$o/raw/$v/sim.jsonl" >> "$cl" # mpx-sim --records: its conn lines only, as jq -c writes them
    else
      cat "$o/raw/$v"/*.jsonl 2>/dev/null | jq -c 'select(.type == "conn")' >> "$cl" 2>/dev/null || true
    fi
    local anrc=0
    if [ -n "$anp" ]; then wait "$anp" || anrc=$?; fi
    if [ "$anrc" != 0 ] && [ "$anrc" != 3 ]; then
      : > "$an" # an unreadable file: the readable ones, file by file
      for f in "${afs[@]}"; do
        jq -c --arg l "$(basename "$f" .jsonl)" 'select(.type == "conn") | . + {link: $l}' "$f" 2>/dev/null >> "$an" || true
      done
    fi
    # with stubs (awk exit 0): the join on them, each stub in its output then replaced by its
    # record's line (_mpx_join_splice); the plain join when that fails
    if [ -n "$anp" ] && [ "$anrc" = 0 ] && [ -s "$an.stub" ] && [ -z "${MPX_JQ_PLAIN:-}" ] &&
       jq -n -c --arg v "$v" --arg cp "$cp" --slurpfile cl "$cl" --slurpfile an "$an.stub" \
         --rawfile steps "$o/steps.csv" -f "$MPX_ROOT/emu/harness/join.jq" > "$an.join" &&
       awk "$_MPX_SPLICE_AWK" "$an" "$an.join" > "$an.joined"; then
      cat "$an.joined" >> "$o/connections.jsonl"
    else
      [ -z "$anp" ] || [ "$anrc" != 0 ] || [ -n "${MPX_JQ_PLAIN:-}" ] || ! declare -F log > /dev/null ||
        log "join of $v on stubs failed: the plain join runs"
      jq -n -c --arg v "$v" --arg cp "$cp" --slurpfile cl "$cl" --slurpfile an "$an" \
        --rawfile steps "$o/steps.csv" -f "$MPX_ROOT/emu/harness/join.jq" >> "$o/connections.jsonl"
    fi
    rm -f "$an.stub" "$an.join" "$an.joined"
  done
  # proxy/proxy rows: the CPE's own connection as the row's analyzer record (chain.sh)
  if declare -F mpx_chain_join > /dev/null; then mpx_chain_join "$o" || log "chain join failed"; fi
  # connections.csv is written while the summary is made (mpx_collect_summary waits for it)
  jq -r -s -f "$MPX_ROOT/emu/harness/csv.jq" "$o/connections.jsonl" > "$o/connections.csv" &
  _MPX_CSV_PID=$!
}

# mpx_collect_summary OUT
mpx_collect_summary() {
  local o=$1 vars vitems=() vd vn
  # variants in the experiment's order (manifest), not the directory order
  local vlist
  # (from jq's indented manifest without a jq start-up when every name is plain)
  vlist=$(awk '/^  "variants": \[$/ { on = 1; next } on && /^  \]/ { exit }
    on { s = $0; sub(/^    "/, "", s); sub(/",?$/, "", s); print s }' "$o/manifest.json" 2>/dev/null)
  [[ $vlist =~ ^[A-Za-z0-9._+=:@-]+($'\n'[A-Za-z0-9._+=:@-]+)*$ ]] || vlist=$(jq -r '.variants[]?' "$o/manifest.json" 2>/dev/null)
  [ -n "$vlist" ] || vlist=$(cd "$o/links" && ls -d -- */ 2>/dev/null | tr -d /)
  for vn in $vlist; do
    vd=$o/links/$vn/
    [ -f "$vd/variant.json" ] || continue
    local vj; vj=$(<"$vd/variant.json")
    local st='{}' l
    for l in "$o/pcaps/$vn"/*.stats.json; do
      [ -s "$l" ] || continue
      st=$(jq -c --arg k "$(basename "$l" .stats.json)" --slurpfile s "$l" '. + {($k): $s[0]}' <<< "$st" 2>/dev/null || echo "$st")
    done
    local ev='{}'
    for l in "$o/pcaps/$vn"/*.events.jsonl; do
      [ -f "$l" ] || continue
      ev=$(jq -c --arg k "$(basename "$l" .events.jsonl)" --argjson n "$(grep -c . "$l" || true)" '. + {($k): $n}' <<< "$ev")
    done
    local fo='null'
    [ -f "$vd/failover.json" ] && fo=$(jq -c . "$vd/failover.json")
    # native end-to-end MPTCP probes made while an implicit signal's HAG interception was up
    local nat='{}'
    if compgen -G "$o/native/$vn/*.jsonl" > /dev/null && [ -s "$o/logs/$vn/server-mptcp.jsonl" ]; then
      nat=$(cat "$o/native/$vn"/*.jsonl | jq -s -c --slurpfile srv "$o/logs/$vn/server-mptcp.jsonl" '
        [$srv[] | select(.type == "conn")] as $s
        | [.[] | select(.type == "conn") | . as $c
           | {signal: (.tag | split("/") | .[3] | ltrimstr("native-")), ok: (.ok == true),
              e2e: ([$s[] | select(.peer == $c.local and .mptcp == "mptcp")] | length > 0),
              seen: ([$s[] | select(.peer == $c.local)] | length > 0)}]
        | group_by(.signal) | map({key: .[0].signal, value: {n: length, ok: (map(select(.ok)) | length),
            end_to_end: (map(select(.e2e)) | length),
            intercepted: (map(select(.ok and (.seen | not))) | length)}}) | from_entries' 2>/dev/null || echo '{}')
    fi
    # the agents' own counters: proxy (and the RFC 1929 instance), server connection count
    local ag='{}' ld=$o/logs/$vn
    # (cpe: the CPE of a chain experiment; server-chain: its per-row server, chain.sh)
    for l in proxy proxy-auth cpe; do
      [ -s "$ld/$l.stats.json" ] && ag=$(jq -c --arg k "$l" --slurpfile s "$ld/$l.stats.json" '. + {($k): $s[0]}' <<< "$ag" 2>/dev/null || echo "$ag")
    done
    [ -s "$ld/server.jsonl" ] && ag=$(jq -c --argjson n "$(jq -s '[.[] | select(.type == "conn")] | length' "$ld/server.jsonl" 2>/dev/null || echo 0)" \
      --argjson nv "$(jq -s '[.[] | select(.type == "conn" and .verified == true)] | length' "$ld/server.jsonl" 2>/dev/null || echo 0)" \
      '. + {server: {connections: $n, verified: $nv}}' <<< "$ag")
    [ -s "$ld/chain-ports.json" ] && ag=$(jq -c --slurpfile p "$ld/chain-ports.json" '. + {chain_ports: $p[0]}' <<< "$ag" 2>/dev/null || echo "$ag")
    compgen -G "$ld/server-chain-*.jsonl" > /dev/null && ag=$(jq -c --slurpfile c <(cat "$ld"/server-chain-*.jsonl) \
      '. + {server_chain: {connections: ([$c[] | select(.type == "conn")] | length), verified: ([$c[] | select(.type == "conn" and .verified == true)] | length),
        peers: ([$c[] | select(.type == "conn") | .peer // "" | sub(":[0-9]+$"; "") | gsub("[\\[\\]]"; "")] | group_by(.) | map({key: .[0], value: length}) | from_entries)}}' <<< "$ag" 2>/dev/null || echo "$ag")
    # the variant's health (run.sh: ok, failed, partial, not run); none = ok (generated runs)
    local hl='{"status":"ok","reason":null}'
    [ -s "$vd/health.json" ] && hl=$(<"$vd/health.json")
    # the host side of the fidelity monitor (fidelity.sh); none = not measured
    local hj=null
    [ -s "$vd/host.json" ] && hj=$(<"$vd/host.json")
    # the simulator's run of the same variant (sim.sh): cross-check, or the run itself (--backend sim)
    local sj=null
    [ -s "$vd/sim.json" ] && sj=$(<"$vd/sim.json")
    # the variant + {link_stats, ...}: as text when variant.json is one non-empty object (the
    # summary's --argjson parses it; a key given twice keeps the later value in its first place,
    # as jq's + does), else with jq
    if [[ $vj == \{* && $vj =~ [^{[:space:]][[:space:]]*\}$ ]]; then
      vitems+=("${vj%\}},\"link_stats\":$st,\"link_drop_events\":$ev,\"failover\":$fo,\"agents\":$ag,\"native_mptcp\":$nat,\"health\":$hl,\"host\":$hj,\"sim\":$sj}")
    else vitems+=("$(jq -n -c --argjson v "$vj" --argjson st "$st" --argjson ev "$ev" --argjson fo "$fo" --argjson ag "$ag" \
      --argjson nat "$nat" --argjson hl "$hl" --argjson hj "$hj" --argjson sj "$sj" '$v + {link_stats: $st, link_drop_events: $ev, failover: $fo, agents: $ag, native_mptcp: $nat, health: $hl, host: $hj, sim: $sj}')")
    fi
  done
  printf -v vars '%s,' "${vitems[@]}"; vars="[${vars%,}]"
  mpx_reg_load || return 1
  [ -f "$o/signals.json" ] || mpx_reg_save "$o/signals.json"
  # the variants through a file, not an argument: with faults and link events they outgrow the
  # kernel's 128 KiB limit for one argument (failover.exp, 7 variants x 30 downloads)
  # (the pre-started one, mpx_summary_early, when there is one: the variants, then the connections
  # as one array; the plain jq when it fails)
  if mpx_jq_started summary && { printf '%s\n' "$vars"; mpx_jsonl_array "$o/connections.jsonl"; } |
       mpx_jq_feed summary - && mpx_jq_done summary; then
    mv "$o/.summary.early" "$o/summary.json"
  else
    mpx_jq_done summary 2> /dev/null || true
    jq -s -L "$MPX_ROOT/emu/harness" --slurpfile varsf <(printf '%s' "$vars") --slurpfile man "$o/manifest.json" \
      --slurpfile reg "$o/signals.json" \
      --rawfile sigs "$o/signals.csv" --rawfile plan <(cat "$o/plan.csv" 2>/dev/null) --rawfile skipped <(cat "$o/skipped.csv" 2>/dev/null) -f "$MPX_ROOT/emu/harness/summary.jq" "$o/connections.jsonl" > "$o/summary.json.tmp"
    mv "$o/summary.json.tmp" "$o/summary.json"
  fi
  if [ -n "${_MPX_CSV_PID:-}" ]; then
    wait "$_MPX_CSV_PID" || { _MPX_CSV_PID=''; echo "connections.csv: csv.jq failed" >&2; return 1; }
    _MPX_CSV_PID=''
  fi
}

# mpx_summary_early OUT: summary.jq pre-started (mpx_jq_early) once the variants have run: the
# manifest, registry, plan, signals and skipped steps are final then; mpx_collect_summary feeds it
mpx_summary_early() {
  local o=$1 f
  for f in manifest.json signals.json signals.csv plan.csv skipped.csv; do [ -f "$o/$f" ] || return 0; done
  mpx_jq_early summary "$o/.summary.early" -L "$MPX_ROOT/emu/harness" --slurpfile man "$o/manifest.json" \
    --slurpfile reg "$o/signals.json" --rawfile sigs "$o/signals.csv" --rawfile plan "$o/plan.csv" \
    --rawfile skipped "$o/skipped.csv" \
    "$(mpx_jq_wrap "$MPX_ROOT/emu/harness/summary.jq" 'input as $__v | input as $__c | [$__v] as $varsf | $__c |')"
}

# mpx_variant_describe NAME: the current EXP_* globals (one variant) with its analytic model
# (model.jq evaluates each formula id once; every registry row gets its row's formula)
# _MPX_DESCRIBE_JQ: a variant's description from $d (mpx_model_delays), $f (the model, null
# without the round trips), $cm (the proxy/proxy model or null), $exp, $reg and $pol: every
# registry row gets its row's formula, the proxy/proxy rows their own entries beside them (by
# row name)
_MPX_DESCRIBE_JQ='(if $f == null then {} else $f.signals as $ff
        # SYN data the converter policy holds until the third ACK: cookie-less rows under the
        # default "cookie" policy, every SYN-payload row under "third-ack" (agents/README.md)
        | def held: .syn_data and ($pol == "third-ack" or ($pol == "cookie" and .tfo != "cookie"));
        $reg.signals | map(select($ff[.model] != null)
          | (if held and $ff[.model + "-held"] != null then .model + "-held" else .model end) as $id
          | {key: .name, value: ($ff[$id] + {formula_id: $id})}) | from_entries end) as $ms
    | (if $cm == null then $ms else $ms + $cm.signals end) as $ms
    | {name: $name, middlebox: $exp.middlebox, params: $exp.param, sysctl: $exp.sysctl, target: $exp.target,
      syn_data_policy: ($exp.syn_data_policy // "cookie"),
      sim_reps: $exp.sim_reps,
      workload: $exp.workload, mptcp: $exp.mptcp, tfo: $exp.tfo, faults: $exp.fault, signals: $exp.signals,
      repetitions: $exp.repetitions, model_links: $exp.model_links, delays: $d.delays,
      chain: $exp.chain,
      model: ({R_cp_ms: $d.R_cp_ms, R_ps_ms: $d.R_ps_ms, signals: $ms}
        + (if $cm == null then {} else {R_cp_ms: $cm.R_cp_ms, R_lan_ms: $cm.R_lan_ms, R_acc_ms: $cm.R_acc_ms, direct_ttfb_ms: $cm.direct_ttfb_ms} end))}'

mpx_variant_describe() {
  local v=$1 d f='null' lan=() rcp cm='null' rows tfo=false
  mpx_reg_load || return 1
  [ "$EXP_TFO" = on ] && tfo=true
  # without a chain, one jq: the delays from the topology's lines (modellib.jq delays, as
  # mpx_model_delays computes them), the model on them (model_json, as mpx_model_json) and the
  # description (three jq start-ups less than the steps below)
  # (the experiment's JSON made inside too: exp.sh _MPX_EXPJ_JQ)
  if [ -z "${EXP_CHAIN:-}" ] && rows=$(mpx_model_delay_rows "$EXP_TOPO" "${EXP_PARAM[@]}" 2> /dev/null); then
    _mpx_exp_json_args
    jq -n -c -L "$MPX_ROOT/emu/harness" --arg name "$v" "${_MPX_EXPJ_A[@]}" --argjson cm null \
      --argjson reg "$MPX_REG" --arg pol "${EXP_SYN_POLICY:-cookie}" --argjson tfo "$tfo" \
      --arg rows "$rows" --arg cp "$EXP_CP" --arg ps "$EXP_PS" --arg lan "${EXP_LAN:-}" \
      'include "modellib"; ('"$_MPX_EXPJ_JQ"') as $exp | ($rows | split("\n") | delays($cp; $ps; $lan)) as $d
       | (if $d.R_cp_ms == null then null else model_json($d.R_cp_ms; $d.R_ps_ms; $tfo) end) as $f
       | '"$_MPX_DESCRIBE_JQ" --args "${_MPX_EXPJ_P[@]}"
    return
  fi
  [ -n "${EXP_LAN:-}" ] && lan=("lan=$EXP_LAN")
  d=$(mpx_model_delays "$EXP_TOPO" "$EXP_CP" "$EXP_PS" "${lan[@]}" "${EXP_PARAM[@]}" 2>/dev/null) || d='{"R_cp_ms":null,"R_ps_ms":null}'
  local rps
  # both round trips (null when the topology lacks a link): mpx_model_delays prints them first,
  # in this order; anything else is read with jq
  if [[ $d =~ ^\{\"R_cp_ms\":([-0-9.eE+]+|null),\"R_ps_ms\":([-0-9.eE+]+|null)[,}] ]]; then
    rcp=${BASH_REMATCH[1]} rps=${BASH_REMATCH[2]}
  else read -r rcp rps < <(jq -r '[.R_cp_ms, .R_ps_ms] | map(tojson) | @tsv' <<< "$d"); fi
  if [ "$rcp" != null ]; then
    if [ -n "${EXP_CHAIN:-}" ]; then
      # proxy/proxy (chain.sh): the measured clients sit on a LAN host, R_lan from it: every row's
      # R_cp is the LAN host's round trip to the HAG (R_lan + R_acc); the cpe: rows get the
      # chain model (model.jq chain_g) with R_acc = the CPE's first access link
      local rows
      rows=$(printf '%s\n' "${EXP_SIGNALS[@]}" | jq -R -s -c --argjson reg "$MPX_REG" '
        [split("\n")[] | select(startswith("cpe:")) | capture("^cpe:(?<ch>.+):w(?<w>[0-9]+)$") as $m
         | {name: ., wait_ms: ($m.w | tonumber), row: ($reg.signals | map(select(.name == $m.ch)) | .[0])}
         | select(.row != null)]')
      cm=$(mpx_model_chain_json "$(jq '.R_lan_ms // 0' <<< "$d")" "$rcp" "$rps" "${EXP_SYN_POLICY:-cookie}" "$rows")
      rcp=$(jq .R_cp_ms <<< "$cm")
    fi
    f=$(mpx_model_json "$rcp" "$rps" "$EXP_TFO")
  fi
  # one jq: every registry row gets its row's formula from the model ($f: formula id -> entry;
  # null without the round trips), the proxy/proxy rows their own entries beside them (by row
  # name), and the variant's description around them
  jq -n -c --arg name "$v" --argjson exp "$(mpx_exp_json)" --argjson d "$d" --argjson f "$f" --argjson cm "$cm" \
    --argjson reg "$MPX_REG" --arg pol "${EXP_SYN_POLICY:-cookie}" "$_MPX_DESCRIBE_JQ"
}
