# shellcheck shell=bash
# tests/cpe_lib.sh: the proxy/proxy (CPE) test bed on topologies/hybrid-cpe.topo, for the
# tests/integration/cpe_*.sh scripts (source after tests/lib.sh):
#
#   lan1, lan2 --home1/home2-- cpe ==dsl/lte== hag --wan-- server
#
#   mpx_cpt_up TAG [TOPO-ARGS...]  the topology as run TAG<pid> (state under
#                                  MPX_TOPO_STATE_BASE, as tests/run.sh gives each script),
#                                  pcaps in $MPX_CPT_DIR/pcap, teardown on EXIT/INT/TERM;
#                                  sets the addresses below. TOPO-ARGS go to mpx_topo_up
#                                  (--param ..., MPX_CPT_TOPO = another .topo file)
#   mpx_cpt_srv_port SIG           server port of channel SIG: 8100 + its registry index
#   mpx_cpt_cpe_port SIG           CPE listener port of SIG: 9100 + its registry index
#   mpx_cpt_server [ARGS...]       mpx-server on the server: MPX_CPT_PORT_PLAIN (8080, not
#                                  intercepted: the direct baseline), one port per registry
#                                  signal, and $MPX_CPT_EXTRA_PORTS (16 at most); JSON in
#                                  server.json, IPv6 ones (all.ipv6=1) in server6.json
#   mpx_cpt_hag [ARGS...]          the HAG: mpx-proxy "hag" with every registry front-end that
#                                  needs no credentials (+ --optd for the option front-end),
#                                  "hag-auth" with the RFC 1929 one(s) (user mpx / mpxlab-secret);
#                                  --allow and --cpe-peer the CPE's dsl/lte prefixes
#                                  (MPX_CPT_HAG_ALLOW replaces the allow list, e.g. to refuse
#                                  the CPE). ARGS go to both instances.
#   mpx_cpt_cpe ENTRY... [-- ARGS...]
#                                  the CPE: one mpx-proxy "cpe" with one --cpe listener per
#                                  ENTRY, --hag (the HAG's dsl address), --allow the LAN
#                                  prefixes, SOCKS credentials, and the nft port map
#                                  (agents/cpe/cpe.sh). ENTRY = SIG[,wait=MS] (the ports
#                                  above) or SPORT:CPORT=SIG[,wait=MS] (any ports; SPORT must
#                                  be in MPX_CPT_EXTRA_PORTS of the server)
#   mpx_cpt_client NODE NAME ARGS...   mpx-client --signal tcp --mptcp off (the unmodified LAN
#                                  application) on lan1/lan2, JSON in $MPX_CPT_DIR/NAME.json,
#                                  exit code in NAME.rc (ARGS after the defaults: may override)
#   mpx_cpt_conns NAME / mpx_cpt_summary NAME   its conn lines / summary line (jq -c)
#   mpx_cpt_stats NAME             SIGUSR1 to agent NAME, waits for its stats file to change,
#                                  prints it
#   mpx_cpt_stop NAME              SIGTERM (drain) and wait, KILL after 5 s
#   mpx_cpt_pid NAME               PID of the agent process itself (for /proc/PID/fd)
#   mpx_cpt_intercept MODE         the HAG's on-path interception (agents/intercept) for the
#                                  implicit channels, join listeners on the server ports;
#                                  `all` takes every MPTCP SYN from the CPE, the explicit
#                                  channels' too: run those in another phase
#   mpx_cpt_dump                   state dump (nodes, nft, stats, log tails) for failures
#   mpx_cpt_finish                 agents stopped, topology down now (pcaps complete)
#   mpx_cpt_syn_hex PCAP DPORT     "EPOCH_US HEX" of each SYN payload to DPORT (IPv4)
#   mpx_cpt_cpe_row JSON PORT      the CPE stats of the listener on PORT; mpx_cpt_cpe_reasons JSON
#   mpx_cpt_srv_count [PORT] / mpx_cpt_srv_wait N [PORT]   connections the server logged (to
#                                  PORT) / wait (5 s at most) until it logged N
#   mpx_cpt_down                   everything, by PID (the EXIT trap calls it)
# Addresses after mpx_cpt_up: MPX_CPT_SRV (server; MPX_CPT_SRV6 too with --param all.ipv6=1,
# and the server then listens on both), MPX_CPT_HAG (hag dsl), MPX_CPT_HAG_WAN, MPX_CPT_CPE_DSL,
# MPX_CPT_CPE_LTE, MPX_CPT_LAN1, MPX_CPT_LAN2; MPX_CPT_LANS (the host nodes) and MPX_CPE_IFACES
# (the CPE's interfaces towards them, for agents/cpe/cpe.sh); MPX_CPT_NS_<NODE> namespace names;
# MPX_CPT_HAVE_CPE=1 when bin/mpx-proxy has --cpe (0: the CPE side is not built yet).

