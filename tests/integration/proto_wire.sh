#!/usr/bin/env bash
# timeout: 60
# bin/mpx-wire end to end: the acceptance examples, protocols.md 1.12 vectors through
# encode and decode, every subcommand's JSON (parsed by jq), and the exit codes 0/1/2.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
t_require_bin mpx-wire
t_require_cmd jq
W=$MPX_ROOT/bin/mpx-wire

# mpx_wire_run ARGS...: sets OUT (stdout+stderr) and RC without tripping set -e
mpx_wire_run() { RC=0; OUT=$("$W" "$@" 2>&1) || RC=$?; }
# mpx_wire_expect NAME RC REGEX ARGS...: exit code and an output pattern
mpx_wire_expect() {
  local name=$1 want_rc=$2 re=$3; shift 3
  mpx_wire_run "$@"
  if [ "$RC" != "$want_rc" ]; then t_fail "$name" "exit $RC, want $want_rc: mpx-wire $* -> $(head -c 400 <<<"$OUT")"; return; fi
  if ! grep -Eq -- "$re" <<<"$OUT"; then t_fail "$name" "output lacks /$re/: $(head -c 400 <<<"$OUT")"; return; fi
  t_pass "$name"
}
# mpx_wire_json NAME JQ-EXPR ARGS...: --json output parses and the jq boolean holds
mpx_wire_json() {
  local name=$1 expr=$2; shift 2
  mpx_wire_run "$@" --json
  if ! jq -e "$expr" >/dev/null 2>&1 <<<"$OUT"; then t_fail "$name" "jq '$expr' false on: $(head -c 400 <<<"$OUT")"; return; fi
  t_pass "$name"
}

CONN=010622630a05005000000000000000000000ffffc0000201

# --- the acceptance examples
mpx_wire_expect convert-example 0 'version 1' convert $CONN
grep -q '24 bytes' <<<"$OUT" && grep -q 'Connect to 192.0.2.1 port 80' <<<"$OUT" \
  && t_pass convert-example-fields || t_fail convert-example-fields "$OUT"
mpx_wire_expect convert-zero-tlv 1 'CONV-TLV-ZERO' convert 010622630a00005000000000000000000000ffffc0000201
mpx_wire_expect convert-bad-magic 1 'CONV-HDR-MAGIC' convert 010622640a05005000000000000000000000ffffc0000201
mpx_wire_expect options-example 0 'total 20 bytes' options 020405b40402080a000000010000000001030307 --syn
for re in 'mss 1460' 'sackOK' 'TS val 1 ecr 0' 'wscale 7'; do
  grep -q "$re" <<<"$OUT" && t_pass "options-example-lists '$re'" || t_fail "options-example-lists '$re'" "$OUT"
done
mpx_wire_expect budget-fits 0 'total 36 bytes.*fits' budget --syn mss,sackperm,ts,ws,tfo:8,mpc
mpx_wire_expect budget-no-fit 0 'does NOT fit' budget --syn mss,sackperm,ts,ws,tfo:8,mpc,mpconvert:v6+port
mpx_wire_json budget-json-fits '.fits == true and .requested == 36 and .total == 36 and .left == 4' \
  budget --syn mss,sackperm,ts,ws,tfo:8,mpc
mpx_wire_json budget-json-no-fit '.fits == false and .requested == 60 and ([.items[] | select(.dropped)] | length) >= 1' \
  budget --syn mss,sackperm,ts,ws,tfo:8,mpc,mpconvert:v6+port

