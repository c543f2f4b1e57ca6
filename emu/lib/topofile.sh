# shellcheck shell=bash
# shellcheck disable=SC2086  # word lists ($MPX_T_ROLES, interface lists) are split on purpose
# mpxlab .topo parser (format: topologies/README.md). Pure bash, no side effects besides the
# MPX_T_* globals, no external commands.
#   mpx_topofile_parse FILE        fills the globals; a bad line prints "FILE:LINE: reason" on
#                                  stderr and returns 2
#   mpx_topofile_param SPEC        applies one override (LINK.KEY=V, LINK.ab|ba|both.KEY=V,
#                                  NODE.OPT=V, all.OPT=V); returns 2 with "--param SPEC: why"
#   mpx_topofile_at "TIME ..."     adds one schedule line (same syntax as after "at")
#   mpx_topofile_spec LINK ab|ba   the linkem SPEC string of one direction (without seed)
#   mpx_topofile_dump              the parsed topology, one normalised line per item
#
# Globals (after parse):
#   MPX_T_FILE MPX_T_DIR           the file and its directory
#   MPX_T_NODES=(n...)             nodes in file order
#   MPX_T_ROLE[n]                  host|router|proxy|server|middlebox
#   MPX_T_NOPT[n.key]              node options (flags are "1")
#   MPX_T_NIFS[n]="if1 if2"        the node's interfaces in link order
#   MPX_T_LINKS=(l...)             links in file order
#   MPX_T_LA[l] MPX_T_LAIF[l] MPX_T_LB[l] MPX_T_LBIF[l]   ends of a link
#   MPX_T_LP[l.ab.key]             per-direction link parameters (linkem keys)
#   MPX_T_SCHED=("TIME_US LINK ACTION ARGS")   schedule; ACTION down|up|ab|ba|both
#   MPX_T_LINE[what]               line numbers (node.N, link.L) for later checks

MPX_T_ROLES="host router proxy server middlebox"
MPX_T_LINK_KEYS="rate trace delay jitter reorder loss ge queue seed drop"
# middlebox behaviours (emu/lib/middlebox.sh implements them)
MPX_T_MB_KEYS="strip-mptcp strip-opt drop-syn-data drop-ipopts snat"

