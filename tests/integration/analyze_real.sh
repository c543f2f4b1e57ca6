#!/usr/bin/env bash
# mpx-analyze on real captures made here: client -- hag (mpx-proxy) -- server namespaces
# (tests/lib/netns.sh), tcpdump on the hag's dsl, lte and wan links, the agents in every
# signal mode, and plain kernel TCP Fast Open (cookie request, then cookie use). Checks the
# analyzer's verdicts against what each mode does on the wire, the MP_JOIN subflows over
# lte (HMACs verified across captures), and the join of each upstream connection with the
# proxy's downstream connection (split of the time to first byte).
# Set MPX_ANALYZE_GOLDEN=DIR to keep the captures (how tests/data/pcap/real-* were made).
# timeout: 180
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
t_require_root
t_require_cmd tcpdump jq ip
t_require_bin mpx-analyze mpx-server mpx-proxy mpx-client
source "$MPX_ROOT/tests/lib/netns.sh"
source "$MPX_ROOT/tests/lib-proxy.sh"
A=$MPX_ROOT/bin/mpx-analyze
jqe() { jq -e "$@" > /dev/null; }

TD_PIDS=()
an_cleanup() {
  local p
  for p in "${TD_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  mpx_nt_down
}
trap an_cleanup EXIT INT TERM
mpx_nt_up an || { echo "FAIL: setup: mpx_nt_up failed"; exit 1; }
export T4="$MPX_NT_S4:8080" T6="[$MPX_NT_S6]:8080" C4=$MPX_NT_C_DSL4 C6=$MPX_NT_C_DSL6
D=$MPX_NT_DIR

# tcpdump on the proxy's links; readiness = its "listening on" line
for ifc in dsl lte wan any; do
  mpx_nt_bg hag "$D/td-$ifc.log" timeout 120 tcpdump --immediate-mode -U -n -s 512 -i "$ifc" -w "$D/$ifc.pcap" tcp
  TD_PIDS+=("$MPX_NT_LASTPID")
done
for ifc in dsl lte wan any; do
  for _ in $(seq 1 100); do grep -q "listening on" "$D/td-$ifc.log" 2>/dev/null && break; sleep 0.05; done
done

mpx_px_server --tfo
mpx_px_start proxy --convert 5124 --mpconvert 5125 --mpconvert-ie 5126 --socks5 1080
P4=$MPX_NT_H_DSL4
run() { # tag args...
  local tag=$1; shift
  mpx_px_client --tag "$tag" --json "$D/cl-$tag.json" --timeout 10 "$@" > /dev/null 2>&1 ||
    { echo "client $tag failed:"; cat "$D/cl-$tag.json" 2>/dev/null; }
}
run convert --signal convert --proxy "$P4:5124" --target "$MPX_NT_S4:8080" --workload "rr 200/3000" --count 2
run convert-cookie --signal convert-cookie --proxy "$P4:5124" --target "$MPX_NT_S4:8080" --count 2
run convert-wait --signal convert-wait --proxy "$P4:5124" --target "$MPX_NT_S4:8080"
run socks5 --signal socks5 --proxy "$P4:1080" --target "$MPX_NT_S4:8080"
run mpconvert --signal mpconvert --proxy "$P4:5125" --target "$MPX_NT_S4:8080"
run mpconvert-ie --signal mpconvert-ie --proxy "$P4:5126" --target "$MPX_NT_S4:8080"
P6="[$MPX_NT_H_DSL6]"
run convert6 --signal convert --proxy "$P6:5124" --target "[$MPX_NT_S6]:8080"
run socks5-6 --signal socks5 --proxy "$P6:1080" --target "[$MPX_NT_S6]:8080"
run mpconvert6 --signal mpconvert --proxy "$P6:5125" --target "[$MPX_NT_S6]:8080"
run mpconvert-ie6 --signal mpconvert-ie --proxy "$P6:5126" --target "[$MPX_NT_S6]:8080"
run tfo6 --signal tcp --mptcp off --tfo --target "[$MPX_NT_S6]:8080" --count 2
# direct kernel TFO (the hag forwards): first connection requests the cookie, second uses it
run tfo --signal tcp --mptcp off --tfo --target "$MPX_NT_S4:8080" --count 2
# IPv4 Router Alert on every segment (IP_OPTIONS, plain TCP), and cookie-less TFO data
run ra --signal implicit-ra --mptcp off --target "$MPX_NT_S4:8080"
run tfonc --signal tcp --mptcp off --tfo-no-cookie --target "$MPX_NT_S4:8080"
# a bulk MPTCP transfer long enough for the lte subflow to join
run bulk --signal convert --proxy "$P4:5124" --target "$MPX_NT_S4:8080" --workload "bulk-down 300KB"
# DSS checksums on (RFC 8684 3.3.1): small messages so each mapping sits in one captured segment
mpx_nt_exec client sysctl -qw net.mptcp.checksum_enabled=1
mpx_nt_exec hag sysctl -qw net.mptcp.checksum_enabled=1
run csum --signal convert-wait --proxy "$P4:5124" --target "$MPX_NT_S4:8080" --workload "rr 200/300" --count 2
sleep 0.3
for p in "${TD_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
for p in "${TD_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
TD_PIDS=()
if [ -n "${MPX_ANALYZE_GOLDEN:-}" ]; then
  for ifc in dsl lte wan; do cp "$D/$ifc.pcap" "$MPX_ANALYZE_GOLDEN/real-$ifc.pcap"; done
