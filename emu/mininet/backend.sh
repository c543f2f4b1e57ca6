# shellcheck shell=bash
# mpxlab Mininet backend (emu/mininet/README.md): Mininet provides the hosts (every node and
# every link emulator namespace is a Mininet Host, every veth a Mininet Link); addressing,
# routes, sysctls and mpx-linkem stay the plain backend's (emu/lib/topo.sh). Mininet runs in
# a sandbox: its own network, PID and mount namespaces with a private /tmp, under
# `timeout -s KILL`; each host's network namespace is then attached under the run's usual
# name (mpx-RUN-NODE, mpx-RUN-l-LINK), so `ip netns exec` and the harness work unchanged.
# Source emu/lib/topo.sh first. Functions:
#   mpx_mn_check                        prerequisites; prints the missing one, returns 1
#   mpx_mn_add_ns RUN NS                a Mininet host for NS (starts the sandbox on first use),
#                                       attached as NS, recorded and marked like a plain netns
#   mpx_mn_link RUN NS_A IF_A NS_B IF_B a Mininet link NS_A:IF_A <-> NS_B:IF_B
#   mpx_mn_probe_delays RUN             (inside mpx_topo_up, before the emulators start) runs a
#                                       loss-free probe emulator per link and checks the ping
#                                       RTT across it against the link model; returns 3 if off
#   mpx_mn_check_delays RUN             the same check through the running emulators (adds
#                                       pings to their pcaps/stats: tests and diagnosis only)
#   mpx_mn_pid RUN NODE|NS              outer PID of the node's Mininet host shell
#   mpx_mn_exec RUN NODE CMD...         CMD in the node via `mnexec -a PID` (like Mininet's `m`)
#   mpx_mn_inventory RUN                what the run holds (PIDs + start times, netns names and
#                                       inodes), one item a line: save it before `down`
#   mpx_mn_leftovers INVENTORY_FILE     prints what of an inventory still exists; 1 if any
#   mpx_mn_stop RUN                     net.stop() in the sandbox, then the sandbox ends; kills
#                                       by PID only (never mn -c); detaches the run's netns names
#   mpx_mn_is RUN                       the run uses the Mininet backend
# State: $(mpx_topo_state RUN)/mn/: ctl (FIFO), events, sandbox.log, pids, hosts.

_MPX_MN_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${MPX_MN_PYTHON:=/usr/bin/python3}"   # Debian's python3: the one that has the mininet module
: "${MPX_MN_TIMEOUT:=20}"                # seconds for one sandbox request (host, link, stop)
: "${MPX_MN_LIFETIME:=86400}"            # timeout -s KILL around the whole sandbox

_mpx_mn_dir() { echo "$(mpx_topo_state "$1")/mn"; }
mpx_mn_sandbox_ns() { echo "mpx-$1-mn-root"; }   # '-' never occurs in node or link names
mpx_mn_is() { [ -d "$(_mpx_mn_dir "$1")" ]; }
_mpx_mn_die() { echo "mininet: $*" >&2; return 3; }

mpx_mn_check() {
  local c
  for c in mnexec unshare timeout ifconfig ping; do
    command -v "$c" >/dev/null 2>&1 || { echo "$c not installed (mininet, util-linux, net-tools, iputils-ping)"; return 1; }
  done
  [ -x "$MPX_MN_PYTHON" ] || { echo "$MPX_MN_PYTHON missing"; return 1; }
  "$MPX_MN_PYTHON" -c 'import mininet.net, mininet.nodelib' 2>/dev/null ||
    { echo "python module mininet not importable by $MPX_MN_PYTHON (apt-get install mininet)"; return 1; }
  [ "$(id -u)" = 0 ] || { echo "needs root"; return 1; }
}

