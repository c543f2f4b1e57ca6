#!/usr/bin/env bash
# A small experiment end to end over hybrid.topo: tcp, socks5, convert x 9 repetitions.
# The report exists, every connection succeeded with a verified payload and was found by the
# analyzer, and the measured extra round trips agree with the analytic model within +-20 %
# (socks5 +2 R_cp, convert -1 R_cp; for tcp, the reference, its TTFB within +-20 % of
# 2 (R_cp + R_ps)).
# timeout: 240
set -uo pipefail
source "$(dirname "$0")/../lib.sh"
t_require_harness
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/small.exp" <<'X'
topology    hybrid
signals     tcp socks5 convert
workload    rr 100/1000
repetitions 9
seed        11
timeout     conn 10s
X
out=$tmp/run
path=$(./mpxlab run "$tmp/small.exp" --out "$out" --quiet --accept-unfaithful 2> "$tmp/run.err"); rc=$?
t_check run_rc test "$rc" = 0
t_check prints_report_path test "$path" = "$out/report.md"
if [ "$rc" != 0 ] || [ ! -s "$out/summary.json" ]; then
  tail -n 30 "$tmp/run.err" "$out/logs/run.log" 2>/dev/null; t_done
fi
t_check report_md test -s "$out/report.md"
t_check report_html test -s "$out/report.html"
t_check manifest_done test "$(jq -r .status "$out/manifest.json")" = "done"
n=$(wc -l < "$out/connections.jsonl")
t_check all_connections test "$n" = 27
bad=$(jq -c 'select(.ok != true or .verified != true) | [.signal, .step, .error]' "$out/connections.jsonl")
t_check all_verified test -z "$bad"; [ -z "$bad" ] || echo "$bad"
una=$(jq -c 'select(.a == null) | [.signal, .step, .local]' "$out/connections.jsonl")
t_check all_analyzed test -z "$una"; [ -z "$una" ] || echo "$una"
s=$out/summary.json
sig() { jq -r --arg s "$1" ".variants[0].signals[] | select(.signal == \$s) | $2" "$s"; }
# timing against the model, +-20 %: TTFB for tcp (the reference), extra RTTs for the others
# (at least +-0.25 R_cp: the DSL jitter, +-1 ms on each of the four crossings before the first
# response byte, is 0.2 R_cp; a model of 0 extra RTTs needs an absolute bound). Each round trip
# may also gain the run's own emulator lateness L (its links' p99, summed): tcp waits 3 round
# trips, socks5 5 and convert 2, and an extra-RTT figure carries its own and tcp's.
# tol SIGNAL: the bound for that signal's figure, in its unit (ms for tcp, R_cp for the others)
tol() {
  local L k
  L=$(t_late_rt_ms_run "$s" "$(jq -r '.variants[0].name' "$s")")
  k=$(($(sig "$1" .model.rtts_before_data) + 2))
  if [ "$1" = tcp ]; then awk -v m="$(sig tcp .model.ttfb_ms)" -v l="$L" -v k="$k" 'BEGIN{print 0.2 * m + k * l}'
  else awk -v m="$(sig "$1" .model.extra_rtt)" -v l="$L" -v k="$k" -v r="$(jq '.variants[0].model.R_cp_ms' "$s")" \
    'BEGIN{e = (m < 0 ? -m : m) * 0.2; if (e < 0.25) e = 0.25; print e + (k + 3) * l / r}'; fi
}
fig() { if [ "$1" = tcp ]; then echo "$(sig tcp .ttfb_ms.p50) $(sig tcp .model.ttfb_ms)"; else echo "$(sig "$1" .extra_rtt) $(sig "$1" .model.extra_rtt)"; fi; }
timing_ok() { # prints the failing comparisons; true when all are inside
  local bad=0 x meas model
  for x in tcp socks5 convert; do
    read -r meas model <<< "$(fig "$x")"
    awk -v v="$meas" -v m="$model" -v e="$(tol "$x")" 'BEGIN{d = v - m; if (d < 0) d = -d; exit !(d <= e)}' || { echo "$x $meas vs $model"; bad=1; }
  done
  return $bad
}
# the machine is shared (2 cores): other load inflates the proxied paths more than the direct
# one, and not only through the emulators. A systematic error fails twice; one retry absorbs a
# burst of foreign load.
if ! why=$(timing_ok); then
  echo "# timing outside the bounds ($(echo $why)); load average $(cut -d' ' -f1-3 /proc/loadavg); $(jq -r -L emu/harness 'include "fidelity"; .variants[0] | fid_line' "$s" 2>/dev/null): one retry"
  out=$tmp/run2 s=$tmp/run2/summary.json
  ./mpxlab run "$tmp/small.exp" --out "$out" --quiet --accept-unfaithful > /dev/null 2>> "$tmp/run.err"
fi
for x in tcp socks5 convert; do
  read -r meas model <<< "$(fig "$x")"
  t_near "$([ $x = tcp ] && echo tcp_ttfb_vs_model_ms || echo "${x}_extra_rtt_vs_model")" "$meas" "$model" "$(tol "$x")"
done
t_check analyzer_rtts_convert test "$(sig convert .analyzer.rtts_before_data)" = 0
t_check analyzer_rtts_socks5 test "$(sig socks5 .analyzer.rtts_before_data)" = 3
t_check evidence_rows test "$(grep -c '^| `\(tcp\|socks5\|convert\)` |' "$out/report.md")" -ge 3
for x in tcp socks5 convert; do
  v=$(sig "$x" .violations)
  t_check "encoding_clean_$x" test "$v" = 0
  [ "$v" = 0 ] || jq -c --arg s "$x" 'select(.signal == $s) | .a.violations' "$out/connections.jsonl" | head -3
done
for p in pcaps/base/dsl.pcap pcaps/base/lte.pcap pcaps/base/wan.pcap; do t_check "has_$(basename "$p")" test -s "$out/$p"; done
command -v gnuplot >/dev/null && t_check plots test -s "$out/plots/ttfb-box.png" -a -s "$out/plots/synopt.svg"
tag=$(jq -r .namespace_tag "$out/manifest.json")
t_check no_namespaces_left test -z "$(ip netns list | awk '{print $1}' | grep "^mpx-${tag}v")"
# the verdict of the run the checks above used (experiments/README.md, "Fidelity")
echo "# $(jq -r -L emu/harness 'include "fidelity"; .variants[0] | fid_line' "$s" 2>/dev/null)"
t_done
