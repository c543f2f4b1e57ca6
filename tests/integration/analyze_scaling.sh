#!/usr/bin/env bash
# mpx-analyze scales linearly with connections, and its cross-capture joins did not change:
#  1. experiment-shaped captures made by mpx-pcapgen from the recorded real-{dsl,lte,wan}
#     captures plus mpx-mkpcap's implicit-interception pair (~17 packets per connection,
#     upstream + downstream, joins, signals, implicit): N and 4N copies. CPU seconds per
#     connection (best of 3 runs each, --json) at 4N within 1.5x of those at N: a ratio, so
#     a busy machine slows both sides alike. The list-scan join of the old code gave 4.7x.
#  2. every copy joins like the original: connections, signalled and implicit joins and
#     violations are copies x the original's (a missed or cross-copy join changes a count).
#  3. the join pairs (upstream -> downstream) on the tracked golden pcaps analysed together
#     and on the implicit pairs (v4, v6) are the ones the list-scan join produced (below).
# MPX_SCALING_ANALYZE=path runs another mpx-analyze build (to show the test catches a
# quadratic join: the old build fails it).
# timeout: 90
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
t_require_cmd jq awk
t_require_bin mpx-analyze mpx-pcapgen mpx-mkpcap
A=${MPX_SCALING_ANALYZE:-$MPX_ROOT/bin/mpx-analyze}
G=$MPX_ROOT/bin/mpx-pcapgen
D=$MPX_ROOT/tests/data/pcap
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT INT TERM
N=${MPX_SCALING_COPIES:-60}

timeout 20 "$MPX_ROOT/bin/mpx-mkpcap" implicit-dsl "$W/idsl.pcap"
timeout 20 "$MPX_ROOT/bin/mpx-mkpcap" implicit-wan "$W/iwan.pcap"
timeout 20 "$MPX_ROOT/bin/mpx-mkpcap" --v6 implicit-dsl "$W/idsl6.pcap"
timeout 20 "$MPX_ROOT/bin/mpx-mkpcap" --v6 implicit-wan "$W/iwan6.pcap"
SET=("$D/real-dsl.pcap" "$D/real-lte.pcap" "$D/real-wan.pcap" "$W/idsl.pcap" "$W/iwan.pcap")

# mpx_sc_gen COPIES PREFIX: the set replicated COPIES times -> PREFIX-{0..4}.pcap
mpx_sc_gen() {
  local args=() i=0 f
  for f in "${SET[@]}"; do args+=("$f" "$2-$i.pcap"); i=$((i + 1)); done
  timeout 60 "$G" --copies "$1" "${args[@]}" 2> "$W/gen.log" || { cat "$W/gen.log"; return 1; }
}
# mpx_sc_counts JSON: "connections signalled-joins implicit-joins violations"
mpx_sc_counts() {
  jq -rs '[(.[] | select(.type == "summary") | .connections),
           ([.[] | select(.type == "conn" and .downstream != null and .downstream.intercepted == false)] | length),
           ([.[] | select(.type == "conn" and .downstream.intercepted == true)] | length),
           (.[] | select(.type == "summary") | .violations)] | map(tostring) | join(" ")' "$1"
}
# mpx_sc_cpu PREFIX: best of 3 CPU seconds (user + sys) of --json over the set's copies
mpx_sc_cpu() {
  local best="" t
  for _ in 1 2 3; do
    t=$( { TIMEFORMAT='%U %S'; time timeout 60 "$A" --json "$1"-*.pcap > /dev/null 2>&1 || [ $? = 1 ]; } 2>&1 |
        awk '{printf "%.3f", $1 + $2}')
    if [ -z "$best" ] || awk -v a="$t" -v b="$best" 'BEGIN{exit !(a < b)}'; then best=$t; fi
  done
  echo "$best"
}

