# Shared helpers for integration tests (source it). Each check prints one result line that
# tests/run.sh counts: PASS: name / FAIL: name: why / SKIP: name: why / KNOWN: name: why.
# shellcheck shell=bash
MPX_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export MPX_ROOT
T_FAILED=0

t_pass() { echo "PASS: $1"; }
t_fail() { echo "FAIL: $1: ${2:-failed}"; T_FAILED=1; }
t_skip() { echo "SKIP: $1: $2"; }
# t_known NAME WHY: a documented kernel bug (agents/README.md, with its reproducer) was hit:
# not SKIP (the check ran and saw the bug), not a failure of ours; the runner lists it
t_known() { echo "KNOWN: $1: $2"; }
# t_check NAME CMD...: PASS when CMD succeeds, FAIL (with CMD) otherwise
t_check() { local n=$1; shift; if "$@"; then t_pass "$n"; else t_fail "$n" "$*"; fi; }
# t_near NAME VALUE TARGET TOL: |VALUE-TARGET| <= TOL (floats)
t_near() {
  if awk -v v="$2" -v t="$3" -v e="$4" 'BEGIN{d=v-t; if(d<0)d=-d; exit !(d<=e)}'; then
    t_pass "$1 ($2 vs $3 +-$4)"; else t_fail "$1" "$2 not within $4 of $3"; fi
}
# Emulator lateness (a late release by an overloaded mpx-linkem) only ever adds delay. Timing
# bounds widen by what the run's own emulators measured, never by a fixed window: a round trip
# through a link gains at most its p99 release lateness of both directions.
# t_late_rt_ms STATS.json...: the worst (ab p99 + ba p99) over those linkem stats files, in ms
_T_LATE_RT='[.[] | (.ab.late_us.p99 // 0) + (.ba.late_us.p99 // 0)]'
# shellcheck disable=SC2120  # without files it reads stdin (a stats JSON piped in)
t_late_rt_ms() { jq -s "$_T_LATE_RT"' | (max // 0) / 1000' "$@"; }
# t_late_rt_ms_run SUMMARY VARIANT: from a run's summary.json (its fidelity record), the sum over
# every link of the variant: what a round trip through any path of the topology can gain
t_late_rt_ms_run() {
  jq --arg v "$2" '[.variants[] | select(.name == $v) | .fidelity.lateness.directions // []
    | .[].p99] | add // 0 | . / 1000' "$1"
}
# t_topo_late_rt_ms RUN LINK...: the sum over a path's links of a running topology (emu/lib/topo.sh)
t_topo_late_rt_ms() {
  local run=$1 l; shift
  for l; do mpx_topo_link_stats "$run" "$l"; done | jq -s "$_T_LATE_RT"' | (add // 0) / 1000'
}
# t_near_late NAME VALUE TARGET TOL LATE: TARGET - TOL <= VALUE <= TARGET + TOL + LATE
t_near_late() {
  if awk -v v="$2" -v t="$3" -v e="$4" -v l="$5" 'BEGIN{exit !(v >= t - e && v <= t + e + l)}'; then
    t_pass "$1 ($2 vs $3 -$4/+$4+$5 emulator lateness)"
  else t_fail "$1" "$2 not within $3 -$4/+($4 + $5 emulator lateness)"; fi
}
# t_rate_late NAME RATE NEED RTT_MS LATE: RATE >= NEED * RTT / (RTT + LATE), the rate a
# window-limited transfer keeps when every round trip of RTT_MS gains LATE ms
t_rate_late() {
  local n
  n=$(awk -v r="$3" -v t="$4" -v l="$5" 'BEGIN{printf "%.2f", r * t / (t + l)}')
  if awk -v g="$2" -v n="$n" 'BEGIN{exit !(g >= n)}'; then
    t_pass "$1 ($2 >= $n = $3 x $4 / ($4 + $5 ms emulator lateness))"
  else t_fail "$1" "$2 < $n = $3 x $4 / ($4 + $5 ms emulator lateness)"; fi
}
# Whole script skips (exit 77) when a prerequisite is missing.
t_require_root() { [ "$(id -u)" = 0 ] || { echo "SKIP: all: needs root"; exit 77; }; }
t_require_cmd() { local c; for c; do command -v "$c" >/dev/null || { echo "SKIP: all: $c not installed"; exit 77; }; done; }
t_require_bin() { local b; for b; do [ -x "$MPX_ROOT/bin/$b" ] || { echo "FAIL: all: bin/$b not built"; exit 1; }; done; }
# What a test running `mpxlab run` needs: root, jq/ip/nft, the agents, emulator and analyzer
# built; it leaves the caller in MPX_ROOT.
t_require_harness() {
  t_require_root
  t_require_cmd jq ip nft
  cd "$MPX_ROOT" || exit 1
  t_require_bin mpx-linkem mpx-server mpx-client mpx-proxy mpx-analyze
}
t_done() { exit "$T_FAILED"; }
