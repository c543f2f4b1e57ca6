#!/usr/bin/env bash
# bench/linkem: mpx-linkem against a kernel bridge on the same path, printed as ratios with
# their method (bench/linkem/README.md states it in full).
#  1. forwarding: UDP 64- and 1514-byte frames, bursty (unpaced) and paced, through the same
#     namespaces and veth pairs (A -- L -- B) once bridged by the kernel in L, once forwarded
#     by mpx-linkem in L with its pcap off and on; REPS repetitions per side, interleaved
#  2. one-way delay error at delay=10ms (1000 probes/s), vs the bridged path's stack-only error
#  3. rate accuracy: TCP goodput and UDP frame rate at 20 Mbit/s, linkem vs tc tbf and htb
#  4. release lateness and one-way delay error as experiments run it (bench/linkem/lateness.sh)
# Markdown on stdout; JSON lines in build/bench/linkem/results.jsonl. Needs root.
#   bench/linkem/run.sh [--quick] [--reps N] [--fwd-only] [--cases REGEX] [--pin]
# --pin: section 1 on fixed CPUs, each forwarder with the placement that suits it: bridge:
# sender 0, receiver 1; mpx-linkem: sender and receiver 0, emulator 1
# --fwd-only: section 1 only; --cases: the traffic cases of section 1 whose name matches REGEX
# Exit: 0 done, 1 a tool missing or a setup failure, 77 not root.
set -euo pipefail
cd "$(dirname "$0")/../.."
MPX_ROOT=$(pwd)
export MPX_ROOT  # testlib.sh and the tools it starts find the tree through it
# shellcheck source=emu/linkem/testlib.sh
source emu/linkem/testlib.sh
[ "$(id -u)" = 0 ] || { echo "bench/linkem: needs root" >&2; exit 77; }
for b in mpx-linkem mpx-lkprobe; do [ -x "bin/$b" ] || { echo "bin/$b missing: make" >&2; exit 1; }; done
quick=0 reps=3 fwd_only=0 case_re=. pin=0 pin_s='' pin_r=''
while [ $# -gt 0 ]; do
  case $1 in
    --quick) quick=1; shift ;;
    --reps) reps=$2; shift 2 ;;
    --fwd-only) fwd_only=1; shift ;;
    --cases) case_re=$2; shift 2 ;;
    --pin) pin=1; shift ;;
    *) echo "usage: $0 [--quick] [--reps N] [--fwd-only] [--cases REGEX] [--pin]" >&2; exit 2 ;;
  esac
done
SECS=$([ $quick = 1 ] && echo 1 || echo 2)  # seconds of offered traffic per flood
resdir=build/bench/linkem; mkdir -p "$resdir"; res=$resdir/results.jsonl; : > "$res"
out=$(mktemp -d /tmp/mpx-lk-bench.XXXXXX)
trap 'lk_cleanup; rm -rf "$out"' EXIT INT TERM