# 1 + 2
timeout 60 "$A" --json "${SET[@]}" > "$W/orig.json" || [ $? = 1 ]
read -r oc osig oimp oviol < <(mpx_sc_counts "$W/orig.json")
t_check "original-has-joins" [ "$osig" -gt 0 ] && [ "$oimp" -gt 0 ]
mpx_sc_gen "$N" "$W/n"
mpx_sc_gen $((4 * N)) "$W/n4"
for k in n:$N n4:$((4 * N)); do
  p=${k%%:*} c=${k#*:}
  timeout 60 "$A" --json "$W/$p"-*.pcap > "$W/$p.json" || [ $? = 1 ]
  got=$(mpx_sc_counts "$W/$p.json")
  want="$((c * oc)) $((c * osig)) $((c * oimp)) $((c * oviol))"
  if [ "$got" = "$want" ]; then t_pass "copies-$c-join-like-original"
  else t_fail "copies-$c-join-like-original" "connections/signalled/implicit/violations: got $got, want $want"; fi
done
cn=$((N * oc)) c4=$((4 * N * oc))
tn=$(mpx_sc_cpu "$W/n")
t4=$(mpx_sc_cpu "$W/n4")
ratio=$(awk -v a="$tn" -v b="$t4" -v x="$cn" -v y="$c4" 'BEGIN{ if (a <= 0) a = 0.001; printf "%.2f", (b / y) / (a / x) }')
echo "scaling: $cn connections ${tn}s, $c4 connections ${t4}s CPU; per-connection ratio $ratio"
if awk -v r="$ratio" 'BEGIN{exit !(r <= 1.5)}'; then t_pass "per-connection-time-4x-within-1.5x"
else t_fail "per-connection-time-4x-within-1.5x" "ratio $ratio (${tn}s for $cn, ${t4}s for $c4 connections)"; fi

# 3
J='select(.type == "conn" and .downstream != null) | "\(.pcap | split("/") | last) \(.client) \(.server) -> \(.downstream.pcap | split("/") | last) \(.downstream.client) \(.downstream.server) \(.downstream.intercepted)"'
GOLD=()
for f in hb-add-addr hb-convert-error hb-convert hb-cookie hb-dss-csum hb-idsn-bad hb-join-syn-data hb-join \
         hb-mpc-data-first hb-mpc-dropped hb-mpconvert-ie hb-mpconvert-opt hb-mpconvert hb-overrun \
         hb-prefer-proxy hb-socks5 hb-syn-retx hb-syndata-nack hb-tcprst hb-ts-dropped real-dsl real-lte real-wan; do
  GOLD+=("$D/$f.pcap")
done
{ timeout 60 "$A" --json "${GOLD[@]}" || [ $? = 1 ]; } | jq -r "$J" > "$W/golden.got"
{ timeout 60 "$A" --json "$W/idsl.pcap" "$W/iwan.pcap" "$W/idsl6.pcap" "$W/iwan6.pcap" || [ $? = 1 ]; } | jq -r "$J" >> "$W/golden.got"
# the list-scan join's pairs on these captures
cat > "$W/golden.want" <<'PAIRS'
hb-add-addr.pcap 198.18.0.7:40007 198.18.1.1:8080 -> hb-cookie.pcap 198.18.0.4:40003 198.18.1.1:8080 true
hb-dss-csum.pcap 198.18.0.22:40022 198.18.1.1:8080 -> hb-overrun.pcap 198.18.0.2:40001 198.18.1.1:8080 true
hb-idsn-bad.pcap 198.18.0.20:40020 198.18.1.1:8080 -> hb-syndata-nack.pcap 198.18.0.5:40005 198.18.1.1:8080 true
hb-join-syn-data.pcap 198.18.0.18:40018 198.18.1.1:8080 -> hb-cookie.pcap 198.18.0.4:40004 198.18.1.1:8080 true
hb-ts-dropped.pcap 198.18.0.14:40014 198.18.1.1:5124 -> hb-mpc-dropped.pcap 198.18.0.3:40002 198.18.1.1:5124 true
real-dsl.pcap 198.18.1.1:43734 198.18.1.254:5124 -> real-wan.pcap 198.18.3.254:46136 198.18.3.1:8080 false
real-dsl.pcap 198.18.1.1:43744 198.18.1.254:5124 -> real-wan.pcap 198.18.3.254:46148 198.18.3.1:8080 false
real-dsl.pcap 198.18.1.1:43750 198.18.1.254:5124 -> real-wan.pcap 198.18.3.254:46162 198.18.3.1:8080 false
real-dsl.pcap 198.18.1.1:43760 198.18.1.254:5124 -> real-wan.pcap 198.18.3.254:46170 198.18.3.1:8080 false
real-dsl.pcap 198.18.1.1:43764 198.18.1.254:5124 -> real-wan.pcap 198.18.3.254:46182 198.18.3.1:8080 false
real-dsl.pcap 198.18.1.1:36450 198.18.1.254:1080 -> real-wan.pcap 198.18.3.254:46188 198.18.3.1:8080 false
real-dsl.pcap 198.18.1.1:50178 198.18.1.254:5125 -> real-wan.pcap 198.18.3.254:46202 198.18.3.1:8080 false
real-dsl.pcap 198.18.1.1:44384 198.18.1.254:5126 -> real-wan.pcap 198.18.3.254:46206 198.18.3.1:8080 false
real-dsl.pcap [fd00:18:1::1]:46478 [fd00:18:1::254]:5124 -> real-wan.pcap [fd00:18:3::254]:50746 [fd00:18:3::1]:8080 false
real-dsl.pcap [fd00:18:1::1]:49666 [fd00:18:1::254]:1080 -> real-wan.pcap [fd00:18:3::254]:50758 [fd00:18:3::1]:8080 false
real-dsl.pcap [fd00:18:1::1]:44824 [fd00:18:1::254]:5125 -> real-wan.pcap [fd00:18:3::254]:50762 [fd00:18:3::1]:8080 false
real-dsl.pcap [fd00:18:1::1]:59032 [fd00:18:1::254]:5126 -> real-wan.pcap [fd00:18:3::254]:50764 [fd00:18:3::1]:8080 false
real-dsl.pcap 198.18.1.1:43770 198.18.1.254:5124 -> real-wan.pcap 198.18.3.254:46208 198.18.3.1:8080 false
real-dsl.pcap 198.18.1.1:43774 198.18.1.254:5124 -> real-wan.pcap 198.18.3.254:46220 198.18.3.1:8080 false
real-dsl.pcap 198.18.1.1:43782 198.18.1.254:5124 -> real-wan.pcap 198.18.3.254:46234 198.18.3.1:8080 false
idsl.pcap 198.18.0.21:40021 198.18.1.7:8080 -> iwan.pcap 198.18.0.21:40021 198.18.1.7:8080 true
idsl6.pcap [fd00::15]:40021 [fd01::7]:8080 -> iwan6.pcap [fd00::15]:40021 [fd01::7]:8080 true
PAIRS
if diff "$W/golden.want" "$W/golden.got" > "$W/golden.diff"; then t_pass "golden-join-pairs-unchanged"
else t_fail "golden-join-pairs-unchanged" "$(head -20 "$W/golden.diff")"; fi
t_done
