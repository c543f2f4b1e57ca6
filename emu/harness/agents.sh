# shellcheck shell=bash
# mpxlab harness: agents (mpx-server, mpx-proxy, mpx-client), links and per-run state.
# Agents run inside the topology's namespaces through "ip netns exec NS timeout ... BIN" (on
# the Mininet backend "mnexec -a PID env -C DIR timeout ... BIN": mpx_topo_ns_prefix), so
# $! is the PID of the timeout process (it forwards TERM to the agent): ended by PID only.
# What each signal needs (proxy front-end and port, credentials, TFO, option helper, HAG
# interception) comes from its registry row (registry.sh), never from its name.
#   mpx_agents_signal_why SIG     "" when SIG can run on this machine, else the reason
#   mpx_agents_start RUN LOGDIR
#   mpx_agents_stop_all
#   mpx_client_step RUN VARIANT REP STEP SIG (mpx_client_ns RUN SIG, mpx_client_args RUN VARIANT REP STEP SIG)
#   mpx_links_load RUN OUTFILE / mpx_links_end RUN LINK a|b / mpx_links_nodes RUN
#   mpx_links_stats RUN DIR / mpx_links_collect RUN VARIANT OUT
#   mpx_sysctl_snapshot RUN

MPX_BIN=${MPX_BIN:-$MPX_ROOT/bin}
# shellcheck source=registry.sh
declare -F mpx_reg_load > /dev/null || source "$MPX_ROOT/emu/harness/registry.sh"
MPX_AGENT_PIDS=() MPX_AGENTS_KILLED=()
# copies of the caller's stdout and stderr (run.sh makes them): user-facing lines go there even
# from inside a function whose output is redirected to a log; long-lived children do not get them
[ -n "${MPX_ERR_FD:-}" ] || exec {MPX_ERR_FD}>&2
[ -n "${MPX_OUT_FD:-}" ] || exec {MPX_OUT_FD}>&1
# the agents that came up, name -> PID (the timeout wrapper: it exits with the agent), and the
# link emulators, link -> PID: mpx_health_dead checks them between steps
declare -gA MPX_AGENT_WATCH=() MPX_LINK_PID=()
MPX_PORT_SERVER=8080
MPX_SOCKS_USER=mpx MPX_SOCKS_PASS=mpxlab-secret
# an MPTCP-capable server port for the "native MPTCP survives" probe of the implicit signals
MPX_PORT_SERVER_MPTCP=8081 MPX_SRV_MPTCP=0
MPX_IC_LIB=$MPX_ROOT/agents/intercept/intercept.sh
MPX_IC_DIR='' MPX_IC_CLIENT_UP=0 MPX_IC_HAG_UP=0 MPX_IC_BASE_UP=0 MPX_IC_ARMED=0

# _mpx_nfqueue_ok: the kernel can queue packets to user space (mpx-optd)
_mpx_nfqueue_ok() {
  [ -e /proc/net/netfilter/nfnetlink_queue ] || [ -d /sys/module/nfnetlink_queue ] ||
    modprobe -q nfnetlink_queue 2>/dev/null
}

# mpx_agents_signal_why SIG: what this machine lacks for SIG's registry row ("" = nothing)
mpx_agents_signal_why() {
  local s=$1 b c
  mpx_reg_load > /dev/null 2>&1 || { echo "the signal registry is not available (bin/mpx-wire signals --json)"; return 0; }
  # proxy/proxy rows (cpe:CHANNEL:wW) and registry rows in a chain experiment: chain.sh decides
  if declare -F mpx_chain_why > /dev/null && c=$(mpx_chain_why "$s"); then echo "$c"; return 0; fi
  mpx_reg_known "$s" || { echo "unknown to the signal registry (mpx-wire signals)"; return 0; }
  local fe=${MPX_SIG_FRONTEND[$s]} helper=${MPX_SIG_HELPER[$s]} ic=${MPX_SIG_INTERCEPT[$s]}
  local bins=(mpx-server mpx-client)
  [ "$fe" != - ] && bins+=(mpx-proxy)
  { [ "$helper" != none ] || [ "$ic" != - ]; } && bins+=(mpx-optd)
  for b in "${bins[@]}"; do [ -x "$MPX_BIN/$b" ] || { echo "bin/$b missing (make)"; return 0; }; done
  if [ "$ic" != - ]; then
    [ -f "$MPX_IC_LIB" ] || { echo "no HAG interception setup ($MPX_IC_LIB)"; return 0; }
    command -v nft > /dev/null || { echo "HAG interception ($ic) needs nft"; return 0; }
  fi
  # mpx-optd gets its packets through iptables NFQUEUE rules (client: the helper; HAG: the
  # modes that read options)
  if [ "$helper" != none ] || [ "$ic" = prefer ] || [ "$ic" = optd-read ]; then
    for c in iptables ip6tables; do command -v "$c" > /dev/null || { echo "mpx-optd's NFQUEUE rules need $c"; return 0; }; done
    _mpx_nfqueue_ok || { echo "the kernel has no NFQUEUE (nfnetlink_queue) for mpx-optd"; return 0; }
  fi
  echo ""
}

# _mpx_agent_run NS LOG BIN ARGS...: start in the background, remember the PID
_mpx_agent_run() {
  local ns=$1 logf=$2 b=$3 pre; shift 3
  mapfile -t pre < <(mpx_topo_ns_prefix "$ns")
  echo "# $(date -u +%FT%TZ) ${pre[*]} $b $*" >> "$logf"
  "${pre[@]}" timeout -s TERM -k 5 $((EXP_TIMEOUT_RUN > 0 ? EXP_TIMEOUT_RUN + 300 : 86400)) \
    "$MPX_BIN/$b" "$@" < /dev/null >> "$logf" 2>&1 {MPX_ERR_FD}>&- {MPX_OUT_FD}>&- &
  MPX_AGENT_PIDS+=("$!")
  MPX_LAST_PID=$!
}

