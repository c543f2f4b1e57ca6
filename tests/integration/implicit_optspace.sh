#!/usr/bin/env bash
# MP_CONVERT as a real kind-30 option in kernel-made MPTCP SYNs (mpconvert-opt),
# added by the client's mpx-optd (NFQUEUE) and read by the HAG's mpx-optd (NFQUEUE, lookup
# over its control socket), on real SYNs in namespaces. What fits and what does not follows
# the 40-byte option area (protocols.md 5.2; bin/mpx-wire budget gives the same numbers):
#   A  IPv4 target+port, no TFO cookie: 24 + 12 = 36 -> added; the HAG decodes the target
#   B  IPv6 target+port, timestamps on: 24 + 24 = 48 -> refused, the SYN leaves unchanged (24)
#   C  IPv4 with TFO: the cookie-request SYN 28 + 12 = 40 -> added (exactly full); the SYN
#      with an 8-byte cookie 36 + 12 = 48 -> refused, unchanged (36)
#   D  IPv6 with tcp_timestamps=0: 16 + 24 = 40 -> added (exactly full)
#   E  mpx-client --signal mpconvert-opt (per-connection sport registration): IPv4 works and
#      the HAG decodes every target; IPv6 is refused by the client with "does not fit" and
#      the byte count (48), and no SYN leaves the client
# Every SYN on the wire: correct IP/TCP checksums (tshark), header length as computed, no
# analyzer violations. The HAG's listener on the mpconvert-opt port is a stand-in MPTCP
# mpx-server (the proxy's --mpconvert-opt listener comes with the client/proxy integration).
# timeout: 180
set -uo pipefail
source "$(dirname "$0")/../lib.sh"
source "$MPX_ROOT/tests/lib/netns.sh"
source "$MPX_ROOT/agents/intercept/intercept.sh"
t_require_root
t_require_cmd ip jq tcpdump iptables ethtool
t_require_bin mpx-server mpx-client mpx-optd mpx-analyze mpx-wire
have_tshark=1; command -v tshark >/dev/null || have_tshark=0

