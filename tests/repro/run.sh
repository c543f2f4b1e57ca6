#!/usr/bin/env bash
# Runs the MPTCP passive-TFO reply-stall reproducer in two throw-away namespaces joined by a
# veth. The client's third ACK is made late by dropping the first ACK-only packet of each
# connection at the server (nft + conntrack packet counter), so the server writes before the
# handshake completed, as it does on any real RTT. Cases: MPTCP (stalls), MPTCP with the
# server waiting for MPTCP_INFO's remote-key flag (works), plain TCP (works).
#   tests/repro/run.sh [path/to/mptcp_tfo_reply_stall]      (root; needs nft, ip)
set -euo pipefail
BIN=${1:-$(dirname "$0")/../../bin/mptcp_tfo_reply_stall}
[ -x "$BIN" ] || { cc -O2 -o /tmp/mptcp_tfo_reply_stall.$$ "$(dirname "$0")/mptcp_tfo_reply_stall.c"; BIN=/tmp/mptcp_tfo_reply_stall.$$; }
P=mpx-repro-$$
cleanup() { kill $SRV 2>/dev/null || true; wait 2>/dev/null || true; ip netns del $P-c 2>/dev/null; ip netns del $P-s 2>/dev/null; rm -f /tmp/mptcp_tfo_reply_stall.$$; }
SRV=''
trap cleanup EXIT INT TERM
ip netns add $P-c; ip netns add $P-s
ip link add v netns $P-c type veth peer name v netns $P-s
ip -n $P-c addr add 198.18.250.1/24 dev v; ip -n $P-s addr add 198.18.250.2/24 dev v
ip -n $P-c link set v up; ip -n $P-s link set v up; ip -n $P-c link set lo up; ip -n $P-s link set lo up
for n in $P-c $P-s; do ip netns exec $n sysctl -qw net.mptcp.enabled=1 net.ipv4.tcp_fastopen=3; done
ip netns exec $P-s sysctl -qw net.netfilter.nf_conntrack_acct=1 2>/dev/null || true
ip netns exec $P-s nft -f - <<'NFT'
table inet repro {
  chain in {
    type filter hook input priority 0;
    tcp dport 5555 tcp flags & (syn | ack) == ack ct original packets 2 counter drop
  }
}
NFT
run() { # label server-args client-args
  ip netns exec $P-s "$BIN" --server 5555 $2 > /tmp/$P-srv.log 2>&1 & SRV=$!
  sleep 0.3
  printf '%-44s ' "$1:"; ip netns exec $P-c "$BIN" --client 198.18.250.2 5555 $3 --timeout-ms 3000 || true
  kill $SRV; wait $SRV 2>/dev/null || true; SRV=''
  sed 's/^/    server: /' /tmp/$P-srv.log; rm -f /tmp/$P-srv.log
}
uname -r
run "MPTCP, reply written at once" "" ""
run "MPTCP, server waits for the remote key" "--wait-established" ""
run "TCP, reply written at once" "--tcp" "--tcp"
ip netns exec $P-s nft list chain inet repro in | grep counter | sed 's/^\s*/dropped third ACKs: /'
