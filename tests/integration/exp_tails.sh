#!/usr/bin/env bash
# The report's "Emulated vs simulated" section (emu/harness/tails.jq) on a small emulated run
# with `sim-reps` (5 % DSL loss each way, tcp and convert): one row per signal; each "inside"
# verdict agrees with the numbers in summary.json recomputed here (simulated p50 / p90 against
# the measured 95 % intervals); the simulator ran sim-reps connections per signal and, at 5 %
# loss on 4 crossings of the handshake, some paid the 1 s SYN timeout (share > 0, simulated
# p99 >= 1 s). A run without sim-reps has no such section; loss-free, it calibrates the model's
# per-node processing times on its own measurements (as default.exp), and the evidence table's
# calibrated column, its line and the Calibration section agree with summary.json and the fit.
# timeout: 90
set -uo pipefail
source "$(dirname "$0")/../lib.sh"
t_require_harness
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
jqe() { jq -e "$@" > /dev/null; }
source "$MPX_ROOT/tests/lib/evcal.sh"
exp() { # FILE [extra line] [DSL loss %, default 5]
  printf 'topology hybrid.topo\nsignals tcp convert\nworkload rr 100/1000\nrepetitions 12\nseed 5\nwarmup 0\nmodel cp=dsl ps=wan\ntimeout conn 20s\nparam dsl.loss=%s%%\n%s\n' "${3:-5}" "${2:-}" > "$1"
}
exp "$tmp/t.exp" "sim-reps 2000"
./mpxlab run "$tmp/t.exp" --out "$tmp/r" --quiet --no-plots > /dev/null 2> "$tmp/err"; rc=$?
# 0, or 5: judged not faithful on a busy host (the report is written either way)
t_check run_rc test "$rc" = 0 -o "$rc" = 5
[ -s "$tmp/r/report.md" ] || { tail -n 20 "$tmp/err"; t_fail report "no report.md"; t_done; }
sec=$(awk '/^## Emulated vs simulated/ {on = 1; next} /^## / {on = 0} on' "$tmp/r/report.md")
t_check section_present grep -q '^## Emulated vs simulated' "$tmp/r/report.md"
for s in tcp convert; do
  row=$(grep "^| \`base\` | \`$s\` |" <<< "$sec")
  t_check "row_$s" test -n "$row"
  IFS='|' read -r _ _ _ n sn _ _ in50 _ _ in90 _ _ <<< "$row"
  t_check "row_${s}_simulated_n (${sn// /})" test "${sn// /}" = 2000
  t_check "row_${s}_measured_n (${n// /})" test "${n// /}" = 12
  # the verdicts, recomputed from summary.json
  want=$(jq -r --arg s "$s" '.variants[0].signals[] | select(.signal == $s) |
    def v($lo; $hi; $x): if $lo == null or $hi == null then "n too small" elif $x >= $lo and $x <= $hi then "yes"
      elif $x < $lo then "no (below)" else "no (above)" end;
    "\(v(.ttfb_ms.median_ci95.lo; .ttfb_ms.median_ci95.hi; .simulated.p50))/\(v(.ttfb_ms_p90_ci.lo; .ttfb_ms_p90_ci.hi; .simulated.p90))"' "$tmp/r/summary.json")
  got="$(sed 's/^ *//; s/ *$//' <<< "$in50")/$(sed 's/^ *//; s/ *$//' <<< "$in90")"
  t_check "row_${s}_verdicts ($got)" test "$got" = "$want"
  t_check "row_${s}_sim_syn_timeouts" jqe --arg s "$s" '.variants[0].signals[] | select(.signal == $s) |
    .syn_timeouts.simulated_share > 0 and .simulated.p99 >= 1000' "$tmp/r/summary.json"
done
t_check summary_line grep -q '^p90: the simulated value inside the measured interval in [0-9]* of [0-9]* points' <<< "$sec"
# without sim-reps (the simulator runs the measured plan only): no section; the variant is
# loss-free, so the cross-check calibrates the model's per-node processing times on it (as on
# default.exp): the fit used exactly the measured connections (n, medians as summary.json's) and
# the uncalibrated model's medians; simulated again with its times the model gives the fitted
# medians; the evidence table's calibrated column (calibrated median, explained = calibrated -
# simulated, remaining = measured - calibrated) matches summary.json, the fitted times are
# under it and in the Calibration section's table
exp "$tmp/n.exp" "" 0
./mpxlab run "$tmp/n.exp" --out "$tmp/n" --quiet --no-plots > /dev/null 2> "$tmp/err2"; rc=$?
t_check plain_run_rc test "$rc" = 0 -o "$rc" = 5
t_check no_section_without_sim_reps bash -c "! grep -q '^## Emulated vs simulated' '$tmp/n/report.md' && test -s '$tmp/n/report.md'"
cal=$tmp/n/sim-calibration.json
t_check calibrated_without_sim_reps jqe '.from == "base" and (.calibration.proc_us | [.client, .proxy, .server] | all(type == "number" and . >= 0))' "$cal"
bad=$(jq -r --slurpfile c "$cal" '.variants[0] as $v | $c[0].calibration.signals as $f | $v.signals[]
  | .signal as $s | $f[$s] as $x | $v.sim.calibrated.signals[$s].p50 as $k
  | def near($a; $b): (($a - $b) | fabs) <= 0.0015;   # both rounded to 3 decimals (C and jq)
    select($x == null or $x.measured_n != .ttfb_ms.n or (near($x.measured_p50; .ttfb_ms.p50) | not)
           or (near($x.simulated_p50; .simulated.p50) | not)
           or $k == null or (($x.simulated_p50 + $x.fitted_ms - $k) | fabs) > 0.002)
  | "\($s): fit \($x | tostring) calibrated \($k), summary n \(.ttfb_ms.n) p50 \(.ttfb_ms.p50) simulated \(.simulated.p50)"' "$tmp/n/summary.json")
t_check "fit_on_the_measured_connections${bad:+ ($bad)}" test -z "$bad" -a -s "$cal"
t_check evidence_calibrated_rows test "$(evcal_rows "$tmp/n/report.md" | wc -l)" = 2
bad=$(evcal_bad "$tmp/n/report.md" "" "$tmp/n/summary.json")
t_check "evidence_calibrated_cells${bad:+ ($bad)}" test -z "$bad"
times=$(jq -r '.calibration.proc_us | "client \(.client) µs, proxy \(.proxy) µs, server \(.server) µs"' "$cal" 2>/dev/null)
t_check evidence_times grep -q "^\*Calibrated\*: .*these connections.*$times" "$tmp/n/report.md"
sec=$(awk '/^## Calibration/ {on = 1; next} /^## / {on = 0} on' "$tmp/n/report.md")
t_check calibration_section_times grep -q "$times" <<< "$sec"
t_check calibration_section_rows test "$(grep -c '^| `[a-z0-9-]*` | [0-9.]* | ' <<< "$sec")" = 2
t_done