MPX_CPT_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${MPX_ROOT:=$(cd "$MPX_CPT_LIB_DIR/.." && pwd)}"
# shellcheck source=emu/lib/topo.sh
source "$MPX_ROOT/emu/lib/topo.sh"
# shellcheck source=emu/lib/testutil.sh
source "$MPX_ROOT/emu/lib/testutil.sh"
# shellcheck source=emu/harness/registry.sh
source "$MPX_ROOT/emu/harness/registry.sh"
# shellcheck source=agents/cpe/cpe.sh
source "$MPX_ROOT/agents/cpe/cpe.sh"
# shellcheck source=agents/intercept/intercept.sh
source "$MPX_ROOT/agents/intercept/intercept.sh"

MPX_CPT_PORT_PLAIN=8080 MPX_CPT_SRV_BASE=8100 MPX_CPT_CPE_BASE=9100
MPX_CPT_USER=mpx MPX_CPT_PASS=mpxlab-secret
: "${MPX_CPT_LIFE:=300}"   # upper bound on every agent's life (timeout -s TERM)
MPX_CPT_LANS=()
MPX_CPT_RUN='' MPX_CPT_DIR='' MPX_CPT_IC_UP=0 MPX_CPT_CPE_UP=0 MPX_CPT_HAVE_CPE=0
MPX_CPT_EXTRA_PORTS=${MPX_CPT_EXTRA_PORTS:-}
declare -gA MPX_CPT_PIDS=()
MPX_CPT_ORDER=()

# _mpx_cpt_fail WHY: a setup step failed: one FAIL line, the test is failed (state dump at exit)
_mpx_cpt_fail() { echo "FAIL: setup: $*"; T_FAILED=1; return 1; }

_mpx_cpt_hostport() { if [[ $1 == *:* ]]; then echo "[$1]:$2"; else echo "$1:$2"; fi; }