# --- protocols.md 1.12: encode gives the exact bytes, decode reads them back
mpx_wire_expect encode-connect 0 "^${CONN}47455420\$" encode convert --connect 192.0.2.1:80 --data 'GET '
mpx_wire_expect encode-ext-connect 0 "^010722630a060050${CONN:16}1e020000\$" encode convert --connect 192.0.2.1:80 --ext-opt 30
mpx_wire_expect encode-success 0 '^01012263$' encode convert-reply
mpx_wire_expect encode-err-reset 0 '^010222631e016000$' encode convert-reply --error 96
mpx_wire_expect encode-err-unreach 0 '^010222631e016103$' encode convert-reply --error unreachable --value 03
mpx_wire_expect encode-missing-cookie 0 '^010422631e0303000102030405060708$' encode convert-reply --error 3 --value 0102030405060708
mpx_wire_expect encode-cookie-connect 0 "^01092263${CONN:8}160300000102030405060708\$" \
  encode convert --connect 192.0.2.1:80 --cookie 0102030405060708
mpx_wire_expect decode-err-unreach 0 'Destination Unreachable, ICMP code 3' convert 010222631e016103
mpx_wire_expect decode-missing-cookie 0 'Missing Cookie, cookie \(8 bytes' convert 010422631e0303000102030405060708
mpx_wire_json decode-json-connect '.ok and .version == 1 and .bytes == 24 and .tlvs[0].name == "Connect" and .tlvs[0].addr == "192.0.2.1" and .tlvs[0].port == 80 and .data_len == 4' \
  convert ${CONN}47455420
mpx_wire_json decode-json-bad '(.ok | not) and .rule == "CONV-TLV-DUP" and .error_code == 1' \
  convert 010b22630a050050${CONN:16}0a050050${CONN:16}
mpx_wire_json decode-json-version '.rule == "CONV-HDR-VERSION" and .error_code == 0' convert 02062263${CONN:8}
mpx_wire_json decode-json-partial '.need_more and .need == 24' convert ${CONN:0:20} --partial
mpx_wire_expect decode-loopback 1 'CONV-CONNECT-ADDR' convert 010622630a05005000000000000000000000ffff7f000001
mpx_wire_expect decode-loopback-any-addr 0 'Connect to 127.0.0.1' convert 010622630a05005000000000000000000000ffff7f000001 --any-addr

# every encoder output decodes again (IPv6, extended options, cookie, data)
h=$("$W" encode convert --connect '[fd00::5]:8080' --cookie 00112233445566778899 --ext-opt 30 --ext-opt 34:0102030405060708 --info --data hello)
mpx_wire_json roundtrip-convert '.ok and .tlvs[1].addr == "fd00::5" and .tlvs[1].port == 8080 and (.tlvs[1].options | length) == 2 and (.tlvs[2].cookie | startswith("00112233445566778899")) and .data_len == 5' \
  convert "$h" --from-client

# --- MP_CONVERT payload, both forms auto-detected
h=$("$W" encode mpconvert --target 192.0.2.1:80 --data 'GET ')
[ "$h" = 1e0ae006c000020100500047455420 ] && t_pass encode-mpconvert-09 || t_fail encode-mpconvert-09 "$h"
mpx_wire_json mpconvert-09 '.ok and .form == "09" and .instances[0].addr == "192.0.2.1" and .instances[0].port == 80 and .data_off == 11' mpconvert "$h"
h=$("$W" encode mpconvert --ie --target '[2001:db8::1]:443' --source 198.18.0.2 --data X)
mpx_wire_json mpconvert-ie '.ok and .form == "ie" and (.instances | length) == 2 and .instances[0].role == "source" and .instances[1].m == 1 and .data_off == 40' mpconvert "$h"
mpx_wire_expect mpconvert-ie-human 0 'destination 2001:db8::1 port 443' mpconvert "$h"
mpx_wire_expect mpconvert-bad-pad 1 'MPCONV-IE-PAD' mpconvert faa8faa8000a0001c000020100500001
mpx_wire_expect mpconvert-bad-form 1 'MPCONV-FORM' mpconvert 47455420

# --- SOCKS5
c=$("$W" encode socks5 greeting --methods 0,2)$("$W" encode socks5 auth --user alice --pass secret)$("$W" encode socks5 request --domain example.com:443)
[ "$c" = 050200020105616c69636506736563726574050100030b6578616d706c652e636f6d01bb ] \
  && t_pass encode-socks5-client || t_fail encode-socks5-client "$c"