B=$MPX_ROOT/bin
OPTPORT=5128
cleanup() {
  [ -n "$MPX_NT_HAG" ] && mpx_ic_hag_down "$MPX_NT_HAG" "$MPX_NT_DIR/ic"
  [ -n "$MPX_NT_CLIENT" ] && mpx_ic_client_down "$MPX_NT_CLIENT" "$MPX_NT_DIR/ic"
  mpx_nt_down
}
trap cleanup EXIT INT TERM
mpx_nt_up iopt || { echo "FAIL: setup: mpx_nt_up failed"; exit 1; }
D=$MPX_NT_DIR
H4=$MPX_NT_H_DSL4 H6=$MPX_NT_H_DSL6 S4=$MPX_NT_S4 S6=$MPX_NT_S6
mpx_nt_exec client ethtool -K dsl tx off >/dev/null 2>&1
mpx_nt_exec client ethtool -K lte tx off >/dev/null 2>&1
dump_fail() {
  echo "--- state"; mpx_nt_dump
  for f in "$D"/*.log "$D"/ic/*.log; do [ -f "$f" ] && { echo "--- $f"; tail -n 15 "$f"; }; done
}

# the MP_CONVERT option bytes (-09 layout, subtype 0xe): mpx-wire prints option + EOL
opt_hex() { local h; h=$("$B/mpx-wire" encode mpconvert --target "$1") || return 1; echo "${h:0:$((0x${h:2:2} * 2))}"; }
HEX4=$(opt_hex "$S4:8080") HEX6=$(opt_hex "[$S6]:8080")
t_check "option bytes: v4+port is 10 bytes ($HEX4), v6+port 22 ($HEX6)" test ${#HEX4} -eq 20 -a ${#HEX6} -eq 44

budget() { "$B/mpx-wire" budget --syn "$1" --json | jq -r '"\(.requested) \(.fits)"'; }

mpx_nt_bg hag "$D/stand.log" "$B/mpx-server" --mptcp --tfo --listen "$H4:$OPTPORT" --listen "[$H6]:$OPTPORT" \
  --json "$D/stand.json" --ready "$D/stand.ready"
mpx_nt_wait_file "$D/stand.ready" 10 || { echo "FAIL: setup: stand-in listener not ready"; dump_fail; exit 1; }
MPX_IC_OPTPORT=$OPTPORT mpx_ic_hag_up "$MPX_NT_HAG" optd-read "$D/ic" >"$D/hagup.log" 2>&1 ||
  { echo "FAIL: setup: hag mpconvert-opt: $(tail -2 "$D/hagup.log")"; dump_fail; exit 1; }
mpx_ic_client_up "$MPX_NT_CLIENT" "$D/ic" >"$D/clup.log" 2>&1 ||
  { echo "FAIL: setup: client optd: $(tail -2 "$D/clup.log")"; dump_fail; exit 1; }
CCTL=$(mpx_ic_client_ctl "$D/ic") HCTL=$(mpx_ic_hag_ctl "$D/ic")
mpx_nt_bg client "$D/td.log" timeout 120 tcpdump -U --immediate-mode -Z root -i dsl -nn -s 256 -w "$D/dsl.pcap" tcp
TD=$MPX_NT_LASTPID
for _ in $(seq 1 100); do grep -q listening "$D/td.log" 2>/dev/null && break; sleep 0.05; done

nofit() { mpx_ic_ctl "$CCTL" stats | jq -r .nofit; }
mangled() { mpx_ic_ctl "$CCTL" stats | jq -r .mangled; }
client() { # name args...
  local name=$1; shift
  mpx_nt_exec client timeout 60 "$B/mpx-client" --signal tcp --mptcp on --json "$D/$name.json" \
    --timeout 10 "$@" 2>"$D/$name.err"
  echo $? >"$D/$name.rc"
}
local_of() { jq -r 'select(.type=="conn")|.local' "$D/$1.json" | head -1; }
hag_get() { # "addr:port" or "[v6]:port"
  local a=${1%:*} p=${1##*:}
  a=${a#[}; a=${a%]}
  mpx_ic_ctl "$HCTL" get "$a" "$p"
}

# A: IPv4 target, no cookie -> fits (36)
read -r req fits < <(budget mss,sackperm,ts,ws,mpc,mpconvert:v4+port)
r=$(mpx_ic_ctl "$CCTL" opt dst "$H4" "$OPTPORT" "$HEX4")
m0=$(mangled) n0=$(nofit)
client A --target "$H4:$OPTPORT" --count 1
m1=$(mangled) n1=$(nofit)
okA=$(jq -s '[.[]|select(.type=="conn" and .ok and .verified and .mptcp=="mptcp")]|length' "$D/A.json")
t_check "A v4: budget $req bytes fits=$fits; optd added it (mangled +$((m1 - m0)), nofit +$((n1 - n0))); MPTCP conn ok ($okA) [$r]" \
  test "$req" = 36 -a "$fits" = true -a $((m1 - m0)) -eq 1 -a $((n1 - n0)) -eq 0 -a "$okA" = 1
got=$(hag_get "$(local_of A)")
t_check "A v4: the HAG's optd decoded the target for $(local_of A): '$got'" test "$got" = "target $S4:8080 proto 6"

# B: IPv6 target+port with timestamps -> 48, refused
read -r req fits < <(budget mss,sackperm,ts,ws,mpc,mpconvert:v6+port)
r=$(mpx_ic_ctl "$CCTL" opt dst "$H6" "$OPTPORT" "$HEX6")
m0=$(mangled) n0=$(nofit)
client B --target "[$H6]:$OPTPORT" --count 1
m1=$(mangled) n1=$(nofit)
got=$(hag_get "$(local_of B)")
t_check "B v6: budget $req bytes fits=$fits; optd refused (nofit +$((n1 - n0)), mangled +$((m1 - m0))); the HAG saw no target ('$got') [$r]" \
  test "$req" = 48 -a "$fits" = false -a $((n1 - n0)) -eq 1 -a $((m1 - m0)) -eq 0 -a "$got" = none

# C: IPv4 with TFO: cookie request (fits, exactly 40) then a cookie (48, refused)
read -r reqc fitsc < <(budget mss,sackperm,ts,ws,tfo:0,mpc,mpconvert:v4+port)
read -r req fits < <(budget mss,sackperm,ts,ws,tfo:8,mpc,mpconvert:v4+port)
m0=$(mangled) n0=$(nofit)
client C --target "$H4:$OPTPORT" --count 3 --tfo
m1=$(mangled) n1=$(nofit)
tfo=$(jq -rs '[.[]|select(.type=="conn")|.tfo]|join(",")' "$D/C.json")
okC=$(jq -s '[.[]|select(.type=="conn" and .ok and .verified)]|length' "$D/C.json")
t_check "C v4+TFO: cookie request $reqc bytes (fits=$fitsc) added, cookie SYNs $req bytes (fits=$fits) refused: mangled +$((m1 - m0)), nofit +$((n1 - n0)); tfo $tfo; ok $okC/3" \
  test "$reqc" = 40 -a "$fitsc" = true -a "$req" = 48 -a "$fits" = false -a $((m1 - m0)) -eq 1 -a $((n1 - n0)) -eq 2 -a "$okC" = 3
mpx_ic_ctl "$CCTL" del dst "$H4" "$OPTPORT" >/dev/null

# D: IPv6 without timestamps -> 40, fits exactly
mpx_nt_exec client sysctl -qw net.ipv4.tcp_timestamps=0
read -r req fits < <(budget mss,sackperm,ws,mpc,mpconvert:v6+port)
m0=$(mangled) n0=$(nofit)
client Dn --target "[$H6]:$OPTPORT" --count 1
m1=$(mangled) n1=$(nofit)
mpx_nt_exec client sysctl -qw net.ipv4.tcp_timestamps=1
got=$(hag_get "$(local_of Dn)")
t_check "D v6 without timestamps: budget $req fits=$fits; added (mangled +$((m1 - m0)), nofit +$((n1 - n0))); HAG: '$got'" \
  test "$req" = 40 -a "$fits" = true -a $((m1 - m0)) -eq 1 -a $((n1 - n0)) -eq 0 -a "$got" = "target [$S6]:8080 proto 6"
okD=$(jq -s '[.[]|select(.type=="conn" and .ok and .verified and .mptcp=="mptcp")]|length' "$D/Dn.json")
t_check "D v6: the 40-byte-option SYN makes a working MPTCP connection ($okD)" test "$okD" = 1

# E: the client's own mpconvert-opt signal (mpx-client --optd-ctl): it checks the budget
# first, refuses with the byte count when the option cannot fit and sends nothing then
if "$B/mpx-client" --help 2>&1 | grep -q -- --optd-ctl; then
  sigc() { # name args...
    local name=$1; shift
    mpx_nt_exec client timeout 60 "$B/mpx-client" --signal mpconvert-opt --optd-ctl "$CCTL" \
      --json "$D/$name.json" --timeout 10 "$@" 2>"$D/$name.err"
  }
  m0=$(mangled) n0=$(nofit)
  sigc E4 --target "$S4:8080" --proxy "$H4:$OPTPORT" --count 5
  m1=$(mangled)
  okE=$(jq -s '[.[]|select(.type=="conn" and .ok and .verified)]|length' "$D/E4.json")
  hits=0
  while read -r l; do [ "$(hag_get "$l")" = "target $S4:8080 proto 6" ] && hits=$((hits + 1)); done \
    < <(jq -r 'select(.type=="conn")|.local' "$D/E4.json")
  t_check "E v4: mpx-client mpconvert-opt: 5 conns ok ($okE), optd added 5 options (+$((m1 - m0))), HAG decoded $hits targets" \
    test "$okE" = 5 -a $((m1 - m0)) -eq 5 -a "$hits" -eq 5
  sigc E6 --target "[$S6]:8080" --proxy "[$H6]:$OPTPORT" --count 2
  rcE6=$?
  m2=$(mangled) n2=$(nofit)
  err6=$(jq -rs '[.[]|select(.type=="conn")][0].error // ""' "$D/E6.json")
  ob6=$(jq -rs '[.[]|select(.type=="conn")][0] | (.syn_opt_bytes|tostring)' "$D/E6.json")
  t_check "E v6: refused before sending (exit $rcE6, error '$err6', syn_opt_bytes $ob6), optd untouched (mangled +$((m2 - m1)), nofit +$((n2 - n0)))" \
    test "$rcE6" -ne 0 -a "$ob6" = 48 -a $((m2 - m1)) -eq 0 -a $((n2 - n0)) -eq 0
  case $err6 in *"does not fit"*48*) t_pass "E v6: the error names the arithmetic (48 > 40)" ;;
    *) t_fail "E v6: error text" "'$err6'" ;; esac
else
  t_fail "E: client mpconvert-opt signal" "bin/mpx-client has no --optd-ctl"
fi

sleep 0.2
mpx_nt_kill "$TD"
if [ $have_tshark = 1 ]; then
  TS=(tshark -n -o ip.check_checksum:TRUE -o tcp.check_checksum:TRUE -o tcp.analyze_sequence_numbers:FALSE)
  "${TS[@]}" -r "$D/dsl.pcap" -Y 'tcp.flags.syn==1 && tcp.flags.ack==0' -T fields -e tcp.srcport \
    -e tcp.hdr_len -e tcp.options.mptcp.subtype -e tcp.checksum.status -e ip.checksum.status \
    -e tcp.option_kind 2>/dev/null >"$D/syns.tsv"
  cat "$D/syns.tsv" | sed 's/^/# syn: /'
  hl() { awk -F'\t' -v p="$1" '$1==p {print $2; exit}' "$D/syns.tsv"; }
  port() { local l; l=$(local_of "$1"); echo "${l##*:}"; }
  hA=$(hl "$(port A)") hB=$(hl "$(port B)") hD=$(hl "$(port Dn)")
  mapfile -t cports < <(jq -r 'select(.type=="conn")|.local' "$D/C.json" | sed 's/.*://')
  hC=""; for p in "${cports[@]}"; do hC+="$(hl "$p") "; done
  t_check "wire: TCP header lengths A=$hA (20+36) B=$hB (20+24, unchanged) C=[${hC% }] (60 then 56 56) D=$hD (20+40)" \
    test "$hA" = 56 -a "$hB" = 44 -a "${hC% }" = "60 56 56" -a "$hD" = 60
  # the refused E6 attempts must not have sent a SYN at all: v6 SYNs to the option port are
  # exactly those of B and D
  v6syn=$("${TS[@]}" -r "$D/dsl.pcap" -Y "ipv6 && tcp.flags.syn==1 && tcp.flags.ack==0 && tcp.dstport==$OPTPORT" 2>/dev/null | grep -c .)
  t_check "wire: IPv6 SYNs to :$OPTPORT only from B and D ($v6syn)" test "$v6syn" -eq 2
  sub14=$(awk -F'\t' '$3 ~ /(^|,)14(,|$)/' "$D/syns.tsv" | wc -l)
  want14=3; [ -f "$D/E4.json" ] && want14=8
  t_check "wire: MP_CONVERT (subtype 14) in exactly $want14 SYNs (A, C's first, D, E4): $sub14" test "$sub14" -eq "$want14"
  bad=$(awk -F'\t' '$4!="1" || ($5!="1" && $5!="")' "$D/syns.tsv" | wc -l)
  tot=$(grep -c . "$D/syns.tsv")
  t_check "wire: all $tot client SYNs have correct IP and TCP checksums (bad/unverified $bad)" test "$bad" -eq 0 -a "$tot" -ge 6
else
  t_skip "wire checks" "tshark not installed"
fi
"$B/mpx-analyze" --json --out "$D/an.json" "$D/dsl.pcap" 2>"$D/an.err"
arc=$?
viol=$(jq -s '[.[]|select(.type=="summary")][0].violations // -1' "$D/an.json" 2>/dev/null)
[ "$viol" = 0 ] || jq -c 'select(.type=="conn" and (.violations|length)>0)|.violations[0]' "$D/an.json" | head -5
sig=$(jq -s '[.[]|select(.type=="conn" and .signal=="mpconvert-opt" and .mpconvert_opt)]|length' "$D/an.json" 2>/dev/null)
opt40=$(jq -s '[.[]|select(.type=="conn" and .syn_opt_bytes==40)]|length' "$D/an.json" 2>/dev/null)
t_check "mpx-analyze: no violations (exit $arc, $viol), $sig connections classified mpconvert-opt, $opt40 with 40 option bytes" \
  test "$arc" -eq 0 -a "$viol" = 0 -a "${sig:-0}" -ge 3 -a "${opt40:-0}" -ge 2
[ "$T_FAILED" = 1 ] && dump_fail
t_done