mpx_cpt_up() { # tag [topo args...]
  local tag=$1; shift
  t_require_root
  t_require_cmd ip jq nft tcpdump
  t_require_bin mpx-linkem mpx-server mpx-client mpx-proxy mpx-wire mpx-analyze
  mpx_reg_load || { _mpx_cpt_fail "signal registry"; exit 1; }
  # the whole help text first: grep -q closing the pipe early fails it under pipefail
  case "$("$MPX_ROOT/bin/mpx-proxy" --help 2>&1)" in *"--cpe "*) MPX_CPT_HAVE_CPE=1 ;; esac
  MPX_CPT_RUN=$tag$$
  MPX_CPT_DIR=$(mktemp -d "/tmp/mpx-cpt-$tag.XXXXXX")
  trap mpx_cpt_down EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  mpx_topo_up "${MPX_CPT_TOPO:-$MPX_ROOT/topologies/hybrid-cpe.topo}" "$MPX_CPT_RUN" 1 \
    --pcap-dir "$MPX_CPT_DIR/pcap" "$@" > "$MPX_CPT_DIR/topo.log" 2>&1 ||
    { _mpx_cpt_fail "mpx_topo_up: $(tail -3 "$MPX_CPT_DIR/topo.log")"; exit 1; }
  local n
  for n in $(mpx_topo_nodes "$MPX_CPT_RUN"); do
    printf -v "MPX_CPT_NS_${n^^}" '%s' "$(mpx_topo_ns "$MPX_CPT_RUN" "$n")"
  done
  MPX_CPT_SRV=$(mpx_topo_addr "$MPX_CPT_RUN" server wan 4)
  # IPv6 only when the run has it (--param all.ipv6=1)
  MPX_CPT_SRV6=$(mpx_topo_addr "$MPX_CPT_RUN" server wan 6 2>/dev/null || true)
  MPX_CPT_HAG=$(mpx_topo_addr "$MPX_CPT_RUN" hag dsl 4)
  MPX_CPT_HAG_WAN=$(mpx_topo_addr "$MPX_CPT_RUN" hag wan 4)
  MPX_CPT_CPE_DSL=$(mpx_topo_addr "$MPX_CPT_RUN" cpe dsl 4)
  MPX_CPT_CPE_LTE=$(mpx_topo_addr "$MPX_CPT_RUN" cpe lte 4)
  MPX_CPT_LAN1=$(mpx_topo_addr "$MPX_CPT_RUN" lan1 eth 4)
  MPX_CPT_LAN2=$(mpx_topo_addr "$MPX_CPT_RUN" lan2 eth 4 2>/dev/null || true)
  export MPX_CPT_SRV MPX_CPT_SRV6 MPX_CPT_HAG MPX_CPT_HAG_WAN MPX_CPT_CPE_DSL MPX_CPT_CPE_LTE MPX_CPT_LAN1 MPX_CPT_LAN2
  # the LAN hosts (role host) and the CPE's interfaces towards them
  local st; st=$(mpx_topo_state "$MPX_CPT_RUN")
  mapfile -t MPX_CPT_LANS < <(awk '$2 == "host" {print $1}' "$st/nodes")
  MPX_CPE_IFACES=$(awk 'NR == FNR { if ($2 == "host") h[$1] = 1; next }
    $2 == "cpe" && ($4 in h) { printf "%s ", $3 } $4 == "cpe" && ($2 in h) { printf "%s ", $5 }' \
    "$st/nodes" "$st/links")
  export MPX_CPE_IFACES=${MPX_CPE_IFACES% }
}

# /24 of an IPv4 address
_mpx_cpt_p24() { echo "${1%.*}.0/24"; }

mpx_cpt_sig_index() { # sig -> registry index
  local i
  for i in "${!MPX_REG_NAMES[@]}"; do [ "${MPX_REG_NAMES[$i]}" = "$1" ] && { echo "$i"; return 0; }; done
  echo "mpx_cpt: '$1' is not a registry signal" >&2; return 1
}
mpx_cpt_srv_port() { local i; i=$(mpx_cpt_sig_index "$1") || return 1; echo $((MPX_CPT_SRV_BASE + i)); }
mpx_cpt_cpe_port() { local i; i=$(mpx_cpt_sig_index "$1") || return 1; echo $((MPX_CPT_CPE_BASE + i)); }

# _mpx_cpt_bg NAME NODE BIN ARGS...: an agent in NODE's namespace (timeout-wrapped), its
# stdout/stderr in DIR/NAME.log; the wrapper's PID in MPX_CPT_PIDS[NAME]
_mpx_cpt_bg() {
  local name=$1 node=$2 bin=$3; shift 3
  echo "# $bin $*" > "$MPX_CPT_DIR/$name.log"
  ip netns exec "$(mpx_topo_ns "$MPX_CPT_RUN" "$node")" timeout -s TERM -k 5 "$MPX_CPT_LIFE" \
    "$bin" "$@" < /dev/null >> "$MPX_CPT_DIR/$name.log" 2>&1 &
  MPX_CPT_PIDS[$name]=$!
  MPX_CPT_ORDER+=("$name")
}

