# shellcheck shell=bash
# mpxlab harness: agents (mpx-server, mpx-proxy, mpx-client), links and per-run state.
# Agents run inside the topology's namespaces through "ip netns exec NS timeout ... BIN" (on
# the Mininet backend "mnexec -a PID env -C DIR timeout ... BIN": mpx_topo_ns_prefix), so
# $! is the PID of the timeout process (it forwards TERM to the agent): ended by PID only.
#   mpx_agents_signal_why SIG ALL     "" when SIG can run, else the reason it cannot
#   mpx_agents_start RUN LOGDIR
#   mpx_agents_stop_all
#   mpx_client_step RUN VARIANT REP STEP SIG
#   mpx_links_load RUN OUTFILE / mpx_links_end RUN LINK a|b / mpx_links_nodes RUN
#   mpx_links_stats RUN DIR / mpx_links_collect RUN VARIANT OUT
#   mpx_sysctl_snapshot RUN

MPX_BIN=${MPX_BIN:-$MPX_ROOT/bin}
MPX_AGENT_PIDS=()
MPX_PORT_SERVER=8080
declare -gA MPX_PROXY_PORT=([convert]=5124 [convert-wait]=5124 [convert-cookie]=5124
  [mpconvert]=5125 [mpconvert-ie]=5126 [socks5]=1080 [socks5-auth]=1081)
MPX_SOCKS_USER=mpx MPX_SOCKS_PASS=mpxlab-secret
MPX_PORT_TRANSPARENT=5127 MPX_PORT_MPCONVERT_OPT=5128
# an MPTCP-capable server port for the "native MPTCP survives" probe of the implicit variants
MPX_PORT_SERVER_MPTCP=8081 MPX_SRV_MPTCP=0 MPX_PORT_CONVERT_TFO=5129
MPX_IC_LIB=$MPX_ROOT/agents/intercept/intercept.sh
MPX_IC_DIR='' MPX_IC_CLIENT_UP=0 MPX_IC_HAG_UP=0

# _mpx_help BIN: cached --help text of a binary (empty if missing)
declare -gA _MPX_HELP=()
_mpx_help() {
  local b=$1
  if [ -z "${_MPX_HELP[$b]+x}" ]; then
    if [ -x "$MPX_BIN/$b" ]; then _MPX_HELP[$b]=$(timeout 5 "$MPX_BIN/$b" --help 2>&1 || true); else _MPX_HELP[$b]=''; fi
  fi
  printf '%s' "${_MPX_HELP[$b]}"
}
# _mpx_has_flag BIN FLAG: the binary's --help mentions FLAG
_mpx_has_flag() { grep -q -- "$2\b" <<< "$(_mpx_help "$1")"; }

mpx_agents_signal_why() {
  local s=$1
  [ -x "$MPX_BIN/mpx-server" ] || { echo "bin/mpx-server not built yet"; return 0; }
  [ -x "$MPX_BIN/mpx-client" ] || { echo "bin/mpx-client not built yet"; return 0; }
  grep -qw -- "$s" <<< "$(_mpx_help mpx-client)" || { echo "mpx-client does not offer --signal $s yet"; return 0; }
  case $s in
    tcp) ;;
    implicit|implicit-prefer|implicit-ra|mpconvert-opt)
      [ -x "$MPX_BIN/mpx-proxy" ] || { echo "bin/mpx-proxy not built yet"; return 0; }
      [ -f "$MPX_IC_LIB" ] || { echo "no HAG interception setup (agents/intercept/intercept.sh, issue 7) yet"; return 0; }
      if [ "$s" = mpconvert-opt ]; then
        # without the proxy's listener an MPTCP mpx-server on the HAG stands in (see below)
        _mpx_has_flag mpx-proxy --mpconvert-opt || _mpx_has_flag mpx-server --mptcp ||
          { echo "mpx-proxy has no --mpconvert-opt listener yet"; return 0; }
      else
        _mpx_has_flag mpx-proxy --transparent || { echo "mpx-proxy has no --transparent listener yet"; return 0; }
      fi
      if [ "$s" != implicit ]; then
        [ -x "$MPX_BIN/mpx-optd" ] || { echo "bin/mpx-optd not built yet"; return 0; }
        _mpx_has_flag mpx-client --optd-ctl || { echo "mpx-client has no --optd-ctl yet"; return 0; }
      fi ;;
    *)
      [ -x "$MPX_BIN/mpx-proxy" ] || { echo "bin/mpx-proxy not built yet"; return 0; }
      local fl=--${s%%-*}; [ "$s" = mpconvert-ie ] && fl=--mpconvert-ie
      [[ $s == socks5* ]] && fl=--socks5
      _mpx_has_flag mpx-proxy "$fl" || { echo "mpx-proxy has no $fl listener"; return 0; } ;;
  esac
  echo ""
}

