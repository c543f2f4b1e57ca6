#!/usr/bin/env bash
# Real, unmodified LAN applications through the CPE (issue 16 item 5; issue 13's curl/wget
# test), on topologies/hybrid-cpe.topo with emu/harness/apps.sh: lighttpd on the server serves
# files of known sha256 on one port per channel, the CPE (mpx-proxy --cpe, nft port map) picks
# the channel by that port.
#  1. every explicit channel (mpconvert-opt: mpx-optd adds its SYN option on the CPE and reads
#     it on the HAG, as for every channel here): curl, wget and busybox wget on lan1 fetch
#     1 kB and 1 MB, sha256 checked; the CPE relayed every one through the HAG (its row's
#     relayed count, no direct fallback) and the web server saw the HAG's WAN address;
#  2. issue 13: curl and wget each download 10 MB twice through the convert channel, MPTCP
#     from the CPE to the HAG over DSL + LTE: sha256, the rate while the transfer runs (10 % to
#     90 % of the bytes in the LAN capture) >= 80 % of the sum of the topology's down rates
#     towards the CPE (hybrid-cpe.topo: 20 + 30 Mbit/s; on a host too busy for the emulators,
#     scaled by 20 ms / (20 ms + their measured round-trip lateness)), no stall (no data for >= 1 s), the
#     goodput from the LAN SYN to the last byte printed beside it, and both access
#     links carried data (the CPE's dsl and lte interfaces each received >= 10 % of the file
#     during the download; LTE carries nothing but the join subflow);
#  3. curl --tcp-fastopen from a LAN host with TFO (tcp_fastopen=0x5 on lan1 for this step:
#     client, SYN data without a cookie) to a convert,wait=0 listener: the request is in the
#     LAN SYN, and the CPE puts it into its own SYN to the HAG at once (stats
#     syn_with_lan_bytes; the dsl capture: the SYN to the convert port carries "GET /"); plain
#     curl to the same listener does not (syn_without_lan_bytes).
# apps.csv of the run is printed at the end.
# timeout: 120
set -uo pipefail
source "$(dirname "$0")/../lib.sh"
source "$MPX_ROOT/tests/cpe_lib.sh"
source "$MPX_ROOT/emu/harness/apps.sh"
t_require_cmd curl wget busybox lighttpd sha256sum tcpdump
t_require_bin mpx-optd
TFOP=8199 TFOC=9199      # the TFO step's server port and CPE listener (convert, wait=0)
# jqok JSON FILTER: FILTER is true for JSON
jqok() { jq -e "$2" <<< "$1" > /dev/null 2>&1; }
# both A B MIN: A >= MIN and B >= MIN
both() { [ "$1" -ge "$3" ] && [ "$2" -ge "$3" ]; }

mpx_cpt_up capps
mpx_reg_load
CHS=()
for s in "${MPX_REG_NAMES[@]}"; do
  [ "${MPX_SIG_MODE[$s]}" = explicit ] && CHS+=("$s")
done
S=$MPX_CPT_SRV D=$MPX_CPT_DIR
NS_LAN=$MPX_CPT_NS_LAN1 NS_SRV=$MPX_CPT_NS_SERVER NS_CPE=$MPX_CPT_NS_CPE
ports=()
for s in "${CHS[@]}"; do ports+=("$(mpx_cpt_srv_port "$s")"); done
mpx_apps_httpd_start "$D/apps" "$NS_SRV" "${ports[@]}" "$TFOP" 2> "$D/apps-start.err" ||
  { t_fail setup "web server: $(cat "$D/apps-start.err")"; exit 1; }
ICC=$D/icc
cleanup_apps() {
  mpx_apps_httpd_stop "$D/apps"
  mpx_ic_client_down "$NS_CPE" "$ICC" > /dev/null 2>&1
  mpx_cpt_down
}
trap cleanup_apps EXIT
mpx_cpt_hag || exit 1
# the CPE's mpx-optd (add mode) puts mpconvert-opt's MP_CONVERT option into its SYNs; the HAG's
# (read mode) reads it
mpx_ic_client_up "$NS_CPE" "$ICC" > "$D/icc.log" 2>&1 ||
  { t_fail setup "CPE mpx-optd: $(tail -n 2 "$D/icc.log")"; exit 1; }
mpx_cpt_cpe "${CHS[@]}" "$TFOP:$TFOC=convert,wait=0" -- --cpe-timeout 5000 \
  --optd-ctl "$(mpx_ic_client_ctl "$ICC")" || exit 1
mpx_cpt_intercept optd-read || exit 1
echo "# channels: ${CHS[*]}"

