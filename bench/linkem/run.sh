#!/usr/bin/env bash
# bench/linkem: mpx-linkem against peers measured in the same run, printed as ratios.
#  1. forwarding rate (64-byte UDP, zero delay) through mpx-linkem vs a plain veth pair
#  2. one-way delay error at delay=10ms: p50/p99 of (measured - configured) per packet
#     (probe timestamps: sender CLOCK_REALTIME, receiver kernel stamp), vs plain veth
#  3. rate accuracy: TCP goodput and UDP frame rate at 20 Mbit/s, linkem vs tc tbf and htb
#  4. the emulator's CPU use in each case (from its --stats)
# Markdown on stdout; JSON lines in build/bench/linkem/results.jsonl. Needs root.
#   bench/linkem/run.sh [--quick]
set -euo pipefail
cd "$(dirname "$0")/../.."
MPX_ROOT=$(pwd)
export MPX_ROOT  # testlib.sh and the tools it starts find the tree through it
source emu/linkem/testlib.sh
[ "$(id -u)" = 0 ] || { echo "bench/linkem: needs root" >&2; exit 77; }
for b in mpx-linkem mpx-lkprobe; do [ -x "bin/$b" ] || { echo "bin/$b missing: make" >&2; exit 1; }; done
quick=0; [ "${1:-}" = --quick ] && quick=1
NFLOOD=$([ $quick = 1 ] && echo 200000 || echo 1000000)
resdir=build/bench/linkem; mkdir -p "$resdir"; res=$resdir/results.jsonl; : > "$res"
out=$(mktemp -d /tmp/mpx-lk-bench.XXXXXX)
trap 'lk_cleanup; rm -rf "$out"' EXIT INT TERM

