#!/usr/bin/env bash
# A signal added as one registry row reaches the harness, the report and the analyzer with no
# edit outside proto/: a test build (-DMPX_SIGNAL_TEST_ROW, its own build/testrow/ tree; bin/
# and build/rel/ are not touched) has the throw-away row `convert-test` (the Convert
# front-end, the request waits for the reply). A small run over hybrid.topo with MPX_BIN at
# that build asks for tcp, convert-wait and convert-test, then:
#   - the name appears only in proto/ and tests/ (git grep), and only the test build lists it;
#   - every convert-test connection succeeded with a verified payload over MPTCP, went to the
#     row's port, and the analyzer classed it as the row's wire class (convert), request not
#     in the SYN (the row waits for the reply);
#   - summary.json has the signal with the row's model (the same as convert-wait's, whose
#     formula it names) and the report's evidence table has its row with the channel text.
# timeout: 420
set -uo pipefail
source "$(dirname "$0")/../lib.sh"
t_require_root
t_require_cmd jq ip nft git make cc
cd "$MPX_ROOT" || exit 1
t_require_bin mpx-wire
tmp=$(mktemp -d /tmp/mpx-testrow.XXXXXX); trap 'rm -rf "$tmp"' EXIT
TB=$MPX_ROOT/build/testrow/bin
row=convert-test

# --- 1. the name lives in proto/ (and this test) only
where=$(git grep -l -w "$row" -- ':!proto/' ':!tests/' 2>&1); grc=$?
if [ $grc = 1 ]; then t_pass "'$row' named only in proto/ and tests/"
else t_fail "'$row' named only in proto/ and tests/" "git grep rc $grc: $(echo $where)"; fi

# --- 2. the test build, beside the normal one
if ! CFLAGS='-O2 -g -DMPX_SIGNAL_TEST_ROW' timeout 400 make -C "$MPX_ROOT" --no-print-directory -j2 \
    VARIANT=testrow BINDIR="build/testrow/bin" all > "$tmp/build.log" 2>&1; then
  t_fail build "make VARIANT=testrow failed: $(grep -m3 -E 'error|Error' "$tmp/build.log" | tr '\n' ' ')"; t_done
fi
t_pass "test build in build/testrow"
t_check "the normal bin/ without the row" \
  test -z "$("$MPX_ROOT/bin/mpx-wire" signals --names | grep -x "$row")"
"$TB/mpx-wire" signals --json > "$tmp/reg.json" || { t_fail registry "test build: mpx-wire signals --json failed"; t_done; }
R=$(jq -c --arg n "$row" '.signals[] | select(.name == $n)' "$tmp/reg.json")
t_check "the test build's registry has the row ($(jq -r '"\(.frontend):\(.port) wire \(.wire) model \(.model)"' <<<"${R:-null}"))" test -n "$R"
[ -n "$R" ] || t_done

# --- 3. a run with the test build
cat > "$tmp/testrow.exp" <<'X'
description  The registry's throw-away test row next to the signal it copies.
topology     hybrid.topo
signals      tcp convert-wait convert-test
workload     rr 100/1000
repetitions  4
seed         1
mptcp        on
model        cp=dsl ps=wan
timeout      setup 60s
timeout      conn 5s
timeout      run 170s
X
out=$tmp/run
MPX_BIN=$TB ./mpxlab run "$tmp/testrow.exp" --out "$out" --quiet --no-plots --accept-unfaithful > "$tmp/run.out" 2> "$tmp/run.err"; rc=$?
t_check "mpxlab run with MPX_BIN=build/testrow/bin (rc $rc)" test "$rc" = 0
if [ ! -s "$out/connections.jsonl" ]; then
  echo "# run output:"; tail -n 20 "$tmp/run.err" "$out/logs/run.log" 2>/dev/null | sed 's/^/#   /'
  t_fail results "no connections.jsonl"; t_done
fi

# --- 4. the client, proxy and analyzer on the wire
c() { local f=${*: -1}; jq -rs --arg n "$row" "${@:1:$#-1}" "[.[] | select(.signal == \$n)] | $f" "$out/connections.jsonl"; }
n=$(c length)
t_check "$row connections in the run ($n)" test "$n" = 4
bad=$(c '[.[] | select(.ok != true or .verified != true) | "\(.step): \(.error)"] | join("; ")')
t_check "$row - every connection ok and verified${bad:+ ($bad)}" test -z "$bad" -a "$n" -gt 0
port=$(jq -r .port <<<"$R")
nport=$(c --argjson p "$port" '[.[] | select(.via != null and (.via | sub(".*:"; "") | tonumber) == $p and .mptcp == "mptcp")] | length')
t_check "$row - went to the row's proxy port $port over MPTCP ($nport/$n)" test "$nport" = "$n" -a "$n" -gt 0
wire=$(jq -r .wire <<<"$R")
nwire=$(c --arg w "$wire" '[.[] | select(.a != null and .a.signal == $w and .a.req_in_syn == false and .a.tfo.syn_data_len > 0)] | length')
t_check "$row - analyzer class '$wire', signal in the SYN payload, request after the reply ($nwire/$n)" \
  test "$nwire" = "$n" -a "$n" -gt 0

# --- 5. summary and report
s=$out/summary.json
sg() { jq -r --arg n "$1" ".variants[0].signals[] | select(.signal == \$n) | $2" "$s" 2>/dev/null; }
t_check "summary.json has $row" test -n "$(sg "$row" .signal)"
m_row=$(sg "$row" .model.extra_rtt) m_cw=$(sg convert-wait .model.extra_rtt)
t_check "$row - the model's extra RTTs ($m_row) are convert-wait's ($m_cw), same formula $(jq -r .model <<<"$R")" \
  test -n "$m_row" -a "$m_row" != null -a "$m_row" = "$m_cw"
chan=$(jq -r .channel <<<"$R")
line=$(grep -F "| \`$row\` |" "$out/report.md" 2>/dev/null | head -1)
t_check "report evidence table - a $row row with the channel '$chan'" \
  test -n "$line" -a -z "${line##*"| $chan |"*}"
[ -n "$line" ] && echo "# $line"
t_done
