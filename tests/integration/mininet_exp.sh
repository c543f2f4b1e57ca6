#!/usr/bin/env bash
# The small experiment (tcp, socks5, convert x 5 repetitions over hybrid.topo) on both
# backends: the evidence tables agree - the same extra-RTT count per signal (the measured
# extra RTTs round to the same integer, or differ by at most 0.35 RTT: load on the shared
# machine), the same RTTs before data from the analyzer (exact), the same encoding verdicts,
# TTFB medians within 10 %; the manifest records the backend; Mininet agents run through
# mnexec; nothing of the Mininet run remains - after a normal run, after a run failing
# midway (MPX_RUN_FAIL_AFTER hook) and after SIGINT.
# timeout: 240
set -uo pipefail
source "$(dirname "$0")/../lib.sh"
t_require_root
t_require_cmd jq ip nft env
cd "$MPX_ROOT" || exit 1
t_require_bin mpx-linkem mpx-server mpx-client mpx-proxy mpx-analyze
export MPX_ROOT
# shellcheck source=emu/lib/topo.sh
source emu/lib/topo.sh
# shellcheck source=emu/mininet/backend.sh
source emu/mininet/backend.sh
why=$(mpx_mn_check) || { echo "SKIP: all: Mininet backend unavailable: $why"; exit 77; }
tmp=$(mktemp -d /tmp/mpx-mn-exp.XXXXXX); trap 'rm -rf "$tmp"' EXIT
export MPX_MN_INVENTORY_LOG=$tmp/inventory   # backend.sh appends what each run held at down
cat > "$tmp/small.exp" <<'X'
topology    hybrid
signals     tcp socks5 convert
workload    rr 100/1000
repetitions 5
seed        11
timeout     conn 10s
X
left() { # OUT TAG: what remains of that run (namespaces, processes naming the result dir,
  # anything of the Mininet inventory: sandbox, Mininet host shells, network namespaces)
  ip netns list | awk '{print $1}' | grep "^mpx-$2v" || true
  ps -eo pid=,args= | grep -F -- "$1/" | grep -v grep || true
  [ ! -s "$MPX_MN_INVENTORY_LOG" ] || mpx_mn_leftovers "$MPX_MN_INVENTORY_LOG" || true
}

declare -A dur
for b in netns mininet; do
  : > "$MPX_MN_INVENTORY_LOG"
  t0=$EPOCHREALTIME
  ./mpxlab run "$tmp/small.exp" --out "$tmp/$b" --quiet --no-plots --accept-unfaithful --backend "$b" > "$tmp/$b.out" 2>&1; rc=$?
  dur[$b]=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.1f", b-a}')
  t_check "${b}_run_rc0 (${dur[$b]} s)" test "$rc" = 0
  [ "$rc" = 0 ] || tail -n 20 "$tmp/$b.out" "$tmp/$b/logs/run.log" "$tmp/$b/logs/topo.log" 2>/dev/null
  t_check "${b}_manifest_backend" test "$(jq -r .backend "$tmp/$b/manifest.json" 2>/dev/null)" = "$b"
  bad=$(jq -c 'select(.ok != true or .verified != true or .a == null) | [.signal, .step, .error]' "$tmp/$b/connections.jsonl" 2>&1)
  n=$(wc -l < "$tmp/$b/connections.jsonl" 2>/dev/null || echo 0)
  t_check "${b}_15_verified_analyzed_connections" test "$n" = 15 -a -z "$bad" || echo "$bad"
  if [ $b = mininet ]; then
    x=$(grep -h '^# .* mpx-server ' "$tmp/$b/logs/base/"*.log 2>/dev/null | head -n 1)
    [[ $x == *" mnexec -a "* ]] && t_pass mininet_agents_via_mnexec || t_fail mininet_agents_via_mnexec "$x"
  fi
  tag=$(jq -r .namespace_tag "$tmp/$b/manifest.json" 2>/dev/null)
  l=$(left "$tmp/$b" "$tag")
  if [ $b = mininet ]; then
    np=$(grep -c '^pid ' "$MPX_MN_INVENTORY_LOG")
    [ "$np" -ge 10 ] && [ -z "$l" ] && t_pass "mininet_run_leaves_nothing ($np processes checked)" ||
      t_fail mininet_run_leaves_nothing "inventory $np pids; $l"
  else t_check netns_run_leaves_nothing test -z "$l" || echo "$l"; fi
done

