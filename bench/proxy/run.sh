#!/usr/bin/env bash
# mpx-proxy benchmarks: every number measured in this run, on the same namespaces and path
# (client --veth-- hag --veth-- server, no emulation), every side the same number of times
# (BENCH_REPS, default 3) in interleaved rounds, cells = median (min-max):
#  1. relay throughput: iperf3 download (-R, 4 s, plain TCP on both legs) through
#     - mpx-proxy transparent (TPROXY rule -> IP_TRANSPARENT listener; splice, and --no-splice)
#     - haproxy transparent (the same TPROXY rule -> `bind ... transparent`) and haproxy plain
#       (the client connects to haproxy's address), mode tcp
#     - socat with its default 8 KiB buffer and tuned (-b 262144)
#     - direct (routed by the hag, no relay)
#  2. connections per second and relay CPU per connection: 3000 request/response connections
#     (100 B / 100 B, 50 in parallel) through
#     - mpx-proxy transparent vs haproxy transparent (same intercepted path) and haproxy plain
#     - mpx-proxy socks5 vs microsocks (Debian's SOCKS5 server; the client is the same)
#     - mpx-proxy convert (MPTCP client, request in the SYN): no peer does this; listed alone
#     CPU = the relay process's user + sys ticks (all threads) over the round / connections.
# Ratios are of medians; their range comes from the extremes (a / b: min(a)/max(b) to
# max(a)/min(b)). Raw JSON lines in $MPX_BENCH_OUT (default results/bench-proxy-<time>.jsonl).
# Root needed. Exit 0 even when a peer is unavailable (its ratio says n/a).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
export MPX_ROOT=$ROOT  # read by the sourced test libraries and the tools they start
source "$ROOT/tests/lib/netns.sh"
[ "$(id -u)" = 0 ] || { echo "bench/proxy: needs root"; exit 0; }
for b in mpx-proxy mpx-client mpx-server; do
  [ -x "$ROOT/bin/$b" ] || { echo "bench/proxy: bin/$b not built"; exit 1; }
