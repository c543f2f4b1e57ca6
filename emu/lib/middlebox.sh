# shellcheck shell=bash
# mpxlab middlebox behaviours, applied inside a (forwarding) namespace with nftables and
# iptables. They act on forwarded packets only (the FORWARD / postrouting hooks), so the
# middlebox's own traffic is untouched.
#   mpx_mb_apply NS BEHAVIOUR...
# Behaviours:
#   strip-mptcp       iptables TCPOPTSTRIP --strip-options 30 (IPv4 + IPv6): MPTCP option
#                     replaced by NOPs in every forwarded TCP segment
#   strip-opt=K[,K]   the same for the given option kinds (e.g. 34 = TFO, 254 = experimental)
#   drop-syn-data     drop SYNs (SYN without ACK) that carry payload: IP length >
#                     IP header + TCP header (nft, one rule per header length pair)
#   drop-ipopts       drop IPv4 packets carrying IP options (ihl > 5) and IPv6 packets with a
#                     hop-by-hop header (e.g. Router Alert)
#   snat=IF           source NAT (masquerade) of everything leaving through IF
#   none              nothing (accepted so callers can pass a list verbatim)
# Counters: `mpx_mb_counters NS` prints the nft ruleset and iptables mangle counters.

mpx_mb_apply() {
  local ns=$1 b k v kinds=() nft='' drop=0 rules=() snat_ifs=()
  shift
  for b; do
    k=${b%%=*} v=''; [[ $b == *=* ]] && v=${b#*=}
    case $k in
      none) ;;
      strip-mptcp) kinds+=(30) ;;
      strip-opt) [[ $v =~ ^[0-9]{1,3}(,[0-9]{1,3})*$ ]] || { echo "middlebox: strip-opt wants kinds, e.g. strip-opt=34,254" >&2; return 2; }
                 local ks; IFS=, read -ra ks <<< "$v"; kinds+=("${ks[@]}") ;;
      drop-syn-data) drop=1 ;;
      drop-ipopts) rules+=("ip hdrlength != 5 counter drop comment \"drop-ipopts\""
                           "exthdr hbh exists counter drop comment \"drop-ipopts\"") ;;
      snat) [[ $v =~ ^[a-z][a-z0-9_]{0,14}$ ]] || { echo "middlebox: snat wants snat=IF" >&2; return 2; }
            snat_ifs+=("$v") ;;
      *) echo "middlebox: unknown behaviour '$b' (strip-mptcp strip-opt=K drop-syn-data drop-ipopts snat=IF none)" >&2; return 2 ;;
    esac
  done
  if [ $drop = 1 ]; then
    # nft cannot compare two header fields, so enumerate the header lengths: a SYN carries
    # payload iff its IP length exceeds 4*ihl + 4*doff (IPv4) or 4*doff (IPv6 payload length,
    # no extension headers)
    local ihl doff
    for ihl in 5 6 7 8 9 10 11 12 13 14 15; do
      for doff in 5 6 7 8 9 10 11 12 13 14 15; do
        rules+=("ip hdrlength $ihl tcp doff $doff tcp flags & (syn | ack) == syn ip length > $(( 4 * ihl + 4 * doff )) counter drop comment \"drop-syn-data\"")
      done
    done
    for doff in 5 6 7 8 9 10 11 12 13 14 15; do
      rules+=("ip6 nexthdr tcp tcp doff $doff tcp flags & (syn | ack) == syn ip6 length > $(( 4 * doff )) counter drop comment \"drop-syn-data\"")
    done
  fi
  if [ ${#rules[@]} -gt 0 ] || [ ${#snat_ifs[@]} -gt 0 ]; then
    nft="table inet mpx_mb {"$'\n'
    if [ ${#rules[@]} -gt 0 ]; then
      nft+="  chain mb_forward { type filter hook forward priority filter; policy accept;"$'\n'
      local r; for r in "${rules[@]}"; do nft+="    $r"$'\n'; done
      nft+="  }"$'\n'
    fi
    if [ ${#snat_ifs[@]} -gt 0 ]; then
      nft+="  chain mb_post { type nat hook postrouting priority srcnat; policy accept;"$'\n'
      local i; for i in "${snat_ifs[@]}"; do nft+="    oifname \"$i\" counter masquerade comment \"snat\""$'\n'; done
      nft+="  }"$'\n'
    fi
    nft+="}"
    local out
    out=$(ip netns exec "$ns" nft -f - <<< "$nft" 2>&1) || { echo "middlebox: nft failed in $ns: $out" >&2; return 3; }
  fi
  if [ ${#kinds[@]} -gt 0 ]; then
    local list t
    list=$(printf '%s\n' "${kinds[@]}" | sort -nu | paste -sd,)
    for t in iptables ip6tables; do
      ip netns exec "$ns" "$t" -w -t mangle -A FORWARD -p tcp -j TCPOPTSTRIP --strip-options "$list" 2>/dev/null ||
        { echo "middlebox: $t TCPOPTSTRIP failed in $ns (xt_TCPOPTSTRIP missing?)" >&2; return 3; }
    done
  fi
  return 0
}

mpx_mb_counters() {
  local ns=$1
  ip netns exec "$ns" nft list ruleset 2>/dev/null
  ip netns exec "$ns" iptables -w -t mangle -L FORWARD -v -n -x 2>/dev/null
  ip netns exec "$ns" ip6tables -w -t mangle -L FORWARD -v -n -x 2>/dev/null
}
