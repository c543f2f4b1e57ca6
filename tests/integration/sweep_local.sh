#!/usr/bin/env bash
# mpxlab sweep --engine local --shards 4 of a small experiment (2 variants x 4 repetitions,
# tcp and convert, 5 % loss hag -> client on dsl: no lost SYN with data) merges into the
# folder one unsharded run writes: the same plan and connections, the same drop sequence
# where the seed fixes it (the first block of each variant brings its links up like the single
# run: equal drops over the packet indices both reached), a median inside the other
# run's measured range (the timing of an emulation is host-sensitive), the same report sections
# plus "Shards", and a manifest that lists each shard's host, start, end and exit status.
# sweep --status counts them.
# timeout: 180
set -uo pipefail
source "$(dirname "$0")/../lib.sh"
t_require_harness
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/tiny.exp" <<'X'
topology    hybrid
param       dsl.ab.loss=5%
signals     tcp convert
workload    rr 100/1000
repetitions 4
seed        7
warmup      0
timeout     conn 10s
variant     near   param dsl.delay=5ms
variant     far    param dsl.delay=10ms
X
./mpxlab run "$tmp/tiny.exp" --out "$tmp/single" --quiet --no-plots > /dev/null 2> "$tmp/single.err"; rc=$?
# 0, or 5: a variant judged not faithful (CPU pressure of a busy host): the report is written
t_check single_rc test "$rc" = 0 -o "$rc" = 5
head0=$(git rev-parse HEAD 2> /dev/null)
path=$(./mpxlab sweep "$tmp/tiny.exp" --shards 4 --engine local --out "$tmp/sw" --no-plots 2> "$tmp/sweep.err"); rc=$?
t_check sweep_rc test "$rc" = 0
# shards run at different commits are refused by design: say so when others committed meanwhile
[ "$head0" = "$(git rev-parse HEAD 2> /dev/null)" ] || echo "# HEAD moved during the sweep ($head0 -> $(git rev-parse HEAD)): merge refuses shards of different commits"
t_check sweep_prints_report test "$path" = "$tmp/sw/merged/report.md"
m=$tmp/sw/merged s=$tmp/single
if [ ! -s "$m/summary.json" ] || [ ! -s "$s/summary.json" ]; then
  tail -n 20 "$tmp/single.err" "$tmp/sweep.err" "$tmp"/sw/logs/*.log 2>/dev/null; t_done
fi
# the shards: plain `mpxlab run` lines with the run's seed; blocks of 2 repetitions per variant
t_check four_shard_files test "$(ls "$tmp"/sw/shards/*.exp | wc -l)" = 4
t_check shard_cmds_plain test "$(jq -r '.shards[].cmd' "$tmp/sw/sweep.json" | grep -c '^\./mpxlab run .* --seed 7 --reps 4 --rep-range [13]-[24]')" = 4
t_check shard_002_range test "$(jq -r '.shards[1] | "\(.variants[0]) \(.reps)"' "$tmp/sw/sweep.json")" = "near 3-4"
# the same connections in the same order
t_check same_plan cmp -s "$s/plan.csv" "$m/plan.csv"
key() { jq -r '[.variant, .rep, .step, .signal] | @tsv' "$1/connections.jsonl" | sort; }
t_check connection_count test "$(grep -c . "$m/connections.jsonl")" = "$(grep -c . "$s/connections.jsonl")"
t_check same_connections test "$(key "$m")" = "$(key "$s")"
t_check merged_ok test "$(jq -s 'map(select(.ok == true and .verified == true)) | length' "$m/connections.jsonl")" = "$(cat "$tmp"/sw/shards/00?/connections.jsonl | jq -s 'map(select(.ok == true and .verified == true)) | length')"
t_check csv_rows test "$(tail -n +2 "$m/connections.csv" | grep -c .)" = 16
# drops: shard 001 (near, reps 1-2) and 003 (far, reps 1-2) against the single run, per link
# direction over the packet indices both reached; the merged events carry the shard
drops() { # EVENTS STATS_A STATS_B
  local ab ba
  ab=$(jq -s 'map(.ab.pkts_in) | min' "$2" "$3") ba=$(jq -s 'map(.ba.pkts_in) | min' "$2" "$3")
  jq -r --argjson ab "$ab" --argjson ba "$ba" \
    'select((.dir == "ab" and .idx < $ab) or (.dir == "ba" and .idx < $ba)) | "\(.dir) \(.idx) \(.reason)"' "$1" | sort -k1,1 -k2,2n
}
ndrops=0
for p in near:001 far:003; do
  v=${p%%:*} id=${p#*:}
  sh=$tmp/sw/shards/$id/pcaps/$v
  ds=$(drops "$s/pcaps/$v/dsl.events.jsonl" "$s/pcaps/$v/dsl.stats.json" "$sh/dsl.stats.json")
  dm=$(jq -c --arg id "$id" 'select(.shard == $id) | del(.shard)' "$m/pcaps/$v/dsl.events.jsonl" > "$tmp/ev.jsonl"
       drops "$tmp/ev.jsonl" "$s/pcaps/$v/dsl.stats.json" "$sh/dsl.stats.json")
  t_check "same_drops_$v" test "$ds" = "$dm"
  [ "$ds" = "$dm" ] || diff <(echo "$ds") <(echo "$dm") | head
  ndrops=$((ndrops + $(grep -c . <<< "$ds")))
  t_check "pcap_link_$v" test -s "$m/pcaps/$v/shard-$id/lte.pcap"
done
t_check drops_seen test "$ndrops" -ge 1
# medians: one run's median lies inside the other's measured range (min..max TTFB), per variant
# and signal (a loss hit costs a retransmission timeout, and later blocks meet the draws on
# other packets: a bound from the runs' own spread, not a fixed window)
range() { jq -s -r --arg v "$2" --arg x "$3" 'map(select(.variant == $v and .signal == $x and .ok == true) | .ttfb_us / 1000) | "\(min) \(max)"' "$1/connections.jsonl"; }
for v in near far; do
  for x in tcp convert; do
    q() { jq -r --arg v "$v" --arg x "$x" ".variants[] | select(.name == \$v) | .signals[] | select(.signal == \$x) | .ttfb_ms | $2" "$1/summary.json"; }
    t_check "n_${v}_$x" test "$(q "$m" .n)" = 4
    read -r smin smax <<< "$(range "$s" "$v" "$x")"; read -r mmin mmax <<< "$(range "$m" "$v" "$x")"
    pm=$(q "$m" .p50) ps=$(q "$s" .p50)
    # a median may lie above the other run's range by what its own run's emulators lost: the
    # TTFB's two round trips (handshake, request) each gain at most that run's lateness
    lm=$(t_late_rt_ms_run "$m/summary.json" "$v") ls=$(t_late_rt_ms_run "$s/summary.json" "$v")
    if awk -v pm="$pm" -v ps="$ps" -v a="$smin" -v b="$smax" -v c="$mmin" -v d="$mmax" -v lm="$lm" -v ls="$ls" \
      'BEGIN{exit !((pm >= a && pm <= b + 2 * lm) || (ps >= c && ps <= d + 2 * ls))}'; then
      t_pass "median_${v}_$x (merged $pm ms [$mmin..$mmax] +2x$lm ms lateness, single $ps [$smin..$smax] +2x$ls ms)"
    else t_fail "median_${v}_$x" "merged $pm ms [$mmin..$mmax] +2x$lm ms lateness and single $ps [$smin..$smax] +2x$ls ms: neither median in the other's range"; fi
  done
done
# the report: every section of the single run's, plus the shards
# a heading may carry the variant's verdict after its name, and the fidelity and problem
# sections come and go with the load of the host (not faithful on a busy one)
secs() { grep '^##' "$1/report.md" | grep -v -E '^## (Fidelity|Problems)' | sed 's/\(`[^`]*`\).*/\1/' | sort -u; }
t_check report_sections test -z "$(comm -23 <(secs "$s") <(secs "$m"))"
t_check report_shards grep -q '^## Shards' "$m/report.md"
t_check report_title grep -q '^# mpxlab report: tiny ' "$m/report.md"
t_check report_html test -s "$m/report.html"
# manifest: every shard with host, start, end, exit 0
t_check manifest_done test "$(jq -r .status "$m/manifest.json")" = "done"
t_check manifest_shards test "$(jq --arg h "$(uname -n)" '[.shards[] | select(.merged and .host == $h and (.exit_status | type) == "number" and .start != null and .end != null)] | length' "$m/manifest.json")" = 4
st=$(./mpxlab sweep --status "$tmp/sw")
t_check status_counts grep -q '^done 4, running 0, failed 0, pending 0 of 4' <<< "$st"
tags=$(jq -r .namespace_tag "$s/manifest.json" "$tmp"/sw/shards/*/manifest.json | paste -sd'|')
t_check no_namespaces_left test -z "$(ip netns list | awk '{print $1}' | grep -E "^mpx-($tags)v")"
t_done
