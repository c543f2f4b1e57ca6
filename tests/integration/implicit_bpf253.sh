#!/usr/bin/env bash
# The second encoding of the experimental SYN signals: an RFC 6994 kind-253 option
# with ExID 0x4D50 written into kernel-made MPTCP SYNs by a cgroup sock_ops program
# (agents/optd/bpf/optexp.bpf.c; no packet mangling) and read back on the server side with
# bpf_load_hdr_opt(..., BPF_LOAD_HDR_OPT_TCP_SYN), in namespaces (tests/lib/netns.sh):
#   - MP_PREFER_PROXY as FD 06 4D 50 E0 00 in the MP_CAPABLE SYN to 198.18.3.1:8081 and in
#     the MP_JOIN SYN of the same connection (same destination); the MPTCP server reads the
#     exact bytes back for both subflows' peers; the connection stays MPTCP with 2 subflows;
#   - MP_CONVERT (IPv4+port) as FD 0C 4D 50 E0 06 ... to the IPv6 server address fits
#     (24 + 12 = 36) and is read back;
#   - MP_CONVERT IPv6+port as kind 253 (24 bytes; 24 + 24 = 48 > 40) does not fit:
#     bpf_reserve_hdr_opt fails, the kernel sends the SYN without it (a well-formed SYN);
#   - every SYN: correct checksums (tshark), no analyzer violations;
#   - implicit-prefer253 end to end: the HAG intercepts (nft `tcp option @253,16,32
#     0x4d50e000`, no NFQUEUE anywhere) exactly the connections whose SYNs carry the kind-253
#     MP_PREFER_PROXY, their MP_JOINs included, while native MPTCP passes.
# SKIPs with the reason when clang/bpftool/cgroup v2/bpffs are unavailable.
# timeout: 120
set -uo pipefail
source "$(dirname "$0")/../lib.sh"
source "$MPX_ROOT/tests/lib/netns.sh"
source "$MPX_ROOT/agents/optd/bpf/optexp.sh"
source "$MPX_ROOT/agents/intercept/intercept.sh"
t_require_root
t_require_cmd ip jq tcpdump ethtool
t_require_bin mpx-server mpx-client mpx-analyze mpx-wire
have_tshark=1; command -v tshark >/dev/null || have_tshark=0
B=$MPX_ROOT/bin
BD=''
# processes first (a cgroup with members cannot be removed), then the BPF state
cleanup() { local bd=$BD; [ -n "$MPX_NT_HAG" ] && mpx_ic_hag_down "$MPX_NT_HAG" "$MPX_NT_DIR/ic"; MPX_NT_KEEP=1 mpx_nt_down; [ -n "$bd" ] && mpx_bpfx_down "$bd"; [ "${MPX_KEEP:-0}" = 1 ] || rm -rf "$MPX_NT_DIR"; }
trap cleanup EXIT INT TERM
mpx_nt_up ibpf || { echo "FAIL: setup: mpx_nt_up failed"; exit 1; }
D=$MPX_NT_DIR BD=$MPX_NT_DIR/bpf
S4=$MPX_NT_S4 S6=$MPX_NT_S6
mpx_bpfx_up "$BD"; rc=$?
if [ $rc = 77 ]; then echo "SKIP: all: $MPX_BPFX_WHY"; exit 77; fi
[ $rc = 0 ] || { echo "FAIL: setup: $MPX_BPFX_WHY"; exit 1; }
t_pass "sock_ops program built, loaded and attached to a per-run cgroup"
mpx_nt_exec client ethtool -K dsl tx off >/dev/null 2>&1
mpx_nt_exec client ethtool -K lte tx off >/dev/null 2>&1

