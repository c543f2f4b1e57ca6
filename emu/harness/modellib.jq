# mpxlab analytic TTFB model: its definitions (jq module: include "modellib"; with -L emu/harness),
# used by model.jq and by a variant's description (collect.sh mpx_variant_describe), which
# evaluates the model in its own jq.
# mpxlab analytic TTFB model (DESIGN.md "The analytic model"), evaluated for $rcp / $rps (ms),
# one entry per formula id of the signal registry (the `model` field of `mpx-wire signals`);
# the harness gives every registry row its formula (collect.sh mpx_variant_describe).
# TTFB = time from the client's first SYN to the first response byte at the client.
# c = R_cp/2 and p = R_ps/2 are the one-way delays. Assumptions common to every row: no loss,
# no queueing, no serialization time, server think time 0, proxy processing time 0, the HAG
# on the direct path, the first subflow over the client<->proxy path; a Linux listener's
# SYN/ACK leaves at once; an MPTCP proxy holds its first write until the client's third ACK
# (the reply-stall guard, kernel-facts.md Q2) and a converter's reply waits for the server.
def max2(a; b): if a > b then a else b end;
def table($rcp; $rps; $tfo): ($rcp / 2) as $c | ($rps / 2) as $p |
{
  direct: (if $tfo then {
    ttfb_ms: ($rcp + $rps), rtts_before_data: 0,
    formula: "R_cp + R_ps (TFO: the request in the SYN)",
    derivation: "The request rides in the SYN (with a cached cookie, or cookie-less when the client sets 0x4 and the server 0x200; a connection that only requests a cookie costs as without TFO): at the server at c+p, the response back at 2(c+p) = R_cp + R_ps." }
  else {
    ttfb_ms: (2 * ($rcp + $rps)), rtts_before_data: 1,
    formula: "2 (R_cp + R_ps)",
    derivation: "SYN reaches the server at c+p, SYN/ACK is back at 2(c+p) = R_cp+R_ps; the request leaves with the third ACK and reaches the server at 3(c+p); the response is at the client at 4(c+p) = 2 (R_cp + R_ps)." } end),
  "app-2x": {
    ttfb_ms: (4 * $rcp + 2 * $rps), rtts_before_data: 3,
    formula: "4 R_cp + 2 R_ps",
    derivation: "Handshake with the proxy (SYN/ACK at 2c), greeting with the third ACK (at the proxy 3c), method reply back at 4c, CONNECT at the proxy 5c; the proxy connects downstream (2p) and replies: at the client 6c+2p; request at the server 7c+3p; response at the client 8c+4p = 4 R_cp + 2 R_ps." },
  "app-3x": {
    ttfb_ms: (5 * $rcp + 2 * $rps), rtts_before_data: 4,
    formula: "5 R_cp + 2 R_ps",
    derivation: "As SOCKSv5 without authentication plus one RFC 1929 username/password exchange with the proxy: + R_cp." },
  "syn-data": {
    ttfb_ms: (max2($c + 2 * $rps; 3 * $c) + $c), rtts_before_data: 0,
    formula: "max(R_cp/2 + 2 R_ps, 3 R_cp/2) + R_cp/2",
    derivation: "The SYN payload carries the signal (with a TFO cookie or without) and the request (at the proxy at c). The proxy connects downstream at once (server SYN/ACK at c+2p), sends the request (at the server c+3p) and has the response at c+4p = R_cp/2 + 2 R_ps. It may write to the client only after the client's third ACK (3c = 3 R_cp/2): a Linux listener cannot put data in its SYN/ACK, so a reply to the signal comes with the proxy's first data. The response reaches the client c later. A TFO cookie only costs option space (the first connection requests it and still carries the signal in its SYN when the proxy accepts SYN data without a cookie)." },
  "syn-data-wait": {
    ttfb_ms: (max2($c + $rps; 3 * $c) + $c + $rcp + $rps), rtts_before_data: 2,
    formula: "max(R_cp/2 + R_ps, 3 R_cp/2) + R_cp/2 + R_cp + R_ps",
    derivation: "The SYN carries only the signal. The proxy's reply (fixed header) waits for the server's SYN/ACK (c+2p) and for the third ACK (3c); it is at the client at max(c+2p, 3c)+c. Two exchanges before the request leaves (the handshake, then the reply: a Linux listener cannot put data in its SYN/ACK). Only then the request leaves: + c to the proxy, + 2p to the server and back, + c to the client = + R_cp + R_ps. (DESIGN.md writes 'the SYN-data formula + R_cp + R_ps'; both agree whenever 3c dominates, as on the default hybrid topology.)" },
  "syn-data-held": {
    ttfb_ms: (2 * $rcp + 2 * $rps), rtts_before_data: 0,
    formula: "2 R_cp + 2 R_ps",
    derivation: "The SYN payload carries the signal and the request, but the converter's SYN-data policy (mpx-proxy --syn-data-policy: cookie-less SYN data, or every SYN with third-ack) holds them until the client's third ACK (3c): only then it connects downstream (2p), forwards (p) and relays the response (p + c): 4c + 4p. The request left with the SYN, yet the client waits as long as with an option signal: SYN data a spoofed SYN could trigger is not acted on." },
  "syn-data-wait-held": {
    ttfb_ms: (3 * $rcp + 2 * $rps), rtts_before_data: 2,
    formula: "3 R_cp + 2 R_ps",
    derivation: "The SYN carries only the signal; the converter's SYN-data policy holds it until the third ACK (3c), then connects downstream (2p) and replies (at the client 4c + 2p); the request leaves then: + 2c + 2p to the response = 6c + 4p." },
  option: {
    ttfb_ms: (2 * $rcp + 2 * $rps), rtts_before_data: 1,
    formula: "2 R_cp + 2 R_ps",
    derivation: "Assumed: the option carries the target, no SYN data; the proxy's accept() returns with the third ACK (3c) that carries the request, then it connects downstream (2p), forwards (p) and relays the response (p + c): 4c + 4p." },
  intercept: {
    ttfb_ms: (2 * $rcp + 2 * $rps), rtts_before_data: 1,
    formula: "2 R_cp + 2 R_ps",
    derivation: "The HAG intercepts the SYN (every MPTCP SYN, or only those an option or the IP Router Alert selects) and answers at once (client has the SYN/ACK at 2c); the request comes with the third ACK (3c), when accept() returns; the proxy connects downstream (3c+2p), the request is at the server 3c+3p and the response at the client 4c+4p = 2 R_cp + 2 R_ps." }
};
def with_extra($rcp): (.direct.ttfb_ms) as $t
  | map_values(. + {extra_rtt: (if $rcp > 0 then ((.ttfb_ms - $t) / $rcp * 1000 | round / 1000) else null end)});

