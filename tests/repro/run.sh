#!/usr/bin/env bash
# Kernel reproducers in the style of the MPTCP selftests: throw-away namespaces, veths, two
# small self-contained programs (no project code, no harness). docs/kernel-findings.md has the
# reports; this script prints what they quote.
#   tests/repro/run.sh [reply-stall|tfo-join|fallback-info|peek-fallback|tproxy-tw|all]...
#                                                                      (root; ip, nft, nstat, cc)
# reply-stall    MPTCP passive TFO: a reply written before the third ACK is not sent
# tfo-join       MPTCP passive TFO + MP_JOIN: bulk downloads stall (mis-scaled SYN window)
# fallback-info  MPTCP_INFO after fallback: IPv4 and IPv6 errnos; a TFO cookie SYN without data
# peek-fallback  MPTCP sockets fallen back to TCP lose data mid-stream (MSG_PEEK probes: likelier)
# tproxy-tw      TPROXY: an intercepted connection's TIME_WAIT black-holes a reused 4-tuple
# Exit 0 when every case ran (a reproduced bug is not an error), 1 on a setup failure.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
P=mpx-repro-$$
BIN=$(mktemp -d "/tmp/$P.XXXXXX")
SRV=''
mpx_repro_cleanup() {
  [ -z "$SRV" ] || { kill "$SRV" 2>/dev/null || true; wait "$SRV" 2>/dev/null || true; }
  ip netns del "$P-c" 2>/dev/null || true
  ip netns del "$P-s" 2>/dev/null || true
  ip netns del "$P-r" 2>/dev/null || true
  rm -rf "$BIN"
}
trap mpx_repro_cleanup EXIT INT TERM

mpx_repro_build() { # name
  [ -x "$BIN/$1" ] || cc -O2 -std=c11 -Wall -o "$BIN/$1" "$HERE/$1.c"
}

# mpx_repro_ns NLINKS: client $P-c and server $P-s; link i is veth v$i, 198.18.25$i.1/.2 and
# fd00:25$i::1/2; link 2 (when asked for) is the client's MPTCP subflow endpoint
mpx_repro_ns() {
  local n i
  mpx_repro_cleanup_ns
  ip netns add "$P-c"; ip netns add "$P-s"
  for n in "$P-c" "$P-s"; do
    ip -n "$n" link set lo up
    ip netns exec "$n" sysctl -qw net.mptcp.enabled=1 net.ipv4.tcp_fastopen=3
    ip -n "$n" mptcp limits set subflow 2 add_addr_accepted 2
  done
  for ((i = 1; i <= $1; i++)); do
    ip link add "v$i" netns "$P-c" type veth peer name "v$i" netns "$P-s"
    ip -n "$P-c" addr add "198.18.25$i.1/24" dev "v$i"
    ip -n "$P-s" addr add "198.18.25$i.2/24" dev "v$i"
    ip -n "$P-c" addr add "fd00:25$i::1/64" dev "v$i" nodad
    ip -n "$P-s" addr add "fd00:25$i::2/64" dev "v$i" nodad
    ip -n "$P-c" link set "v$i" up; ip -n "$P-s" link set "v$i" up
  done
  if [ "$1" -ge 2 ]; then
    ip -n "$P-c" rule add from 198.18.252.1 table 100
    ip -n "$P-c" route add 198.18.251.0/24 via 198.18.252.2 dev v2 table 100
    ip -n "$P-c" mptcp endpoint add 198.18.252.1 dev v2 subflow
  fi
}
mpx_repro_cleanup_ns() {
  [ -z "$SRV" ] || { kill "$SRV" 2>/dev/null || true; wait "$SRV" 2>/dev/null || true; SRV=''; }
  ip netns del "$P-c" 2>/dev/null || true
  ip netns del "$P-s" 2>/dev/null || true
  ip netns del "$P-r" 2>/dev/null || true
}