# 1. every explicit channel, three tools, 1 kB and 1 MB
for s in "${CHS[@]}"; do
  p=$(mpx_cpt_srv_port "$s")
  bad=0
  mpx_apps_run "$D/apps" "$NS_LAN" "$s" "http://$S:$p" "curl wget bbwget" "1k 1m" || bad=$?
  rows=$(awk -F, -v c="$s" '$2 == c { printf "%s/%s %s %ss rc %s; ", $1, $3,
    ($7 ? "ok" : "BAD"), $5, $8 }' "$D/apps/apps.csv")
  t_check "$s - curl, wget, busybox wget x 1 kB, 1 MB: sha256 ok ($rows)" [ "$bad" = 0 ]
done
st=$(mpx_cpt_stats cpe)
for s in "${CHS[@]}"; do
  row=$(mpx_cpt_cpe_row "$st" "$(mpx_cpt_cpe_port "$s")")
  t_check "$s - the CPE relayed all 6 through the HAG, no fallback ($row)" \
    jqok "$row" '.relayed == 6 and .fallback_direct == 0 and .failed == 0'
done
mpx_apps_httpd_stop "$D/apps"   # flushes the access log; started again for step 2
for s in "${CHS[@]}"; do
  p=$(mpx_cpt_srv_port "$s")
  n=$(awk -v p="$p" -v h="$MPX_CPT_HAG_WAN" '$1 == p && $2 == h && $3 == 200' \
    "$D/apps/httpd-access.log" | wc -l)
  t_check "$s - the web server saw 6 requests from the HAG ($MPX_CPT_HAG_WAN; saw $n)" \
    [ "$n" = 6 ]
done
mpx_apps_httpd_start "$D/apps" "$NS_SRV" "${ports[@]}" "$TFOP" 2> "$D/apps-start.err" ||
  { t_fail setup "web server again: $(cat "$D/apps-start.err")"; exit 1; }

# 2. issue 13: 10 MB twice with curl and wget, convert over DSL + LTE at the aggregate rate
bulk=()
agg=$(mpx_apps_access_rate "$MPX_CPT_RUN" cpe)
need=$(awk -v a="$agg" 'BEGIN { printf "%.1f", 0.8 * a }')
pc=$(mpx_cpt_srv_port convert)
for k in 1 2; do
  for tool in curl wget; do
    d0=$(mpx_apps_if_rx "$NS_CPE" dsl) l0=$(mpx_apps_if_rx "$NS_CPE" lte)
    mpx_apps_fetch "$D/apps" "$NS_LAN" convert-bulk "http://$S:$pc" "$tool" 10m
    d1=$(mpx_apps_if_rx "$NS_CPE" dsl) l1=$(mpx_apps_if_rx "$NS_CPE" lte)
    IFS=, read -r _ _ _ bytes secs gp ok rc <<< "$(tail -n 1 "$D/apps/apps.csv")"
    dd=$((d1 - d0)) dl=$((l1 - l0))
    t_check "bulk $tool #$k - 10 MB through convert: sha256 ok, rc $rc, $bytes bytes in ${secs}s" \
      [ "$ok" = 1 ]
    bulk+=("$tool #$k $secs $gp")
    t_check "bulk $tool #$k - both links carried it: dsl rx $dd B, lte rx $dl B (each >= 1000000)" \
      both "$dd" "$dl" 1000000
  done
done
row=$(mpx_cpt_cpe_row "$(mpx_cpt_stats cpe)" "$(mpx_cpt_cpe_port convert)")
t_check "bulk - the CPE's convert connections were MPTCP with 2 subflows ($row)" \
  jqok "$row" '.mptcp >= 10 and .subflows_max >= 2 and .fallback_direct == 0'

# 3. a TFO LAN client: its request lands in the CPE's SYN with wait=0
ip netns exec "$NS_LAN" sysctl -qw net.ipv4.tcp_fastopen=5
mpx_apps_fetch "$D/apps" "$NS_LAN" convert-w0 "http://$S:$TFOP" curl 1k
t_check "tfo - plain curl through convert,wait=0: sha256 ok" \
  [ "$(tail -n 1 "$D/apps/apps.csv" | cut -d, -f7)" = 1 ]
r0=$(mpx_cpt_cpe_row "$(mpx_cpt_stats cpe)" "$TFOC")
mpx_apps_fetch "$D/apps" "$NS_LAN" convert-w0 "http://$S:$TFOP" curl-tfo 1k
t_check "tfo - curl --tcp-fastopen through convert,wait=0: sha256 ok" \
  [ "$(tail -n 1 "$D/apps/apps.csv" | cut -d, -f7)" = 1 ]
