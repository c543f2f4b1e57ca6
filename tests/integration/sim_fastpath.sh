#!/usr/bin/env bash
# `mpxlab run --backend sim` with the harness's fast path (emu/harness/collect.sh mpx_jq_early:
# summary, verdict, the manifest's end, the report sections and the figures' data on jq started
# before their input exists and fed through pipes; the join on stubs, the analyzer records put
# back by awk) writes the same files as the same run with every step on its plain jq
# (MPX_JQ_PLAIN=1): connections.jsonl and .csv, summary.json, manifest.json, report.md and
# .html, every figure's PNG and SVG, the analysis and the pcaps, byte for byte apart from the
# run id, times, output path, namespace tag and git state; the fast run fell back nowhere (no
# "plain jq runs" line in its run.log).
# timeout: 60
set -uo pipefail
source "$(dirname "$0")/../lib.sh"
t_require_cmd jq gnuplot
t_require_bin mpx-sim mpx-analyze mpx-wire
cd "$MPX_ROOT" || exit 1
tmp=$(mktemp -d /tmp/mpx-simfast.XXXXXX); trap 'rm -rf "$tmp"' EXIT
timeout 50 ./mpxlab run default --backend sim --reps 2 --out "$tmp/fast" --quiet > /dev/null 2> "$tmp/fast.err"
t_check fast_rc test $? = 0
MPX_JQ_PLAIN=1 timeout 50 ./mpxlab run default --backend sim --reps 2 --out "$tmp/plain" --quiet > /dev/null 2> "$tmp/plain.err"
t_check plain_rc test $? = 0
[ -s "$tmp/fast/summary.json" ] && [ -s "$tmp/plain/summary.json" ] ||
  { tail -n 5 "$tmp"/*.err; t_fail results "no summary.json"; t_done; }
fb=$(grep -E 'plain (jq|join) runs' "$tmp/fast/logs/run.log")
if [ -z "$fb" ]; then t_pass fast_no_fallback; else t_fail fast_no_fallback "$fb"; fi
# what differs between two runs of one commit: run id, times, elapsed seconds, the output
# directory, the namespace tag, and the git state (other work may change the tree in between)
norm() {
  sed -e "s#$2#OUT#g" -e 's/20[0-9]\{6\}-[0-9]\{6\}-default/RUNID/g' \
    -e 's/20[0-9-]\{8\}T[0-9:]\{8\}Z/TIME/g' -e 's/"elapsed_s": [0-9]*/"elapsed_s": N/' \
    -e 's/ended TIME ([0-9]* s)/ended TIME (N s)/' -e 's/"namespace_tag": "e[0-9]*"/"namespace_tag": "eX"/' \
    -e 's/"commit": "[0-9a-f]*"/"commit": "C"/' -e 's/"dirty_files": [0-9]*/"dirty_files": D/' \
    -e 's/git [0-9a-f]\{12\}/git C/' -e 's/[0-9a-f]\{40\}/C/g' -e 's/, [0-9]* uncommitted file(s) at run time//' \
    -e 's/\("mpx-[a-z]*": "mpx-[a-z]* \)[0-9a-f]\{7,\}\(-dirty\)\?/\1V/' "$1"
}
diffs='' n=0
while IFS= read -r f; do
  n=$((n + 1))
  [ -f "$tmp/plain/$f" ] || { diffs+=" $f(only-fast)"; continue; }
  cmp -s "$tmp/fast/$f" "$tmp/plain/$f" && continue
  cmp -s <(norm "$tmp/fast/$f" "$tmp/fast") <(norm "$tmp/plain/$f" "$tmp/plain") || diffs+=" $f"
done < <(cd "$tmp/fast" && find . -type f ! -name '*.log' ! -name '*.err' | sort)
while IFS= read -r f; do [ -f "$tmp/fast/$f" ] || diffs+=" $f(only-plain)"; done < <(cd "$tmp/plain" && find . -type f ! -name '*.log' ! -name '*.err' | sort)
t_check files_compared test "$n" -ge 30
if [ -z "$diffs" ]; then t_pass same_files; else t_fail same_files "differ:$diffs"; fi
for f in connections.csv summary.json report.md plots/ttfb-cdf.png; do
  t_check "has_$f" test -s "$tmp/fast/$f"
done
t_done
