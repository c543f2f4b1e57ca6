#!/usr/bin/env bash
# Fault injection and the failover analysis over hybrid.topo, with its control:
#   variant fault:    a 3 MB download with the DSL link blackholed 300 ms in. The fault is
#                     applied inside the connection's time window, the link is restored after
#                     it, the download completes verified with no byte lost, no data-level stall
#                     after the fault lasts 5 s, the report has a Failover section, and the
#                     time-sequence shows LTE carrying data after the fault.
#   variant no-fault: the same channel without a fault, 20 MB (failover.exp's size: a shorter
#                     download is dominated by slow start): every download completes
#                     verified, over two subflows, within 1.25 x (its TTFB + 20 MB at the
#                     DSL + LTE rate of 50 Mbit/s), i.e. at >= 80 % of the aggregate rate
#                     (measured: 1.12-1.14 in failover.exp; 10 MB gave up to 1.28 on a busy host).
# convert is a SYN-payload channel: it needs mpx-client's --syn-wscale0 (default on) on this
# kernel, without which the no-fault download stalls (docs/kernel-findings.md 1).
# timeout: 240
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
timeout     conn 25s
variant     fault      fault 300ms dsl down ; fault 20s dsl up
variant     no-fault   workload bulk-down 20MB
X
out=$tmp/run
./mpxlab run "$tmp/fo.exp" --out "$out" --quiet --accept-unfaithful > /dev/null 2> "$tmp/err"; rc=$?
t_check run_rc test "$rc" = 0
[ "$rc" = 0 ] || tail -n 20 "$tmp/err" "$out/logs/run.log"
f=$out/links/fault/failover.json
t_check failover_json test -s "$f"
[ -s "$f" ] || t_done
# the fault fell inside each connection's window, and never before its 300 ms offset from the
# schedule's start (lateness only delays it: no upper bound that a loaded host could break)
while IFS=, read -r v _ k _ t0 t1 _; do
  [ "$v" = fault ] || continue
  tf=$(awk -v a="$t0" -v b="$t1" '$3 == "down" && $1 >= a && $1 <= b {print $1; exit}' "$out/logs/fault/faults.log")
  t_check "fault_in_step_$k" test -n "$tf"
  if [ -n "$tf" ]; then
    ts=$(awk -v f="$tf" '$2 == "schedule" && $1 <= f {s = $1} END {print s}' "$out/logs/fault/faults.log")
    off=$(awk -v a="$ts" -v b="$tf" 'BEGIN{printf "%.0f", (b - a) * 1000}')
    t_check "fault_not_early_$k (${off} ms after the schedule started, offset 300 ms)" test -n "$ts" -a "$off" -ge 300
  fi
  t_check "restored_after_step_$k" grep -q "dsl up" "$out/logs/fault/faults.log"
done < "$out/steps.csv"
# the totals and medians are summary.json's (failover.json has the per-connection rows)
fs=$tmp/failover-summary.json
jq '.variants[] | select(.name == "fault") | .failover' "$out/summary.json" > "$fs"
t_check two_faulted test "$(jq .n "$fs")" = 2
t_check completed test "$(jq .completed "$fs")" = 2
[ "$(jq .completed "$fs")" = 2 ] || jq -c '.per_connection[] | [.signal, .ok, .error]' "$f"
t_check no_bytes_lost test "$(jq .bytes_lost_total "$fs")" = 0
t_check verified test "$(jq .verified "$fs")" = 2
t_check stall_measured jq -e '.stall_ms | type == "number" and . > 0' "$fs" > /dev/null
stalls=$(jq -c '[.per_connection[].stall_ms]' "$f")
t_check "no_stall_over_5s_after_the_fault - $stalls ms" jq -e 'all(.per_connection[]; .stall_ms < 5000)' "$f"
t_check report_section grep -q '^### Failover' "$out/report.md"
lte_after=$(awk '/^# lte/ {on = 1; next} /^# / {on = 0} on && $1 > 0.4 && $2 > 0 {n++} END {print n + 0}' "$out/links/fault/failover-series.dat")
t_check lte_carries_after_fault test "$lte_after" -gt 10
command -v gnuplot >/dev/null && t_check failover_plot test -s "$out/plots/failover.png"
# the control: no fault, every download at the aggregate rate over both links
nf=$(jq -cs '[.[] | select(.variant == "no-fault")] | {
    n: length, ok: ([.[] | select(.ok and .verified and .bytes_in == 20000000)] | length),
    two: ([.[] | select(.subflows >= 2)] | length),
    ratio: ([.[] | select(.ok) | .t_done_us / (.ttfb_us + 20000000 * 8 / 50)] | max // null),
    mbit: ([.[] | select(.ok) | .bytes_in * 8 / .t_done_us] | min // null)}' "$out/connections.jsonl")
echo "# no-fault: $nf (ratio: completion / (TTFB + 20 MB at 50 Mbit/s), worst; mbit: slowest); fidelity: $(jq -r '.variants[] | select(.name == "no-fault") | .fidelity | "\(.verdict) \(.reasons)"' "$out/summary.json")"
t_check "no_fault_all_complete_over_two_subflows" jq -e '.n == 2 and .ok == 2 and .two == 2' <<< "$nf"
t_check "no_fault_at_aggregate_rate (worst completion $(jq .ratio <<< "$nf") x the model, <= 1.25)" \
  jq -e '.ratio != null and .ratio <= 1.25' <<< "$nf"
t_done
