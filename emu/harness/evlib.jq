# Shared report pieces (jq module: include "evlib"; with -L emu/harness).
def num(d): if . == null then "–" elif (. * pow(10; d) | round) == 0 then "0" else (. * pow(10; d) | round / pow(10; d) | tostring) end;
def sgn: if . == null then "–" elif (. * 100 | round) == 0 then "0" elif . > 0 then "+" + (. | num(2)) else (. | num(2)) end;
def pipe_safe: tostring | gsub("\\|"; "/") | gsub("\n"; " ");

# the evidence table of one variant (object from summary.variants)
# native_cell($v): does a native end-to-end MPTCP connection to an MPTCP server survive while
# this signal's HAG setup is active (measured by the probes of the implicit-mode signals)?
def native_cell($v):
  . as $s | (($v.native_mptcp // {})[$s.signal] // null) as $n
  | if $s.mode != "implicit" then "yes (HAG does not intercept)"
    elif $n == null then "not measured"
    elif $n.n == 0 then "not measured"
    elif $n.end_to_end == $n.n then "yes (\($n.end_to_end)/\($n.n) end to end)"
    elif $n.end_to_end == 0 then "**no**: hijacked by the HAG (\($n.intercepted)/\($n.n))"
    else "partly (\($n.end_to_end)/\($n.n) end to end)" end;

def evidence_table:
  . as $v |
  "| signal | mode | channel | extra RTTs vs \($v.reference_signal // "the reference"), measured | model | RTTs before data (analyzer / model) | TTFB median ms [95 % of conns] | model TTFB ms | SYN option bytes used / left | native MPTCP survives | TFO coexistence | variable-length data | multiple instances | IPv6 target fits | middleboxes | encoding checks | verified |",
  "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
  ($v.signals[] |
    if .status != "run" then
      "| `\(.signal)` | \(.mode) | \(.channel) | not run: \(.reason // "?" | pipe_safe) | \(.model.extra_rtt | sgn) | – / \(.model.rtts_before_data // "–") | – | \(.model.ttfb_ms | num(1)) | – | \(native_cell($v)) | – | \(.varlen) | \(.multi) | \(.ipv6.verdict) | – | – | – |"
    else
      "| `\(.signal)` | \(.mode) | \(.channel) | " +
      (if .mode == "none" then "0 (reference)" else (.extra_rtt | sgn) end) + " | " +
      (.model.extra_rtt | sgn) + " | " +
      "\(.analyzer.rtts_before_data // "–") / \(.model.rtts_before_data // "–") | " +
      (if .ttfb_ms.n > 0 then "\(.ttfb_ms.p50 | num(1)) [\(.ttfb_ms.p2_5 | num(1))–\(.ttfb_ms.p97_5 | num(1))]" else "– (no successful connection)" end) + " | " +
      "\(.model.ttfb_ms | num(1))\(if .ttfb_dev_pct != null then " (\(.ttfb_dev_pct | sgn) %)" else "" end) | " +
      (if .syn_opt.bytes == null then "–" else "\(.syn_opt.bytes) / \(.syn_opt.left)" end) + " | " +
      native_cell($v) + " | " +
      "\(.coexist.verdict) | \(.varlen) | \(.multi) | \(.ipv6.verdict) | " +
      (if (.middleboxes | length) == 0 then "not tested here (middlebox.exp)" else (.middleboxes | map("\(.middlebox): \(.verdict)") | join("; ")) end) + " | " +
      (if .analyzer.n == 0 then "not analyzed" elif .violations == 0 then "all clean" else "\(.violations) violations" end) + " | " +
      "\(.verified)/\(.n)\(if (.skipped // 0) > 0 then " (\(.skipped) skipped after the first failures)" else "" end) |"
    end);

# (input: the summary; the reference is the registry row without a proxy)
def evidence_notes:
  (.reference_signal // "the reference") as $ref |
  "Columns: *extra RTTs vs \($ref)* = (TTFB median of the signal − TTFB median of `\($ref)`) / R_cp, measured, next to the same quantity from the analytic model (negative: faster than direct TCP). *RTTs before data* = round trips the client spent before its request could leave (the analyzer's count from the pcap / the model). *TTFB* = first SYN to first response byte at the client (client clock), median and the interval holding the central 95 % of connections; the model value follows with the median's deviation from it. *SYN option bytes* = TCP option bytes in the client's SYN and what is left of the 40 (analyzer, median). *native MPTCP survives* = while the signal's HAG setup is active, does a client's ordinary MPTCP connection (no signal) to an MPTCP-capable server port reach that server end to end (MPTCP, the client's own address at the server) or is it hijacked by the HAG (the server sees the HAG; measured by one probe per implicit connection). *TFO coexistence* = can a TFO cookie, MP_CAPABLE and the signal share one SYN (measured when a cookie was used, else from the bytes left). *IPv6 target fits* = the signal with a 16-byte address (arithmetic in the details). *middleboxes* = per middlebox variant of the experiment: passes / falls back (to plain TCP) / breaks. *encoding checks* = mpx-analyze's rule violations on the packets of these connections. *verified* = connections whose payload both ends verified.";