# mpx_agents_signal_note SIG: for a runnable signal, what is not the real thing (or nothing)
mpx_agents_signal_note() {
  if [ "$1" = mpconvert-opt ] && ! _mpx_has_flag mpx-proxy --mpconvert-opt; then
    echo "stand-in: mpx-proxy has no --mpconvert-opt listener yet, an MPTCP mpx-server on the HAG answers; the SYN and its options are real, the TTFB is client-HAG only"
  fi
}

# _mpx_agent_run NS LOG BIN ARGS...: start in the background, remember the PID
_mpx_agent_run() {
  local ns=$1 logf=$2 b=$3 pre; shift 3
  mapfile -t pre < <(mpx_topo_ns_prefix "$ns")
  echo "# $(date -u +%FT%TZ) ${pre[*]} $b $*" >> "$logf"
  "${pre[@]}" timeout -s TERM -k 5 $((EXP_TIMEOUT_RUN > 0 ? EXP_TIMEOUT_RUN + 300 : 86400)) \
    "$MPX_BIN/$b" "$@" < /dev/null >> "$logf" 2>&1 &
  MPX_AGENT_PIDS+=("$!")
  MPX_LAST_PID=$!
}

# _mpx_wait_ready FILE PID NAME: poll for the ready file while the process lives
_mpx_wait_ready() {
  local f=$1 pid=$2 name=$3 i
  for ((i = 0; i < EXP_TIMEOUT_SETUP * 100; i++)); do
    [ -s "$f" ] && return 0
    kill -0 "$pid" 2>/dev/null || { echo "$name exited before it was ready" >&2; return 1; }
    sleep 0.01
  done
  echo "$name not ready after ${EXP_TIMEOUT_SETUP}s" >&2; return 1
}

