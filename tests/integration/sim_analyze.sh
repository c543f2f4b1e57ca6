#!/usr/bin/env bash
# mpx-sim's packets read like the emulator's: for every registry row, 3 simulated connections
# (after the unrecorded warm-up) over the hybrid topology fixture (tests/data/sim/hybrid-base,
# the links folder of a default.exp run) with pcaps, checked by mpx-analyze with the rules it
# applies to emulated captures:
#   - no violation in any capture, every connection complete;
#   - the analyzer's class of the client's first bytes is the row's wire class;
#   - the channel: SYN payload with the request for payload rows that do not wait for the
#     reply; the TCP option (MP_PREFER_PROXY / MP_CONVERT) for tcp-option helpers; the Router
#     Alert for ip-option helpers; MPTCP exactly when the row says so, with one MP_JOIN;
#   - explicit rows go to the row's proxy port, the others to the target.
# timeout: 60
set -uo pipefail
source "$(dirname "$0")/../lib.sh"
t_require_cmd jq
t_require_bin mpx-sim mpx-analyze mpx-wire
BIN=${MPX_BIN:-$MPX_ROOT/bin}
VAR=$MPX_ROOT/tests/data/sim/hybrid-base
tmp=$(mktemp -d /tmp/mpx-simtest.XXXXXX); trap 'rm -rf "$tmp"' EXIT
timeout 30 "$BIN/mpx-wire" signals --json > "$tmp/reg.json" || { t_fail registry "mpx-wire signals --json failed"; t_done; }
for name in $(jq -r '.signals[].name' "$tmp/reg.json"); do
  d=$tmp/$name; mkdir -p "$d"
  timeout 30 "$BIN/mpx-sim" --variant "$VAR" --signals "$name" --reps 3 --pcap "$d" --out "$d/conns.jsonl"
  rc=$?
  t_check "$name/sim_rc" test "$rc" = 0
  t_check "$name/completed" test "$(jq -s 'map(select(.ok)) | length' "$d/conns.jsonl")" = 3
  timeout 30 "$BIN/mpx-analyze" --json "$d"/*.pcap > "$d/an.jsonl"; arc=$?
  t_check "$name/analyzer_clean" test "$arc" = 0
  # the client's connections over its first link (198.18.1.2), the last 3 (after the warm-up)
  problems=$(jq -rs --arg n "$name" --slurpfile reg "$tmp/reg.json" '
    ($reg[0].signals[] | select(.name == $n)) as $r
    | map(select(.type != "summary" and (.client | startswith("198.18.1.2:")))) | .[-3:]
    | if length != 3 then ["\(length) client connections analyzed, want 3"] else
      map(
        (if .signal != $r.wire then "class \(.signal), want \($r.wire)" else empty end),
        (if ($r.in_syn == "payload" and ($r.waits_reply | not)) != .req_in_syn
         then "request in SYN \(.req_in_syn)" else empty end),
        (if ($r.in_syn == "payload") != ((.tfo.syn_data_len // 0) > 0)
         then "SYN data \(.tfo.syn_data_len)" else empty end),
        (if ($r.helper == "ip-option") != .router_alert then "router alert \(.router_alert)" else empty end),
        (if ($r.helper == "tcp-option") != (.prefer_proxy or .mpconvert_opt)
         then "SYN option helper \(.prefer_proxy)/\(.mpconvert_opt)" else empty end),
        (if ($r.mptcp and .mptcp != "mptcp") or (($r.mptcp | not) and .mptcp != "tcp")
         then "mptcp \(.mptcp)" else empty end),
        (if $r.mptcp and ((.joins // []) | length) != 1 then "joins \((.joins // []) | length)" else empty end),
        (if $r.mode == "explicit" and (.server | endswith(":\($r.port)") | not)
         then "server \(.server), want port \($r.port)" else empty end),
        (if $r.mode != "explicit" and (.server | startswith("198.18.3.2:") | not)
         then "server \(.server), want the target" else empty end))
      end | unique | join("; ")' "$d/an.jsonl")
  if [ -z "$problems" ]; then t_pass "$name/analyzer_view"; else t_fail "$name/analyzer_view" "$problems"; fi
done
t_done
