#!/usr/bin/env bash
# Static checks: shellcheck at warning level on every shell script, cppcheck's warning class on
# every C file. Each finding is printed as file:line:col: severity: message [code], then one
# result line per checker ("PASS: shellcheck" / "FAIL: shellcheck: why"), which tests/run.sh
# counts as lint/shellcheck and lint/cppcheck.
#   tests/lint.sh [--only shellcheck|cppcheck] [PATH...]
# No PATH: the files git knows (tracked, plus new files that are not ignored). A PATH is a file
# or a directory, searched whether git tracks it or not. Shell scripts are *.sh, files whose
# first line is a sh/bash shebang, and sourced libraries that carry "# shellcheck shell=..." in
# their first 5 lines. A reviewed false positive is silenced on its line only: a
# "# shellcheck disable=SCnnnn" or "// cppcheck-suppress id" comment saying why.
# Exit: 0 clean, 1 a finding (or a checker missing or failing), 2 usage.
set -euo pipefail

mpx_lint_usage() { echo "usage: tests/lint.sh [--only shellcheck|cppcheck] [PATH...]" >&2; exit 2; }

only=
paths=()
while [ $# -gt 0 ]; do
  case $1 in
    --only) [ $# -ge 2 ] || mpx_lint_usage
      case $2 in shellcheck|cppcheck) only=$2 ;; *) mpx_lint_usage ;; esac; shift 2 ;;
    -h|--help) mpx_lint_usage ;;
    -*) mpx_lint_usage ;;
    *) [ -e "$1" ] || { echo "lint: $1: no such file or directory" >&2; exit 2; }
      paths+=("$(realpath -- "$1")"); shift ;;
  esac
