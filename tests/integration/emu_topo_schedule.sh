#!/usr/bin/env bash
# A topology schedule "at 1s down dsl / at 2s up dsl" (lines in the .topo file) stops and
# resumes traffic at those times: a 50 Hz ping over DSL gets replies until ~1 s, none while
# the link is down, and replies again from ~2 s (times relative to the emulator's start,
# start_real_us in its stats). A --at line from the command line works the same way (3 s:
# DSL delay 10 -> 30 ms each way, RTT 20 -> 60 ms).
# timeout: 90
# shellcheck disable=SC2015,SC2086,SC2119  # "check && pass || fail" lines; PID lists split on purpose
set -uo pipefail
source "$(dirname "$0")/../lib.sh"
t_require_root
t_require_cmd ip ethtool jq
t_require_bin mpx-linkem
source "$MPX_ROOT/emu/lib/topo.sh"
source "$MPX_ROOT/emu/lib/testutil.sh"
RUN=emus$$
TMP=$(mktemp -d /tmp/mpx-emu-sched.XXXXXX)
cleanup() { mpx_topo_down "$RUN" >/dev/null 2>&1; rm -rf "$TMP"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

{ cat "$MPX_ROOT/topologies/hybrid.topo"; printf 'at 1s down dsl\nat 2s up dsl\n'; } > "$TMP/sched.topo"
if ! mpx_topo_up "$TMP/sched.topo" "$RUN" 3 --pcap-dir "$TMP/cap" --param dsl.jitter=0ms --at "3s set dsl delay=30ms"; then
  t_fail topo_up "mpx_topo_up failed"; t_done
fi
HAG=$(mpx_topo_addr "$RUN" hag dsl)
mpx_topo_exec "$RUN" client ping -n -D -i 0.02 -W 1 -w 4 "$HAG" > "$TMP/ping.txt" 2>&1
base=$(mpx_topo_link_stats "$RUN" dsl | jq -r .start_real_us)
[[ $base =~ ^[0-9]+$ ]] || { t_fail stats_start "no start_real_us in stats"; t_done; }
# reply times (s since the emulator's start) and RTTs
awk -v b="$base" -F'[][]' '/bytes from/ { split($3, a, "time="); split(a[2], r, " ");
  printf "%.4f %s\n", $2 - b/1e6, r[1] }' "$TMP/ping.txt" > "$TMP/replies"
echo "replies: $(wc -l < "$TMP/replies"), first at $(head -n1 "$TMP/replies"), last at $(tail -n1 "$TMP/replies")"
last_before=$(awk '$1 < 1.5 {t=$1} END{print t+0}' "$TMP/replies")
first_after=$(awk '$1 >= 1.5 {print $1; exit}' "$TMP/replies")
during=$(awk '$1 > 1.03 && $1 < 2.0' "$TMP/replies" | wc -l)
before=$(awk '$1 > 0.3 && $1 < 0.95' "$TMP/replies" | wc -l)
after=$(awk '$1 > 2.1 && $1 < 2.9' "$TMP/replies" | wc -l)
echo "last reply before the gap at ${last_before}s, first after at ${first_after:-none}s; replies 0.3-0.95 s: $before, 1.03-2.0 s: $during, 2.1-2.9 s: $after"
[ "$before" -ge 15 ] && t_pass "traffic_before_down ($before replies)" || t_fail traffic_before_down "$before replies in 0.3-0.95 s"
[ "$during" = 0 ] && t_pass "no_traffic_while_down" || t_fail no_traffic_while_down "$during replies between 1.03 and 2.0 s"
[ "$after" -ge 20 ] && t_pass "traffic_after_up ($after replies)" || t_fail traffic_after_up "$after replies in 2.1-2.9 s"
# the emulator's lateness (p99 of both directions, from its stats) only delays replies
late=$(mpx_topo_link_stats "$RUN" dsl | t_late_rt_ms)
t_near_late "stops_at_1s" "$last_before" 1.0 0.05 "$(awk -v l="$late" 'BEGIN{print l / 1000}')"
t_near_late "resumes_at_2s" "${first_after:-99}" 2.03 0.05 "$(awk -v l="$late" 'BEGIN{print l / 1000}')"
# the --at line: RTT from 3.1 s on is 60 ms (+ serialization)
rtt=$(awk '$1 > 3.1 {print $2}' "$TMP/replies" | mpx_tu_median)
t_near_late "at_set_delay_rtt_ms" "$rtt" 60.4 0.6 "$late"
early=$(awk '$1 > 2.1 && $1 < 2.9 {print $2}' "$TMP/replies" | mpx_tu_median)
t_near_late "rtt_before_set_ms" "$early" 20.4 0.6 "$late"

mpx_topo_down "$RUN"
# the emulator logged each packet dropped while down
down_drops=$(jq -c 'select(.reason=="down")' "$TMP/cap/dsl.events.jsonl" 2>/dev/null | wc -l)
down_other=$(jq -c 'select(.reason!="down")' "$TMP/cap/dsl.events.jsonl" 2>/dev/null | wc -l)
[ "$down_drops" -ge 30 ] && [ "$down_other" = 0 ] && t_pass "events_down_drops ($down_drops)" ||
  t_fail events_down_drops "down=$down_drops other=$down_other"
t_done
