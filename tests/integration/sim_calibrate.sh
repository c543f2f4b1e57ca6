#!/usr/bin/env bash
# The calibration of the model's per-node processing times (mpx-sim --calibrate, run by the
# harness's cross-check, emu/harness/sim.sh) recovers known times. An experiment with a loss-free
# and a lossy variant (no jitter: the model is deterministic) runs on the simulator (--backend
# sim) through an mpx-sim that adds --proc client=300,proxy=700,server=150,optd=120: its records are the
# "measured" side. A --backend sim run itself calibrates nothing (no emulation: no sim-calibration.json,
# no calibrated column). The cross-check then runs as after an emulation:
#   - the loss-free variant is the one calibrated; the fit is the known times within 1 us (mpx-optd's
#     too: mpconvert-opt's helper puts the client's mpx-optd in every signal's SYN path);
#   - the fit leaves no residual (|remaining| <= 0.002 ms per signal), and the steps it counted
#     are the hand-counted ones (sim/README.md "Processing time"): the proxy's 0 / 3 / 5 / 3 for
#     tcp / convert / socks5 / mpconvert-opt, the server's 1 each, the client's 1 for convert,
#     mpx-optd's 1 / 2 / 2 / 5 (SYN; + SYN/ACK; + registration, the HAG's SYN and lookup);
#   - both variants were simulated again with the fitted times (sim.json .calibrated), and the
#     report's "Emulated vs simulated" has the calibrated columns and its count line, the
#     "Calibration" section the fit table; in the loss-free variant the calibrated median is the
#     measured one (0.002 ms);
#   - each variant's evidence table has the calibrated column: every cell's calibrated median,
#     explained (calibrated - simulated) and remaining (measured - calibrated) equal to
#     summary.json's numbers (remaining 0 in the loss-free variant), and the line with the times;
#   - the loss plots (two loss values) carry the calibrated p50/p90/p99 of every signal and
#     variant (loss.dat, against sim.json) and draw them (the SVGs' legend, the report's titles);
#   - without sim-reps (the cross-check of default.exp: the measured plan only), in two shards of
#     a sweep merged by mpxlab merge: one fit on all the loss-free variant's connections (its
#     shard's own; the lossy shard has none), the variants simulated again on their plan (10
#     connections per signal), the column, and the Shards section saying which fit is kept.
# timeout: 90
set -uo pipefail
source "$(dirname "$0")/../lib.sh"
t_require_cmd jq
t_require_bin mpx-sim mpx-analyze mpx-wire
jqe() { jq -e "$@" > /dev/null; }
cd "$MPX_ROOT" || exit 1
tmp=$(mktemp -d /tmp/mpx-simcal.XXXXXX); trap 'rm -rf "$tmp"' EXIT

source "$MPX_ROOT/tests/lib/evcal.sh"