done
command -v microsocks >/dev/null || { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq microsocks >/dev/null 2>&1 || true; }
REPS=${BENCH_REPS:-3}
CONNS=${BENCH_CONNS:-3000}
mkdir -p "$ROOT/results"
OUT=${MPX_BENCH_OUT:-$ROOT/results/bench-proxy-$(date -u +%Y%m%dT%H%M%S).jsonl}
: > "$OUT"
trap mpx_nt_down EXIT INT TERM
mpx_nt_up bpx >/dev/null || { echo "bench/proxy: namespaces did not come up"; exit 1; }
# a process in every namespace of this run (nodes and the links' bridge namespaces):
# tests/run.sh's leak sweep deletes new mpx-* namespaces without processes, which a test run
# of someone else's started meanwhile would do to these (links gone: "Network is unreachable")
mpx_bp_pin() {
  local ns
  for ns in $(ip netns list | awk -v p="mpx-$MPX_NT_RUN-" 'index($1, p) == 1 {print $1}'); do
    ip netns exec "$ns" sleep 7200 > /dev/null 2>&1 &
    MPX_NT_PIDS+=("$!")
  done
}
mpx_bp_pin
mpx_nt_exec client ip mptcp endpoint flush   # one path: compare relays, not multipath
for n in client hag server; do mpx_nt_exec $n sysctl -qw net.core.somaxconn=4096 net.ipv4.tcp_tw_reuse=1; done
mpx_nt_exec client sysctl -qw net.ipv4.ip_local_port_range="10000 65000"
mpx_nt_exec hag sysctl -qw net.ipv4.ip_local_port_range="10000 65000"
D=$MPX_NT_DIR
S=$MPX_NT_S4 H=$MPX_NT_H_DSL4
ALLOW=(--allow "$MPX_NT_C_DSL4/24" --allow "$MPX_NT_C_LTE4/24" --allow "$MPX_NT_C_DSL6/64" --allow "$MPX_NT_C_LTE6/64")
mpx_nt_bg server "$D/server.log" "$ROOT/bin/mpx-server" --listen "$S:8080" --ready "$D/server.ready" --json /dev/null
mpx_nt_wait_file "$D/server.ready"
mpx_nt_bg hag "$D/px.log" "$ROOT/bin/mpx-proxy" --convert 5124 --socks5 1080 --ready "$D/px.ready" "${ALLOW[@]}"
PX_PID=$MPX_NT_LASTPID
mpx_nt_bg hag "$D/socat.log" socat TCP-LISTEN:9002,fork,reuseaddr,backlog=1024 "TCP:$S:5201"
mpx_nt_bg hag "$D/socatb.log" socat -b 262144 TCP-LISTEN:9004,fork,reuseaddr,backlog=1024 "TCP:$S:5201"
for p in 5201 5202 5203; do mpx_nt_bg server "$D/iperf$p.log" iperf3 -s -p $p; done
# TPROXY on the hag, for connections arriving from the client on dsl:
#   S:5201 -> mpx-proxy transparent :5127 (splice)     S:5202 -> mpx-proxy :5128 (--no-splice)
#   S:5204 -> haproxy transparent :5130                (iperf3: both relay to S:5201)
#   S:8080 -> mpx-proxy transparent :5127              S:8082 -> haproxy transparent :5131
# (request/response: both relay to S:8080). Connections from the hag itself are not matched.
mpx_nt_exec hag nft -f - <<NFT
table ip bpx {
  chain pre {
    type filter hook prerouting priority mangle;
    iifname "dsl" ip daddr $S tcp dport 5201 tproxy to :5127 meta mark set 1 accept
    iifname "dsl" ip daddr $S tcp dport 5202 tproxy to :5128 meta mark set 1 accept
    iifname "dsl" ip daddr $S tcp dport 5204 tproxy to :5130 meta mark set 1 accept
    iifname "dsl" ip daddr $S tcp dport 8080 tproxy to :5127 meta mark set 1 accept
    iifname "dsl" ip daddr $S tcp dport 8082 tproxy to :5131 meta mark set 1 accept
  }
}
NFT
mpx_nt_exec hag ip rule add fwmark 1 lookup 100
mpx_nt_exec hag ip route add local 0.0.0.0/0 dev lo table 100
mpx_nt_bg hag "$D/pxt.log" "$ROOT/bin/mpx-proxy" --bind 0.0.0.0 --transparent 5127 --ready "$D/pxt.ready" "${ALLOW[@]:0:4}"
PXT_PID=$MPX_NT_LASTPID
mpx_nt_bg hag "$D/pxtc.log" "$ROOT/bin/mpx-proxy" --bind 0.0.0.0 --transparent 5128 --no-splice --ready "$D/pxtc.ready" "${ALLOW[@]:0:4}"
cat > "$D/haproxy.cfg" <<EOF
global
  maxconn 8000
defaults
  mode tcp
  timeout connect 5s
  timeout client 60s
  timeout server 60s
listen relay
  bind :9003
  server s1 $S:5201
listen relay_transparent
  bind :5130 transparent
  server s1 $S:5201
listen rr_plain
  bind :9005
  server s1 $S:8080
listen rr_transparent
  bind :5131 transparent
  server s1 $S:8080
EOF
mpx_nt_bg hag "$D/haproxy.log" haproxy -f "$D/haproxy.cfg" -db
HAP_PID=$MPX_NT_LASTPID
have_ms=0
if command -v microsocks >/dev/null; then
  mpx_nt_bg hag "$D/ms.log" microsocks -i 0.0.0.0 -p 1082; have_ms=1; MS_PID=$MPX_NT_LASTPID
fi
mpx_nt_wait_file "$D/px.ready"; mpx_nt_wait_file "$D/pxt.ready"; mpx_nt_wait_file "$D/pxtc.ready"
for p in 9002 9003 9004 9005 5130 5131 1082; do
  for _ in $(seq 100); do mpx_nt_exec hag ss -ltn | grep -q ":$p " && break; sleep 0.05; done
done
for p in "$HAP_PID" "$PX_PID" "$PXT_PID"; do
  kill -0 "$p" 2>/dev/null || { echo "bench/proxy: a relay (PID $p) exited at start:"; tail -5 "$D"/haproxy.log "$D"/px*.log; }
