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
