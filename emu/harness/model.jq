# mpxlab analytic TTFB model (DESIGN.md "The analytic model"), evaluated for $rcp / $rps (ms).
# TTFB = time from the client's first SYN to the first response byte at the client.
# c = R_cp/2 and p = R_ps/2 are the one-way delays. Assumptions common to every row: no loss,
# no queueing, no serialization time, server think time 0, proxy processing time 0, the HAG
# on the direct path, the first subflow over the client<->proxy path; a Linux listener's
# SYN/ACK leaves at once; an MPTCP proxy holds its first write until the client's third ACK
# (the reply-stall guard, kernel-facts.md Q2) and a converter's reply waits for the server.
def max2(a; b): if a > b then a else b end;
($rcp / 2) as $c | ($rps / 2) as $p |
{
  tcp: (if $tfo then {
    ttfb_ms: ($rcp + $rps), rtts_before_data: 0,
    formula: "R_cp + R_ps (TFO: the request in the SYN)",
    derivation: "The request rides in the SYN (with a cached cookie, or cookie-less when the client sets 0x4 and the server 0x200; a connection that only requests a cookie costs as without TFO): at the server at c+p, the response back at 2(c+p) = R_cp + R_ps." }
  else {
    ttfb_ms: (2 * ($rcp + $rps)), rtts_before_data: 1,
    formula: "2 (R_cp + R_ps)",
    derivation: "SYN reaches the server at c+p, SYN/ACK is back at 2(c+p) = R_cp+R_ps; the request leaves with the third ACK and reaches the server at 3(c+p); the response is at the client at 4(c+p) = 2 (R_cp + R_ps)." } end),
  socks5: {
    ttfb_ms: (4 * $rcp + 2 * $rps), rtts_before_data: 3,
    formula: "4 R_cp + 2 R_ps",
    derivation: "Handshake with the proxy (SYN/ACK at 2c), greeting with the third ACK (at the proxy 3c), method reply back at 4c, CONNECT at the proxy 5c; the proxy connects downstream (2p) and replies: at the client 6c+2p; request at the server 7c+3p; response at the client 8c+4p = 4 R_cp + 2 R_ps." },
  "socks5-auth": {
    ttfb_ms: (5 * $rcp + 2 * $rps), rtts_before_data: 4,
    formula: "5 R_cp + 2 R_ps",
    derivation: "As socks5 plus one RFC 1929 username/password exchange with the proxy: + R_cp." },
  convert: {
    ttfb_ms: (max2($c + 2 * $rps; 3 * $c) + $c), rtts_before_data: 0,
    formula: "max(R_cp/2 + 2 R_ps, 3 R_cp/2) + R_cp/2",
    derivation: "The SYN carries the Convert header, the Connect TLV and the request (at the proxy at c). The proxy connects downstream at once (server SYN/ACK at c+2p), sends the request (at the server c+3p) and has the response at c+4p = R_cp/2 + 2 R_ps. It may write to the client only after the client's third ACK (3c = 3 R_cp/2). The response reaches the client c later." },
  "convert-cookie": {
    ttfb_ms: (max2($c + 2 * $rps; 3 * $c) + $c), rtts_before_data: 0,
    formula: "max(R_cp/2 + 2 R_ps, 3 R_cp/2) + R_cp/2",
    derivation: "As convert: the TFO cookie only costs option space (the first connection requests it; it still carries the Convert bytes in the SYN because the proxy accepts SYN data without a cookie)." },
  "convert-wait": {
    ttfb_ms: (max2($c + $rps; 3 * $c) + $c + $rcp + $rps), rtts_before_data: 2,
    formula: "max(R_cp/2 + R_ps, 3 R_cp/2) + R_cp/2 + R_cp + R_ps",
    derivation: "The SYN carries only the Convert bytes. The proxy's reply (fixed header) waits for the server's SYN/ACK (c+2p) and for the third ACK (3c); it is at the client at max(c+2p, 3c)+c. Two exchanges before the request leaves (the handshake, then the reply: a Linux listener cannot put data in its SYN/ACK). Only then the request leaves: + c to the proxy, + 2p to the server and back, + c to the client = + R_cp + R_ps. (DESIGN.md writes 'convert + R_cp + R_ps'; both agree whenever 3c dominates, as on the default hybrid topology.)" },
  mpconvert: {
    ttfb_ms: (max2($c + 2 * $rps; 3 * $c) + $c), rtts_before_data: 0,
    formula: "max(R_cp/2 + 2 R_ps, 3 R_cp/2) + R_cp/2",
    derivation: "As convert: the MP_CONVERT bytes, EOL and the request ride in the SYN payload." },
  "mpconvert-ie": {
    ttfb_ms: (max2($c + 2 * $rps; 3 * $c) + $c), rtts_before_data: 0,
    formula: "max(R_cp/2 + 2 R_ps, 3 R_cp/2) + R_cp/2",
    derivation: "As convert: the Information Element and the request ride in the SYN payload; the echo comes with the proxy's first data (a Linux listener cannot put data in its SYN/ACK)." },
  "mpconvert-opt": {
    ttfb_ms: (2 * $rcp + 2 * $rps), rtts_before_data: 1,
    formula: "2 R_cp + 2 R_ps",
    derivation: "Assumed: the option carries the target, no SYN data; the proxy's accept() returns with the third ACK (3c) that carries the request, then it connects downstream (2p), forwards (p) and relays the response (p + c): 4c + 4p." },
  implicit: {
    ttfb_ms: (2 * $rcp + 2 * $rps), rtts_before_data: 1,
    formula: "2 R_cp + 2 R_ps",
    derivation: "The HAG intercepts the SYN and answers at once (client has the SYN/ACK at 2c); the request comes with the third ACK (3c), when accept() returns; the proxy connects downstream (3c+2p), the request is at the server 3c+3p and the response at the client 4c+4p = 2 R_cp + 2 R_ps." },
  "implicit-prefer": {
    ttfb_ms: (2 * $rcp + 2 * $rps), rtts_before_data: 1,
    formula: "2 R_cp + 2 R_ps", derivation: "As implicit (the alert only selects which SYNs are intercepted)." },
  "implicit-ra": {
    ttfb_ms: (2 * $rcp + 2 * $rps), rtts_before_data: 1,
    formula: "2 R_cp + 2 R_ps", derivation: "As implicit (the alert only selects which SYNs are intercepted)." }
}
| (.tcp.ttfb_ms) as $t
| map_values(. + {extra_rtt: (if $rcp > 0 then ((.ttfb_ms - $t) / $rcp * 1000 | round / 1000) else null end)})
| {R_cp_ms: $rcp, R_ps_ms: $rps, signals: .}
