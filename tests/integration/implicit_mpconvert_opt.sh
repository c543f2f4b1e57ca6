#!/usr/bin/env bash
# mpconvert-opt end to end: MP_CONVERT as a kind-30 option in the SYN's option
# space. The client (mpx-client --signal mpconvert-opt --optd-ctl) checks the option budget
# first; when it fits it registers the option for its source port with its mpx-optd (add
# mode, NFQUEUE), which appends it to the kernel's MP_CAPABLE SYN; the HAG's mpx-optd (read
# mode) decodes it and mpx-proxy --mpconvert-opt asks it for the target (--optd).
#   - 50 connections IPv4 target via the IPv4 proxy address: verified payloads, MPTCP to the
#     proxy, the server sees the HAG as peer, the proxy counts 50 mpconvert-opt relays;
#   - IPv6 target (22-byte option, 48 > 40) and IPv4 with a TFO cookie (36 + 12 = 48): the
#     client reports "does not fit" with the byte count and sends no SYN at all;
#   - a connection to the mpconvert-opt port without the option is refused by the proxy;
#   - the captured SYNs: correct checksums (tshark) and no analyzer violations.
# timeout: 180
set -uo pipefail
source "$(dirname "$0")/../lib.sh"
source "$MPX_ROOT/tests/lib/netns.sh"
source "$MPX_ROOT/agents/intercept/intercept.sh"
t_require_root
t_require_cmd ip jq tcpdump iptables ethtool
t_require_bin mpx-server mpx-client mpx-proxy mpx-optd mpx-analyze
have_tshark=1; command -v tshark >/dev/null || have_tshark=0
B=$MPX_ROOT/bin
OPTPORT=5128
cleanup() {
  [ -n "$MPX_NT_HAG" ] && mpx_ic_hag_down "$MPX_NT_HAG" "$IC"
  [ -n "$MPX_NT_CLIENT" ] && mpx_ic_client_down "$MPX_NT_CLIENT" "$IC"
  mpx_nt_down
}
IC=
trap cleanup EXIT INT TERM
mpx_nt_up impo || { echo "FAIL: setup: mpx_nt_up failed"; exit 1; }
D=$MPX_NT_DIR
# the interception's files under a long path, as a results folder with a long run and variant
# name has them: the control sockets must still fit a unix socket path (regression: failover.exp)
IC=$D/ic-$(printf 'long%.0s' $(seq 1 20))
H4=$MPX_NT_H_DSL4 S4=$MPX_NT_S4 S6=$MPX_NT_S6
mpx_nt_exec client ethtool -K dsl tx off >/dev/null 2>&1
dump_fail() {
  echo "--- state"; mpx_nt_dump
  for f in "$D"/*.log "$IC"/*.log; do [ -f "$f" ] && { echo "--- $f"; tail -n 15 "$f"; }; done
}

mpx_nt_bg server "$D/srv.log" "$B/mpx-server" --listen "$S4:8080" --listen "[$S6]:8080" \
  --json "$D/srv.json" --ready "$D/srv.ready"
MPX_IC_OPTPORT=$OPTPORT mpx_ic_hag_up "$MPX_NT_HAG" optd-read "$IC" >"$D/hagup.log" 2>&1 ||
  { echo "FAIL: setup: hag: $(tail -2 "$D/hagup.log")"; dump_fail; exit 1; }
mpx_ic_client_up "$MPX_NT_CLIENT" "$IC" >"$D/clup.log" 2>&1 ||
  { echo "FAIL: setup: client optd: $(tail -2 "$D/clup.log")"; dump_fail; exit 1; }
CCTL=$(mpx_ic_client_ctl "$IC") HCTL=$(mpx_ic_hag_ctl "$IC")
t_check "control sockets fit sun_path with the proxy's reply suffix (${#CCTL}, ${#HCTL} <= 91 bytes)" \
  test "${#CCTL}" -le 91 -a "${#HCTL}" -le 91
mpx_nt_bg hag "$D/proxy.log" "$B/mpx-proxy" --mpconvert-opt "$OPTPORT" --optd "$HCTL" \
  --ready "$D/proxy.ready" --stats "$D/proxy.stats" \
  --allow "$MPX_NT_C_DSL4/24" --allow "$MPX_NT_C_LTE4/24" --allow "$MPX_NT_C_DSL6/64" --allow "$MPX_NT_C_LTE6/64"
PX=$MPX_NT_LASTPID
mpx_nt_wait_file "$D/srv.ready" 10 && mpx_nt_wait_file "$D/proxy.ready" 10 ||
  { echo "FAIL: setup: agents not ready"; dump_fail; exit 1; }
mpx_nt_bg client "$D/td.log" timeout 120 tcpdump -U --immediate-mode -Z root -i dsl -nn -s 256 \
  -w "$D/dsl.pcap" "tcp port $OPTPORT"
TD=$MPX_NT_LASTPID
for _ in $(seq 1 100); do grep -q listening "$D/td.log" 2>/dev/null && break; sleep 0.05; done

client() { # name args...
  local name=$1; shift
  mpx_nt_exec client timeout 90 "$B/mpx-client" --signal mpconvert-opt --optd-ctl "$CCTL" \
    --json "$D/$name.json" --timeout 10 "$@" 2>"$D/$name.err"
  echo $? >"$D/$name.rc"
}
client v4 --target "$S4:8080" --proxy "$H4:$OPTPORT" --count 50 --concurrency 5 --workload "rr 1000/20000"
ok=$(jq -s '[.[]|select(.type=="conn" and .ok and .verified and .mptcp=="mptcp")]|length' "$D/v4.json")
ob=$(jq -rs '[.[]|select(.type=="conn")][0].syn_opt_bytes' "$D/v4.json")
t_check "v4: 50 mpconvert-opt connections ok, verified, MPTCP to the proxy ($ok); SYN options $ob bytes" \
  test "$ok" = 50 -a "$ob" = 36
viaH=$(jq -s --arg h "$MPX_NT_H_WAN4:" '[.[]|select(.type=="conn" and (.peer|startswith($h)) and .verified)]|length' "$D/srv.json")
t_check "v4: the server saw the HAG as peer for all 50 ($viaH)" test "$viaH" = 50

n0=$(mpx_ic_ctl "$CCTL" stats | jq .nofit)
client v6 --target "[$S6]:8080" --proxy "$H4:$OPTPORT" --count 3
client tfo --target "$S4:8080" --proxy "$H4:$OPTPORT" --count 3 --tfo
n1=$(mpx_ic_ctl "$CCTL" stats | jq .nofit)
for x in v6 tfo; do
  rc=$(cat "$D/$x.rc")
  nok=$(jq -s '[.[]|select(.type=="conn" and (.ok|not) and (.error // "" | test("does not fit.*48 option bytes > 40")))]|length' "$D/$x.json")
  e=$(jq -rs '[.[]|select(.type=="conn")][0].error' "$D/$x.json")
  t_check "$x: reported as not fitting with the arithmetic on all 3 (exit $rc, $nok): $e" test "$rc" -ne 0 -a "$nok" = 3
done
t_check "no option was even offered to optd for them (nofit +$((n1 - n0)))" test $((n1 - n0)) -eq 0

# no option -> the proxy has no target and refuses
mpx_nt_exec client timeout 30 "$B/mpx-client" --signal tcp --mptcp on --target "$H4:$OPTPORT" --count 1 \
  --json "$D/noopt.json" --timeout 5 2>/dev/null
nok=$(jq -s '[.[]|select(.type=="conn" and .ok)]|length' "$D/noopt.json")
t_check "a connection without the option is refused ($nok ok)" test "$nok" = 0

sleep 0.3
mpx_nt_kill "$TD"
kill -USR1 "$PX" 2>/dev/null; sleep 0.3
rel=$(jq -r '.relayed["mpconvert-opt"] // .relayed.mpconvert_opt // empty' "$D/proxy.stats" 2>/dev/null | tail -1)
echo "# proxy stats: $(head -c 400 "$D/proxy.stats" 2>/dev/null)"
[ -n "$rel" ] && t_check "proxy counted $rel mpconvert-opt relays (>= 50)" test "$rel" -ge 50

syns4=$(jq -rs '[.[]|select(.type=="conn" and .ok)]|length' "$D/v4.json")
if [ $have_tshark = 1 ]; then
  TS=(tshark -n -o ip.check_checksum:TRUE -o tcp.check_checksum:TRUE)
  "${TS[@]}" -r "$D/dsl.pcap" -Y 'tcp.flags.syn==1 && tcp.flags.ack==0' -T fields -e tcp.srcport \
    -e tcp.hdr_len -e tcp.options.mptcp.subtype -e tcp.checksum.status -e ip.checksum.status 2>/dev/null >"$D/syns.tsv"
  tot=$(grep -c . "$D/syns.tsv")
  with=$(awk -F'\t' '$3 ~ /(^|,)14(,|$)/ && $2==56' "$D/syns.tsv" | wc -l)
  bad=$(awk -F'\t' '$4!="1" || $5!="1"' "$D/syns.tsv" | wc -l)
  t_check "wire: $tot SYNs to :$OPTPORT (51 = 50 + the option-less one: none from the refused attempts), $with carry MP_CONVERT at 56 bytes, bad checksums $bad" \
    test "$tot" -eq 51 -a "$with" -eq "$syns4" -a "$bad" -eq 0
else
  t_skip "wire checks" "tshark not installed"
fi
"$B/mpx-analyze" --json --out "$D/an.json" "$D/dsl.pcap" 2>"$D/an.err"
arc=$?
viol=$(jq -s '[.[]|select(.type=="summary")][0].violations // -1' "$D/an.json")
sig=$(jq -s '[.[]|select(.type=="conn" and .signal=="mpconvert-opt")]|length' "$D/an.json")
t_check "mpx-analyze: no violations (exit $arc, $viol), $sig connections classified mpconvert-opt" \
  test "$arc" -eq 0 -a "$viol" = 0 -a "$sig" -ge 50
[ "$T_FAILED" = 1 ] && dump_fail
t_done