cpu_of() { jq '(.cpu_user_s + .cpu_sys_s) / .elapsed_s * 100' "$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b == 0) print "n/a"; else printf "%.3f", a/b }'; }
emit() { echo "$1" >> "$res"; }
# mpx_lkb_stat FILE: "median [min-max]" of the numbers in FILE (one per line)
mpx_lkb_stat() { sort -g "$1" | awk '{v[NR]=$1} END{ if (!NR) { print "n/a"; exit }
  m = (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2; printf "%.0f [%.0f-%.0f]", m, v[1], v[NR] }'; }
mpx_lkb_median() { sort -g "$1" | awk '{v[NR]=$1} END{ if (!NR) { print 0; exit }
  print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2 }'; }

lk_mkpair e
L=$(lk_ns e-l)
# the peer: a kernel bridge joining the same two veth ends in the same namespace (the hop
# count of the emulated path: two veth pairs and one forwarding element)
mpx_lkb_bridge() {
  if [ "$1" = on ]; then
    ip -n "$L" link add br0 type bridge
    ip -n "$L" link set la master br0; ip -n "$L" link set lb master br0
    ip -n "$L" link set br0 up
  else
    ip -n "$L" link set la nomaster; ip -n "$L" link set lb nomaster
    ip -n "$L" link del br0
  fi
}

echo "# mpx-linkem benchmark ($(date -u +%FT%TZ), $(nproc) cores, kernel $(uname -r), $reps repetitions per side)"
echo

# ---- 1. forwarding
# mpx_lkb_flood SIZE COUNT OUT [send args]: one A->B flood, receiver JSON in OUT, sender's in OUT.send
mpx_lkb_flood() {
  local size=$1 count=$2 of=$3 port=$((9000 + RANDOM % 1000)) rp; shift 3
  local tr=() ts=()  # --pin: the receiver's and the sender's CPU
  [ -z "$pin_r" ] || tr=(taskset -c "$pin_r")
  [ -z "$pin_s" ] || ts=(taskset -c "$pin_s")
  lk_exec e-b "${tr[@]}" timeout 60 "$LK_PROBE" recv --bind "$LK_B_IP:$port" --idle-ms 300 > "$of" &
  rp=$!
  for _ in $(seq 1 100); do lk_exec e-b ss -Hlun "sport = :$port" | grep -q . && break; sleep 0.02; done
  lk_exec e-a "${ts[@]}" timeout 60 "$LK_PROBE" send --dst "$LK_B_IP:$port" --count "$count" --size "$size" "$@" 2> "$of.send"
  wait "$rp"
}
# traffic cases: name, UDP payload (64- and 1514-byte Ethernet frames incl. FCS/none), count, sender args
cases=("64B-bursty 18 $((200000 * SECS)) --batch 64"
       "64B-paced200k 18 $((200000 * SECS)) --pps 200000 --burst 16"
       "1514B-bursty 1472 $((100000 * SECS)) --batch 64"
       "1514B-paced100k 1472 $((100000 * SECS)) --pps 100000 --burst 8")
sel=()
for c in "${cases[@]}"; do [[ ${c%% *} =~ $case_re ]] && sel+=("$c"); done
[ ${#sel[@]} -gt 0 ] || { echo "bench/linkem: no traffic case matches $case_re" >&2; exit 2; }
cases=("${sel[@]}")
fwds=(bridge linkem-nopcap linkem-pcap)
# LKB_BASE_BIN=FILE: also runs that mpx-linkem binary (e.g. the previous build) as base-nopcap and
# base-pcap, interleaved with the others: before and after in the same minutes
[ -z "${LKB_BASE_BIN:-}" ] || fwds+=(base-nopcap base-pcap)
lk_exec e-a ping -c1 -W1 -q "$LK_B_IP" >/dev/null 2>&1 || true
# host state when section 1 starts (it ends with the same): load average, CPU pressure
mpx_lkb_psi() { sed -n 's/^some .*avg60=\([0-9.]*\).*/\1/p' /proc/pressure/cpu 2>/dev/null || echo n/a; }
load0=$(cut -d' ' -f1-3 /proc/loadavg) psi0=$(mpx_lkb_psi)
for r in $(seq 1 "$reps"); do
  for c in "${cases[@]}"; do
    read -r cn size count sargs <<< "$c"
    for f in "${fwds[@]}"; do
      tag=$out/$cn.$f.$r
      case $f in
        bridge) mpx_lkb_bridge on; lk_warm e ;;
        linkem-nopcap) lk_start e "$out" "delay=0ms" "delay=0ms"; lk_warm e ;;
        linkem-pcap) lk_start e "$out" "delay=0ms" "delay=0ms" --pcap "$out/f.pcap"; lk_warm e ;;
        base-nopcap) LK_BIN=$LKB_BASE_BIN lk_start e "$out" "delay=0ms" "delay=0ms"; lk_warm e ;;
        base-pcap) LK_BIN=$LKB_BASE_BIN lk_start e "$out" "delay=0ms" "delay=0ms" --pcap "$out/f.pcap"; lk_warm e ;;
      esac
      # --pin: each forwarder with the placement that suits it (bench/linkem/README.md)
      pin_s='' pin_r=''
      if [ $pin = 1 ]; then
        if [ "$f" = bridge ]; then pin_s=0 pin_r=1; else pin_s=0 pin_r=0; taskset -pc 1 "$LK_PID" > /dev/null; fi
      fi
      # shellcheck disable=SC2086 # sargs: the case's sender options
      mpx_lkb_flood "$size" "$count" "$tag" $sargs
      if [ "$f" = bridge ]; then mpx_lkb_bridge off; else lk_stop "$LK_PID" || true; cp "$out/stats.json" "$tag.stats"; fi
      rm -f "$out/f.pcap"
      jq -r .pps "$tag" >> "$out/$cn.$f.pps"
      jq -r --argjson n "$count" '(1 - .received / $n) * 100' "$tag" >> "$out/$cn.$f.loss"
      jq -r .pps "$tag.send" >> "$out/$cn.$f.spps"
      if [ -f "$tag.stats" ]; then
        jq -r '(.cpu_user_s + .cpu_sys_s) / ([.ab.pkts_out, 1] | max) * 1e6' "$tag.stats" >> "$out/$cn.$f.cpu"
        jq -r '(.pcap_dropped // 0) + .ab.kernel_drops + .ab.send_fail' "$tag.stats" >> "$out/$cn.$f.edrop"
      fi
      emit "$(jq -c --arg c "$cn" --arg f "$f" --argjson r "$r" --slurpfile s "$tag.send" \
        '{bench: "fwd", case: $c, fwd: $f, rep: $r, rx_pps: .pps, received, sent: $s[0].sent, tx_pps: $s[0].pps}' "$tag")"
    done
  done
