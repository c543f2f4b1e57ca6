#!/usr/bin/env bash
# mpx-analyze on captures no one in this project made (tcpdump's own test suite, see
# ../shared/testdata/external/tcpdump/README.md): every option tcpdump shows in its expected
# decode (.out) is decoded by mpx-analyze (through proto/) to the same text, plus the
# connection-level verdicts these captures imply.
# timeout: 60
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
t_require_cmd jq
t_require_bin mpx-analyze
A=$MPX_ROOT/bin/mpx-analyze
X=${MPX_EXTERNAL:-$MPX_ROOT/../shared/testdata/external/tcpdump}
[ -d "$X" ] || X=/work/shared/testdata/external/tcpdump
[ -f "$X/mptcp-v1.pcap" ] || { echo "SKIP: all: external captures not found at $X"; exit 77; }
W=$(mktemp -d)
jqe() { jq -e "$@" > /dev/null; }
trap 'rm -rf "$W"' EXIT INT TERM

for pair in mptcp-v1:mptcp-v1 tfo-5c1fa7f9ae91:tfo; do
  pc=${pair%%:*} out=${pair##*:}
  sed -nE 's/^ *([0-9]+) .*options \[(.*)\], length.*/\1 \2/p' "$X/$out.out" > "$W/$out.want"
  { "$A" --packets "$X/$pc.pcap" || true; } | jq -r 'select(.opt_bytes>0) | "\(.pkt) \(.opts)"' > "$W/$out.got"
  if diff "$W/$out.want" "$W/$out.got" > "$W/$out.diff"; then
    t_pass "$out-options-as-tcpdump ($(wc -l < "$W/$out.want") option areas)"
  else t_fail "$out-options-as-tcpdump" "$(head -c 800 "$W/$out.diff")"; fi
  # packets without options in tcpdump's decode have none in ours either
  want_noopt=$(grep -c -v 'options \[' "$X/$out.out" || true)
  got_noopt=$({ "$A" --packets "$X/$pc.pcap" || true; } | jq -r 'select(.opt_bytes==0) | .pkt' | wc -l)
  t_check "$out-no-option-packets ($got_noopt)" test "$want_noopt" = "$got_noopt"
done

# connection verdicts
rc=0; "$A" --json "$X/mptcp-v1.pcap" > "$W/m.json" || rc=$?
t_check mptcp-v1-clean test "$rc" = 0
t_check mptcp-v1-verdict jqe -s '.[0] | .mptcp=="mptcp" and .mpc.version==1 and .mpc.syn and .mpc.synack and .mpc.ack
  and .keys.client=="1fdb5df328bc3def" and .keys.server=="29a6c86981ad933c" and .pkts==20
  and .syn_opt_bytes==24 and .synack_opt_bytes==32 and .subflows==1 and .rtts_before_data==1' "$W/m.json"
# token = top 32 bits of SHA-256(key) (RFC 8684 3.1), computed independently here
tok=$(printf '\x29\xa6\xc8\x69\x81\xad\x93\x3c' | sha256sum | cut -c1-8)
t_check mptcp-v1-token-sha256 test "$(jq -r -s '.[0].token' "$W/m.json")" = "$tok"

rc=0; "$A" --json "$X/tfo-5c1fa7f9ae91.pcap" > "$W/t.json" || rc=$?
t_check tfo-clean test "$rc" = 0
# frames 1/4 and 2/3 are the same connection on both sides of a NAT; 13 carries SYN data
t_check tfo-cookie-exchange jqe -s '[.[] | select(.type=="conn")] | length==3
  and (.[0] | .tfo.cookie_req and .tfo.cookie_granted and .tfo.exp and .tfo.cookie_len==6)
  and (.[1] | .tfo.cookie_req and .tfo.cookie_granted and .tfo.cookie_len==6)
  and (.[2] | .tfo.cookie_used and .tfo.syn_data_len==4 and (.tfo.syn_data_acked|not) and .t_us.synack==null)' "$W/t.json"
t_done