# _mpx_mn_children PID: direct children (outer PIDs)
_mpx_mn_children() {
  local f
  for f in /proc/"$1"/task/*/children; do [ -r "$f" ] && cat "$f"; done 2>/dev/null | tr ' ' '\n' | grep . || true
}
# _mpx_mn_starttime PID: field 22 of /proc/PID/stat (guards against PID reuse)
# shellcheck disable=SC2086  # split on purpose
_mpx_mn_starttime() { local s; s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1; s=${s##*) }; set -- $s; echo "${20}"; }
_mpx_mn_cmdline() { { tr "\0" " " < "/proc/$1/cmdline"; } 2>/dev/null; }
# _mpx_mn_inner PID: the PID as seen inside the sandbox's PID namespace (last NSpid field)
_mpx_mn_inner() { awk '/^NSpid:/{print $NF}' "/proc/$1/status" 2>/dev/null; }
_mpx_mn_pidof() { awk -v r="$2" '$1==r{print $2; exit}' "$(_mpx_mn_dir "$1")/pids" 2>/dev/null; }

# _mpx_mn_send RUN LINE: write one command line to the control FIFO. "<>" opens it
# read-write: never blocks, even if the server has gone (then nothing reads it: the wait
# below notices the dead server).
_mpx_mn_send() { printf '%s\n' "$2" 1<>"$(_mpx_mn_dir "$1")/ctl"; }

# _mpx_mn_wait RUN FROMLINE PREFIX: waits for an events line after line FROMLINE that starts
# with PREFIX (or "err "); prints it; 3 on error, timeout or a dead server
_mpx_mn_wait() {
  local run=$1 from=$2 pre=$3 m py l deadline
  m=$(_mpx_mn_dir "$run") py=$(_mpx_mn_pidof "$run" python)
  # before the server is known (start), the sandbox's timeout process stands for it
  [ -n "$py" ] || py=$(_mpx_mn_pidof "$run" timeout)
  deadline=$(( $(_mpx_topo_now_us) + MPX_MN_TIMEOUT * 1000000 ))
  while :; do
    l=$(tail -n +"$((from + 1))" "$m/events" 2>/dev/null | grep -m1 -e "^$pre" -e '^err ' || true)
    if [ -n "$l" ]; then
      echo "$l"
      [[ $l != err* ]] || { echo "mininet: ${l#err }" >&2; return 3; }
      return 0
    fi
    if [ -n "$py" ] && ! _mpx_topo_alive "$py"; then
      _mpx_mn_die "the Mininet sandbox/server (PID $py) exited: $(tail -n 5 "$m/sandbox.log" 2>/dev/null | tr '\n' ' ')"; return 3; fi
    [ "$(_mpx_topo_now_us)" -lt "$deadline" ] || { _mpx_mn_die "no answer to '$pre' after ${MPX_MN_TIMEOUT} s"; return 3; }
    sleep 0.01
  done
}

# _mpx_mn_request RUN LINE PREFIX: send and wait for the answer
_mpx_mn_request() {
  local n
  n=$(wc -l < "$(_mpx_mn_dir "$1")/events")
  _mpx_mn_send "$1" "$2"
  _mpx_mn_wait "$1" "$n" "$3"
}

# The sandbox's PID 1 (bash, so orphans are reaped): keeps handles on the real /proc and /tmp
# for the hosts (Mininet privateDirs: processes attached with mnexec -a see the machine's
# /proc and /tmp, as with ip netns exec), mounts its own proc and a private tmpfs on /tmp
# (Mininet's cleanup would rm /tmp/*.log), re-exposes the state dir if it lives under /tmp,
# then runs the Python server.
# shellcheck disable=SC2016
_MPX_MN_SANDBOX='set -e
m=$1 py=$2 pyf=$3
exec 8<"$m"
cp "$pyf" "$m/mpx_mn.py"   # the checkout may itself live under /tmp, hidden by the tmpfs below
pyf=$m/mpx_mn.py
mount --rbind /proc "$m/hostproc"
mount --rbind /tmp "$m/realtmp"
mount -t proc proc /proc
mount -t tmpfs -o mode=1777,size=64m mpx-mn-tmp /tmp
case $m in /tmp/*) mkdir -p "$m"; mount --no-canonicalize --rbind /proc/self/fd/8 "$m" ;; esac
exec 8<&-
export HOME=/tmp TMPDIR=/tmp
for k in arp ip ip6; do
  f=/proc/sys/net/bridge/bridge-nf-call-${k}tables; [ ! -w "$f" ] || echo 0 > "$f"
done
set +e
"$py" "$pyf" serve --ctl "$m/ctl" --events "$m/events" --real-tmp "$m/realtmp" --host-proc "$m/hostproc"
exit $?'

# _mpx_mn_plain_ns RUN NS: the sandbox's own namespace (not a Mininet host)
_mpx_mn_plain_ns() {
  local run=$1 ns=$2
  [ ! -e "/run/netns/$ns" ] || _mpx_mn_die "namespace $ns already exists (another run? mpxlab topo down $run)" || return 3
  echo "$ns" >> "$(mpx_topo_state "$run")/netns"
  _mpx_topo_run ip netns add "$ns" || return 3
  _mpx_topo_run ip -n "$ns" link set lo alias "$MPX_TOPO_MARK $run $MPX_TOPO_STATE_BASE" || return 3
  _mpx_topo_run ip -n "$ns" link set lo up
}

# mpx_mn_start RUN: the sandbox and its Mininet server (idempotent)
mpx_mn_start() {
  local run=$1 m sns why tpid i pid c
  m=$(_mpx_mn_dir "$run")
  [ ! -s "$m/pids" ] || return 0
  why=$(mpx_mn_check) || _mpx_mn_die "backend unavailable: $why" || return 3
  mkdir -p "$m/realtmp" "$m/hostproc" || return 3
  rm -f "$m/ctl"; mkfifo -m 600 "$m/ctl" || return 3
  : > "$m/events"; : > "$m/pids"; : > "$m/hosts"
  sns=$(mpx_mn_sandbox_ns "$run")
  _mpx_mn_plain_ns "$run" "$sns" || return 3
  # own session (a Ctrl-C for the caller does not reach Mininet: it is stopped by the
  # teardown, by PID). setsid does not fork in a non-interactive shell: $! is ip, which
  # execs timeout; checked below.
  setsid ip netns exec "$sns" timeout -s KILL "$MPX_MN_LIFETIME" \
    unshare --pid --fork --kill-child --mount --propagation private \
    bash -c "$_MPX_MN_SANDBOX" mpx-mn-sandbox "$m" "$MPX_MN_PYTHON" "$_MPX_MN_LIB_DIR/mpx_mn.py" \
    < /dev/null >> "$m/sandbox.log" 2>&1 &
  tpid=$!
  echo "timeout $tpid $(_mpx_mn_starttime "$tpid")" >> "$m/pids"
  # ready line, then the chain timeout -> unshare -> bash (sandbox PID 1) -> python
  _mpx_mn_wait "$run" 0 "ready " > /dev/null || return 3
  local chain=(timeout unshare init python) cur=$tpid
  for ((i = 1; i < 4; i++)); do
    pid=''
    for c in $(_mpx_mn_children "$cur"); do
      if [ $i != 3 ] || [[ $(_mpx_mn_cmdline "$c") == *mpx_mn.py* ]]; then pid=$c; break; fi
    done
    [ -n "$pid" ] || { _mpx_mn_die "sandbox process '${chain[$i]}' not found under PID $cur"; return 3; }
    echo "${chain[$i]} $pid $(_mpx_mn_starttime "$pid")" >> "$m/pids"
    cur=$pid
  done
  [[ $(_mpx_mn_cmdline "$tpid") == timeout* ]] || { _mpx_mn_die "PID $tpid is not the sandbox's timeout"; return 3; }
  _mpx_topo_log "mininet sandbox up: $(tr '\n' ' ' < "$m/pids")"
}

# _mpx_mn_host_name RUN NS: the Mininet host name (NS without "mpx-RUN-": client, l-dsl)
_mpx_mn_host_name() { echo "${2#mpx-"$1"-}"; }

mpx_mn_add_ns() {
  local run=$1 ns=$2 m name line inner py c outer
  mpx_mn_start "$run" || return 3
  m=$(_mpx_mn_dir "$run") name=$(_mpx_mn_host_name "$run" "$ns")
  [ ! -e "/run/netns/$ns" ] || _mpx_mn_die "namespace $ns already exists (another run? mpxlab topo down $run)" || return 3
  echo "$ns" >> "$(mpx_topo_state "$run")/netns"
  line=$(_mpx_mn_request "$run" "host $name" "host $name ") || return 3
  inner=${line##* } py=$(_mpx_mn_pidof "$run" python) outer=''
  for c in $(_mpx_mn_children "$py"); do
    [ "$(_mpx_mn_inner "$c")" = "$inner" ] && { outer=$c; break; }
  done
  [ -n "$outer" ] || { _mpx_mn_die "host $name: no process with inner PID $inner under the server"; return 3; }
  _mpx_topo_run ip netns attach "$ns" "$outer" || return 3
  echo "$ns $name $inner $outer $(_mpx_mn_starttime "$outer") $(stat -L -c %i "/run/netns/$ns")" >> "$m/hosts"
  _mpx_topo_run ip -n "$ns" link set lo alias "$MPX_TOPO_MARK $run $MPX_TOPO_STATE_BASE" || return 3
  _mpx_topo_run ip -n "$ns" link set lo up
}

mpx_mn_link() {
  local run=$1 a b
  a=$(_mpx_mn_host_name "$run" "$2") b=$(_mpx_mn_host_name "$run" "$4")
  _mpx_mn_request "$run" "link $a $3 $b $5" "link $a $3 $b $5" > /dev/null
}

# mpx_mn_pid RUN NODE|NS
mpx_mn_pid() {
  local run=$1 x=$2 p
  [[ $x == mpx-* ]] || x=$(mpx_topo_ns "$run" "$x")
  p=$(awk -v n="$x" '$1==n{print $4; exit}' "$(_mpx_mn_dir "$run")/hosts" 2>/dev/null)
  [ -n "$p" ] || { echo "mininet: run $run has no Mininet host for $2" >&2; return 2; }
  echo "$p"
}

# mpx_mn_exec RUN NODE CMD...: mnexec -a joins the host's network and mount namespaces (its
# mount namespace has the machine's /proc and /tmp, see the sandbox); the mount namespace
# switch resets the working directory, so the caller's is restored with env -C
mpx_mn_exec() {
  local run=$1 node=$2 pid; shift 2
  pid=$(mpx_mn_pid "$run" "$node") || return 2
  mnexec -a "$pid" env -C "$PWD" "$@"
}

# --- link delay check -------------------------------------------------------------------

# _mpx_mn_model SPEC_AB SPEC_BA BYTES: "expected_us tolerance_us lower_only" for a ping of
# BYTES frame bytes: delay both ways + serialisation at each direction's rate; tolerance
# 1 ms + both jitters; a trace-driven direction only gives a lower bound
_mpx_mn_model() {
  awk -v a="$1" -v b="$2" -v n="$3" '
    function t(v,  x) { x = v + 0
      if (v ~ /ns$/) return x / 1000; if (v ~ /us$/) return x; if (v ~ /ms$/) return x * 1000
      if (v ~ /s$/) return x * 1000000; return x }
    function r(v,  x) { x = v + 0
      if (v ~ /gbit$/) return x * 1e9; if (v ~ /mbit$/) return x * 1e6; if (v ~ /kbit$/) return x * 1e3
      return x }
    function one(s,  k, i, kv, e) { split(s, k, " "); e = 0
      for (i in k) { split(k[i], kv, "=")
        if (kv[1] == "delay") e += t(kv[2]); else if (kv[1] == "jitter") tol += t(kv[2])
        else if (kv[1] == "rate" && r(kv[2]) > 0) e += n * 8 * 1e6 / r(kv[2])
        else if (kv[1] == "trace") lower = 1 }
      return e }
    BEGIN { tol = 1000; lower = 0; e = one(a) + one(b); printf "%d %d %d\n", e, tol, lower }'
}

# _mpx_mn_ping_eval NAME OUTFILE EXPECT_US TOL_US LOWER_ONLY: the median RTT must not be below
# the model (a missing delay), the minimum not above it (a load spike on the shared machine
# delays some replies, never all of them), each by more than TOL
_mpx_mn_ping_eval() {
  local name=$1 f=$2 e=$3 tol=$4 lower=$5 med min n
  n=$(grep -c 'time=' "$f" || true)
  [ "$n" -ge 3 ] || { echo "link $name: only $n ping replies across the link: $(tail -n 3 "$f" | tr '\n' ' ')"; return 1; }
  read -r med min <<< "$(sed -n 's/.*time=\([0-9.]*\) ms.*/\1/p' "$f" | sort -g |
    awk '{v[NR]=$1} END{m=(NR%2)?v[(NR+1)/2]:(v[NR/2]+v[NR/2+1])/2; printf "%d %d", m*1000, v[1]*1000}')"
  echo "link $name: ping RTT median $(_mpx_mn_ms "$med") ms (min $(_mpx_mn_ms "$min")) over $n replies, model $(_mpx_mn_ms "$e") ms +-$(_mpx_mn_ms "$tol") ms$([ "$lower" = 1 ] && echo ' (trace: lower bound only)')"
  [ "$med" -ge $((e - tol)) ] || return 1
  [ "$lower" = 1 ] || [ "$min" -le $((e + tol)) ]
}
_mpx_mn_ms() { printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)); }

