# tails.jq: "Emulated vs simulated" section of report.md, from summary.json. For every variant
# and signal with a simulator cross-check: the measured median and p90 with their distribution-free
# 95 % intervals (summary.jq median_ci95 / qci), the simulated ones, and whether the simulated
# value lies inside the measured interval. Only for variants simulated with more connections than
# were measured (the .exp line sim-reps: tails, as experiments/loss.exp); prints nothing otherwise.
# Where a loss-free variant calibrated the model's per-node processing times (emu/harness/sim.sh:
# sim.json .calibration in that variant, .calibrated in every one), the calibrated model's p50 and
# p90 get columns of their own (the fit's table: evlib.jq calibration_section).
# A variant that is not faithful (fidelity.jq) is marked in the table, and the counts are also
# given for the faithful variants alone: the host's delays are in its measured tails.
include "fidelity";
def ms: if . == null then "–" else (. * 10 | round / 10 | tostring) end;
def inside($lo; $hi; $x):
  if $x == null then "–"
  elif $lo == null or $hi == null then "n too small"
  elif $x >= $lo and $x <= $hi then "yes"
  elif $x < $lo then "no (below)" else "no (above)" end;
def pct: if . == null then "–" else (. * 1000 | round / 10 | tostring) + " %" end;
# "k of n points" over rows with a verdict that the sample could bound; and over the faithful
# variants' rows when some are not
def tally_in($k): [.[] | select(.[$k] == "yes" or (.[$k] | startswith("no")))] as $j
  | "\([$j[] | select(.[$k] == "yes")] | length) of \($j | length)";
# chance($k): how likely the misses are if the model were right. Each interval misses the
# true value about 5 % of the time (order statistics, normal approximation), so m misses of n
# bounded points have P(X >= m), X ~ Binomial(n, 0.05); below 0.05 the misses are the model's.
def binom_ge($n; $m; $p):
  if $m <= 0 then 1 else
  reduce range(0; $m) as $i ({pmf: (1 - $p) | pow(.; $n), cdf: 0};
    .cdf += .pmf | .pmf *= ($n - $i) / ($i + 1) * $p / (1 - $p)) | 1 - .cdf | if . < 0 then 0 else . end end;
def chance($k): [.[] | select(.[$k] == "yes" or (.[$k] | startswith("no")))] as $j
  | ($j | length) as $n | ([$j[] | select(.[$k] | startswith("no"))] | length) as $m
  | binom_ge($n; $m; 0.05) as $pr
  | "\($m) missed of \($n), P(≥ \($m) by chance) = \($pr * 1000 | round / 1000)"
    + (if $pr < 0.05 then ": more than chance" else ": within chance" end);
def tally($k): tally_in($k)
  + (if any(.[]; .uf) then " (faithful variants: \([.[] | select(.uf | not)] | tally_in($k)))" else "" end);
[.variants[] | .name as $v | (.fidelity.verdict == "not faithful") as $uf | fid_mark as $fm
  | (.sim.calibrated.signals // {}) as $cs | .signals[]
  | select(.simulated != null and .simulated.status == "ok" and .simulated.p50 != null
           and (.simulated.n // 0) > (.ttfb_ms.n // 0))
  | {v: $v, uf: $uf, fm: $fm, s: .signal, n: .ttfb_ms.n, sn: .simulated.n,
     p50: .ttfb_ms.p50, lo50: .ttfb_ms.median_ci95.lo, hi50: .ttfb_ms.median_ci95.hi,
     p90: .ttfb_ms_p90_ci.p, lo90: .ttfb_ms_p90_ci.lo, hi90: .ttfb_ms_p90_ci.hi,
     s50: .simulated.p50, s90: .simulated.p90, s99: .simulated.p99,
     c50: ($cs[.signal].p50 // null), c90: ($cs[.signal].p90 // null),
     to: .syn_timeouts.share, sto: .syn_timeouts.simulated_share}
  | . + {in50: inside(.lo50; .hi50; .s50), in90: inside(.lo90; .hi90; .s90),
         ic50: inside(.lo50; .hi50; .c50), ic90: inside(.lo90; .hi90; .c90)}] as $r
| ([.variants[] | select(.sim.calibration != null) | {v: .name, c: .sim.calibration}] | first // null) as $fit
| ([$r[] | select(.c50 != null)] | length > 0) as $cal
| if ($r | length) == 0 then empty else
  "## Emulated vs simulated",
  "",
  "The discrete-event model (bin/mpx-sim: the same links, seeds and option bytes, no host processing) against the emulation, per variant and signal. *inside* = the simulated value lies within the measured value's distribution-free 95 % interval (order statistics; \"n too small\" when the measured sample cannot bound it). A simulated median just below the interval is the hosts' processing (the evidence table's measured − simulated); tails are the timers' and the loss draws'."
  + (if $cal then " *calibrated* = the same model with per-node processing times fitted on the loss-free variant `\($fit.v // "?")` (section \"Calibration\"): what the hosts add, charged where the applications act." else "" end),
  "",
  (if $cal then
    "| variant | signal | measured n | simulated n | measured p50 [95 %] ms | simulated p50 | inside | calibrated p50 | inside | measured p90 [95 %] ms | simulated p90 | inside | calibrated p90 | inside | simulated p99 | SYN timeouts measured / simulated |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ($r[] | "| `\(.v)`\(.fm) | `\(.s)` | \(.n) | \(.sn) | \(.p50 | ms) [\(.lo50 | ms), \(.hi50 | ms)] | \(.s50 | ms) | \(.in50) | \(.c50 | ms) | \(.ic50) | \(.p90 | ms) [\(.lo90 | ms), \(.hi90 | ms)] | \(.s90 | ms) | \(.in90) | \(.c90 | ms) | \(.ic90) | \(.s99 | ms) | \(.to | pct) / \(.sto | pct) |")
  else
    "| variant | signal | measured n | simulated n | measured p50 [95 %] ms | simulated p50 | inside | measured p90 [95 %] ms | simulated p90 | inside | simulated p99 | SYN timeouts measured / simulated |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ($r[] | "| `\(.v)`\(.fm) | `\(.s)` | \(.n) | \(.sn) | \(.p50 | ms) [\(.lo50 | ms), \(.hi50 | ms)] | \(.s50 | ms) | \(.in50) | \(.p90 | ms) [\(.lo90 | ms), \(.hi90 | ms)] | \(.s90 | ms) | \(.in90) | \(.s99 | ms) | \(.to | pct) / \(.sto | pct) |")
  end),
  "",
  "p90: the simulated value inside the measured interval in \($r | tally("in90")) points that the sample could bound; median: \($r | tally("in50")).",
  (if $cal then "Calibrated: median inside in \($r | tally("ic50")), p90 inside in \($r | tally("ic90")) points." else empty end),
  "",
  (if $cal then "Chance (the calibrated model; each 95 % interval misses about 1 in 20 on its own): medians \($r | chance("ic50")); p90 \($r | chance("ic90"))."
   + (if any($r[]; .uf) then " Faithful variants only: medians \([$r[] | select(.uf | not)] | chance("ic50")); p90 \([$r[] | select(.uf | not)] | chance("ic90"))." else "" end)
   else "Chance (each 95 % interval misses about 1 in 20 on its own): medians \($r | chance("in50")); p90 \($r | chance("in90"))." end),
  ""
  end
