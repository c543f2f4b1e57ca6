#!/usr/bin/env bash
# The plan executor (mpxlab run --client-mode plan: one `mpx-client --plan -` per variant,
# the HAG's interception armed once per variant and switched per connection by one nft
# transaction each through the variant's `nft -i`) against the old way
# (--client-mode process with MPX_IC_BASE=0: a process and the whole HAG interception per
# connection): the same tiny experiment (tcp, socks5-auth, convert-cookie, mpconvert-opt and
# the three implicit signals: credentials, a cookie cache carried from line to line, the
# client's option helper, every HAG interception mode and the native probes) run both ways must
# give the same plan, the same steps and exit codes, the same client records field by field,
# the same analyzer verdicts and native-MPTCP verdicts. Not compared: what depends on
# timing (every *_us field, epoll_kicks, the ephemeral source port, and the number of
# subflows with their byte lists: a second subflow's join races the end of a 60 ms
# connection). First, mpx-client --plan's own contract on a local plan without namespaces.
# timeout: 150
set -uo pipefail
source "$(dirname "$0")/../lib.sh"
t_require_harness
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
C=$MPX_ROOT/bin/mpx-client

# --- mpx-client --plan: line protocol (no network needed: a usage error and a setup error)
printf '# a comment\n\n--signal\tnope\t--target\t127.0.0.1:9\t--tag\tt1\n--signal\ttcp\t--target\t127.0.0.1:9\t--json\t%s/no/such/dir/x.jsonl\t--tag\tt 2\n' "$tmp" > "$tmp/p1"
out=$("$C" --plan "$tmp/p1" 2> "$tmp/p1.err"); rc=$?
t_check plan_two_done_lines test "$(grep -c '^done' <<< "$out")" = 2
t_check plan_usage_line_rc2 test "$(awk -F'\t' 'NR == 1 {print $1, $2, $5}' <<< "$out")" = "done 2 t1"
t_check plan_setup_line_rc3 test "$(awk -F'\t' 'NR == 2 {print $1, $2, $5}' <<< "$out")" = "done 3 t 2"
t_check plan_exit_is_worst_line test "$rc" = 3
t_check plan_times_ordered awk -F'\t' '{ if (!($3 > 0 && $4 >= $3)) exit 1 }' <<< "$out"
"$C" --plan "$tmp/p1" --count 2 > /dev/null 2>&1; t_check plan_takes_no_other_option test $? = 2
"$C" --plan "$tmp/none" > /dev/null 2>&1; t_check plan_missing_file_rc2 test $? = 2

# --- the same experiment both ways
cat > "$tmp/tiny.exp" <<'X'
topology    hybrid
signals     tcp socks5-auth convert-cookie mpconvert-opt implicit implicit-prefer implicit-ra
workload    rr 100/1000
repetitions 2
seed        5
sysctl      hag net.ipv4.tcp_fastopen=0x3
timeout     conn 5s
X
for m in plan process; do
  s=$EPOCHREALTIME base=1; [ $m = process ] && base=0
  MPX_IC_BASE=$base ./mpxlab run "$tmp/tiny.exp" --out "$tmp/$m" --quiet --no-plots --accept-unfaithful --client-mode "$m" \
    > /dev/null 2> "$tmp/$m.err"; rc=$?
  t_check "run_${m}_rc0" test "$rc" = 0
  [ "$rc" = 0 ] || tail -n 20 "$tmp/$m.err" "$tmp/$m/logs/run.log"
  echo "# $m: $(awk -v a="$s" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.1f", b - a}') s, steps/span $(awk -F, '{s += $6 - $5; if (!f || $5 < f) f = $5; if ($6 > l) l = $6} END{printf "%.2f", s / (l - f)}' "$tmp/$m/steps.csv")"
done
P=$tmp/plan Q=$tmp/process
[ -s "$P/summary.json" ] && [ -s "$Q/summary.json" ] || { echo "# no summary to compare"; t_done; }