# _mpx_mn_ping_jobs RUN LINES: LINES "LINK NS DST" each; pings all links in parallel,
# outputs in $m/ping.LINK
_mpx_mn_ping_jobs() {
  local run=$1 m l ns dst pids=() p
  m=$(_mpx_mn_dir "$run")
  while read -r l ns dst; do
    [ -n "$l" ] || continue
    ip netns exec "$ns" timeout -s KILL 10 ping -n -c "${MPX_MN_PINGS:-10}" -i 0.05 -W 2 "$dst" > "$m/ping.$l" 2>&1 &
    pids+=($!)
  done <<< "$2"
  for p in "${pids[@]}"; do wait "$p" || true; done
}

# mpx_mn_probe_delays RUN: inside the build (parsed topology and address plan in scope),
# after routes, before the real emulators. A probe emulator with the link's spec minus loss
# and seed (so the real run's drop sequence and pcaps stay untouched) per link; pings from
# the a node to the b node's address on that link. Returns 3 if any RTT is off the model.
mpx_mn_probe_delays() {
  local run=$1 m l lns sa sb key dst jobs='' linkem ppids=() pid bad=0 msg
  m=$(_mpx_mn_dir "$run")
  linkem=${MPX_LINKEM:-$MPX_ROOT/bin/mpx-linkem}
  [ -x "$linkem" ] || { _mpx_mn_die "$linkem not built: cannot check the link delays"; return 3; }
  for l in "${MPX_T_LINKS[@]}"; do
    lns=$(mpx_topo_link_ns "$run" "$l")
    sa=$(mpx_topofile_spec "$l" ab | tr ' ' '\n' | grep -v -e '^loss=' -e '^ge=' -e '^seed=' | tr '\n' ' ')
    sb=$(mpx_topofile_spec "$l" ba | tr ' ' '\n' | grep -v -e '^loss=' -e '^ge=' -e '^seed=' | tr '\n' ' ')
    echo "ab $sa" > "$m/probe.$l.spec"; echo "ba $sb" >> "$m/probe.$l.spec"
    rm -f "$m/probe.$l.ready"
    ip netns exec "$lns" "$linkem" --if-a a --if-b b --ab "${sa% }" --ba "${sb% }" --name "probe-$l" \
      --ready "$m/probe.$l.ready" --quiet < /dev/null > "$m/probe.$l.log" 2>&1 &
    ppids+=($!)
    key=${MPX_T_LB[$l]}.${MPX_T_LBIF[$l]}
    dst=${_A4[$key]:-${_A6[$key]:-}}
    [ -n "$dst" ] || { _mpx_mn_die "link $l: no address on ${key/./:}"; bad=1; continue; }
    jobs+="$l $(mpx_topo_ns "$run" "${MPX_T_LA[$l]}") $dst"$'\n'
  done
  local i=0 j
  for l in "${MPX_T_LINKS[@]}"; do
    pid=${ppids[$i]}; i=$((i + 1))
    for ((j = 0; j < 500; j++)); do
      [ -s "$m/probe.$l.ready" ] && break
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.01
    done
    [ -s "$m/probe.$l.ready" ] || { _mpx_mn_die "link $l: probe emulator not ready: $(tail -n 3 "$m/probe.$l.log" | tr '\n' ' ')"; bad=1; }
  done
  [ $bad = 0 ] && _mpx_mn_ping_jobs "$run" "$jobs"
  for pid in "${ppids[@]}"; do _mpx_topo_kill "$pid" mpx-linkem; done
  for pid in "${ppids[@]}"; do wait "$pid" 2>/dev/null || true; done
  [ $bad = 0 ] || return 3
  local bytes
  for l in "${MPX_T_LINKS[@]}"; do
    key=${MPX_T_LB[$l]}.${MPX_T_LBIF[$l]}
    # echo request/reply frame: 14 Ethernet + 20/40 IP + 8 ICMP + 56 data
    if [ -n "${_A4[$key]:-}" ]; then bytes=98; else bytes=118; fi
    read -r e tol lower <<< "$(_mpx_mn_model "$(sed -n 's/^ab //p' "$m/probe.$l.spec")" "$(sed -n 's/^ba //p' "$m/probe.$l.spec")" "$bytes")"
    if msg=$(_mpx_mn_ping_eval "$l" "$m/ping.$l" "$e" "$tol" "$lower"); then
      echo "$msg" >> "$m/delays"
    else
      echo "$msg" >> "$m/delays"
      echo "mininet: DELAY CHECK FAILED: $msg" >&2; bad=1
    fi
  done
  _mpx_topo_log "$(cat "$m/delays")"
  [ $bad = 0 ] || return 3
}