# bin/ with an mpx-sim that has known processing times
mkdir -p "$tmp/bin"
for f in "$MPX_ROOT"/bin/*; do ln -s "$f" "$tmp/bin/"; done
rm -f "$tmp/bin/mpx-sim"
printf '#!/bin/sh\nexec "%s/bin/mpx-sim" "$@" --proc client=300,proxy=700,server=150,optd=120\n' "$MPX_ROOT" > "$tmp/bin/mpx-sim"
chmod +x "$tmp/bin/mpx-sim"
q='dsl.jitter=0ms lte.jitter=0ms lte.loss=0%'
printf '%s\n' 'topology hybrid.topo' 'signals tcp convert socks5 mpconvert-opt' 'workload rr 100/1000' \
  'repetitions 10' 'seed 3' 'model cp=dsl ps=wan' 'timeout conn 20s' \
  "variant lossy param dsl.loss=3% $q" "variant clean param dsl.loss=0% $q" > "$tmp/p.exp"
{ cat "$tmp/p.exp"; echo 'sim-reps 200'; } > "$tmp/t.exp"
# crosscheck OUT [plots|sim-only] [VARIANT...]: the cross-check as run.sh calls it after each
# emulated variant (default lossy, clean: the lossy one first, the calibration then goes back to
# it), then (not with sim-only) the summary, the plots and the report
crosscheck() {
  ( set +u; export MPX_ROOT OUT=$1 EXP_TIMEOUT_CONN=20
    log() { echo "LOG: $*" >&2; }
    # shellcheck disable=SC1090  # the harness, as run.sh loads it
    for f in emu/harness/*.sh; do source "$f"; done
    vs=("${@:3}"); [ ${#vs[@]} -gt 0 ] || vs=(lossy clean)
    for v in "${vs[@]}"; do mpx_sim_variant "$1" "$v" || exit 1; done
    [ "${2:-}" != sim-only ] || exit 0
    mpx_collect_summary "$1" || exit 1
    if [ "${2:-}" = plots ]; then mpx_plots_all "$1" || exit 1; fi
    mpx_report_write "$1" ) > "$tmp/x.out" 2> "$tmp/x.err"
}
gp=0; command -v gnuplot > /dev/null && gp=1
out=$tmp/r
MPX_BIN=$tmp/bin timeout 60 ./mpxlab run "$tmp/t.exp" --backend sim --out "$out" --quiet --no-plots > "$tmp/run.out" 2> "$tmp/run.err"
rc=$?
t_check measured_run_rc test "$rc" = 0
[ -s "$out/raw/clean/sim.jsonl" ] || { tail -n 20 "$tmp/run.err"; t_fail results "no records"; t_done; }
t_check backend_sim_not_calibrated bash -c "! test -e '$out/sim-calibration.json' && ! grep -q 'calibrated simulated TTFB' '$out/report.md' && ! grep -q '^## Calibration' '$out/report.md'"
crosscheck "$out" "$([ $gp = 1 ] && echo plots)"
t_check crosscheck_rc test $? = 0
cal=$out/sim-calibration.json
[ -s "$cal" ] || { tail -n 20 "$tmp/x.err"; cat "$out"/links/*/sim.err 2>/dev/null; t_fail calibration "no $cal"; t_done; }
t_check calibrated_on_clean test "$(jq -r .from "$cal")" = clean
got=$(jq -r '.calibration.proc_us | "\(.client) \(.proxy) \(.server)"' "$cal")
read -r c p s <<< "$got"
o=$(jq -r '.calibration.proc_us.optd' "$cal")
t_check "recovered_times ($got $o us, known 300 700 150 120)" test $(( (c - 300) * (c - 300) <= 1 && (p - 700) * (p - 700) <= 1 && (s - 150) * (s - 150) <= 1 && (o - 120) * (o - 120) <= 1 )) = 1
bad=$(jq -r '.calibration.signals | to_entries[] | select((.value.remaining_ms | fabs) > 0.002) | "\(.key) \(.value.remaining_ms)"' "$cal")
t_check "no_residual_left${bad:+ ($bad)}" test -z "$bad"
steps=$(jq -r '.calibration.signals | [.tcp.steps.proxy, .convert.steps.proxy, .socks5.steps.proxy, ."mpconvert-opt".steps.proxy,
  .tcp.steps.server, .convert.steps.server, .socks5.steps.server, ."mpconvert-opt".steps.server, .convert.steps.client,
  .tcp.steps.optd, .convert.steps.optd, .socks5.steps.optd, ."mpconvert-opt".steps.optd] | map(tostring) | join(" ")' "$cal")
t_check "hand_counted_steps ($steps)" test "$steps" = "0 3 5 3 1 1 1 1 1 1 2 2 5"
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
# the chance line: its misses are the table's "no" cells in the calibrated p50 column (9th),
# its probability the binomial tail of them
nrow=$(grep -c '^| `' <<< "$sec") nmiss=$(awk -F'|' '/^\| `/ && $10 ~ /no/' <<< "$sec" | wc -l)
pr=$(sed -n "s/^Chance (the calibrated model; .*medians $nmiss missed of $nrow, P(≥ $nmiss by chance) = \([0-9.e-]*\).*/\1/p" <<< "$sec")
t_check "report_chance_line ($nmiss of $nrow, P $pr)" test -n "$pr"
want=$(awk -v n="$nrow" -v m="$nmiss" 'BEGIN { p = 0.05; f = (1 - p) ^ n; c = 0
  for (k = 0; k < m; k++) { c += f; f *= (n - k) / (k + 1) * p / (1 - p) }
  x = 1 - c; if (x < 0) x = 0; printf "%.3f", x }')
t_check "report_chance_binomial ($pr vs $want)" awk -v a="$pr" -v b="$want" 'BEGIN { exit !((a - b) ^ 2 < 1e-6) }'
sec=$(awk '/^## Calibration/ {on = 1; next} /^## / {on = 0} on' "$out/report.md")
t_check report_fit grep -q "client $c µs, proxy $p µs, server $s µs" <<< "$sec"
t_check report_fit_rows test "$(grep -c '^| `[a-z0-9-]*` | [0-9.]* | [0-9.]* | ' <<< "$sec")" = 4
# the evidence tables: the calibrated column against summary.json, the times under each table
for v in clean lossy; do
  t_check "evidence_${v}_calibrated_rows" test "$(evcal_rows "$out/report.md" "$v" | wc -l)" = 4
  bad=$(evcal_bad "$out/report.md" "$v" "$out/summary.json" "$([ $v = clean ] && echo 0.005)")
  t_check "evidence_${v}_calibrated_cells${bad:+ ($bad)}" test -z "$bad"
  t_check "evidence_${v}_times" bash -c "awk '/^## Evidence table — variant \`$v\`/ {on = 1; next} /^## / {on = 0} on' '$out/report.md' |
    grep -q '^\*Calibrated\*: .*$([ $v = clean ] && echo 'these connections' || echo 'out of sample').*client $c µs, proxy $p µs, server $s µs'"