# a direct veth pair (the peer): namespaces TAG-a and TAG-b, same addresses
mk_direct() {
  local a b; a=$(lk_ns "$1-a") b=$(lk_ns "$1-b")
  ip netns add "$a"; LK_NSS+=("$a"); ip netns add "$b"; LK_NSS+=("$b")
  ip -n "$a" link add eth0 type veth peer name eth0 netns "$b"
  ip -n "$a" addr add $LK_A_IP/24 dev eth0; ip -n "$b" addr add $LK_B_IP/24 dev eth0
  for n in "$a" "$b"; do
    ip netns exec "$n" ethtool -K eth0 tso off gso off gro off tx off rx off >/dev/null 2>&1 || true
    ip -n "$n" link set lo up; ip -n "$n" link set eth0 up
  done
}
cpu_of() { jq '(.cpu_user_s + .cpu_sys_s) / .elapsed_s * 100' "$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b == 0) print "n/a"; else printf "%.3f", a/b }'; }
emit() { echo "$1" >> "$res"; }

lk_mkpair e
mk_direct d

echo "# mpx-linkem benchmark ($(date -u +%FT%TZ), $(nproc) cores, kernel $(uname -r))"
echo

# ---- 1. forwarding rate
flood() { # TAG OUTFILE: 64-byte UDP flood A->B, receiver summary in OUTFILE
  LK_PROBE_SIZE=18 lk_probe_flood "$1" "$2"
}
lk_probe_flood() {
  local t=$1 of=$2 port=$((9000 + RANDOM % 1000)) rp
  lk_exec "$t-b" timeout 120 "$LK_PROBE" recv --bind "$LK_B_IP:$port" --idle-ms 500 > "$of" &
  rp=$!
  for _ in $(seq 1 100); do lk_exec "$t-b" ss -Hlun "sport = :$port" | grep -q . && break; sleep 0.02; done
  lk_exec "$t-a" timeout 120 "$LK_PROBE" send --dst "$LK_B_IP:$port" --count "$NFLOOD" --batch 64 --size 18 2>"$of.send"
  wait "$rp"
}
# both directions at once: A->B and B->A floods; prints "pps_ab pps_ba"
flood_both() {
  local t=$1 of=$2 port=$((9000 + RANDOM % 1000)) r1 r2 s1 s2
  lk_exec "$t-b" timeout 120 "$LK_PROBE" recv --bind "$LK_B_IP:$port" --idle-ms 500 > "$of.ab" &
  r1=$!
  lk_exec "$t-a" timeout 120 "$LK_PROBE" recv --bind "$LK_A_IP:$port" --idle-ms 500 > "$of.ba" &
  r2=$!
  for _ in $(seq 1 100); do lk_exec "$t-a" ss -Hlun "sport = :$port" | grep -q . && lk_exec "$t-b" ss -Hlun "sport = :$port" | grep -q . && break; sleep 0.02; done
  lk_exec "$t-a" timeout 120 "$LK_PROBE" send --dst "$LK_B_IP:$port" --count $((NFLOOD / 2)) --batch 64 --size 18 2>/dev/null &
  s1=$!
  lk_exec "$t-b" timeout 120 "$LK_PROBE" send --dst "$LK_A_IP:$port" --count $((NFLOOD / 2)) --batch 64 --size 18 2>/dev/null &
  s2=$!
  wait "$s1" "$s2" "$r1" "$r2" || true
}
lk_exec d-a ping -c1 -W1 -q $LK_B_IP >/dev/null 2>&1 || true
lk_probe_flood d "$out/fd"
lk_start e "$out" "delay=0ms" "delay=0ms"
lk_warm e
lk_probe_flood e "$out/fe"
lk_stop "$LK_PID" || true
cp "$out/stats.json" "$out/fe.stats"
flood_both d "$out/bd"
lk_start e "$out" "delay=0ms" "delay=0ms"
lk_warm e
flood_both e "$out/be"
lk_stop "$LK_PID" || true
cp "$out/stats.json" "$out/be.stats"
pd=$(jq .pps "$out/fd"); pe=$(jq .pps "$out/fe")
sd=$(jq .pps "$out/fd.send"); se=$(jq .pps "$out/fe.send")
rxd=$(jq .received "$out/fd"); rxe=$(jq .received "$out/fe")
cpu=$(cpu_of "$out/fe.stats")
echo "## 1. Forwarding rate, 64-byte UDP frames, zero delay"
echo
echo "| path | sender pps | delivered pps | delivered/sent | emulator CPU % |"
echo "|---|---|---|---|---|"
echo "| plain veth pair | $sd | $pd | $(ratio "$rxd" "$NFLOOD") | - |"
echo "| mpx-linkem | $se | $pe | $(ratio "$rxe" "$NFLOOD") | $(printf %.0f "$cpu") |"
bab_d=$(jq .pps "$out/bd.ab") bba_d=$(jq .pps "$out/bd.ba") bab_e=$(jq .pps "$out/be.ab") bba_e=$(jq .pps "$out/be.ba")
echo "| plain veth pair, both directions at once | - | $bab_d + $bba_d | $(ratio "$(jq -s 'map(.received)|add' "$out/bd.ab" "$out/bd.ba")" "$NFLOOD") | - |"
echo "| mpx-linkem, both directions at once | - | $bab_e + $bba_e | $(ratio "$(jq -s 'map(.received)|add' "$out/be.ab" "$out/be.ba")" "$NFLOOD") | $(printf %.0f "$(cpu_of "$out/be.stats")") |"
echo
echo "**ratio linkem/veth delivered pps: $(ratio "$pe" "$pd") one direction, $(ratio "$(awk -v a="$bab_e" -v b="$bba_e" 'BEGIN{print a+b}')" "$(awk -v a="$bab_d" -v b="$bba_d" 'BEGIN{print a+b}')") both directions**  (emulator drops: $(jq -c '.ab.drops + {send_fail: .ab.send_fail}' "$out/fe.stats"))"
echo
emit "{\"bench\":\"pps\",\"veth_pps\":$pd,\"linkem_pps\":$pe,\"ratio\":$(ratio "$pe" "$pd"),\"linkem_cpu_pct\":$cpu,\"both\":{\"veth_pps\":[$bab_d,$bba_d],\"linkem_pps\":[$bab_e,$bba_e]}}"

# ---- 2. delay error at 10 ms
DN=$([ $quick = 1 ] && echo 2000 || echo 5000)
lk_exec d-a true
LK_PROBE_SIZE=100 lk_probe d "$out/dd" "$DN" 1000 --delay-us 0
lk_start e "$out" "delay=10ms" "delay=10ms" --pcap "$out/de.pcap"
lk_warm e
LK_PROBE_SIZE=100 lk_probe e "$out/de" "$DN" 1000 --delay-us 10000
rtt=$(lk_exec e-a ping -c 200 -i 0.01 -q "$LK_B_IP" | sed -n 's|.*= [0-9.]*/\([0-9.]*\)/.*|\1|p')
lk_stop "$LK_PID" || true
cp "$out/stats.json" "$out/de.stats"
"$LK_PROBE" pcap "$out/de.pcap" --delay-us 10000 > "$out/dp"
echo "## 2. One-way delay error at delay=10ms ($DN probes at 1000/s)"
echo
echo "| path | p50 us | p99 us | p99.9 us | max us | emulator CPU % |"
echo "|---|---|---|---|---|---|"
echo "| plain veth (stack only, error vs 0) | $(jq -r '.owd_us|[.p50,.p99,.p999,.max]|map(tostring)|join(" | ")' "$out/dd") | - |"
echo "| mpx-linkem, receiver (measured - 10 ms) | $(jq -r '.owd_us|[.p50,.p99,.p999,.max]|map(tostring)|join(" | ")' "$out/de") | $(printf %.1f "$(cpu_of "$out/de.stats")") |"
echo "| mpx-linkem, its pcap stamp (us resolution) - sender - 10 ms | $(jq -r '.owd_us|[.p50,.p99,.p999,.max]|map(tostring)|join(" | ")' "$out/dp") | |"
echo
echo "Emulator's own release lateness (stats late_us, ab): $(jq -c .ab.late_us "$out/de.stats"); ping RTT mean over 10+10 ms: $rtt ms (error $(awk -v r="$rtt" 'BEGIN{printf "%.3f", r-20}') ms)"
echo
emit "{\"bench\":\"delay\",\"veth_owd_us\":$(jq -c .owd_us "$out/dd"),\"linkem_err_us\":$(jq -c .owd_us "$out/de"),\"linkem_pcap_err_us\":$(jq -c .owd_us "$out/dp"),\"ping_rtt_ms\":$rtt,\"linkem_cpu_pct\":$(cpu_of "$out/de.stats")}"

# ---- 3. rate accuracy at 20 Mbit/s: TCP goodput and UDP frame rate
T=$([ $quick = 1 ] && echo 3 || echo 6)
iperf() { # TAG -> goodput Mbit/s
  local t=$1 srv
  lk_exec "$t-b" timeout 60 iperf3 -s -1 -B "$LK_B_IP" >/dev/null 2>&1 &
  srv=$!
  for _ in $(seq 1 100); do lk_exec "$t-b" ss -Hltn "sport = :5201" | grep -q . && break; sleep 0.02; done
  lk_exec "$t-a" timeout 60 iperf3 -c "$LK_B_IP" -t "$T" -J > "$out/ip.json" 2>/dev/null || true
  wait "$srv" 2>/dev/null || true
  jq '.end.sum_received.bits_per_second / 1e6' "$out/ip.json" 2>/dev/null || echo 0
}
udp_rate() { # TAG -> delivered frame rate in Mbit/s (1042-byte frames, offered 30 Mbit/s)
  LK_PROBE_SIZE=1000 lk_probe "$1" "$out/u" 4000 3600 --idle-ms 300 >/dev/null
  jq '.pps * 1042 * 8 / 1e6' "$out/u"
}
tcset() { # shaper on the direct pair's A side
  local a; a=$(lk_ns d-a)
  tc -n "$a" qdisc del dev eth0 root 2>/dev/null || true
  case $1 in
    tbf) tc -n "$a" qdisc add dev eth0 root tbf rate 20mbit burst 16kb latency 50ms ;;
    htb) tc -n "$a" qdisc add dev eth0 root handle 1: htb default 10
         tc -n "$a" class add dev eth0 parent 1: classid 1:10 htb rate 20mbit ceil 20mbit quantum 1514 ;;
  esac
}
lk_start e "$out" "rate=20mbit queue=100p" "rate=20mbit queue=100p"
lk_warm e
g_lk=$(iperf e); u_lk=$(udp_rate e)
lk_stop "$LK_PID" || true
cpu_r=$(cpu_of "$out/stats.json")
tcset tbf; g_tbf=$(iperf d); u_tbf=$(udp_rate d)
tcset htb; g_htb=$(iperf d); u_htb=$(udp_rate d)
tcset none
# expected: TCP payload share of a 1514-byte frame (1448/1514); UDP: frame rate exactly 20
exp_tcp=$(awk 'BEGIN{printf "%.3f", 20*1448/1514}')
echo "## 3. Rate accuracy at 20 Mbit/s (TCP ${T}s goodput; UDP 1042-byte frames offered at 30 Mbit/s)"
echo
echo "| shaper | TCP goodput Mbit/s | TCP / ideal $exp_tcp | UDP frame rate Mbit/s | UDP / 20 |"
echo "|---|---|---|---|---|"
for s in lk tbf htb; do
  g=g_$s u=u_$s; name=$([ $s = lk ] && echo "mpx-linkem rate=20mbit queue=100p" || echo "tc $s on plain veth")
  printf '| %s | %.2f | %s | %.2f | %s |\n' "$name" "${!g}" "$(ratio "${!g}" "$exp_tcp")" "${!u}" "$(ratio "${!u}" 20)"
done
echo
echo "**ratio of accuracy linkem vs tbf (TCP): $(ratio "$(ratio "$g_lk" "$exp_tcp")" "$(ratio "$g_tbf" "$exp_tcp")"), vs htb: $(ratio "$(ratio "$g_lk" "$exp_tcp")" "$(ratio "$g_htb" "$exp_tcp")")**; emulator CPU $(printf %.1f "$cpu_r") % at 20 Mbit/s"
echo
emit "{\"bench\":\"rate\",\"tcp_mbit\":{\"linkem\":$g_lk,\"tbf\":$g_tbf,\"htb\":$g_htb},\"udp_mbit\":{\"linkem\":$u_lk,\"tbf\":$u_tbf,\"htb\":$u_htb},\"linkem_cpu_pct\":$cpu_r}"
echo "(JSON lines: $res)"