mpx_agents_start() {
  local r=$1 ld=$2 srv_ns hag_ns a
  srv_ns=$(mpx_topo_ns "$r" server) hag_ns=$(mpx_topo_ns "$r" hag)
  MPX_SRV_JSON=$ld/server.jsonl MPX_PROXY_STATS=$ld/proxy.stats.json
  # the server: plain TCP on every address of the server node (v4 and v6), TFO on
  local largs=() fam
  for fam in 4 6; do
    a=$(mpx_topo_addr "$r" server "" "$fam" 2>/dev/null) || continue
    if [ "$fam" = 6 ]; then largs+=(--listen "[$a]:$MPX_PORT_SERVER"); else largs+=(--listen "$a:$MPX_PORT_SERVER"); fi
  done
  local sargs=("${largs[@]}" --json "$MPX_SRV_JSON" --ready "$ld/server.ready")
  _mpx_has_flag mpx-server --tfo && sargs+=(--tfo)
  _mpx_agent_run "$srv_ns" "$ld/server.log" mpx-server "${sargs[@]}"
  _mpx_wait_ready "$ld/server.ready" "$MPX_LAST_PID" mpx-server 2>> "$ld/server.log" || return 1
  # native end-to-end MPTCP target (issue 7): does an implicit variant's HAG hijack it?
  MPX_SRV_MPTCP=0
  if _mpx_has_flag mpx-server --mptcp; then
    local margs=()
    for fam in 4 6; do
      a=$(mpx_topo_addr "$r" server "" "$fam" 2>/dev/null) || continue
      if [ "$fam" = 6 ]; then margs+=(--listen "[$a]:$MPX_PORT_SERVER_MPTCP"); else margs+=(--listen "$a:$MPX_PORT_SERVER_MPTCP"); fi
    done
    _mpx_agent_run "$srv_ns" "$ld/server-mptcp.log" mpx-server --mptcp "${margs[@]}" \
      --json "$ld/server-mptcp.jsonl" --ready "$ld/server-mptcp.ready"
    _mpx_wait_ready "$ld/server-mptcp.ready" "$MPX_LAST_PID" mpx-server-mptcp 2>> "$ld/server-mptcp.log" && MPX_SRV_MPTCP=1
  fi
  # the proxy: every listener it has
  if [ -x "$MPX_BIN/mpx-proxy" ]; then
    local pargs=() k
    for k in convert mpconvert mpconvert-ie socks5; do
      local port=${MPX_PROXY_PORT[$k]}
      _mpx_has_flag mpx-proxy "--$k" && pargs+=("--$k" "$port")
    done
    _mpx_has_flag mpx-proxy --transparent && pargs+=(--transparent "$MPX_PORT_TRANSPARENT")
    # convert-cookie: a listener that grants real TFO cookies (the others accept SYN data
    # without any cookie)
    if _mpx_has_flag mpx-proxy --convert-tfo; then
      pargs+=(--convert-tfo "$MPX_PORT_CONVERT_TFO"); MPX_PROXY_PORT[convert-cookie]=$MPX_PORT_CONVERT_TFO
    fi
    # mpconvert-opt: the target comes from the HAG's mpx-optd (read), started per connection
    # by the interception setup; its control socket path is fixed per variant
    if _mpx_has_flag mpx-proxy --mpconvert-opt && [ -f "$MPX_IC_LIB" ]; then
      # shellcheck source=/dev/null
      declare -F mpx_ic_hag_ctl > /dev/null || source "$MPX_IC_LIB"
      pargs+=(--mpconvert-opt "$MPX_PORT_MPCONVERT_OPT" --optd "$(mpx_ic_hag_ctl "$ld/intercept")")
    fi
    _mpx_has_flag mpx-proxy --stats && pargs+=(--stats "$MPX_PROXY_STATS")
    _mpx_has_flag mpx-proxy --ready && pargs+=(--ready "$ld/proxy.ready")
    _mpx_agent_run "$hag_ns" "$ld/proxy.log" mpx-proxy "${pargs[@]}"
    if _mpx_has_flag mpx-proxy --ready; then
      _mpx_wait_ready "$ld/proxy.ready" "$MPX_LAST_PID" mpx-proxy 2>> "$ld/proxy.log" || return 1
    else sleep 0.3; fi
    # mpconvert-opt stand-in: the HAG's optd decodes the option, an MPTCP server answers
    if ! _mpx_has_flag mpx-proxy --mpconvert-opt && _mpx_has_flag mpx-server --mptcp; then
      local hag4; hag4=$(mpx_topo_addr "$r" hag "${EXP_CP%%+*}" 4 2>/dev/null || mpx_topo_addr "$r" hag 4)
      _mpx_agent_run "$hag_ns" "$ld/standin.log" mpx-server --mptcp --listen "$hag4:$MPX_PORT_MPCONVERT_OPT" \
        --json "$ld/standin.jsonl" --ready "$ld/standin.ready"
      _mpx_wait_ready "$ld/standin.ready" "$MPX_LAST_PID" mpx-server-standin 2>> "$ld/standin.log" || return 1
    fi
    # RFC 1929 needs a listener that requires username/password: a second instance
    if _mpx_has_flag mpx-proxy --users && _mpx_has_flag mpx-proxy --socks5; then
      printf '%s:%s\n' "$MPX_SOCKS_USER" "$MPX_SOCKS_PASS" > "$ld/socks-users"
      local aargs=(--socks5 "${MPX_PROXY_PORT[socks5-auth]}" --users "$ld/socks-users")
      _mpx_has_flag mpx-proxy --stats && aargs+=(--stats "$ld/proxy-auth.stats.json")
      _mpx_has_flag mpx-proxy --ready && aargs+=(--ready "$ld/proxy-auth.ready")
      _mpx_agent_run "$hag_ns" "$ld/proxy-auth.log" mpx-proxy "${aargs[@]}"
      if _mpx_has_flag mpx-proxy --ready; then
        _mpx_wait_ready "$ld/proxy-auth.ready" "$MPX_LAST_PID" mpx-proxy-auth 2>> "$ld/proxy-auth.log" || return 1
      else sleep 0.3; fi
    fi
  fi
  return 0
}

