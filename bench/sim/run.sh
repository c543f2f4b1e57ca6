#!/usr/bin/env bash
# mpx-sim speed, on one core (taskset -c 0), pcaps off:
#  1. the sweep: MPX_BENCH_SIM_CONNS connections (default 1,000,000: every registry signal,
#     round-robin, as `--reps` large does) over the hybrid topology fixture; wall and CPU time
#     against the goal (1M connections in under 60 s);
#  2. the peer, measured in the same run: ns-3 (Debian's libns3-dev, bench/sim/ns3_rr.cc) doing
#     the work mpx-sim does for the `tcp` signal: BENCH_SIM_PEER_N (20000) request/response
#     connections, 100 B up and 1000 B down, one after the other 20 ms apart, over the same
#     links (DSL 20/2 Mbit/s 10 ms, WAN 1 Gbit/s 5 ms); BENCH_REPS (3) interleaved rounds.
#     Cells are median (min-max); ratio = ns-3's median CPU seconds / mpx-sim's, the range from
#     the extremes. Each side prints its mean TTFB: the same network gives the same answer.
# Raw runs as JSON lines in $MPX_BENCH_OUT (default results/bench-sim-<time>/raw.jsonl); the
# tables on stdout and in sim.md there.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SIM=$ROOT/bin/mpx-sim
VAR=$ROOT/tests/data/sim/hybrid-base
N=${MPX_BENCH_SIM_CONNS:-1000000}
PN=${BENCH_SIM_PEER_N:-20000}
REPS=${BENCH_REPS:-3}
OUT=${MPX_BENCH_OUT:-$ROOT/results/bench-sim-$(date -u +%Y%m%dT%H%M%S)}
PEER=$ROOT/build/bench-sim/ns3-rr
[ -x "$SIM" ] || { echo "bench/sim: bin/mpx-sim not built"; exit 1; }
mkdir -p "$OUT" "$(dirname "$PEER")"
RAW=$OUT/raw.jsonl; : > "$RAW"
nsig=$("$ROOT/bin/mpx-wire" signals --names | wc -w)
reps=$(( (N + nsig - 1) / nsig ))

# the peer, built from bench/sim/ns3_rr.cc when ns-3 is installed (apt-get install libns3-dev)
if [ -f /usr/include/ns3/core-module.h ] && { [ ! -x "$PEER" ] || [ "$ROOT/bench/sim/ns3_rr.cc" -nt "$PEER" ]; }; then
  g++ -O2 -std=c++17 -o "$PEER" "$ROOT/bench/sim/ns3_rr.cc" -I/usr/include \
    -lns3-point-to-point -lns3-internet -lns3-network -lns3-core 2> "$OUT/peer-build.log" ||
    echo "bench/sim: the ns-3 peer did not build ($OUT/peer-build.log)"
fi

# bench_sim_time LABEL CONNS CMD...: one run on core 0; prints "wall cpu" and appends a raw line
bench_sim_time() {
  local label=$1 conns=$2 rc=0 w u s; shift 2
  taskset -c 0 timeout 900 /usr/bin/time -f '%e %U %S' -o "$OUT/.time" "$@" > "$OUT/.stdout" 2> "$OUT/.err" || rc=$?
  read -r w u s < <(tail -n 1 "$OUT/.time")
  local cpu; cpu=$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.2f", u + s }')
  jq -n -c --arg l "$label" --argjson n "$conns" --argjson w "$w" --argjson c "$cpu" --argjson rc "$rc" \
    --arg info "$(tail -n 3 "$OUT/.stdout" "$OUT/.err" 2>/dev/null | grep -E 'TTFB|^tcp ' | head -n 1)" \
    '{label: $l, conns: $n, wall_s: $w, cpu_s: $c, rc: $rc, info: $info}' >> "$RAW"
  echo "$w $cpu"
}

{
echo "## mpx-sim: $((reps * nsig)) connections ($nsig signals x $reps), one core, pcaps off"
echo
read -r w c < <(bench_sim_time sweep $((reps * nsig)) "$SIM" --variant "$VAR" --reps "$reps" --out /dev/null)
awk -v n=$((reps * nsig)) -v w="$w" -v c="$c" 'BEGIN {
  printf "| connections | wall s | CPU s | connections per CPU s | 1M-connection CPU s (scaled) | goal |\n|---|---|---|---|---|---|\n"
  printf "| %d | %.2f | %.2f | %.0f | %.1f | < 60 s: %s |\n", n, w, c, n / (c > 0 ? c : 1e-9), c * 1e6 / n, (c * 1e6 / n < 60 ? "met" : "NOT met") }'
echo
if [ -x "$PEER" ]; then
  echo "## mpx-sim vs ns-3 3.37: $PN tcp request/response connections, $REPS interleaved rounds, one core"
  echo
  for ((r = 1; r <= REPS; r++)); do
    bench_sim_time mpx-sim "$PN" "$SIM" --variant "$VAR" --signals tcp --reps "$PN" --no-join --no-warmup --summary --out /dev/null > /dev/null
    bench_sim_time ns-3 "$PN" "$PEER" "$PN" 20 > /dev/null
  done
  jq -r -s '
    def med: sort | if length % 2 == 1 then .[length / 2 | floor] else (.[length / 2 - 1] + .[length / 2]) / 2 end;
    def r2: . * 100 | round / 100;
    (map(select(.label == "mpx-sim")) | map(.cpu_s)) as $m | (map(select(.label == "ns-3")) | map(.cpu_s)) as $p
    | (map(select(.label == "mpx-sim"))[0].conns) as $n
    | "| simulator | CPU s per \($n) connections | µs CPU per connection | note |",
      "|---|---|---|---|",
      "| mpx-sim (pcaps off) | \($m | med | r2) (\($m | min | r2)-\($m | max | r2)) | \($m | med * 1e6 / $n | round) | \(map(select(.label == "mpx-sim"))[0].info) |",
      "| ns-3 3.37 | \($p | med | r2) (\($p | min | r2)-\($p | max | r2)) | \($p | med * 1e6 / $n | round) | \(map(select(.label == "ns-3"))[0].info) |",
      "",
      "ratio ns-3 / mpx-sim CPU: \(($p | med) / ($m | med) | r2)x (\(($p | min) / ($m | max) | r2)-\(($p | max) / ($m | min) | r2))"' \
    < <(jq -c 'select(.label == "mpx-sim" or .label == "ns-3")' "$RAW")
else
  echo "ns-3 peer not available (apt-get install libns3-dev): no ratio"
fi
} | tee "$OUT/sim.md"
rm -f "$OUT/.time" "$OUT/.stdout" "$OUT/.err"