mpx_wire_json socks5-client '.ok and (.messages | map(.msg)) == ["greeting","auth","request"] and .messages[2].addr == "example.com" and .messages[2].port == 443' socks5 "$c"
s=$("$W" encode socks5 choice --method 0)$("$W" encode socks5 reply --rep 5 --bind '[fd00::1]:1080')
mpx_wire_expect socks5-server 0 'reply: 5 connection refused' socks5 "$s" --server
mpx_wire_expect socks5-bad-atyp 1 'S5-ATYP' socks5 05010002c00002010050 --msg request
mpx_wire_expect socks5-truncated 1 'S5-TRUNC' socks5 05010001c000 --msg request

# --- JSON on the options subcommand, and invalid option areas
mpx_wire_json options-json '.ok and .total == 20 and (.options | map(.name)) == ["mss","sackOK","TS","nop","wscale"]' \
  options 020405b40402080a000000010000000001030307 --syn
mpx_wire_expect options-len-zero 1 'TCPOPT-LEN-ZERO' options 02000000 --syn

# --- usage errors exit 2, help and version exit 0
mpx_wire_expect usage-no-args 2 'usage' 
mpx_wire_expect usage-unknown-cmd 2 'unknown command' frobnicate
mpx_wire_expect usage-bad-hex 2 'hex' convert 0g
mpx_wire_expect usage-bad-flag 2 'unrecognized|invalid' convert $CONN --frob
mpx_wire_expect usage-budget-noseg 2 'usage' budget mss
mpx_wire_expect usage-encode-addr 2 'want A:P' encode convert --connect nonsense
mpx_wire_expect help 0 'exit: 0 valid' --help
mpx_wire_expect version 0 '^mpx-wire ' --version
mpx_wire_expect budget-bad-item 1 'BUDGET-PARSE' budget --syn mss,frob
# --- HEX from stdin, JSON on failures
RC=0; OUT=$(echo "01 06 22 63 0a 05 00 50 00000000 00000000 0000ffff c0000201" | "$W" convert - 2>&1) || RC=$?
[ "$RC" = 0 ] && grep -q 'Connect to 192.0.2.1 port 80' <<<"$OUT" && t_pass stdin-hex || t_fail stdin-hex "rc=$RC $OUT"
mpx_wire_json options-json-violation '(.ok | not) and (.violations | map(.rule) | index("TCPOPT-LEN-ZERO")) != null' options 02000000 --syn
mpx_wire_json convert-json-reset '.rule == "CONV-HDR-LEN-ZERO" and .action == "reset" and .error_code == null' convert 01002263
mpx_wire_json encode-json-fail '(.ok | not) and .rule == "CONV-ENC-OPT"' encode convert --connect 192.0.2.1:80 --ext-opt 1

# --- single options (encode option): the bytes shell scripts use instead of printf of hex
mpx_wire_expect option-prefer 0 '^1e04e000$' encode option prefer
mpx_wire_expect option-prefer-subtype 0 '^1e043000$' encode option prefer --subtype 3
mpx_wire_expect option-prefer-253 0 '^fd064d50e000$' encode option prefer --exp253
mpx_wire_expect option-mpconvert 0 '^1e0ae006c00002010050$' encode option mpconvert --target 192.0.2.1:80
mpx_wire_expect option-mpconvert-253 0 '^fd0c4d50e006c00002010050$' encode option mpconvert --target 192.0.2.1:80 --exp253
mpx_wire_expect option-mpconvert-v6-253 0 '^fd184d50e006fd0000000000000000000000000000010050$' \
  encode option mpconvert --target '[fd00::1]:80' --exp253