_mpx_cpt_ready() { # name file
  local i pid=${MPX_CPT_PIDS[$1]}
  for ((i = 0; i < 1000; i++)); do
    [ -s "$2" ] && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.01
  done
  _mpx_cpt_fail "$1 not ready: $(tail -n 5 "$MPX_CPT_DIR/$1.log" | tr '\n' ' ')"
  return 1
}

mpx_cpt_server() { # args...
  local d=$MPX_CPT_DIR p i ports=("$MPX_CPT_PORT_PLAIN") largs=() l6=()
  for i in "${!MPX_REG_NAMES[@]}"; do ports+=($((MPX_CPT_SRV_BASE + i))); done
  for p in $MPX_CPT_EXTRA_PORTS; do ports+=("$p"); done
  # mpx-server takes at most 16 --listen: IPv6 gets an instance of its own (server6.json)
  [ ${#ports[@]} -le 16 ] || { _mpx_cpt_fail "${#ports[@]} server ports, mpx-server listens on 16 at most"; return 1; }
  for p in "${ports[@]}"; do largs+=(--listen "$MPX_CPT_SRV:$p") l6+=(--listen "[$MPX_CPT_SRV6]:$p"); done
  rm -f "$d/server.ready" "$d/server6.ready"
  _mpx_cpt_bg server server "$MPX_ROOT/bin/mpx-server" "${largs[@]}" --json "$d/server.json" \
    --ready "$d/server.ready" "$@"
  _mpx_cpt_ready server "$d/server.ready" || return 1
  [ -n "$MPX_CPT_SRV6" ] || return 0
  _mpx_cpt_bg server6 server "$MPX_ROOT/bin/mpx-server" "${l6[@]}" --json "$d/server6.json" \
    --ready "$d/server6.ready" "$@"
  _mpx_cpt_ready server6 "$d/server6.ready"
}

mpx_cpt_hag() { # args...
  local d=$MPX_CPT_DIR s key allow=() peer=() a fe=() auth=() optd=0
  local -A seen=()
  if [ -n "${MPX_CPT_HAG_ALLOW+x}" ]; then
    for a in $MPX_CPT_HAG_ALLOW; do allow+=(--allow "$a"); done
  else
    allow=(--allow "$(_mpx_cpt_p24 "$MPX_CPT_CPE_DSL")" --allow "$(_mpx_cpt_p24 "$MPX_CPT_CPE_LTE")")
  fi
  if "$MPX_ROOT/bin/mpx-proxy" --help 2>&1 | grep -q -- --cpe-peer; then
    peer=(--cpe-peer "$(_mpx_cpt_p24 "$MPX_CPT_CPE_DSL")" --cpe-peer "$(_mpx_cpt_p24 "$MPX_CPT_CPE_LTE")")
  fi
  for s in "${MPX_REG_NAMES[@]}"; do
    [ "${MPX_SIG_FRONTEND[$s]}" != - ] || continue
    key="${MPX_SIG_FRONTEND[$s]} ${MPX_SIG_PORT[$s]}"
    [ -z "${seen[$key]:-}" ] || continue
    seen[$key]=1
    if [ "${MPX_SIG_AUTH[$s]}" = true ]; then auth+=("--${MPX_SIG_FRONTEND[$s]}" "${MPX_SIG_PORT[$s]}")
    else fe+=("--${MPX_SIG_FRONTEND[$s]}" "${MPX_SIG_PORT[$s]}"); fi
    [ "${MPX_SIG_INTERCEPT[$s]}" = optd-read ] && optd=1
  done
  [ $optd = 1 ] && fe+=(--optd "$(mpx_ic_hag_ctl "$d/ic")")
  mkdir -p "$d/ic"
  rm -f "$d/hag.ready" "$d/hag-auth.ready"
  _mpx_cpt_bg hag hag "$MPX_ROOT/bin/mpx-proxy" "${fe[@]}" "${allow[@]}" "${peer[@]}" \
    --stats "$d/hag.stats" --ready "$d/hag.ready" --drain-timeout 2000 "$@"
  _mpx_cpt_ready hag "$d/hag.ready" || return 1
  [ ${#auth[@]} -gt 0 ] || return 0
  printf '%s:%s\n' "$MPX_CPT_USER" "$MPX_CPT_PASS" > "$d/socks-users"
  _mpx_cpt_bg hag-auth hag "$MPX_ROOT/bin/mpx-proxy" "${auth[@]}" --users "$d/socks-users" \
    "${allow[@]}" "${peer[@]}" --stats "$d/hag-auth.stats" --ready "$d/hag-auth.ready" \
    --drain-timeout 2000 "$@"
  _mpx_cpt_ready hag-auth "$d/hag-auth.ready"
}

mpx_cpt_cpe() { # entry... [-- args...]
  local d=$MPX_CPT_DIR e sig rest sp cp cargs=() maps=() allow=() n a6
  while [ $# -gt 0 ] && [ "$1" != -- ]; do
    e=$1; shift
    if [[ $e == *:*=* ]]; then
      sp=${e%%:*} rest=${e#*:}; cp=${rest%%=*} sig=${rest#*=}
    else
      sig=$e
      sp=$(mpx_cpt_srv_port "${sig%%,*}") && cp=$(mpx_cpt_cpe_port "${sig%%,*}") || return 1
    fi
    mpx_reg_known "${sig%%,*}" || { _mpx_cpt_fail "CPE entry '$e': unknown signal"; return 1; }
    cargs+=(--cpe "$cp=$sig") maps+=("$sp:$cp")
  done
  [ "${1:-}" = -- ] && shift
  for n in "${MPX_CPT_LANS[@]}"; do
    allow+=(--allow "$(_mpx_cpt_p24 "$(mpx_topo_addr "$MPX_CPT_RUN" "$n" eth 4)")")
    a6=$(mpx_topo_addr "$MPX_CPT_RUN" "$n" eth 6 2>/dev/null) && allow+=(--allow "${a6%::*}::/64")
  done
  if [ "$MPX_CPT_HAVE_CPE" != 1 ]; then
    _mpx_cpt_fail "bin/mpx-proxy has no --cpe (the CPE side of issue 16 is not built)"
    return 1
  fi
  rm -f "$d/cpe.ready"
  _mpx_cpt_bg cpe cpe "$MPX_ROOT/bin/mpx-proxy" "${cargs[@]}" --hag "$MPX_CPT_HAG" \
    "${allow[@]}" \
    --socks-user "$MPX_CPT_USER" --socks-pass "$MPX_CPT_PASS" \
    --stats "$d/cpe.stats" --ready "$d/cpe.ready" --drain-timeout 2000 "$@"
  _mpx_cpt_ready cpe "$d/cpe.ready" || return 1
  mpx_cpe_up "$(mpx_topo_ns "$MPX_CPT_RUN" cpe)" "${maps[@]}" 2>> "$d/cpe.log" ||
    { _mpx_cpt_fail "mpx_cpe_up: $(tail -n 2 "$d/cpe.log")"; return 1; }
  MPX_CPT_CPE_UP=1
}

mpx_cpt_client() { # node name args...
  local node=$1 name=$2 rc=0; shift 2
  ip netns exec "$(mpx_topo_ns "$MPX_CPT_RUN" "$node")" timeout -s KILL 60 \
    "$MPX_ROOT/bin/mpx-client" --signal tcp --mptcp off --json "$MPX_CPT_DIR/$name.json" \
    --tag "$name" "$@" < /dev/null 2> "$MPX_CPT_DIR/$name.err" || rc=$?
  echo "$rc" > "$MPX_CPT_DIR/$name.rc"
  return "$rc"
}
mpx_cpt_conns() { jq -c 'select(.type=="conn")' "$MPX_CPT_DIR/$1.json" 2>/dev/null; }
mpx_cpt_summary() { jq -c 'select(.type=="summary")' "$MPX_CPT_DIR/$1.json" 2>/dev/null; }

mpx_cpt_pid() { # name -> the agent itself (child of the timeout wrapper)
  local w=${MPX_CPT_PIDS[$1]:-} c
  [ -n "$w" ] || return 1
  c=$(cat "/proc/$w/task/$w/children" 2>/dev/null) || return 1
  c=${c%% *}
  [ -n "$c" ] && echo "$c"
}

mpx_cpt_stats() { # name
  local name=$1 i before='' f=$MPX_CPT_DIR/$1.stats pid
  pid=$(mpx_cpt_pid "$name") || return 1
  [ -f "$f" ] && before=$(stat -c %Y.%s "$f" 2>/dev/null; md5sum < "$f")
  kill -USR1 "$pid" 2>/dev/null || return 1
  for ((i = 0; i < 150; i++)); do
    if [ -s "$f" ] && [ "$(stat -c %Y.%s "$f" 2>/dev/null; md5sum < "$f")" != "$before" ] &&
       jq -e . "$f" > /dev/null 2>&1; then break; fi
    sleep 0.02
  done
  cat "$f"
}

mpx_cpt_stop() { # name
  local p=${MPX_CPT_PIDS[$1]:-} i
  [ -n "$p" ] || return 0
  kill -TERM "$p" 2>/dev/null || true
  for ((i = 0; i < 500; i++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.01; done
  kill -KILL "$p" 2>/dev/null || true
  wait "$p" 2>/dev/null || true
  unset "MPX_CPT_PIDS[$1]"
  return 0
}

mpx_cpt_intercept() { # mode
  local ns; ns=$(mpx_topo_ns "$MPX_CPT_RUN" hag)
  local jports="$MPX_CPT_PORT_PLAIN" i
  for i in "${!MPX_REG_NAMES[@]}"; do jports+=" $((MPX_CPT_SRV_BASE + i))"; done
  MPX_IC_IFACES="dsl lte" MPX_IC_JOIN_PORTS="$jports" \
    mpx_ic_hag_up "$ns" "$1" "$MPX_CPT_DIR/ic" >> "$MPX_CPT_DIR/intercept.log" 2>&1 ||
    { _mpx_cpt_fail "HAG interception $1: $(tail -n 3 "$MPX_CPT_DIR/intercept.log")"; return 1; }
  MPX_CPT_IC_UP=1
}

mpx_cpt_dump() {
  local f n
  [ -n "$MPX_CPT_RUN" ] || return 0
  echo "--- state of $MPX_CPT_RUN ($MPX_CPT_DIR)"
  mpx_tu_dump "$MPX_CPT_RUN" 2>&1 | head -150
  echo "--- cpe nft / rules"
  mpx_cpe_show "$(mpx_topo_ns "$MPX_CPT_RUN" cpe)" 2>&1 | head -40
  for n in cpe hag hag-auth; do
    [ -f "$MPX_CPT_DIR/$n.stats" ] && { echo "--- $n.stats"; head -c 3000 "$MPX_CPT_DIR/$n.stats"; echo; }
  done
  for f in "$MPX_CPT_DIR"/*.log "$MPX_CPT_DIR"/*.err; do
    [ -s "$f" ] && { echo "--- $f"; tail -n 15 "$f"; }
  done
  return 0
}

mpx_cpt_down() {
  [ -n "$MPX_CPT_RUN${MPX_CPT_FINISHED:-}" ] || return 0
  trap "" PIPE   # a closed stdout must not stop the teardown half-way
  [ -z "$MPX_CPT_RUN" ] || mpx_cpt_finish   # dump on failure, agents by PID, topology down
  MPX_CPT_FINISHED=''
  if [ -n "${MPX_CPT_KEEP:-}" ] || [ "${T_FAILED:-0}" != 0 ]; then echo "# kept $MPX_CPT_DIR"
  else rm -rf "$MPX_CPT_DIR"; fi
  return 0
}

# mpx_cpt_finish: stops every agent and takes the topology down now (the link emulators
# complete their pcaps in $MPX_CPT_DIR/pcap); $MPX_CPT_DIR stays until the EXIT trap
mpx_cpt_finish() {
  local n i
  [ -n "$MPX_CPT_RUN" ] || return 0
  [ "${T_FAILED:-0}" = 0 ] || mpx_cpt_dump
  [ "$MPX_CPT_IC_UP" = 1 ] && mpx_ic_hag_down "$(mpx_topo_ns "$MPX_CPT_RUN" hag)" "$MPX_CPT_DIR/ic" > /dev/null 2>&1
  [ "$MPX_CPT_CPE_UP" = 1 ] && mpx_cpe_down "$(mpx_topo_ns "$MPX_CPT_RUN" cpe)"
  for ((i = ${#MPX_CPT_ORDER[@]} - 1; i >= 0; i--)); do
    n=${MPX_CPT_ORDER[$i]}
    [ -n "${MPX_CPT_PIDS[$n]:-}" ] && mpx_cpt_stop "$n"
  done
  MPX_CPT_IC_UP=0 MPX_CPT_CPE_UP=0
  mpx_topo_down "$MPX_CPT_RUN" > /dev/null 2>&1
  MPX_CPT_FINISHED=$MPX_CPT_RUN MPX_CPT_RUN=''
}

# mpx_cpt_syn_hex PCAP DPORT: one line per SYN (without ACK) with payload to DPORT (IPv4):
# "EPOCH_US PAYLOADHEX" (tcpdump -x prints from the IP header on)
mpx_cpt_syn_hex() {
  timeout 30 tcpdump -tt -nn -x -r "$1" "ip and tcp dst port $2 and tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn" 2>/dev/null |
    awk 'function flush(  ihl, doff, tot, p) {
           if (h == "") return
           ihl = index("0123456789abcdef", substr(h, 2, 1)) - 1
           tot = hex(substr(h, 5, 4)) * 2
           doff = index("0123456789abcdef", substr(h, ihl * 8 + 25, 1)) - 1
           p = substr(h, (ihl + doff) * 8 + 1, tot - (ihl + doff) * 8)
           if (p != "") { split(t, a, "."); print a[1] a[2], p }
           h = "" }
         function hex(s,  i, v) { v = 0; for (i = 1; i <= length(s); i++)
           v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1; return v }
         /^[0-9]+\.[0-9]+ / { flush(); t = $1; next }
         /^\t0x/ { for (i = 2; i <= NF; i++) h = h tolower($i) }
         END { flush() }'
}

# mpx_cpt_cpe_row JSON PORT: the CPE stats object of the listener on PORT ({} when absent);
# mpx_cpt_cpe_reasons JSON: the CPE's fallback_reasons object ({} when absent). Both find
# them anywhere under "cpe" (cpe-interface.md fixes the keys, not the nesting)
mpx_cpt_cpe_row() {
  jq -c --argjson p "$2" '[.cpe // {} | .. | objects | select(has("port") and has("signal") and .port == $p)] | .[0] // {}' <<< "$1" 2>/dev/null || echo '{}'
}
mpx_cpt_cpe_reasons() {
  jq -c '[.cpe // {} | .. | objects | select(has("fallback_reasons")) | .fallback_reasons] | .[0] // {}' <<< "$1" 2>/dev/null || echo '{}'
}

# mpx_cpt_srv_wait N [PORT]: waits (at most 5 s) until the server has written N connection
# lines (to PORT); it writes a line once a connection is over, which may be just after the
# client saw its last byte
mpx_cpt_srv_count() { # [PORT]
  jq -s --arg l "$MPX_CPT_SRV:${1:-}" '[.[] | select(.type=="conn" and (.listen == $l or ($l | endswith(":"))))] | length' \
    "$MPX_CPT_DIR/server.json" 2>/dev/null || echo 0
}
mpx_cpt_srv_wait() {
  local i
  for ((i = 0; i < 250; i++)); do
    [ "$(mpx_cpt_srv_count "${2:-}")" -ge "$1" ] && return 0
    sleep 0.02
  done
  return 1
}
