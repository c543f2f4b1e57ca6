#!/usr/bin/env bash
# Benchmark: packets per second of `mpx-analyze --json` vs `tshark -T fields` with the MPTCP
# analysis on, and vs `tcpdump -nn -v -r`, on the same capture of >= 1 M packets made by an
# MPTCP bulk transfer through mpx-proxy in namespaces (tests/lib/netns.sh; MTU 600 and
# offloads off so every packet is a real one; tcpdump -s 128 -i any on the hag). The capture
# is kept under build/bench-analyze/ (not in git) and reused; BENCH_REBUILD=1 remakes it.
# Prints one line per tool and the ratios (goal: >= 20x tshark, >= 2x tcpdump).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=$ROOT/build/bench-analyze
PCAP=$OUT/bulk.pcap
NPKT=${BENCH_PKTS:-1100000}
mkdir -p "$OUT"
for c in tshark tcpdump jq; do command -v $c >/dev/null || { echo "bench analyze: $c not installed, skipped"; exit 0; }; done
[ -x "$ROOT/bin/mpx-analyze" ] || { echo "bench analyze: bin/mpx-analyze not built"; exit 1; }

mpx_ba_make_capture() {
  [ "$(id -u)" = 0 ] || { echo "bench analyze: making the capture needs root"; return 1; }
  # shellcheck source=/dev/null
  source "$ROOT/tests/lib.sh"; source "$ROOT/tests/lib/netns.sh"; source "$ROOT/tests/lib-proxy.sh"
  trap mpx_nt_down EXIT INT TERM
  mpx_nt_up bench
  local n ifc
  mpx_px_server
  mpx_px_start proxy --convert 5124
  # MTU below IPv6's 1280 drops the v6 addresses: set it after the agents bound them
  for n in client:dsl client:lte hag:dsl hag:lte hag:wan server:wan; do
    ifc=${n#*:}; n=${n%%:*}
    mpx_nt_exec "$n" ip link set "$ifc" mtu 600
    mpx_nt_exec "$n" ethtool -K "$ifc" tso off gso off gro off >/dev/null 2>&1 || true
  done
  rm -f "$PCAP.tmp"
  mpx_nt_bg hag "$MPX_NT_DIR/td.log" timeout 300 tcpdump --immediate-mode -n -s 128 -B 131072 -i any \
    -c "$NPKT" -w "$PCAP.tmp" tcp
  local td=$MPX_NT_LASTPID i
  for i in $(seq 1 100); do grep -q "listening on" "$MPX_NT_DIR/td.log" 2>/dev/null && break; sleep 0.05; done
  # ~1.2 M packets over the dsl+lte upstream subflows and the wan downstream
  for i in 1 2 3 4; do
    kill -0 "$td" 2>/dev/null || break
    mpx_px_client --signal convert --proxy "$MPX_NT_H_DSL4:5124" --target "$MPX_NT_S4:8080" \
      --workload "bulk-down 200MB" --timeout 120 --json /dev/null > /dev/null || true
  done
  kill -TERM "$td" 2>/dev/null || true
  wait "$td" 2>/dev/null || true
  cat "$MPX_NT_DIR/td.log" >&2
  mv "$PCAP.tmp" "$PCAP"
  mpx_nt_down || true
  trap - EXIT INT TERM
  return 0
}

if [ ! -s "$PCAP" ] || [ -n "${BENCH_REBUILD:-}" ]; then
  echo "bench analyze: making $PCAP (MPTCP bulk transfer through mpx-proxy, tcpdump -s 128)"
  mpx_ba_make_capture
fi
pkts=$(tcpdump -r "$PCAP" -nn 2>/dev/null | wc -l)
echo "capture: $PCAP, $pkts packets, $(du -h "$PCAP" | cut -f1)"

# best of N runs of a command (wall seconds), output discarded
mpx_ba_time() { # runs cmd...
  local runs=$1 best='' t0 t1 d; shift
  for ((i = 0; i < runs; i++)); do
    t0=$(date +%s.%N); "$@" > /dev/null 2>&1 || true; t1=$(date +%s.%N)
    d=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b-a}')
    if [ -z "$best" ] || awk -v d="$d" -v b="$best" 'BEGIN{exit !(d<b)}'; then best=$d; fi
  done
  echo "$best"
}

t_an=$(mpx_ba_time 3 "$ROOT/bin/mpx-analyze" --json "$PCAP")
t_td=$(mpx_ba_time 1 tcpdump -nn -v -r "$PCAP")
t_ts=$(mpx_ba_time 1 tshark -n -r "$PCAP" -o mptcp.analyze_mptcp:TRUE -o mptcp.relative_sequence_numbers:FALSE \
  -o tcp.analyze_sequence_numbers:TRUE -T fields -e frame.number -e tcp.stream -e tcp.options.mptcp.subtype \
  -e tcp.options.mptcp.sendkey -e tcp.options.mptcp.recvtok -e mptcp.stream -e tcp.options.tfo.cookie)
pps() { awk -v n="$pkts" -v t="$1" 'BEGIN{printf "%.0f", (t>0? n/t : 0)}'; }
printf '%-34s %8s s %12s pkt/s\n' "mpx-analyze --json" "$t_an" "$(pps "$t_an")"
printf '%-34s %8s s %12s pkt/s\n' "tcpdump -nn -v -r" "$t_td" "$(pps "$t_td")"
printf '%-34s %8s s %12s pkt/s\n' "tshark -T fields (MPTCP analysis)" "$t_ts" "$(pps "$t_ts")"
r_ts=$(awk -v a="$t_an" -v b="$t_ts" 'BEGIN{printf "%.1f", b/a}')
r_td=$(awk -v a="$t_an" -v b="$t_td" 'BEGIN{printf "%.1f", b/a}')
echo "ratio vs tshark:  ${r_ts}x (goal >= 20x)"
echo "ratio vs tcpdump: ${r_td}x (goal >= 2x)"