# mpx_mn_check_delays RUN: the same check through the running emulators (from state)
mpx_mn_check_delays() {
  local run=$1 d m l a b bif rest dst jobs='' bad=0 e tol lower bytes msg
  d=$(mpx_topo_state "$run") m=$(_mpx_mn_dir "$run")
  [ -d "$m" ] || mkdir -p "$m"
  while read -r l a _ b bif rest; do
    dst=$(awk -v n="$b" -v i="$bif" '$1==n && $2==i {print ($3!="-") ? $3 : $4}' "$d/addrs")
    jobs+="$l $(mpx_topo_ns "$run" "$a") $dst"$'\n'
  done < "$d/links"
  _mpx_mn_ping_jobs "$run" "$jobs"
  while read -r l a _ b bif rest; do
    dst=$(awk -v n="$b" -v i="$bif" '$1==n && $2==i {print $3}' "$d/addrs")
    if [ "$dst" != - ]; then bytes=98; else bytes=118; fi
    read -r e tol lower <<< "$(_mpx_mn_model "$(sed -n 's/^ab //p' "$d/$l.spec")" "$(sed -n 's/^ba //p' "$d/$l.spec")" "$bytes")"
    if msg=$(_mpx_mn_ping_eval "$l" "$m/ping.$l" "$e" "$tol" "$lower"); then echo "$msg"
    else echo "$msg"; bad=1; fi
  done < "$d/links"
  return $bad
}