# mpx_repro_ns_routed: client $P-c -- router $P-r -- server $P-s (v1 198.18.251.0/24, v2
# 198.18.252.0/24), so the client receives forwarded packets, as behind a home gateway
mpx_repro_ns_routed() {
  local n
  mpx_repro_cleanup_ns
  for n in "$P-c" "$P-r" "$P-s"; do ip netns add "$n"; ip -n "$n" link set lo up; done
  ip netns exec "$P-c" sysctl -qw net.mptcp.enabled=1
  ip netns exec "$P-r" sysctl -qw net.ipv4.ip_forward=1
  ip link add v1 netns "$P-c" type veth peer name v1 netns "$P-r"
  ip link add v2 netns "$P-r" type veth peer name v2 netns "$P-s"
  ip -n "$P-c" addr add 198.18.251.1/24 dev v1; ip -n "$P-r" addr add 198.18.251.2/24 dev v1
  ip -n "$P-r" addr add 198.18.252.1/24 dev v2; ip -n "$P-s" addr add 198.18.252.2/24 dev v2
  ip -n "$P-c" link set v1 up; ip -n "$P-r" link set v1 up
  ip -n "$P-r" link set v2 up; ip -n "$P-s" link set v2 up
  ip -n "$P-c" route add default via 198.18.251.2
  ip -n "$P-s" route add default via 198.18.252.1
  # segmentation offloads on, as the project's test namespaces have them (tests/lib/netns.sh)
  local ifn
  for n in "$P-c:v1" "$P-r:v1" "$P-r:v2" "$P-s:v2"; do
    ifn=${n#*:}
    ip netns exec "${n%%:*}" ethtool -K "$ifn" tso on gso on tx on rx on > /dev/null 2>&1 || true
  done
}

# mpx_repro_ctr NS: the counters the reports quote, "name value" lines
mpx_repro_ctr() {
  ip netns exec "$1" nstat -az 2>/dev/null | awk 'NR > 1 {print $1, $2}' |
    grep -E '^(MPTcpExtNoDSSInWindow|MPTcpExtMPTCPRetrans|TcpExtTCPZeroWindowDrop|TcpExtBeyondWindow|MPTcpExtSndWndShared) ' || true
}
mpx_repro_delta() { # before after: "name +N" for the counters that moved
  join <(sort <<< "$1") <(sort <<< "$2") | awk '$3 != $2 {printf " %s +%d", $1, $3 - $2}'
}

mpx_repro_reply_stall() {
  echo "== reply-stall: MPTCP passive TFO, reply written before the third ACK"
  mpx_repro_build mptcp_tfo_reply_stall
  mpx_repro_ns 1
  # the client's third ACK is made late by dropping the first ACK-only packet of each connection
  ip netns exec "$P-s" sysctl -qw net.netfilter.nf_conntrack_acct=1 2>/dev/null || true
  ip netns exec "$P-s" nft -f - <<'NFT'
table inet repro {
  chain in {
    type filter hook input priority 0;
    tcp dport 5555 tcp flags & (syn | ack) == ack ct original packets 2 counter drop
  }
}
NFT
  local label sargs cargs
  while IFS='|' read -r label sargs cargs; do
    # shellcheck disable=SC2086 # the argument lists are word lists
    ip netns exec "$P-s" timeout 20 "$BIN/mptcp_tfo_reply_stall" --server 5555 $sargs > "$BIN/srv.log" 2>&1 &
    SRV=$!
    sleep 0.3
    printf '%-44s ' "$label:"
    # shellcheck disable=SC2086
    ip netns exec "$P-c" timeout 10 "$BIN/mptcp_tfo_reply_stall" --client 198.18.251.2 5555 $cargs --timeout-ms 3000 || true
    kill "$SRV" 2>/dev/null || true; wait "$SRV" 2>/dev/null || true; SRV=''
    sed 's/^/    server: /' "$BIN/srv.log"
  done <<'CASES'
MPTCP, reply written at once||
MPTCP, server waits for the remote key|--wait-established|
TCP, reply written at once|--tcp|--tcp
CASES
  ip netns exec "$P-s" nft list chain inet repro in | grep counter | sed 's/^\s*/dropped third ACKs: /'
}

mpx_repro_tfo_join() {
  echo "== tfo-join: MPTCP passive TFO + a second subflow, 12 x 10 MB downloads (4 at a time)"
  mpx_repro_build mptcp_tfo_join_stall
  mpx_repro_ns 2
  ip netns exec "$P-s" timeout 600 "$BIN/mptcp_tfo_join_stall" --server 5555 > "$BIN/srv.log" 2>&1 &
  SRV=$!
  sleep 0.3
  local label args c0 s0 out
  while IFS='|' read -r label args; do
    c0=$(mpx_repro_ctr "$P-c"); s0=$(mpx_repro_ctr "$P-s")
    # shellcheck disable=SC2086
    out=$(ip netns exec "$P-c" timeout 120 "$BIN/mptcp_tfo_join_stall" --client 198.18.251.2 5555 \
      --bytes 10000000 --count 12 --parallel 4 --timeout-ms 5000 $args || true)
    printf '%-52s %s\n' "$label:" "$(tail -n 1 <<< "$out")"
    grep -m 2 -E 'STALL|ERROR' <<< "$out" | sed 's/^/    /' || true
    echo "    client:$(mpx_repro_delta "$c0" "$(mpx_repro_ctr "$P-c")")"
    echo "    server:$(mpx_repro_delta "$s0" "$(mpx_repro_ctr "$P-s")")"
  done <<'CASES'
MPTCP, no TFO, 2 subflows (control)|--no-tfo
MPTCP+TFO, 2 subflows, SYN window scale 0 (workaround)|--syn-wscale0
MPTCP+TFO, 2 subflows (the bug)|
CASES
  echo "single subflow, the client reads nothing for 1.5 s (the listener's data-level window):"
  ip netns exec "$P-c" ip mptcp endpoint flush
  local port=5560 hold
  for args in "" "--no-tfo"; do
    port=$((port + 1))
    ip netns exec "$P-s" timeout 30 "$BIN/mptcp_tfo_join_stall" --server "$port" > /dev/null 2>&1 &
    hold=$!
    sleep 0.3
    # shellcheck disable=SC2086
    ip netns exec "$P-c" timeout 30 "$BIN/mptcp_tfo_join_stall" --client 198.18.251.2 "$port" \
      --bytes 20000000 --count 1 --parallel 1 --hold-ms 1500 $args > /dev/null &
    sleep 1 # the client still holds: what the listener sent beyond the closed window
    printf '    %-8s listener bytes sent/acked while the client holds: %s\n' "${args:-TFO}" \
      "$(ip netns exec "$P-s" ss -tinH state established "( sport = :$port )" |
         grep -oE 'bytes_(sent|acked):[0-9]+' | tr '\n' ' ')"
    wait $! || true
    kill "$hold" 2>/dev/null || true; wait "$hold" 2>/dev/null || true
  done
}

