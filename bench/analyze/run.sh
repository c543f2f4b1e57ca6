#!/usr/bin/env bash
# Benchmark of mpx-analyze against tcpdump and tshark, each pair doing the same work:
#  - per-packet text: `mpx-analyze --packets` (one JSON line per segment with every option
#    decoded) vs `tcpdump -v -nn -r` (one text block per packet, options decoded) vs
#    `tshark -n -V -r` (full per-packet dissection) and `tshark -n -T fields` (TCP/MPTCP option
#    fields, one line per packet);
#  - connection summary: `mpx-analyze --json` (one line per connection, joins across the
#    captures) vs `tshark -n -q -z conv,tcp -r` (one line per TCP conversation);
# on four captures: few connections (an MPTCP bulk transfer through mpx-proxy, tcpdump -i any
# on the hag: Linux cooked; and the same packets as Ethernet frames) and many connections
# (mpx-pcapgen copies of the recorded experiment captures real-{dsl,lte,wan} plus mpx-mkpcap's
# implicit-interception pair, ~17 packets per connection: Ethernet and cooked).
# Every side runs the same number of times (BENCH_REPS, default 3), interleaved round by
# round; each cell is the median with the range (min-max); ratios are of CPU-second medians
# (user + sys: the machine's 2 CPUs are shared, wall time also shows waiting), their range
# from the extremes. The peers read a multi-file set merged into one file (mergecap), so every
# tool starts once and reads the same packets (mpx-analyze reads the files themselves, to join
# across them); tshark's start (~2 s of CPU loading dissectors) is in its times. Then the scaling curve of mpx-analyze --json from 100k to 5M packets
# (BENCH_SCALE) next to one run of tcpdump -v and tshark conv,tcp on the same files (tshark
# only up to BENCH_TSHARK_MAX packets; every peer run capped by BENCH_PEER_TIMEOUT seconds),
# written as a table, a data file and a gnuplot PNG.
# Captures are kept in build/bench-analyze/ (BENCH_REBUILD=1 remakes them); results in
# $MPX_BENCH_OUT (default results/bench-analyze-<time>/). BENCH_PAIRS=0 or BENCH_SCALE="" skip a
# part. Exit 0 (a missing peer says n/a).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
export MPX_ROOT=$ROOT
CAP=$ROOT/build/bench-analyze
OUT=${MPX_BENCH_OUT:-$ROOT/results/bench-analyze-$(date -u +%Y%m%dT%H%M%S)}
REPS=${BENCH_REPS:-3}
BULK_PKTS=${BENCH_PKTS:-300000}
MANY_PKTS=${BENCH_MANY_PKTS:-200000}
SCALE=${BENCH_SCALE-100000 200000 500000 1000000 2000000 5000000}   # set but empty: no curve
PEER_TIMEOUT=${BENCH_PEER_TIMEOUT:-900}
TSHARK_MAX=${BENCH_TSHARK_MAX:-1000000}
A=$ROOT/bin/mpx-analyze
G=$ROOT/bin/mpx-pcapgen
mkdir -p "$CAP" "$OUT"
RAW=$OUT/raw.jsonl
: > "$RAW"
for b in mpx-analyze mpx-pcapgen mpx-mkpcap; do
  [ -x "$ROOT/bin/$b" ] || { echo "bench analyze: bin/$b not built"; exit 1; }
done
for c in jq awk mergecap; do command -v $c >/dev/null || { echo "bench analyze: $c not installed"; exit 1; }; done
HAVE_TD=0 HAVE_TS=0 HAVE_GP=0
command -v tcpdump >/dev/null && HAVE_TD=1
command -v tshark >/dev/null && HAVE_TS=1
command -v gnuplot >/dev/null && HAVE_GP=1
[ -x /usr/bin/time ] || { echo "bench analyze: /usr/bin/time (GNU time) not installed"; exit 1; }

