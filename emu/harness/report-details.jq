# report.md, second part: per-signal details, the model, failover
include "evlib";
$man[0] as $m | . as $s |
"## Per-signal details",
"",
(.variants[] | . as $v |
  (if ($s.variants | length) > 1 then "### Variant `\($v.name)`\($v | vmark)\n" else empty end),
  (.signals[] |
    "#### `\(.signal)` — \(.mode), \(.channel)",
    "",
    (if .status != "run" then "- not run: \(.reason)\n" else
    (if .reason != null then "- **\(.reason)**" else empty end),
    "- connections: \(.n), ok \(.ok), verified \(.verified), failed \(.failed)\(if .failed > 0 then " — " + (.errors | to_entries | map("\(.value)× \(.key)") | join("; ")) else "" end)",
    "- client view: MPTCP state \(.mptcp | to_entries | map("\(.key) \(.value)") | join(", ")); TFO \(.tfo | to_entries | map("\(.key) \(.value)") | join(", "))",
    "- TTFB (client clock): median \(.ttfb_ms.p50 | num(2)) ms\(if .ttfb_ms.median_ci95.lo != null then " (95 % CI of the median \(.ttfb_ms.median_ci95.lo | num(2))–\(.ttfb_ms.median_ci95.hi | num(2)))" else "" end); p5–p95 \(.ttfb_ms.p5 | num(2))–\(.ttfb_ms.p95 | num(2)); min–max \(.ttfb_ms.min | num(2))–\(.ttfb_ms.max | num(2)); mean \(.ttfb_ms.mean | num(2))",
    "- model: \(.model.formula // "–") = \(.model.ttfb_ms | num(2)) ms; measured − model = \(if .ttfb_ms.p50 != null and .model != null then ((.ttfb_ms.p50 - .model.ttfb_ms) | num(2)) else "–" end) ms\(if .ttfb_dev_pct != null then " (\(.ttfb_dev_pct | sgn) %)" else "" end); extra RTTs vs \($v.reference_signal // "the reference") \(.extra_rtt | sgn) measured, \(.model.extra_rtt | sgn) model",
    (if .analyzer.n > 0 then
    "- analyzer (\(.analyzer.n) of \(.n) connections found in the pcaps): TTFB median \(.analyzer.ttfb_ms_p50 | num(2)) ms (link emulator clock), handshake RTT \(.analyzer.hs_rtt_ms_p50 | num(2)) ms, RTTs before data \(.analyzer.rtts_before_data // "–"); signal seen: \(.analyzer.signal_seen | to_entries | map("\(.key) \(.value)") | join(", ")); MPTCP: \(.analyzer.mptcp | to_entries | map("\(.key) \(.value)") | join(", "))\(if (.analyzer.fallback_causes | length) > 0 then "; fallback causes: " + (.analyzer.fallback_causes | to_entries | map("\(.key) \(.value)") | join(", ")) else "" end)",
    "- SYN options: \(.syn_opt.bytes // "–") B used (min \(.syn_opt.min // "–"), max \(.syn_opt.max // "–")), \(.syn_opt.left // "–") B left; SYN/ACK \(.syn_opt.synack_bytes // "–") B; TFO cookie used in \(.analyzer.cookie_used) SYN(s), SYN data acknowledged in \(.analyzer.syn_data_acked)",
    "- encoding checks: \(if .violations == 0 then "all clean" else "\(.violations) violation(s): " + (.by_rule | to_entries | map("`\(.key)` \(.value)") | join(", ")) end)"
    else "- analyzer: no record matched these connections (pcaps missing or not analyzed)" end),
    "- TFO coexistence: \(if .coexist.verdict == "—" then "" else .coexist.verdict + " — " end)\(.coexist.how)",
    "- IPv6 target: \(if .ipv6.verdict == "—" then "" else .ipv6.verdict + " — " end)\(.ipv6.how)",
    (if (.middleboxes | length) > 0 then "- middleboxes: " + (.middleboxes | map("\(.middlebox) \(.verdict)") | join("; ")) else empty end),
    "" end))
  ,
  (if ((.link_stats // {}) | length) > 0 then
    "#### Links and agents\(if ($s.variants | length) > 1 then " (variant `\(.name)`)" else "" end)\(vmark)",
    "",
    "| link | dir | packets in | out | drops loss / queue / down | queue high-water | release lateness p50 / p99 / p99.9 / max µs | kernel drops | emulator CPU s |",
    "|---|---|---|---|---|---|---|---|---|",
    (.link_stats | to_entries[] | .key as $l | .value as $x | ("ab", "ba") as $d | ($x[$d] // null) as $y | select($y != null) |
      "| \($l) | \($d) | \($y.pkts_in) | \($y.pkts_out) | \($y.drops.loss // 0) / \($y.drops.queue // 0) / \($y.drops.down // 0) | \($y.queue_hwm_pkts // "–") pkts | \(if $y.late_us == null then "–" else "\($y.late_us.p50) / \($y.late_us.p99) / \($y.late_us.p999) / \($y.late_us.max)" end) | \($y.kernel_drops // "–") | \(if $d == "ab" then ((($x.cpu_user_s // 0) + ($x.cpu_sys_s // 0)) * 100 | round / 100) else "" end) |"),
    "",
    (.agents // {} | if .proxy then "- mpx-proxy: accepted \(.proxy.accepted | to_entries | map(select(.value > 0) | "\(.key) \(.value)") | join(", ")); relayed \(.proxy.relayed | to_entries | map(select(.value > 0) | "\(.key) \(.value)") | join(", ")); failed \([.proxy.failed[]] | add // 0); client MPTCP \(.proxy.client_mptcp // "–"), fallback \(.proxy.client_fallback // "–"); reply-stall guard waits \(.proxy.stall_guard.waits // "–") (max \((.proxy.stall_guard.wait_us_max // 0) / 1000) ms, timeouts \(.proxy.stall_guard.timeouts // 0)); Convert errors \(.proxy.convert_errors // {} | tojson)" else empty end),
    (.agents // {} | if .["proxy-auth"] then "- mpx-proxy (RFC 1929 instance): accepted \([.["proxy-auth"].accepted[]?] | add // 0), auth failures \(.["proxy-auth"].socks_auth_failures // 0)" else empty end),
    (.agents // {} | if .server then "- mpx-server: \(.server.connections) connections, \(.server.verified) with a verified request" else empty end),
    ""
   else empty end),
  (if .failover != null then
    "### Failover (variant `\(.name)`\(vmark))",
    "",
    (.failover | "- faults: \(.faults | join("; "))",
     "- bytes lost in completed transfers: \(.bytes_lost_total) (expected − received; payload verified by both ends in \(.verified) of \(.n))\(if .bytes_undelivered_failed > 0 then "; transfers that did not complete left \(.bytes_undelivered_failed) bytes undelivered" else "" end)",
     "- data-level stall after the fault (longest interval without progress of the client's MPTCP DATA_ACK, from the pcaps): median \(.stall_ms | num(1)) ms, max \(.stall_ms_max | num(1)) ms; in-order delivery resumed \(.recovered_ms | num(1)) ms after the fault (median of the \(.n - .not_recovered) that recovered)\(if .not_recovered > 0 then "; **\(.not_recovered) of \(.n) never recovered** before the connection timeout" else "" end)",
     "- completed: \(.completed)/\(.n); per connection: " + (.per_connection | map("\(.signal) stall \(.stall_ms | num(0)) ms\(if .ok then "" else " (failed: \(.error))" end)") | join("; ")),
     "- transfer time: \(.done_ms | num(1)) ms (median)",
     "- method: \(.method)"),
    ""
   else empty end)
),
(if (.option_budget | length) > 0 then
  "## SYN option budget (arithmetic)",
  "",
  "Bytes of TCP options a Linux client SYN would need for each signal (`mpx-wire budget`, Linux layout: MSS 4, SACK-perm in the timestamp slot, TS 12, WS 4, TFO cookie option 12 for an 8-byte cookie, MP_CAPABLE 4; option signals added last, as Linux adds what fits). Over 40, Linux drops the item that does not fit (MPTCP itself if that is the one).",
  "",
  "| signal | IPv4 target | IPv4 + 8-B cookie | IPv6 target | IPv6 + 8-B cookie |",
  "|---|---|---|---|---|",
  (.option_budget | to_entries[] | "| `\(.key)` | " + ([.value["v4"], .value["v4-cookie"], .value["v6"], .value["v6-cookie"]] | map(if . == null then "–" else "\(.requested) B \(if .fits then "fits" else "**does not fit**\(if (.dropped | length) > 0 then " (Linux drops " + (.dropped | join(", ")) + ")" else "" end)" end)" end) | join(" | ")) + " |"),
  ""
 else empty end),
"## The analytic model",
"",
"TTFB is the time from the client's first SYN to the first response byte at the client. With c = R_cp/2 and p = R_ps/2 the one-way delays, the timelines below give each row. Assumptions: no loss, no queueing and no serialization time (the links' rates are left out), server think time 0, proxy processing 0, the HAG on the direct path, the first subflow over the client↔proxy link; a Linux listener's SYN/ACK leaves at once; an MPTCP proxy holds its first write until the client's third ACK (the reply-stall guard, kernel-facts.md Q2) and a converter's reply waits for the server's SYN/ACK (RFC 8803 ordering). Jitter, the emulator's own overhead (~0.3 ms per RTT) and process start-up are what the measurements add on top.",
"",
(.variants[0] | "For variant `\(.name)`: R_cp = \(.model.R_cp_ms | num(2)) ms, R_ps = \(.model.R_ps_ms | num(2)) ms (links: " + ((.delays // {}) | to_entries | map("\(.key) \(.value.ab)/\(.value.ba) ms") | join(", ")) + " one-way a→b/b→a).",
 "",
 "| signal | TTFB formula | ms | extra RTTs vs \(.reference_signal // "the reference") | derivation |",
 "|---|---|---|---|---|",
 (.model.signals | to_entries[] | "| `\(.key)` | \(.value.formula) | \(.value.ttfb_ms | num(2)) | \(.value.extra_rtt | sgn) | \(.value.derivation | pipe_safe) |")),
""
