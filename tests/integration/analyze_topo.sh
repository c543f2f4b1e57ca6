#!/usr/bin/env bash
# mpx-analyze on the link pcaps mpx-linkem writes in the default hybrid topology (real
# delays: dsl 10 ms, wan 5 ms one way): the analyzer's timelines against the analytic model
# of DESIGN.md (R_cp = 20 ms, R_ps = 10 ms): convert with the request in the SYN needs 0
# round trips before data, socks5 3, direct TCP 1; the convert TTFB is near 40 ms, socks5
# near 100 ms, tcp near 60 ms; the upstream/downstream split gives ~R_cp on the client leg and
# ~R_ps + server time on the server leg.
# timeout: 180
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
t_require_root
t_require_cmd jq ip
t_require_bin mpx-analyze mpx-server mpx-proxy mpx-client mpx-linkem
source "$MPX_ROOT/emu/lib/topo.sh"
A=$MPX_ROOT/bin/mpx-analyze
jqe() { jq -e "$@" > /dev/null; }
RUN=an$$
W=$(mktemp -d)
SRV='' PRX=''
an_topo_cleanup() {
  [ -n "$SRV" ] && kill -TERM "$SRV" 2>/dev/null
  [ -n "$PRX" ] && kill -TERM "$PRX" 2>/dev/null
  mpx_topo_down "$RUN" > /dev/null 2>&1 || true
  [ -n "${MPX_ANALYZE_KEEP:-}" ] && cp "$W"/*.pcap "$MPX_ANALYZE_KEEP"/ 2>/dev/null; rm -rf "$W"
}
trap an_topo_cleanup EXIT INT TERM
mpx_topo_up "$MPX_ROOT/topologies/hybrid.topo" "$RUN" 7 --pcap-dir "$W" --param lte.loss=0% > "$W/up.log" 2>&1 ||
  { echo "FAIL: setup: topology hybrid.topo did not come up: $(tail -3 "$W/up.log")"; exit 1; }
S4=$(mpx_topo_addr "$RUN" server wan 4)
H4=$(mpx_topo_addr "$RUN" hag dsl 4)
ip netns exec "$(mpx_topo_ns "$RUN" server)" timeout 120 "$MPX_ROOT/bin/mpx-server" --listen "$S4:8080" \
  --ready "$W/srv.ready" > "$W/srv.log" 2>&1 &
SRV=$!
# the analytic model is 0-RTT Convert: the converter acts on the SYN data at once (its default
# waits for the third ACK unless the SYN carries a kernel-checked TFO cookie, one R_cp more)
ip netns exec "$(mpx_topo_ns "$RUN" hag)" timeout 120 "$MPX_ROOT/bin/mpx-proxy" --convert 5124 --socks5 1080 \
  --allow "$(mpx_topo_addr "$RUN" client dsl 4)/24" --allow "$(mpx_topo_addr "$RUN" client lte 4)/24" \
  --syn-data-policy immediate \
  --ready "$W/px.ready" > "$W/px.log" 2>&1 &
PRX=$!
for _ in $(seq 1 200); do [ -s "$W/srv.ready" ] && [ -s "$W/px.ready" ] && break; sleep 0.05; done
cl() { ip netns exec "$(mpx_topo_ns "$RUN" client)" timeout 60 "$MPX_ROOT/bin/mpx-client" --json "$W/cl-$1.json" "${@:2}" > /dev/null 2>&1 || true; }
# the first ~3 s after bring-up run 10-60 ms slow for every signal (see experiments/README.md,
# `warmup`): measure after them, as the harness does
sleep 3
cl convert --signal convert --proxy "$H4:5124" --target "$S4:8080" --count 5 --workload "rr 100/1000"
cl socks5 --signal socks5 --proxy "$H4:1080" --target "$S4:8080" --count 5 --workload "rr 100/1000"
cl tcp --signal tcp --mptcp off --target "$S4:8080" --count 5 --workload "rr 100/1000"
kill -TERM "$SRV" "$PRX" 2>/dev/null || true
wait "$SRV" "$PRX" 2>/dev/null || true
SRV='' PRX=''
mpx_topo_down "$RUN" > /dev/null 2>&1 || true    # emulators flush their pcaps on TERM
for l in dsl lte wan; do [ -s "$W/$l.pcap" ] || { t_fail "pcap-$l" "no pcap from mpx-linkem"; t_done; }; done

rc=0
"$A" --json "$W/dsl.pcap" "$W/lte.pcap" "$W/wan.pcap" > "$W/an.json" || rc=$?
"$A" --report "$W/dsl.pcap" "$W/lte.pcap" "$W/wan.pcap" > "$W/an.md" || true
t_check "clean (rc=$rc, $(jq -c -s '.[-1].by_rule' "$W/an.json"))" test "$rc" = 0
C=$W/an.json
med() { # jq selector of the connections, field -> median
  jq -s "[.[] | select(.type==\"conn\" and ($1)) | $2] | sort | .[length/2|floor]" "$C"
}
cv='.signal=="convert" and (.pcap|endswith("dsl.pcap"))'
sk='.signal=="socks5" and (.pcap|endswith("dsl.pcap"))'
tc='(.server|endswith(":8080")) and (.pcap|endswith("dsl.pcap"))'
t_check convert-count jqe -s "[.[] | select(.type==\"conn\" and $cv)] | length==5 and all(.signal_valid and .req_in_syn and .rtts_before_data==0)" "$C"
t_check socks5-count jqe -s "[.[] | select(.type==\"conn\" and $sk)] | length==5 and all(.rtts_before_data==3)" "$C"
t_check tcp-count jqe -s "[.[] | select(.type==\"conn\" and $tc)] | length==5 and all(.rtts_before_data==1)" "$C"
# linkem stamps frames on arrival at the next hop: on the dsl pcap the client's SYN is seen at
# the hag (10 ms after it left the client) and the response when it reaches the client, so
# the client-side TTFB is ttfb_us + one dsl delay (10 ms).
# upper bounds widen by the emulators' own lateness: a round trip client - hag - server gains at
# most L (dsl + wan, both directions' p99); convert takes 2 such round trips, tcp 3, socks5 5
L=$(awk -v a="$(t_late_rt_ms "$W/dsl.stats.json")" -v b="$(t_late_rt_ms "$W/wan.stats.json")" 'BEGIN{print a + b}')
lk() { awk -v l="$L" -v k="$1" 'BEGIN{print l * k}'; }
t_near_late convert-ttfb-ms "$(awk -v v="$(med "$cv" .ttfb_us)" 'BEGIN{print v/1000+10}')" 40 10 "$(lk 2)"
t_near_late socks5-ttfb-ms "$(awk -v v="$(med "$sk" .ttfb_us)" 'BEGIN{print v/1000+10}')" 100 12 "$(lk 5)"
t_near_late tcp-ttfb-ms "$(awk -v v="$(med "$tc" .ttfb_us)" 'BEGIN{print v/1000+10}')" 60 10 "$(lk 3)"
t_near_late convert-split-client-proxy-ms "$(awk -v v="$(med "$cv" .downstream.split_us.client_proxy)" 'BEGIN{print v/1000}')" 20 5 "$(lk 1)"
t_near_late convert-split-proxy-server-ms "$(awk -v v="$(med "$cv" .downstream.split_us.proxy_server)" 'BEGIN{print v/1000}')" 20 5 "$(lk 1)"
t_near_late convert-split-total-ms "$(awk -v v="$(med "$cv" .downstream.split_us.total)" 'BEGIN{print v/1000}')" 40 10 "$(lk 2)"
# the analyzer's TTFB agrees with the client's own measurement (client clock, from connect).
# The client's clock starts when the SYN leaves, the pcap's when the dsl emulator releases it:
# one dsl delay later plus that release's lateness, which only the client's TTFB contains
cl_ttfb=$(jq -s '[.[] | select(.type=="conn") | .ttfb_us] | sort | .[length/2|floor]' "$W/cl-convert.json")
t_near_late convert-ttfb-vs-client-ms "$(awk -v v="$cl_ttfb" 'BEGIN{print v/1000}')" "$(awk -v v="$(med "$cv" .ttfb_us)" 'BEGIN{print v/1000+10}')" 5 "$(t_late_rt_ms "$W/dsl.stats.json")"
if [ "$T_FAILED" != 0 ]; then cat "$W/an.md"; fi
t_done