# ---- captures -------------------------------------------------------------------------------
mpx_ba_make_bulk() { # the few-connection capture: MPTCP bulk transfer through mpx-proxy
  [ "$(id -u)" = 0 ] || { echo "bench analyze: making the bulk capture needs root"; return 1; }
  # shellcheck source=/dev/null
  source "$ROOT/tests/lib.sh"; source "$ROOT/tests/lib/netns.sh"; source "$ROOT/tests/lib-proxy.sh"
  trap mpx_nt_down EXIT INT TERM
  mpx_nt_up bench >/dev/null
  # a process in every namespace of the run: tests/run.sh's leak sweep deletes new mpx-*
  # namespaces without processes (a test run of someone else's started meanwhile)
  local ns
  for ns in $(ip netns list | awk -v p="mpx-$MPX_NT_RUN-" 'index($1, p) == 1 {print $1}'); do
    ip netns exec "$ns" sleep 1200 > /dev/null 2>&1 &
    MPX_NT_PIDS+=("$!")
  done
  local n ifc td
  mpx_px_server
  mpx_px_start proxy --convert 5124
  # MTU below IPv6's 1280 drops the v6 addresses: set it after the agents bound them
  for n in client:dsl client:lte hag:dsl hag:lte hag:wan server:wan; do
    ifc=${n#*:}; n=${n%%:*}
    mpx_nt_exec "$n" ip link set "$ifc" mtu 600
    mpx_nt_exec "$n" ethtool -K "$ifc" tso off gso off gro off >/dev/null 2>&1 || true
  done
  rm -f "$CAP/bulk-sll.pcap.tmp"
  mpx_nt_bg hag "$MPX_NT_DIR/td.log" timeout 300 tcpdump --immediate-mode -n -s 128 -B 131072 -i any \
    -c "$BULK_PKTS" -w "$CAP/bulk-sll.pcap.tmp" tcp
  td=$MPX_NT_LASTPID
  for _ in $(seq 1 100); do grep -q "listening on" "$MPX_NT_DIR/td.log" 2>/dev/null && break; sleep 0.05; done
  for _ in 1 2 3 4; do
    kill -0 "$td" 2>/dev/null || break
    mpx_px_client --signal convert --proxy "$MPX_NT_H_DSL4:5124" --target "$MPX_NT_S4:8080" \
      --workload "bulk-down 200MB" --timeout 120 --json /dev/null > /dev/null || true
  done
  kill -TERM "$td" 2>/dev/null || true
  wait "$td" 2>/dev/null || true
  mv "$CAP/bulk-sll.pcap.tmp" "$CAP/bulk-sll.pcap"
  mpx_nt_down || true
  trap - EXIT INT TERM
}
if [ ! -s "$CAP/bulk-sll.pcap" ] || [ -n "${BENCH_REBUILD:-}" ]; then
  echo "bench analyze: making the few-connection capture ($BULK_PKTS packets, tcpdump -i any -s 128)"
  mpx_ba_make_bulk
fi
[ -s "$CAP/bulk-eth.pcap" ] && [ -z "${BENCH_REBUILD:-}" ] ||
  "$G" --linktype en10mb "$CAP/bulk-sll.pcap" "$CAP/bulk-eth.pcap" 2>/dev/null
"$ROOT/bin/mpx-mkpcap" implicit-dsl "$CAP/implicit-dsl.pcap"
"$ROOT/bin/mpx-mkpcap" implicit-wan "$CAP/implicit-wan.pcap"
D=$ROOT/tests/data/pcap
mpx_ba_many() { # PACKETS PREFIX [--linktype sll]: the experiment set replicated to PACKETS
  local n=$1 p=$2; shift 2
  [ -s "$p-wan.pcap" ] && [ -z "${BENCH_REBUILD:-}" ] && return 0
  "$G" --packets "$n" "$@" "$D/real-dsl.pcap" "$p-dsl.pcap" "$D/real-lte.pcap" "$p-lte.pcap" \
    "$D/real-wan.pcap" "$p-wan.pcap" "$CAP/implicit-dsl.pcap" "$p-idsl.pcap" \
    "$CAP/implicit-wan.pcap" "$p-iwan.pcap" 2>/dev/null
}
mpx_ba_set() { # PREFIX: the files of a generated set, in the analyzer's order
  echo "$1-dsl.pcap $1-lte.pcap $1-wan.pcap $1-idsl.pcap $1-iwan.pcap"
}
# mpx_ba_peerfile FILES...: the one file the peers read (tcpdump and tshark take one capture):
# a set is merged in time order by mergecap, so every tool starts once and reads the same packets
mpx_ba_peerfile() {
  [ $# = 1 ] && { echo "$1"; return; }
  local m=${1%-dsl.pcap}-merged.pcap
  if [ ! -s "$m" ] || [ "$1" -nt "$m" ]; then mergecap -F pcap -w "$m" "$@"; fi
  echo "$m"
}
mpx_ba_many "$MANY_PKTS" "$CAP/many-$MANY_PKTS-eth"
mpx_ba_many "$MANY_PKTS" "$CAP/many-$MANY_PKTS-sll" --linktype sll

# ---- measuring ------------------------------------------------------------------------------
# mpx_ba_run CAPTURE TOOL CMD...: one timed run (stdout discarded) -> "wall cpu rss_mb" or
# "timeout"; appended to raw.jsonl
mpx_ba_run() {
  local cap=$1 tool=$2 rc=0 w u s m st=ok; shift 2
  timeout "$PEER_TIMEOUT" /usr/bin/time -f '%e %U %S %M' -o "$OUT/.time" "$@" > /dev/null 2> "$OUT/.err" || rc=$?
  # mpx-analyze exits 1 when it found violations: still a complete run
  if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then st=timeout; fi
  if [ $st = ok ] && [ "$rc" -gt 1 ]; then st=error; fi
  if [ $st = ok ]; then
    read -r w u s m < <(tail -1 "$OUT/.time")
    echo "{\"capture\":\"$cap\",\"tool\":\"$tool\",\"status\":\"ok\",\"wall_s\":$w,\"cpu_s\":$(awk -v a="$u" -v b="$s" 'BEGIN{printf "%.2f", a+b}'),\"rss_mb\":$(awk -v k="$m" 'BEGIN{printf "%.1f", k/1024}')}" >> "$RAW"
    awk -v w="$w" -v a="$u" -v b="$s" -v k="$m" 'BEGIN{printf "%.2f %.2f %.1f\n", w, a+b, k/1024}'
  else
    echo "{\"capture\":\"$cap\",\"tool\":\"$tool\",\"status\":\"$st\",\"rc\":$rc}" >> "$RAW"
    echo "$st"
  fi
}
# mpx_ba_stat CAPTURE TOOL FIELD: "median (min-max)" of the ok runs
mpx_ba_stat() {
  jq -rs --arg c "$1" --arg t "$2" --arg f "$3" '
    [.[] | select(.capture == $c and .tool == $t and .status == "ok") | .[$f]] | sort
    | if length == 0 then "n/a" else
        (if length % 2 == 1 then .[length / 2 | floor] else (.[length / 2 - 1] + .[length / 2]) / 2 end) as $m
        | "\($m * 100 | round / 100) (\(.[0] * 100 | round / 100)-\(.[-1] * 100 | round / 100))" end' "$RAW"
}
# mpx_ba_ratio CAPTURE PEER MPX: "median-ratio (lo-hi)" of CPU seconds, peer / mpx
mpx_ba_ratio() {
  jq -rs --arg c "$1" --arg p "$2" --arg m "$3" '
    def med: sort | if length % 2 == 1 then .[length / 2 | floor] else (.[length / 2 - 1] + .[length / 2]) / 2 end;
    [.[] | select(.capture == $c and .tool == $p and .status == "ok") | .cpu_s] as $P
    | [.[] | select(.capture == $c and .tool == $m and .status == "ok") | .cpu_s] as $M
    | if ($P | length) == 0 or ($M | length) == 0 or ($M | min) <= 0 then "n/a" else
        "\(($P | med) / ($M | med) * 10 | round / 10)x (\(($P | min) / ($M | max) * 10 | round / 10)-\(($P | max) / ($M | min) * 10 | round / 10))" end' "$RAW"
}
mpx_ba_pkts() { # files...: TCP segments as mpx-analyze counts them
  { "$A" --json "$@" 2>/dev/null || true; } | jq -r 'select(.type == "summary") | "\(.tcp_pkts) \(.connections)"'
}

TS_FIELDS=(-e frame.number -e ip.src -e ipv6.src -e tcp.srcport -e ip.dst -e ipv6.dst -e tcp.dstport
           -e tcp.flags.str -e tcp.options.mss_val -e tcp.options.wscale.shift -e tcp.options.sack_perm
           -e tcp.options.timestamp.tsval -e tcp.options.mptcp.subtype -e tcp.options.mptcp.sendkey
           -e tcp.options.mptcp.recvkey -e tcp.options.mptcp.recvtok -e tcp.options.mptcp.rawdataseqno
           -e tcp.options.mptcp.rawdataack -e tcp.options.tfo.cookie)

# ---- pairs on the four captures ---------------------------------------------------------------
declare -A SETS=(
  [few-cooked]="$CAP/bulk-sll.pcap"
  [few-ethernet]="$CAP/bulk-eth.pcap"
  [many-ethernet]="$(mpx_ba_set "$CAP/many-$MANY_PKTS-eth")"
  [many-cooked]="$(mpx_ba_set "$CAP/many-$MANY_PKTS-sll")"
)
ORDER=(few-ethernet few-cooked many-ethernet many-cooked)
[ "${BENCH_PAIRS:-1}" = 1 ] || ORDER=()   # BENCH_PAIRS=0: the scaling curve only
{
echo "## mpx-analyze vs tcpdump / tshark ($(uname -r), $(nproc) CPUs, $(date -u +%FT%TZ))"
echo
echo "$REPS runs of every command, interleaved; cells: median (min-max); ratios: peer CPU s / mpx-analyze CPU s,"
echo "median (range from the extremes). tcpdump $(tcpdump --version 2>/dev/null | head -1 | awk '{print $3}'), tshark $(tshark -v 2>/dev/null | head -1 | awk '{print $3}')."
echo
} | tee "$OUT/analyze.md"
for cap in "${ORDER[@]}"; do
  read -r -a files <<< "${SETS[$cap]}"
  read -r pk cn < <(mpx_ba_pkts "${files[@]}")
  pf=$(mpx_ba_peerfile "${files[@]}")
  echo "bench analyze: $cap: ${#files[@]} file(s), $pk TCP segments, $cn connections" >&2
  for ((r = 1; r <= REPS; r++)); do
    mpx_ba_run "$cap" mpx-packets "$A" --packets "${files[@]}" > /dev/null
    mpx_ba_run "$cap" mpx-json "$A" --json "${files[@]}" > /dev/null
    if [ $HAVE_TD = 1 ]; then
      mpx_ba_run "$cap" tcpdump-v tcpdump -v -nn -r "$pf" > /dev/null
    fi
    if [ $HAVE_TS = 1 ]; then
      mpx_ba_run "$cap" tshark-V tshark -n -V -r "$pf" > /dev/null
      mpx_ba_run "$cap" tshark-fields tshark -n -r "$pf" -T fields "${TS_FIELDS[@]}" > /dev/null
      mpx_ba_run "$cap" tshark-conv tshark -n -q -z conv,tcp -r "$pf" > /dev/null
    fi
  done
  {
  echo "### $cap: ${#files[@]} file(s), $pk TCP segments, $cn connections"
  echo
  echo "| command | wall s | CPU s | max RSS MB | ratio (CPU) |"
  echo "|---|---|---|---|---|"
  for t in mpx-packets tcpdump-v tshark-V tshark-fields mpx-json tshark-conv; do
    case $t in
      tcpdump-v|tshark-V|tshark-fields) rt=$(mpx_ba_ratio "$cap" "$t" mpx-packets); rt="$rt vs --packets" ;;
      tshark-conv) rt=$(mpx_ba_ratio "$cap" "$t" mpx-json); rt="$rt vs --json" ;;
      *) rt="1" ;;
    esac
    case $t in
      mpx-packets) lbl='`mpx-analyze --packets`' ;; tcpdump-v) lbl='`tcpdump -v -nn -r`' ;;
      tshark-V) lbl='`tshark -n -V -r`' ;; tshark-fields) lbl='`tshark -n -T fields` (19 TCP/MPTCP fields)' ;;
      mpx-json) lbl='`mpx-analyze --json`' ;; tshark-conv) lbl='`tshark -n -q -z conv,tcp`' ;;
    esac
    echo "| $lbl | $(mpx_ba_stat "$cap" "$t" wall_s) | $(mpx_ba_stat "$cap" "$t" cpu_s) | $(mpx_ba_stat "$cap" "$t" rss_mb) | $rt |"
  done
  echo
  } | tee -a "$OUT/analyze.md"
