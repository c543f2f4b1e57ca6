#!/usr/bin/env bash
# The calibration of the model's per-node processing times (mpx-sim --calibrate, run by the
# harness's cross-check, emu/harness/sim.sh) recovers known times. An experiment with a loss-free
# and a lossy variant (no jitter: the model is deterministic) runs on the simulator (--backend
# sim) through an mpx-sim that adds --proc client=300,proxy=700,server=150: its records are the
# "measured" side. The cross-check then runs as after an emulation:
#   - the loss-free variant is the one calibrated; the fit is the known times within 1 us;
#   - the fit leaves no residual (|remaining| <= 0.002 ms per signal), and the steps it counted
#     are the hand-counted ones (sim/README.md "Processing time"): the proxy's 0 / 3 / 5 / 3 for
#     tcp / convert / socks5 / mpconvert-opt, the server's 1 each, the client's 1 for convert;
#   - both variants were simulated again with the fitted times (sim.json .calibrated), and the
#     report's "Emulated vs simulated" has the calibrated columns, its count line and the fit
#     table; in the loss-free variant the calibrated median is the measured one (0.002 ms).
# timeout: 60
set -uo pipefail
source "$(dirname "$0")/../lib.sh"
t_require_cmd jq
t_require_bin mpx-sim mpx-analyze mpx-wire
jqe() { jq -e "$@" > /dev/null; }
cd "$MPX_ROOT" || exit 1
tmp=$(mktemp -d /tmp/mpx-simcal.XXXXXX); trap 'rm -rf "$tmp"' EXIT
# bin/ with an mpx-sim that has known processing times
mkdir -p "$tmp/bin"
for f in "$MPX_ROOT"/bin/*; do ln -s "$f" "$tmp/bin/"; done
rm -f "$tmp/bin/mpx-sim"
printf '#!/bin/sh\nexec "%s/bin/mpx-sim" "$@" --proc client=300,proxy=700,server=150\n' "$MPX_ROOT" > "$tmp/bin/mpx-sim"
chmod +x "$tmp/bin/mpx-sim"
q='dsl.jitter=0ms lte.jitter=0ms lte.loss=0%'
printf '%s\n' 'topology hybrid.topo' 'signals tcp convert socks5 mpconvert-opt' 'workload rr 100/1000' \
  'repetitions 10' 'sim-reps 200' 'seed 3' 'model cp=dsl ps=wan' 'timeout conn 20s' \
  "variant lossy param dsl.loss=3% $q" "variant clean param dsl.loss=0% $q" > "$tmp/t.exp"
out=$tmp/r
MPX_BIN=$tmp/bin timeout 60 ./mpxlab run "$tmp/t.exp" --backend sim --out "$out" --quiet --no-plots > "$tmp/run.out" 2> "$tmp/run.err"
rc=$?
t_check measured_run_rc test "$rc" = 0
[ -s "$out/raw/clean/sim.jsonl" ] || { tail -n 20 "$tmp/run.err"; t_fail results "no records"; t_done; }
# the cross-check as run.sh calls it after each emulated variant (the lossy one first: the
# calibration then goes back to it), then the summary and the report
( set +u; export MPX_ROOT OUT=$out EXP_TIMEOUT_CONN=20
  log() { echo "LOG: $*" >&2; }
  # shellcheck disable=SC1090  # the harness, as run.sh loads it
  for f in emu/harness/*.sh; do source "$f"; done
  for v in lossy clean; do mpx_sim_variant "$out" "$v" || exit 1; done
  mpx_collect_summary "$out" && mpx_report_write "$out" ) > "$tmp/x.out" 2> "$tmp/x.err"
t_check crosscheck_rc test $? = 0
cal=$out/sim-calibration.json
[ -s "$cal" ] || { tail -n 20 "$tmp/x.err"; cat "$out"/links/*/sim.err 2>/dev/null; t_fail calibration "no $cal"; t_done; }
t_check calibrated_on_clean test "$(jq -r .from "$cal")" = clean
got=$(jq -r '.calibration.proc_us | "\(.client) \(.proxy) \(.server)"' "$cal")
read -r c p s <<< "$got"
t_check "recovered_times ($got us, known 300 700 150)" test $(( (c - 300) * (c - 300) <= 1 && (p - 700) * (p - 700) <= 1 && (s - 150) * (s - 150) <= 1 )) = 1
bad=$(jq -r '.calibration.signals | to_entries[] | select((.value.remaining_ms | fabs) > 0.002) | "\(.key) \(.value.remaining_ms)"' "$cal")
t_check "no_residual_left${bad:+ ($bad)}" test -z "$bad"
steps=$(jq -r '.calibration.signals | [.tcp.steps.proxy, .convert.steps.proxy, .socks5.steps.proxy, ."mpconvert-opt".steps.proxy,
  .tcp.steps.server, .convert.steps.server, .socks5.steps.server, ."mpconvert-opt".steps.server, .convert.steps.client] | map(tostring) | join(" ")' "$cal")
t_check "hand_counted_steps ($steps)" test "$steps" = "0 3 5 3 1 1 1 1 1"
for v in lossy clean; do
  t_check "calibrated_run_$v" jqe --arg p "$(jq -r .calibration.proc "$cal")" \
    '.calibrated.proc == $p and (.calibrated.signals | length) == 4 and ([.calibrated.signals[].n] | all(. == 200))' "$out/links/$v/sim.json"
done
t_check fit_in_clean_only test "$(jq -r '.calibration.from // "none"' "$out/links/clean/sim.json") $(jq -r '.calibration.from // "none"' "$out/links/lossy/sim.json")" = "clean none"
bad=$(jq -r '.variants[] | select(.name == "clean") | .sim.calibrated.signals as $c | .signals[]
  | select(((.ttfb_ms.p50 - $c[.signal].p50) | fabs) > 0.002) | "\(.signal) \(.ttfb_ms.p50) \($c[.signal].p50)"' "$out/summary.json")
t_check "calibrated_median_is_measured${bad:+ ($bad)}" test -z "$bad"
sec=$(awk '/^## Emulated vs simulated/ {on = 1; next} /^## / {on = 0} on' "$out/report.md")
t_check report_calibrated_columns grep -q '| calibrated p50 | inside |' <<< "$sec"
t_check report_count_line grep -q '^Calibrated: median inside in [0-9]* of [0-9]*, p90 inside in' <<< "$sec"
t_check report_fit grep -q "client $c µs, proxy $p µs, server $s µs" <<< "$sec"
t_check report_fit_rows test "$(grep -c '^| `[a-z0-9-]*` | [0-9.]* | [0-9.]* | ' <<< "$sec")" = 4
t_done
