#!/usr/bin/env bash
# timeout: 300
# tests/lint.sh (what make lint and the runner's lint/* results run) on scratch files: passes
# clean ones, fails on one shellcheck warning and on one cppcheck finding, printing file:line,
# finds scripts by suffix, shebang and "# shellcheck shell=" directive, and ignores style-level
# remarks (the level is warning). Then make lint itself on a bad file.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
t_require_cmd shellcheck cppcheck
L=$MPX_ROOT/tests/lint.sh
D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT

# mpx_lint_run ARGS...: sets OUT (stdout+stderr) and RC without tripping set -e
mpx_lint_run() { RC=0; OUT=$(timeout 120 "$L" "$@" 2>&1) || RC=$?; }
# mpx_lint_expect NAME RC REGEX ARGS...: exit code and an output line matching REGEX
mpx_lint_expect() {
  local name=$1 want_rc=$2 re=$3; shift 3
  mpx_lint_run "$@"
  if [ "$RC" != "$want_rc" ]; then t_fail "$name" "exit $RC, want $want_rc: $(tail -n 8 <<<"$OUT" | tr '\n' '|')"; return; fi
  if ! grep -Eq -- "$re" <<<"$OUT"; then t_fail "$name" "output lacks /$re/: $(tail -n 8 <<<"$OUT" | tr '\n' '|')"; return; fi
  t_pass "$name"
}

# Clean files: a script, a script known by its shebang only, a sourced library known by its
# directive only, a C file, and a file that is neither (ignored).
mkdir -p "$D/clean"
cat > "$D/clean/ok.sh" <<'EOF'
#!/usr/bin/env bash
set -euo pipefail
name=${1:-world}
echo "hello $name"
EOF
cat > "$D/clean/tool" <<'EOF'
#!/bin/sh
echo "tool: $*"
EOF
cat > "$D/clean/helpers.inc" <<'EOF'
# shellcheck shell=bash
mpx_helper_greet() { echo "hi $1"; }
EOF
cat > "$D/clean/ok.c" <<'EOF'
#include <stdio.h>
#include <stdlib.h>
int main(void)
{
    char *p = malloc(4);
    if (!p) return 1;
    p[0] = 'a';
    printf("%c %u\n", p[0], 3u);
    free(p);
    return 0;
}
EOF
printf 'plain text, not a script\n' > "$D/clean/notes.txt"
mpx_lint_expect clean-passes 0 '^PASS: cppcheck$' "$D/clean"
t_check clean-shellcheck-passes grep -q '^PASS: shellcheck$' <<<"$OUT"
# all three scripts were found (suffix, shebang, directive) and the text file was not
t_check finds-3-scripts grep -q 'shellcheck -S warning: 3 scripts' <<<"$OUT"
t_check finds-1-c-file grep -q 'cppcheck --enable=warning: 1 C files' <<<"$OUT"

# A style-level remark (SC2086, unquoted expansion) is below the warning level: still a pass.
mkdir -p "$D/style"
printf '#!/usr/bin/env bash\nf=$1\nls $f\n' > "$D/style/style.sh"
mpx_lint_expect style-remark-passes 0 '^PASS: shellcheck$' --only shellcheck "$D/style"

# One shellcheck warning (SC2034, a variable never used): fails, with file:line and the code.
mkdir -p "$D/badsh"
printf '#!/usr/bin/env bash\nset -euo pipefail\nunused=1\necho hi\n' > "$D/badsh/bad.sh"
mpx_lint_expect shellcheck-warning-fails 1 "^$D/badsh/bad.sh:3:1: warning: .*\[SC2034\]$" "$D/badsh"
t_check shellcheck-fail-line grep -q '^FAIL: shellcheck: 1 finding(s) in 1 of 1 scripts' <<<"$OUT"

# The same kind of warning in a script found by its shebang only, and in a sourced library
# found by its directive only (SC2164: cd without a fallback).
mkdir -p "$D/badshebang" "$D/badlib"
printf '#!/bin/bash\ncd "$1"\nls\n' > "$D/badshebang/runme"
mpx_lint_expect shebang-script-checked 1 "^$D/badshebang/runme:2:1: warning: .*\[SC2164\]$" \
  --only shellcheck "$D/badshebang"
printf '# shellcheck shell=bash\nmpx_x_go() {\n  cd "$1"\n}\n' > "$D/badlib/lib.inc"
mpx_lint_expect directive-library-checked 1 "^$D/badlib/lib.inc:3:3: warning: .*\[SC2164\]$" \
  --only shellcheck "$D/badlib"

# cppcheck findings of the warning class: a null check after the dereference, and %u given an
# int (the two kinds the tree had).
mkdir -p "$D/badnull" "$D/badfmt"
cat > "$D/badnull/null.c" <<'EOF'
#include <stddef.h>
int first(const int *p)
{
    int v = *p;
    if (p == NULL) return -1;
    return v;
}
EOF
mpx_lint_expect cppcheck-null-fails 1 "^$D/badnull/null.c:4:[0-9]+: warning: .*\[nullPointerRedundantCheck\]$" \
  --only cppcheck "$D/badnull"
t_check cppcheck-fail-line grep -q '^FAIL: cppcheck: 1 finding(s) in 1 of 1 C files' <<<"$OUT"
cat > "$D/badfmt/fmt.c" <<'EOF'
#include <stdio.h>
void show(int n)
{
    printf("%u\n", n);
}
EOF
mpx_lint_expect cppcheck-format-fails 1 "^$D/badfmt/fmt.c:4:[0-9]+: warning: .*\[invalidPrintfArgType_uint\]$" \
  --only cppcheck "$D/badfmt"

# --only picks one checker: the bad C file does not fail a shellcheck-only run.
mpx_lint_expect only-selects-checker 0 '^PASS: shellcheck$' --only shellcheck "$D/badfmt"
# A single file as the PATH, and several PATHs in one run (both findings reported).
mpx_lint_expect file-path-and-several 1 'FAIL: cppcheck' "$D/badsh/bad.sh" "$D/badnull/null.c"
t_check several-both-fail grep -q '^FAIL: shellcheck' <<<"$OUT"
mpx_lint_expect usage-exit-2 2 usage --only nothing
mpx_lint_expect missing-path-exit-2 2 'no such file' "$D/absent"

# make lint is the same script: it fails on the bad script and passes on the clean files.
RC=0; OUT=$(timeout 120 make -s -C "$MPX_ROOT" lint LINT_PATHS="$D/badsh" 2>&1) || RC=$?
t_check make-lint-fails test "$RC" != 0
t_check make-lint-names-finding grep -q "bad.sh:3:1:.*SC2034" <<<"$OUT"
RC=0; OUT=$(timeout 120 make -s -C "$MPX_ROOT" lint LINT_PATHS="$D/clean" 2>&1) || RC=$?
t_check make-lint-clean-passes test "$RC" = 0
t_done