done
for p in 5201 5202 5203; do
  for _ in $(seq 100); do mpx_nt_exec server ss -ltn | grep -q ":$p " && break; sleep 0.05; done
done

# ---- measurements -------------------------------------------------------------------------
# one iperf3 download (Gbit/s or null) -> raw file
tput() { # label host port
  local j g
  j=$(mpx_nt_exec client timeout 30 iperf3 -c "$2" -p "$3" -R -t 4 -J 2>>"$D/iperf-client.err" || true)
  g=$(jq -r '.end.sum_received.bits_per_second / 1e9' <<<"$j" 2>/dev/null || true)
  [[ $g =~ ^[0-9.]+$ ]] || g=null
  echo "{\"bench\":\"throughput\",\"relay\":\"$1\",\"gbps\":$g}" >> "$OUT"
}
ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
# one request/response round: conn/s and relay CPU us per connection -> raw file
cps() { # label relay-pid client-args...
  local label=$1 pid=$2 s t0 t1 hz ok cs us; shift 2
  hz=$(getconf CLK_TCK)
  t0=$(ticks "$pid")
  s=$(mpx_nt_exec client timeout 120 "$ROOT/bin/mpx-client" "$@" --count "$CONNS" --concurrency 50 \
        --workload "rr 100/100" --timeout 20 --json - 2>/dev/null | tail -1)
  t1=$(ticks "$pid")
  ok=$(jq -r '.ok // 0' <<<"$s" 2>/dev/null || echo 0)
  cs=$(jq -r 'if .ok == .count then (.count / (.elapsed_us / 1e6) | floor) else "null" end' <<<"$s" 2>/dev/null || echo null)
  us=$(awk -v t=$((t1 - t0)) -v n="$ok" -v hz="$hz" 'BEGIN{ if (n > 0) printf "%.1f", t * 1e6 / hz / n; else print "null" }')
  echo "{\"bench\":\"cps\",\"relay\":\"$label\",\"conn_per_s\":${cs:-null},\"cpu_us_per_conn\":$us,\"ok\":$ok,\"count\":$CONNS}" >> "$OUT"
}
# "median (min-max)" of a field over the ok rows of a relay
stat() { # bench relay field
  jq -rs --arg b "$1" --arg r "$2" --arg f "$3" '
    [.[] | select(.bench == $b and .relay == $r) | .[$f] | select(. != null)] | sort
    | if length == 0 then "n/a" else
        (if length % 2 == 1 then .[length / 2 | floor] else (.[length / 2 - 1] + .[length / 2]) / 2 end) as $m
        | "\($m * 100 | round / 100) (\(.[0] * 100 | round / 100)-\(.[-1] * 100 | round / 100))" end' "$OUT"
}
# ratio of medians a / b with the extremes' range
ratio() { # bench field relay-a relay-b
  jq -rs --arg b "$1" --arg f "$2" --arg x "$3" --arg y "$4" '
    def med: sort | if length % 2 == 1 then .[length / 2 | floor] else (.[length / 2 - 1] + .[length / 2]) / 2 end;
    [.[] | select(.bench == $b and .relay == $x) | .[$f] | select(. != null)] as $A
    | [.[] | select(.bench == $b and .relay == $y) | .[$f] | select(. != null)] as $B
    | if ($A | length) == 0 or ($B | length) == 0 or ($B | min) <= 0 then "n/a" else
        "\(($A | med) / ($B | med) * 100 | round / 100)x (\(($A | min) / ($B | max) * 100 | round / 100)-\(($A | max) / ($B | min) * 100 | round / 100))" end' "$OUT"
}

for _ in $(seq "$REPS"); do
  tput direct "$S" 5203 || true
  tput mpx-transparent "$S" 5201
  tput mpx-transparent-copy "$S" 5202
  tput haproxy-transparent "$S" 5204
  tput haproxy-plain "$H" 9003
  tput socat-default "$H" 9002
  tput socat-b262144 "$H" 9004