done

if [ -n "${SCALE// /}" ]; then
# ---- scaling curve ------------------------------------------------------------------------------
DAT=$OUT/analyze-scaling.dat
echo "# packets connections mpx_wall_s mpx_cpu_s mpx_us_per_pkt mpx_rss_mb tcpdump_wall_s tcpdump_cpu_s tshark_conv_wall_s tshark_conv_cpu_s" > "$DAT"
{
echo "### scaling: mpx-analyze --json on mpx-pcapgen copies of the experiment set (Ethernet)"
echo
echo "mpx-analyze: median of $REPS runs; tcpdump -v -nn and tshark -q -z conv,tcp: one run each (timeout ${PEER_TIMEOUT} s; tshark up to $TSHARK_MAX packets)."
echo
echo "| packets | connections | mpx s (wall) | mpx CPU s | µs/packet (CPU) | mpx max RSS MB | KB/connection | tcpdump -v CPU s | tshark conv,tcp CPU s |"
echo "|---|---|---|---|---|---|---|---|---|"
} | tee -a "$OUT/analyze.md"
for n in $SCALE; do
  p=$CAP/scale-$n
  mpx_ba_many "$n" "$p"
  read -r -a files <<< "$(mpx_ba_set "$p")"
  read -r pk cn < <(mpx_ba_pkts "${files[@]}")
  pf=$(mpx_ba_peerfile "${files[@]}")
  cap=scale-$n
  for ((r = 1; r <= REPS; r++)); do mpx_ba_run "$cap" mpx-json "$A" --json "${files[@]}" > /dev/null; done
  tdc=n/a tsc=n/a tdw=nan tdcv=nan tsw=nan tscv=nan
  if [ $HAVE_TD = 1 ]; then
    res=$(mpx_ba_run "$cap" tcpdump-v tcpdump -v -nn -r "$pf")
    if [[ $res =~ ^[0-9] ]]; then read -r tdw tdcv _ <<< "$res"; tdc=$tdcv; else tdc="$res (${PEER_TIMEOUT} s)"; fi
  fi
  if [ $HAVE_TS = 1 ] && [ "$n" -le "$TSHARK_MAX" ]; then
    res=$(mpx_ba_run "$cap" tshark-conv tshark -n -q -z conv,tcp -r "$pf")
    if [[ $res =~ ^[0-9] ]]; then read -r tsw tscv _ <<< "$res"; tsc=$tscv; else tsc="$res (${PEER_TIMEOUT} s)"; fi
  elif [ $HAVE_TS = 1 ]; then tsc="not run (> $TSHARK_MAX packets)"
  fi
  mw=$(mpx_ba_stat "$cap" mpx-json wall_s | cut -d' ' -f1)
  mc=$(mpx_ba_stat "$cap" mpx-json cpu_s | cut -d' ' -f1)
  mr=$(mpx_ba_stat "$cap" mpx-json rss_mb | cut -d' ' -f1)
  us=$(awk -v c="$mc" -v n="$pk" 'BEGIN{printf "%.2f", c * 1e6 / n}')
  kb=$(awk -v r="$mr" -v n="$cn" 'BEGIN{printf "%.1f", r * 1024 / n}')
  echo "$pk $cn $mw $mc $us $mr $tdw $tdcv $tsw $tscv" >> "$DAT"
  echo "| $pk | $cn | $(mpx_ba_stat "$cap" mpx-json wall_s) | $(mpx_ba_stat "$cap" mpx-json cpu_s) | $us | $mr | $kb | $tdc | $tsc |" | tee -a "$OUT/analyze.md"
