# shellcheck shell=bash
# mpxlab harness: proxy/proxy rows (an .exp `chain NODE` line; experiments/README.md "chain").
# The measured client is `mpx-client --signal tcp` (plain TCP, unaware of any proxy) on a LAN
# host; the CPE node runs ONE `mpx-proxy --cpe PORT=SIGNAL,wait=W ...` with one transparent
# listener per row; the server listens on one port per row and the CPE's nft map
# (agents/cpe/cpe.sh mpx_cpe_up) sends each server port to its CPE listener, so the row is
# chosen by the LAN connection's destination port and nothing changes between steps but the
# HAG's interception for the implicit channels (as for client/proxy rows). The plain server
# port (MPX_PORT_SERVER) is not mapped: the `tcp` row is the direct LAN -> server baseline.
# A row is named cpe:CHANNEL:wW: CHANNEL a registry row (every per-signal fact is looked up
# by it), W the CPE's wait for the LAN client's first bytes in ms.
#   mpx_chain_parse SIG            CHANNEL and W of a row name (MPX_CHAIN_CH, MPX_CHAIN_W)
#   mpx_chain_why SIG              "" when SIG can run; fails (1) when SIG is not chain business
#   mpx_chain_hag_args RUN         extra mpx-proxy arguments of the HAG (--cpe-peer PREFIX...)
#   mpx_chain_variant_up RUN VARIANT LOGDIR SIG...   row server, CPE option helper, CPE proxy,
#                                  nft port map; MPX_CLIENT_NODE = the LAN host
#   mpx_chain_variant_down RUN     the nft map and the CPE's mpx-optd (the agents stop by PID)
#   mpx_chain_step RUN VARIANT REP STEP SIG          one measured connection of a row
#   mpx_chain_join OUT             connections.jsonl: a chain row's analyzer record becomes the
#                                  CPE's own connection (its SYN), the LAN and WAN legs beside it
#   mpx_chain_apps OUT             emu/harness/apps.sh (LAN applications) when it exists
MPX_CHAIN_LIB=$MPX_ROOT/agents/cpe/cpe.sh
MPX_CHAIN_PORT_BASE=8100 MPX_CHAIN_CPE_BASE=9100
# LAN applications (apps.sh): web server ports (8300 = direct, 8300 + i through the CPE's own
# listener 9300 + i, W = the chain line's last wait) for every explicit channel, once per run.
# MPX_CHAIN_APPS=0 skips them; MPX_CHAIN_APPS_TOOLS / MPX_CHAIN_APPS_SIZES narrow them (apps.sh
# names: curl wget bbwget; 1k 100k 1m 10m); curl --tcp-fastopen fetches 1k once per channel
MPX_CHAIN_HTTP_BASE=8300 MPX_CHAIN_APPS_CPE_BASE=9300 MPX_CHAIN_APPS_DONE=0
declare -gA MPX_CHAIN_HTTP=()
MPX_CHAIN_UP=0 MPX_CHAIN_OPTD_UP=0 MPX_CHAIN_NS='' MPX_CHAIN_IC_DIR=''
# the node of the measured clients (agents.sh mpx_client_ns); "" = the topology's "client"
MPX_CLIENT_NODE=''
declare -gA MPX_CHAIN_SPORT=() MPX_CHAIN_CPORT=()
# the server ports of the rows the HAG intercepts: its MP_JOIN listeners need them (agents.sh
# mpx_ic_variant_up adds them to MPX_IC_JOIN_PORTS when it holds the join listeners per variant)
MPX_CHAIN_JOIN_PORTS=

# mpx_chain_is SIG: a proxy/proxy row name
mpx_chain_is() { [[ $1 =~ ^cpe:[a-z0-9][a-z0-9_-]*:w[0-9]+$ ]]; }

