#!/usr/bin/env bash
# mpx-analyze --check-csum against tshark as the oracle: the number of segments with a wrong
# TCP checksum (and IPv4 header checksum) must be the same, on captures with wrong sums and on
# mpx-linkem captures (always final sums: zero wrong).
# timeout: 60
set -uo pipefail
source "$(dirname "$0")/../lib.sh"
t_require_cmd tshark jq
t_require_bin mpx-analyze
A=$MPX_ROOT/bin/mpx-analyze
count_tshark() { # PCAP FIELD: segments whose FIELD status is "bad" (0)
  tshark -r "$1" -o tcp.check_checksum:TRUE -o ip.check_checksum:TRUE -T fields -e "$2" 2>/dev/null |
    awk '$1 == "0"' | wc -l
}
count_ours() { # PCAP RULE
  "$A" --check-csum --json "$1" 2>/dev/null | jq -r --arg r "$2" 'select(.type=="summary") | .by_rule[$r] // 0'
}
n=0
for p in "$MPX_ROOT"/tests/data/pcap/*.pcap; do
  b=$(basename "$p" .pcap)
  tt=$(count_tshark "$p" tcp.checksum.status) ot=$(count_ours "$p" TCP-CSUM)
  ti=$(count_tshark "$p" ip.checksum.status) oi=$(count_ours "$p" IP-CSUM)
  t_check "$b-tcp-csum-bad (tshark $tt, ours $ot)" test "$tt" = "$ot"
  t_check "$b-ip-csum-bad (tshark $ti, ours $oi)" test "$ti" = "$oi"
  n=$((n + tt))
done
# the golden real captures hold wrong sums, so the comparison above is not vacuous
t_check "some-wrong-sums-seen ($n)" test "$n" -gt 0
# one flipped byte in the payload of a clean capture is found, and only there
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
src=$MPX_ROOT/tests/data/pcap/hb-convert.pcap
if [ "$(count_ours "$src" TCP-CSUM)" = 0 ]; then
  cp "$src" "$tmp/x.pcap"
  sz=$(stat -c %s "$tmp/x.pcap")
  printf '\xff' | dd of="$tmp/x.pcap" bs=1 seek=$((sz - 3)) conv=notrunc status=none
  t_check "flipped-byte-found ($(count_ours "$tmp/x.pcap" TCP-CSUM))" test "$(count_ours "$tmp/x.pcap" TCP-CSUM)" = 1
  rc=0; "$A" --json "$tmp/x.pcap" > /dev/null 2>&1 || rc=$?
  t_check "off-by-default (exit $rc)" test "$rc" = 0
else
  t_fail flipped-byte-found "the fixture hb-convert.pcap already has wrong sums"
fi
t_done
