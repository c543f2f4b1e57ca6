#!/usr/bin/env bash
# mpxlab compare RUN_A RUN_B [--full] [--accept-unfaithful]
# Prints the two runs' evidence tables side by side (Markdown), one row per signal and
# variant, with the differences B - A. A difference is marked "*" when the two medians' 95 %
# confidence intervals do not overlap. RUN is a result directory, a name in results/, or
# "latest". --full also prints both complete evidence tables.
# A variant whose fidelity verdict (summary.json .variants[].fidelity) is "faithful" in one run
# and not in the other is not compared: a difference could be the host, not the signal. The
# command refuses (exit 3, the variants and verdicts on stderr) unless --accept-unfaithful;
# every variant heading shows both verdicts.
# Exit: 0 printed, 2 usage or a run without summary.json, 3 refused: fidelity differs.
set -euo pipefail
MPX_ROOT=${MPX_ROOT:-$(cd "$(dirname "$(readlink -f "$0")")/../.." && pwd)}

usage() {
  echo "usage: mpxlab compare RUN_A RUN_B [--full] [--accept-unfaithful]   (RUN: results dir, name in results/, or latest)"
  echo "exit: 0 printed, 2 usage / a run without summary.json, 3 refused: a variant is faithful in one run and not in the other"
  echo "      (--accept-unfaithful compares anyway, marked)"
}
full=0 accept=0 runs=()
while [ $# -gt 0 ]; do
  case $1 in
    -h|--help) usage; exit 0 ;;
    --full) full=1; shift ;;
    --accept-unfaithful) accept=1; shift ;;
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

# fidelity: per variant present in both runs, the two verdicts ("unknown" for a run made before
# the fidelity monitor); a faithful one against any other is refused unless accepted (a
# simulated run, --backend sim, has no host timing: comparing it with an emulation is the point)
mixed=$(jq -n -r --slurpfile a "$A/summary.json" --slurpfile b "$B/summary.json" '
  def verdicts($s): $s[0].variants | map({key: .name, value: (.fidelity.verdict // "unknown")}) | from_entries;
  verdicts($a) as $va | verdicts($b) as $vb
  | $va | keys[] | select($vb[.] != null and $va[.] != $vb[.] and ($va[.] == "faithful" or $vb[.] == "faithful")
      and $va[.] != "simulated" and $vb[.] != "simulated")
  | "variant `\(.)`: A \($va[.]), B \($vb[.])"')
if [ -n "$mixed" ]; then
  if [ $accept = 0 ]; then
    echo "mpxlab compare: refusing to compare a faithful emulation with one that is not (a difference could be the host, not the signal):" >&2
    sed 's/^/  /' <<< "$mixed" >&2
    echo "mpxlab compare: see each report's Fidelity section; --accept-unfaithful compares anyway" >&2
    exit 3
  fi
  echo "mpxlab compare: comparing anyway (--accept-unfaithful): $(tr '\n' ';' <<< "$mixed")" >&2
fi

jq -n -r -L "$MPX_ROOT/emu/harness" --slurpfile a "$A/summary.json" --slurpfile b "$B/summary.json" \
  --arg an "$(basename "$A")" --arg bn "$(basename "$B")" '
include "evlib";
# the fidelity verdict of a variant, with its health when that is not ok
def fv: if . == null then "–" else (.fidelity.verdict // "unknown") as $f
  | "\(if $f == "not faithful" then "**not faithful**" else $f end)\(if (.health.status // "ok") != "ok" then " (variant \(.health.status))" else "" end)" end;
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
 "fidelity: A \($va | fv), B \($vb | fv)\(if $va != null and $vb != null and ($va.fidelity.verdict // "unknown") != ($vb.fidelity.verdict // "unknown") then " — **the verdicts differ: differences below may be the host, not the signal**" else "" end)",
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
    jq -r -L "$MPX_ROOT/emu/harness" 'include "evlib"; .variants[] | "### `\(.name)`\(vmark)", "", evidence_table, ""' "$r/summary.json"
  done
fi