done
echo "## 1. Forwarding rate, UDP A->B through two veth pairs and one forwarder"
echo
echo "Delivered = frames/s at the receiver (first to last), median [min-max] of $reps runs per cell,"
echo "runs interleaved (rep 1 of every cell, then rep 2, ...). Loss = 1 - received/sent. CPU per"
echo "frame = the emulator's user+sys time / frames it forwarded. Emulator drops = pcap_dropped +"
echo "kernel_drops + send_fail from its stats. pcap: auto snap length (the default)."
[ $pin = 0 ] || echo "Placement (--pin): bridge: sender on CPU 0, receiver on CPU 1; mpx-linkem: sender and receiver on CPU 0, emulator on CPU 1."
echo
echo "| traffic | forwarder | sender kpps | delivered kpps | loss % | emulator CPU us/frame | emulator drops |"
echo "|---|---|---|---|---|---|---|"
k() { awk '{printf "%.1f\n", $1 / 1000}' "$1" > "$1.k"; mpx_lkb_stat "$1.k"; }
for c in "${cases[@]}"; do
  read -r cn _ <<< "$c"
  for f in "${fwds[@]}"; do
    p=$out/$cn.$f
    cpu=-; [ -f "$p.cpu" ] && cpu=$(sort -g "$p.cpu" | awk '{v[NR]=$1} END{printf "%.2f [%.2f-%.2f]", v[int((NR+1)/2)], v[1], v[NR]}')
    ed=-; [ -f "$p.edrop" ] && ed=$(awk '{s+=$1} END{print s}' "$p.edrop")
    echo "| $cn | $f | $(k "$p.spps") | $(k "$p.pps") | $(sort -g "$p.loss" | awk '{v[NR]=$1} END{printf "%.2f [%.2f-%.2f]", v[int((NR+1)/2)], v[1], v[NR]}') | $cpu | $ed |"
  done
done
echo
echo "Ratios (method: median delivered pps of the linkem cell / median of the bridge cell, same"
echo "traffic, same namespaces, $reps interleaved runs each; in brackets min-max of the per-repetition"
echo "ratios, each linkem run / the bridge run of the same repetition):"
echo
for c in "${cases[@]}"; do
  read -r cn _ <<< "$c"
  b=$(mpx_lkb_median "$out/$cn.bridge.pps")
  for f in "${fwds[@]:1}"; do
    m=$(mpx_lkb_median "$out/$cn.$f.pps")
    pr=$(paste "$out/$cn.$f.pps" "$out/$cn.bridge.pps" | awk '$2 > 0 {print $1 / $2}' | sort -g |
      awk '{v[NR]=$1} END{ if (NR) printf "%.3f-%.3f", v[1], v[NR]; else print "n/a" }')
    echo "- $cn, $f / bridge: **$(ratio "$m" "$b")** [$pr] ($(printf %.0f "$m") / $(printf %.0f "$b") pps)"
    emit "{\"bench\":\"fwd_ratio\",\"case\":\"$cn\",\"fwd\":\"$f\",\"median_pps\":$m,\"bridge_median_pps\":$b,\"ratio\":$(ratio "$m" "$b")}"
  done
done
echo
# the goal of 200 kpps at 64-byte frames, per forwarder: runs that reached it
for c in "${cases[@]}"; do
  read -r cn _ <<< "$c"
  case $cn in 64B-*) ;; *) continue ;; esac
  for f in "${fwds[@]}"; do
    echo "- $cn, $f: $(awk '$1 >= 200000 {k++} END{printf "%d of %d", k, NR}' "$out/$cn.$f.pps") runs delivered >= 200 kpps"
  done
done
echo
echo "Host during section 1: load average $load0 -> $(cut -d' ' -f1-3 /proc/loadavg); CPU pressure (PSI some avg60) $psi0 -> $(mpx_lkb_psi) %"
echo
[ $fwd_only = 0 ] || { echo "(JSON lines: $res)"; exit 0; }

