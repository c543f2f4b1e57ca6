#!/usr/bin/env bash
# Fault injection and the failover analysis: a 3 MB download over hybrid.topo with the DSL
# link blackholed 300 ms in. The fault is applied inside the connection's time window, the
# link is restored after it, the download completes with a verified payload and no byte lost,
# the report has a Failover section with a measured stall, and the time-sequence shows LTE
# carrying data after the fault.
# timeout: 180
set -uo pipefail
source "$(dirname "$0")/../lib.sh"
t_require_root
t_require_cmd jq ip nft tcpdump
cd "$MPX_ROOT" || exit 1
t_require_bin mpx-linkem mpx-server mpx-client mpx-proxy mpx-analyze
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/fo.exp" <<'X'
topology    hybrid
signals     convert
workload    bulk-down 3MB
repetitions 2
seed        6
fault       300ms dsl down
fault       20s dsl up
timeout     conn 25s
X
out=$tmp/run
./mpxlab run "$tmp/fo.exp" --out "$out" --quiet --accept-unfaithful > /dev/null 2> "$tmp/err"; rc=$?
t_check run_rc test "$rc" = 0
[ "$rc" = 0 ] || tail -n 20 "$tmp/err" "$out/logs/run.log"
f=$out/links/base/failover.json
t_check failover_json test -s "$f"
[ -s "$f" ] || t_done
# the fault fell inside each connection's window, and never before its 300 ms offset from the
# schedule's start (lateness only delays it: no upper bound that a loaded host could break)
while IFS=, read -r _ _ k _ t0 t1 _; do
  tf=$(awk -v a="$t0" -v b="$t1" '$3 == "down" && $1 >= a && $1 <= b {print $1; exit}' "$out/logs/base/faults.log")
  t_check "fault_in_step_$k" test -n "$tf"
  if [ -n "$tf" ]; then
    ts=$(awk -v f="$tf" '$2 == "schedule" && $1 <= f {s = $1} END {print s}' "$out/logs/base/faults.log")
    off=$(awk -v a="$ts" -v b="$tf" 'BEGIN{printf "%.0f", (b - a) * 1000}')
    t_check "fault_not_early_$k (${off} ms after the schedule started, offset 300 ms)" test -n "$ts" -a "$off" -ge 300
  fi
  t_check "restored_after_step_$k" grep -q "dsl up" "$out/logs/base/faults.log"
done < "$out/steps.csv"
# the totals and medians are summary.json's (failover.json has the per-connection rows)
fs=$tmp/failover-summary.json
jq '.variants[] | select(.name == "base") | .failover' "$out/summary.json" > "$fs"
t_check two_faulted test "$(jq .n "$fs")" = 2
t_check completed test "$(jq .completed "$fs")" = 2
[ "$(jq .completed "$fs")" = 2 ] || jq -c '.per_connection[] | [.signal, .ok, .error]' "$f"
t_check no_bytes_lost test "$(jq .bytes_lost_total "$fs")" = 0
t_check verified test "$(jq .verified "$fs")" = 2
t_check stall_measured jq -e '.stall_ms | type == "number" and . > 0' "$fs" > /dev/null
t_check report_section grep -q '^### Failover' "$out/report.md"
lte_after=$(awk '/^# lte/ {on = 1; next} /^# / {on = 0} on && $1 > 0.4 && $2 > 0 {n++} END {print n + 0}' "$out/links/base/failover-series.dat")
t_check lte_carries_after_fault test "$lte_after" -gt 10
command -v gnuplot >/dev/null && t_check failover_plot test -s "$out/plots/failover.png"
t_done
