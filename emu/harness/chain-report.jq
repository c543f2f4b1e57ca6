# report.md, the proxy/proxy part (chain.sh): for every chain variant the model's LAN leg and W,
# model vs measured per row, the per-leg timeline and the CPE's and HAG's counters.
# Input: summary.json; $man: the manifest. Nothing for runs without a `chain` line.
include "evlib";
def ms1: if . == null then "–" else num(1) end;
def ms2: if . == null then "–" else num(2) end;
# the link emulator's measured error on one TTFB (ms): the worst direction's lateness p99, once
# per one-way link crossing of the model's timeline (about TTFB / (R_acc/2) on the access and
# WAN links, plus the LAN leg's four)
def emu_err($v; $m): (($v.fidelity.lateness.worst.p99 // 0) / 1000) as $late
  | (if ($v.model.R_acc_ms // 0) > 0 then ((($m.g_ms // $m.ttfb_ms) / ($v.model.R_acc_ms / 2)) | ceil) + 4 else 0 end) as $n
  | {late_ms: $late, crossings: $n, err_ms: ($late * $n)};
$man[0] as $m | . as $s |
(.variants[] | select(.chain != null) | . as $v |
  [.signals[] | select(.role == "proxy/proxy" or .role == "direct")] as $rows |
  "## Proxy/proxy: a CPE signals for unmodified LAN hosts\(if ($s.variants | length) > 1 then " — variant `\(.name)`" else "" end)",
  "",
  "The measured client is `mpx-client --signal tcp` (plain TCP, no proxy, no TFO) on the LAN host(s) \(.chain.hosts | map("`\(.)`") | join(", ")); the CPE `\(.chain.node)` runs one `mpx-proxy --cpe PORT=CHANNEL,wait=W` per row and its nft map (agents/cpe/cpe.sh) sends each row's server port to that listener; the row `tcp` is the same LAN host straight to the server (routed by the CPE and the HAG, no proxy): the reference of the extra RTTs. HAG SYN-data policy: `\(.syn_data_policy)`.",
  "",
  "R_lan = \(.model.R_lan_ms | ms2) ms (LAN host ↔ CPE, `model lan=\(.model_links.lan // "?")`), R_acc = \(.model.R_acc_ms | ms2) ms (CPE ↔ HAG on the CPE's first subflow, `cp=\(.model_links.cp)`), R_ps = \(.model.R_ps_ms | ms2) ms; R_cp = R_lan + R_acc = \(.model.R_cp_ms | ms2) ms is the unit of the extra RTTs (the LAN host's round trip to the HAG).",
  "",
  "In the evidence table a proxy/proxy row (`cpe:CHANNEL:wW`) has the registry facts of CHANNEL; its *SYN option bytes*, *RTTs before data*, *TFO coexistence*, *encoding checks* and MPTCP are those of the CPE's own connection to the HAG (the access leg the three-leg join found for the LAN connection); *who signals (W)* = client/proxy (the LAN host signals itself, the CPE only routes), proxy/proxy (the CPE, waiting up to W ms for the LAN bytes) or direct; *CPE's SYN carries the LAN request* = access legs whose SYN data held the LAN client's first bytes after the signal (analyzer), with the access connection's subflows; *CPE fallbacks* = connections the CPE served by plain TCP straight to the target (the CPE's counter for the row's listener; warm-up included).",
  "",
  "### Model (LAN leg and W)",
  "",
  "The LAN handshake completes at the CPE at 3 R_lan/2 and the LAN request arrives with (right after) the LAN client's third ACK; the CPE opens its MPTCP connection then, after min(W, d) with d the request's lag behind the third ACK (0 for mpx-client: it writes at once). W = 0: the CPE's SYN carries the signal alone; W > 0: it also carries the request when the channel allows (not SOCKS, whose signal follows the handshake; not convert-wait, which waits for the reply). From its SYN on, the CPE is the client of the client/proxy timeline with R_cp = R_acc: g = the time to the response at the CPE. The response reaches the LAN client R_lan/2 later:",
  "",
  "    TTFB = 2 R_lan + g(channel, W, policy)        (+ W when the LAN client sends nothing within W)",
  "    direct LAN -> server TCP = 2 (R_lan + R_acc + R_ps)",
  "    extra RTTs = (TTFB - direct) / (R_lan + R_acc) = (g - 2 (R_acc + R_ps)) / (R_lan + R_acc)",
  "",
  "g per row (the HAG acts on SYN data at the SYN only under syn-data-policy immediate or with a TFO cookie; otherwise at the CPE's third ACK): SYN data acted on at once `syn-data` = max(R_acc/2 + 2 R_ps, 3 R_acc/2) + R_acc/2; signal alone in the SYN, acted on at once `syn-signal` = max(3 R_acc/2, R_acc/2 + R_ps) + R_ps + R_acc/2; acted on at the third ACK (options, interception, held SYN data) `third-ack` = 2 R_acc + 2 R_ps; SOCKS 4 R_acc + 2 R_ps (+ R_acc with RFC 1929); convert-wait max(R_acc/2 + R_ps, 3 R_acc/2) + R_acc/2 + R_acc + R_ps (held: 3 R_acc + 2 R_ps); `cpe:tcp` 2 (R_acc + R_ps), with the request in a cookie-less TFO SYN R_acc + R_ps. Assumptions as the client/proxy model: no loss, queueing, jitter or processing time.",
  "",
  "Check: |measured median − model| ≤ 5 % of the model + the link emulator's measured error (its worst lateness p99, \((.fidelity.lateness.worst.p99 // 0)) µs, once per one-way link crossing of the timeline: ⌈g / (R_acc/2)⌉ + 4).",
  "",
  "W = 0 in the model: the CPE connects at once and its SYN carries the signal alone, even when the LAN request is already there (agents/proxy/README.md \"CPE mode\"; only a LAN client's own TFO SYN data goes with it). The column *CPE's SYNs with LAN bytes* is the CPE's own counter (warm-up connection included): a row whose count departs from the model's assumption (W = 0: none; W > 0: every one, for channels that carry data in the SYN) follows the other timeline.",
  "",
  "| row | W ms | formula id | model TTFB = 2 R_lan + g | model ms | measured median ms [95 %] | deviation | within 5 % + emulator error | model extra RTTs | measured extra RTTs | CPE's SYNs with LAN bytes |",
  "|---|---|---|---|---|---|---|---|---|---|---|",
  ($rows[] | select(.status == "run") | . as $r | emu_err($v; ($r.model // {})) as $e |
    (if $r.ttfb_ms.p50 != null and $r.model != null then (($r.ttfb_ms.p50 - $r.model.ttfb_ms) | if . < 0 then -. else . end) else null end) as $dev |
    "| `\($r.signal)` | \($r.chain.wait_ms // "–") | \($r.model.formula_id // "direct") | \($r.model.formula // "–" | pipe_safe) | \($r.model.ttfb_ms | ms1) | \(if $r.ttfb_ms.n > 0 then "\($r.ttfb_ms.p50 | ms1) [\($r.ttfb_ms.p2_5 | ms1)–\($r.ttfb_ms.p97_5 | ms1)]" else "– (none succeeded)" end) | \(if $r.ttfb_dev_pct != null then "\($r.ttfb_dev_pct | sgn) %" else "–" end) | " +
    (if $dev == null then "–" elif $dev <= 0.05 * $r.model.ttfb_ms + $e.err_ms then "yes (\($dev | ms1) ≤ \((0.05 * $r.model.ttfb_ms + $e.err_ms) | ms1))" else "**no** (\($dev | ms1) > \((0.05 * $r.model.ttfb_ms + $e.err_ms) | ms1))" end) +
    " | \($r.model.extra_rtt | sgn) | \(if $r.role == "direct" then "0 (reference)" else ($r.extra_rtt | sgn) end) | \(if $r.cpe == null then "–" else "\($r.cpe.syn_with_lan_bytes // "?")/\($r.cpe.accepted // "?")" end) |"),
  "",
  "### Per-leg timeline (medians, ms from the LAN client's SYN)",
  "",
  "Each leg's times are its capture's stamps (mpx-linkem stamps a frame as it leaves the emulator, i.e. on arrival at the link's far end): *LAN SYN → CPE SYN* includes the access link's one-way delay, *CPE SYN → HAG SYN* the WAN link's. *CPE wait* and *HAG wait* subtract the legs' one-way delays (estimated from each handshake): the time the CPE took from the LAN handshake to its SYN, and the HAG from the CPE's SYN to its own (≈ 0: it acted on the SYN; ≈ R_acc: at the third ACK; `syn`/`ack` in *HAG connects at*). *LAN / access / WAN TTFB* = first SYN → first response byte on each leg.",
  "",
  (([$rows[] | .legs.source // empty] | add // [] | unique) as $src |
   if ($src | index("mpx-analyze --legs")) != null then
     "Legs joined by `mpx-analyze --legs` (the application bytes: MPX1 header on every leg; pcap-analysis/README.md \"Three legs\"): LAN = the LAN host's connection, access = the CPE's MPTCP connection to the HAG, WAN = the HAG's connection to the server. Full per-connection timelines: `analysis/\($v.name)/legs.txt`."
   else
     "**Hook:** `mpx-analyze --legs` was not available to this run (`analysis/\($v.name)/legs.NOT-RUN`): the legs below are joined by the harness from the step's time window (steps run one at a time; the CPE's access connection and the HAG's WAN connection are the first to start inside the step). The gap columns of the analyzer's join (CPE wait, HAG wait) need `--legs`."
   end),
  "",
  "| row | joined (complete / conns) | LAN SYN → CPE SYN | CPE SYN → HAG SYN | CPE wait (W used) | HAG wait | HAG connects at | LAN TTFB | access TTFB | WAN TTFB | CPE's SYN carries the request | access MPTCP, subflows |",
  "|---|---|---|---|---|---|---|---|---|---|---|---|",
  ($rows[] | select(.status == "run" and .role == "proxy/proxy") | . as $r | .legs as $l |
    "| `\($r.signal)` | \($l.complete)/\($r.n) | \($l.lan_syn_to_access_syn_ms | ms2) | \($l.access_syn_to_wan_syn_ms | ms2) | \($l.cpe_wait_ms | ms2) | \($l.hag_wait_ms | ms2) | \(($l.hag_connect_at // {}) | to_entries | map("\(.key) \(.value)") | join(", ") | if . == "" then "–" else . end) | \($l.lan_ttfb_ms | ms1) | \($l.access_ttfb_ms | ms1) | \($l.wan_ttfb_ms | ms1) | \($l.syn_carries_request)/\($l.n) | \(($l.access_mptcp // {}) | to_entries | map("\(.key) \(.value)") | join(", ") | if . == "" then "–" else . end); \($l.access_subflows // "–") |"),
  "",
  "### Counters: the CPE, the HAG, the row server",
  "",
  (($v.agents.cpe // null) as $c |
   if $c == null then "No CPE counters (logs/\($v.name)/cpe.stats.json missing)."
   else
     (($c.cpe // {}) | if type == "object" then (.listeners // []) elif type == "array" then . else [] end) as $ls |
     ([($v.agents.chain_ports // {}) | to_entries[] | {key: (.value.cpe_port | tostring), value: .key}] | from_entries) as $rowof |
     "| CPE listener | row | W ms | accepted | relayed | fallback direct | failed | SYN with LAN bytes | SYN without | W expired | LAN SYN data (TFO) | MPTCP | subflows max |",
     "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
     ($ls[] | "| \(.port) | \(if $rowof[.port | tostring] != null then "`\($rowof[.port | tostring])`" else "`\(.signal)` (LAN applications)" end) | \(.wait_ms) | \(.accepted // "–") | \(.relayed // "–") | \(.fallback_direct // "–") | \(.failed // "–") | \(.syn_with_lan_bytes // "–") | \(.syn_without_lan_bytes // "–") | \(.wait_timeouts // "–") | \(.lan_tfo // "–") | \(.mptcp // "–") | \(.subflows_max // "–") |"),
     "",
     "CPE fallback reasons (all listeners): \((($c.cpe.fallback_reasons // $c.fallback_reasons // {}) | to_entries | map("\(.key) \(.value)") | join(", ")) | if . == "" then "none reported" else . end)."
   end),
  "",
  (($v.agents.proxy.clients // null) as $hc |
   if $hc == null then "HAG: no client split in its counters (--cpe-peer not supported by this mpx-proxy)."
   else "HAG clients by source (--cpe-peer = the CPE's prefixes): from the CPE \($hc.cpe), direct \($hc.direct)\(($hc.frontends // {}) | to_entries | map(select(.value.cpe + .value.direct > 0) | "\(.key) \(.value.cpe)/\(.value.direct)") | if length > 0 then " (per front-end, CPE/direct: " + join(", ") + ")" else "" end)." end),
  "",
  (($v.agents.server_chain // null) as $sc |
   if $sc == null then empty
   else "Row server (one port per row): \($sc.connections) connections, \($sc.verified) verified; peers as the server saw them: \(($sc.peers // {}) | to_entries | map("\(.key) \(.value)") | join(", "))." end),
  "")