done
# the loss plots: loss.dat's calibrated columns (11-13) are sim.json's, drawn in each figure
if [ $gp = 1 ]; then
  bad=$(awk '/^# / { s = $2; next } NF >= 13 { print s, $1, $11, $12, $13 }' "$out/plots/loss.dat" |
    jq -R -r --slurpfile s "$out/summary.json" 'split(" ") as [$sig, $l, $a, $b, $c]
      | ($s[0].variants[] | select((.params | join(" ")) | test("dsl.loss=\($l)%")) | .sim.calibrated.signals[$sig]) as $k
      | select([$a, $b, $c] != ([$k.p50, $k.p90, $k.p99] | map(tostring))) | "\($sig) \($l)%: \($a) \($b) \($c)"')
  rows=$(awk '!/^#/ && NF >= 13' "$out/plots/loss.dat" | wc -l)
  t_check "loss_dat_calibrated (${rows} rows${bad:+; $bad})" test "$rows" = 8 -a -z "$bad"
  for q in p50 p90 p99; do
    t_check "plot_${q}_draws_calibrated" grep -q 'calibrated model' "$out/plots/loss-$q.svg"
  done
  t_check report_plot_titles test "$(grep -c '^!\[TTFB .*calibrated.*\](plots/loss-p[0-9]*.png)' "$out/report.md")" = 3
else
  t_skip loss_plots "gnuplot not installed"
fi
# without sim-reps (the plan only, as default.exp), measured in a sweep of two shards (one
# variant each: the lossy shard has no loss-free variant, so no fit of its own), each shard
# cross-checked, then merged: the merge runs the cross-check again over the merged plan with one
# fit on the loss-free variant's connections, both variants calibrated on their plan (10 per
# signal) and the Shards section names the fit kept and the shards' own
sw=$tmp/sw
MPX_BIN=$tmp/bin timeout 60 ./mpxlab sweep "$tmp/p.exp" --shards 2 --engine local --backend sim --no-merge --no-plots \
  --out "$sw" > "$tmp/sw.out" 2>&1
t_check sweep_rc test $? = 0
for sh in 001 002; do
  v=$(jq -r '.variants | join(" ")' "$sw/shards/$sh/manifest.json" 2>/dev/null)
  # shellcheck disable=SC2086  # the shard's variants, one word each
  crosscheck "$sw/shards/$sh" sim-only $v
  t_check "shard_${sh}_crosscheck_rc ($v)" test $? = 0
done
t_check shard_fits test "$([ -s "$sw/shards/001/sim-calibration.json" ] && echo 1 || echo 0) $(jq -r .from "$sw/shards/002/sim-calibration.json" 2>/dev/null)" = "0 clean"
out=$sw/merged
timeout 60 ./mpxlab merge "$sw" --out "$out" --no-plots --quiet > /dev/null 2> "$tmp/merge.err"
t_check merge_rc test $? = 0
t_check plan_recovered_times test "$(jq -r '.calibration.proc_us | "\(.client) \(.proxy) \(.server)"' "$out/sim-calibration.json" 2>/dev/null)" = "$got"
t_check plan_fit_on_all_shards jqe '.from == "clean" and ([.calibration.signals[].measured_n] | add) == 40' "$out/sim-calibration.json"
for v in lossy clean; do
  t_check "plan_calibrated_run_$v" jqe '(.calibrated.signals | length) == 4 and ([.calibrated.signals[].n] | all(. == 10))' "$out/links/$v/sim.json"
  bad=$(evcal_bad "$out/report.md" "$v" "$out/summary.json" "$([ $v = clean ] && echo 0.005)")
  t_check "plan_evidence_${v}_cells${bad:+ ($bad)}" test -z "$bad" -a "$(evcal_rows "$out/report.md" "$v" | wc -l)" = 4
done
t_check plan_no_tails_section bash -c "! grep -q '^## Emulated vs simulated' '$out/report.md' && grep -q '^## Calibration' '$out/report.md'"
sec=$(awk '/^## Shards/ {on = 1; next} /^## / {on = 0} on' "$out/report.md")
t_check merge_says_which_fit grep -q "calibrated once, on the connections of every shard of the loss-free variant \`clean\` (40 measured connections): client $c µs, proxy $p µs, server $s µs.*shard 001: none.*shard 002: \`clean\` client $c µs" <<< "$sec"
t_done