fi

rc=0
"$A" --json "$D/dsl.pcap" "$D/lte.pcap" "$D/wan.pcap" > "$D/an.json" || rc=$?
"$A" --report "$D/dsl.pcap" "$D/lte.pcap" "$D/wan.pcap" > "$D/an.md" || true
t_check "exit-clean (rc=$rc, by_rule $(jq -c -s '.[-1].by_rule' "$D/an.json"))" test "$rc" = 0
C=$D/an.json
sel() { jq -c -s "[.[] | select(.type==\"conn\" and ($1))]" "$C"; }
up() { sel ".pcap|endswith(\"dsl.pcap\")"; }

t_check convert-verdict jqe -s '[.[] | select(.type=="conn" and .signal=="convert" and (.server|endswith(":5124")) and (.client|startswith("198.")) and (.tfo.cookie_req|not))]
  | length>=3 and all(.signal_valid and .target==env.T4 and .mpc.syn and .mptcp=="mptcp"
  and .syn_opt_left==(40-.syn_opt_bytes) and .tfo.syn_data_len>=24 and .tfo.syn_data_acked and (.tfo.cookie_req|not))' "$C"
t_check convert-0rtt jqe -s '[.[] | select(.type=="conn" and .signal=="convert" and .req_in_syn)] | length>=3 and all(.rtts_before_data==0)' "$C"
t_check convert-wait-1rtt jqe -s '[.[] | select(.type=="conn" and .signal=="convert" and (.req_in_syn|not) and (.tfo.cookie_req|not))] | length==3 and all(.rtts_before_data>=1)' "$C"
# convert-cookie: the SYN carries MP_CAPABLE and a TFO cookie request (4 more option bytes)
t_check convert-cookie-request jqe -s '[.[] | select(.type=="conn" and .signal=="convert" and .tfo.cookie_req)] | length==2
  and all(.mpc.syn and .syn_opt_bytes==28 and .syn_opt_left==12 and .signal_valid)' "$C"