mpx_chain_parse() {
  local s=$1
  mpx_chain_is "$s" || return 1
  s=${s#cpe:}
  MPX_CHAIN_CH=${s%:w*} MPX_CHAIN_W=${s##*:w}
}

# _mpx_chain_proxy_has OPTION: this build's mpx-proxy documents OPTION (cached per process)
declare -gA _MPX_CHAIN_HELP=()
_mpx_chain_proxy_has() {
  if [ -z "${_MPX_CHAIN_HELP[x]:-}" ]; then
    _MPX_CHAIN_HELP[x]=" $(timeout 5 "$MPX_BIN/mpx-proxy" --help 2>&1 | tr '\n' ' ') "
  fi
  [[ ${_MPX_CHAIN_HELP[x]} == *"$1 "* ]] || [[ ${_MPX_CHAIN_HELP[x]} == *"$1="* ]] || [[ ${_MPX_CHAIN_HELP[x]} == *"$1]"* ]]
}

mpx_chain_why() {
  local s=$1 ch
  if ! mpx_chain_is "$s"; then
    # a registry row in a chain experiment runs client/proxy from the LAN host: the SYN
    # option helper lives on the CPE there, not on the LAN host
    [ -n "${EXP_CHAIN:-}" ] && mpx_reg_known "$s" && [ "${MPX_SIG_HELPER[$s]}" != none ] &&
      { echo "client/proxy from a LAN host needs the SYN option helper on that host (not set up in chain experiments; the cpe: row measures the channel)"; return 0; }
    return 1
  fi
  [ -n "${EXP_CHAIN:-}" ] || { echo "a proxy/proxy row needs a 'chain NODE' line"; return 0; }
  mpx_chain_parse "$s"; ch=$MPX_CHAIN_CH
  mpx_reg_known "$ch" || { echo "unknown to the signal registry (mpx-wire signals)"; return 0; }
  local b
  for b in mpx-server mpx-client mpx-proxy; do [ -x "$MPX_BIN/$b" ] || { echo "bin/$b missing (make)"; return 0; }; done
  _mpx_chain_proxy_has --cpe || { echo "this mpx-proxy has no CPE mode (--cpe)"; return 0; }
  [ -f "$MPX_CHAIN_LIB" ] || { echo "no CPE tproxy setup ($MPX_CHAIN_LIB)"; return 0; }
  command -v nft > /dev/null || { echo "the CPE's tproxy map needs nft"; return 0; }
  # what the channel needs on the HAG and on the CPE (as agents.sh for a client)
  local helper=${MPX_SIG_HELPER[$ch]} ic=${MPX_SIG_INTERCEPT[$ch]}
  if [ "$ic" != - ] || [ "$helper" != none ]; then
    [ -x "$MPX_BIN/mpx-optd" ] || { echo "bin/mpx-optd missing (make)"; return 0; }
    [ -f "$MPX_IC_LIB" ] || { echo "no HAG interception setup ($MPX_IC_LIB)"; return 0; }
  fi
  if [ "$helper" != none ] || [ "$ic" = prefer ] || [ "$ic" = optd-read ]; then
    for b in iptables ip6tables; do command -v "$b" > /dev/null || { echo "mpx-optd's NFQUEUE rules need $b"; return 0; }; done
    _mpx_nfqueue_ok || { echo "the kernel has no NFQUEUE (nfnetlink_queue) for mpx-optd"; return 0; }
  fi
  echo ""
}

# _mpx_chain_prefixes RUN NODE: the node's /24 and /64 prefixes (one per line)
_mpx_chain_prefixes() {
  awk -v n="$2" '$1 == n { if ($3 != "-") { split($3, a, "."); print a[1] "." a[2] "." a[3] ".0/24" }
    if ($4 != "-") print $4 "/64" }' "$(mpx_topo_state "$1")/addrs"
}

# mpx_chain_hag_args RUN: the HAG tells CPE clients from direct ones by source prefix
mpx_chain_hag_args() {
  local l an ai bn bi ifs=' '
  [ -n "${EXP_CHAIN:-}" ] && _mpx_chain_proxy_has --cpe-peer || return 0
  # the CPE's access side only: its ends of the links to the HAG (not its LAN side)
  while read -r l an ai bn bi; do
    [ "$an" = "$EXP_CHAIN" ] && [ "$bn" = hag ] && ifs+="$ai "
    [ "$bn" = "$EXP_CHAIN" ] && [ "$an" = hag ] && ifs+="$bi "
  done < "$MPX_LINKS_FILE"
  awk -v n="$EXP_CHAIN" -v ifs="$ifs" '$1 == n && index(ifs, " " $2 " ") {
    if ($3 != "-") { split($3, a, "."); print "--cpe-peer"; print a[1] "." a[2] "." a[3] ".0/24" }
    if ($4 != "-") { print "--cpe-peer"; print $4 "/64" } }' "$(mpx_topo_state "$1")/addrs"
}