# --- teardown ---------------------------------------------------------------------------

# mpx_mn_inventory RUN: "mark RUN BASE", "pid PID STARTTIME ROLE", "netns NAME", "nsino INODE"
mpx_mn_inventory() {
  local run=$1 m d r p st ns name inner outer ino
  m=$(_mpx_mn_dir "$run") d=$(mpx_topo_state "$run")
  echo "mark $run $MPX_TOPO_STATE_BASE"
  [ -f "$m/pids" ] && while read -r r p st; do echo "pid $p $st $r"; done < "$m/pids"
  [ -f "$m/hosts" ] && while read -r ns name inner outer st ino; do
    echo "pid $outer $st host:$name"; echo "nsino $ino"
  done < "$m/hosts"
  [ -f "$d/netns" ] && while read -r ns; do
    echo "netns $ns"
    [ -e "/run/netns/$ns" ] && echo "nsino $(stat -L -c %i "/run/netns/$ns")"
  done < "$d/netns" | sort -u
  return 0
}

# _mpx_mn_has_mark NSFILE MARK: the network namespace behind NSFILE (/proc/P/ns/net or
# /run/netns/N) carries MARK on lo. Namespace inode numbers are reused as soon as a namespace
# is freed (other runs create namespaces all the time): the marker tells ours apart.
_mpx_mn_has_mark() {
  local a
  a=$(nsenter --net="$1" ip -o link show lo 2>/dev/null) || return 1
  [[ $a == *"alias $2"* ]]
}

