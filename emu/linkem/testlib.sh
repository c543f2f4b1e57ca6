# Shared shell helpers for the linkem tests and benchmarks (source it).
# Builds  ns A (veth "eth0" 198.18.100.1/24) -- [la  ns L: mpx-linkem  lb] -- ns B (eth0 .2)
# All names carry the prefix mpx-lk-$$-<tag> so concurrent runs never collide.
# shellcheck shell=bash
LK_ROOT=${MPX_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
LK_BIN=${LK_BIN:-$LK_ROOT/bin/mpx-linkem}
LK_PREFIX="mpx-lk-$$"
LK_NSS=() LK_PIDS=()
LK_A_IP=198.18.100.1 LK_B_IP=198.18.100.2

lk_ns() { echo "$LK_PREFIX-$1"; }

# lk_mkpair TAG: creates namespaces TAG-a, TAG-l, TAG-b and the two veth pairs.
lk_mkpair() {
  local t=$1 a b l
  a=$(lk_ns "$t-a") l=$(lk_ns "$t-l") b=$(lk_ns "$t-b")
  for n in "$a" "$l" "$b"; do ip netns add "$n"; LK_NSS+=("$n"); done
  ip -n "$a" link add eth0 type veth peer name la netns "$l"
  ip -n "$b" link add eth0 type veth peer name lb netns "$l"
  ip -n "$a" addr add $LK_A_IP/24 dev eth0
  ip -n "$b" addr add $LK_B_IP/24 dev eth0
  for n in "$a" "$b" "$l"; do ip -n "$n" link set lo up; done
  # link namespace: no addresses, no IPv6 chatter of its own
  ip netns exec "$l" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  for n in "$a" "$b"; do
    ip netns exec "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    ip netns exec "$n" ethtool -K eth0 tso off gso off gro off tx off rx off >/dev/null 2>&1 || true
    ip -n "$n" link set eth0 up
  done
  ip -n "$l" link set la up; ip -n "$l" link set lb up
}

# lk_start TAG OUTDIR AB BA [extra mpx-linkem args...]: runs mpx-linkem in TAG-l, waits ready.
# Sets LK_PID.
lk_start() {
  local t=$1 out=$2 ab=$3 ba=$4; shift 4
  local l; l=$(lk_ns "$t-l")
  rm -f "$out/ready"
  timeout -s TERM "${LK_TIMEOUT:-300}" ip netns exec "$l" "$LK_BIN" --if-a la --if-b lb \
    --ab "$ab" --ba "$ba" --name "$t" --ready "$out/ready" --stats "$out/stats.json" \
    "$@" 2>"$out/linkem.log" &
  local tpid=$!
  LK_PIDS+=("$tpid")
  for _ in $(seq 1 200); do
    if [ -f "$out/ready" ]; then
      # signals go to mpx-linkem itself (ip netns exec execs it under timeout)
      LK_PID=$(pgrep -P "$tpid" | head -1); LK_PIDS+=("$LK_PID")
      return 0
    fi
    kill -0 "$tpid" 2>/dev/null || { cat "$out/linkem.log" >&2; return 1; }
    sleep 0.02
  done
  echo "linkem not ready" >&2; return 1
}

# lk_stop PID: SIGTERM to mpx-linkem, wait for its timeout wrapper; returns the exit code.
lk_stop() {
  local pid=$1 rc=0 tpid
  tpid=$(ps -o ppid= -p "$pid" 2>/dev/null | tr -d ' ')
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  [ -n "$tpid" ] && { wait "$tpid" 2>/dev/null || rc=$?; }
  return $rc
}

lk_cleanup() {
  local p n
  for p in "${LK_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${LK_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  for n in "${LK_NSS[@]}"; do ip netns del "$n" 2>/dev/null || true; done
}

lk_exec() { local t=$1; shift; ip netns exec "$(lk_ns "$t")" "$@"; }

# lk_dump TAG OUTDIR: state for a failure log
lk_dump() {
  local t=$1 out=$2 n
  for n in a l b; do echo "--- ns $t-$n"; ip -n "$(lk_ns "$t-$n")" -s link 2>&1 | head -30; done
  echo "--- linkem log"; cat "$out/linkem.log" 2>/dev/null | tail -20
  echo "--- stats"; cat "$out/stats.json" 2>/dev/null
}

LK_PROBE=${LK_PROBE:-$LK_ROOT/bin/mpx-lkprobe}
# lk_probe TAG OUTFILE COUNT PPS [recv args...]: UDP probes A->B; the receiver's JSON
# summary goes to OUTFILE (and its per-packet CSV to OUTFILE.csv). LK_PROBE_SIZE sets the
# UDP payload size (default 64).
lk_probe() {
  local t=$1 of=$2 count=$3 pps=$4; shift 4
  local port=$((9000 + RANDOM % 1000)) rp
  lk_exec "$t-b" timeout 60 "$LK_PROBE" recv --bind "$LK_B_IP:$port" --idle-ms 400 \
    --csv "$of.csv" "$@" > "$of" &
  rp=$!
  for _ in $(seq 1 100); do
    lk_exec "$t-b" ss -Hlun "sport = :$port" 2>/dev/null | grep -q . && break; sleep 0.02
  done
  lk_exec "$t-a" timeout 60 "$LK_PROBE" send --dst "$LK_B_IP:$port" --count "$count" \
    --pps "$pps" --size "${LK_PROBE_SIZE:-64}" 2>"$of.send"
  wait "$rp"
}

# lk_warm TAG: resolves ARP both ways so measurements never wait for a neighbour.
lk_warm() { lk_exec "$1-a" ping -c 2 -i 0.05 -W 2 -q "$LK_B_IP" >/dev/null 2>&1 || true; }

# lk_ping_median TAG COUNT INTERVAL [SIZE]: median RTT in ms of COUNT pings A->B.
lk_ping_median() {
  lk_exec "$1-a" ping -c "$2" -i "$3" -s "${4:-56}" -W 2 "$LK_B_IP" |
    sed -n 's/.*time=\([0-9.]*\) ms.*/\1/p' | sort -g |
    awk '{v[NR]=$1} END{if(NR==0){print "nan"; exit} print (NR%2)? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'
}

# lk_jq FILE EXPR: true when jq's EXPR holds on FILE (quiet, for t_check)
lk_jq() { jq -e "$2" "$1" >/dev/null 2>&1; }
# lk_median: median of the numbers on stdin (one per line), "nan" if none
lk_median() { sort -g | awk '{v[NR]=$1} END{if(NR==0){print "nan"; exit} print (NR%2)? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