done
for _ in $(seq "$REPS"); do
  cps mpx-transparent "$PXT_PID" --signal implicit --mptcp off --target "$S:8080"
  cps haproxy-transparent "$HAP_PID" --signal implicit --mptcp off --target "$S:8082"
  cps haproxy-plain "$HAP_PID" --signal implicit --mptcp off --target "$H:9005"
  cps mpx-socks5 "$PX_PID" --signal socks5 --mptcp off --target "$S:8080" --proxy "$H:1080"
  if [ $have_ms = 1 ]; then
    cps microsocks "$MS_PID" --signal socks5 --mptcp off --target "$S:8080" --proxy "$H:1082"
  fi
  cps mpx-convert "$PX_PID" --signal convert --target "$S:8080" --proxy "$H:5124"
done

cat <<EOF
## mpx-proxy benchmark ($(uname -r), $(nproc) CPUs, $(date -u +%FT%TZ)); $REPS interleaved rounds, median (min-max)

| relay throughput, iperf3 -R 4 s | Gbit/s |
|---|---|
| direct (routed by the hag, no relay) | $(stat throughput direct gbps) |
| mpx-proxy transparent (TPROXY, splice after 256 KiB) | $(stat throughput mpx-transparent gbps) |
| mpx-proxy transparent --no-splice (read/write) | $(stat throughput mpx-transparent-copy gbps) |
| haproxy $(haproxy -v | head -1 | awk '{print $3}') transparent (TPROXY, bind transparent) | $(stat throughput haproxy-transparent gbps) |
| haproxy plain (client connects to haproxy) | $(stat throughput haproxy-plain gbps) |
| socat (default 8 KiB buffer) | $(stat throughput socat-default gbps) |
| socat -b 262144 | $(stat throughput socat-b262144 gbps) |

| $CONNS connections, 50 parallel, 100 B / 100 B | conn/s | relay CPU µs/conn |
|---|---|---|
| mpx-proxy transparent (plain TCP client, intercepted) | $(stat cps mpx-transparent conn_per_s) | $(stat cps mpx-transparent cpu_us_per_conn) |
| haproxy transparent (same path) | $(stat cps haproxy-transparent conn_per_s) | $(stat cps haproxy-transparent cpu_us_per_conn) |
| haproxy plain (client connects to haproxy) | $(stat cps haproxy-plain conn_per_s) | $(stat cps haproxy-plain cpu_us_per_conn) |
| mpx-proxy socks5 (TCP client) | $(stat cps mpx-socks5 conn_per_s) | $(stat cps mpx-socks5 cpu_us_per_conn) |
| microsocks (TCP client) | $(stat cps microsocks conn_per_s) | $(stat cps microsocks cpu_us_per_conn) |
| mpx-proxy convert (MPTCP client, request in the SYN; no peer) | $(stat cps mpx-convert conn_per_s) | $(stat cps mpx-convert cpu_us_per_conn) |

Ratios (medians; range from the extremes):
- throughput mpx-proxy transparent / haproxy transparent: $(ratio throughput gbps mpx-transparent haproxy-transparent)
- throughput mpx-proxy transparent / haproxy plain:       $(ratio throughput gbps mpx-transparent haproxy-plain)
- throughput mpx-proxy transparent / socat default:       $(ratio throughput gbps mpx-transparent socat-default)
- throughput mpx-proxy transparent / socat -b 262144:     $(ratio throughput gbps mpx-transparent socat-b262144)
- conn/s mpx-proxy transparent / haproxy transparent:     $(ratio cps conn_per_s mpx-transparent haproxy-transparent)
- conn/s mpx-proxy transparent / haproxy plain:           $(ratio cps conn_per_s mpx-transparent haproxy-plain)
- conn/s mpx-proxy socks5 / microsocks:                   $(ratio cps conn_per_s mpx-socks5 microsocks)
- CPU per connection haproxy transparent / mpx-proxy transparent: $(ratio cps cpu_us_per_conn haproxy-transparent mpx-transparent)
- CPU per connection microsocks / mpx-proxy socks5:       $(ratio cps cpu_us_per_conn microsocks mpx-socks5)
(conn/s is bounded by the shared load generator: client, server and relays share $(nproc) CPUs;
CPU per connection is the steadier comparison.)

Raw: $OUT
EOF