done

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The candidate files, NUL-separated, relative to the root when inside it. Clean results are
# cached (build/lint) only for the whole-tree run, so a run over a scratch directory leaves
# nothing behind.
mpx_lint_files() {
  local p
  if [ ${#paths[@]} -eq 0 ]; then
    git ls-files -z --cached --others --exclude-standard
    return
  fi
  for p in "${paths[@]}"; do
    if [ -d "$p" ]; then find "$p" -type f ! -path '*/.git/*' -print0
    else printf '%s\0' "$p"; fi
  done | while IFS= read -r -d '' p; do printf '%s\0' "${p#"$root"/}"; done
}
use_cache=0; [ ${#paths[@]} -eq 0 ] && use_cache=1

all=()
while IFS= read -r -d '' f; do [ -f "$f" ] && all+=("$f"); done < <(mpx_lint_files)

sh_files=() c_files=()
for f in "${all[@]}"; do
  case $f in
    *.sh) sh_files+=("$f") ;;
    *.c) c_files+=("$f") ;;
  esac
done
# Scripts without the .sh suffix: one awk pass reads the first lines of every other file.
others=()
for f in "${all[@]}"; do case $f in *.sh|*.c|*.h) ;; *) others+=("$f") ;; esac; done
if [ ${#others[@]} -gt 0 ]; then
  while IFS= read -r f; do sh_files+=("$f"); done < <(
    printf '%s\0' "${others[@]}" | xargs -0 -r timeout 60 awk '
      FNR == 1 && /^#!/ { if ($0 ~ /^#![ \t]*[^ \t]*(\/|env[ \t]+)(ba|da|k)?sh([ \t]|$)/) print FILENAME; nextfile }
      FNR <= 5 && /^#[ \t]*shellcheck[ \t]+shell=/ { print FILENAME; nextfile }
      FNR > 5 { nextfile }')
fi

failed=0
# mpx_lint_report TOOL N-FILES WHAT OUT RC: prints the findings in OUT and the result line.
# Any output at all is a finding (or an error of the checker, just as fatal), as is a non-zero
# exit with no output (a crash or a timeout).
mpx_lint_report() {
  local tool=$1 n=$2 what=$3 out=$4 rc=$5 nf nfile
  if [ -s "$out" ]; then
    sort -t: -k1,1 -k2,2n -k3,3n "$out"
    nf=$(grep -cE '^[^:]+:[0-9]+:' "$out" || true)
    nfile=$(grep -oE '^[^:]+:[0-9]+:' "$out" | cut -d: -f1 | sort -u | wc -l)
    echo "FAIL: $tool: $nf finding(s) in $nfile of $n $what (each printed as file:line; make lint lists all)"
    failed=1
  elif [ "$rc" != 0 ]; then
    echo "FAIL: $tool: exit $rc with no output (timed out or crashed?)"
    failed=1
  else
    echo "PASS: $tool"
  fi
}

mpx_lint_shellcheck() {
  local n=${#sh_files[@]} t0=$SECONDS todo=() f h ver cache=
  command -v shellcheck > /dev/null || { echo "FAIL: shellcheck: not installed (make deps)"; failed=1; return; }
  declare -A sum=()
  todo=("${sh_files[@]}")
  if [ $use_cache = 1 ] && [ "$n" -gt 0 ]; then
    # A script whose bytes were clean under this shellcheck version is not checked again
    # (no -x: a script's result does not depend on the files it sources; one script per
    # call, since one invocation given a script and a file it sources reads that file
    # into the script's check, and the result would depend on what was batched together).
    ver=$(shellcheck --version | sed -n 's/^version: *//p')
    cache=build/lint/shellcheck-$ver-S-warning
    mkdir -p "$cache"
    todo=()
    while read -r h f; do
      sum[$f]=$h
      [ -e "$cache/$h" ] || todo+=("$f")
    done < <(sha1sum -- "${sh_files[@]}")
  fi
  local rc=0
  if [ ${#todo[@]} -gt 0 ]; then
    printf '%s\0' "${todo[@]}" |
      xargs -0 -r -n 1 -P 2 timeout 300 shellcheck -S warning -f gcc > "$tmp/sc" 2>&1 || rc=$?
  fi
  touch "$tmp/sc"
  # xargs: 123 = some shellcheck found warnings (named in sc); anything else (a crash, a
  # timeout) says nothing of the files, so none of them is cached as clean
  if [ -n "$cache" ] && { [ $rc = 0 ] || [ $rc = 123 ]; }; then
    declare -A bad=()
    while IFS= read -r f; do [ -z "$f" ] || bad[$f]=1; done < <(cut -d: -f1 "$tmp/sc")
    for f in "${todo[@]}"; do
      [ -n "${bad[$f]:-}" ] || touch "$cache/${sum[$f]}"
    done
  fi
  echo "lint: shellcheck -S warning: $n scripts ($((n - ${#todo[@]})) unchanged since clean), $((SECONDS - t0)) s"
  mpx_lint_report shellcheck "$n" scripts "$tmp/sc" "$rc"
}

mpx_lint_cppcheck() {
  local n=${#c_files[@]} t0=$SECONDS args=() rc=0
  command -v cppcheck > /dev/null || { echo "FAIL: cppcheck: not installed (make deps)"; failed=1; return; }
  if [ $use_cache = 1 ]; then
    # cppcheck's own cache: files (and the headers they include) that did not change are not
    # analysed again
    mkdir -p build/lint/cppcheck
    args+=(--cppcheck-build-dir=build/lint/cppcheck)
  fi
  # SEC() comes from libbpf's bpf_helpers.h, a system header cppcheck does not read: without
  # it cppcheck stops at the first BPF map (unknownMacro) and checks nothing in *.bpf.c.
  # missingIncludeSystem: cppcheck does not read system headers on purpose (speed).
  if [ "$n" -gt 0 ]; then
    timeout 600 cppcheck -q -j2 "${args[@]}" --enable=warning --std=c11 -I. -D_GNU_SOURCE \
      '-DSEC(x)=' --inline-suppr --suppress=missingIncludeSystem --error-exitcode=1 \
      --template='{file}:{line}:{column}: {severity}: {message} [{id}]' \
      "${c_files[@]}" > "$tmp/cpp" 2>&1 || rc=$?
  fi
  touch "$tmp/cpp"
  echo "lint: cppcheck --enable=warning: $n C files, $((SECONDS - t0)) s"
  mpx_lint_report cppcheck "$n" "C files" "$tmp/cpp" "$rc"
}

[ "$only" = cppcheck ] || mpx_lint_shellcheck
[ "$only" = shellcheck ] || mpx_lint_cppcheck
exit "$failed"