# Proxy/proxy (chain.sh): a plain-TCP LAN client (no TFO) behind a CPE that signals the HAG.
# R_lan = LAN host <-> CPE RTT (l = R_lan/2), R_acc = CPE <-> HAG RTT on the CPE's first
# subflow (c = R_acc/2), R_ps as above. The LAN handshake ends at the CPE at 3l, when the LAN
# client's request arrives with (right after) its third ACK and accept() returns; the CPE then
# opens its MPTCP connection at t_s = 3l + min(W, d), d = the request's lag behind the third
# ACK (0 for a client that writes at once, as mpx-client): with W = 0 the SYN carries the signal
# alone; with W > 0 it carries the request after the signal when the channel allows (the
# signal is not in the SYN payload of SOCKS; convert-wait waits for the reply first). The CPE is
# then the client of the client/proxy timelines above with R_cp = R_acc: the time g from its
# SYN to the response at the CPE; the response reaches the LAN client l later:
#   TTFB = 3l + g + l = 2 R_lan + g (+ W when the LAN client sends nothing within W).
# The direct LAN -> server TCP baseline is 2 (R_lan + R_acc + R_ps), so the LAN leg cancels in
# the difference: extra = g - 2 (R_acc + R_ps), in units of R_cp = R_lan + R_acc (the LAN
# host's round trip to the HAG). g per channel ($atsyn: the HAG acts on SYN data at the SYN,
# i.e. syn-data-policy immediate, or a TFO cookie under the default policy cookie):
def chain_g($ra; $rps): table($ra; $rps; false) as $t | ($ra / 2) as $c | {
  direct: ($t.direct + {formula: "2 (R_acc + R_ps)"}),
  "direct-tfo": {ttfb_ms: ($ra + $rps), rtts_before_data: 0, formula: "R_acc + R_ps",
    derivation: "The CPE's SYN to the server carries the LAN request (cookie-less TFO): at the server at c+p, the response at the CPE at 2(c+p)."},
  "syn-data": ($t["syn-data"] + {formula: "max(R_acc/2 + 2 R_ps, 3 R_acc/2) + R_acc/2"}),
  "syn-signal": {ttfb_ms: (max2(3 * $c; $c + $rps) + $rps + $c), rtts_before_data: 1,
    formula: "max(3 R_acc/2, R_acc/2 + R_ps) + R_ps + R_acc/2",
    derivation: "The CPE's SYN carries the signal alone (W = 0): the HAG connects downstream at once (server SYN/ACK at c + 2p); the request leaves the CPE with its third ACK (2c) and is at the HAG at 3c; the HAG forwards at max(3c, c + 2p), the response is back at the HAG 2p later and at the CPE c later."},
  "third-ack": {ttfb_ms: (2 * $ra + 2 * $rps), rtts_before_data: 1, formula: "2 R_acc + 2 R_ps",
    derivation: "The HAG acts at the CPE's third ACK (3c: an option or interception signal without SYN data, or SYN data its policy holds): connects downstream (2p), forwards the request (p), relays the response (p + c): 4c + 4p."},
  "third-ack-data": {ttfb_ms: (2 * $ra + 2 * $rps), rtts_before_data: 0, formula: "2 R_acc + 2 R_ps",
    derivation: "The CPE's SYN carries the request, but the HAG's SYN-data policy holds it until the CPE's third ACK (3c); then as without SYN data: 4c + 4p."},
  "syn-data-wait": ($t["syn-data-wait"] + {formula: "max(R_acc/2 + R_ps, 3 R_acc/2) + R_acc/2 + R_acc + R_ps"}),
  "syn-data-wait-held": ($t["syn-data-wait-held"] + {formula: "3 R_acc + 2 R_ps"}),
  "app-2x": ($t["app-2x"] + {formula: "4 R_acc + 2 R_ps"}),
  "app-3x": ($t["app-3x"] + {formula: "5 R_acc + 2 R_ps"}) };