# _mpx_wait_ready FILE PID NAME: poll for the ready file while the process lives
_mpx_wait_ready() {
  local f=$1 pid=$2 name=$3 i
  for ((i = 0; i < EXP_TIMEOUT_SETUP * 100; i++)); do
    [ -s "$f" ] && { MPX_AGENT_WATCH[$name]=$pid; return 0; }
    kill -0 "$pid" 2>/dev/null || { echo "$name exited before it was ready" >&2; return 1; }
    sleep 0.01
  done
  echo "$name not ready after ${EXP_TIMEOUT_SETUP}s" >&2; return 1
}

# _mpx_listen_args PORT ADDR...: --listen per address (IPv6 in brackets)
_mpx_listen_args() {
  local p=$1 a; shift
  for a; do if [[ $a == *:* ]]; then echo "--listen"; echo "[$a]:$p"; else echo "--listen"; echo "$a:$p"; fi; done
}

mpx_agents_start() {
  local r=$1 ld=$2 srv_ns hag_ns a fam s addrs=() largs=()
  mpx_reg_load || return 1
  srv_ns=$(mpx_topo_ns "$r" server) hag_ns=$(mpx_topo_ns "$r" hag)
  MPX_SRV_JSON=$ld/server.jsonl MPX_PROXY_STATS=$ld/proxy.stats.json
  # the server: plain TCP on every address of the server node (v4 and v6), TFO on
  for fam in 4 6; do
    a=$(mpx_topo_addr "$r" server "" "$fam" 2>/dev/null) || continue
    addrs+=("$a")
  done
  mapfile -t largs < <(_mpx_listen_args "$MPX_PORT_SERVER" "${addrs[@]}")
  _mpx_agent_run "$srv_ns" "$ld/server.log" mpx-server "${largs[@]}" --json "$MPX_SRV_JSON" \
    --ready "$ld/server.ready" --tfo
  _mpx_wait_ready "$ld/server.ready" "$MPX_LAST_PID" mpx-server 2>> "$ld/server.log" || return 1
  # native end-to-end MPTCP target: does an implicit signal's HAG hijack it?
  MPX_SRV_MPTCP=0
  mapfile -t largs < <(_mpx_listen_args "$MPX_PORT_SERVER_MPTCP" "${addrs[@]}")
  _mpx_agent_run "$srv_ns" "$ld/server-mptcp.log" mpx-server --mptcp "${largs[@]}" \
    --json "$ld/server-mptcp.jsonl" --ready "$ld/server-mptcp.ready"
  _mpx_wait_ready "$ld/server-mptcp.ready" "$MPX_LAST_PID" mpx-server-mptcp 2>> "$ld/server-mptcp.log" && MPX_SRV_MPTCP=1
  # the proxy: one instance with every registry front-end that needs no credentials (each
  # front-end/port once), one more per front-end that requires RFC 1929 credentials
  local pargs=() key optd=0 n_auth=0 name
  local -A seen=()
  for s in "${MPX_REG_NAMES[@]}"; do
    [ "${MPX_SIG_FRONTEND[$s]}" != - ] && [ "${MPX_SIG_AUTH[$s]}" = false ] || continue
    # a front-end whose signal the HAG's mpx-optd (read) decodes asks it for the target
    [ "${MPX_SIG_INTERCEPT[$s]}" = optd-read ] && optd=1
    key="${MPX_SIG_FRONTEND[$s]} ${MPX_SIG_PORT[$s]}"
    [ -n "${seen[$key]:-}" ] && continue
    seen[$key]=1; pargs+=("--${MPX_SIG_FRONTEND[$s]}" "${MPX_SIG_PORT[$s]}")
  done
  if [ $optd = 1 ]; then
    # shellcheck source=/dev/null
    declare -F mpx_ic_hag_ctl > /dev/null || source "$MPX_IC_LIB"
    # the control socket path is fixed per variant; the HAG's mpx-optd starts per connection
    pargs+=(--optd "$(mpx_ic_hag_ctl "$ld/intercept")")
  fi
  # the proxy serves the access side only (RFC 8803 s9; it refuses everyone by default): every
  # address of every node but the hag and the servers, with the topology's /24 and /64
  local allow=() tst
  tst=$(mpx_topo_state "$r")
  mapfile -t allow < <(awk 'NR == FNR { if ($2 == "server" || $1 == "hag") skip[$1] = 1; next }
    !($1 in skip) { if ($3 != "-") print "--allow\n" $3 "/24"; if ($4 != "-") print "--allow\n" $4 "/64" }' \
    "$tst/nodes" "$tst/addrs")
  # the experiment's SYN-data policy (.exp syn-data-policy; none: the proxy's default, cookie)
  local pol=()
  [ -n "${EXP_SYN_POLICY:-}" ] && pol=(--syn-data-policy "$EXP_SYN_POLICY")
  # the HAG tells CPEs from direct clients (chain.sh: --cpe-peer with the CPE's prefixes)
  declare -F mpx_chain_hag_args > /dev/null && mapfile -t -O ${#pol[@]} pol < <(mpx_chain_hag_args "$r")
  _mpx_agent_run "$hag_ns" "$ld/proxy.log" mpx-proxy "${pargs[@]}" "${allow[@]}" "${pol[@]}" --stats "$MPX_PROXY_STATS" --ready "$ld/proxy.ready"
  _mpx_wait_ready "$ld/proxy.ready" "$MPX_LAST_PID" mpx-proxy 2>> "$ld/proxy.log" || return 1
  seen=()
  for s in "${MPX_REG_NAMES[@]}"; do
    [ "${MPX_SIG_FRONTEND[$s]}" != - ] && [ "${MPX_SIG_AUTH[$s]}" = true ] || continue
    key="${MPX_SIG_FRONTEND[$s]} ${MPX_SIG_PORT[$s]}"
    [ -n "${seen[$key]:-}" ] && continue
    seen[$key]=1; n_auth=$((n_auth + 1))
    name=proxy-auth; [ $n_auth -gt 1 ] && name=proxy-auth$n_auth
    printf '%s:%s\n' "$MPX_SOCKS_USER" "$MPX_SOCKS_PASS" > "$ld/socks-users"
    _mpx_agent_run "$hag_ns" "$ld/$name.log" mpx-proxy "--${MPX_SIG_FRONTEND[$s]}" "${MPX_SIG_PORT[$s]}" \
      --users "$ld/socks-users" "${allow[@]}" "${pol[@]}" --stats "$ld/$name.stats.json" --ready "$ld/$name.ready"
    _mpx_wait_ready "$ld/$name.ready" "$MPX_LAST_PID" "mpx-$name" 2>> "$ld/$name.log" || return 1
  done
  return 0
}

# mpx_agents_stop_all: TERM every agent (timeout forwards it), wait up to 5 s, then KILL;
# MPX_AGENTS_KILLED: the names of the watched agents that had to be killed
mpx_agents_stop_all() {
  local p i n alive
  mpx_client_plan_stop   # the plan clients first: they close their FIFOs cleanly
  [ ${#MPX_AGENT_PIDS[@]} = 0 ] && return 0
  for p in "${MPX_AGENT_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for ((i = 0; i < 500; i++)); do
    alive=0
    for p in "${MPX_AGENT_PIDS[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && break
    sleep 0.01
  done
  # an agent still up did not drain (a proxy with relays open): its exit counters are lost
  MPX_AGENTS_KILLED=()
  for n in "${!MPX_AGENT_WATCH[@]}"; do
    kill -0 "${MPX_AGENT_WATCH[$n]}" 2>/dev/null && MPX_AGENTS_KILLED+=("$n")
  done
  for p in "${MPX_AGENT_PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; { wait "$p"; } 2>/dev/null || true; done
  MPX_AGENT_PIDS=() MPX_AGENT_WATCH=()
}

# _mpx_hostport ADDR PORT: IPv6 in brackets
_mpx_hostport() { if [[ $1 == *:* ]]; then echo "[$1]:$2"; else echo "$1:$2"; fi; }
# _mpx_hostport_v VAR ADDR PORT: the same into VAR (no subshell: per-step code)
_mpx_hostport_v() { if [[ $2 == *:* ]]; then printf -v "$1" '[%s]:%s' "$2" "$3"; else printf -v "$1" '%s:%s' "$2" "$3"; fi; }

# mpx_client_ns RUN SIG: the namespace SIG's client connection runs in (the client node; a hook
# for topologies whose clients sit elsewhere)
# (MPX_CLIENT_NODE: the LAN host of a chain experiment, emu/harness/chain.sh)
mpx_client_ns() { mpx_topo_ns "$1" "${MPX_CLIENT_NODE:-client}"; }

# mpx_client_json VARIANT STEP SIG: the step's client record file
mpx_client_json() { printf '%s/raw/%s/%05d-%s.jsonl\n' "$OUT" "$1" "$2" "$3"; }

# _mpx_client_argv RUN VARIANT REP STEP SIG: mpx-client's options for that step into the array
# MPX_ARGV (the registry row decides proxy, MPTCP, TFO, helper, credentials and cookie cache);
# no subshell, so a plan step forks nothing to build its line
_mpx_client_argv() {
  local r=$1 v=$2 rep=$3 k=$4 sig=$5 hp json
  local fe=${MPX_SIG_FRONTEND[$sig]}
  _mpx_hostport_v hp "$SRV_ADDR" "$MPX_PORT_SERVER"
  printf -v json '%s/raw/%s/%05d-%s.jsonl' "$OUT" "$v" "$k" "$sig"
  MPX_ARGV=(--signal "$sig" --target "$hp" --workload "$EXP_WORKLOAD" --count 1 --json "$json"
    --timeout "$EXP_TIMEOUT_CONN" --tag "$v/$rep/$k")
  # explicit signals name their proxy; implicit ones reach it by interception
  if [ "$fe" != - ] && [ "${MPX_SIG_MODE[$sig]}" = explicit ]; then
    _mpx_hostport_v hp "$PROXY_ADDR" "${MPX_SIG_PORT[$sig]}"; MPX_ARGV+=(--proxy "$hp")
  fi
  if [ "${MPX_SIG_MPTCP[$sig]}" = false ]; then MPX_ARGV+=(--mptcp off); else MPX_ARGV+=(--mptcp "$EXP_MPTCP"); fi
  # the experiment's TFO switch applies to connections straight to the target (through a
  # proxy the signal's own TFO use is what is measured)
  [ "${MPX_SIG_TFO[$sig]}" = optional ] && [ "$fe" = - ] && [ "$EXP_TFO" = on ] && MPX_ARGV+=(--tfo)
  if [ "${MPX_SIG_HELPER[$sig]}" != none ]; then
    # the control socket path of this variant's client mpx-optd (asked once per variant)
    [ "${_MPX_CTL_DIR:-}" = "$MPX_IC_DIR" ] || { _MPX_CTL=$(mpx_ic_client_ctl "$MPX_IC_DIR"); _MPX_CTL_DIR=$MPX_IC_DIR; }
    MPX_ARGV+=(--optd-ctl "$_MPX_CTL")
  fi
  [ "${MPX_SIG_AUTH[$sig]}" = true ] && MPX_ARGV+=(--socks-user "$MPX_SOCKS_USER" --socks-pass "$MPX_SOCKS_PASS")
  [ "${MPX_SIG_TFO[$sig]}" = cookie ] && MPX_ARGV+=(--cookie-cache "$OUT/raw/$v/cookie-cache")
  return 0
}

# mpx_client_args RUN VARIANT REP STEP SIG: mpx-client's options for that step, one word a line
mpx_client_args() { local MPX_ARGV; _mpx_client_argv "$@"; printf '%s\n' "${MPX_ARGV[@]}"; }

# _mpx_native_argv VARIANT REP STEP SIG: the options of the native end-to-end MPTCP probe made
# while SIG's interception is up (no signal, to the MPTCP server port) into MPX_ARGV
_mpx_native_argv() {
  local v=$1 rep=$2 k=$3 sig=$4 hp json
  _mpx_hostport_v hp "$SRV_ADDR" "$MPX_PORT_SERVER_MPTCP"
  printf -v json '%s/native/%s/%05d-%s.jsonl' "$OUT" "$v" "$k" "$sig"
  MPX_ARGV=(--signal "$MPX_REG_DIRECT" --mptcp on --target "$hp" --workload "$EXP_WORKLOAD" --count 1
    --json "$json" --timeout "$EXP_TIMEOUT_CONN" --tag "$v/$rep/$k/native-$sig")
}

# mpx_client_step RUN VARIANT REP STEP SIG: one measured connection; its JSON lines go to
# raw/VARIANT/STEP-SIG.jsonl, one line per step to steps.csv. MPX_CLIENT_MODE picks how the
# connection is made: plan (default; the variant's long-lived `mpx-client --plan -` of the
# namespace runs it, see mpx_client_plan_start) or process (one mpx-client per connection).
mpx_client_step() {
  local r=$1 v=$2 rep=$3 k=$4 sig=$5 ns rc t0 t1 MPX_ARGV
  # a proxy/proxy row: a plain TCP client on a LAN host, the CPE signals (chain.sh)
  if declare -F mpx_chain_is > /dev/null && mpx_chain_is "$sig"; then mpx_chain_step "$@"; return; fi
  # the namespaces, asked once per run, signal and client node (no subshell per step)
  local key="$r|$sig|${MPX_CLIENT_NODE:-}"
  [ -n "${_MPX_NS_CACHE[$key]:-}" ] || _MPX_NS_CACHE[$key]=$(mpx_client_ns "$r" "$sig")
  [ -n "${_MPX_NS_CACHE[$r|hag]:-}" ] || _MPX_NS_CACHE[$r|hag]=$(mpx_topo_ns "$r" hag)
  ns=${_MPX_NS_CACHE[$key]}
  _mpx_client_argv "$r" "$v" "$rep" "$k" "$sig"
  local ic=${MPX_SIG_INTERCEPT[$sig]} hag=${_MPX_NS_CACHE[$r|hag]}
  # on-path interception on the HAG for this one connection (agents/intercept), towards the
  # port of the signal's front-end
  if [ "$ic" != - ] && [ "$MPX_IC_ARMED" = 1 ]; then
    _mpx_nft_do "$hag" "${_MPX_IC_ON[$sig]}" "$OUT/logs/$v/intercept.log" ||
      log "step $v/$rep/$k $sig: HAG interception setup failed (logs/$v/intercept.log)"
    MPX_IC_HAG_UP=1
  elif [ "$ic" != - ]; then
    MPX_IC_TPORT=${MPX_SIG_PORT[$sig]} MPX_IC_OPTPORT=${MPX_SIG_PORT[$sig]} \
      mpx_ic_hag_up "$hag" "$ic" "$MPX_IC_DIR" >> "$OUT/logs/$v/intercept.log" 2>&1 ||
      log "step $v/$rep/$k $sig: HAG interception setup failed (logs/$v/intercept.log)"
    MPX_IC_HAG_UP=1
  fi
  local native=0
  # while the HAG intercepts: one native end-to-end MPTCP connection (no signal) to the
  # MPTCP server port; collect.sh compares it with that server's view (peer = the client's
  # own address and MPTCP = survived; the HAG's address = hijacked)
  if [ "${MPX_SIG_MODE[$sig]}" = implicit ] && [ "$MPX_SRV_MPTCP" = 1 ]; then
    native=1; [ -d "$OUT/native/$v" ] || mkdir -p "$OUT/native/$v"
  fi
  local fid=0; declare -F mpx_fid_conn > /dev/null && fid=1
  if [ "${MPX_CLIENT_MODE:-plan}" = plan ]; then
    _mpx_plan_line "$ns" "${MPX_ARGV[@]}"
    rc=$MPX_PLAN_RC t0=$MPX_PLAN_T0 t1=$MPX_PLAN_T1
    [ $fid = 0 ] || mpx_fid_conn "$t0" "$t1"
    if [ $native = 1 ]; then
      _mpx_native_argv "$v" "$rep" "$k" "$sig"; _mpx_plan_line "$ns" "${MPX_ARGV[@]}"
      [ $fid = 0 ] || mpx_fid_conn "$MPX_PLAN_T0" "$MPX_PLAN_T1" native
    fi
  else
    local pre
    mapfile -t pre < <(mpx_topo_ns_prefix "$ns")
    t0=$EPOCHREALTIME
    rc=0
    "${pre[@]}" timeout -s KILL $((EXP_TIMEOUT_CONN + 10)) "$MPX_BIN/mpx-client" "${MPX_ARGV[@]}" \
      < /dev/null >> "$OUT/logs/$v/client.log" 2>&1 || rc=$?
    t1=$EPOCHREALTIME
    [ $fid = 0 ] || mpx_fid_conn "$t0" "$t1"
    if [ $native = 1 ]; then
      _mpx_native_argv "$v" "$rep" "$k" "$sig"
      local n0=$EPOCHREALTIME
      "${pre[@]}" timeout -s KILL $((EXP_TIMEOUT_CONN + 10)) "$MPX_BIN/mpx-client" "${MPX_ARGV[@]}" \
        < /dev/null >> "$OUT/logs/$v/client.log" 2>&1 || true
      [ $fid = 0 ] || mpx_fid_conn "$n0" "$EPOCHREALTIME" native
    fi
  fi
  if [ "$MPX_IC_HAG_UP" = 1 ] && [ "$MPX_IC_ARMED" = 1 ]; then
    _mpx_nft_do "$hag" "$_MPX_IC_OFF" "$OUT/logs/$v/intercept.log" || log "step $v/$rep/$k $sig: HAG interception off failed (logs/$v/intercept.log)"
    MPX_IC_HAG_UP=0
  elif [ "$MPX_IC_HAG_UP" = 1 ]; then mpx_ic_hag_down "$hag" "$MPX_IC_DIR" >> "$OUT/logs/$v/intercept.log" 2>&1 || true; MPX_IC_HAG_UP=0; fi
  echo "$v,$rep,$k,$sig,$t0,$t1,$rc" >> "$OUT/steps.csv"
  local us=$(( ${t1/./} - ${t0/./} )) ms
  printf -v ms '%03d' $((us / 1000 % 1000))   # (not $(printf): a fork per step)
  log "step $v/$rep/$k $sig rc=$rc $((us / 1000000)).${ms}s"
  return "$rc"
}

# Plan mode: per client namespace one `mpx-client --plan -` for the variant, its stdin and
# stdout FIFOs held open by the harness (MPX_PLAN_W / MPX_PLAN_R). A step writes one
# TAB-separated line and reads the client's "done RC T0 T1 TAG" line before anything else
# happens, so the per-step work around a connection (interception on the HAG, the native
# probe, health checks) runs between two lines as it ran between two processes.
declare -gA MPX_PLAN_PID=() MPX_PLAN_W=() MPX_PLAN_R=() MPX_PLAN_DIR=() _MPX_NS_CACHE=()
MPX_PLAN_LOG=''

# mpx_client_plan_start NS [LOG]: the plan client of NS (nothing when it runs); its stderr
# goes to LOG (default: the last one given, else OUT/logs/client.log)
mpx_client_plan_start() {
  local ns=$1 d pre w rf
  [ -n "${2:-}" ] && MPX_PLAN_LOG=$2
  [ -n "${MPX_PLAN_PID[$ns]:-}" ] && return 0
  local logf=${MPX_PLAN_LOG:-$OUT/logs/client.log}
  d=$(mktemp -d "${TMPDIR:-/tmp}/mpx-plan.XXXXXX") || return 1
  mkfifo "$d/in" "$d/out" || { rm -rf "$d"; return 1; }
  mapfile -t pre < <(mpx_topo_ns_prefix "$ns")
  printf '# %(%FT%TZ)T %s --plan -\n' -1 "${pre[*]} mpx-client" >> "$logf"
  "${pre[@]}" timeout -s TERM -k 5 $((EXP_TIMEOUT_RUN > 0 ? EXP_TIMEOUT_RUN + 300 : 86400)) \
    "$MPX_BIN/mpx-client" --plan - < "$d/in" > "$d/out" 2>> "$logf" {MPX_ERR_FD}>&- {MPX_OUT_FD}>&- &
  MPX_PLAN_PID[$ns]=$!
  MPX_AGENT_PIDS+=("$!")   # the cleanup's mpx_agents_stop_all ends it by PID as well
  # read-write opens never block: a client that dies before opening its ends cannot hang the
  # harness (_mpx_plan_line notices the death by PID instead of by EOF)
  exec {w}<> "$d/in" {rf}<> "$d/out"
  MPX_PLAN_W[$ns]=$w MPX_PLAN_R[$ns]=$rf MPX_PLAN_DIR[$ns]=$d
}

# mpx_client_plan_stop [NS]: end the plan client of NS (default: all) by PID
mpx_client_plan_stop() {
  local ns p i fd list=("$@")
  [ $# -gt 0 ] || list=("${!MPX_PLAN_PID[@]}")
  for ns in "${list[@]}"; do
    p=${MPX_PLAN_PID[$ns]:-}; [ -n "$p" ] || continue
    fd=${MPX_PLAN_W[$ns]}; exec {fd}>&-
    fd=${MPX_PLAN_R[$ns]}; exec {fd}<&-
    kill -TERM "$p" 2> /dev/null || true
    for ((i = 0; i < 500; i++)); do kill -0 "$p" 2> /dev/null || break; sleep 0.01; done
    kill -KILL "$p" 2> /dev/null || true
    { wait "$p"; } 2> /dev/null || true
    rm -rf "${MPX_PLAN_DIR[$ns]}"
    unset "MPX_PLAN_PID[$ns]" "MPX_PLAN_W[$ns]" "MPX_PLAN_R[$ns]" "MPX_PLAN_DIR[$ns]"
  done
  return 0
}

# A signal the run's trap (run.sh on_signal) noted while a step read: handle it now.
# shellcheck disable=SC2034 # MPX_IN_PLAN_READ is read by run.sh's on_signal
MPX_IN_PLAN_READ=0 MPX_PENDING_SIGNAL=''
_mpx_plan_pending_signal() {
  [ -n "$MPX_PENDING_SIGNAL" ] && declare -F on_signal > /dev/null || return 0
  on_signal "${MPX_PENDING_SIGNAL% *}" "${MPX_PENDING_SIGNAL#* }"  # "NAME NUMBER"
}

# _mpx_plan_line NS ARGS...: one connection set by the plan client of NS (started when it is
# not running); MPX_PLAN_RC (its exit code; 137 when it overran its time like
# `timeout -s KILL` of a process, 2 when a word holds a TAB or newline), MPX_PLAN_T0/T1 (the
# client's wall clock around the line; the harness's when the client did not answer)
# shellcheck disable=SC2034 # MPX_IN_PLAN_READ is read by run.sh's on_signal
_mpx_plan_line() {
  local ns=$1 a l rc t0 t1 _tag line got buf part; shift
  MPX_PLAN_T0=$EPOCHREALTIME MPX_PLAN_RC=2
  for a; do
    if [[ $a == *[$'\t\n']* ]]; then
      log "plan: a word of the line holds a TAB or newline: '${a//[$'\t\n']/ }'"; MPX_PLAN_T1=$EPOCHREALTIME; return 0
    fi
  done
  mpx_client_plan_start "$ns" || { log "plan: cannot start the client of $ns"; MPX_PLAN_RC=3 MPX_PLAN_T1=$EPOCHREALTIME; return 0; }
  local IFS=$'\t' pid=${MPX_PLAN_PID[$ns]} deadline=$((EPOCHSECONDS + EXP_TIMEOUT_CONN + 10))
  line="$*"
  local wfd=${MPX_PLAN_W[$ns]}
  if ! printf '%s\n' "$line" 2> /dev/null 1>&"$wfd"; then
    log "plan: the client of $ns (PID $pid) does not take lines"; l=dead
  else
    l='' part=''
    while :; do
      # a signal arriving in the read is handled after it (run.sh on_signal: bash's read -t)
      MPX_IN_PLAN_READ=1 got=0 buf=''
      IFS= read -r -t 1 -u "${MPX_PLAN_R[$ns]}" buf && got=1
      MPX_IN_PLAN_READ=0
      _mpx_plan_pending_signal
      if [ $got = 1 ]; then
        buf=$part$buf part=''
        IFS=$'\t' read -r l rc t0 t1 _tag <<< "$buf"
        [ "$l" = "done" ] && break
        continue   # anything else the client printed on stdout
      fi
      # bash's read reads a pipe byte by byte: a timeout in the middle of a line returns what
      # it had read, and the next read the rest. Dropped, that lost a client's "done" (its
      # transfer complete and recorded at 7.0 s) and the step waited for the 35 s overrun
      # (failover.exp, 1 step of 210)
      part+=$buf
      if ! _mpx_pid_alive "$pid"; then l=dead; break; fi
      if [ "$EPOCHSECONDS" -ge "$deadline" ]; then l=overrun; break; fi
    done
  fi
  if [ "$l" = "done" ]; then
    MPX_PLAN_RC=$rc MPX_PLAN_T0=$t0 MPX_PLAN_T1=$t1
    return 0
  fi
  # no answer: the connection counts as a process killed by its timeout; the next line gets a
  # new client
  MPX_PLAN_T1=$EPOCHREALTIME MPX_PLAN_RC=137
  [ "$l" = dead ] && { wait "$pid" 2> /dev/null; MPX_PLAN_RC=$?; [ "$MPX_PLAN_RC" = 0 ] && MPX_PLAN_RC=1; }
  log "plan: the client of $ns (PID $pid) $([ "$l" = dead ] && echo "ended (exit $MPX_PLAN_RC)" || echo "overran $((EXP_TIMEOUT_CONN + 10)) s: stopped") during '$line'"
  mpx_client_plan_stop "$ns"
  return 0
}

# The HAG's nft session of an armed variant (mpx_ic_variant_up): one `nft -i` in the HAG's
# namespace, its stdin and stdout (errors included) FIFOs held open by the harness. A switch is
# its line, then `list chain inet mpx_ic gate`, whose last line "}" (unindented) says nft has
# applied the line; an "Error" before it says it did not (a line is one transaction: nothing of
# it applied). A session that does not answer within 5 s is ended and every later switch is a
# process of its own (mpx_ic_hag_nft), so a broken session costs time, never a switch.
MPX_NFT_PID='' MPX_NFT_W='' MPX_NFT_R='' MPX_NFT_DIR=''
_mpx_nft_start() { # NS LOG
  local ns=$1 logf=$2 d pre w rf
  _mpx_nft_stop
  d=$(mktemp -d "${TMPDIR:-/tmp}/mpx-nft.XXXXXX") || return 1
  mkfifo "$d/in" "$d/out" || { rm -rf "$d"; return 1; }
  mapfile -t pre < <(mpx_topo_ns_prefix "$ns")
  "${pre[@]}" timeout -s TERM -k 5 $((EXP_TIMEOUT_RUN > 0 ? EXP_TIMEOUT_RUN + 300 : 86400)) \
    nft -i < "$d/in" > "$d/out" 2>&1 {MPX_ERR_FD}>&- {MPX_OUT_FD}>&- &
  MPX_NFT_PID=$! MPX_NFT_DIR=$d
  exec {w}<> "$d/in" {rf}<> "$d/out"
  MPX_NFT_W=$w MPX_NFT_R=$rf
  echo "# $(date -u +%FT%TZ) nft session PID $MPX_NFT_PID in $ns" >> "$logf"
  _mpx_nft_do "$ns" "" "$logf"   # answers at all?
}
_mpx_nft_stop() {
  [ -n "$MPX_NFT_PID" ] || return 0
  local p=$MPX_NFT_PID i fd
  fd=$MPX_NFT_W; exec {fd}>&-
  fd=$MPX_NFT_R; exec {fd}<&-
  # stdin closed: nft -i ends by itself
  for ((i = 0; i < 100; i++)); do kill -0 "$p" 2> /dev/null || break; [ $i = 50 ] && kill -TERM "$p" 2> /dev/null; sleep 0.01; done
  kill -KILL "$p" 2> /dev/null || true
  { wait "$p"; } 2> /dev/null || true
  rm -rf "$MPX_NFT_DIR"
  MPX_NFT_PID='' MPX_NFT_W='' MPX_NFT_R='' MPX_NFT_DIR=''
}
# _mpx_nft_do NS LINE LOG: apply LINE (nft commands separated by ";") in NS; 1 when nft refused
# it (its error lines go to LOG)
# shellcheck disable=SC2034 # MPX_IN_PLAN_READ is read by run.sh's on_signal
_mpx_nft_do() {
  local ns=$1 line=$2 logf=$3 l err='' got deadline
  if [ -z "$MPX_NFT_PID" ]; then
    [ -n "$line" ] || return 0
    mpx_ic_hag_nft "$ns" "$line" >> "$logf" 2>&1; return
  fi
  if ! printf '%s\nlist chain inet mpx_ic gate\n' "$line" 2> /dev/null 1>&"$MPX_NFT_W"; then
    echo "nft session: write failed" >> "$logf"; _mpx_nft_stop; _mpx_nft_do "$@"; return
  fi
  deadline=$((EPOCHSECONDS + 5))
  while :; do
    # (bash's read -t and a trap that exits: see run.sh on_signal)
    MPX_IN_PLAN_READ=1 got=0
    IFS= read -r -t 1 -u "$MPX_NFT_R" l && got=1
    MPX_IN_PLAN_READ=0
    _mpx_plan_pending_signal
    if [ $got = 1 ]; then
      [ "$l" = "}" ] && break
      [[ $l == Error* ]] && err+="$l; "
      [ -n "$err" ] && echo "$l" >> "$logf"
      continue
    fi
    if ! _mpx_pid_alive "$MPX_NFT_PID" || [ "$EPOCHSECONDS" -ge "$deadline" ]; then
      echo "nft session (PID $MPX_NFT_PID) did not answer: a process per switch from now on" >> "$logf"
      _mpx_nft_stop; _mpx_nft_do "$@"; return
    fi
  done
  [ -z "$err" ]
}

# CPU placement (mpxlab run --cpu-placement split): the link emulators on one CPU, everything
# else the run starts (agents, the plan clients, mpx-optd, nft, the harness itself) on the
# others, so an agent's work never runs on the emulators' CPU (their release lateness is the
# fidelity monitor's first number). By PID only: the emulators with `taskset -a -p` (every
# thread), the harness's own shell before the agents start (children inherit its mask); both
# get the whole mask back after the variant's connections (analysis uses every CPU).
#   mpx_cpu_place_detect MODE    MODE off|split; MPX_CPU_PLACEMENT split with MPX_CPU_EMU /
#                                MPX_CPU_REST / MPX_CPU_ALL (lists for taskset -c), or off with
#                                MPX_CPU_WHY (why split cannot be)
#   mpx_cpu_place_variant        pin the variant's emulators (MPX_LINK_PID) and the harness
#   mpx_cpu_place_release        the harness gets MPX_CPU_ALL back
MPX_CPU_PLACEMENT=off MPX_CPU_EMU='' MPX_CPU_REST='' MPX_CPU_ALL='' MPX_CPU_WHY=''
# shellcheck disable=SC2034  # MPX_CPU_WHY: read by run.sh
mpx_cpu_place_detect() {
  local mode=$1 k v cpus=() a b i part
  MPX_CPU_PLACEMENT=off MPX_CPU_WHY=''
  [ "$mode" = split ] || return 0
  command -v taskset > /dev/null || { MPX_CPU_WHY="taskset (util-linux) is not installed"; return 0; }
  while read -r k v; do [ "$k" = Cpus_allowed_list: ] && break; done < /proc/self/status
  [ "$k" = Cpus_allowed_list: ] || { MPX_CPU_WHY="no Cpus_allowed_list in /proc/self/status"; return 0; }
  local IFS=,
  for part in $v; do
    a=${part%-*} b=${part#*-}
    for ((i = a; i <= b; i++)); do cpus+=("$i"); done
  done
  [ ${#cpus[@]} -ge 2 ] || { MPX_CPU_WHY="this run may use ${#cpus[@]} CPU ($v): nothing to split"; return 0; }
  # the emulators on the last CPU, the rest on the others
  MPX_CPU_EMU=${cpus[-1]} MPX_CPU_ALL=$v
  MPX_CPU_REST="${cpus[*]:0:${#cpus[@]}-1}"
  MPX_CPU_PLACEMENT="split"
}
mpx_cpu_place_variant() {
  [ "$MPX_CPU_PLACEMENT" = split ] || return 0
  local l
  for l in "${!MPX_LINK_PID[@]}"; do
    taskset -a -p -c "$MPX_CPU_EMU" "${MPX_LINK_PID[$l]}" > /dev/null ||
      { echo "taskset: link emulator $l (PID ${MPX_LINK_PID[$l]}) not pinned"; return 1; }
  done
  taskset -p -c "$MPX_CPU_REST" "$$" > /dev/null || { echo "taskset: the harness (PID $$) not pinned"; return 1; }
}
mpx_cpu_place_release() {
  [ "$MPX_CPU_PLACEMENT" = split ] || return 0
  taskset -p -c "$MPX_CPU_ALL" "$$" > /dev/null 2>&1 || true
}

# Links: "link a-node a-if b-node b-if" from the topology's state
mpx_links_load() {
  local r=$1 out=$2
  awk '{print $1, $2, $3, $4, $5}' "$(mpx_topo_state "$r")/links" > "$out"
  MPX_LINKS_FILE=$out
  # column 6: the emulator's PID ("-" without one: --plain)
  local l pid _
  MPX_LINK_PID=()
  while read -r l _ _ _ _ pid _; do
    [[ $pid =~ ^[0-9]+$ ]] && MPX_LINK_PID[$l]=$pid
  done < "$(mpx_topo_state "$r")/links"
  return 0
}
mpx_links_end() { # RUN LINK a|b -> "node iface"
  awk -v l="$2" -v e="$3" '$1 == l { if (e == "a") print $2, $3; else print $4, $5 }' "$MPX_LINKS_FILE"
}
mpx_links_nodes() { mpx_topo_nodes "$1"; }
mpx_links_names() { awk '{print $1}' "$MPX_LINKS_FILE"; }

# _mpx_pid_alive PID: running (a zombie counts as dead: an emulator re-parented to init may be
# reaped only seconds after it died)
_mpx_pid_alive() {
  local st
  kill -0 "$1" 2>/dev/null || return 1
  { read -r st < "/proc/$1/stat"; } 2>/dev/null || return 1
  # the state after the last ") " (a name may hold one); a regex, not ${st##*) }, which costs
  # ~0.2 ms per PID (this runs for every emulator and agent after every connection)
  [[ $st =~ .*\)\ (.) ]] && [ "${BASH_REMATCH[1]}" != Z ]
}

# mpx_health_dead: "" while every link emulator and every agent that came up still runs, else
# what died ("link emulator dsl (PID 123)"): between steps, so a dead component ends the variant
# instead of producing failed connections that look like a measurement
mpx_health_dead() { mpx_health_check; echo "$MPX_DEAD"; }
# mpx_health_check: the same into MPX_DEAD, without a subshell (between every two steps)
mpx_health_check() {
  local k
  MPX_DEAD=''
  for k in "${!MPX_LINK_PID[@]}"; do
    _mpx_pid_alive "${MPX_LINK_PID[$k]}" || { MPX_DEAD="link emulator $k (PID ${MPX_LINK_PID[$k]})"; return 0; }
  done
  for k in "${!MPX_AGENT_WATCH[@]}"; do
    _mpx_pid_alive "${MPX_AGENT_WATCH[$k]}" || { MPX_DEAD="agent $k (PID ${MPX_AGENT_WATCH[$k]})"; return 0; }
  done
  return 0
}

# mpx_links_stats RUN DIR: fresh counters of every link (SIGUSR1) into DIR/LINK.stats.json
mpx_links_stats() {
  local r=$1 d=$2 l p=()
  # all links at once (each waits for its emulator's file): ~0.45 s per variant one by one
  for l in $(mpx_links_names); do
    mpx_topo_link_stats "$r" "$l" > "$d/$l.stats-before-down.json" 2>> "$RUN_LOG" &
    p+=("$!")
  done
  for l in "${p[@]}"; do wait "$l" 2> /dev/null || true; done
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
      net.mptcp.scheduler net.mptcp.pm_type net.mptcp.blackhole_timeout net.mptcp.syn_retrans_before_tcp_fallback 2>/dev/null |
      jq -R -s -c 'split("\n") | map(select(length > 0) | split(" = ")) | map({(.[0]): .[1]}) | add // {}')
    out=$(jq -c --arg n "$n" --argjson kv "$kv" '. + {($n): $kv}' <<< "$out")
  done
  echo "$out"
}

# Interception (agents/intercept/intercept.sh): set up per variant on the client (mpx-optd
# add + NFQUEUE, when a signal needs the SYN option helper) and per connection on the HAG in
# the signal's interception mode (the modes exclude each other and "all" would take every
# MPTCP SYN, also the proxied ones).

# mpx_ic_variant_up RUN VARIANT SIGNALS...: load the library and prepare the client side
mpx_ic_variant_up() {
  local r=$1 v=$2 s need=0 client=0; shift 2
  for s; do
    [ "${MPX_SIG_INTERCEPT[$s]:--}" != - ] && need=1
    [ "${MPX_SIG_HELPER[$s]:-none}" != none ] && client=1
  done
  [ $need = 1 ] || [ $client = 1 ] || return 0
  # shellcheck source=/dev/null
  source "$MPX_IC_LIB"
  MPX_IC_DIR=$OUT/logs/$v/intercept; mkdir -p "$MPX_IC_DIR"
  # the HAG's client-facing interfaces: its ends of every link not on the proxy<->server path
  local ifs='' l an ai bn bi
  while read -r l an ai bn bi; do
    [[ "+$EXP_PS+" == *"+$l+"* ]] && continue
    [ "$an" = hag ] && ifs+=" $ai"; [ "$bn" = hag ] && ifs+=" $bi"
  done < "$MPX_LINKS_FILE"
  export MPX_IC_IFACES=${ifs# }
  # (+ the server ports of a chain experiment's intercepted cpe: rows, chain.sh)
  export MPX_IC_JOIN_PORTS="$MPX_PORT_SERVER $MPX_PORT_SERVER_MPTCP${MPX_CHAIN_JOIN_PORTS:+ $MPX_CHAIN_JOIN_PORTS}"
  log "interception: HAG interfaces '$MPX_IC_IFACES', client optd $client"
  if [ $client = 1 ]; then
    mpx_ic_client_up "$(mpx_topo_ns "$r" client)" "$MPX_IC_DIR" >> "$OUT/logs/$v/intercept.log" 2>&1 || return 1
    MPX_IC_CLIENT_UP=1
  fi
  # armed (default): everything the variant's modes can share is up once (join listeners, local
  # route, the HAG's mpx-optd and its NFQUEUE rules, an nft table with empty chains) and a
  # connection's mode is switched on and off by one nft transaction each, written to one
  # `nft -i` of the variant (no process per connection). MPX_IC_ARM=0: only the join listeners
  # and the route per variant, the mode's rules and mpx-optd per connection; MPX_IC_BASE=0: all
  # of it per connection (tests/integration/exp_plan.sh compares the ways). Not in a chain
  # experiment: chain.sh switches the HAG per connection itself.
  if [ $need = 1 ] && [ "${MPX_IC_BASE:-1}" != 0 ] && [ "${MPX_IC_ARM:-1}" != 0 ] && [ -z "${EXP_CHAIN:-}" ]; then
    local hag modes=() m
    hag=$(mpx_topo_ns "$r" hag)
    declare -gA _MPX_IC_ON=()
    for s; do
      m=${MPX_SIG_INTERCEPT[$s]:--}; [ "$m" != - ] || continue
      modes+=("$m")
      _MPX_IC_ON[$s]=$(MPX_IC_TPORT=${MPX_SIG_PORT[$s]} MPX_IC_OPTPORT=${MPX_SIG_PORT[$s]} mpx_ic_hag_on "$m") || return 1
    done
    _MPX_IC_OFF=$(mpx_ic_hag_off)
    mpx_ic_hag_arm "$hag" "$MPX_IC_DIR" "${modes[@]}" >> "$OUT/logs/$v/intercept.log" 2>&1 || return 1
    MPX_IC_ARMED=1
    _mpx_nft_start "$hag" "$OUT/logs/$v/intercept.log" || log "interception: no nft session in $hag (a process per switch)"
    return 0
  fi
  # what every intercepted connection's HAG setup shares (join listeners, local route) once for
  # the variant; per connection only the mode's own rules come and go
  if [ $need = 1 ] && [ "${MPX_IC_BASE:-1}" != 0 ]; then
    mpx_ic_hag_base_up "$(mpx_topo_ns "$r" hag)" "$MPX_IC_DIR" >> "$OUT/logs/$v/intercept.log" 2>&1 || return 1
    MPX_IC_BASE_UP=1
  fi
}

# mpx_ic_variant_down RUN: everything interception set up (also from the cleanup trap)
mpx_ic_variant_down() {
  local r=$1
  declare -F mpx_chain_variant_down > /dev/null && mpx_chain_variant_down "$r"
  [ -n "$MPX_IC_DIR" ] || return 0
  if [ "$MPX_IC_ARMED" = 1 ]; then
    # (the table goes with the disarm: no switch off first)
    _mpx_nft_stop
    mpx_ic_hag_disarm "$(mpx_topo_ns "$r" hag)" "$MPX_IC_DIR" > /dev/null 2>&1 || true; MPX_IC_ARMED=0 MPX_IC_HAG_UP=0
  fi
  if [ "$MPX_IC_HAG_UP" = 1 ]; then mpx_ic_hag_down "$(mpx_topo_ns "$r" hag)" "$MPX_IC_DIR" > /dev/null 2>&1 || true; MPX_IC_HAG_UP=0; fi
  if [ "$MPX_IC_BASE_UP" = 1 ]; then mpx_ic_hag_base_down "$(mpx_topo_ns "$r" hag)" "$MPX_IC_DIR" > /dev/null 2>&1 || true; MPX_IC_BASE_UP=0; fi
  if [ "$MPX_IC_CLIENT_UP" = 1 ]; then mpx_ic_client_down "$(mpx_topo_ns "$r" client)" "$MPX_IC_DIR" > /dev/null 2>&1 || true; MPX_IC_CLIENT_UP=0; fi
  MPX_IC_DIR=''
}
