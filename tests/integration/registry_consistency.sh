#!/usr/bin/env bash
# The signal registry (proto/signal.c, `mpx-wire signals --json`) against what the client and
# proxy really do: experiments/default.exp (every signal over hybrid.topo) with 2 repetitions,
# then per registry row, from the run's connections.jsonl and summary.json:
#   - the row ran, every connection succeeded with a verified payload and was analyzed;
#   - the SYN option bytes the analyzer counted in the real SYN equal the row's recipe budget
#     (.budget.v4.sent, .budget["v4-cookie"].sent when the SYN carried a TFO cookie; v6 for
#     IPv6 targets), and a cookie was used exactly when the row's TFO mode is "cookie";
#   - the analyzer's class of the first bytes (.a.signal) is the row's wire class;
#   - the channel: SYN payload for "payload" rows (the request with it unless the row waits
#     for the reply), the TCP option (MP_PREFER_PROXY / MP_CONVERT) for "option" rows, the
#     Router Alert for "ipopt" rows, none of them otherwise;
#   - explicit rows went to the row's proxy port, the others to the target; each front-end
#     (in the proxy instance with credentials when the row has auth) accepted at least the
#     connections of its rows;
#   - MPTCP end to end when the row says so, plain TCP otherwise.
# timeout: 240
set -uo pipefail
source "$(dirname "$0")/../lib.sh"
t_require_root
t_require_cmd jq ip nft
cd "$MPX_ROOT" || exit 1
t_require_bin mpx-linkem mpx-server mpx-client mpx-proxy mpx-analyze mpx-wire mpx-optd
BIN=${MPX_BIN:-$MPX_ROOT/bin}
tmp=$(mktemp -d /tmp/mpx-regtest.XXXXXX); trap 'rm -rf "$tmp"' EXIT
out=$tmp/run

timeout 30 "$BIN/mpx-wire" signals --json > "$tmp/reg.json" || { t_fail registry "mpx-wire signals --json failed"; t_done; }
# MPX_REGTEST_RUN=DIR checks an existing run directory instead (diagnosis)
if [ -n "${MPX_REGTEST_RUN:-}" ]; then out=$MPX_REGTEST_RUN rc=0
else ./mpxlab run default --reps 2 --out "$out" --quiet --no-plots --accept-unfaithful > "$tmp/run.out" 2> "$tmp/run.err"; rc=$?; fi
t_check run_rc test "$rc" = 0
if [ ! -s "$out/connections.jsonl" ] || [ ! -s "$out/summary.json" ]; then
  tail -n 30 "$tmp/run.err" "$out/logs/run.log" 2>/dev/null; t_fail results "no connections.jsonl/summary.json"; t_done
fi

# One line per row: name, a short description, the problems (empty when consistent).
jq -r --slurpfile c "$out/connections.jsonl" --slurpfile s "$out/summary.json" '
  ($s[0].variants[0].agents // {}) as $ag
  | def fam(x): if (x.target // "" | startswith("[")) then "v6" else "v4" end;
    def port(v): v | tostring | sub(".*:"; "") | tonumber;
    def budget(r; x): r.budget[fam(x) + (if x.a.tfo.cookie_used then "-cookie" else "" end)].sent;
    # connections of the rows sharing a front-end in one proxy instance
    def want(f; auth): [.signals[] | select(.frontend == f and .auth == auth) | .name] as $n
      | [$c[] | select(.signal as $g | any($n[]; . == $g))] | length;
    . as $reg
  | .signals[] as $r
  | [$c[] | select(.signal == $r.name)] as $x
  | [
      (if ($x | length) == 0 then "no connection in the run" else empty end),
      ($x[] | select(.ok != true or .verified != true) | "step \(.step) failed: \(.error)"),
      ($x[] | select(.a == null) | "step \(.step) not analyzed"),
      ($x[] | select(.a != null) |
        (if .a.syn_opt_bytes != budget($r; .) then
           "step \(.step): SYN options \(.a.syn_opt_bytes) B, recipe budget \(budget($r; .)) B" else empty end),
        (if .a.tfo.cookie_used != ($r.tfo == "cookie") then
           "step \(.step): TFO cookie used \(.a.tfo.cookie_used), row tfo \($r.tfo)" else empty end),
        (if .a.signal != $r.wire then "step \(.step): analyzer class \(.a.signal), row wire \($r.wire)" else empty end),
        (if ((.a.tfo.syn_data_len > 0) != ($r.in_syn == "payload")) then
           "step \(.step): SYN data \(.a.tfo.syn_data_len) B, row in_syn \($r.in_syn)" else empty end),
        (if .a.req_in_syn != ($r.syn_data and ($r.waits_reply | not)) then
           "step \(.step): request in SYN \(.a.req_in_syn), row syn_data \($r.syn_data) waits_reply \($r.waits_reply)" else empty end),
        (if ((.a.prefer_proxy or .a.mpconvert_opt) != ($r.in_syn == "option")) then
           "step \(.step): TCP option signal prefer=\(.a.prefer_proxy) mpconvert=\(.a.mpconvert_opt), row in_syn \($r.in_syn)" else empty end),
        (if .a.router_alert != ($r.in_syn == "ipopt") then
           "step \(.step): Router Alert \(.a.router_alert), row in_syn \($r.in_syn)" else empty end),
        (if .a.mptcp != .mptcp then "step \(.step): analyzer mptcp \(.a.mptcp), client \(.mptcp)" else empty end)),
      ($x[] | select(.ok == true) |
        (if .mptcp != (if $r.mptcp then "mptcp" else "tcp" end) then
           "step \(.step): mptcp \(.mptcp), row mptcp \($r.mptcp)" else empty end),
        (if $r.mode == "explicit" then
           (if .via == null or port(.via) != $r.port then "step \(.step): went to \(.via), row port \($r.port)" else empty end)
         elif .via != null then "step \(.step): went to proxy \(.via), row mode \($r.mode)" else empty end)),
      (if $r.frontend == null then empty else
         ($ag[if $r.auth then "proxy-auth" else "proxy" end].accepted[$r.frontend] // 0) as $acc
         | ($reg | want($r.frontend; $r.auth)) as $w
         | if $acc < $w then "front-end \($r.frontend)\(if $r.auth then " (auth)" else "" end) accepted \($acc) < \($w) connections" else empty end
       end)
    ] as $bad
  | [$r.name,
     "\($x | length) conns, wire \($r.wire), \($r.in_syn), SYN opts \([$x[] | .a.syn_opt_bytes] | unique | map(tostring) | join("/")) B, \($r.frontend // "direct")\(if $r.port > 0 then ":\($r.port)" else "" end)", ($bad | unique | join("; "))]
  | @tsv' "$tmp/reg.json" > "$tmp/check.tsv" || { t_fail check "jq failed"; t_done; }

n=0
while IFS=$'\t' read -r name desc bad; do
  n=$((n + 1))
  if [ -z "$bad" ]; then t_pass "row $name ($desc)"; else t_fail "row $name" "$bad"; fi
done < "$tmp/check.tsv"
nreg=$(jq '.signals | length' "$tmp/reg.json")
t_check "every registry row checked ($n/$nreg)" test "$n" = "$nreg" -a "$n" -gt 0
# the run ran nothing the registry does not know
extra=$(jq -r --slurpfile r "$tmp/reg.json" 'select(.signal as $g | any($r[0].signals[]; .name == $g) | not) | .signal' \
  "$out/connections.jsonl" | sort -u | tr '\n' ' ')
t_check "no signal outside the registry (${extra:-none})" test -z "$extra"
t_done
