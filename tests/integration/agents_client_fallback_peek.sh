#!/usr/bin/env bash
# Known kernel issue (found with mpx-client, 6.18): on MPTCP sockets that fell back to TCP (the
# server is plain TCP), recv(MSG_PEEK|MSG_DONTWAIT) probes while data is arriving can make the
# stream lose data: with 2000 concurrent 100 kB downloads, a connection now and then receives
# bytes 0..88327 and 98464..99999 (61 segments, then 7 segments of 1448 bytes missing) and an
# orderly FIN. mpx-client's pattern check names the hole ("data missing").
# Controls: the same load without probes fails only with such holes (rarer), and plain TCP
# sockets with probes must be clean.
# The issue itself: reproduced within a few runs -> KNOWN (the documented kernel bug);
# not reproduced -> PASS (no data lost; it shows in about 1 run in 8 here).
# timeout: 240
set -uo pipefail
source "$(dirname "$0")/../lib.sh"
source "$MPX_ROOT/tests/lib/netns.sh"
t_require_root
t_require_cmd ip jq
t_require_bin mpx-server mpx-client

B=$MPX_ROOT/bin
trap mpx_nt_down EXIT INT TERM
mpx_nt_up agfbp || { echo "FAIL: setup: mpx_nt_up failed"; exit 1; }
D=$MPX_NT_DIR S4=$MPX_NT_S4
mpx_nt_bg server "$D/srv.log" "$B/mpx-server" --listen "$S4:8080" --json /dev/null --ready "$D/srv.ready"
mpx_nt_wait_file "$D/srv.ready" 10 || { echo "FAIL: setup: mpx-server not ready"; exit 1; }

# run NAME ARGS...: 2000 concurrent "rr 100/100000"; prints "ok failed holes other"
run() {
  local name=$1; shift
  rm -f "$D/$name.json"
  mpx_nt_exec client timeout 60 "$B/mpx-client" --signal tcp --target "$S4:8080" --count 2000 \
    --concurrency 2000 --workload "rr 100/100000" --timeout 20 --json "$D/$name.json" "$@" 2>/dev/null
  jq -s -r '[.[] | select(.type=="conn")] as $c |
    "\($c | map(select(.ok)) | length) \($c | map(select(.ok | not)) | length) \($c | map(select((.error // "") | test("data missing"))) | length) \($c | map(select((.ok | not) and ((.error // "") | test("data missing") | not))) | length)"' \
    "$D/$name.json"
}

# control 1: MPTCP fallback sockets, no probes. The CI run of this suite also saw 2 holes in
# 6000 here (so probes make the loss likelier, they are not its only trigger): every failure
# must be such a hole, named as such by the client's pattern check
bad=0 tot_ok=0 tot_holes=0
for i in 1 2 3; do
  read -r ok failed holes other <<<"$(run ctl-mp-$i --mptcp on)"
  tot_ok=$((tot_ok + ok)); bad=$((bad + other)); tot_holes=$((tot_holes + holes))
done
t_check "control - MPTCP fallback, no probes - $tot_ok/6000 verified, $tot_holes kernel holes, $bad other failures" [ "$bad" = 0 ]
# control 2: plain TCP sockets with probes
bad=0 tot_ok=0
for i in 1 2 3; do
  read -r ok failed holes other <<<"$(run ctl-tcp-$i --mptcp off --peek-probe 10)"
  tot_ok=$((tot_ok + ok)); bad=$((bad + failed))
done
t_check "control - plain TCP with MSG_PEEK probes - $tot_ok/6000 verified, $bad failed" [ "$bad" = 0 ]

# the issue: MPTCP fallback sockets with MSG_PEEK probes every 10 ms
found='' others=0 runs=0
for i in $(seq 1 25); do
  runs=$i
  read -r ok failed holes other <<<"$(run peek-$i --mptcp on --peek-probe 10)"
  others=$((others + other))
  if [ "$holes" -gt 0 ]; then
    found=$(jq -r 'select(.type=="conn" and ((.error // "") | test("data missing"))) | .error' "$D/peek-$i.json" | head -1)
    break
  fi
done
if [ "$others" -gt 0 ]; then
  t_fail "fallback+peek runs" "$others connections failed for another reason than a hole"
elif [ -n "$found" ]; then
  t_known "fallback+peek data loss" "reproduced in run $runs - MPTCP fallback + MSG_PEEK lost data - $found"
else
  t_pass "fallback+peek - no data lost in $runs runs of 2000 connections"
fi
t_done