# ---- 2. delay error at 10 ms
DN=$([ $quick = 1 ] && echo 2000 || echo 5000)
mpx_lkb_bridge on; lk_warm e
LK_PROBE_SIZE=100 lk_probe e "$out/dd" "$DN" 1000 --delay-us 0
mpx_lkb_bridge off
lk_start e "$out" "delay=10ms" "delay=10ms" --pcap "$out/de.pcap"
lk_warm e
LK_PROBE_SIZE=100 lk_probe e "$out/de" "$DN" 1000 --delay-us 10000
rtt=$(lk_exec e-a ping -c 200 -i 0.01 -q "$LK_B_IP" | sed -n 's|.*= [0-9.]*/\([0-9.]*\)/.*|\1|p')
lk_stop "$LK_PID" || true
cp "$out/stats.json" "$out/de.stats"
"$LK_PROBE" pcap "$out/de.pcap" --delay-us 10000 > "$out/dp"
echo "## 2. One-way delay error at delay=10ms ($DN probes at 1000/s, one run)"
echo
echo "| path | p50 us | p99 us | p99.9 us | max us | emulator CPU % |"
echo "|---|---|---|---|---|---|"
echo "| kernel bridge (stack only, error vs 0) | $(jq -r '.owd_us|[.p50,.p99,.p999,.max]|map(tostring)|join(" | ")' "$out/dd") | - |"
echo "| mpx-linkem, receiver (measured - 10 ms) | $(jq -r '.owd_us|[.p50,.p99,.p999,.max]|map(tostring)|join(" | ")' "$out/de") | $(printf %.1f "$(cpu_of "$out/de.stats")") |"
echo "| mpx-linkem, its pcap stamp (us resolution) - sender - 10 ms | $(jq -r '.owd_us|[.p50,.p99,.p999,.max]|map(tostring)|join(" | ")' "$out/dp") | |"
echo
echo "Emulator's own release lateness (stats late_us, ab): $(jq -c .ab.late_us "$out/de.stats"); host steal during the run: $(jq .diag.host_steal_pct "$out/de.stats") %; ping RTT mean over 10+10 ms: $rtt ms (error $(awk -v r="$rtt" 'BEGIN{printf "%.3f", r-20}') ms)"
echo
emit "{\"bench\":\"delay\",\"bridge_owd_us\":$(jq -c .owd_us "$out/dd"),\"linkem_err_us\":$(jq -c .owd_us "$out/de"),\"linkem_pcap_err_us\":$(jq -c .owd_us "$out/dp"),\"ping_rtt_ms\":${rtt:-0},\"linkem_cpu_pct\":$(cpu_of "$out/de.stats")}"

# ---- 3. rate accuracy at 20 Mbit/s: TCP goodput and UDP frame rate (tc on the bridged path)
T=$([ $quick = 1 ] && echo 3 || echo 6)
iperf() { # -> goodput Mbit/s
  local srv
  lk_exec e-b timeout 60 iperf3 -s -1 -B "$LK_B_IP" >/dev/null 2>&1 &
  srv=$!
  for _ in $(seq 1 100); do lk_exec e-b ss -Hltn "sport = :5201" | grep -q . && break; sleep 0.02; done
  lk_exec e-a timeout 60 iperf3 -c "$LK_B_IP" -t "$T" -J > "$out/ip.json" 2>/dev/null || true
  wait "$srv" 2>/dev/null || true
  jq '.end.sum_received.bits_per_second / 1e6' "$out/ip.json" 2>/dev/null || echo 0
}
udp_rate() { # -> delivered frame rate in Mbit/s (1042-byte frames, offered 30 Mbit/s)
  LK_PROBE_SIZE=1000 lk_probe e "$out/u" 4000 3600 --idle-ms 300 >/dev/null
  jq '.pps * 1042 * 8 / 1e6' "$out/u"
}
tcset() { # shaper on the bridged path: A's egress
  local a; a=$(lk_ns e-a)
  tc -n "$a" qdisc del dev eth0 root 2>/dev/null || true
  case $1 in
    tbf) tc -n "$a" qdisc add dev eth0 root tbf rate 20mbit burst 16kb latency 50ms ;;
    htb) tc -n "$a" qdisc add dev eth0 root handle 1: htb default 10
         tc -n "$a" class add dev eth0 parent 1: classid 1:10 htb rate 20mbit ceil 20mbit quantum 1514 ;;
  esac
}
lk_start e "$out" "rate=20mbit queue=100p" "rate=20mbit queue=100p"
lk_warm e
g_lk=$(iperf); u_lk=$(udp_rate)
lk_stop "$LK_PID" || true
cpu_r=$(cpu_of "$out/stats.json")
mpx_lkb_bridge on; lk_warm e
tcset tbf; g_tbf=$(iperf); u_tbf=$(udp_rate)
tcset htb; g_htb=$(iperf); u_htb=$(udp_rate)
tcset none; mpx_lkb_bridge off
# expected: TCP payload share of a 1514-byte frame (1448/1514); UDP: frame rate exactly 20
exp_tcp=$(awk 'BEGIN{printf "%.3f", 20*1448/1514}')
echo "## 3. Rate accuracy at 20 Mbit/s (TCP ${T}s goodput; UDP 1042-byte frames offered at 30 Mbit/s; one run each)"
echo
echo "| shaper | TCP goodput Mbit/s | TCP / ideal $exp_tcp | UDP frame rate Mbit/s | UDP / 20 |"
echo "|---|---|---|---|---|"
for s in lk tbf htb; do
  g=g_$s u=u_$s; name=$([ $s = lk ] && echo "mpx-linkem rate=20mbit queue=100p" || echo "tc $s, bridged path")
  printf '| %s | %.2f | %s | %.2f | %s |\n' "$name" "${!g}" "$(ratio "${!g}" "$exp_tcp")" "${!u}" "$(ratio "${!u}" 20)"
