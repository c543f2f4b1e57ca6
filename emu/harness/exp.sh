# shellcheck shell=bash
# mpxlab harness: the .exp parser (format in experiments/README.md).
#   mpx_exp_parse FILE     fills the EXP_* globals; on a bad line prints "FILE:LINE: reason"
#                          to stderr and returns 2
#   mpx_exp_json           the parsed experiment as one JSON object (for manifest.json)
#   mpx_exp_variant_apply NAME   overlays a variant's directives on the EXP_* globals
#   mpx_exp_routes_apply RUN, mpx_exp_routes_snapshot RUN   the `route` lines in a running
#                          topology, and the routes as JSON (the only side effects here)
# Pure bash (+ jq for the JSON dump); the parser has no side effects besides the globals.

# The signal names come from the registry (registry.sh: `mpx-wire signals --json`); "all" in
# an .exp means every registry row. A "?" suffix marks a signal optional: when it cannot run
# (unknown to the registry, or its requirements missing here) the run reports it as not run
# instead of failing.
# shellcheck source=registry.sh
declare -F mpx_reg_load > /dev/null || source "$MPX_ROOT/emu/harness/registry.sh"
# shellcheck source=../lib/parse.sh
declare -F mpx_duration_us > /dev/null || source "$MPX_ROOT/emu/lib/parse.sh"

mpx_exp_reset() {
  EXP_FILE='' EXP_DIR='' EXP_NAME='' EXP_TOPO='' EXP_TOPO_ARG=''
  EXP_SIGNALS=() EXP_SIGNALS_ALL=0
  declare -gA EXP_SIG_OPTIONAL=()
  EXP_WORKLOAD='rr 100/1000' EXP_REPS=10 EXP_SEED=1 EXP_MPTCP=on EXP_TFO=off EXP_TARGET=4 EXP_SYN_POLICY='' EXP_SIM_REPS=0
  EXP_SYSCTL=() EXP_ROUTE=() EXP_PARAM=() EXP_MIDDLEBOX=() EXP_FAULT=()
  EXP_TIMEOUT_SETUP=60 EXP_TIMEOUT_CONN=20 EXP_TIMEOUT_RUN=0 EXP_WARMUP_MS=1
  EXP_VARIANTS=() EXP_DESC='' EXP_CP=dsl EXP_PS=wan EXP_LAN='' _MPX_EXP_POST=()
  # proxy/proxy (chain.sh): the CPE node, its first-bytes waits W (ms), the LAN hosts
  EXP_CHAIN='' EXP_CHAIN_WAITS=(0 5) EXP_CHAIN_HOSTS=(lan1) EXP_SIG_TOKENS=()
  declare -gA EXP_VARIANT_SPEC=() EXP_SEEN=()
}

# _mpx_exp_err LINE MSG: report and fail (caller returns 2)
_mpx_exp_err() { echo "${EXP_FILE}:$1: $2" >&2; return 2; }

# mpx_exp_dur_ms TEXT: a duration (lib/parse.h grammar: "1500ms" "2s" "250us" "0") -> whole ms
# (rounded up) on stdout; fails on anything else
mpx_exp_dur_ms() {
  local us
  us=$(mpx_duration_us "$1" 2> /dev/null) || return 1
  echo $(( (us + 999) / 1000 ))
}

# mpx_exp_size_ok TEXT: 100, 10MB, 64kB, 1GiB ... (bytes with an optional unit)
mpx_exp_size_ok() { [[ $1 =~ ^[0-9]+([kKMG]i?B|B)?$ ]]; }

# mpx_exp_signal_ok TOKEN: a registry name, "all", or either with the optional "?" suffix
# (an unknown name is fine when optional: the run reports it as not run)
# Proxy/proxy rows (a `chain` line, emu/harness/chain.sh): "cpe:NAME:wW" is registry row NAME
# signalled by the CPE for a plain-TCP LAN client, the CPE waiting up to W ms for the LAN
# client's first bytes; "cpe:NAME" is one row per wait of the chain line, "cpe:all" every row.
mpx_exp_signal_ok() {
  local t=$1
  mpx_reg_load || return 1
  [[ $t == *\? ]] && { [[ ${t%\?} =~ ^[a-z0-9][a-z0-9_:-]*$ ]]; return; }
  if [[ $t =~ ^cpe:([a-z0-9][a-z0-9_-]*)(:w(0|[1-9][0-9]{0,4}))?$ ]]; then
    [ "${BASH_REMATCH[1]}" = all ] || mpx_reg_known "${BASH_REMATCH[1]}"; return
  fi
  [ "$t" = all ] || mpx_reg_known "$t"
}

