#!/usr/bin/env bash
# Every interruption ends with the manifest saying "interrupted" and one line on the run's own
# stderr (never in an agent's log), exit 128 + the signal, nothing of the run left:
# 1. SIGTERM while the warm-up connection runs (the warm-up rebinds OUT and sends the client's
#    output to /dev/null: the notice used to vanish and the manifest stayed "running");
# 2. SIGINT while the measured connections run.
# Reduced topology (single.topo), tcp only.
# timeout: 90
set -uo pipefail
source "$(dirname "$0")/../lib.sh"
t_require_root
t_require_cmd jq ip nft env
cd "$MPX_ROOT" || exit 1
t_require_bin mpx-linkem mpx-server mpx-client mpx-proxy mpx-analyze
tmp=$(mktemp -d)
run_pid=''
# shellcheck disable=SC2317  # the trap
cleanup() { [ -n "$run_pid" ] && kill -TERM "$run_pid" 2>/dev/null && wait "$run_pid"; rm -rf "$tmp"; }
trap cleanup EXIT
left() { # OUT TAG: what remains of that run (namespaces, processes naming its directory)
  ip netns list | awk '{print $1}' | grep "^mpx-$2v" || true
  ps -eo pid=,args= | grep -F -- "$1/" | grep -v grep || true
}
# check NAME OUT RC WANT_RC SIGNAME
check() {
  local n=$1 o=$2 rc=$3 want=$4 sig=$5 tag
  t_check "${n}_rc$want" test "$rc" = "$want"
  t_check "${n}_manifest_interrupted" test "$(jq -r .status "$o/manifest.json" 2>/dev/null)" = interrupted
  t_check "${n}_manifest_code" test "$(jq -r .exit_code "$o/manifest.json" 2>/dev/null)" = "$want"
  t_check "${n}_stderr_line" grep -q "^mpxlab run: interrupted ($sig), cleaning up$" "$o.err"
  # the agents' and the client's logs: the notice is not there
  t_check "${n}_not_in_agent_logs" test -z "$(grep -rl 'interrupted' "$o/logs/base" "$o/warmup/logs" 2>/dev/null)"
  tag=$(jq -r .namespace_tag "$o/manifest.json" 2>/dev/null)
  t_check "${n}_nothing_left" test -z "$(left "$o" "$tag")"
  [ "$rc" = "$want" ] || tail -n 15 "$o.err" "$o/logs/run.log" 2>/dev/null
}

# 1. SIGTERM in the warm-up: its one connection hangs (the WAN loses every frame) for 3 s
printf 'topology single\nsignals tcp\nworkload rr 100/1000\nrepetitions 3\nwarmup 1ms\nmodel cp=acc ps=wan\ntimeout conn 3s\nparam wan.loss=100%%\n' > "$tmp/w.exp"
./mpxlab run "$tmp/w.exp" --out "$tmp/w" --quiet --no-plots > /dev/null 2> "$tmp/w.err" &
run_pid=$!
# the warm-up's client is running: a process naming the warm-up records (--client-mode process),
# or the variant's plan client, which the warm-up's first connection starts (its start line in
# the variant's client log, logs/base/client.log: run.sh's MPX_PLAN_LOG; the warm-up's own
# logs/ get no line), while no measured step ran yet (the warm-up's connection hangs 3 s)
in_warmup() {
  ps -eo args= | grep -F -- "$tmp/w/warmup/raw/" | grep -qv grep ||
    { grep -qs -- 'mpx-client --plan' "$tmp/w/logs/base/client.log" && [ ! -s "$tmp/w/steps.csv" ]; }
}
# judged once, where it was seen: asking again races a short-lived process of the warm-up that
# names its records (ci9: seen, then not seen by the second ps)
seen=0
for ((i = 0; i < 1500; i++)); do in_warmup && { seen=1; break; }; sleep 0.02; done
t_check term_in_warmup test "$seen" = 1
kill -TERM "$run_pid"; wait "$run_pid"; rc=$?; run_pid=''
check term "$tmp/w" "$rc" 143 SIGTERM
t_check term_no_measured_step test ! -s "$tmp/w/steps.csv"

# 2. SIGINT while measured connections run (SIGINT restored: background jobs start with it ignored)
printf 'topology single\nsignals tcp\nworkload rr 100/1000\nrepetitions 200\nwarmup 0\nmodel cp=acc ps=wan\ntimeout conn 3s\n' > "$tmp/i.exp"
env --default-signal=INT ./mpxlab run "$tmp/i.exp" --out "$tmp/i" --quiet --no-plots > /dev/null 2> "$tmp/i.err" &
run_pid=$!
for ((i = 0; i < 600; i++)); do [ -s "$tmp/i/steps.csv" ] && break; sleep 0.05; done
t_check int_in_steps test -s "$tmp/i/steps.csv"
kill -INT "$run_pid"; wait "$run_pid"; rc=$?; run_pid=''
check int "$tmp/i" "$rc" 130 SIGINT
t_check int_stopped_early test "$(grep -c . "$tmp/i/steps.csv")" -lt 200
t_done