mpx_repro_fallback_info() {
  echo "== fallback-info: MPTCP_INFO on a fallen-back socket; TFO cookie SYN without data"
  mpx_repro_build mptcp_fallback_info
  mpx_repro_ns 1
  ip netns exec "$P-s" timeout 60 "$BIN/mptcp_fallback_info" --server 5556 > "$BIN/srv.log" 2>&1 &
  SRV=$!
  sleep 0.3
  local d w0 w1
  for d in 198.18.251.2 fd00:251::2; do
    ip netns exec "$P-c" timeout 10 "$BIN/mptcp_fallback_info" --client "$d" 5556 || true
  done
  w0=$(dmesg 2>/dev/null | grep -c 'net/mptcp/fastopen.c' || true)
  local f0 f1
  f0=$(ip netns exec "$P-s" nstat -az TcpExtTCPFastOpenPassive 2>/dev/null | awk 'NR > 1 {print $2}')
  ip netns exec "$P-c" timeout 10 "$BIN/mptcp_fallback_info" --cookie-syn 198.18.251.2 5556 || true
  sleep 0.5
  w1=$(dmesg 2>/dev/null | grep -c 'net/mptcp/fastopen.c' || true)
  f1=$(ip netns exec "$P-s" nstat -az TcpExtTCPFastOpenPassive 2>/dev/null | awk 'NR > 1 {print $2}')
  echo "listener TcpExtTCPFastOpenPassive +$((f1 - f0)) (a TFO child for each accepted cookie, with or without data)"
  echo "dmesg lines naming net/mptcp/fastopen.c: before $w0, after $w1 (WARN_ON_ONCE: once per boot)"
  sed 's/^/    server: /' "$BIN/srv.log"
}