PREFER=$(mpx_bpfx_opt 1e04e000)
CONV4=$(mpx_bpfx_opt "$("$B/mpx-wire" encode mpconvert --target "$S4:8081" | cut -c1-20)")
CONV6=$(mpx_bpfx_opt "$("$B/mpx-wire" encode mpconvert --target "[$S6]:8081" | cut -c1-44)")
t_check "kind-253 encodings: prefer $PREFER, mp_convert v4 $CONV4 (12 B), v6 (${#CONV6} hex = 24 B)" \
  test "$PREFER" = fd064d50e000 -a ${#CONV4} -eq 24 -a ${#CONV6} -eq 48
mpx_bpfx_set "$BD" dst "$S4" 8081 "$PREFER" && mpx_bpfx_set "$BD" dst "$S6" 8081 "$CONV4" &&
  mpx_bpfx_set "$BD" dst "$S6" 8082 "$CONV6"
t_check "map entries set" test $? -eq 0

# server inside the cgroup too: its SYN/ACK path reads the SYN's option
mpx_bpfx_bg "$BD" "$D/srv.log" ip netns exec "$MPX_NT_SERVER" timeout 100 "$B/mpx-server" --mptcp \
  --listen "$S4:8081" --listen "[$S6]:8081" --listen "[$S6]:8082" --json "$D/srv.json" \
  --ready "$D/srv.ready"
MPX_NT_PIDS+=("$MPX_BPFX_LASTPID")
mpx_nt_wait_file "$D/srv.ready" 10 || { echo "FAIL: setup: server not ready"; exit 1; }
for IF in dsl lte; do
  mpx_nt_bg client "$D/td-$IF.log" timeout 60 tcpdump -U --immediate-mode -Z root -i "$IF" -nn -s 256 \
    -w "$D/$IF.pcap" 'ip6 or tcp[tcpflags] & tcp-syn != 0'
  eval "TD_$IF=\$MPX_NT_LASTPID"
done
for _ in $(seq 1 100); do
  grep -q listening "$D/td-dsl.log" 2>/dev/null && grep -q listening "$D/td-lte.log" 2>/dev/null && break
  sleep 0.05
done
client() { # name args...
  local name=$1; shift
  mpx_bpfx_run "$BD" ip netns exec "$MPX_NT_CLIENT" timeout 60 "$B/mpx-client" --signal tcp --mptcp on \
    --json "$D/$name.json" --timeout 10 "$@" 2>"$D/$name.err"
}
client p4 --target "$S4:8081" --count 1 --workload "bulk-down 20MB"
client c6 --target "[$S6]:8081" --count 1
client n6 --target "[$S6]:8082" --count 1
sleep 0.3
for IF in dsl lte; do eval "mpx_nt_kill \$TD_$IF"; done

okp=$(jq -s '[.[]|select(.type=="conn" and .ok and .verified and .mptcp=="mptcp")][0].subflows // 0' "$D/p4.json")
t_check "prefer connection: MPTCP, verified, subflows $okp (2 expected)" test "$okp" -ge 2
loc=$(jq -r 'select(.type=="conn")|.local' "$D/p4.json"); lport=${loc##*:}
mpx_bpfx_seen "$BD" | sort >"$D/seen.txt"; sed 's/^/# seen: /' "$D/seen.txt"
t_check "server read FD 06 4D 50 E0 00 from the MP_CAPABLE SYN of $loc" \
  grep -qx "$MPX_NT_C_DSL4 $lport $PREFER" "$D/seen.txt"
jn=$(grep -c "^$MPX_NT_C_LTE4 [0-9]* $PREFER\$" "$D/seen.txt")
t_check "server read it from the MP_JOIN SYN over lte as well ($jn)" test "$jn" -ge 1
loc6=$(jq -r 'select(.type=="conn")|.local' "$D/c6.json"); l6=${loc6##*:}; a6=${loc6%]:*}; a6=${a6#[}
t_check "server read MP_CONVERT-253 ($CONV4) from the IPv6 SYN of $loc6" grep -qx "$a6 $l6 $CONV4" "$D/seen.txt"
okc=$(jq -s '[.[]|select(.type=="conn" and .ok and .verified and .mptcp=="mptcp")]|length' "$D/c6.json" "$D/n6.json")
t_check "both IPv6 connections work over MPTCP ($okc/2)" test "$okc" = 2
locn=$(jq -r 'select(.type=="conn")|.local' "$D/n6.json"); ln=${locn##*:}
t_check "the 24-byte IPv6 MP_CONVERT-253 did not fit: nothing read from $locn" \
  test "$(grep -c "^[^ ]* $ln " "$D/seen.txt")" -eq 0
read -r added rfail rwith rwithout < <(mpx_bpfx_stats "$BD")
t_check "program counters: added $added, reserve failed $rfail, read with $rwith, without $rwithout" \
  test "$added" -ge 3 -a "$rfail" -ge 1 -a "$rwith" -ge 3
if [ $have_tshark = 1 ]; then
  TS=(tshark -n -o ip.check_checksum:TRUE -o tcp.check_checksum:TRUE)
  for IF in dsl lte; do
    "${TS[@]}" -r "$D/$IF.pcap" -Y 'tcp.flags.syn==1 && tcp.flags.ack==0' -T fields -e tcp.srcport \
      -e tcp.dstport -e tcp.hdr_len -e tcp.option_kind -e tcp.checksum.status -e ip.checksum.status 2>/dev/null
  done >"$D/syns.tsv"
  sed 's/^/# syn: /' "$D/syns.tsv"
  k253=$(awk -F'\t' '$4 ~ /(^|,)253(,|$)/' "$D/syns.tsv" | wc -l)
  n82=$(awk -F'\t' '$2==8082 && $4 !~ /253/ && $3==44' "$D/syns.tsv" | wc -l)
  bad=$(awk -F'\t' '$5!="1" || ($6!="1" && $6!="")' "$D/syns.tsv" | wc -l)
  t_check "wire: kind 253 in $k253 SYNs (>= 3), the SYN to :8082 without it at 44 bytes ($n82), bad checksums $bad" \
    test "$k253" -ge 3 -a "$n82" -ge 1 -a "$bad" -eq 0
else
  t_skip "wire checks" "tshark not installed"
fi
"$B/mpx-analyze" --json --out "$D/an.json" "$D/dsl.pcap" "$D/lte.pcap" 2>"$D/an.err"
arc=$?
viol=$(jq -s '[.[]|select(.type=="summary")][0].violations // -1' "$D/an.json")
t_check "mpx-analyze: no violations (exit $arc, $viol)" test "$arc" -eq 0 -a "$viol" = 0

# --- implicit-prefer253 end to end: plain server :8080 (signalled), MPTCP server :8081 (not)
if [ -x "$B/mpx-proxy" ]; then
  mpx_nt_kill "$MPX_BPFX_LASTPID"
  mpx_bpfx_set "$BD" del "$S4" 8081
  mpx_bpfx_set "$BD" dst "$S4" 8080 "$PREFER"
  mpx_nt_bg server "$D/srv2.log" "$B/mpx-server" --listen "$S4:8080" --json "$D/srv2.json" --ready "$D/srv2.ready"
  mpx_nt_bg server "$D/srvm2.log" "$B/mpx-server" --mptcp --listen "$S4:8081" --json "$D/srvm2.json" --ready "$D/srvm2.ready"
  mpx_nt_bg hag "$D/proxy.log" "$B/mpx-proxy" --transparent 5127 --ready "$D/proxy.ready" \
    --allow "$MPX_NT_C_DSL4/24" --allow "$MPX_NT_C_LTE4/24" --allow "$MPX_NT_C_DSL6/64" --allow "$MPX_NT_C_LTE6/64"
  mpx_nt_wait_file "$D/srv2.ready" && mpx_nt_wait_file "$D/srvm2.ready" && mpx_nt_wait_file "$D/proxy.ready" ||
    echo "# e2e setup: agents not ready"
  if mpx_ic_hag_up "$MPX_NT_HAG" prefer253 "$D/ic" >"$D/hagup.log" 2>&1; then
    hj0=$(mpx_nt_exec hag nstat -az MPTcpExtMPJoinSynRx | awk '$1=="MPTcpExtMPJoinSynRx"{print $2}')
    client e1 --target "$S4:8080" --count 20 --concurrency 4 --workload "rr 500/5000"
    client e2 --target "$S4:8080" --count 1 --workload "bulk-down 20MB"
    client e3 --target "$S4:8081" --count 10 --workload "rr 500/5000"
    hj1=$(mpx_nt_exec hag nstat -az MPTcpExtMPJoinSynRx | awk '$1=="MPTcpExtMPJoinSynRx"{print $2}')
    ok1=$(jq -s '[.[]|select(.type=="conn" and .ok and .verified and .mptcp=="mptcp")]|length' "$D/e1.json" "$D/e2.json")
    sub2=$(jq -s '[.[]|select(.type=="conn")][0].subflows // 0' "$D/e2.json")
    viaH=$(jq -s --arg h "$MPX_NT_H_WAN4:" '[.[]|select(.type=="conn" and (.peer|startswith($h)))]|length' "$D/srv2.json")
    e2e=$(jq -s --arg c "$MPX_NT_C_DSL4:" '[.[]|select(.type=="conn" and .mptcp=="mptcp" and (.peer|startswith($c)))]|length' "$D/srvm2.json")
    t_check "prefer253: 21 signalled MPTCP conns ok ($ok1), all via the HAG at the server ($viaH)" \
      test "$ok1" = 21 -a "$viaH" = 21
    t_check "prefer253: the bulk connection's MP_JOIN ended on the HAG (subflows $sub2, HAG MPJoinSynRx +$((${hj1:-0} - ${hj0:-0})))" \
      test "$sub2" -ge 2 -a $((${hj1:-0} - ${hj0:-0})) -ge 1
    t_check "prefer253: native MPTCP to :8081 passes end to end ($e2e/10)" test "$e2e" = 10
  else
    t_fail "prefer253: hag setup" "$(tail -3 "$D/hagup.log")"
  fi
else
  t_fail "prefer253 end to end" "bin/mpx-proxy not built"
fi
t_done
