#!/usr/bin/env bash
# mpx-sim speed: N simulated connections (default 1,000,000: every registry signal, round-robin)
# over the hybrid topology fixture, pinned to one core, pcaps off; then the same plan at a
# tenth of the size with pcaps on (the peer: what writing every frame costs). Prints wall and
# CPU time, connections per CPU second and the ratio to the goal (1M connections < 60 s).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SIM=$ROOT/bin/mpx-sim
VAR=$ROOT/tests/data/sim/hybrid-base
N=${MPX_BENCH_SIM_CONNS:-1000000}
[ -x "$SIM" ] || { echo "bench/sim: bin/mpx-sim not built"; exit 1; }
nsig=$("$ROOT/bin/mpx-wire" signals --names | wc -w)
reps=$(( (N + nsig - 1) / nsig ))
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
bench_sim_run() { # LABEL REPS [ARGS...]: prints "label conns wall_s cpu_s"
  local label=$1 r=$2; shift 2
  local w u s TIMEFORMAT="%R %U %S"
  { time taskset -c 0 timeout 600 "$SIM" --variant "$VAR" --reps "$r" --out /dev/null "$@" \
      2>/dev/null || true; } 2> "$tmp/time"
  read -r w u s < "$tmp/time"
  awk -v l="$label" -v n=$((r * nsig)) -v w="$w" -v c="$(awk -v u="$u" -v s="$s" "BEGIN{print u+s}")" \
    'BEGIN { printf "%-22s %9d conns  wall %7.2f s  cpu %7.2f s  %9.0f conns/cpu-s\n", l, n, w, c, n / (c > 0 ? c : 1e-9) }'
}
echo "== mpx-sim: $((reps * nsig)) connections ($nsig signals x $reps), one core"
a=$(bench_sim_run "pcap off" "$reps"); echo "$a"
b=$(bench_sim_run "pcap on (1/10 plan)" $((reps / 10 > 0 ? reps / 10 : 1)) --pcap "$tmp"); echo "$b"
cpu=$(echo "$a" | awk '{for (i = 1; i <= NF; i++) if ($i == "cpu") print $(i + 1)}')
rate_off=$(echo "$a" | awk '{print $(NF - 1)}'); rate_on=$(echo "$b" | awk '{print $(NF - 1)}')
awk -v c="$cpu" -v n=$((reps * nsig)) -v off="$rate_off" -v on="$rate_on" 'BEGIN {
  printf "1M-connection CPU time (scaled): %.1f s = %.2f x the 60 s goal (below 1 meets it)\n", c * 1e6 / n, c * 1e6 / n / 60
  printf "pcap on vs off: %.2f x the connections per CPU second\n", on / off }'