r1=$(mpx_cpt_cpe_row "$(mpx_cpt_stats cpe)" "$TFOC")
t_check "tfo - plain curl: the CPE's SYN without LAN bytes ($r0)" \
  jqok "$r0" '.syn_without_lan_bytes == 1 and .syn_with_lan_bytes == 0'
t_check "tfo - curl --tcp-fastopen: the CPE's SYN carried the LAN request ($r1)" \
  jqok "$r1" '.syn_with_lan_bytes == 1 and .syn_without_lan_bytes == 1'
mpx_apps_httpd_stop "$D/apps"
mpx_ic_client_down "$NS_CPE" "$ICC" > /dev/null 2>&1
mpx_cpt_finish
# the goodput of each bulk download on the wire (LAN capture: connect to the last byte, as
# bulk.exp's mpx-client; the wall time above also counts the tool's process start)
mapfile -t wire < <(mpx_apps_wire "$D/pcap/home1.pcap" "$pc" | awk '$4 >= 10000000')
# the access emulators' release lateness over the run (p99, down direction; experiments/README.md
# "Fidelity"): printed with each goodput, so a shortfall on a busy host can be told from one of
# the system; the bound stays the topology's
late=$(for l in dsl lte; do
  jq -r --arg l "$l" '"\($l) \(.ab.late_us.p99) us"' "$D/pcap/$l.stats.json" 2> /dev/null; done | paste -sd, -)
# and what a round trip LAN - CPE - (DSL or LTE) - HAG - WAN gained from it (both directions'
# p99): the window-limited rate's bound shrinks by DSL's 20 ms RTT / (20 ms + that), never by a
# fixed margin
lrt=$(awk -v a="$(t_late_rt_ms "$D/pcap/home1.stats.json")" -v b="$(t_late_rt_ms "$D/pcap/dsl.stats.json" "$D/pcap/lte.stats.json")" \
  -v c="$(t_late_rt_ms "$D/pcap/wan.stats.json")" 'BEGIN{print a + b + c}')
t_check "bulk - 4 downloads of 10 MB in the LAN capture (${#wire[@]})" [ ${#wire[@]} = 4 ]
for i in "${!wire[@]}"; do
  read -r _ ts tl _ gw gr gap <<< "${wire[$i]}"
  read -r tn tk tw tg <<< "${bulk[$i]:-? ? 0 0}"
  dt=$(awk -v a="$ts" -v b="$tl" 'BEGIN { printf "%.3f", b - a }')
  # "at full aggregate rate": the rate while the transfer runs (10 % to 90 % of the bytes), so
  # the fixed costs every 10 MB download pays once (handshake and signal, the join's wait for
  # the first data-level ack, slow start: ~0.25 s, emu/README.md "LAN applications") are not
  # counted as rate; they are in the connect-to-last-byte goodput printed beside it
  t_rate_late "bulk $tn $tk - rate $gr Mbit/s from 10 % to 90 % of the bytes (connect to last byte \
$gw Mbit/s, ${dt}s; tool wall time ${tw}s = $tg Mbit/s; emulator lateness p99 $late) vs 80 % of \
DSL + LTE down ($agg Mbit/s) = $need" "$gr" "$need" 20 "$lrt"
  t_check "bulk $tn $tk - no stall: longest time without data ${gap}s < 1 s" \
    awk -v g="$gap" 'BEGIN { exit !(g < 1) }'
done
# the TFO request on the wire: in the LAN SYN, and in the CPE's SYN to the HAG right after the
# Convert message naming the server's port $TFOP (the plain curl's SYN has the message alone)
hp=${MPX_SIG_PORT[convert]}
n_lan=$(mpx_apps_syn_get "$D/pcap/home1.pcap" "$TFOP")
t_check "tfo - the LAN capture has 1 SYN to port $TFOP with the GET ($n_lan)" [ "$n_lan" = 1 ]
tgt=$(printf '%04x00000000000000000000ffff%02x%02x%02x%02x' "$TFOP" ${S//./ })
syns=$(mpx_cpt_syn_hex "$D/pcap/dsl.pcap" "$hp" | grep "$tgt" | cut -d' ' -f2)
n_get=$(grep -c "${tgt}474554202f" <<< "$syns")
n_alone=$(grep -c "${tgt}\$" <<< "$syns")
t_check "tfo - the dsl capture: the CPE's SYNs to the HAG for port $TFOP: 1 with the GET right \
after the Convert message ($n_get), 1 with the message alone ($n_alone)" [ "$n_get:$n_alone" = 1:1 ]
echo "# apps.csv:"
column -t -s, "$D/apps/apps.csv" 2> /dev/null || cat "$D/apps/apps.csv"
t_done