# MPX_REPRO_PEEK_ROUNDS: rounds of 2000 connections per peek-fallback case (default 8);
# MPX_REPRO_PEEK_TOPO: routed (default: a router namespace between client and server) or direct
mpx_repro_peek_fallback() {
  local rounds=${MPX_REPRO_PEEK_ROUNDS:-8} topo=${MPX_REPRO_PEEK_TOPO:-routed} srv=198.18.252.2
  echo "== peek-fallback: MPTCP sockets fallen back to TCP (plain TCP server, $topo), 2000 concurrent 100 kB downloads, $rounds rounds per case"
  mpx_repro_build mptcp_fallback_peek
  if [ "$topo" = direct ]; then mpx_repro_ns 1; srv=198.18.251.2; else mpx_repro_ns_routed; fi
  ip netns exec "$P-s" timeout 900 "$BIN/mptcp_fallback_peek" --server 5557 > "$BIN/srv.log" 2>&1 &
  SRV=$!
  sleep 0.3
  local label args r out holes tot_ok tot_holes tot_err tot_peeks first
  while IFS='|' read -r label args; do
    tot_ok=0 tot_holes=0 tot_err=0 tot_peeks=0 first=''
    for ((r = 1; r <= rounds; r++)); do
      # shellcheck disable=SC2086 # the argument list is a word list
      out=$(ip netns exec "$P-c" timeout 90 "$BIN/mptcp_fallback_peek" --client "$srv" 5557 \
        --count 2000 --parallel 2000 --bytes 100000 --timeout-ms 60000 $args 2>/dev/null || true)
      holes=$(sed -n 's/^summary: .*holes=\([0-9]*\).*/\1/p' <<< "$out")
      tot_ok=$((tot_ok + $(sed -n 's/^summary: ok=\([0-9]*\).*/\1/p' <<< "$out")))
      tot_holes=$((tot_holes + ${holes:-0}))
      tot_err=$((tot_err + $(sed -n 's/^summary: .*errors=\([0-9]*\).*/\1/p' <<< "$out")))
      tot_peeks=$((tot_peeks + $(sed -n 's/^summary: .*peeks=\([0-9]*\).*/\1/p' <<< "$out")))
      [ -n "$first" ] || first=$(grep -m 1 -E '^conn .*(HOLE|MISMATCH|WRONG)' <<< "$out" || true)
    done
    printf '%-46s %d rounds: ok=%d holes=%d errors=%d peeks=%d\n' "$label:" "$rounds" "$tot_ok" \
      "$tot_holes" "$tot_err" "$tot_peeks"
    [ -z "$first" ] || echo "    first: $first"
  done <<'CASES'
MPTCP fallback, MSG_PEEK probes every 10 ms|--peek-ms 10
MPTCP fallback, no probes|
plain TCP, MSG_PEEK probes every 10 ms|--tcp --peek-ms 10
CASES
}