# mpx_agents_stop_all: TERM every agent (timeout forwards it), wait up to 5 s, then KILL
mpx_agents_stop_all() {
  local p i alive
  [ ${#MPX_AGENT_PIDS[@]} = 0 ] && return 0
  for p in "${MPX_AGENT_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for ((i = 0; i < 500; i++)); do
    alive=0
    for p in "${MPX_AGENT_PIDS[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && break
    sleep 0.01
  done
  for p in "${MPX_AGENT_PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; { wait "$p"; } 2>/dev/null || true; done
  MPX_AGENT_PIDS=()
}

# _mpx_hostport ADDR PORT: IPv6 in brackets
_mpx_hostport() { if [[ $1 == *:* ]]; then echo "[$1]:$2"; else echo "$1:$2"; fi; }

# mpx_client_step RUN VARIANT REP STEP SIG: one measured connection; its JSON lines go to
# raw/VARIANT/STEP-SIG.jsonl, one line per step to steps.csv
mpx_client_step() {
  local r=$1 v=$2 rep=$3 k=$4 sig=$5 ns json rc t0 t1
  ns=$(mpx_topo_ns "$r" client)
  json=$OUT/raw/$v/$(printf '%05d' "$k")-$sig.jsonl
  local args=(--signal "$sig" --target "$(_mpx_hostport "$SRV_ADDR" "$MPX_PORT_SERVER")"
    --workload "$EXP_WORKLOAD" --count 1 --json "$json" --timeout "$EXP_TIMEOUT_CONN" --tag "$v/$rep/$k")
  case $sig in
    tcp) args+=(--mptcp off); [ "$EXP_TFO" = on ] && args+=(--tfo) ;;
    implicit) args+=(--mptcp "$EXP_MPTCP") ;;
    implicit-ra|implicit-prefer) args+=(--mptcp "$EXP_MPTCP" --optd-ctl "$(mpx_ic_client_ctl "$MPX_IC_DIR")") ;;
    mpconvert-opt) args+=(--proxy "$(_mpx_hostport "$PROXY_ADDR" "$MPX_PORT_MPCONVERT_OPT")" --mptcp "$EXP_MPTCP"
      --optd-ctl "$(mpx_ic_client_ctl "$MPX_IC_DIR")") ;;
    *) args+=(--proxy "$(_mpx_hostport "$PROXY_ADDR" "${MPX_PROXY_PORT[$sig]}")" --mptcp "$EXP_MPTCP") ;;
  esac
  [ "$sig" = socks5-auth ] && args+=(--socks-user "$MPX_SOCKS_USER" --socks-pass "$MPX_SOCKS_PASS")
  [ "$sig" = convert-cookie ] && _mpx_has_flag mpx-client --cookie-cache && args+=(--cookie-cache "$OUT/raw/$v/cookie-cache")
  # on-path interception on the HAG for this one connection (agents/intercept, issue 7)
  if _mpx_ic_signal "$sig"; then
    mpx_ic_hag_up "$(mpx_topo_ns "$r" hag)" "$sig" "$MPX_IC_DIR" >> "$OUT/logs/$v/intercept.log" 2>&1 ||
      log "step $v/$rep/$k $sig: HAG interception setup failed (logs/$v/intercept.log)"
    MPX_IC_HAG_UP=1
  fi
  local pre
  mapfile -t pre < <(mpx_topo_ns_prefix "$ns")
  t0=$EPOCHREALTIME
  rc=0
  "${pre[@]}" timeout -s KILL $((EXP_TIMEOUT_CONN + 10)) "$MPX_BIN/mpx-client" "${args[@]}" \
    < /dev/null >> "$OUT/logs/$v/client.log" 2>&1 || rc=$?
  t1=$EPOCHREALTIME
  # while the HAG intercepts: one native end-to-end MPTCP connection (no signal) to the
  # MPTCP server port; collect.sh compares it with that server's view (peer = the client's
  # own address and MPTCP = survived; the HAG's address = hijacked)
  if [[ $sig == implicit* ]] && [ "$MPX_SRV_MPTCP" = 1 ]; then
    mkdir -p "$OUT/native/$v"
    "${pre[@]}" timeout -s KILL $((EXP_TIMEOUT_CONN + 10)) "$MPX_BIN/mpx-client" --signal tcp --mptcp on \
      --target "$(_mpx_hostport "$SRV_ADDR" "$MPX_PORT_SERVER_MPTCP")" --workload "$EXP_WORKLOAD" --count 1 \
      --json "$OUT/native/$v/$(printf '%05d' "$k")-$sig.jsonl" --timeout "$EXP_TIMEOUT_CONN" \
      --tag "$v/$rep/$k/native-$sig" < /dev/null >> "$OUT/logs/$v/client.log" 2>&1 || true
  fi
  if [ "$MPX_IC_HAG_UP" = 1 ]; then mpx_ic_hag_down "$(mpx_topo_ns "$r" hag)" "$MPX_IC_DIR" >> "$OUT/logs/$v/intercept.log" 2>&1 || true; MPX_IC_HAG_UP=0; fi
  echo "$v,$rep,$k,$sig,$t0,$t1,$rc" >> "$OUT/steps.csv"
  log "step $v/$rep/$k $sig rc=$rc $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3fs", b-a}')"
  return "$rc"
}

