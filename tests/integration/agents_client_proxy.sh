#!/usr/bin/env bash
# mpx-client through mpx-proxy in every explicit signal (the client side):
#  - 50 connections per signal (IPv4 and IPv6 targets) succeed with verified payloads, over
#    MPTCP to the proxy, plain TCP at the server;
#  - the Convert SYN (tcpdump in the client namespace) carries MP_CAPABLE, no TFO option, and a
#    payload starting 01 LL 22 63 with the MPX1 request right after the TLVs; the MP_CONVERT
#    SYNs carry their -09 option / -10 IE first; the request is handed over before the
#    handshake completes (convert) or only after the converter's reply (convert-wait);
#  - the converter's replies are parsed: Error TLV codes (96 closed port, 32 refused target,
#    3 missing cookie -> cookie cache -> success -> 32 with a forged cookie), SOCKS reply codes,
#    a missing -10 IE echo fails the connection.
# timeout: 240
set -uo pipefail
source "$(dirname "$0")/../lib.sh"
source "$MPX_ROOT/tests/lib/netns.sh"
t_require_root
t_require_cmd ip jq tcpdump
t_require_bin mpx-server mpx-client mpx-proxy
have_tshark=1; command -v tshark >/dev/null || have_tshark=0

B=$MPX_ROOT/bin
trap mpx_nt_down EXIT INT TERM
mpx_nt_up agpx || { echo "FAIL: setup: mpx_nt_up failed"; exit 1; }
D=$MPX_NT_DIR
S4=$MPX_NT_S4 S6=$MPX_NT_S6 P=$MPX_NT_H_DSL4

