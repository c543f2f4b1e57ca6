#!/usr/bin/env bash
# MPTCP blackhole detection (Linux 6.12+) must not carry one connection's lost SYNs into the
# next: the HAG drops every MP_CAPABLE SYN of one connection, so after
# net.mptcp.syn_retrans_before_tcp_fallback retransmissions the client retries without MPTCP,
# gets through as TCP and the kernel counts a blackhole. With the topology's
# net.mptcp.blackhole_timeout=0 (emu/lib/topo.sh) the next connection is MPTCP again; with the
# kernel's 3600 it goes out as plain TCP (MPTcpExtMPCapableSYNTXDisabled), which the harness's
# counters (fidelity.sh _mpx_fid_kernel) see and fidelity.jq turns into "not faithful".
# timeout: 90
set -uo pipefail
source "$(dirname "$0")/../lib.sh"
source "$MPX_ROOT/tests/lib/netns.sh"
source "$MPX_ROOT/emu/harness/fidelity.sh"
t_require_root
t_require_cmd ip jq nft nstat
t_require_bin mpx-server mpx-client
[ -e /proc/sys/net/mptcp/blackhole_timeout ] ||
  { echo "SKIP: all: this kernel has no MPTCP blackhole detection (net.mptcp.blackhole_timeout)"; exit 77; }

B=$MPX_ROOT/bin
trap mpx_nt_down EXIT INT TERM
mpx_nt_up mbh || { echo "FAIL: setup: mpx_nt_up failed"; exit 1; }
D=$MPX_NT_DIR S4=$MPX_NT_S4
mpx_nt_bg server "$D/srv.log" "$B/mpx-server" --mptcp --listen "$S4:8081" --ready "$D/srv.ready"
mpx_nt_wait_file "$D/srv.ready" 10 || { echo "FAIL: setup: mpx-server not ready"; exit 1; }
mpx_nt_exec hag nft -f - <<'EOF' || { echo "FAIL: setup: nft"; exit 1; }
table inet mbh {
  set lossy { type inet_service; }
  chain pre {
    type filter hook prerouting priority 0; policy accept;
    tcp sport @lossy tcp flags & (syn | ack) == syn tcp option mptcp exists counter drop
  }
}
EOF

# conn NAME PORT: one MPTCP connection from the client's DSL address and PORT; prints the
# client's MPTCP state of it (mptcp, fallback, tcp) and ok
conn() {
  mpx_nt_exec client timeout 30 "$B/mpx-client" --signal tcp --mptcp on --target "$S4:8081" \
    --bind "$MPX_NT_C_DSL4:$2" --workload "rr 100/1000" --timeout 15 --json "$D/$1.json" 2>"$D/$1.err"
  jq -sr '[.[] | select(.type == "conn")][0] | "\(.mptcp) \(.ok)"' "$D/$1.json" 2>/dev/null
}
jqq() { jq -e "$@" > /dev/null; }
ctr() { mpx_nt_exec client nstat -az "$1" | awk -v k="$1" '$1 == k {print $2}'; }

# round LABEL PORT: the blackholed connection, then a clean one; sets NEXT to its state
round() {
  local l=$1 p=$2 r
  mpx_nt_exec hag nft add element inet mbh lossy "{ $p }"
  r=$(conn "$l-lossy" "$p")
  t_check "$l - MPTCP SYNs dropped, the connection completes as TCP after the kernel's fallback ($r)" \
    test "$r" = "fallback true" -o "$r" = "tcp true"
  mpx_nt_exec hag nft delete element inet mbh lossy "{ $p }"
  NEXT=$(conn "$l-next" $((p + 1)))
}

bt=$(mpx_nt_exec client sysctl -n net.mptcp.blackhole_timeout)
t_check "the topology turns blackhole detection off on the client (net.mptcp.blackhole_timeout=$bt)" test "$bt" = 0
d0=$(ctr MPTcpExtMPCapableSYNTXDrop) x0=$(ctr MPTcpExtMPCapableSYNTXDisabled)
round "timeout 0" 42001
t_check "timeout 0 - the kernel retransmitted the SYN without MP_CAPABLE (MPCapableSYNTXDrop +$(( $(ctr MPTcpExtMPCapableSYNTXDrop) - d0 )))" \
  test "$(ctr MPTcpExtMPCapableSYNTXDrop)" -gt "$d0"
t_check "timeout 0 - the next connection is MPTCP ($NEXT)" test "$NEXT" = "mptcp true"
t_check "timeout 0 - no SYN sent without MPTCP because of another connection" test "$(ctr MPTcpExtMPCapableSYNTXDisabled)" = "$x0"
k=$(_mpx_fid_kernel "$MPX_NT_RUN")
t_check "harness counters - none disabled ($(jq -c .client <<<"$k"))" \
  jqq '.client.MPTcpExtMPCapableSYNTXDisabled == 0 and .client.MPTcpExtMPCapableSYNTXDrop >= 1' <<<"$k"

mpx_nt_exec client sysctl -qw net.mptcp.blackhole_timeout=3600
# fv HOST-JSON: the fidelity verdict of a variant with these host fields and nothing else wrong
fv() { jq -c --argjson h "$1" -n -L "$MPX_ROOT/emu/harness" 'include "fidelity";
  {delays: {dsl: {ab: 10}}, link_stats: {dsl: {ab: {late_us: {p99: 10}}}},
   host: ({sched_base_slice_us: 1500} + $h)} | fidelity | {verdict, reasons}'; }
round "timeout 3600" 42011
b=$(ctr MPTcpExtBlackhole) x=$(ctr MPTcpExtMPCapableSYNTXDisabled)
if [ "$NEXT" = "mptcp true" ]; then
  t_pass "timeout 3600 - the next connection stayed MPTCP: this kernel no longer disables active MPTCP (Blackhole $b)"
else
  t_check "timeout 3600 (the kernel default) - the next connection went out as TCP ($NEXT; Blackhole $b, SYNTXDisabled $x)" \
    test "$x" -gt "$x0" -a "${NEXT#* }" = true
  k=$(_mpx_fid_kernel "$MPX_NT_RUN")
  v=$(fv "{\"kernel\": $k}")
  t_check "fidelity - not faithful, naming the disabled SYNs ($v)" \
    jqq '.verdict == "not faithful" and any(.reasons[]; test("active MPTCP disabled .* on client [1-9]"))' <<<"$v"
fi
# the same rule's other testbed check: an agent killed at the end (agents.sh mpx_agents_stop_all)
v=$(fv '{"agents_killed": ["proxy"]}')
t_check "fidelity - an agent killed at the end is not faithful ($v)" \
  jqq '.verdict == "not faithful" and any(.reasons[]; test("^proxy still running .*killed"))' <<<"$v"
v=$(fv '{"agents_killed": []}')
t_check "fidelity - no agent killed, faithful ($v)" jqq '.verdict == "faithful"' <<<"$v"
t_done