# chain_id(registry row; W; SYN-data policy): which g applies
def chain_id($r; $w; $pol):
  ($w > 0 and (($r.waits_reply // false) | not) and $r.in_syn != "app") as $data
  | (($pol | startswith("immediate")) or ($pol == "cookie" and $r.tfo == "cookie")) as $atsyn
  | if $r.model == "direct" then (if $data then "direct-tfo" else "direct" end)
    elif $r.model == "app-2x" or $r.model == "app-3x" then $r.model
    elif $r.model == "syn-data-wait" then (if $atsyn then "syn-data-wait" else "syn-data-wait-held" end)
    elif $r.syn_data then (if ($atsyn | not) then (if $data then "third-ack-data" else "third-ack" end)
                           elif $data then "syn-data" else "syn-signal" end)
    elif $data and $atsyn then "syn-data" elif $data then "third-ack-data" else "third-ack" end;

# delays($cp; $ps; $lan): the link delays and round trips of model.sh mpx_model_delays from its
# "LINK AB BA" lines (input: an array of them)
def delays($cp; $ps; $lan):
    [.[] | select(length > 0) | split(" ") | {key: .[0], value: {ab: (.[1] | tonumber), ba: (.[2] | tonumber)}}] | from_entries |
    ($cp | split("+")) as $c | ($ps | split("+")) as $s | ($lan | split("+")) as $l | . as $d |
    { R_cp_ms: ([$c[] | ($d[.].ab // 0) + ($d[.].ba // 0)] | add),
      R_ps_ms: ([$s[] | ($d[.].ab // 0) + ($d[.].ba // 0)] | add),
      cp: $c, ps: $s, delays: $d,
      missing: [($c + $s + $l)[] | select($d[.] == null)] }
    + (if $lan == "" then {} else {lan: $l, R_lan_ms: ([$l[] | ($d[.].ab // 0) + ($d[.].ba // 0)] | add)} end);
# model_json($rcp; $rps; $tfo): model.jq's output for a client/proxy variant
def model_json($rcp; $rps; $tfo): table($rcp; $rps; $tfo) | with_extra($rcp) | {R_cp_ms: $rcp, R_ps_ms: $rps, signals: .};
