#!/usr/bin/env bash
# mpx-client's max_gap_us sees upload stalls: an upload (bulk-up) has nothing to read or write
# once its data is in the send buffer, so the client samples the unacknowledged bytes
# (SIOCOUTQ, data-level on MPTCP sockets) and counts each decrease as progress. Through one
# emulated link (tests/topo/pair.topo, 10 Mbit/s): a clean upload reports a gap below the 1 s
# stall threshold (before, the whole drain of the send buffer), an upload whose link is
# blackholed for 1.5 s mid-transfer (mpx-linkem's triggered schedule) a gap at least as long as
# the blackhole the emulator logged, over MPTCP and over plain TCP; emu/harness/bulk.jq counts
# the stalled ones as stalls.
# timeout: 60
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$MPX_ROOT/tests/lib/linkem.sh"
t_require_root
t_require_cmd ip jq
t_require_bin mpx-linkem mpx-server mpx-client
B=$MPX_ROOT/bin
out=$(mktemp -d /tmp/mpx-upstall.XXXXXX)
srv=''
mpx_us_cleanup() {
  [ -n "$srv" ] && kill "$srv" 2>/dev/null && wait "$srv" 2>/dev/null
  mpx_lkt_down > /dev/null 2>&1
  [ -n "${MPX_KEEP:-}" ] || rm -rf "$out"
}
trap mpx_us_cleanup EXIT INT TERM
# the blackhole waits for a SIGUSR2 (sent as each stalled upload starts); every trigger
# restarts the entries, so one schedule serves both stalled runs
MPX_TOPO_PCAP=0 mpx_lkt_up us "$out" --param l.rate=10mbit --param l.delay=5ms \
  --at "usr2+500ms down l" --at "usr2+2000ms up l" || { echo "FAIL: setup: topology"; exit 1; }
R=$MPX_LKT
nsa=$(mpx_topo_ns "$R" a) nsb=$(mpx_topo_ns "$R" b)
lk=$(mpx_topo_link_pid "$R" l)
slog=$out/l.schedule.jsonl
# a send buffer that takes the whole upload at once (as a large autotuned one does): the writes
# end at the start and the client then only waits; the stall can show only in the acks
ip netns exec "$nsa" sysctl -q -w net.ipv4.tcp_wmem="4096 16777216 16777216"
ip netns exec "$nsb" timeout 60 "$B/mpx-server" --mptcp --listen "$LK_B_IP:8080" \
  --json "$out/srv.json" --ready "$out/srv.ready" 2> "$out/srv.log" & srv=$!
for _ in $(seq 1 100); do [ -s "$out/srv.ready" ] && break; sleep 0.05; done
[ -s "$out/srv.ready" ] || { echo "FAIL: setup: mpx-server not ready"; cat "$out/srv.log"; exit 1; }

# mpx_us_client NAME MPTCP SIZE: one upload, its record in $out/NAME.json
mpx_us_client() {
  ip netns exec "$nsa" timeout 30 "$B/mpx-client" --signal tcp --target "$LK_B_IP:8080" \
    --mptcp "$2" --workload "bulk-up $3" --count 1 --timeout 20 --json "$out/$1.json" \
    2> "$out/$1.err" || true
  jq -c 'select(.type == "conn")' "$out/$1.json" 2> /dev/null | head -n1
}
mpx_us_jq() { jq -e "$@" > /dev/null; }   # quiet: a redirect after t_check would hide its line
mpx_us_ev() {   # real_us of schedule action $1 for trigger $2
  jq -r --arg a "$1" --argjson k "$2" 'select(.act == $a and .trigger == $k) | .real_us' "$slog" |
    head -n1
}

# 1. clean: every gap is an ack interval (tens of ms), far below a stall
r=$(mpx_us_client clean on 2MB)
echo "info: clean: $(jq -c '{ok, mptcp, t_done_us, max_gap_us, outq_samples, outq_every_max_us}' <<< "$r")"
t_check "clean MPTCP upload completed and verified" mpx_us_jq '.ok and .verified and .mptcp == "mptcp"' <<< "$r"
t_check "clean upload sampled its unacked bytes ($(jq .outq_samples <<< "$r") samples)" \
  mpx_us_jq '.outq_samples > 0' <<< "$r"
cgap=$(jq '.max_gap_us // 0' <<< "$r")
t_check "clean upload - max_gap_us $(jq .max_gap_us <<< "$r") < 1 s (the stall threshold)" \
  mpx_us_jq '.max_gap_us < 1000000' <<< "$r"

# 2. stalled: 4 MB (3.4 s at 10 Mbit/s), the link blackholed 0.5-2.0 s after the start
k=0
for mp in on off; do
  k=$((k + 1))
  kill -USR2 "$lk"
  r=$(mpx_us_client "stall-$mp" "$mp" 4MB)
  td=$(mpx_us_ev down "$k") tu=$(mpx_us_ev up "$k")
  if [ -z "$td" ] || [ -z "$tu" ]; then
    t_fail "blackhole $k logged" "schedule log: $(cat "$slog" 2>/dev/null)"; continue
  fi
  dur=$(( tu - td ))
  echo "info: stalled --mptcp $mp: $(jq -c '{ok, mptcp, t_done_us, max_gap_us, outq_samples, outq_every_max_us}' <<< "$r"), blackhole $dur us"
  t_check "stalled upload --mptcp $mp completed and verified" mpx_us_jq '.ok and .verified' <<< "$r"
  # the blackhole began while data was outstanding: it started before the upload was acked
  t_check "stalled upload --mptcp $mp - the blackhole began before it completed" \
    mpx_us_jq --argjson d "$td" '.t0_real_us + .t_done_us > $d' <<< "$r"
  # nothing can be acked while the link is down: the gap spans the blackhole, less at most
  # how late the client noticed the last ack before it (its longest SIOCOUTQ sample interval)
  t_check "stalled upload --mptcp $mp - max_gap_us $(jq .max_gap_us <<< "$r") >= blackhole $dur us - sampling lateness $(jq .outq_every_max_us <<< "$r") us" \
    mpx_us_jq --argjson d "$dur" '.max_gap_us + .outq_every_max_us >= $d' <<< "$r"
  # and it is the blackhole, not the whole upload (what the writes alone would show): it began
  # after the last ack before the blackhole, at most the clean run's longest ack gap before it
  t_check "stalled upload --mptcp $mp - the gap began at the blackhole, not at the start" \
    mpx_us_jq --argjson d "$td" --argjson g "$cgap" \
    '.max_gap_us <= .t0_real_us + .t_done_us - $d + $g' <<< "$r"
done

# 3. bulk.exp's table (emu/harness/bulk.jq) counts the stalled uploads as stalls, the clean one not
for n in clean stall-on stall-off; do
  jq -c --arg v "${n%%-*}" 'select(.type == "conn") | . + {variant: $v}' "$out/$n.json"
done > "$out/connections.jsonl"
bj=$(jq -c -s -f "$MPX_ROOT/emu/harness/bulk.jq" --arg fmt json "$out/connections.jsonl" |
  jq -c -s 'map({(.variant): .stalls}) | add')
t_check "bulk.jq - stalls clean 0 of 1, stalled 2 of 2 ($bj)" \
  mpx_us_jq '.clean == 0 and .stall == 2' <<< "$bj"
[ "$T_FAILED" = 0 ] || { echo "--- schedule"; cat "$slog"; echo "--- client"; cat "$out"/*.err; tail -n 5 "$out/srv.log"; }
t_done