t_check convert-v6 jqe -s '[.[] | select(.type=="conn" and .signal=="convert" and .target==env.T6)] | length==1 and .[0].signal_valid' "$C"
for fam in "$T4" "$T6"; do
  tg="\"$fam\""
  t_check "socks5-3rtt $fam" jqe -s "[.[] | select(.type==\"conn\" and .signal==\"socks5\" and .target==$tg)] | length==1 and .[0].signal_valid and .[0].rtts_before_data==3" "$C"
  t_check "mpconvert-09 $fam" jqe -s "[.[] | select(.type==\"conn\" and .signal==\"mpconvert\" and .target==$tg)] | length==1 and .[0].signal_valid and .[0].req_in_syn and .[0].rtts_before_data==0" "$C"
  t_check "mpconvert-ie-echo $fam" jqe -s "[.[] | select(.type==\"conn\" and .signal==\"mpconvert-ie\" and .target==$tg)] | length==1 and .[0].signal_valid and .[0].reply_where==\"first-data\" and (.[0].reply|test(\"IE echoed\"))" "$C"
  t_check "tfo-cookie $fam" jqe -s "[.[] | select(.type==\"conn\" and .server==$tg and (.pcap|endswith(\"dsl.pcap\")) and (.tfo.cookie_req or .tfo.cookie_used))] | length==2
    and .[0].tfo.cookie_req and .[0].tfo.cookie_granted and .[0].rtts_before_data==1
    and .[1].tfo.cookie_used and .[1].tfo.syn_data_acked and .[1].req_in_syn and .[1].rtts_before_data==0" "$C"
done
t_check dss-checksums jqe -s '[.[] | select(.type=="conn" and .dss_csum.ok>0)] | length>=2 and all(.dss_csum.bad==0 and .mpc.syn)' "$C"
# tcpdump -i any on the hag (Linux cooked v2) sees each forwarded segment of the direct TFO
# connections twice (dsl in, wan out, TTL one lower): counted once, like on the dsl link
any_pk=$({ "$A" --json "$D/any.pcap" || true; } | jq -c -s '[.[] | select(.type=="conn" and (.server|endswith(":8080")) and (.client|startswith(env.C4 + ":") or startswith("[" + env.C6 + "]:"))) | .pkts]')
dsl_pk=$(jq -c -s '[.[] | select(.type=="conn" and (.server|endswith(":8080")) and (.pcap|endswith("dsl.pcap"))) | .pkts]' "$C")
t_check "any-dedup ($any_pk vs $dsl_pk)" test "$any_pk" = "$dsl_pk"
t_check any-dup-counted jqe -s '.[-1].dup_frames > 0' <({ "$A" --json "$D/any.pcap" || true; })
t_check router-alert jqe -s '[.[] | select(.type=="conn" and .router_alert and (.pcap|endswith("dsl.pcap")))] | length==1 and .[0].mptcp=="tcp" and .[0].signal=="plain"' "$C"
t_check tfo-no-cookie jqe -s '[.[] | select(.type=="conn" and (.pcap|endswith("dsl.pcap")) and .mptcp=="tcp" and .tfo.syn_data_len>0 and (.tfo.cookie_used|not) and (.tfo.cookie_req|not))] | length==1 and .[0].req_in_syn' "$C"
t_check downstream-joined jqe -s '[.[] | select(.type=="conn" and .signal=="convert" and .req_in_syn)] | length>=4 and all(.downstream.server==.target and .downstream.split_us.proxy_server>0)' "$C"
t_check mp-join-lte jqe -s '[.[] | select(.type=="conn" and (.joins|length)>0)] | length>=1 and all(.subflows>=2 and all(.joins[]; .hmac=="ok" and (.pcap|endswith("lte.pcap"))))' "$C"
t_check report-done-when grep -q "signal check | Convert header valid (version 1, 24 B, magic 0x2263); Connect TLV valid (5 words, $T4)" "$D/an.md"
t_check report-mpc-left grep -qE "SYN options \| [0-9]+ B used, [0-9]+ B left; MP_CAPABLE carried" "$D/an.md"
# analyzer counts agree with the client's own view: one upstream connection per client line
ncl=$(cat "$D"/cl-*.json | jq -s '[.[] | select(.type=="conn")] | length')
nup=$(jq -s '[.[] | select(.type=="conn" and (.pcap|endswith("dsl.pcap")))] | length' "$C")
t_check "conn-count ($nup vs client $ncl)" test "$nup" = "$ncl"
if [ "$T_FAILED" != 0 ]; then cat "$D/an.md"; mpx_nt_dump; fi
t_done
