#!/usr/bin/env bash
# mpxlab compare RUN_A RUN_B [--full]
# Prints the two runs' evidence tables side by side (Markdown), one row per signal and
# variant, with the differences B - A. A difference is marked "*" when the two medians' 95 %
# confidence intervals do not overlap. RUN is a result directory, a name in results/, or
# "latest". --full also prints both complete evidence tables.
# Exit: 0 printed, 2 usage or a run without summary.json.
set -euo pipefail
MPX_ROOT=${MPX_ROOT:-$(cd "$(dirname "$(readlink -f "$0")")/../.." && pwd)}

usage() { echo "usage: mpxlab compare RUN_A RUN_B [--full]   (RUN: results dir, name in results/, or latest)"; }
full=0 runs=()
while [ $# -gt 0 ]; do
  case $1 in
    -h|--help) usage; exit 0 ;;
    --full) full=1; shift ;;
    -*) echo "mpxlab compare: unknown option '$1'" >&2; usage >&2; exit 2 ;;
    *) runs+=("$1"); shift ;;
  esac
done
[ ${#runs[@]} = 2 ] || { usage >&2; exit 2; }

resolve() {
  local r=$1 c
  for c in "$r" "$MPX_ROOT/results/$r"; do
    [ -f "$c/summary.json" ] && { (cd "$c" && pwd -P); return 0; }
  done
  echo "mpxlab compare: '$r' has no summary.json (not a finished run)" >&2; return 2
}
A=$(resolve "${runs[0]}") || exit 2
B=$(resolve "${runs[1]}") || exit 2

jq -n -r -L "$MPX_ROOT/emu/harness" --slurpfile a "$A/summary.json" --slurpfile b "$B/summary.json" \
  --arg an "$(basename "$A")" --arg bn "$(basename "$B")" '
include "evlib";
def d(x; y): if x == null or y == null then "–" else ((y - x) | sgn) end;
def pct(x; y): if x == null or y == null or x == 0 then "" else " (\((y - x) / x * 100 | sgn) %)" end;
def sig(p; q): if p.ttfb_ms.median_ci95.lo == null or q.ttfb_ms.median_ci95.lo == null then ""
  elif p.ttfb_ms.median_ci95.hi < q.ttfb_ms.median_ci95.lo or q.ttfb_ms.median_ci95.hi < p.ttfb_ms.median_ci95.lo then " *" else "" end;
def cell(x): if x == null then "–" elif x.status != "run" then "not run" else
  "\(x.ttfb_ms.p50 | num(1)) ms, \(if x.mode == "none" then "ref" else (x.extra_rtt | sgn) end) RTT, \(x.syn_opt.bytes // "–") B, \(x.verified)/\(x.n) ok, \(if x.analyzer.n == 0 then "n/a" elif x.violations == 0 then "clean" else "\(x.violations) viol." end)" end;
"# Compare \($an) (A) with \($bn) (B)",
"",
"- A: \($a[0].experiment), seed \($a[0].seed), \($a[0].repetitions) reps; B: \($b[0].experiment), seed \($b[0].seed), \($b[0].repetitions) reps",
"- cells: TTFB median, extra RTTs vs \($a[0].reference_signal // $b[0].reference_signal // "the reference"), SYN option bytes, verified/connections, encoding checks; Δ = B − A; * = the medians'"'"' 95 % CIs do not overlap",
"",
(([$a[0].variants[].name] + [$b[0].variants[].name]) | unique[]) as $vn |
 ($a[0].variants | map(select(.name == $vn)) | .[0]) as $va |
 ($b[0].variants | map(select(.name == $vn)) | .[0]) as $vb |
 "## Variant `\($vn)`" + (if $va == null then " (only in B)" elif $vb == null then " (only in A)" else "" end),
 "",
 "R_cp/R_ps: A \($va.model.R_cp_ms // "–")/\($va.model.R_ps_ms // "–") ms, B \($vb.model.R_cp_ms // "–")/\($vb.model.R_ps_ms // "–") ms",
 "",
 "| signal | A | B | Δ TTFB ms | Δ extra RTTs | Δ SYN option bytes | model TTFB A / B |",
 "|---|---|---|---|---|---|---|",
 ((([$va.signals[]?.signal] + [$vb.signals[]?.signal]) | unique) as $ss
  | ([$va.signals[]?.signal, $vb.signals[]?.signal] | reduce .[] as $x ([]; if index([$x]) then . else . + [$x] end))[] as $s
  | ($va.signals // [] | map(select(.signal == $s)) | .[0]) as $x
  | ($vb.signals // [] | map(select(.signal == $s)) | .[0]) as $y
  | "| `\($s)` | \(cell($x)) | \(cell($y)) | \(d($x.ttfb_ms.p50; $y.ttfb_ms.p50))\(pct($x.ttfb_ms.p50; $y.ttfb_ms.p50))\(sig($x; $y)) | \(d($x.extra_rtt; $y.extra_rtt)) | \(d($x.syn_opt.bytes; $y.syn_opt.bytes)) | \($x.model.ttfb_ms | num(1)) / \($y.model.ttfb_ms | num(1)) |"),
 ""'

if [ $full = 1 ]; then
  for r in "$A" "$B"; do
    echo "## Evidence tables of $(basename "$r")"; echo
    jq -r -L "$MPX_ROOT/emu/harness" 'include "evlib"; .variants[] | "### `\(.name)`", "", evidence_table, ""' "$r/summary.json"
  done
fi