dump_fail() {
  echo "--- state"; mpx_nt_dump
  for f in "$D"/*.log; do echo "--- $f"; tail -n 15 "$f"; done
}

mpx_nt_bg server "$D/srv.log" "$B/mpx-server" --listen "$S4:8080" --listen "[$S6]:8080" \
  --json "$D/srv.json" --ready "$D/srv.ready"
mpx_nt_wait_file "$D/srv.ready" 10 || { echo "FAIL: setup: mpx-server not ready"; dump_fail; exit 1; }
# proxy: default listeners convert 5124, mpconvert 5125, mpconvert-ie 5126, socks5 1080
mpx_nt_bg hag "$D/proxy.log" "$B/mpx-proxy" --ready "$D/proxy.ready" --stats "$D/proxy.stats" \
  --allow "$MPX_NT_C_DSL4/24" --allow "$MPX_NT_C_LTE4/24" --allow "$MPX_NT_C_DSL6/64" --allow "$MPX_NT_C_LTE6/64"
mpx_nt_wait_file "$D/proxy.ready" 10 || { echo "FAIL: setup: mpx-proxy not ready"; dump_fail; exit 1; }
# a second proxy: SOCKS5 with RFC 1929 users on 1081, Convert with the cookie policy on 5134,
# Convert behind real TFO cookies on 5129 (the listener convert-cookie uses)
echo "alice:s3cret" > "$D/users"
mpx_nt_bg hag "$D/proxy2.log" "$B/mpx-proxy" --socks5 1081 --users "$D/users" \
  --allow "$MPX_NT_C_DSL4/24" --allow "$MPX_NT_C_LTE4/24" --allow "$MPX_NT_C_DSL6/64" --allow "$MPX_NT_C_LTE6/64" \
  --convert 5134 --cookie-required --convert-tfo 5129 --ready "$D/proxy2.ready"
mpx_nt_wait_file "$D/proxy2.ready" 10 || { echo "FAIL: setup: second mpx-proxy not ready"; dump_fail; exit 1; }

# capture SYNs on the client's dsl link for the whole run
mpx_nt_bg client "$D/tcpdump.log" timeout 200 tcpdump -U --immediate-mode -Z root -i dsl -nn \
  -s 400 -w "$D/dsl.pcap" 'tcp[tcpflags] & tcp-syn != 0'
CAP_PID=$MPX_NT_LASTPID
for _ in $(seq 1 100); do grep -q listening "$D/tcpdump.log" 2>/dev/null && break; sleep 0.05; done

client() { # name args...
  local name=$1; shift
  mpx_nt_exec client timeout 60 "$B/mpx-client" --json "$D/$name.json" --timeout 10 "$@" 2>"$D/$name.err"
  echo $? > "$D/$name.rc"
}
summary() { jq -c 'select(.type=="summary")' "$D/$1.json"; }
conns() { jq -c 'select(.type=="conn")' "$D/$1.json"; }

# 1. 50 verified connections per signal and target family
run50() { # signal proxy-port extra-args...
  local sig=$1 port=$2; shift 2
  local fam tgt name s n
  for fam in 4 6; do
    if [ $fam = 4 ]; then tgt="$S4:8080"; else tgt="[$S6]:8080"; fi
    name=$sig-v$fam
    client "$name" --signal "$sig" --target "$tgt" --proxy "$P:$port" --mptcp on \
      --count 50 --concurrency 10 --workload "rr 100/1000" --tag "$name" "$@"
    s=$(summary "$name")
    n=$(conns "$name" | jq -s '[.[] | select(.ok and .verified and .bytes_out==100 and .bytes_in==1000
          and .mptcp=="mptcp" and .subflows>=1 and .via != null)] | length')
    if [ "$(cat "$D/$name.rc")" = 0 ] && [ "$n" = 50 ]; then
      t_pass "$name - 50/50 verified over MPTCP (ttfb p50 $(jq .ttfb_us_p50 <<<"$s") us, p95 $(jq .ttfb_us_p95 <<<"$s") us)"
    else
      t_fail "$name" "rc=$(cat "$D/$name.rc") good=$n summary=$s errors: $(conns "$name" | jq -r 'select(.ok|not) | .error' | sort | uniq -c | head -3 | tr '\n' ';')"
      dump_fail
    fi
  done
}
srv_before=$(jq -s '[.[] | select(.type=="conn")] | length' "$D/srv.json" 2>/dev/null || echo 0)
run50 convert 5124
run50 convert-wait 5124
# the first connection to a cookie-granting listener carries a cookie request and gets
# Error 3 (Missing Cookie) with the cookie; every later one sends its request with the cookie
client convert-cookie-first --signal convert-cookie --target "$S4:8080" --proxy "$P:5129" --mptcp on \
  --count 1 --workload "rr 100/1000" --cookie-cache "$D/cookie-cache"
first=$(jq -r 'select(.type=="conn") | .error // "ok"' "$D/convert-cookie-first.json")
t_check "convert-cookie - the first connection got a TFO cookie for the proxy ($first)" \
  test -s "$D/cookie-cache"
run50 convert-cookie 5129 --cookie-cache "$D/cookie-cache"
run50 mpconvert 5125
run50 mpconvert-ie 5126
run50 socks5 1080
run50 socks5-auth 1081 --socks-user alice --socks-pass s3cret

# the server saw every one of those as plain TCP with a verified request
srv_ok=$(jq -s --argjson b "$srv_before" '[.[] | select(.type=="conn")] | .[$b:] |
          [.[] | select(.verified and .mptcp=="tcp")] | length' "$D/srv.json")
t_check "server - 700 proxied connections arrived as plain TCP, verified ($srv_ok)" [ "$srv_ok" = 700 ]

# 2. signal-specific client state
n=$(conns convert-v4 | jq -s '[.[] | select(.tfo=="syn-data-acked" and .t_req_sent_us <= .t_connected_us)] | length')
t_check "convert - request handed over with the SYN, before the handshake completed, data acked ($n/50)" [ "$n" = 50 ]
n=$(conns convert-wait-v4 | jq -s '[.[] | select(.t_sig_reply_us != null and .t_req_sent_us >= .t_sig_reply_us)] | length')
t_check "convert-wait - request sent only after the converter's reply ($n/50)" [ "$n" = 50 ]
n=$(conns socks5-v6 | jq -s '[.[] | select(.socks_reply==0 and .t_req_sent_us >= .t_sig_reply_us)] | length')
t_check "socks5 - reply code 0 parsed, request after the CONNECT reply ($n/50)" [ "$n" = 50 ]
# IE for an IPv4 target with port: magic 4 + type/len/flags 4 + address 4 + port 2 + pad 2
n=$(conns mpconvert-ie-v4 | jq -s '[.[] | select(.sig_bytes_in==16 and .sig_bytes_out==16)] | length')
t_check "mpconvert-ie - 16-byte IE sent and its echo consumed ($n/50)" [ "$n" = 50 ]
# causality across processes (same CLOCK_MONOTONIC): the server's first request byte lies
# between the client's start and the client's first response byte
n=$(jq -n --slurpfile c "$D/convert-v4.json" --slurpfile s "$D/srv.json" '
  ($s | map(select(.type=="conn" and .t_first_in_us != null)) | map(.t_accept_mono_us + .t_first_in_us)) as $in |
  [$c[] | select(.type=="conn") | (.t0_mono_us) as $a | (.t0_mono_us + .t_first_resp_us) as $b |
   select(any($in[]; . > $a and . < $b))] | length')
t_check "convert - for each of the 50 connections a server arrival lies between client start and first response ($n)" [ "$n" = 50 ]

# the client reaching the proxy over IPv6 (IPv4 target inside the Convert Connect TLV)
client convert-v6proxy --signal convert --target "$S4:8080" --proxy "[$MPX_NT_H_DSL6]:5124" --count 50 --concurrency 10
n=$(conns convert-v6proxy | jq -s --arg l "[$MPX_NT_C_DSL6]" '[.[] | select(.ok and .verified and .mptcp=="mptcp" and (.local | startswith($l)))] | length')
t_check "convert over an IPv6 client-proxy path - 50/50 verified over MPTCP ($n)" [ "$n" = 50 ]

# 3. what is on the wire (SYNs captured in the client namespace)
sleep 0.3
mpx_nt_kill "$CAP_PID"
if [ "$have_tshark" = 1 ]; then
  tshark -r "$D/dsl.pcap" -Y 'tcp.flags.syn==1 && tcp.flags.ack==0' -T fields \
    -e tcp.dstport -e tcp.option_kind -e tcp.options.mptcp.subtype -e tcp.len -e tcp.payload \
    2>/dev/null > "$D/syns.txt"
  # convert / convert-wait: every SYN with payload has MP_CAPABLE (kind 30, subtype 0), no TFO
  # option (34/254) and starts 01 LL 22 63; the convert ones (not -wait) carry the MPX1 request
  # right after the TLVs (4*LL bytes in)
  n=$(awk -F'\t' '$1==5124 && $4>0' "$D/syns.txt" | wc -l)
  good=$(awk -F'\t' '$1==5124 && $4>0 && $2 ~ /(^|,)30(,|$)/ && $3 ~ /(^|,)0(,|$)/ &&
          $2 !~ /(^|,)(34|254)(,|$)/ && $5 ~ /^01..2263/' "$D/syns.txt" | wc -l)
  withreq=$(awk -F'\t' 'function hex(s,  i, v) { v = 0; for (i = 1; i <= length(s); i++)
            v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1; return v }
          $1==5124 && $4>0 && $5 ~ /^01..2263/ {
            L = hex(substr($5,3,2)) * 8; if (substr($5, L+1, 8) == "4d505831" && $4 > L/2 + 16) print }' \
          "$D/syns.txt" | wc -l)
  if [ "$n" -ge 200 ] && [ "$good" = "$n" ]; then
    t_pass "convert SYN - $good SYNs with MP_CAPABLE, no TFO option, payload 01 LL 22 63"
  else
    t_fail "convert SYN" "$good of $n SYNs with payload to 5124 match (expected >= 200, all)"
    head -3 "$D/syns.txt"
  fi
  t_check "convert SYN - $withreq SYNs carry the MPX1 request right after the Convert TLVs (>= 100 - convert, not convert-wait)" \
    [ "$withreq" -ge 100 ]
  sample=$(awk -F'\t' '$1==5124 && $4>0 {print substr($5,1,56); exit}' "$D/syns.txt")
  echo "# sample convert SYN payload: $sample..."
  # Connect TLV: IPv4 target as ::ffff:S4 port 8080; IPv6 target as is (the encoder's bytes)
  c4=$("$B/mpx-wire" encode convert --connect "$S4:8080") c6=$("$B/mpx-wire" encode convert --connect "[$S6]:8080")
  n4=$(grep -c $'^5124\t.*\t'"$c4" "$D/syns.txt")
  n6=$(grep -c $'^5124\t.*\t'"$c6" "$D/syns.txt")
  t_check "convert SYN - Connect TLV carries ::ffff:$S4:8080 ($n4) and [$S6]:8080 ($n6)" \
    [ "$n4" -ge 50 ] && [ "$n6" -ge 50 ]
  n=$(awk -F'\t' '$1==5125 && $4>0' "$D/syns.txt" | wc -l)
  m4=$("$B/mpx-wire" encode mpconvert --target "$S4:8080") m6=$("$B/mpx-wire" encode mpconvert --target "[$S6]:8080")
  good=$(awk -F'\t' -v m4="$m4" -v m6="${m6:0:40}" '$1==5125 && $2 ~ /(^|,)30(,|$)/ && (index($5, m4) == 1 || index($5, m6) == 1) &&
          $5 ~ /4d505831/' "$D/syns.txt" | wc -l)
  t_check "mpconvert SYN - MP_CAPABLE + payload 1e 0a|16 e0 06 addr port + EOL + request ($good/$n)" \
    [ "$n" -ge 100 ] && [ "$good" = "$n" ]
  n=$(awk -F'\t' '$1==5126 && $4>0' "$D/syns.txt" | wc -l)
  good=$(awk -F'\t' '$1==5126 && $2 ~ /(^|,)30(,|$)/ && $5 ~ /^faa8faa800/ && $5 ~ /4d505831/' "$D/syns.txt" | wc -l)
  t_check "mpconvert-ie SYN - MP_CAPABLE + payload fa a8 fa a8 IE + request ($good/$n)" [ "$n" -ge 100 ] && [ "$good" = "$n" ]
  # convert-cookie: the first SYN asks for a cookie (option 34 / 254 empty), the
  # cookie-granting listener answers with one and later SYNs carry it with the request
  req=$(awk -F'\t' '$1==5129 && $4==0 && $2 ~ /(^|,)(34|254)(,|$)/' "$D/syns.txt" | wc -l)
  acked=$(conns convert-cookie-v4 | jq -s '[.[] | select(.tfo=="syn-data-acked")] | length')
  t_check "convert-cookie - SYNs with a TFO cookie request seen ($req)" [ "$req" -ge 1 ]
  t_check "convert-cookie - $acked/50 connections sent the request in the SYN with a kernel TFO cookie" [ "$acked" = 50 ]
else
  t_skip "SYN contents" "tshark not installed"
fi

# 4. converter replies: Error TLVs, cookie policy, SOCKS codes, missing IE echo
err_case() { # name expect_code args...
  local name=$1 code=$2; shift 2
  client "$name" "$@" --count 1
  local line; line=$(conns "$name")
  if [ "$(cat "$D/$name.rc")" = 1 ] && [ "$(jq .convert_error <<<"$line")" = "$code" ] &&
     [ "$(jq .ok <<<"$line")" = false ]; then
    t_pass "$name - convert_error $code, exit 1 ($(jq -r .error <<<"$line"))"
  else
    t_fail "$name" "rc=$(cat "$D/$name.rc") $line"
  fi
}
err_case err-closed-port 96 --signal convert --target "$S4:8099" --proxy "$P:5124"
# a loopback target: RFC 8803 6.2.5 says Malformed Message (1); the ACL answers 32 only for policy refusals
client err-loopback --signal convert --target "127.0.0.1:8080" --proxy "$P:5124" --count 1
code=$(conns err-loopback | jq .convert_error)
if [ "$(cat "$D/err-loopback.rc")" = 1 ] && { [ "$code" = 1 ] || [ "$code" = 32 ]; }; then
  t_pass "err-loopback - convert_error $code (1 Malformed per RFC 8803 6.2.5, or 32 by ACL), exit 1"
else t_fail "err-loopback" "rc=$(cat "$D/err-loopback.rc") $(conns err-loopback)"; fi
err_case err-closed-port-wait 96 --signal convert-wait --target "[$S6]:8099" --proxy "$P:5124"
rm -f "$D/cookies"
err_case cookie-missing 3 --signal convert --target "$S4:8080" --proxy "$P:5134" --cookie-cache "$D/cookies"
if [ -s "$D/cookies" ]; then t_pass "cookie cache written - $(cat "$D/cookies")"; else t_fail "cookie cache" "empty"; fi
client cookie-ok --signal convert --target "$S4:8080" --proxy "$P:5134" --cookie-cache "$D/cookies" --count 5
n=$(conns cookie-ok | jq -s '[.[] | select(.ok and .verified)] | length')
t_check "cookie from the cache accepted - 5/5 ok ($n)" [ "$n" = 5 ]
awk '{ c = $2; printf "%s %s%s\n", $1, (substr(c,1,1) == "0" ? "1" : "0"), substr(c,2) }' "$D/cookies" > "$D/cookies.bad"
err_case cookie-forged 32 --signal convert --target "$S4:8080" --proxy "$P:5134" --cookie-cache "$D/cookies.bad"

client socks-refused --signal socks5 --target "$S4:8099" --proxy "$P:1080" --count 1
line=$(conns socks-refused)
rep=$(jq .socks_reply <<<"$line")
if [ "$(cat "$D/socks-refused.rc")" = 1 ] && [ "$rep" != null ] && [ "$rep" != 0 ]; then
  t_pass "socks5 to a closed port - socks_reply $rep ($(jq -r .error <<<"$line"))"
else t_fail "socks5 closed port" "$line"; fi
client socks-badpass --signal socks5-auth --socks-user alice --socks-pass wrong --target "$S4:8080" --proxy "$P:1081" --count 1
t_check "socks5-auth with a wrong password fails (exit $(cat "$D/socks-badpass.rc"))" [ "$(cat "$D/socks-badpass.rc")" = 1 ]

# -10 IE sent to a listener that does not echo it (the -09 port): must fail, and say why
client ie-no-echo --signal mpconvert-ie --target "$S4:8080" --proxy "$P:5125" --count 1 --timeout 5
line=$(conns ie-no-echo)
if [ "$(cat "$D/ie-no-echo.rc")" = 1 ] && [[ $(jq -r .error <<<"$line") == *ie* ]]; then
  t_pass "mpconvert-ie without an echo fails - $(jq -r .error <<<"$line")"
else t_fail "mpconvert-ie without echo" "$line"; fi
t_done