# mpx_exp_signals_set TOKEN...: EXP_SIGNALS (names, in order, once each) and EXP_SIG_OPTIONAL
# from a signals list; "all" adds every registry row not listed yet
mpx_exp_signals_set() {
  local t n opt names=() w
  local -A seen=()
  EXP_SIGNALS=() EXP_SIGNALS_ALL=0 EXP_SIG_OPTIONAL=() EXP_SIG_TOKENS=("$@")
  mpx_reg_load || return 1
  for t; do
    opt=0; [[ $t == *\? ]] && { opt=1; t=${t%\?}; }
    if [ "$t" = all ]; then names=("${MPX_REG_NAMES[@]}"); EXP_SIGNALS_ALL=1
    elif [[ $t =~ ^cpe:[^:]+$ ]]; then   # one row per wait (per registry row for cpe:all)
      names=()
      [ "$t" = cpe:all ] && t=$(printf 'cpe:%s\n' "${MPX_REG_NAMES[@]}") || true
      for n in $t; do for w in "${EXP_CHAIN_WAITS[@]}"; do names+=("$n:w$w"); done; done
    else names=("$t"); fi
    for n in "${names[@]}"; do
      [ -n "${seen[$n]:-}" ] && continue
      seen[$n]=1; EXP_SIGNALS+=("$n")
      [ $opt = 1 ] && EXP_SIG_OPTIONAL[$n]=1
    done
  done
  return 0
}

