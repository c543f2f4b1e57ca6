#!/usr/bin/env bash
# mpx-proxy benchmarks, every number measured in this run on the same namespaces and path
# (client --veth-- hag --veth-- server, no emulation):
#  1. relay throughput: iperf3 download (-R, 4 s, plain TCP on both legs, median of 3 runs)
#     through mpx-proxy (transparent listener behind an nft TPROXY rule, so iperf3 needs no
#     SOCKS support; same relay code as every method; splice and --no-splice), socat
#     (TCP-LISTEN,fork -> TCP) and haproxy (mode tcp) on the hag, and direct (routed);
#  2. proxied connections per second: 3000 request/response connections (100 B / 100 B,
#     50 in parallel; median of 5 interleaved rounds) through mpx-proxy convert (MPTCP client, data in the
#     SYN) and socks5, and through microsocks (Debian's SOCKS5 server; installed if missing).
# Prints a Markdown table and the ratios; raw JSON lines in $MPX_BENCH_OUT (default
# results/bench-proxy-<time>.jsonl). Root needed. Exit 0 even when a peer is unavailable (its
# ratio then says n/a).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
export MPX_ROOT=$ROOT  # read by the sourced test libraries and the tools they start
source "$ROOT/tests/lib/netns.sh"
[ "$(id -u)" = 0 ] || { echo "bench/proxy: needs root"; exit 0; }
for b in mpx-proxy mpx-client mpx-server; do
  [ -x "$ROOT/bin/$b" ] || { echo "bench/proxy: bin/$b not built"; exit 1; }
done
command -v microsocks >/dev/null || { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq microsocks >/dev/null 2>&1 || true; }
mkdir -p "$ROOT/results"
OUT=${MPX_BENCH_OUT:-$ROOT/results/bench-proxy-$(date -u +%Y%m%dT%H%M%S).jsonl}
: > "$OUT"
trap mpx_nt_down EXIT INT TERM
mpx_nt_up bpx >/dev/null
mpx_nt_exec client ip mptcp endpoint flush   # one path: compare relays, not multipath
for n in client hag server; do mpx_nt_exec $n sysctl -qw net.core.somaxconn=4096 net.ipv4.tcp_tw_reuse=1; done
mpx_nt_exec client sysctl -qw net.ipv4.ip_local_port_range="10000 65000"
mpx_nt_exec hag sysctl -qw net.ipv4.ip_local_port_range="10000 65000"
D=$MPX_NT_DIR
S=$MPX_NT_S4 H=$MPX_NT_H_DSL4
mpx_nt_bg server "$D/server.log" "$ROOT/bin/mpx-server" --listen "$S:8080" --ready "$D/server.ready" --json /dev/null
mpx_nt_wait_file "$D/server.ready"
mpx_nt_bg hag "$D/px.log" "$ROOT/bin/mpx-proxy" --convert 5124 --socks5 1080 --ready "$D/px.ready"
PX_PID=$MPX_NT_LASTPID
mpx_nt_bg hag "$D/socat.log" socat TCP-LISTEN:9002,fork,reuseaddr,backlog=1024 "TCP:$S:5201"
for p in 5201 5202 5203; do mpx_nt_bg server "$D/iperf$p.log" iperf3 -s -p $p; done
# TPROXY: connections from the client to S:5201 / S:5202 land on mpx-proxy's transparent
# listeners (splice / copy); S:5203 is routed (direct)
mpx_nt_exec hag nft -f - <<NFT
table ip bpx {
  chain pre {
    type filter hook prerouting priority mangle;
    iifname "dsl" ip daddr $S tcp dport 5201 tproxy to :5127 meta mark set 1 accept
    iifname "dsl" ip daddr $S tcp dport 5202 tproxy to :5128 meta mark set 1 accept
  }
}
NFT
mpx_nt_exec hag ip rule add fwmark 1 lookup 100
mpx_nt_exec hag ip route add local 0.0.0.0/0 dev lo table 100
mpx_nt_bg hag "$D/pxt.log" "$ROOT/bin/mpx-proxy" --bind 0.0.0.0 --transparent 5127 --ready "$D/pxt.ready"
mpx_nt_bg hag "$D/pxtc.log" "$ROOT/bin/mpx-proxy" --bind 0.0.0.0 --transparent 5128 --no-splice --ready "$D/pxtc.ready"
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
EOF
mpx_nt_bg hag "$D/haproxy.log" haproxy -f "$D/haproxy.cfg" -db
have_ms=0
if command -v microsocks >/dev/null; then
  mpx_nt_bg hag "$D/ms.log" microsocks -i 0.0.0.0 -p 1082; have_ms=1; MS_PID=$MPX_NT_LASTPID