# the evidence: per signal, from summary.json (the numbers behind report.md's evidence table)
# ev_cell BACKEND SIGNAL: the "encoding checks" cell of the signal's row in the evidence table
ev_cell() { awk -F' [|] ' -v s="| \`$2\`" '/^## /{e=($0 ~ /^## Evidence table/)} e && index($0, s) == 1 {print $(NF-1); exit}' "$tmp/$1/report.md"; }
sig() { jq -r --arg s "$2" ".variants[0].signals[] | select(.signal == \$s) | $3" "$tmp/$1/summary.json" 2>/dev/null; }
# late_run BACKEND: a round trip's emulator lateness in that run (its fidelity record)
late_run() { t_late_rt_ms_run "$tmp/$1/summary.json" "$(jq -r '.variants[0].name' "$tmp/$1/summary.json")"; }
for s in tcp socks5 convert; do
  ea=$(sig netns "$s" .extra_rtt) eb=$(sig mininet "$s" .extra_rtt)
  ra=$(awk -v x="$ea" 'BEGIN{printf "%d", (x < 0) ? x - 0.5 : x + 0.5}') rb=$(awk -v x="$eb" 'BEGIN{printf "%d", (x < 0) ? x - 0.5 : x + 0.5}')
  if [ -n "$ea" ] && [ -n "$eb" ] && { [ "$ra" = "$rb" ] || awk -v a="$ea" -v b="$eb" 'BEGIN{d=a-b; exit !(d <= 0.35 && d >= -0.35)}'; }; then
    t_pass "${s}_same_extra_rtts ($ra, netns $ea, mininet $eb)"; else t_fail "${s}_same_extra_rtts" "netns $ea, mininet $eb"; fi
  na=$(sig netns "$s" .analyzer.rtts_before_data) nb=$(sig mininet "$s" .analyzer.rtts_before_data)
  [ -n "$na" ] && [ "$na" = "$nb" ] && t_pass "${s}_same_rtts_before_data ($na)" || t_fail "${s}_same_rtts_before_data" "netns $na, mininet $nb"
  va=$(sig netns "$s" .violations) vb=$(sig mininet "$s" .violations)
  ca=$(ev_cell netns "$s")
  cb=$(ev_cell mininet "$s")
  [ -n "$va" ] && [ "$va" = "$vb" ] && [ -n "$ca" ] && [ "$ca" = "$cb" ] && t_pass "${s}_same_encoding_verdict ($ca, $va violations)" ||
    t_fail "${s}_same_encoding_verdict" "netns '$ca' $va, mininet '$cb' $vb"
  ta=$(sig netns "$s" .ttfb_ms.p50) tb=$(sig mininet "$s" .ttfb_ms.p50)
  # each round trip before the first response byte (rtts_before_data + 2) may gain either run's
  # emulator lateness (its links' p99 summed over a round trip)
  late=$(awk -v a="$(late_run netns)" -v b="$(late_run mininet)" -v k="$((${na:-0} + 2))" 'BEGIN{print (a + b) * k}')
  if [ -n "$ta" ] && [ -n "$tb" ]; then t_near "${s}_ttfb_median_within_10pct" "$tb" "$ta" "$(awk -v a="$ta" -v l="$late" 'BEGIN{print 0.1 * a + l}')"
  else t_fail "${s}_ttfb_median_within_10pct" "netns '$ta' mininet '$tb'"; fi
done
./mpxlab compare "$tmp/netns" "$tmp/mininet" > "$tmp/compare.md" 2>&1 && sed -n '/^| signal/,$p' "$tmp/compare.md"

# a Mininet run failing midway
: > "$MPX_MN_INVENTORY_LOG"
MPX_RUN_FAIL_AFTER=2 ./mpxlab run "$tmp/small.exp" --out "$tmp/fail" --quiet --no-plots --backend mininet > /dev/null 2> "$tmp/fail.err"; rc=$?
t_check fail_rc1 test "$rc" = 1
tag=$(jq -r .namespace_tag "$tmp/fail/manifest.json" 2>/dev/null)
l=$(left "$tmp/fail" "$tag")
[ -s "$MPX_MN_INVENTORY_LOG" ] && [ -z "$l" ] && t_pass "fail_leaves_nothing ($(grep -c '^pid ' "$MPX_MN_INVENTORY_LOG") processes checked)" ||
  t_fail fail_leaves_nothing "inventory $(wc -l < "$MPX_MN_INVENTORY_LOG") lines; $l"

# SIGINT while connections run
: > "$MPX_MN_INVENTORY_LOG"
env --default-signal=INT ./mpxlab run "$tmp/small.exp" --reps 50 --out "$tmp/int" --quiet --no-plots --backend mininet > /dev/null 2> "$tmp/int.err" &
pid=$!
for ((i = 0; i < 1200; i++)); do [ -s "$tmp/int/steps.csv" ] && break; sleep 0.05; done
t_check int_started test -s "$tmp/int/steps.csv"
[ -s "$tmp/int/steps.csv" ] || tail -n 20 "$tmp/int.err" "$tmp/int/logs/run.log" 2>/dev/null
kill -INT "$pid"
wait "$pid"; rc=$?
t_check int_rc130 test "$rc" = 130
l=$(left "$tmp/int" "e$pid")
[ -s "$MPX_MN_INVENTORY_LOG" ] && [ -z "$l" ] && t_pass "int_leaves_nothing ($(grep -c '^pid ' "$MPX_MN_INVENTORY_LOG") processes checked)" ||
  t_fail int_leaves_nothing "inventory $(wc -l < "$MPX_MN_INVENTORY_LOG") lines; $l"
t_done