# Checks shared by top-level lines and variant clauses. $1 line, $2 directive, rest args.
# Prints nothing; returns 2 with a message on a bad argument.
_mpx_exp_check() {
  local ln=$1 d=$2; shift 2
  local a
  case $d in
    topology)
      [ $# = 1 ] || { _mpx_exp_err "$ln" "topology takes one file name, got $#"; return 2; } ;;
    signals)
      [ $# -ge 1 ] || { _mpx_exp_err "$ln" "signals: list at least one signal (or 'all')"; return 2; }
      mpx_reg_load || { _mpx_exp_err "$ln" "signals: the signal registry is not available (make)"; return 2; }
      for a; do
        mpx_exp_signal_ok "$a" || { _mpx_exp_err "$ln" "unknown signal '$a' (known: ${MPX_REG_NAMES[*]} all; NAME? marks one optional)"; return 2; }
      done ;;
    workload)
      case ${1:-} in
        rr) [ $# = 2 ] && [[ $2 =~ ^([0-9]+([kKMG]i?B|B)?)/([0-9]+([kKMG]i?B|B)?)$ ]] ||
              { _mpx_exp_err "$ln" "workload rr wants REQ/RESP sizes, e.g. 'rr 100/1000'"; return 2; } ;;
        bulk-down|bulk-up|echo)
            [ $# = 2 ] && mpx_exp_size_ok "$2" ||
              { _mpx_exp_err "$ln" "workload $1 wants one size, e.g. '$1 10MB'"; return 2; } ;;
        *) _mpx_exp_err "$ln" "unknown workload '${1:-}' (rr, bulk-down, bulk-up, echo)"; return 2 ;;
      esac ;;
    repetitions)
      [ $# = 1 ] && [[ $1 =~ ^[1-9][0-9]{0,4}$ ]] ||
        { _mpx_exp_err "$ln" "repetitions wants an integer 1..99999, got '$*'"; return 2; } ;;
    warmup)
      [ $# = 1 ] && { [ "$1" = 0 ] || mpx_exp_dur_ms "$1" > /dev/null; } ||
        { _mpx_exp_err "$ln" "warmup wants a duration like 3s (0 = none), got '$*'"; return 2; } ;;
    seed)
      [ $# = 1 ] && mpx_seed "$1" > /dev/null 2>&1 ||
        { _mpx_exp_err "$ln" "seed wants a non-negative integer (0..$MPX_SEED_MAX, no leading zeros), got '$*'"; return 2; } ;;
    mptcp)
      [ $# = 1 ] && [[ $1 =~ ^(on|off)$ ]] || { _mpx_exp_err "$ln" "mptcp wants on|off, got '$*'"; return 2; } ;;
    tfo)
      [ $# = 1 ] && [[ $1 =~ ^(on|off)$ ]] || { _mpx_exp_err "$ln" "tfo wants on|off, got '$*'"; return 2; } ;;
    sim-reps)
      [ $# = 1 ] && [[ $1 =~ ^[1-9][0-9]{0,6}$ ]] ||
        { _mpx_exp_err "$ln" "sim-reps wants an integer 1..9999999 (simulated repetitions per signal), got '$*'"; return 2; } ;;
    syn-data-policy)
      [ $# = 1 ] && [[ $1 =~ ^(cookie|third-ack|immediate(:[1-9][0-9]{0,6})?)$ ]] ||
        { _mpx_exp_err "$ln" "syn-data-policy wants cookie|third-ack|immediate[:RATE], got '$*'"; return 2; } ;;
    target)
      [ $# = 1 ] && [[ $1 =~ ^(4|6|ipv4|ipv6)$ ]] || { _mpx_exp_err "$ln" "target wants 4|6, got '$*'"; return 2; } ;;
    sysctl)
      [ $# -ge 2 ] || { _mpx_exp_err "$ln" "sysctl wants NODE KEY=VALUE..."; return 2; }
      [[ $1 =~ ^[a-z][a-z0-9_-]*$|^all$ ]] || { _mpx_exp_err "$ln" "sysctl: bad node name '$1'"; return 2; }
      shift
      for a; do
        [[ $a =~ ^net\.[a-z0-9_.]+=[A-Za-z0-9_.:,-]+$ ]] ||
          { _mpx_exp_err "$ln" "sysctl: '$a' is not net.KEY=VALUE"; return 2; }
      done ;;
    route)
      # route NODE [all | dev IF[,IF...] | to PREFIX] initcwnd=N [initrwnd=N]
      local rusage="route wants NODE [all|dev IF[,IF...]|to PREFIX] initcwnd=N|initrwnd=N..."
      [ $# -ge 2 ] || { _mpx_exp_err "$ln" "$rusage"; return 2; }
      [[ $1 =~ ^[a-z][a-z0-9_-]*$|^all$ ]] || { _mpx_exp_err "$ln" "route: bad node name '$1'"; return 2; }
      local rnode=$1
      [ "$rnode" = all ] || _MPX_EXP_POST+=("$ln routenode $rnode")
      shift
      case $1 in
        all) shift ;;
        dev) [ $# -ge 2 ] && [[ $2 =~ ^[A-Za-z0-9_.-]+(,[A-Za-z0-9_.-]+)*$ ]] ||
               { _mpx_exp_err "$ln" "route: 'dev' wants an interface name (or IF,IF...), got '${2:-}'"; return 2; }
             _MPX_EXP_POST+=("$ln routedev $rnode ${2//,/ }"); shift 2 ;;
        to)  [ $# -ge 2 ] && _mpx_exp_prefix_ok "$2" ||
               { _mpx_exp_err "$ln" "route: 'to' wants default or an IPv4/IPv6 prefix (198.18.1.0/24, fd00::/64), got '${2:-}'"; return 2; }
             shift 2 ;;
      esac
      [ $# -ge 1 ] || { _mpx_exp_err "$ln" "route: no attribute (initcwnd=N or initrwnd=N)"; return 2; }
      local -A rseen=()
      for a; do
        [[ $a =~ ^(initcwnd|initrwnd)=([1-9][0-9]{0,3})$ ]] && [ "${BASH_REMATCH[2]}" -le 1024 ] ||
          { _mpx_exp_err "$ln" "route: '$a' is not initcwnd=N or initrwnd=N (N = 1..1024 segments)"; return 2; }
        [ -z "${rseen[${a%%=*}]:-}" ] || { _mpx_exp_err "$ln" "route: ${a%%=*} given twice"; return 2; }
        rseen[${a%%=*}]=1
      done ;;
    param)
      [ $# -ge 1 ] || { _mpx_exp_err "$ln" "param wants LINK.KEY=VALUE, LINK.(ab|ba|both).KEY=VALUE or NODE.OPTION=VALUE"; return 2; }
      for a; do
        [[ $a =~ ^[a-z][a-z0-9_]*\.[A-Za-z0-9_.-]+=[^[:space:]]+$ ]] ||
          { _mpx_exp_err "$ln" "param: '$a' is not NAME.KEY=VALUE"; return 2; }
        _MPX_EXP_POST+=("$ln param $a")
      done ;;
    model)
      [ $# -ge 1 ] || { _mpx_exp_err "$ln" "model wants cp=LINK[+LINK] ps=LINK[+LINK] [lan=LINK[+LINK]]"; return 2; }
      for a; do
        [[ $a =~ ^(cp|ps|lan)=[a-z][a-z0-9_]*(\+[a-z][a-z0-9_]*)*$ ]] || { _mpx_exp_err "$ln" "model: '$a' is not cp=LINK[+LINK...], ps=LINK[+LINK...] or lan=LINK[+LINK...]"; return 2; }
        _MPX_EXP_POST+=("$ln links ${a#*=}")
      done ;;
    middlebox)
      [ $# -ge 1 ] || { _mpx_exp_err "$ln" "middlebox wants a behaviour name (or none)"; return 2; }
      for a; do
        [[ $a =~ ^[a-z][a-z0-9-]*(=[A-Za-z0-9,._-]+)?$ ]] ||
          { _mpx_exp_err "$ln" "middlebox: bad behaviour '$a' (NAME or NAME=ARG)"; return 2; }
        [ "$a" = none ] || _MPX_EXP_POST+=("$ln middlebox $a")
      done ;;
    fault)
      [ $# -ge 3 ] || { _mpx_exp_err "$ln" "fault wants TIME LINK ACTION (e.g. '2s dsl down')"; return 2; }
      mpx_exp_dur_ms "$1" >/dev/null || { _mpx_exp_err "$ln" "fault: bad time '$1' (e.g. 2s, 1500ms)"; return 2; }
      [[ $2 =~ ^[A-Za-z0-9_-]+$ ]] || { _mpx_exp_err "$ln" "fault: bad link name '$2'"; return 2; }
      case $3 in
        # down|up: the harness's nftables blackhole; linkem:ACTION: the link emulator's own
        # schedule (a silent blackhole, or carrier loss), counted from each connection's trigger
        down|up|linkem:down|linkem:up|linkem:carrier-down|linkem:carrier-up)
          [ $# = 3 ] || { _mpx_exp_err "$ln" "fault: '$3' takes no arguments"; return 2; } ;;
        *) _mpx_exp_err "$ln" "fault: unknown action '$3' (down, up, linkem:down, linkem:up, linkem:carrier-down, linkem:carrier-up; parameter changes go in a variant's param)"; return 2 ;;
      esac
      _MPX_EXP_POST+=("$ln links $2") ;;
    timeout)
      [ $# = 2 ] || { _mpx_exp_err "$ln" "timeout wants STEP DURATION (setup|conn|run)"; return 2; }
      [[ $1 =~ ^(setup|conn|run)$ ]] || { _mpx_exp_err "$ln" "timeout: unknown step '$1' (setup, conn, run)"; return 2; }
      mpx_exp_dur_ms "$2" >/dev/null || { _mpx_exp_err "$ln" "timeout: bad duration '$2' (e.g. 20s)"; return 2; } ;;
    chain)
      [ $# -ge 1 ] && [[ $1 =~ ^[a-z][a-z0-9_-]*$ ]] ||
        { _mpx_exp_err "$ln" "chain wants NODE [wait=MS,MS...] [hosts=NODE,NODE...] (the CPE node, e.g. 'chain cpe')"; return 2; }
      shift
      for a; do
        [[ $a =~ ^wait=(0|[1-9][0-9]{0,4})(,(0|[1-9][0-9]{0,4}))*$ ]] || [[ $a =~ ^hosts=[a-z][a-z0-9_-]*(,[a-z][a-z0-9_-]*)*$ ]] ||
          { _mpx_exp_err "$ln" "chain: '$a' is not wait=MS[,MS...] or hosts=NODE[,NODE...]"; return 2; }
      done ;;
    description) : ;;
    *) _mpx_exp_err "$ln" "unknown directive '$d'"; return 2 ;;
  esac
  return 0
}

