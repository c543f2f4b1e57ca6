#!/usr/bin/env bash
# mpx-proxy error paths, checked byte for byte on the wire (RFC 8803 s6.2.8 Error TLVs):
# closed port -> 96, unreachable (local route, remote ICMP) -> 97 + ICMP code, connect timeout
# -> 65, loopback target -> 1 (RFC 8803 s6.2.5 says Malformed), proxy's own address and
# --deny-target -> 32, malformed -> 1 with the echo (and the proxy keeps serving), unknown TLV
# -> 2, bad version -> 0 + list, unsupported option -> 33, Info -> Supported TCP Extensions,
# cookie policy 3 -> success -> 32 with a forged cookie, client outside --allow -> 32 / SOCKS
# method FF, per-client limit -> 64, server RST -> client reset.
# timeout: 150
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$MPX_ROOT/tests/lib/netns.sh"
source "$MPX_ROOT/tests/lib-proxy.sh"
t_require_root
t_require_cmd jq ip iptables
t_require_bin mpx-proxy mpx-client mpx-server mpx-proxy-probe

fail_dump() { mpx_nt_dump; for f in "$MPX_NT_DIR"/*.log; do echo "== $f"; tail -n 30 "$f"; done; }
cleanup() { if [ "$T_FAILED" = 1 ]; then fail_dump || true; fi; mpx_nt_down; }
trap cleanup EXIT INT TERM
mpx_nt_up pxerr || { echo "FAIL: setup: namespaces"; exit 1; }
mpx_px_server || { t_fail setup "mpx-server not ready"; exit 1; }

# a remote router answering ICMP: the server forwards, and refuses two prefixes itself
mpx_nt_exec server sysctl -qw net.ipv4.ip_forward=1
mpx_nt_exec server ip route add unreachable 198.19.77.0/24
mpx_nt_exec server ip route add prohibit 198.19.78.0/24
mpx_nt_exec hag ip route add 198.19.77.0/24 via "$MPX_NT_S4"
mpx_nt_exec hag ip route add 198.19.78.0/24 via "$MPX_NT_S4"
mpx_nt_exec server iptables -A INPUT -p tcp --dport 9998 -j DROP
mpx_nt_exec server sysctl -qw net.ipv6.conf.all.forwarding=1
mpx_nt_exec server ip -6 route add prohibit fd00:77::/64
mpx_nt_exec hag ip -6 route add fd00:77::/64 via "$MPX_NT_S6"

mpx_px_start pa --convert 5124 --socks5 1080 --deny-target 198.18.3.77/32 --connect-timeout 1000 -v ||
  { t_fail setup "proxy not ready"; exit 1; }
P="$MPX_NT_H_DSL4:5124"

# probe ADDR HEX [TIMEOUT_MS]: sets RX (received hex) and END (eof/reset/timeout)
RX='' END=''
probe() { local out; out=$(mpx_px_probe --to "$1" --hex "$2" --timeout "${3:-4000}" || true)
  END=$(jq -r .end <<<"$out" 2>/dev/null || echo "?"); RX=$(jq -r .rx_hex <<<"$out" 2>/dev/null || echo "?"); }
expect() { # name want [end]  (after probe)
  if [ "$RX" = "$2" ]; then
    if [ -n "${3:-}" ] && [ "$END" != "$3" ]; then t_fail "$1" "reply ok but connection ended '$END', want '$3'"
    else t_pass "$1 ($2)"; fi
  else t_fail "$1" "got '$RX' ($END) want '$2'"; fi
}

conn() { mpx_px_connect_hex "$1" "$2"; }
# --- server-caused and network errors
probe "$P" "$(conn "$MPX_NT_S4" 9)"; expect closed_port_96 010222631e016000 eof
probe "$P" "$(conn 198.19.99.1 80)"; expect no_route_97_code0 010222631e016100 eof
probe "$P" "$(conn 198.19.77.1 80)"; expect icmp_host_unreach_97_code1 010222631e016101 eof
probe "$P" "$(conn 198.19.78.1 80)"; expect icmp_prohibited_97_code13 010222631e01610d eof
probe "$P" "$(conn "$MPX_NT_S4" 9998)"; expect connect_timeout_65 010222631e014100 eof
# IPv6 targets: no route (ENETUNREACH) and an ICMPv6 "administratively prohibited" (code 1)
probe "[$MPX_NT_H_DSL6]:5124" "$(conn fd00:99::1 80)"; expect v6_no_route_97_code0 010222631e016100 eof
probe "[$MPX_NT_H_DSL6]:5124" "$(conn fd00:77::1 80)"; expect v6_icmp6_prohibited_97_code1 010222631e016101 eof
# --- refused targets
lo=$(conn 127.0.0.1 8080)
probe "$P" "$lo"; expect loopback_target_1_echo "01082263""1e070100$lo" eof
probe "$P" "$(conn "$MPX_NT_H_WAN4" 22)"; expect own_address_32 010222631e012000 eof
probe "$P" "$(conn 198.18.3.77 80)"; expect deny_target_32 010222631e012000 eof
# --- malformed / unsupported messages
c=$(conn 198.18.3.1 80); bad=${c:0:10}09${c:12}   # Connect Length 9 > Total 6
probe "$P" "$bad"; expect malformed_1_echo "01082263""1e070100$bad" eof
c=$(conn "$MPX_NT_S4" 8080); badmagic=01062264${c:8}
probe "$P" "$badmagic"; expect bad_magic_1 "01082263""1e070100$badmagic" eof
probe "$P" 0102226363010000; expect unknown_tlv_2_echo 010422631e0302000102226363010000 eof
probe "$P" "02062263$(conn "$MPX_NT_S4" 8080 | cut -c9-)"; expect bad_version_0_list 010222631e010001 eof
ext=$(mpx_px_wire encode convert --connect "$MPX_NT_S4:8080" --ext-opt 34)  # TFO listed
probe "$P" "$ext"; expect unsupported_option_33 010222631e012122 eof
probe "$P" 0102226301010000; expect info_supported 010322631502000004081e00 eof
# the proxy still serves after all that
out=$(mpx_px_client --signal convert --target "$MPX_NT_S4:8080" --proxy "$MPX_NT_H_DSL4" --count 5 --json - | tail -1)
t_check still_serving_after_errors test "$(jq -r .ok <<<"$out")" = 5

# --- server RST during the relay -> the client is reset (MP_FASTCLOSE analogue)
# a target that accepts and answers the first data segment with a RST (the kernel's tcp-reset,
# with the sequence numbers of the connection: what a server closing with SO_LINGER 0 sends)
mpx_nt_exec server iptables -A INPUT -p tcp --dport 7777 --tcp-flags SYN,PSH PSH -j REJECT --reject-with tcp-reset
mpx_nt_bg server "$MPX_NT_DIR/rst.log" "$MPX_ROOT/bin/mpx-server" --listen "$MPX_NT_S4:7777" \
  --json "$MPX_NT_DIR/rst.json" --ready "$MPX_NT_DIR/rst.ready"
mpx_nt_wait_file "$MPX_NT_DIR/rst.ready" 10 || { t_fail setup "rst target not ready"; exit 1; }
probe "$P" "$(mpx_px_wire encode convert --connect "$MPX_NT_S4:7777" --data HELLO)"; expect server_rst_resets_client 01012263 reset

# --- SOCKS5 errors: refused port -> REP 5, loopback -> REP 2, unreachable -> REP 3
s5() { probe "$MPX_NT_H_DSL4:1080" "$(mpx_px_wire encode socks5 greeting)$(mpx_px_wire encode socks5 request --connect "$1")" 3000; }
s5 "$MPX_NT_S4:9"; expect socks5_refused_rep5 050005050001000000000000 eof
s5 127.0.0.1:8080; expect socks5_loopback_rep2 050005020001000000000000 eof
s5 198.19.99.1:80; expect socks5_no_route_rep3 050005030001000000000000 eof

# --- counters agree with what was seen on the wire
stats=$(mpx_px_stats pa)
ce() { jq -r ".convert_errors[\"$1\"] // 0" <<<"$stats"; }
t_check stats_err96 test "$(ce 96)" -ge 1
t_check stats_err97 test "$(ce 97)" = 5
t_check stats_err65 test "$(ce 65)" = 1
t_check stats_err32 test "$(ce 32)" = 2
t_check stats_err1 test "$(ce 1)" = 3
t_check stats_err2_0_33 test "$(ce 2)$(ce 0)$(ce 33)" = 111
t_check stats_server_resets test "$(jq -r .server_resets <<<"$stats")" -ge 1
t_check stats_socks_replies test "$(jq -r '.socks_replies["5"]+.socks_replies["2"]+.socks_replies["3"]' <<<"$stats")" = 3

# --- cookie policy: Error 3 with a cookie, then success with it, then 32 with a forged one
mpx_px_start pb --convert 5134 --cookie-required --cookie-key 000102030405060708090a0b0c0d0e0f ||
  { t_fail setup "cookie proxy not ready"; exit 1; }
cache=$MPX_NT_DIR/cookies
first=$(mpx_px_client --signal convert --target "$MPX_NT_S4:8080" --proxy "$MPX_NT_H_DSL4:5134" --cookie-cache "$cache" --json - | head -1 || true)
t_check cookie_missing_3 test "$(jq -r .convert_error <<<"$first")" = 3
second=$(mpx_px_client --signal convert --target "$MPX_NT_S4:8080" --proxy "$MPX_NT_H_DSL4:5134" --cookie-cache "$cache" --count 3 --json - | tail -1 || true)
t_check cookie_then_success test "$(jq -r .ok <<<"$second")" = 3
# issued cookie on the wire: 01 04 22 63 1e 03 03 00 + 8 bytes
probe "$MPX_NT_H_DSL4:5134" "$(conn "$MPX_NT_S4" 8080)"; raw=$RX
t_check cookie_error3_format test "${raw:0:16}" = 010422631e030300 -a "${#raw}" = 32
ck=${raw:16:16}
good=$(mpx_px_wire encode convert --connect "$MPX_NT_S4:8080" --cookie "$ck" --data MPX1)  # + 4 data bytes
forged=$(mpx_px_wire encode convert --connect "$MPX_NT_S4:8080" --cookie 1122334455667788)
probe "$MPX_NT_H_DSL4:5134" "$good" 1500; t_check cookie_probe_accepted test "${RX:0:8}" = 01012263
probe "$MPX_NT_H_DSL4:5134" "$forged"; expect cookie_forged_32 010222631e012000 eof
stats=$(mpx_px_stats pb)
t_check cookie_counters test "$(jq -r '"\(.cookies.issued) \(.cookies.refused)"' <<<"$stats")" = "2 1"

# --- client outside --allow, per-client limit
# (this proxy takes its policy from a --config file)
cat > "$MPX_NT_DIR/pc.conf" <<EOF
# mpx-proxy config: key value, keys are the long option names
convert 5144
socks5  1090
allow   $MPX_NT_C_LTE4/32
allow   $MPX_NT_C_DSL6/128     # the client's dsl IPv6 address
max-per-client 1
header-timeout 3000
EOF
mpx_px_start pc --config "$MPX_NT_DIR/pc.conf" || { t_fail setup "acl proxy not ready"; exit 1; }
probe "$MPX_NT_H_DSL4:5144" "$(conn "$MPX_NT_S4" 8080)"; expect client_not_allowed_32 010222631e012000 eof
probe "$MPX_NT_H_DSL4:1090" 050100; expect socks_client_not_allowed_ff 05ff eof
ok=$(mpx_px_client --signal convert --bind "$MPX_NT_C_LTE4" --target "$MPX_NT_S4:8080" --proxy "$MPX_NT_H_DSL4:5144" --json - | tail -1 || true)
t_check allowed_client_served test "$(jq -r .ok <<<"$ok")" = 1
# one connection held open in the SOCKS greeting, the next from the same client gets 64
mpx_nt_exec client timeout 5 "$MPX_ROOT/bin/mpx-proxy-probe" --to "[$MPX_NT_H_DSL6]:1090" --no-syn-data --timeout 2500 >/dev/null &
holder=$!
sleep 0.5
probe "[$MPX_NT_H_DSL6]:5144" "$(conn "$MPX_NT_S4" 8080)"; expect per_client_limit_64 010222631e014000 eof
wait "$holder" 2>/dev/null || true
# --max-conns: with one connection held open, the next one gets 64 (any client)
mpx_px_start pd --convert 5164 --socks5 1091 --max-conns 1 --header-timeout 3000 || { t_fail setup "proxy pd not ready"; exit 1; }
mpx_nt_exec client timeout 5 "$MPX_ROOT/bin/mpx-proxy-probe" --to "$MPX_NT_H_DSL4:1091" --no-syn-data --timeout 2500 >/dev/null &
holder=$!
sleep 0.5
probe "[$MPX_NT_H_DSL6]:5164" "$(conn "$MPX_NT_S4" 8080)"; expect max_conns_64 010222631e014000 eof
wait "$holder" 2>/dev/null || true
t_check max_conns_counter test "$(mpx_px_stats pd | jq -r .acl.global_limit)" = 1
stats=$(mpx_px_stats pc)
t_check acl_counters test "$(jq -r '"\(.acl.client_refused) \(.acl.per_client_limit)"' <<<"$stats")" = "2 1"

# --- SIGTERM drains and exits 0 with final counters
mpx_px_stop pa
t_check sigterm_final_stats grep -q '"why":"exit"' "$MPX_NT_DIR/pa.stats"
t_done