mpx_chain_variant_up() {
  local r=$1 v=$2 ld=$3 s i=0 ch srvns pre=() largs=() cargs=() maps=() a fam addrs=()
  shift 3
  [ -n "${EXP_CHAIN:-}" ] || return 0
  # every measured connection of the variant starts on a LAN host (mpx_client_step)
  MPX_CLIENT_NODE=${EXP_CHAIN_HOSTS[0]}
  MPX_CHAIN_NS=$(mpx_topo_ns "$r" "$EXP_CHAIN")
  MPX_CHAIN_SPORT=() MPX_CHAIN_CPORT=() MPX_CHAIN_HTTP=() MPX_CHAIN_JOIN_PORTS=
  local need_optd=0 auth=0 j=0 wl=${EXP_CHAIN_WAITS[-1]}
  # ports in the experiment's row order (the same numbers in every variant)
  for s in "${EXP_SIGNALS[@]}"; do
    [[ " $* " == *" $s "* ]] || continue
    mpx_chain_parse "$s" || continue
    i=$((i + 1)) ch=$MPX_CHAIN_CH
    MPX_CHAIN_SPORT[$s]=$((MPX_CHAIN_PORT_BASE + i)) MPX_CHAIN_CPORT[$s]=$((MPX_CHAIN_CPE_BASE + i))
    cargs+=(--cpe "${MPX_CHAIN_CPORT[$s]}=$ch,wait=$MPX_CHAIN_W")
    maps+=("${MPX_CHAIN_SPORT[$s]}:${MPX_CHAIN_CPORT[$s]}")
    [ "${MPX_SIG_INTERCEPT[$ch]}" != - ] && MPX_CHAIN_JOIN_PORTS+="${MPX_CHAIN_JOIN_PORTS:+ }${MPX_CHAIN_SPORT[$s]}"
    [ "${MPX_SIG_HELPER[$ch]}" != none ] && need_optd=1
    [ "${MPX_SIG_AUTH[$ch]}" = true ] && auth=1
    if [ "$MPX_CHAIN_W" = "$wl" ] && [ "${MPX_SIG_MODE[$ch]}" = explicit ] && [ "$MPX_CHAIN_APPS_DONE" = 0 ] &&
      [ "${MPX_CHAIN_APPS:-1}" != 0 ] && [ -f "$MPX_ROOT/emu/harness/apps.sh" ] && [ -z "${MPX_CHAIN_HTTP[$ch]:-}" ]; then
      j=$((j + 1)) MPX_CHAIN_HTTP[$ch]=$((MPX_CHAIN_HTTP_BASE + j))
      cargs+=(--cpe "$((MPX_CHAIN_APPS_CPE_BASE + j))=$ch,wait=$wl")
      maps+=("${MPX_CHAIN_HTTP[$ch]}:$((MPX_CHAIN_APPS_CPE_BASE + j))")
    fi
  done
  [ $i -gt 0 ] || return 0
  # the row -> port table (collect.sh puts it in the summary: the CPE's counters per row)
  for s in "${!MPX_CHAIN_SPORT[@]}"; do
    printf '%s %s %s\n' "$s" "${MPX_CHAIN_SPORT[$s]}" "${MPX_CHAIN_CPORT[$s]}"
  done | jq -R -s -c 'split("\n") | map(select(length > 0) | split(" ") | {key: .[0], value: {server_port: (.[1] | tonumber), cpe_port: (.[2] | tonumber)}}) | from_entries' > "$ld/chain-ports.json"
  # the row server: one plain TCP listener per row on every server address (TFO as the main one)
  srvns=$(mpx_topo_ns "$r" server)
  for fam in 4 6; do a=$(mpx_topo_addr "$r" server "" "$fam" 2>/dev/null) && addrs+=("${a%%/*}"); done
  for s in "${!MPX_CHAIN_SPORT[@]}"; do
    for a in "${addrs[@]}"; do largs+=(--listen "$(_mpx_hostport "$a" "${MPX_CHAIN_SPORT[$s]}")"); done
  done
  # (mpx-server takes at most 16 listeners: one instance per 16, server-chain-N.*)
  local n=0 k
  for ((k = 0; k < ${#largs[@]}; k += 32)); do
    n=$((n + 1))
    _mpx_agent_run "$srvns" "$ld/server-chain-$n.log" mpx-server "${largs[@]:k:32}" --json "$ld/server-chain-$n.jsonl" \
      --ready "$ld/server-chain-$n.ready" --tfo
    _mpx_wait_ready "$ld/server-chain-$n.ready" "$MPX_LAST_PID" "mpx-server-chain-$n" 2>> "$ld/server-chain-$n.log" || return 1
  done
  # the CPE's SYN option helper (mpconvert-opt, implicit-prefer): mpx-optd of its namespace
  # shellcheck source=/dev/null
  declare -F mpx_ic_hag_up > /dev/null || source "$MPX_IC_LIB"
  MPX_CHAIN_IC_DIR=$OUT/logs/$v/intercept; mkdir -p "$MPX_CHAIN_IC_DIR"
  # the HAG's access-side interfaces (its ends of every link not on the proxy<->server path)
  local l an ai bn bi hifs=''
  while read -r l an ai bn bi; do
    [[ "+$EXP_PS+" == *"+$l+"* ]] && continue
    [ "$an" = hag ] && hifs+=" $ai"; [ "$bn" = hag ] && hifs+=" $bi"
  done < "$MPX_LINKS_FILE"
  export MPX_IC_IFACES=${hifs# }
  if [ $need_optd = 1 ]; then
    mpx_ic_client_up "$MPX_CHAIN_NS" "$MPX_CHAIN_IC_DIR" >> "$ld/intercept.log" 2>&1 || return 1
    MPX_CHAIN_OPTD_UP=1
    cargs+=(--optd-ctl "$(mpx_ic_client_ctl "$MPX_CHAIN_IC_DIR")")
  fi
  [ $auth = 1 ] && cargs+=(--socks-user "$MPX_SOCKS_USER" --socks-pass "$MPX_SOCKS_PASS")
  # the HAG: its address on the CPE's first access link (v6 too when the target is v6)
  cargs+=(--hag "$PROXY_ADDR")
  a=$(run_addr "$r" hag "${EXP_CP%%+*}" 6 2>/dev/null) && [ -n "$a" ] && cargs+=(--hag "$a")
  # the CPE serves its LAN hosts only
  local h p
  for h in "${EXP_CHAIN_HOSTS[@]}"; do
    while read -r p; do [ -n "$p" ] && cargs+=(--allow "$p"); done < <(_mpx_chain_prefixes "$r" "$h")
  done
  _mpx_agent_run "$MPX_CHAIN_NS" "$ld/cpe.log" mpx-proxy "${cargs[@]}" --stats "$ld/cpe.stats.json" --ready "$ld/cpe.ready"
  _mpx_wait_ready "$ld/cpe.ready" "$MPX_LAST_PID" mpx-proxy-cpe 2>> "$ld/cpe.log" || return 1
  MPX_CHAIN_PID=$MPX_LAST_PID
  # the tproxy port map (server port -> CPE listener) on the CPE's LAN interfaces
  # shellcheck source=/dev/null
  declare -F mpx_cpe_up > /dev/null || source "$MPX_CHAIN_LIB"
  local ifs=()
  while read -r l an ai bn bi; do
    for h in "${EXP_CHAIN_HOSTS[@]}"; do
      [ "$an" = "$EXP_CHAIN" ] && [ "$bn" = "$h" ] && ifs+=("$ai")
      [ "$bn" = "$EXP_CHAIN" ] && [ "$an" = "$h" ] && ifs+=("$bi")
    done
  done < "$MPX_LINKS_FILE"
  MPX_CPE_IFACES="${ifs[*]}" mpx_cpe_up "$MPX_CHAIN_NS" "${maps[@]}" >> "$ld/cpe.log" 2>&1 || return 1
  MPX_CHAIN_UP=1 MPX_CHAIN_VARIANT=$v
  mpx_cpe_show "$MPX_CHAIN_NS" > "$ld/cpe-nft.txt" 2>&1 || true
  log "chain: CPE $EXP_CHAIN ($i rows: ${maps[*]}), LAN hosts ${EXP_CHAIN_HOSTS[*]} (interfaces ${ifs[*]})"
}

mpx_chain_variant_down() {
  local r=$1
  # the LAN applications while everything still runs (not on the way out of a failed run)
  if [ "$MPX_CHAIN_UP" = 1 ] && [ "${_cleaning:-0}" = 0 ] && [ -n "${MPX_CHAIN_VARIANT:-}" ]; then
    mpx_chain_apps "$r" "$MPX_CHAIN_VARIANT" || true
  fi
  if [ "${MPX_IC_HAG_UP:-0}" = 1 ] && [ -n "$MPX_CHAIN_IC_DIR" ]; then
    mpx_ic_hag_down "$(mpx_topo_ns "$r" hag)" "$MPX_CHAIN_IC_DIR" > /dev/null 2>&1 || true; MPX_IC_HAG_UP=0
  fi
  if [ "$MPX_CHAIN_UP" = 1 ]; then
    # the CPE's counters before it stops (SIGUSR1 writes them; the drain at TERM writes them too)
    [ -n "${MPX_CHAIN_PID:-}" ] && kill -USR1 "$MPX_CHAIN_PID" 2> /dev/null || true
    mpx_cpe_down "$MPX_CHAIN_NS" > /dev/null 2>&1 || true; MPX_CHAIN_UP=0
  fi
  if [ "$MPX_CHAIN_OPTD_UP" = 1 ]; then
    mpx_ic_client_down "$MPX_CHAIN_NS" "$MPX_CHAIN_IC_DIR" > /dev/null 2>&1 || true; MPX_CHAIN_OPTD_UP=0
  fi
  # shellcheck disable=SC2034  # read by agents.sh mpx_client_ns
  MPX_CLIENT_NODE=''
}

# mpx_chain_step RUN VARIANT REP STEP SIG: one measured connection of a proxy/proxy row; the
# LAN host alternates by step over the chain line's hosts. Its JSON lines go to
# raw/VARIANT/STEP-SIG.jsonl and one line to steps.csv, as for any signal.
mpx_chain_step() {
  local r=$1 v=$2 rep=$3 k=$4 sig=$5 ns json rc t0 t1 host ch pre=()
  mpx_chain_parse "$sig"; ch=$MPX_CHAIN_CH
  host=${EXP_CHAIN_HOSTS[$((k % ${#EXP_CHAIN_HOSTS[@]}))]}
  ns=$(mpx_topo_ns "$r" "$host")
  json=$OUT/raw/$v/$(printf '%05d' "$k")-$sig.jsonl
  local tgt
  tgt=$(_mpx_hostport "$SRV_ADDR" "${MPX_CHAIN_SPORT[$sig]:-0}")
  local ic=${MPX_SIG_INTERCEPT[$ch]}
  # on-path interception on the HAG for this one connection, as for a client/proxy row; the
  # HAG holds the MP_JOIN listener on the row's server port
  if [ "$ic" != - ]; then
    MPX_IC_TPORT=${MPX_SIG_PORT[$ch]} MPX_IC_OPTPORT=${MPX_SIG_PORT[$ch]} \
      MPX_IC_JOIN_PORTS="$MPX_PORT_SERVER $MPX_PORT_SERVER_MPTCP ${MPX_CHAIN_SPORT[$sig]}" \
      mpx_ic_hag_up "$(mpx_topo_ns "$r" hag)" "$ic" "$MPX_CHAIN_IC_DIR" >> "$OUT/logs/$v/intercept.log" 2>&1 ||
      log "step $v/$rep/$k $sig: HAG interception setup failed (logs/$v/intercept.log)"
    MPX_IC_HAG_UP=1
  fi
  local argv=(--signal "$MPX_REG_DIRECT" --mptcp off --target "$tgt" --workload "$EXP_WORKLOAD" --count 1
    --json "$json" --timeout "$EXP_TIMEOUT_CONN" --tag "$v/$rep/$k")
  # while the HAG intercepts: the native end-to-end MPTCP probe, from the LAN host
  local nat=()
  if [ "${MPX_SIG_MODE[$ch]}" = implicit ] && [ "$MPX_SRV_MPTCP" = 1 ]; then
    mkdir -p "$OUT/native/$v"
    nat=(--signal "$MPX_REG_DIRECT" --mptcp on --target "$(_mpx_hostport "$SRV_ADDR" "$MPX_PORT_SERVER_MPTCP")"
      --workload "$EXP_WORKLOAD" --count 1 --json "$OUT/native/$v/$(printf '%05d' "$k")-$sig.jsonl"
      --timeout "$EXP_TIMEOUT_CONN" --tag "$v/$rep/$k/native-$sig")
  fi
  if [ "${MPX_CLIENT_MODE:-process}" = plan ] && declare -F _mpx_plan_line > /dev/null; then
    # the LAN host's long-lived plan client (agents.sh, mpxlab run --client-mode plan)
    _mpx_plan_line "$ns" "${argv[@]}"
    rc=$MPX_PLAN_RC t0=$MPX_PLAN_T0 t1=$MPX_PLAN_T1
    [ ${#nat[@]} -gt 0 ] && _mpx_plan_line "$ns" "${nat[@]}"
  else
    mapfile -t pre < <(mpx_topo_ns_prefix "$ns")
    t0=$EPOCHREALTIME rc=0
    "${pre[@]}" timeout -s KILL $((EXP_TIMEOUT_CONN + 10)) "$MPX_BIN/mpx-client" "${argv[@]}" \
      < /dev/null >> "$OUT/logs/$v/client.log" 2>&1 || rc=$?
    t1=$EPOCHREALTIME
    if [ ${#nat[@]} -gt 0 ]; then
      "${pre[@]}" timeout -s KILL $((EXP_TIMEOUT_CONN + 10)) "$MPX_BIN/mpx-client" "${nat[@]}" \
        < /dev/null >> "$OUT/logs/$v/client.log" 2>&1 || true
    fi
  fi
  if [ "$MPX_IC_HAG_UP" = 1 ]; then
    mpx_ic_hag_down "$(mpx_topo_ns "$r" hag)" "$MPX_CHAIN_IC_DIR" >> "$OUT/logs/$v/intercept.log" 2>&1 || true; MPX_IC_HAG_UP=0
  fi
  echo "$v,$rep,$k,$sig,$t0,$t1,$rc" >> "$OUT/steps.csv"
  log "step $v/$rep/$k $sig ($host) rc=$rc $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3fs", b-a}')"
  return "$rc"
}

# mpx_chain_legs OUT VARIANT: the analyzer's three-leg join (mpx-analyze --legs, when this build
# has it) of the variant's LAN, access and WAN captures into analysis/VARIANT/legs.jsonl
mpx_chain_legs() {
  local o=$1 v=$2 vd=$1/pcaps/$2 ld=$1/links/$2 l an bn lan=() acc=() wan=() p
  [ -f "$ld/links.txt" ] && [ -f "$ld/variant.json" ] || return 0
  local node ps
  # (no jq start-up when variant.json cannot hold a chain: jq writes a value on its key's line)
  grep -q '"chain"[[:space:]]*:[[:space:]]*[^n[:space:]]' "$ld/variant.json" || return 0
  node=$(jq -r '.chain.node // empty' "$ld/variant.json"); [ -n "$node" ] || return 0
  ps=$(jq -r '.model_links.ps' "$ld/variant.json")
  timeout 5 "$MPX_BIN/mpx-analyze" --help 2>&1 | grep -q -- '--legs' ||
    { echo "this mpx-analyze has no --legs: per-leg times from the harness's time-window join" > "$o/analysis/$v/legs.NOT-RUN"; return 0; }
  # roles from the topology: links of the CPE to LAN hosts, its other links (access), the ps links
  while read -r l an _ bn _; do
    p=$vd/$l.pcap; [ -s "$p" ] || continue
    if [[ "+$ps+" == *"+$l+"* ]]; then wan+=("$p")
    elif [ "$an" = "$node" ] || [ "$bn" = "$node" ]; then
      if [ "$an" = hag ] || [ "$bn" = hag ]; then acc+=("$p"); else lan+=("$p"); fi
    fi
  done < "$ld/links.txt"
  [ ${#lan[@]} -gt 0 ] && [ ${#acc[@]} -gt 0 ] && [ ${#wan[@]} -gt 0 ] || return 0
  local IFS=,
  timeout -s KILL 300 "$MPX_BIN/mpx-analyze" --legs "lan=${lan[*]},access=${acc[*]},wan=${wan[*]}" --json \
    --out "$o/analysis/$v/legs.jsonl" 2>> "$o/analysis/$v/analyze.log" || true
  timeout -s KILL 300 "$MPX_BIN/mpx-analyze" --legs "lan=${lan[*]},access=${acc[*]},wan=${wan[*]}" --text \
    --out "$o/analysis/$v/legs.txt" 2>> "$o/analysis/$v/analyze.log" || true
}

# mpx_chain_join OUT: connections.jsonl with every proxy/proxy row's analyzer record ("a") being
# the CPE's own connection (its SYN: option bytes, SYN data, MPTCP, subflows), the LAN and WAN
# legs beside it ("legs"). The legs come from mpx-analyze --legs (joined by the application
# bytes) when it ran, else from the step's time window (steps run one at a time: the CPE's
# access connection and the HAG's WAN connection of a step start inside it).
mpx_chain_join() {
  local o=$1 vd v node ps cpeaddrs legs
  grep -q '"signal":"cpe:' "$o/connections.jsonl" 2> /dev/null || return 0
  local tmp=$o/.connections.chain.jsonl; : > "$tmp"
  for vd in "$o"/links/*/; do
    v=$(basename "$vd")
    node=$(jq -r '.chain.node // empty' "$vd/variant.json" 2> /dev/null)
    if [ -z "$node" ]; then jq -c --arg v "$v" 'select(.variant == $v)' "$o/connections.jsonl" >> "$tmp"; continue; fi
    ps=$(jq -r '.model_links.ps' "$vd/variant.json")
    cpeaddrs=$(awk -v n="$node" '$1 == n { if ($3 != "-") print $3; if ($4 != "-") print $4 }' "$vd/addrs" 2> /dev/null | jq -R -s -c 'split("\n") | map(select(length > 0))')
    legs=$o/analysis/$v/legs.jsonl; [ -s "$legs" ] || legs=/dev/null
    [ -f "$o/analysis/$v/.all.jsonl" ] || : > "$o/analysis/$v/.all.jsonl"
    jq -c --arg v "$v" 'select(.variant == $v)' "$o/connections.jsonl" |
      jq -c -s --arg ps "$ps" --argjson cpe "$cpeaddrs" --slurpfile an "$o/analysis/$v/.all.jsonl" \
        --slurpfile legs "$legs" -f "$MPX_ROOT/emu/harness/chain-join.jq" >> "$tmp" || { rm -f "$tmp"; return 1; }
  done
  mv "$tmp" "$o/connections.jsonl"
}

# mpx_chain_apps RUN VARIANT: real LAN applications through the CPE while it is up
# (emu/harness/apps.sh, when this checkout has it): a web server on the server host, curl, wget
# and busybox wget on the first LAN host, every explicit channel (the CPE's W = last wait) and
# direct; each download sha256-checked (logs/VARIANT/apps/apps.csv, summarised in apps.md)
mpx_chain_apps() {
  local r=$1 v=$2 f=$MPX_ROOT/emu/harness/apps.sh d=$OUT/logs/$2/apps ch ports=() ns
  [ -f "$f" ] && [ ${#MPX_CHAIN_HTTP[@]} -gt 0 ] && [ "$MPX_CHAIN_APPS_DONE" = 0 ] || return 0
  MPX_CHAIN_APPS_DONE=1
  # shellcheck source=/dev/null
  declare -F mpx_apps_run > /dev/null || source "$f" || return 0
  mkdir -p "$d"
  mpx_progress_msg "variant $v: LAN applications through the CPE (curl, wget, busybox wget)"
  ports=("$MPX_CHAIN_HTTP_BASE" "${MPX_CHAIN_HTTP[@]}")
  mpx_apps_httpd_start "$d" "$(mpx_topo_ns "$r" server)" "${ports[@]}" >> "$d/apps.log" 2>&1 ||
    { log "chain: the web server did not start (logs/$v/apps/apps.log)"; echo "The web server did not start: see logs/$v/apps/apps.log." > "$OUT/logs/$v/apps.md"; return 0; }
  ns=$(mpx_topo_ns "$r" "${EXP_CHAIN_HOSTS[0]}")
  local tools=${MPX_CHAIN_APPS_TOOLS:-curl wget bbwget} sizes=${MPX_CHAIN_APPS_SIZES:-1k 100k 1m 10m}
  mpx_apps_run "$d" "$ns" direct "http://$(_mpx_hostport "$SRV_ADDR" "$MPX_CHAIN_HTTP_BASE")" "$tools" "$sizes" >> "$d/apps.log" 2>&1 || true
  local ic hag
  hag=$(mpx_topo_ns "$r" hag)
  for ch in "${!MPX_CHAIN_HTTP[@]}"; do
    # the channel's HAG side, as for its measured rows (mpconvert-opt: the HAG's mpx-optd)
    ic=${MPX_SIG_INTERCEPT[$ch]}
    if [ "$ic" != - ]; then
      MPX_IC_TPORT=${MPX_SIG_PORT[$ch]} MPX_IC_OPTPORT=${MPX_SIG_PORT[$ch]} \
        MPX_IC_JOIN_PORTS="$MPX_PORT_SERVER $MPX_PORT_SERVER_MPTCP ${MPX_CHAIN_HTTP[$ch]}" \
        mpx_ic_hag_up "$hag" "$ic" "$MPX_CHAIN_IC_DIR" >> "$d/apps.log" 2>&1 || log "chain: apps: HAG interception for $ch failed"
      MPX_IC_HAG_UP=1
    fi
    mpx_apps_run "$d" "$ns" "$ch" "http://$(_mpx_hostport "$SRV_ADDR" "${MPX_CHAIN_HTTP[$ch]}")" "$tools" "$sizes" >> "$d/apps.log" 2>&1 || true
    mpx_apps_run "$d" "$ns" "$ch" "http://$(_mpx_hostport "$SRV_ADDR" "${MPX_CHAIN_HTTP[$ch]}")" curl-tfo 1k >> "$d/apps.log" 2>&1 || true
    if [ "$MPX_IC_HAG_UP" = 1 ]; then mpx_ic_hag_down "$hag" "$MPX_CHAIN_IC_DIR" >> "$d/apps.log" 2>&1 || true; MPX_IC_HAG_UP=0; fi
  done
  mpx_apps_httpd_stop "$d" >> "$d/apps.log" 2>&1 || true
  [ -s "$d/apps.csv" ] || return 0
  # one Markdown table: per channel and tool, verified downloads / tried, goodput per size
  {
    echo "Downloads from a web server on the server host ($(command -v lighttpd > /dev/null && [ "${MPX_APPS_HTTPD:-lighttpd}" = lighttpd ] && echo lighttpd || echo busybox httpd)) by unmodified applications on \`${EXP_CHAIN_HOSTS[0]}\`, through the CPE's listener of each explicit channel (W = ${EXP_CHAIN_WAITS[-1]} ms) and direct (no proxy); every file checked by sha256. Cells: verified/tried, goodput Mbit/s per size. \`curl-tfo\` = curl --tcp-fastopen (the LAN client's SYN carries the request; the CPE has it at accept). Raw: logs/$v/apps/apps.csv."
    echo
    jq -R -s -r 'split("\n") | .[1:] | map(select(length > 0) | split(",")
        | {tool: .[0], ch: .[1], size: .[2], mbit: (.[5] | tonumber), ok: (.[6] == "1")}) as $rows
      | ($rows | map(.size) | unique | sort_by(if . == "1k" then 0 elif . == "100k" then 1 elif . == "1m" then 2 else 3 end)) as $sizes
      | "| channel | tool | verified | " + ($sizes | map("\(.) Mbit/s") | join(" | ")) + " |",
        "|---|---|---|" + ($sizes | map("---|") | join("")),
        ($rows | group_by(.ch + " " + .tool)[] | . as $g
         | "| `\($g[0].ch)` | \($g[0].tool) | \($g | map(select(.ok)) | length)/\($g | length) | "
           + ($sizes | map(. as $z | ($g | map(select(.size == $z)) | .[0]) | if . == null then "–" elif .ok then "\(.mbit)" else "**failed**" end) | join(" | ")) + " |")' "$d/apps.csv"
  } > "$OUT/logs/$v/apps.md"
}