# _mpx_exp_set DIRECTIVE ARGS...: store an already checked directive in the globals
_mpx_exp_set() {
  local d=$1; shift
  case $d in
    topology) EXP_TOPO_ARG=$1 ;;
    signals) mpx_exp_signals_set "$@" ;;
    workload) EXP_WORKLOAD="$*" ;;
    repetitions) EXP_REPS=$1 ;;
    seed) EXP_SEED=$1 ;;
    warmup) if [ "$1" = 0 ]; then EXP_WARMUP_MS=0; else EXP_WARMUP_MS=$(mpx_exp_dur_ms "$1"); fi ;;
    mptcp) EXP_MPTCP=$1 ;;
    tfo) EXP_TFO=$1 ;;
    syn-data-policy) EXP_SYN_POLICY=$1 ;;
    sim-reps) EXP_SIM_REPS=$1 ;;
    target) EXP_TARGET=${1#ipv} ;;
    sysctl) local n=$1 a; shift; for a; do EXP_SYSCTL+=("$n $a"); done ;;
    route) EXP_ROUTE+=("$*") ;;
    param) EXP_PARAM+=("$@") ;;
    model) local a; for a; do case $a in cp=*) EXP_CP=${a#*=} ;; ps=*) EXP_PS=${a#*=} ;; lan=*) EXP_LAN=${a#*=} ;; esac; done ;;
    chain) local a; EXP_CHAIN=$1; shift
      for a; do case $a in wait=*) IFS=, read -r -a EXP_CHAIN_WAITS <<< "${a#*=}" ;; hosts=*) IFS=, read -r -a EXP_CHAIN_HOSTS <<< "${a#*=}" ;; esac; done ;;
    middlebox) [ "$*" = none ] || EXP_MIDDLEBOX+=("$@") ;;
    fault) EXP_FAULT+=("$*") ;;
    timeout) local ms; ms=$(mpx_exp_dur_ms "$2")
      case $1 in
        setup) EXP_TIMEOUT_SETUP=$(( (ms + 999) / 1000 )) ;;
        conn) EXP_TIMEOUT_CONN=$(( (ms + 999) / 1000 )) ;;
        run) EXP_TIMEOUT_RUN=$(( (ms + 999) / 1000 )) ;;
      esac ;;
    description) EXP_DESC="${EXP_DESC:+$EXP_DESC }$*" ;;
  esac
}

# Directives that may appear only once at top level
_mpx_exp_single() { [[ $1 =~ ^(topology|signals|workload|repetitions|warmup|seed|mptcp|tfo|syn-data-policy|sim-reps|target|model|chain)$ ]]; }
# Directives a variant may override
_mpx_exp_in_variant() { [[ $1 =~ ^(signals|workload|mptcp|tfo|syn-data-policy|target|sysctl|route|param|middlebox|fault)$ ]]; }

