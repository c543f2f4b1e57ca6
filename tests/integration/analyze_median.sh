#!/usr/bin/env bash
# One median definition: the TTFB median column of mpx-analyze --report (lib/stats.h) equals
# summary.jq's pct(0.5), taken verbatim from emu/harness/summary.jq and run by jq on the same
# sample (the --json ttfb_us of the same connections), for every signal row of several
# capture sets, even counts (the mean of the middle two) included.
# timeout: 60
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
t_require_cmd jq awk
t_require_bin mpx-analyze
A=$MPX_ROOT/bin/mpx-analyze
D=$MPX_ROOT/tests/data/pcap
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT INT TERM

# summary.jq's definition, not a copy: if it changes, this test compares against the change
PCT=$(sed -n '/^def pct(p):/,/^def median:/p' "$MPX_ROOT/emu/harness/summary.jq")
if ! grep -q '^def median: pct(0.5);' <<< "$PCT"; then
  t_fail "summary-jq-definition" "no 'def pct(p) ... def median: pct(0.5);' in emu/harness/summary.jq"
  t_done
fi

# mpx_median_rows NAME PCAP...: one line "signal n_ttfb report_median jq_median" per row
mpx_median_rows() {
  local name=$1; shift
  timeout 60 "$A" --json "$@" > "$W/$name.json" || [ $? = 1 ]
  timeout 60 "$A" --report "$@" > "$W/$name.md" || [ $? = 1 ]
  # the report's per-signal table: | signal | connections | ... | TTFB median (ms) | violations |
  awk -F' *\\| *' '/^## Summary per signal/ {on=1; next} /^## / {on=0}
                   on && /^\| [a-z]/ && $2 != "signal" {print $2, $9}' "$W/$name.md" |
  while read -r sig med; do
    local got
    got=$(jq -s -r --arg s "$sig" "$PCT"'
            [.[] | select(.type == "conn" and .signal == $s and .ttfb_us != null) | .ttfb_us]
            | "\(length) \(median)"' "$W/$name.json")
    # the report prints milliseconds with three decimals: format jq's microseconds the same way
    echo "$sig ${got%% *} $med $(awk -v v="${got#* }" 'BEGIN { if (v == "null") print "–"; else printf "%.3f", v / 1000 }')"
  done
}

rows=0 even=0
for set in "real-dsl:$D/real-dsl.pcap" \
           "real-all:$D/real-dsl.pcap $D/real-lte.pcap $D/real-wan.pcap" \
           "hb-all:$(echo "$D"/hb-*.pcap)" \
           "dsl-hb:$D/real-dsl.pcap $(echo "$D"/hb-convert*.pcap "$D"/hb-socks5.pcap "$D"/hb-mpconvert*.pcap)"; do
  name=${set%%:*}
  # shellcheck disable=SC2086  # the pcap list is split on purpose
  mpx_median_rows "$name" ${set#*:} > "$W/$name.rows"
  [ -s "$W/$name.rows" ] || { t_fail "$name-rows" "no per-signal rows in the report"; continue; }
  while read -r sig n med want; do
    rows=$((rows + 1))
    [ $((n % 2)) = 0 ] && [ "$n" -gt 0 ] && even=$((even + 1))
    t_check "$name-$sig-median (n=$n, report $med ms, summary.jq $want ms)" test "$med" = "$want"
  done < "$W/$name.rows"
done
# the interpolation branch must have been exercised, not only odd counts
t_check "even-count-rows ($even of $rows)" test "$even" -ge 3
t_done