# Links: "link a-node a-if b-node b-if" from the topology's state
mpx_links_load() {
  local r=$1 out=$2
  awk '{print $1, $2, $3, $4, $5}' "$(mpx_topo_state "$r")/links" > "$out"
  MPX_LINKS_FILE=$out
}
mpx_links_end() { # RUN LINK a|b -> "node iface"
  awk -v l="$2" -v e="$3" '$1 == l { if (e == "a") print $2, $3; else print $4, $5 }' "$MPX_LINKS_FILE"
}
mpx_links_nodes() { mpx_topo_nodes "$1"; }
mpx_links_names() { awk '{print $1}' "$MPX_LINKS_FILE"; }

# mpx_links_stats RUN DIR: fresh counters of every link (SIGUSR1) into DIR/LINK.stats.json
mpx_links_stats() {
  local r=$1 d=$2 l
  for l in $(mpx_links_names); do
    mpx_topo_link_stats "$r" "$l" > "$d/$l.stats-before-down.json" 2>> "$RUN_LOG" || true
  done
}

# mpx_links_collect RUN VARIANT OUT: take the topology down (the emulators flush their pcaps,
# events and stats into OUT/pcaps/VARIANT at exit)
mpx_links_collect() {
  local r=$1 v=$2 o=$3
  cp "$(mpx_topo_state "$r")/resolved" "$o/links/$v/topology.resolved" 2>/dev/null || true
  cp "$(mpx_topo_state "$r")/addrs" "$o/links/$v/addrs" 2>/dev/null || true
  local f; for f in "$(mpx_topo_state "$r")"/*.spec; do [ -f "$f" ] && cp "$f" "$o/links/$v/"; done
  run_topo_down "$r"
}

# mpx_sysctl_snapshot RUN: the sysctls that shape the measurements, per node, as JSON
mpx_sysctl_snapshot() {
  local r=$1 n ns out='{}' kv
  for n in $(mpx_topo_nodes "$r"); do
    ns=$(mpx_topo_ns "$r" "$n")
    kv=$(ip netns exec "$ns" sysctl net.ipv4.tcp_fastopen net.mptcp.enabled net.mptcp.checksum_enabled \
      net.mptcp.allow_join_initial_addr_port net.ipv4.tcp_timestamps net.ipv4.tcp_sack net.ipv4.tcp_window_scaling \
      net.ipv4.tcp_congestion_control net.ipv4.ip_forward net.ipv4.tcp_fastopen_blackhole_timeout_sec \
      net.mptcp.scheduler net.mptcp.pm_type 2>/dev/null |
      jq -R -s -c 'split("\n") | map(select(length > 0) | split(" = ")) | map({(.[0]): .[1]}) | add // {}')
    out=$(jq -c --arg n "$n" --argjson kv "$kv" '. + {($n): $kv}' <<< "$out")
  done
  echo "$out"
}

# Interception (issue 7's agents/intercept/intercept.sh): set up per variant on the client
# (mpx-optd add + NFQUEUE, when an option signal runs) and per connection on the HAG (the
# modes exclude each other and "implicit" would take every MPTCP SYN, also the proxied ones).
_mpx_ic_signal() { [[ $1 =~ ^(implicit|implicit-ra|implicit-prefer|mpconvert-opt)$ ]]; }

# mpx_ic_variant_up RUN VARIANT SIGNALS...: load the library and prepare the client side
mpx_ic_variant_up() {
  local r=$1 v=$2 s need=0 client=0; shift 2
  for s; do _mpx_ic_signal "$s" && need=1; [[ $s =~ ^(implicit-ra|implicit-prefer|mpconvert-opt)$ ]] && client=1; done
  [ $need = 1 ] || return 0
  # shellcheck source=/dev/null
  source "$MPX_IC_LIB"
  MPX_IC_DIR=$OUT/logs/$v/intercept; mkdir -p "$MPX_IC_DIR"
  # the HAG's client-facing interfaces: its ends of every link not on the proxy<->server path
  local ifs='' l an ai bn bi
  while read -r l an ai bn bi; do
    [[ "+$EXP_PS+" == *"+$l+"* ]] && continue
    [ "$an" = hag ] && ifs+=" $ai"; [ "$bn" = hag ] && ifs+=" $bi"
  done < "$MPX_LINKS_FILE"
  export MPX_IC_IFACES=${ifs# } MPX_IC_TPORT=$MPX_PORT_TRANSPARENT MPX_IC_OPTPORT=$MPX_PORT_MPCONVERT_OPT
  export MPX_IC_JOIN_PORTS="$MPX_PORT_SERVER $MPX_PORT_SERVER_MPTCP"
  log "interception: HAG interfaces '$MPX_IC_IFACES', client optd $client"
  if [ $client = 1 ]; then
    mpx_ic_client_up "$(mpx_topo_ns "$r" client)" "$MPX_IC_DIR" >> "$OUT/logs/$v/intercept.log" 2>&1 || return 1
    MPX_IC_CLIENT_UP=1
  fi
}

# mpx_ic_variant_down RUN: everything interception set up (also from the cleanup trap)
mpx_ic_variant_down() {
  local r=$1
  [ -n "$MPX_IC_DIR" ] || return 0
  if [ "$MPX_IC_HAG_UP" = 1 ]; then mpx_ic_hag_down "$(mpx_topo_ns "$r" hag)" "$MPX_IC_DIR" > /dev/null 2>&1 || true; MPX_IC_HAG_UP=0; fi
  if [ "$MPX_IC_CLIENT_UP" = 1 ]; then mpx_ic_client_down "$(mpx_topo_ns "$r" client)" "$MPX_IC_DIR" > /dev/null 2>&1 || true; MPX_IC_CLIENT_UP=0; fi
  MPX_IC_DIR=''
}