# _mpx_exp_find_topo ARG: resolve a topology file name: an absolute path as it is; a relative one
# beside the .exp, in topologies/, in the checkout, and only then in the current directory (a
# stray /tmp/hybrid-v6.topo must not replace the experiment's own when run from /tmp)
_mpx_exp_find_topo() {
  local a=$1 c
  if [[ $a == /* ]]; then [ -f "$a" ] && readlink -f "$a"; return; fi
  for c in "$EXP_DIR/$a" "$MPX_ROOT/topologies/$a" "$MPX_ROOT/topologies/$a.topo" "$MPX_ROOT/$a" "$a"; do
    [ -f "$c" ] && { readlink -f "$c"; return 0; }
  done
  return 1
}

mpx_exp_parse() {
  local f=$1 line ln=0 d rest words clause
  mpx_exp_reset
  EXP_FILE=$f
  [ -f "$f" ] && [ -r "$f" ] || { echo "$f: cannot read experiment file" >&2; return 2; }
  EXP_DIR=$(cd "$(dirname "$f")" && pwd)
  EXP_NAME=$(basename "$f" .exp)
  local topo_line=0
  while IFS= read -r line || [ -n "$line" ]; do
    ln=$((ln + 1))
    line=${line%%#*}                               # comments
    line=${line//$'\t'/ }                     # tabs are spaces (no fork per line)
    read -r -a words <<< "$line" || true
    [ ${#words[@]} = 0 ] && continue
    d=${words[0]}
    if [ "$d" = variant ]; then
      [ ${#words[@]} -ge 3 ] || { _mpx_exp_err "$ln" "variant wants NAME DIRECTIVE ARGS [; DIRECTIVE ARGS]..."; return 2; }
      local vname=${words[1]}
      [[ $vname =~ ^[A-Za-z0-9][A-Za-z0-9_.+-]*$ ]] || { _mpx_exp_err "$ln" "variant: bad name '$vname'"; return 2; }
      [ -z "${EXP_VARIANT_SPEC[$vname]+x}" ] || { _mpx_exp_err "$ln" "variant '$vname' defined twice"; return 2; }
      rest=${line#*variant}; rest=${rest#*"$vname"}
      local IFS_SAVE=$IFS cl
      IFS=';' read -r -a clause <<< "$rest"; IFS=$IFS_SAVE
      for cl in "${clause[@]}"; do
        local cw; read -r -a cw <<< "$cl" || true
        [ ${#cw[@]} = 0 ] && { _mpx_exp_err "$ln" "variant '$vname': empty clause"; return 2; }
        _mpx_exp_in_variant "${cw[0]}" || { _mpx_exp_err "$ln" "variant '$vname': '${cw[0]}' cannot be set per variant"; return 2; }
        _mpx_exp_check "$ln" "${cw[@]}" || return 2
      done
      EXP_VARIANTS+=("$vname")
      EXP_VARIANT_SPEC[$vname]=$rest
      continue
    fi
    _mpx_exp_check "$ln" "${words[@]}" || return 2
    if _mpx_exp_single "$d"; then
      [ -z "${EXP_SEEN[$d]:-}" ] || { _mpx_exp_err "$ln" "$d given twice (first at line ${EXP_SEEN[$d]})"; return 2; }
    fi
    EXP_SEEN[$d]=$ln
    [ "$d" = topology ] && topo_line=$ln
    _mpx_exp_set "${words[@]}"
  done < "$f"
  [ -n "$EXP_TOPO_ARG" ] || { _mpx_exp_err "$ln" "no 'topology' line"; return 2; }
  [ ${#EXP_SIGNALS[@]} -gt 0 ] || { _mpx_exp_err "$ln" "no 'signals' line"; return 2; }
  # the chain line's waits expand "cpe:NAME" wherever it stood in the file
  if [ -n "$EXP_CHAIN" ]; then mpx_exp_signals_set "${EXP_SIG_TOKENS[@]}"; _MPX_EXP_POST+=("${EXP_SEEN[chain]} node $EXP_CHAIN ${EXP_CHAIN_HOSTS[*]}")
  elif [[ " ${EXP_SIGNALS[*]} " == *" cpe:"* ]]; then
    _mpx_exp_err "${EXP_SEEN[signals]}" "signals: cpe: rows (proxy/proxy) need a 'chain NODE' line"; return 2
  fi
  EXP_TOPO=$(_mpx_exp_find_topo "$EXP_TOPO_ARG") ||
    { _mpx_exp_err "$topo_line" "topology file '$EXP_TOPO_ARG' not found (looked beside the .exp and in topologies/)"; return 2; }
  _mpx_exp_postcheck "$topo_line" || return 2
  return 0
}

# mpx_exp_variant_apply NAME: overlay a variant on the (already parsed) base. Call on a copy:
# the runner re-parses the file before each variant.
mpx_exp_variant_apply() {
  local v=$1 cl cw IFS_SAVE=$IFS clause
  IFS=';' read -r -a clause <<< "${EXP_VARIANT_SPEC[$v]}"; IFS=$IFS_SAVE
  local reset_mb=1
  for cl in "${clause[@]}"; do
    read -r -a cw <<< "$cl" || true
    case ${cw[0]} in
      middlebox) if [ $reset_mb = 1 ]; then EXP_MIDDLEBOX=(); reset_mb=0; fi ;;
    esac
    _mpx_exp_set "${cw[@]}"
  done
}

# mpx_exp_json: the parsed experiment (base, plus variant specs) as JSON
# It is kept with the EXP_* state it was made from (declare -p) and printed again while that is
# unchanged (a jq start-up). The manifest makes it in its own jq (_mpx_exp_json_args).
mpx_exp_json() {
  local key j
  key=$(declare -p "${!EXP_@}" 2> /dev/null)
  if [ -n "${_MPX_EXP_JSON_KEY:-}" ] && [ "$key" = "$_MPX_EXP_JSON_KEY" ]; then printf '%s\n' "$_MPX_EXP_JSON"; return 0; fi
  j=$(_mpx_exp_json_run) || return 1
  _MPX_EXP_JSON_KEY=$key _MPX_EXP_JSON=$j
  printf '%s\n' "$j"
}
_mpx_exp_json_run() {
  _mpx_exp_json_args
  jq -n -c "${_MPX_EXPJ_A[@]}" "$_MPX_EXPJ_JQ" --args "${_MPX_EXPJ_P[@]}"
}
# _mpx_exp_json_args: mpx_exp_json's jq arguments from the EXP_* state: _MPX_EXPJ_A (named, all
# e_*) and _MPX_EXPJ_P (positional, each "KIND\x01VALUE") for the filter _MPX_EXPJ_JQ, so that
# another jq (the manifest's) can make the same JSON inside itself; positional arguments
# "variant\x01..." are that jq's own and left out
_mpx_exp_json_args() {
  local v vj='{}' opt=()
  for v in "${EXP_SIGNALS[@]}"; do [ -n "${EXP_SIG_OPTIONAL[$v]:-}" ] && opt+=("signals_optional"$'\x01'"$v"); done
  # the variants' clauses by name, in their order (one jq for all)
  local kv=()
  for v in "${EXP_VARIANTS[@]}"; do kv+=("$v" "${EXP_VARIANT_SPEC[$v]}"); done
  [ ${#kv[@]} = 0 ] || vj=$(jq -n -c '$ARGS.positional as $a
    | reduce range(0; $a | length; 2) as $i ({}; . + {($a[$i]): ($a[$i + 1] | gsub("^ +| +$"; ""))})' --args "${kv[@]}")
  _MPX_EXPJ_A=(--arg e_file "$EXP_FILE" --arg e_name "$EXP_NAME" --arg e_topo "$EXP_TOPO"
    --arg e_workload "$EXP_WORKLOAD" --argjson e_reps "$EXP_REPS" --argjson e_seed "$EXP_SEED"
    --arg e_mptcp "$EXP_MPTCP" --arg e_tfo "$EXP_TFO" --argjson e_target "$EXP_TARGET" --arg e_desc "$EXP_DESC"
    --arg e_synpol "$EXP_SYN_POLICY"
    --argjson e_simreps "$EXP_SIM_REPS"
    --argjson e_all "$EXP_SIGNALS_ALL" --arg e_cp "$EXP_CP" --arg e_ps "$EXP_PS" --arg e_lan "$EXP_LAN"
    --arg e_chain "$EXP_CHAIN" --arg e_cwaits "${EXP_CHAIN_WAITS[*]}" --arg e_chosts "${EXP_CHAIN_HOSTS[*]}"
    --argjson e_warmup "$EXP_WARMUP_MS" --argjson e_tsetup "$EXP_TIMEOUT_SETUP" --argjson e_tconn "$EXP_TIMEOUT_CONN" --argjson e_trun "$EXP_TIMEOUT_RUN"
    --argjson e_variants "$vj")
  _MPX_EXPJ_P=("${EXP_SIGNALS[@]/#/signals$'\x01'}" "${opt[@]}" "${EXP_SYSCTL[@]/#/sysctl$'\x01'}" "${EXP_ROUTE[@]/#/route$'\x01'}" "${EXP_PARAM[@]/#/param$'\x01'}"
    "${EXP_MIDDLEBOX[@]/#/middlebox$'\x01'}" "${EXP_FAULT[@]/#/fault$'\x01'}")
}
_MPX_EXPJ_JQ='{file:$e_file, name:$e_name, description:$e_desc, topology:$e_topo, signals_all:($e_all==1),
      workload:$e_workload, repetitions:$e_reps, warmup_ms:$e_warmup, seed:$e_seed, mptcp:$e_mptcp, tfo:$e_tfo, target:$e_target,
      syn_data_policy:(if $e_synpol == "" then null else $e_synpol end),
      sim_reps:(if $e_simreps == 0 then null else $e_simreps end),
      timeouts:{setup_s:$e_tsetup, conn_s:$e_tconn, run_s:$e_trun}, model_links:({cp:$e_cp, ps:$e_ps} + (if $e_lan == "" then {} else {lan:$e_lan} end)), variants:$e_variants,
      chain:(if $e_chain == "" then null else {node:$e_chain, waits_ms:($e_cwaits | split(" ") | map(tonumber)), hosts:($e_chosts | split(" "))} end)} +
      ([$ARGS.positional[] | select(startswith("variant\u0001") | not)] | reduce .[] as $x ({signals:[],signals_optional:[],sysctl:[],route:[],param:[],middlebox:[],fault:[]};
        ($x | split("\u0001")) as $p | .[$p[0]] += [$p[1]]))'

# _mpx_exp_postcheck TOPO_LINE: checks what needs the topology (link names, --param values,
# middlebox behaviours) with the topology helper's own parser, so both agree
_mpx_exp_postcheck() {
  local tl=$1 e ln kind arg msg tmp rc=0
  tmp=$(mktemp)
  _mpx_exp_postcheck2 "$tl" "$tmp" || rc=$?
  rm -f "$tmp"
  return $rc
}
_mpx_exp_postcheck2() {
  local tl=$1 tmp=$2 e ln kind arg msg
  # shellcheck source=/dev/null
  declare -F mpx_topofile_parse >/dev/null || source "$MPX_ROOT/emu/lib/topofile.sh"
  mpx_topofile_parse "$EXP_TOPO" 2>"$tmp" >/dev/null || { msg=$(<"$tmp"); _mpx_exp_err "$tl" "topology: $msg"; return 2; }
  for e in "${_MPX_EXP_POST[@]}"; do
    read -r ln kind arg <<< "$e"
    case $kind in
      param) mpx_topofile_param "$arg" 2>"$tmp" >/dev/null || { msg=$(<"$tmp"); _mpx_exp_err "$ln" "${msg%%$'\n'*}"; return 2; } ;;
      links) local l; for l in ${arg//+/ }; do
               [ -n "${MPX_T_LA[$l]:-}" ] || { _mpx_exp_err "$ln" "no link '$l' in $(basename "$EXP_TOPO") (links: ${MPX_T_LINKS[*]})"; return 2; }
             done ;;
      node) local n; for n in $arg; do
               [ -n "${MPX_T_ROLE[$n]:-}" ] || { _mpx_exp_err "$ln" "chain: no node '$n' in $(basename "$EXP_TOPO") (nodes: ${MPX_T_NODES[*]})"; return 2; }
             done ;;
      routenode)
             [ -n "${MPX_T_ROLE[$arg]:-}" ] || { _mpx_exp_err "$ln" "route: no node '$arg' in $(basename "$EXP_TOPO") (nodes: ${MPX_T_NODES[*]})"; return 2; } ;;
      routedev) # "NODE IF..." (NODE all: an interface of any node)
             local rn=${arg%% *} rif all_ifs='' x; arg=${arg#* }
             if [ "$rn" = all ]; then for x in "${MPX_T_NODES[@]}"; do for rif in ${MPX_T_NIFS[$x]}; do [[ " $all_ifs " == *" $rif "* ]] || all_ifs+=" $rif"; done; done
             else all_ifs=" ${MPX_T_NIFS[$rn]:-}"; fi
             for rif in $arg; do
               [[ " $all_ifs " == *" $rif "* ]] ||
                 { _mpx_exp_err "$ln" "route: $rn has no interface '$rif' in $(basename "$EXP_TOPO") (its interfaces:$all_ifs)"; return 2; }
             done ;;
      middlebox)
        local mb; mb=$(mpx_exp_mb_node) || { _mpx_exp_err "$ln" "middlebox '$arg': $(basename "$EXP_TOPO") has no node with role middlebox"; return 2; }
        mpx_topofile_param "$(mpx_exp_mb_param "$mb" "$arg")" 2>"$tmp" >/dev/null ||
          { msg=$(<"$tmp"); _mpx_exp_err "$ln" "middlebox '$arg': ${msg#--param }"; return 2; } ;;
    esac
  done
  return 0
}

# mpx_exp_mb_node: the first node with role middlebox (needs a parsed topology)
mpx_exp_mb_node() {
  local n; for n in "${MPX_T_NODES[@]}"; do [ "${MPX_T_ROLE[$n]}" = middlebox ] && { echo "$n"; return 0; }; done; return 1
}
# mpx_exp_mb_param NODE BEHAVIOUR: "strip-mptcp" -> NODE.strip-mptcp=1, "strip-opt=34" -> NODE.strip-opt=34
mpx_exp_mb_param() { if [[ $2 == *=* ]]; then echo "$1.$2"; else echo "$1.$2=1"; fi; }

# _mpx_exp_prefix_ok TEXT: "default", an IPv4 address or prefix (198.18.1.0/24) or an IPv6 one
_mpx_exp_prefix_ok() {
  [ "$1" = default ] && return 0
  [[ $1 =~ ^([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})(/([0-9]{1,2}))?$ ]] &&
    [ "${BASH_REMATCH[1]}" -le 255 ] && [ "${BASH_REMATCH[2]}" -le 255 ] && [ "${BASH_REMATCH[3]}" -le 255 ] &&
    [ "${BASH_REMATCH[4]}" -le 255 ] && [ "${BASH_REMATCH[6]:-32}" -le 32 ] && return 0
  [[ $1 =~ ^[0-9a-fA-F:]*:[0-9a-fA-F:]*(/([0-9]{1,3}))?$ ]] && [ "${BASH_REMATCH[2]:-128}" -le 128 ]
}

# --- route: the one part of this file with side effects (run.sh calls it once the topology is
# up, next to the sysctls; needs topo.sh's mpx_topo_ns / mpx_topo_nodes) ----------------------

# _mpx_exp_route_ns NS SELKIND SELARG ATTR=N...: sets the attributes on the unicast routes of
# every routing table but local, IPv4 and IPv6, that the selector takes (all | dev IF,IF... |
# to PREFIX, the prefix as `ip route` prints it: default, 198.18.1.0/24, a host without /32).
# Each route is deleted and added again with every attribute `ip route show` printed plus the
# new ones, so nothing else changes. Prints each changed route; the count of changed routes on fd 3.
_mpx_exp_route_ns() {
  local ns=$1 sk=$2 sa=$3; shift 3
  local add=() a fam line w keep i n=0 to=$sa dev
  for a; do add+=("${a%%=*}" "${a#*=}"); done
  case $to in 0.0.0.0/0|::/0) to=default ;; */32|*/128) to=${to%/*} ;; esac
  for fam in 4 6; do
    while IFS= read -r line; do
      [ -n "$line" ] || continue
      # a multipath route's nexthop lines (never made by topo.sh)
      [[ $line == [[:space:]]* ]] && { echo "route: $ns: multipath routes are not supported" >&2; return 1; }
      read -r -a w <<< "$line"
      case ${w[0]} in local|broadcast|multicast|anycast|unreachable|prohibit|blackhole|throw|nat) continue ;; esac
      [[ " $line " == *" table local "* ]] && continue
      dev=''; for ((i = 0; i < ${#w[@]} - 1; i++)); do [ "${w[i]}" = dev ] && dev=${w[i+1]}; done
      case $sk in
        dev) [[ ",$sa," == *",$dev,"* ]] || continue ;;
        to) [ "${w[0]}" = "$to" ] || continue ;;
      esac
      keep=()
      for ((i = 0; i < ${#w[@]}; i++)); do
        case ${w[i]} in
          # state flags `ip route` prints but does not take
          linkdown|dead|offload|trap|rt_offload|rt_trap|rt_offload_failed|pervasive|notify|unresolved) continue ;;
          expires) i=$((i + 1)); continue ;;
          initcwnd|initrwnd) if [[ " ${add[*]} " == *" ${w[i]} "* ]]; then i=$((i + 1)); continue; fi ;;
        esac
        keep+=("${w[i]}")
      done
      # delete and append: `ip route change` (NLM_F_REPLACE) matches on prefix and metric only and
      # would overwrite a twin route on another device (fe80::/64 on every interface), and `add`
      # (NLM_F_EXCL) refuses to sit beside one
      if ! ip netns exec "$ns" ip -"$fam" route del "${keep[@]}" ||
         ! ip netns exec "$ns" ip -"$fam" route append "${keep[@]}" "${add[@]}"; then
        ip netns exec "$ns" ip -"$fam" route append "${keep[@]}" 2> /dev/null || true
        echo "route: $ns: ip -$fam route del + append ${keep[*]} ${add[*]} failed" >&2; return 1
      fi
      echo "route: $ns: ip -$fam route ${keep[*]} ${add[*]}"
      n=$((n + 1))
    done < <(ip netns exec "$ns" ip -"$fam" route show table all)
  done
  echo "$n" >&3
}

# mpx_exp_routes_apply RUN: every `route` line of the experiment (and the variant) in the run's
# namespaces, in file order. A line that changes no route is an error (node all: no route on
# any node). Prints what it changed; returns 1 with the reason on stderr.
mpx_exp_routes_apply() {
  local r=$1 spec node sk sa rest nodes n c total cf
  cf=$(mktemp)
  for spec in "${EXP_ROUTE[@]}"; do
    read -r node rest <<< "$spec"
    read -r sk sa _ <<< "$rest"
    case $sk in
      dev|to) rest=${rest#* }; rest=${rest#* } ;;
      all) sa=''; rest=${rest#* } ;;
      *) sk=all sa='' ;;
    esac
    if [ "$node" = all ]; then mapfile -t nodes < <(mpx_topo_nodes "$r"); else nodes=("$node"); fi
    total=0
    for n in "${nodes[@]}"; do
      # shellcheck disable=SC2086  # rest: the ATTR=N words
      _mpx_exp_route_ns "$(mpx_topo_ns "$r" "$n")" "$sk" "$sa" $rest 3> "$cf" || { rm -f "$cf"; return 1; }
      c=$(<"$cf"); total=$((total + c))
    done
    [ "$total" -gt 0 ] || { echo "route $spec: no route matched" >&2; rm -f "$cf"; return 1; }
  done
  rm -f "$cf"
  return 0
}

# mpx_exp_routes_snapshot RUN: per node, its unicast routes (every table but local, IPv4 and
# IPv6) with their metrics (initcwnd, initrwnd, ...), as JSON: what the connections used
mpx_exp_routes_snapshot() {
  local r=$1 n ns out='{}' j4 j6
  for n in $(mpx_topo_nodes "$r"); do
    ns=$(mpx_topo_ns "$r" "$n")
    j4=$(ip netns exec "$ns" ip -j -4 route show table all 2>/dev/null) || j4='[]'
    j6=$(ip netns exec "$ns" ip -j -6 route show table all 2>/dev/null) || j6='[]'
    out=$(jq -c --arg n "$n" --argjson a "${j4:-[]}" --argjson b "${j6:-[]}" '. + {($n):
      [($a | map(. + {family: 4})), ($b | map(. + {family: 6}))] | add
      | map(select((.table // "main") != "local" and (.type // "unicast") == "unicast")
            | {family, dst, dev, gateway, table: (.table // "main")}
              + (if .metrics then {metrics: (.metrics | add)} else {} end)
            | with_entries(select(.value != null)))}' <<< "$out")
  done
  echo "$out"
}