done
spread=$(awk '!/^#/ {u[++n] = $5} END { if (n < 2) { print "n/a"; exit } lo = hi = u[1]; for (i = 2; i <= n; i++) { if (u[i] < lo) lo = u[i]; if (u[i] > hi) hi = u[i] } m = (lo + hi) / 2; printf "%.2f-%.2f us/packet: within +-%.0f%% of their midpoint", lo, hi, (hi - lo) / 2 / m * 100 }' "$DAT")
{ echo; echo "CPU time per packet over the curve: $spread."; } | tee -a "$OUT/analyze.md"
if [ $HAVE_GP = 1 ]; then
  gnuplot <<EOF
set terminal pngcairo size 900,560
set output "$OUT/analyze-scaling.png"
set title "CPU time per packet vs capture size (experiment-shaped, about 17 packets per connection)" noenhanced
set format x "%.0s%c"
set xlabel "packets"
set ylabel "CPU µs per packet"
set logscale x
set logscale y
set key top left
set grid
plot "$DAT" using 1:(\$4*1e6/\$1) with linespoints title "mpx-analyze --json", \
     "$DAT" using 1:(\$8*1e6/\$1) with linespoints title "tcpdump -v -nn", \
     "$DAT" using 1:(\$10*1e6/\$1) with linespoints title "tshark -q -z conv,tcp"
EOF
  echo "plot: $OUT/analyze-scaling.png" | tee -a "$OUT/analyze.md"
fi
fi
echo "raw runs: $RAW"
