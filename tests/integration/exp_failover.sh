#!/usr/bin/env bash
# Fault injection and the failover analysis over hybrid.topo, with its control:
#   variant carrier:  a 3 MB download with the fault from the DSL emulator's own schedule:
#                     carrier loss 300 ms in ("fault 300ms dsl linkem:carrier-down"), timed in the
#                     emulator's clock from the trigger the harness sends right before each
#                     connection. The fault is inside each connection's time window and never
#                     earlier than its offset (from the run's own records: the emulator's
#                     pcaps/V/dsl.schedule.jsonl), the download completes verified with no byte
#                     lost, no data-level stall after the fault lasts 5 s, the time-sequence shows
#                     LTE carrying data after the fault, and the report has a Failover section.
#   variant no-fault: the same channel without a fault, 20 MB (failover.exp's size: a shorter
#                     download is dominated by slow start): every download completes
#                     verified, over two subflows, within 1.25 x (its TTFB + 20 MB at the
#                     DSL + LTE rate of 50 Mbit/s), i.e. at >= 80 % of the aggregate rate
#                     (measured: 1.12-1.14 in failover.exp; 10 MB gave up to 1.28 on a busy host).
# convert is a SYN-payload channel: it needs mpx-client's --syn-wscale0 (default on) on this
# kernel, without which the no-fault download stalls (docs/kernel-findings.md 1). The
# experiment file (experiments/failover.exp) keeps the real sizes and repetitions, and also the
# harness's own nftables blackhole and the emulator's silent blackhole (linkem:down), for DSL and
# LTE each; the emulator's actions themselves are tested in linkem_schedule.sh.
# timeout: 240
set -uo pipefail
source "$(dirname "$0")/../lib.sh"
t_require_root
t_require_cmd jq ip nft tcpdump
cd "$MPX_ROOT" || exit 1
t_require_bin mpx-linkem mpx-server mpx-client mpx-proxy mpx-analyze
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
jqe() { jq -e "$@" > /dev/null; }
cat > "$tmp/fo.exp" <<'X'
topology    hybrid
signals     convert
workload    bulk-down 3MB
repetitions 2
seed        6
timeout     conn 25s
variant     carrier    fault 300ms dsl linkem:carrier-down ; fault 20s dsl linkem:carrier-up
variant     no-fault   workload bulk-down 20MB
X
out=$tmp/run
./mpxlab run "$tmp/fo.exp" --out "$out" --quiet --accept-unfaithful > /dev/null 2> "$tmp/err"; rc=$?
t_check run_rc test "$rc" = 0
[ "$rc" = 0 ] || tail -n 20 "$tmp/err" "$out/logs/run.log"
# shellcheck disable=SC2043  # one faulted variant now; the checks are per variant
for v in carrier; do
  f=$out/links/$v/failover.json
  t_check "${v}_failover_json" test -s "$f"
  [ -s "$f" ] || continue
  # the fault of each step (failover.json's t_fault, from the run's records) fell inside the
  # step's window, and never before its 300 ms offset from the emulator's trigger (its clock);
  # lateness only delays it: no upper bound
  while IFS=, read -r sv _ k _ t0 t1 _; do
    [ "$sv" = "$v" ] || continue
    tf=$(jq -r --argjson k "$k" '.per_connection[] | select(.step == $k) | .t_fault' "$f")
    t_check "${v}_fault_in_step_$k" awk -v a="$t0" -v b="$t1" -v f="${tf:-0}" 'BEGIN { exit !(f >= a && f <= b) }'
    ts=$(jq -r --argjson f "$tf" 'select(.act | startswith("trigger")) | select(.real_us / 1e6 <= $f) | .real_us / 1e6' \
        "$out/pcaps/$v/dsl.schedule.jsonl" | tail -n 1)
    off=$(awk -v a="${ts:-0}" -v b="$tf" 'BEGIN{printf "%.0f", (b - a) * 1000}')
    t_check "${v}_fault_not_early_$k (${off} ms after the trigger, offset 300 ms)" test -n "$ts" -a "$off" -ge 300
  done < "$out/steps.csv"
  # the emulator did it: one trigger and one carrier-down per connection, in its own log
  t_check "${v}_emulator_carrier_down_per_connection" \
    jqe -s '([.[] | select(.act | startswith("trigger"))] | length) == 2 and ([.[] | select(.act == "carrier-down")] | length) == 2' \
    "$out/pcaps/$v/dsl.schedule.jsonl"
  # the totals and medians are summary.json's (failover.json has the per-connection rows)
  fs=$tmp/$v-summary.json
  jq --arg v "$v" '.variants[] | select(.name == $v) | .failover' "$out/summary.json" > "$fs"
  t_check "${v}_two_faulted" test "$(jq .n "$fs")" = 2
  t_check "${v}_completed" test "$(jq .completed "$fs")" = 2
  [ "$(jq .completed "$fs")" = 2 ] || jq -c '.per_connection[] | [.signal, .ok, .error]' "$f"
  t_check "${v}_no_bytes_lost" test "$(jq .bytes_lost_total "$fs")" = 0
  t_check "${v}_verified" test "$(jq .verified "$fs")" = 2
  t_check "${v}_stall_measured" jqe '.stall_ms | type == "number" and . > 0' "$fs"
  stalls=$(jq -c '[.per_connection[].stall_ms]' "$f")
  t_check "${v}_no_stall_over_5s_after_the_fault - $stalls ms" jqe 'all(.per_connection[]; .stall_ms < 5000)' "$f"
  lte_after=$(awk '/^# lte/ {on = 1; next} /^# / {on = 0} on && $1 > 0.4 && $2 > 0 {n++} END {print n + 0}' "$out/links/$v/failover-series.dat")
  t_check "${v}_lte_carries_after_fault" test "$lte_after" -gt 10
done
t_check report_section grep -q '^### Failover' "$out/report.md"
command -v gnuplot >/dev/null && t_check failover_plot test -s "$out/plots/failover.png"
# the control: no fault, every download at the aggregate rate over both links
nf=$(jq -cs '[.[] | select(.variant == "no-fault")] | {
    n: length, ok: ([.[] | select(.ok and .verified and .bytes_in == 20000000)] | length),
    two: ([.[] | select(.subflows >= 2)] | length),
    ratio: ([.[] | select(.ok) | .t_done_us / (.ttfb_us + 20000000 * 8 / 50)] | max // null),
    mbit: ([.[] | select(.ok) | .bytes_in * 8 / .t_done_us] | min // null)}' "$out/connections.jsonl")
echo "# no-fault: $nf (ratio: completion / (TTFB + 20 MB at 50 Mbit/s), worst; mbit: slowest); fidelity: $(jq -r '.variants[] | select(.name == "no-fault") | .fidelity | "\(.verdict) \(.reasons)"' "$out/summary.json")"
t_check "no_fault_all_complete_over_two_subflows" jqe '.n == 2 and .ok == 2 and .two == 2' <<< "$nf"
# 1.25, widened by the run's own emulator lateness over the shortest round trip (DSL, 20 ms):
# a window-limited download slows by RTT / (RTT + lateness)
late=$(t_late_rt_ms_run "$out/summary.json" no-fault)
lim=$(awk -v l="$late" 'BEGIN{printf "%.3f", 1.25 * (20 + l) / 20}')
t_check "no_fault_at_aggregate_rate (worst completion $(jq .ratio <<< "$nf") x the model, <= $lim = 1.25 x (20 + $late ms emulator lateness) / 20)" \
  jqe --argjson lim "$lim" '.ratio != null and .ratio <= $lim' <<< "$nf"
t_done
