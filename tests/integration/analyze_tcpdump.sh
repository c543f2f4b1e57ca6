#!/usr/bin/env bash
# mpx-analyze --packets option text against the local tcpdump (4.99), packet by packet, on
# every golden capture and the external tcpdump captures. Where the notations differ the
# difference is the documented one (pcap-analysis/README.md, "--packets and tcpdump"): the
# table there is applied to our text (mpx_td_norm) and the result must equal tcpdump's. A
# malformed or snaplen-cut area is named by its rule ID in ours and "[bad opt]" / "[|tcp]"
# in tcpdump's: those packets are compared on that marker only.
# timeout: 60
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
t_require_cmd tcpdump jq perl
t_require_bin mpx-analyze
A=$MPX_ROOT/bin/mpx-analyze
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT INT TERM
ver=$(tcpdump --version 2>&1 | sed -nE 's/^tcpdump version ([0-9]+\.[0-9]+).*/\1/p')
if [ "$ver" != 4.99 ]; then echo "SKIP: all: the table is for tcpdump 4.99, found '$ver'"; exit 77; fi

# our notation -> tcpdump 4.99's (README table, row by row)
mpx_td_norm() {
  perl -pe '
    s/capable v(\d) flags \[([A-H]*)\]/"capable v$1" . (index($2, "A") >= 0 ? " csum" : "")/ge;  # 1
    s/,data_len=\d+//g; s/,csum=0x[0-9a-f]+\}/}/g;                                              # 2
    s/0x([0-9a-f]+)/length($1) == 40 ? "0x$1" : "0x" . ($1 =~ s{^0+(?=.)}{}r)/ge;               # 3
    s/add-addr echo id/add-addr v1-echo id/g;                                                  # 4
    s/add-addr v0 id (\d+) ([0-9.]+)(?=[ ,:]|$)/add-addr v0-ip4 id $1 $2/g;
    s/add-addr v0 id (\d+) ([0-9a-f:]*:)/add-addr v0-ip6 id $1 $2/g;
    s/add-addr id/add-addr v1 id/g;
    s/remove-addr/rem-addr/g;                                                                  # 5
    s/mptcp (\d+) tcprst[^,\n]*/mptcp $1 unknown/g;                                            # 6
    s/(^|[ ,])tfo /$1tfo  /g;                                                                 # 7
    s/unknown subtype 0x[0-9a-f]+( [0-9a-f]+)?/unknown/g;                                       # 8
  '
}

X=${MPX_EXTERNAL:-$MPX_ROOT/../shared/testdata/external/tcpdump}
[ -d "$X" ] || X=/work/shared/testdata/external/tcpdump
n=0 total=0 marked=0 compared=0
for p in "$MPX_ROOT"/tests/data/pcap/*.pcap "$MPX_ROOT"/tests/data/pcap/*.pcapng "$X"/*.pcap; do
  [ -f "$p" ] || continue
  b=$(basename "$p")
  if ! tcpdump -n -r "$p" > /dev/null 2> "$W/$b.tderr" && grep -q 'different from the type of the first interface' "$W/$b.tderr"; then
    # libpcap (hence tcpdump) cannot read a pcapng whose interfaces differ in link type
    t_pass "$b (tcpdump cannot read it: $(head -c 120 "$W/$b.tderr"))"
    continue
  fi
  # tcpdump: "N options-text" per numbered packet (-v puts the TCP line after the IP line)
  tcpdump -# -n -v -r "$p" 2>/dev/null | awk '
    /^ *[0-9]+  / { num = $1; if ($0 !~ /options \[/) next }
    num != "" && /options \[/ { s = $0; sub(/.*options \[/, "", s); sub(/\], length [0-9]+.*$/, "", s); print num " " s; num = "" }
    num != "" { num = "" }' > "$W/$b.td" || true   # a cut file ends tcpdump with an error
  { "$A" --packets "$p" 2>/dev/null || true; } |
    jq -r 'select(.opt_bytes > 0) | "\(.pkt)\t\(.opt_cut_at != null)\t\(.opts)"' > "$W/$b.ours"
  total=$((total + $(wc -l < "$W/$b.ours")))
  # malformed or cut areas: a rule ID in ours; tcpdump must mark the same packets
  awk -F'\t' '$2 == "true" || $3 ~ /(^|[ ,[])[A-Z][A-Z0-9]*-[A-Z0-9-]+/ { print $1 }' "$W/$b.ours" > "$W/$b.marked"
  while read -r pkt; do
    marked=$((marked + 1))
    if ! grep -qE "^$pkt .*(\[bad opt\]|\[\|tcp\])" "$W/$b.td"; then
      t_fail "$b-pkt-$pkt-marked" "ours [$(grep -E "^$pkt	" "$W/$b.ours" || true)], tcpdump [$(grep -E "^$pkt " "$W/$b.td" || true)]"
    fi
  done < "$W/$b.marked"
  awk 'FILENAME == ARGV[1] { m[$1] = 1; next } !($1 in m)' "$W/$b.marked" "$W/$b.td" > "$W/$b.td2"
  awk -F'\t' 'FILENAME == ARGV[1] { m[$1] = 1; next } !($1 in m) { print $1 " " $3 }' "$W/$b.marked" "$W/$b.ours" |
    mpx_td_norm > "$W/$b.norm"
  n=$((n + 1)) compared=$((compared + $(wc -l < "$W/$b.norm")))
  if diff "$W/$b.td2" "$W/$b.norm" > "$W/$b.diff"; then t_pass "$b ($(wc -l < "$W/$b.norm") option areas)"
  else t_fail "$b" "tcpdump (<) vs ours normalized (>): $(head -c 800 "$W/$b.diff")"; fi
done
t_check "captures-compared ($n)" test "$n" -ge 20
t_check "malformed-or-cut-areas-seen ($marked of $total)" test "$marked" -ge 5
t_check "option-areas-compared ($compared)" test "$compared" -ge 1000
t_done