# durations and seeds: the one grammar of lib/parse.h (emu/lib/parse.sh)
# shellcheck source=emu/lib/parse.sh
if ! declare -F mpx_duration_us > /dev/null; then
  case ${BASH_SOURCE[0]} in */*) source "${BASH_SOURCE[0]%/*}/parse.sh" ;; *) source ./parse.sh ;; esac
fi

mpx_topofile_reset() {
  MPX_T_FILE='' MPX_T_DIR='' MPX_T_NODES=() MPX_T_LINKS=() MPX_T_SCHED=()
  declare -gA MPX_T_ROLE=() MPX_T_NOPT=() MPX_T_NIFS=() MPX_T_LA=() MPX_T_LAIF=() \
    MPX_T_LB=() MPX_T_LBIF=() MPX_T_LP=() MPX_T_LINE=()
}
mpx_topofile_reset

_mpx_t_err() { echo "${MPX_T_FILE:-topology}:$1: $2" >&2; return 2; }
_mpx_t_in() { local w=$1; shift; [[ " $* " == *" $w "* ]]; }

# mpx_topofile_time_us TEXT -> integer microseconds (the duration grammar of emu/lib/parse.sh);
# quiet on bad input (returns 1): the callers print the reason with the file and line
mpx_topofile_time_us() {
  local ns
  ns=$(_mpx_duration_ns "$1") || return 1
  echo $(( (ns + 500) / 1000 ))
}

# _mpx_t_check_val KEY VALUE: validates one per-direction value; prints the reason on failure
_mpx_t_check_val() {
  local k=$1 v=$2
  case $k in
    rate) [[ $v =~ ^0$|^[0-9]+(\.[0-9]+)?(bit|kbit|mbit|gbit)$ ]] ||
            { MPX_T_WHY="rate '$v' needs a unit: bit, kbit, mbit or gbit (or 0 = unlimited)"; return 1; } ;;
    delay|jitter) _mpx_duration_ns "$v" > /dev/null ||
            { MPX_T_WHY="$k '$v' needs a time unit: want $MPX_DURATION_HELP"; return 1; } ;;
    loss) [[ $v =~ ^([0-9]+(\.[0-9]+)?)%$ ]] ||
            { MPX_T_WHY="loss '$v' needs a % unit, e.g. 0.1%"; return 1; }
          [[ ${v%\%} =~ ^(100(\.0+)?|[0-9]{1,2}(\.[0-9]+)?)$ ]] || { MPX_T_WHY="loss '$v' is above 100%"; return 1; } ;;
    ge) [[ $v =~ ^[0-9.]+%/[0-9.]+%/[0-9.]+%/[0-9.]+%$ ]] ||
            { MPX_T_WHY="ge '$v' wants P/R/LG/LB, each in %, e.g. 1%/30%/0%/50%"; return 1; } ;;
    queue) [[ $v =~ ^[0-9]+(p|b|kb|mb)$ ]] ||
            { MPX_T_WHY="queue '$v' needs a unit: p (packets), b, kb or mb (bytes)"; return 1; } ;;
    reorder) [[ $v =~ ^[01]$ ]] || { MPX_T_WHY="reorder '$v' must be 0 or 1"; return 1; } ;;
    seed) mpx_seed "$v" > /dev/null 2>&1 ||
            { MPX_T_WHY="seed '$v': want an integer 0..$MPX_SEED_MAX without leading zeros"; return 1; } ;;
    trace) [[ $v =~ ^[^[:space:]]+$ ]] || { MPX_T_WHY="trace wants a file name"; return 1; } ;;
    drop) [[ $v =~ ^[0-9]{1,15}(,[0-9]{1,15}){0,15}$ ]] ||
            { MPX_T_WHY="drop '$v' wants frame indices IDX[,IDX...] (at most 16)"; return 1; } ;;
    *) MPX_T_WHY="unknown link parameter '$k' (known: $MPX_T_LINK_KEYS)"; return 1 ;;
  esac
}

# _mpx_t_resolve_trace VALUE: trace files are looked up beside the .topo file, then as given
_mpx_t_resolve_trace() {
  local v=$1
  if [[ $v != /* ]] && [ -n "$MPX_T_DIR" ] && [ -f "$MPX_T_DIR/$v" ]; then echo "$MPX_T_DIR/$v"
  elif [ -f "$v" ]; then [[ $v == /* ]] && echo "$v" || echo "$PWD/$v"
  else return 1; fi
}

# _mpx_t_linkparam LINK DIRSEL KEY VALUE -> sets MPX_T_LP; DIRSEL: ab|ba|both|split.
# "split" means: VALUE "x/y" gives x to a->b and y to b->a; one value gives both.
# Prints the reason and fails on a bad value.
_mpx_t_linkparam() {
  local l=$1 sel=$2 k=$3 v=$4 va vb
  _mpx_t_in "$k" $MPX_T_LINK_KEYS || { MPX_T_WHY="unknown link parameter '$k' (known: $MPX_T_LINK_KEYS)"; return 1; }
  [ -n "$v" ] || { MPX_T_WHY="$k has no value"; return 1; }
  va=$v vb=$v
  if [ "$sel" = split ]; then
    case $k in
      trace) : ;;  # paths contain '/': use ab.trace= / ba.trace= for different files
      ge) local IFS=/ p; read -ra p <<< "$v"
          if [ ${#p[@]} = 8 ]; then va="${p[0]}/${p[1]}/${p[2]}/${p[3]}" vb="${p[4]}/${p[5]}/${p[6]}/${p[7]}"
          elif [ ${#p[@]} != 4 ]; then MPX_T_WHY="ge '$v' wants 4 values P/R/LG/LB (or 8 for a/b)"; return 1; fi ;;
      *) if [[ $v == */* ]]; then
           va=${v%%/*} vb=${v#*/}
           [[ $vb != */* ]] || { MPX_T_WHY="$k '$v' has more than two values (a->b/b->a)"; return 1; }
         fi ;;
    esac
    sel=both
  fi
  if [ "$k" = trace ]; then
    va=$(_mpx_t_resolve_trace "$va") || { MPX_T_WHY="trace file '$v' not found (looked beside the .topo file and in $PWD)"; return 1; }
    vb=$va
  fi
  case $sel in
    ab) _mpx_t_check_val "$k" "$va" || return 1; _mpx_t_setlp "$l" ab "$k" "$va" ;;
    ba) _mpx_t_check_val "$k" "$vb" || return 1; _mpx_t_setlp "$l" ba "$k" "$vb" ;;
    both) _mpx_t_check_val "$k" "$va" || return 1; _mpx_t_check_val "$k" "$vb" || return 1
          _mpx_t_setlp "$l" ab "$k" "$va"; _mpx_t_setlp "$l" ba "$k" "$vb" ;;
    *) MPX_T_WHY="bad direction '$sel' (ab, ba, both)"; return 1 ;;
  esac
}
# rate and trace exclude each other, so do loss and ge: the later one wins
_mpx_t_setlp() {
  local l=$1 d=$2 k=$3 v=$4
  case $k in
    rate) unset "MPX_T_LP[$l.$d.trace]" ;; trace) unset "MPX_T_LP[$l.$d.rate]" ;;
    loss) unset "MPX_T_LP[$l.$d.ge]" ;; ge) unset "MPX_T_LP[$l.$d.loss]" ;;
  esac
  MPX_T_LP[$l.$d.$k]=$v
}

# _mpx_t_nodeopt NODE OPT[=VAL]: validates and stores one node option; prints the reason
_mpx_t_nodeopt() {
  local n=$1 o=$2 k v role=${MPX_T_ROLE[$1]}
  if [[ $o == *=* ]]; then k=${o%%=*} v=${o#*=}; else k=$o v=1; fi
  case $k in
    ipv6|ipv6only|forward|mptcp|signal)
      [[ $v =~ ^[01]$ ]] || { MPX_T_WHY="option $k takes no value or 0/1, got '$v'"; return 1; } ;;
    subflows) [[ $v =~ ^(auto|off)$|^[a-z][a-z0-9_]{0,14}(,[a-z][a-z0-9_]{0,14})*$ ]] ||
                { MPX_T_WHY="subflows wants auto, off or interfaces (subflows=lte,sat), got '$v'"; return 1; } ;;
    tfo) [[ $v =~ ^(0x[0-9a-fA-F]{1,4}|[0-9]{1,5})$ ]] || { MPX_T_WHY="tfo wants a bitmask like 0x5 or 0x203, got '$v'"; return 1; } ;;
    sysctl.*) [[ ${k#sysctl.} =~ ^net\.[a-z0-9_.-]+$ ]] || { MPX_T_WHY="sysctl option '$k': only net.* keys (per namespace)"; return 1; }
              [[ $v =~ ^[A-Za-z0-9_.:,\ -]+$ ]] || { MPX_T_WHY="sysctl value '$v' has odd characters"; return 1; } ;;
    strip-mptcp|drop-syn-data|drop-ipopts)
      [ "$role" = middlebox ] || { MPX_T_WHY="middlebox behaviour '$k' needs role middlebox (node $n is $role)"; return 1; }
      [[ $v =~ ^[01]$ ]] || { MPX_T_WHY="$k takes no value or 0/1, got '$v'"; return 1; } ;;
    strip-opt)
      [ "$role" = middlebox ] || { MPX_T_WHY="middlebox behaviour '$k' needs role middlebox (node $n is $role)"; return 1; }
      [[ $v =~ ^([0-9]{1,3})(,[0-9]{1,3})*$|^0$ ]] || { MPX_T_WHY="strip-opt wants option kinds, e.g. strip-opt=34,254"; return 1; }
      local kk; for kk in ${v//,/ }; do (( 10#$kk <= 255 )) || { MPX_T_WHY="strip-opt kind $kk is above 255"; return 1; }; done ;;
    snat)
      [ "$role" = middlebox ] || { MPX_T_WHY="middlebox behaviour '$k' needs role middlebox (node $n is $role)"; return 1; }
      [[ $v =~ ^[a-z][a-z0-9_]{0,14}(,[a-z][a-z0-9_]{0,14})*$|^[01]$ ]] ||
        { MPX_T_WHY="snat wants snat (towards every non-host neighbour) or snat=IF[,IF]"; return 1; } ;;
    *) MPX_T_WHY="unknown node option '$k' (ipv6 ipv6only forward mptcp signal subflows tfo sysctl.KEY $MPX_T_MB_KEYS)"; return 1 ;;
  esac
  if { [ "$v" = 0 ] || [ -z "$v" ]; } && [ "$k" != mptcp ] && [ "$k" != forward ]; then unset "MPX_T_NOPT[$n.$k]"; else MPX_T_NOPT[$n.$k]=$v; fi
}

# _mpx_t_sched LINE ARGS...: "TIME down|up LINK", "TIME set LINK KEY=V...", or the
# harness form "TIME LINK down|up|ab|ba|both [KEY=V...]". Checks the link exists when the
# links are known (after parse). Prints the reason on failure.
_mpx_t_sched() {
  local t=$1 us act l pre=''; shift
  # "usr2+TIME": counted from the emulator's last SIGUSR2 (mpx-linkem's triggered entries)
  [[ $t == usr2+* ]] && pre=usr2+ t=${t#usr2+}
  us=$pre$(mpx_topofile_time_us "$t") || { MPX_T_WHY="bad time '$t' (e.g. 1s, 1500ms, 250us)"; return 1; }
  [ $# -ge 2 ] || { MPX_T_WHY="schedule wants: at TIME down|up LINK, or at TIME set LINK KEY=VALUE..."; return 1; }
  if _mpx_t_in "$1" down up set carrier-down carrier-up; then act=$1 l=$2; shift 2
  else l=$1 act=$2; shift 2; fi
  [ -n "${MPX_T_LA[$l]:-}" ] || { MPX_T_WHY="unknown link '$l'"; return 1; }
  case $act in
    down|up|carrier-down|carrier-up) [ $# = 0 ] || { MPX_T_WHY="'$act' takes no parameters"; return 1; }
             MPX_T_SCHED+=("$us $l $act") ;;
    set|ab|ba|both)
      [ $# -ge 1 ] || { MPX_T_WHY="'$act' wants KEY=VALUE..."; return 1; }
      local a k v sel ab=() ba=()
      for a; do
        [[ $a == *=* ]] || { MPX_T_WHY="'$a' is not KEY=VALUE"; return 1; }
        k=${a%%=*} v=${a#*=}
        if [ "$act" = set ]; then sel='split'; else sel=$act; fi
        if [[ $k == ab.* || $k == ba.* || $k == both.* ]]; then sel=${k%%.*} k=${k#*.}; fi
        [ "$k" != seed ] || { MPX_T_WHY="seed cannot change in a schedule"; return 1; }
        # reuse the link parser on a scratch link name to validate and split
        _mpx_t_linkparam "__sched" "$sel" "$k" "$v" || return 1
        [ -n "${MPX_T_LP[__sched.ab.$k]:-}" ] && ab+=("$k=${MPX_T_LP[__sched.ab.$k]}")
        [ -n "${MPX_T_LP[__sched.ba.$k]:-}" ] && ba+=("$k=${MPX_T_LP[__sched.ba.$k]}")
        unset "MPX_T_LP[__sched.ab.$k]" "MPX_T_LP[__sched.ba.$k]"
      done
      [ ${#ab[@]} = 0 ] || MPX_T_SCHED+=("$us $l ab ${ab[*]}")
      [ ${#ba[@]} = 0 ] || MPX_T_SCHED+=("$us $l ba ${ba[*]}") ;;
    *) MPX_T_WHY="unknown schedule action '$act' (down, up, carrier-down, carrier-up, set)"; return 1 ;;
  esac
}

mpx_topofile_parse() {
  local f=$1 ln=0 line w
  mpx_topofile_reset
  MPX_T_FILE=$f
  [ -f "$f" ] && [ -r "$f" ] || { echo "$f: cannot read topology file" >&2; return 2; }
  MPX_T_DIR=$(cd "$(dirname "$f")" && pwd)
  local -a sched_lines=() sched_lns=()
  while IFS= read -r line || [ -n "$line" ]; do
    ln=$((ln + 1))
    line=${line%%#*}
    read -ra w <<< "$line"
    [ ${#w[@]} = 0 ] && continue
    case ${w[0]} in
      node)
        [ ${#w[@]} -ge 3 ] || { _mpx_t_err $ln "node wants: node NAME ROLE [OPTION...]"; return 2; }
        local n=${w[1]} r=${w[2]} o
        [[ $n =~ ^[a-z][a-z0-9_]{0,14}$ ]] || { _mpx_t_err $ln "bad node name '$n' (a-z, 0-9, _; at most 15, starting with a letter)"; return 2; }
        [ "$n" != all ] || { _mpx_t_err $ln "'all' is reserved"; return 2; }
        [ -z "${MPX_T_ROLE[$n]:-}" ] || { _mpx_t_err $ln "node '$n' defined twice (first at line ${MPX_T_LINE[node.$n]})"; return 2; }
        [ -z "${MPX_T_LA[$n]:-}" ] || { _mpx_t_err $ln "node '$n' has the name of a link"; return 2; }
        _mpx_t_in "$r" $MPX_T_ROLES || { _mpx_t_err $ln "unknown role '$r' (one of: $MPX_T_ROLES)"; return 2; }
        MPX_T_ROLE[$n]=$r; MPX_T_NODES+=("$n"); MPX_T_LINE[node.$n]=$ln; MPX_T_NIFS[$n]=''
        for o in "${w[@]:3}"; do
          _mpx_t_nodeopt "$n" "$o" || { _mpx_t_err $ln "$MPX_T_WHY"; return 2; }
        done ;;
      link)
        [ ${#w[@]} -ge 4 ] || { _mpx_t_err $ln "link wants: link NAME NODE:IF NODE:IF [KEY=VALUE...]"; return 2; }
        local l=${w[1]} e x nd ifn
        [[ $l =~ ^[a-z][a-z0-9_]{0,14}$ ]] || { _mpx_t_err $ln "bad link name '$l' (a-z, 0-9, _; at most 15, starting with a letter)"; return 2; }
        [ -z "${MPX_T_LA[$l]:-}" ] || { _mpx_t_err $ln "link '$l' defined twice (first at line ${MPX_T_LINE[link.$l]})"; return 2; }
        [ -z "${MPX_T_ROLE[$l]:-}" ] || { _mpx_t_err $ln "link '$l' has the name of a node"; return 2; }
        for x in 2 3; do
          e=${w[$x]}
          [[ $e =~ ^([a-z][a-z0-9_]{0,14}):([a-z][a-z0-9_]{0,14})$ ]] ||
            { _mpx_t_err $ln "link end '$e' is not NODE:IFACE (names a-z0-9_, at most 15)"; return 2; }
          nd=${BASH_REMATCH[1]} ifn=${BASH_REMATCH[2]}
          [ -n "${MPX_T_ROLE[$nd]:-}" ] || { _mpx_t_err $ln "unknown node '$nd' (declare nodes before their links)"; return 2; }
          [ "$ifn" != lo ] || { _mpx_t_err $ln "interface name 'lo' is reserved"; return 2; }
          _mpx_t_in "$ifn" ${MPX_T_NIFS[$nd]} && { _mpx_t_err $ln "node '$nd' already has an interface '$ifn'"; return 2; }
          if [ $x = 2 ]; then MPX_T_LA[$l]=$nd MPX_T_LAIF[$l]=$ifn; else MPX_T_LB[$l]=$nd MPX_T_LBIF[$l]=$ifn; fi
        done
        [ "${MPX_T_LA[$l]}" != "${MPX_T_LB[$l]}" ] || { unset "MPX_T_LA[$l]"; _mpx_t_err $ln "link '$l' connects node '$nd' to itself"; return 2; }
        MPX_T_NIFS[${MPX_T_LA[$l]}]+="${MPX_T_NIFS[${MPX_T_LA[$l]}]:+ }${MPX_T_LAIF[$l]}"
        MPX_T_NIFS[${MPX_T_LB[$l]}]+="${MPX_T_NIFS[${MPX_T_LB[$l]}]:+ }${MPX_T_LBIF[$l]}"
        MPX_T_LINKS+=("$l"); MPX_T_LINE[link.$l]=$ln
        local p k v sel
        for p in "${w[@]:4}"; do
          [[ $p == *=* ]] || { _mpx_t_err $ln "link parameter '$p' is not KEY=VALUE"; return 2; }
          k=${p%%=*} v=${p#*=} sel=split
          if [[ $k == ab.* || $k == ba.* || $k == both.* ]]; then sel=${k%%.*} k=${k#*.}; fi
          _mpx_t_linkparam "$l" "$sel" "$k" "$v" || { _mpx_t_err $ln "$MPX_T_WHY"; return 2; }
        done ;;
      at)
        [ ${#w[@]} -ge 4 ] || { _mpx_t_err $ln "schedule wants: at TIME down|up LINK, or at TIME set LINK KEY=VALUE..."; return 2; }
        # checked after the whole file is read (links may be declared later)
        sched_lines+=("${w[*]:1}"); sched_lns+=("$ln") ;;
      *) _mpx_t_err $ln "unknown directive '${w[0]}' (node, link, at)"; return 2 ;;
    esac
  done < "$f"
  [ ${#MPX_T_NODES[@]} -gt 0 ] || { _mpx_t_err $ln "no nodes defined"; return 2; }
  local i
  for i in "${!sched_lines[@]}"; do
    # shellcheck disable=SC2086
    _mpx_t_sched ${sched_lines[$i]} || { _mpx_t_err "${sched_lns[$i]}" "$MPX_T_WHY"; return 2; }
  done
  _mpx_t_check_global || return 2
  return 0
}

# Whole-topology checks (after parse and after overrides)
_mpx_t_check_global() {
  local n l a b i
  for n in "${MPX_T_NODES[@]}"; do
    if [ -n "${MPX_T_NOPT[$n.snat]:-}" ] && [ "${MPX_T_NOPT[$n.snat]}" != 1 ]; then
      local sif
      for sif in ${MPX_T_NOPT[$n.snat]//,/ }; do
        _mpx_t_in "$sif" ${MPX_T_NIFS[$n]} ||
          { _mpx_t_err "${MPX_T_LINE[node.$n]}" "snat: node '$n' has no interface '$sif' (has: ${MPX_T_NIFS[$n]})"; return 2; }
      done
    fi
  done
  for n in "${MPX_T_NODES[@]}"; do
    case ${MPX_T_NOPT[$n.subflows]:-auto} in auto|off) ;; *)
      local sf
      for sf in ${MPX_T_NOPT[$n.subflows]//,/ }; do
        _mpx_t_in "$sf" ${MPX_T_NIFS[$n]} ||
          { _mpx_t_err "${MPX_T_LINE[node.$n]}" "subflows: node '$n' has no interface '$sf' (has: ${MPX_T_NIFS[$n]})"; return 2; }
      done ;;
    esac
  done
  i=0
  for l in "${MPX_T_LINKS[@]}"; do
    i=$((i + 1))
    a=${MPX_T_LA[$l]} b=${MPX_T_LB[$l]}
    if { [ -n "${MPX_T_NOPT[$a.ipv6only]:-}" ] && [ -z "${MPX_T_NOPT[$b.ipv6]:-}${MPX_T_NOPT[$b.ipv6only]:-}" ]; } ||
       { [ -n "${MPX_T_NOPT[$b.ipv6only]:-}" ] && [ -z "${MPX_T_NOPT[$a.ipv6]:-}${MPX_T_NOPT[$a.ipv6only]:-}" ]; }; then
      _mpx_t_err "${MPX_T_LINE[link.$l]}" "link '$l': one end is ipv6only and the other has no ipv6"; return 2
    fi
  done
  [ $i -le 250 ] || { _mpx_t_err 0 "too many links ($i, at most 250: one /24 of 198.18.0.0/16 each)"; return 2; }
  return 0
}

# mpx_topofile_param SPEC: one override given on the command line / by the harness
mpx_topofile_param() {
  local s=$1 lhs v name rest
  [[ $s == *=* ]] || { echo "--param $s: not NAME.KEY=VALUE" >&2; return 2; }
  lhs=${s%%=*} v=${s#*=}
  [[ $lhs == *.* ]] || { echo "--param $s: not NAME.KEY=VALUE" >&2; return 2; }
  name=${lhs%%.*} rest=${lhs#*.}
  if [ -n "${MPX_T_LA[$name]:-}" ]; then
    local sel=split k=$rest
    if [[ $rest == ab.* || $rest == ba.* || $rest == both.* ]]; then sel=${rest%%.*} k=${rest#*.}; fi
    _mpx_t_linkparam "$name" "$sel" "$k" "$v" || { echo "--param $s: $MPX_T_WHY" >&2; return 2; }
  elif [ -n "${MPX_T_ROLE[$name]:-}" ] || [ "$name" = all ]; then
    local n nodes=("$name"); [ "$name" = all ] && nodes=("${MPX_T_NODES[@]}")
    for n in "${nodes[@]}"; do
      # "NODE.flag=1" and "NODE.key=value" both go through the node option checker
      _mpx_t_nodeopt "$n" "$rest=$v" || { echo "--param $s: $MPX_T_WHY" >&2; return 2; }
    done
  else
    echo "--param $s: no link or node named '$name' (links: ${MPX_T_LINKS[*]}; nodes: ${MPX_T_NODES[*]})" >&2; return 2
  fi
  _mpx_t_check_global || { echo "--param $s: rejected (see above)" >&2; return 2; }
}

# mpx_topofile_at "TIME down|up LINK" | "TIME set LINK K=V..." | "TIME LINK ACTION ...": adds
# a schedule entry after parsing (harness faults)
mpx_topofile_at() {
  # shellcheck disable=SC2086
  _mpx_t_sched $1 || { echo "--at '$1': $MPX_T_WHY" >&2; return 2; }
}

# mpx_topofile_spec LINK DIR: linkem SPEC for one direction (keys in a fixed order)
mpx_topofile_spec() {
  local l=$1 d=$2 k out=()
  for k in $MPX_T_LINK_KEYS; do
    [ -n "${MPX_T_LP[$l.$d.$k]:-}" ] && out+=("$k=${MPX_T_LP[$l.$d.$k]}")
  done
  echo "${out[*]}"
}

# mpx_topofile_schedule LINK: the linkem --schedule text of one link, in time order
mpx_topofile_schedule() {
  local l=$1 e us ln act rest
  for e in "${MPX_T_SCHED[@]}"; do
    read -r us ln act rest <<< "$e"
    [ "$ln" = "$l" ] || continue
    printf '%s %sus %s%s\n' "${us#usr2+}" "$us" "$act" "${rest:+ $rest}"
  done | sort -n -s -k1,1 | cut -d' ' -f2-
}

mpx_topofile_dump() {
  local n l k e
  for n in "${MPX_T_NODES[@]}"; do
    local o=()
    for k in "${!MPX_T_NOPT[@]}"; do [[ $k == "$n".* ]] && o+=("${k#"$n".}=${MPX_T_NOPT[$k]}"); done
    printf 'node %s %s%s\n' "$n" "${MPX_T_ROLE[$n]}" "$( [ ${#o[@]} = 0 ] || printf ' %s' "$(printf '%s\n' "${o[@]}" | sort | tr '\n' ' ' | sed 's/ $//')")"
  done
  for l in "${MPX_T_LINKS[@]}"; do
    printf 'link %s %s:%s %s:%s ab[%s] ba[%s]\n' "$l" "${MPX_T_LA[$l]}" "${MPX_T_LAIF[$l]}" \
      "${MPX_T_LB[$l]}" "${MPX_T_LBIF[$l]}" "$(mpx_topofile_spec "$l" ab)" "$(mpx_topofile_spec "$l" ba)"
  done
  for e in "${MPX_T_SCHED[@]}"; do echo "at $e"; done
}