mpx_wire_expect option-ra 0 '^94040000$' encode option ra
mpx_wire_json option-ra-json '.ok and .len == 4 and .hex == "94040000"' encode option ra
mpx_wire_expect option-ra-no-exp253 2 'takes no' encode option ra --exp253
mpx_wire_expect option-mpconvert-no-target 2 'missing' encode option mpconvert
mpx_wire_expect option-unknown 2 'want prefer' encode option sack
mpx_wire_expect option-exp253-from 0 '^fd0c4d50e006c00002010050$' encode option exp253 --from 1e0ae006c00002010050
mpx_wire_expect option-exp253-bad 2 'well-formed' encode option exp253 --from 1e05e000
# the option decoder reads the kind-30 bytes back
mpx_wire_expect option-prefer-decodes 0 'total 4 bytes' options "$("$W" encode option prefer)" --syn
# the kind-30 option inside the MP_CONVERT payload is the same as the single option
h=$("$W" encode mpconvert --target 192.0.2.1:80)
[ "${h:0:20}" = "$("$W" encode option mpconvert --target 192.0.2.1:80)" ] && t_pass option-mpconvert-matches-payload \
  || t_fail option-mpconvert-matches-payload "$h"

# --- independent oracle: tshark's SOCKS dissector reads what our encoder wrote
# mpx_wire_s5_pcap OUT DIR:HEX...: one TCP segment per message (O = client->proxy, I = back)
mpx_wire_s5_pcap() {
  local out=$1 item; shift
  for item; do echo "${item%%:*} 0000 $(sed 's/../& /g' <<<"${item#*:}")"; done > "$out.txt"
  text2pcap -q -D -4 198.18.0.1,198.18.0.2 -T 40001,1080 "$out.txt" "$out" >/dev/null 2>&1
}
if command -v tshark >/dev/null && command -v text2pcap >/dev/null; then
  tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
  mpx_wire_s5_pcap "$tmp/a.pcap" \
    "O:$("$W" encode socks5 greeting --methods 2)" "I:$("$W" encode socks5 choice --method 2)" \
    "O:$("$W" encode socks5 auth --user alice --pass secret)" "I:$("$W" encode socks5 auth-reply --status 0)" \
    "O:$("$W" encode socks5 request --domain example.com:443)" "I:$("$W" encode socks5 reply --rep 5 --bind '[fd00::1]:1080')"
  mpx_wire_s5_pcap "$tmp/b.pcap" \
    "O:$("$W" encode socks5 greeting --methods 0)" "I:$("$W" encode socks5 choice --method 0)" \
    "O:$("$W" encode socks5 request --connect 192.0.2.1:80 --cmd bind)" "I:$("$W" encode socks5 reply --rep 0 --bind 198.18.0.2:40000)"
  got=$(for f in a b; do tshark -r "$tmp/$f.pcap" -d tcp.port==1080,socks -T fields -E separator='|' -e socks.version \
        -e socks.auth_method -e socks.auth_accepted_method -e socks.username -e socks.password -e socks.auth_status \
        -e socks.command -e socks.address_type -e socks.dst -e socks.dstV6 -e socks.remote_name -e socks.port \
        -e socks.results 2>/dev/null; done | tr '\n' ';')
  want='5|2|||||||||||;5||2||||||||||;5|||alice|secret||||||||;5|||||0|||||||;5||||||1|3|||example.com|443|;5|||||||4||fd00::1||1080|5;'
  want+='5|0|||||||||||;5||0||||||||||;5||||||2|1|192.0.2.1|||80|;5|||||||1|198.18.0.2|||40000|0;'
  [ "$got" = "$want" ] && t_pass tshark-socks5-oracle || t_fail tshark-socks5-oracle "tshark read '$got', want '$want'"
else
  t_skip tshark-socks5-oracle "tshark/text2pcap not installed"
fi

# --- every Convert rule the library enforces is documented in proto/README.md
missing=""
while read -r rule; do
  grep -q -- "| $rule |" "$MPX_ROOT/proto/README.md" || missing="$missing $rule"
done < <("$W" rules --json | jq -r .rule)
n=$("$W" rules --json | wc -l)
if [ "$n" -ge 20 ] && [ -z "$missing" ]; then t_pass "rules-documented ($n rules)"; else t_fail rules-documented "n=$n missing:$missing"; fi
t_done