done
echo
echo "**ratio of accuracy linkem vs tbf (TCP): $(ratio "$(ratio "$g_lk" "$exp_tcp")" "$(ratio "$g_tbf" "$exp_tcp")"), vs htb: $(ratio "$(ratio "$g_lk" "$exp_tcp")" "$(ratio "$g_htb" "$exp_tcp")")** (method: each goodput / the ideal, then linkem's / the peer's); emulator CPU $(printf %.1f "$cpu_r") % at 20 Mbit/s"
echo
emit "{\"bench\":\"rate\",\"tcp_mbit\":{\"linkem\":$g_lk,\"tbf\":$g_tbf,\"htb\":$g_htb},\"udp_mbit\":{\"linkem\":$u_lk,\"tbf\":$u_tbf,\"htb\":$u_htb},\"linkem_cpu_pct\":$cpu_r}"

# ---- 4. as experiments run it: pcap on, a DSL-like link, probes + ping + a TCP flow
LS=$([ $quick = 1 ] && echo 4 || echo 8)
# each run twice, interleaved: CPUs allowed to halt when idle (off) and kept awake by
# bin/mpx-awake as `mpxlab run` does (on)
for r in $(seq 1 "$reps"); do
  for a in off on; do bench/linkem/lateness.sh --secs "$LS" --awake "$a" > "$out/late.$a.$r" || true; done
done
echo "## 4. Release lateness and one-way delay error as experiments run it ($reps runs of ${LS} s)"
echo
echo "pcap on (auto snap), ab rate=20mbit delay=10ms, ba rate=2mbit delay=10ms; UDP probes A->B"
echo "2000/s, ping B->A every 10 ms, a 1 Mbit/s TCP flow B->A (bench/linkem/lateness.sh). Error ="
echo "receiver's kernel stamp - sender's stamp - 10 ms - the frame's serialization (56.8 us)."
echo
echo "| run | CPUs kept awake | host steal % | lateness ab p50/p99/max us | lateness ba p99 us | owd error p50/p99/max us | late >50 us by cause (woke late / busy / in batch) |"
echo "|---|---|---|---|---|---|---|"
for r in $(seq 1 "$reps"); do
  for a in off on; do
    f=$out/late.$a.$r
    [ -s "$f" ] || { echo "| $r | $a | failed | | | | |"; continue; }
    jq -r --arg r "$r" --arg a "$a" '"| \($r) | \($a) | \(.steal_pct) | \(.late_us.ab.p50)/\(.late_us.ab.p99)/\(.late_us.ab.max) | \(.late_us.ba.p99) | \(.owd_err_us.p50)/\(.owd_err_us.p99)/\(.owd_err_us.max) | \(.diag.late_gt50us.woke_late) / \(.diag.late_gt50us.busy) / \(.diag.late_gt50us.in_batch) |"' "$f"
    emit "$(jq -c '{bench: "lateness"} + .' "$f")"
    jq -r '[.late_us.ab.p99, .late_us.ba.p99] | max' "$f" >> "$out/late-p99.$a"
  done
done
echo
if [ -s "$out/late-p99.off" ] && [ -s "$out/late-p99.on" ]; then
  m_off=$(mpx_lkb_median "$out/late-p99.off") m_on=$(mpx_lkb_median "$out/late-p99.on")
  echo "Worse direction's p99, median of the runs: CPUs allowed to halt $m_off us, kept awake $m_on us; ratio halt / awake $(ratio "$m_off" "$m_on")."
  echo
fi
echo "(JSON lines: $res)"