fi
mpx_nt_wait_file "$D/px.ready"; mpx_nt_wait_file "$D/pxt.ready"; mpx_nt_wait_file "$D/pxtc.ready"
for p in 9002 9003 1082; do
  for i in $(seq 100); do mpx_nt_exec hag ss -ltn | grep -q ":$p " && break; sleep 0.05; done
done
for p in 5201 5202 5203; do
  for i in $(seq 100); do mpx_nt_exec server ss -ltn | grep -q ":$p " && break; sleep 0.05; done
done

client() { mpx_nt_exec client timeout 120 "$ROOT/bin/mpx-client" "$@" --json - 2>/dev/null | tail -1; }
# throughput in Gbit/s: median of 3 iperf3 downloads
tput() { # label host port
  local v=() i j g
  for i in 1 2 3; do
    j=$(mpx_nt_exec client timeout 30 iperf3 -c "$2" -p "$3" -R -t 4 -J 2>/dev/null || true)
    g=$(jq -r '.end.sum_received.bits_per_second / 1e9' <<<"$j" 2>/dev/null || true)
    [[ $g =~ ^[0-9.]+$ ]] || g=null
    echo "{\"bench\":\"throughput\",\"relay\":\"$1\",\"run\":$i,\"gbps\":$g}" >> "$OUT"
    [ "$g" != null ] && v+=("$g")
  done
  [ ${#v[@]} -gt 0 ] || { echo n/a; return; }
  printf '%s\n' "${v[@]}" | sort -g | awk '{a[NR]=$1} END{printf "%.2f\n", a[int((NR+1)/2)]}'
}
# CPU time (user+sys, clock ticks) a process used so far, threads included
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
declare -A CPU_TICKS=() CPU_CONNS=()
CPS_LAST=n/a
# connections per second: one measurement (-> $CPS_LAST, no subshell so the CPU sums stay), appended to the raw file; the relay
# process's CPU time is summed per label (the CPUs are shared, so CPU per connection is
# the steadier comparison)
cps() { # label pid client-args...
  local label=$1 pid=$2 s t0 t1; shift 2
  t0=$(ticks "$pid")
  s=$(client "$@" --count 3000 --concurrency 50 --workload "rr 100/100" --timeout 20)
  t1=$(ticks "$pid")
  CPU_TICKS[$label]=$(( ${CPU_TICKS[$label]:-0} + t1 - t0 ))
  CPU_CONNS[$label]=$(( ${CPU_CONNS[$label]:-0} + $(jq -r .ok <<<"$s") ))
  echo "{\"bench\":\"cps\",\"relay\":\"$label\",\"cpu_ticks\":$((t1 - t0)),\"summary\":$s}" >> "$OUT"
  CPS_LAST=$(jq -r 'if .ok == .count then (.count / (.elapsed_us / 1e6) | floor) else "n/a" end' <<<"$s")
}
cpu_us() { # label -> CPU microseconds per connection
  local hz; hz=$(getconf CLK_TCK)
  awk -v t="${CPU_TICKS[$1]:-0}" -v n="${CPU_CONNS[$1]:-0}" -v hz="$hz" 'BEGIN{ if (n > 0) printf "%.1f", t * 1e6 / hz / n; else print "n/a" }'
}
median() { printf '%s\n' "$@" | grep -E '^[0-9.]+$' | sort -g | awk '{a[NR]=$1} END{ if (NR) print a[int((NR+1)/2)]; else print "n/a" }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (a+0 > 0 && b+0 > 0) printf "%.2fx", a/b; else print "n/a" }'; }

t_direct=$(tput direct "$S" 5203)
t_mpx=$(tput mpx-proxy "$S" 5201)
t_mpxc=$(tput mpx-proxy-copy "$S" 5202)
t_socat=$(tput socat "$H" 9002)
t_hap=$(tput haproxy "$H" 9003)
# interleaved rounds (the CPUs are shared: alternate the relays, take medians)
cv=() cs=() cm=()
for _ in 1 2 3 4 5; do
  cps mpx-convert "$PX_PID" --signal convert --target "$S:8080" --proxy "$H:5124"; cv+=("$CPS_LAST")
  cps mpx-socks5 "$PX_PID" --signal socks5 --mptcp off --target "$S:8080" --proxy "$H:1080"; cs+=("$CPS_LAST")
  if [ $have_ms = 1 ]; then
    cps microsocks "$MS_PID" --signal socks5 --mptcp off --target "$S:8080" --proxy "$H:1082"; cm+=("$CPS_LAST")
  fi
done
c_conv=$(median "${cv[@]}") c_socks=$(median "${cs[@]}") c_ms=$(median "${cm[@]:-n/a}")

cat <<EOF
## mpx-proxy benchmark ($(uname -r), $(nproc) CPUs, $(date -u +%FT%TZ))

| relay throughput, iperf3 -R 4 s, median of 3 | Gbit/s |
|---|---|
| direct (routed by the hag, no relay) | $t_direct |
| mpx-proxy (transparent/TPROXY, splice after 256 KiB) | $t_mpx |
| mpx-proxy (--no-splice, read/write) | $t_mpxc |
| socat | $t_socat |
| haproxy $(haproxy -v | head -1 | awk '{print $3}') | $t_hap |

| proxied connections (3000 conns, 50 parallel, 100 B / 100 B, median of 5 interleaved rounds) | conn/s | relay CPU us/conn |
|---|---|---|
| mpx-proxy convert (MPTCP client, request in the SYN) | $c_conv | $(cpu_us mpx-convert) |
| mpx-proxy socks5 (TCP client) | $c_socks | $(cpu_us mpx-socks5) |
| microsocks (TCP client) | $c_ms | $(cpu_us microsocks) |

Ratios (goal: throughput >= 1.0x haproxy and >= 2x socat; connections/s >= 2x the Debian SOCKS server):
- throughput mpx-proxy / haproxy: $(ratio "$t_mpx" "$t_hap")
- throughput mpx-proxy / socat:   $(ratio "$t_mpx" "$t_socat")
- conn/s mpx-proxy convert / microsocks: $(ratio "$c_conv" "$c_ms")
- conn/s mpx-proxy socks5 / microsocks:  $(ratio "$c_socks" "$c_ms")
- CPU per connection microsocks / mpx-proxy socks5: $(ratio "$(cpu_us microsocks)" "$(cpu_us mpx-socks5)") (how many times more CPU the Debian server spends per connection)
- CPU-bound capacity, 1 s / CPU per connection: mpx-proxy socks5 $(awk -v u="$(cpu_us mpx-socks5)" 'BEGIN{ if (u+0 > 0) printf "%d", 1e6/u; else print "n/a" }') conn/s per core, convert $(awk -v u="$(cpu_us mpx-convert)" 'BEGIN{ if (u+0 > 0) printf "%d", 1e6/u; else print "n/a" }'), microsocks $(awk -v u="$(cpu_us microsocks)" 'BEGIN{ if (u+0 > 0) printf "%d", 1e6/u; else print "n/a" }')
  (conn/s above is bounded by the shared load generator: client, server and relay share $(nproc) CPUs)

Raw: $OUT
EOF