# one long-lived client per variant in plan mode (no restart), none in process mode
t_check plan_one_client test "$(grep -c -- '--plan -' "$P/logs/base/client.log")" = 1
t_check process_no_plan_client test "$(grep -c -- '--plan -' "$Q/logs/base/client.log" 2> /dev/null)" = 0
# the HAG armed once, switched through the variant's nft session (never a process per switch)
t_check plan_nft_session test "$(grep -c 'nft session PID' "$P/logs/base/intercept.log")" = 1
t_check plan_nft_no_fallback test "$(grep -c 'a process per switch' "$P/logs/base/intercept.log")" = 0
t_check same_plan cmp -s "$P/plan.csv" "$Q/plan.csv"
t_check same_steps_and_rcs diff <(cut -d, -f1-4,7 "$P/steps.csv") <(cut -d, -f1-4,7 "$Q/steps.csv")
t_check fourteen_steps test "$(grep -c . "$P/steps.csv")" = 14

# client records (measured, native probes, warm-up), field by field without the timing ones
norm='def norm: with_entries(select((.key | test("_us($|_)|^sf_bytes_") | not)
        and .key != "epoll_kicks" and .key != "outq_samples" and .key != "subflows"))
      | if .local then .local |= sub(":[0-9]+$"; "") else . end;
      [inputs | norm + {file: (input_filename | split("/") | .[-3:] | join("/"))}] | sort_by(.file, .type)'
recs() { (cd "$1" && jq -n -S -f /dev/stdin raw/base/*.jsonl native/base/*.jsonl warmup/raw/base/*.jsonl <<< "$norm"); }
recs "$P" > "$tmp/p.json"; recs "$Q" > "$tmp/q.json"
t_check records_present test "$(jq length "$tmp/p.json")" = 54   # (14 + 6 native + 7 warm-up) x (conn + summary)
if d=$(diff "$tmp/p.json" "$tmp/q.json"); then t_pass records_equal; else t_fail records_equal "$(head -n 20 <<< "$d")"; fi
t_check records_all_verified test "$(jq '[.[] | select(.type == "conn" and .verified != true)] | length' "$tmp/p.json")" = 0
# the timing-dependent subflow count is still consistent with its byte list
t_check subflows_consistent test "$(cd "$P" && jq -s '[.[] | select(.type == "conn" and .sf_bytes_in != null and (.sf_bytes_in | length) != .subflows)] | length' raw/base/*.jsonl)" = 0
echo "# records whose subflow count differs between the modes (join timing): $(diff <(cd "$P" && jq -c 'select(.type == "conn") | .subflows' raw/base/*.jsonl) \
  <(cd "$Q" && jq -c 'select(.type == "conn") | .subflows' raw/base/*.jsonl) | grep -c '^<')"

# the analyzer's verdict on every connection (what the pcaps show)
verd='[.[] | {step, signal, step_rc, ok, verified, a_matches, a: (.a // {} | {signal, signal_valid, req_in_syn,
        mptcp, syn_opt_bytes, router_alert, prefer_proxy, mpconvert_opt, target, reply, bytes,
        violations_total, cookie_used: .tfo.cookie_used, syn_data_len: .tfo.syn_data_len})}] | sort_by(.step)'
jq -s -S "$verd" "$P/connections.jsonl" > "$tmp/pv.json"; jq -s -S "$verd" "$Q/connections.jsonl" > "$tmp/qv.json"
t_check verdicts_equal diff "$tmp/pv.json" "$tmp/qv.json"
t_check verdicts_all_analyzed test "$(jq '[.[] | select(.a.signal == null)] | length' "$tmp/pv.json")" = 0
# per signal: counts and the native-MPTCP verdict of the implicit signal
sumq='[.variants[0] | .native_mptcp, (.signals[] | {signal, n, ok, verified})]'
t_check summary_equal diff <(jq -S "$sumq" "$P/summary.json") <(jq -S "$sumq" "$Q/summary.json")
t_done