# mpx_mn_leftovers FILE: what of an inventory still exists (a live process with the same start
# time, a netns name, any process or bind mount still holding one of the run's network
# namespaces - and with it their veths and bridges); returns 1 if anything is left
mpx_mn_leftovers() {
  local f=$1 k a b c left=0 inos='' p x mark=''
  while read -r k a b c; do
    case $k in
      mark) mark="$MPX_TOPO_MARK $a $b" ;;
      pid) if _mpx_topo_alive "$a" && [ "$(_mpx_mn_starttime "$a")" = "$b" ]; then
             echo "process $a ($c) still running: $(_mpx_mn_cmdline "$a")"; left=1; fi ;;
      netns) [ ! -e "/run/netns/$a" ] || { echo "netns name $a still exists"; left=1; } ;;
      nsino) inos+=" $a" ;;
    esac
  done < "$f"
  if [ -n "$inos" ]; then
    for p in /proc/[0-9]*; do
      x=$(readlink "$p/ns/net" 2>/dev/null) || continue
      x=${x#net:[}; x=${x%]}
      [[ " $inos " == *" $x "* ]] || continue
      [ -z "$mark" ] || _mpx_mn_has_mark "$p/ns/net" "$mark" || continue
      echo "process ${p#/proc/} ($(_mpx_mn_cmdline "${p#/proc/}" | cut -c1-100)) is in network namespace $x of the run"; left=1
    done
    for x in /run/netns/*; do
      [ -e "$x" ] || continue
      [[ " $inos " == *" $(stat -L -c %i "$x" 2>/dev/null) "* ]] || continue
      [ -z "$mark" ] || _mpx_mn_has_mark "$x" "$mark" || continue
      echo "network namespace of the run still mounted as $x"; left=1
    done
  fi
  return $left
}

# _mpx_mn_wait_gone PID... (up to ~3 s)
_mpx_mn_wait_gone() {
  local i p any
  for ((i = 0; i < 300; i++)); do
    any=0; for p; do _mpx_topo_alive "$p" && any=1; done
    [ $any = 1 ] || return 0
    sleep 0.01
  done
  return 1
}

# _mpx_mn_kill_foreign RUN: processes started in the run's Mininet hosts from outside the
# sandbox (mnexec -a, ip netns exec: agents, user commands), ended by PID before Mininet
# stops; the hosts' own shells (inside the sandbox's PID namespace) are left to net.stop()
_mpx_mn_kill_foreign() {
  local run=$1 m ns init sp p pids=() i
  m=$(_mpx_mn_dir "$run")
  [ -f "$m/hosts" ] || return 0
  init=$(_mpx_mn_pidof "$run" init)
  sp=$(readlink "/proc/${init:-0}/ns/pid" 2>/dev/null || echo none)
  while read -r ns _; do
    [ -e "/run/netns/$ns" ] || continue
    for p in $(ip netns pids "$ns" 2>/dev/null); do
      [ "$(readlink "/proc/$p/ns/pid" 2>/dev/null)" = "$sp" ] && continue
      pids+=("$p")
    done
  done < "$m/hosts"
  [ ${#pids[@]} -gt 0 ] || return 0
  _mpx_topo_log "mininet: ending ${#pids[@]} processes started in the hosts: ${pids[*]}"
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  _mpx_mn_wait_gone "${pids[@]}" && return 0
  for p in "${pids[@]}"; do _mpx_topo_alive "$p" && kill -KILL "$p" 2>/dev/null; done
  _mpx_mn_wait_gone "${pids[@]}" || true
}

mpx_mn_stop() {
  local run=$1 m py='' init='' tp='' us='' all=() r p st ns
  m=$(_mpx_mn_dir "$run")
  [ -d "$m" ] || return 0
  [ -z "${MPX_MN_INVENTORY_LOG:-}" ] || mpx_mn_inventory "$run" >> "$MPX_MN_INVENTORY_LOG"
  if [ -f "$m/pids" ]; then
    while read -r r p st; do
      [ "$(_mpx_mn_starttime "$p" 2>/dev/null)" = "$st" ] || continue
      all+=("$p")
      case $r in python) py=$p ;; init) init=$p ;; timeout) tp=$p ;; unshare) us=$p ;; esac
    done < "$m/pids"
  fi
  # interrupted before the chain was recorded: find it under the timeout process
  if [ -n "$tp" ] && [ -z "$init" ]; then
    [ -n "$us" ] || us=$(_mpx_mn_children "$tp" | head -n 1)
    [ -z "$us" ] || init=$(_mpx_mn_children "$us" | head -n 1)
    [ -z "$init" ] || py=$(_mpx_mn_children "$init" | head -n 1)
    [ -z "$py" ] || [[ $(_mpx_mn_cmdline "$py") == *mpx_mn.py* ]] || py=''
  fi
  # 0. what others started inside the hosts
  _mpx_mn_kill_foreign "$run"
  # 1. ask Mininet to stop (net.stop(): links deleted, host shells hung up)
  if [ -n "${py:-}" ] && _mpx_topo_is "$py" mpx_mn.py; then
    _mpx_mn_send "$run" stop
    local i
    for ((i = 0; i < MPX_MN_TIMEOUT * 100; i++)); do _mpx_topo_alive "$py" || break; sleep 0.01; done
    _mpx_topo_alive "$py" && { echo "mininet: server $py did not stop, TERM" >&2; kill -TERM "$py" 2>/dev/null; _mpx_mn_wait_gone "$py"; }
  fi
  # 2. whatever is left in the sandbox: SIGKILL to its PID 1 ends its whole PID namespace
  if [ -n "${init:-}" ] && _mpx_topo_alive "$init" && [[ $(_mpx_mn_cmdline "$init") == bash* ]]; then
    _mpx_mn_wait_gone "$init" || kill -KILL "$init" 2>/dev/null
  fi
  for p in ${us:-} ${tp:-}; do
    [[ $(_mpx_mn_cmdline "$p") == unshare* || $(_mpx_mn_cmdline "$p") == timeout* ]] || continue
    _mpx_mn_wait_gone "$p" || kill -KILL "$p" 2>/dev/null
  done
  if [ -f "$m/hosts" ]; then
    while read -r ns _ _ p st _; do
      [ "$(_mpx_mn_starttime "$p" 2>/dev/null)" = "$st" ] && all+=("$p")
    done < "$m/hosts"
  fi
  [ ${#all[@]} = 0 ] || _mpx_mn_wait_gone "${all[@]}" || { echo "mininet: processes still alive: ${all[*]}" >&2; }
  # 3. the attached names (the namespaces themselves vanish with their last reference)
  if [ -f "$m/hosts" ]; then
    while read -r ns _; do ip netns del "$ns" 2>/dev/null || true; done < "$m/hosts"
  fi
  ip netns del "$(mpx_mn_sandbox_ns "$run")" 2>/dev/null || true
  return 0
}

