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
count_ours() { # PCAP RULE
  "$A" --check-csum --json "$1" 2>/dev/null | jq -r --arg r "$2" 'select(.type=="summary") | .by_rule[$r] // 0'
}
# one line per capture: name, tshark's wrong TCP and IPv4 sums, ours (one tshark and one
# analyzer per capture, two captures at a time: tshark's start-up is most of the time)
csum_line() { # PCAP
  local t
  t=$(tshark -r "$1" -o tcp.check_checksum:TRUE -o ip.check_checksum:TRUE -T fields \
        -e tcp.checksum.status -e ip.checksum.status 2>/dev/null |
      awk -F'\t' '$1 == "0" {tc++} $2 == "0" {ic++} END {print tc + 0, ic + 0}')
  echo "$(basename "$1" .pcap) $t $("$A" --check-csum --json "$1" 2>/dev/null |
    jq -r 'select(.type=="summary") | "\(.by_rule["TCP-CSUM"] // 0) \(.by_rule["IP-CSUM"] // 0)"')"
}
export A; export -f csum_line
n=0 seen=0
while read -r b tt ti ot oi; do
  seen=$((seen + 1))
  t_check "$b-tcp-csum-bad (tshark $tt, ours $ot)" test "$tt" = "$ot"
  t_check "$b-ip-csum-bad (tshark $ti, ours $oi)" test "$ti" = "$oi"
  n=$((n + tt))
done < <(printf '%s\0' "$MPX_ROOT"/tests/data/pcap/*.pcap | xargs -0 -n 1 -P 2 bash -c 'csum_line "$1"' csum)
t_check "every capture compared ($seen)" test "$seen" = "$(ls "$MPX_ROOT"/tests/data/pcap/*.pcap | wc -l)"
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