# The router $P-r intercepts MPTCP SYNs to port 8080 (nft tproxy to an IP_TRANSPARENT listener,
# conntrack mark for the later packets, as agents/intercept does on the HAG); plain TCP is
# forwarded to the server $P-s. Its listener answers and closes first, so the router keeps a
# TIME_WAIT socket under the server's address. A plain TCP connection reusing the 4-tuple finds it.
mpx_repro_tproxy_tw() {
  echo "== tproxy-tw: an intercepted connection's TIME_WAIT on the router, then a plain TCP connection with the same 4-tuple"
  mpx_repro_build tproxy_tw_blackhole
  mpx_repro_ns_routed
  local r=$P-r c=$P-c s=$P-s hag='' sp=40000 demux label out n_in n_fwd in0=0 fwd0=0
  ip netns exec "$r" nft -f - <<'NFT'
table inet repro {
  chain pre {
    type filter hook prerouting priority mangle; policy accept;
    ct mark & 0x1 == 0x1 meta mark set meta mark | 0x1 accept
    iifname "v1" tcp dport 8080 tcp flags & (fin|syn|rst|ack) == syn tcp option mptcp exists meta mark set meta mark | 0x1 ct mark set ct mark | 0x1 tproxy ip to :5127 accept
    iifname "v1" tcp dport 8080 tcp flags & (fin|syn|rst|ack) == syn counter comment "plain SYNs in"
  }
  chain forward_count {
    type filter hook forward priority 0; policy accept;
    iifname "v1" tcp dport 8080 tcp flags & (fin|syn|rst|ack) == syn counter comment "forwarded"
  }
}
NFT
  ip -n "$r" rule add fwmark 0x1/0x1 lookup 100 pref 100
  ip -n "$r" route add local 0.0.0.0/0 dev lo table 100
  ip netns exec "$s" timeout 60 "$BIN/tproxy_tw_blackhole" --server 8080 --name server > "$BIN/srv.log" 2>&1 &
  SRV=$!
  ip netns exec "$r" timeout 60 "$BIN/tproxy_tw_blackhole" --server 5127 --transparent --mptcp --name router > "$BIN/hag.log" 2>&1 &
  hag=$!
  sleep 0.3
  for demux in 1 0; do
    ip netns exec "$r" sysctl -qw net.ipv4.tcp_early_demux=$demux
    echo "router net.ipv4.tcp_early_demux=$demux:"
    while IFS='|' read -r label args port; do
      out=$(ip netns exec "$c" "$BIN/tproxy_tw_blackhole" --client 198.18.251.1 198.18.252.2 8080 \
        --sport "$port" --timeout-ms 3000 $args || true)
      printf '    %-58s %s\n' "$label:" "$out"
    done <<CASES
MPTCP from port $sp (intercepted)|--mptcp|$sp
plain TCP from port $((sp + 1)) (forwarded, control)||$((sp + 1))
plain TCP from port $sp (the router holds its TIME_WAIT)||$sp
CASES
    echo "    router TIME_WAIT sockets: $(ip netns exec "$r" ss -tanH state time-wait | awk '{print $3 "<-" $4}' | tr '\n' ' ')"
    # plain SYNs seen in prerouting vs those that reached the forward hook, in this round
    read -r n_in n_fwd < <(ip netns exec "$r" nft list table inet repro |
      sed -nE 's/^.*counter packets ([0-9]+).*/\1/p' | paste -sd ' ')
    echo "    plain SYNs to 8080 in prerouting: $((n_in - in0)), in the forward hook: $((n_fwd - fwd0))"
    in0=$n_in fwd0=$n_fwd
    sp=$((sp + 10))
  done
  kill "$hag" 2>/dev/null || true; wait "$hag" 2>/dev/null || true
}

[ "$(id -u)" = 0 ] || { echo "needs root" >&2; exit 1; }
[ $# -gt 0 ] || set -- all
uname -r
for c; do
  case $c in
    reply-stall) mpx_repro_reply_stall ;;
    tfo-join) mpx_repro_tfo_join ;;
    fallback-info) mpx_repro_fallback_info ;;
    peek-fallback) mpx_repro_peek_fallback ;;
    tproxy-tw) mpx_repro_tproxy_tw ;;
    all) mpx_repro_reply_stall; mpx_repro_tfo_join; mpx_repro_fallback_info; mpx_repro_peek_fallback; mpx_repro_tproxy_tw ;;
    *) echo "unknown case '$c' (reply-stall|tfo-join|fallback-info|peek-fallback|tproxy-tw|all)" >&2; exit 2 ;;
  esac
  mpx_repro_cleanup_ns
done
