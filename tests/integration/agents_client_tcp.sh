#!/usr/bin/env bash
# mpx-client --signal tcp against mpx-server over the client--hag--server namespace triple
# (tests/topo/triple.topo through tests/lib/netns.sh): MPTCP on and off, IPv4 and IPv6, 50 connections each with
# verified payloads, every workload, TFO with a cookie, the server seeing plain TCP, sane
# timestamps, and failures that must be reported as failures (refused port, corrupt server).
# timeout: 180
set -uo pipefail
source "$(dirname "$0")/../lib.sh"
source "$MPX_ROOT/tests/lib/netns.sh"
t_require_root
t_require_cmd ip jq
t_require_bin mpx-server mpx-client mpx-proxy-probe
source "$MPX_ROOT/emu/lib/testutil.sh"
XFER=$(mpx_tu_xfer_bin) || { echo "FAIL: all: cannot build mptcp_xfer"; exit 1; }

B=$MPX_ROOT/bin
trap mpx_nt_down EXIT INT TERM
mpx_nt_up agtcp || { echo "FAIL: setup: mpx_nt_up failed"; exit 1; }
D=$MPX_NT_DIR
S4=$MPX_NT_S4 S6=$MPX_NT_S6

dump_fail() { echo "--- state"; mpx_nt_dump; echo "--- server log"; tail -n 20 "$D/srv.log"; }

mpx_nt_bg server "$D/srv.log" "$B/mpx-server" --listen "$S4:8080" --listen "[$S6]:8080" --tfo \
  --json "$D/srv.json" --ready "$D/srv.ready"
mpx_nt_wait_file "$D/srv.ready" 10 || { echo "FAIL: setup: mpx-server not ready"; cat "$D/srv.log"; exit 1; }
# a native MPTCP server too, to see MPTCP_INFO on a real MPTCP connection
mpx_nt_bg server "$D/srv-mp.log" "$B/mpx-server" --mptcp --tfo --listen "$S4:8081" \
  --json "$D/srv-mp.json" --ready "$D/srv-mp.ready"
mpx_nt_wait_file "$D/srv-mp.ready" 10 || { echo "FAIL: setup: mptcp mpx-server not ready"; exit 1; }

# client RUN_NAME ARGS...: runs mpx-client in the client namespace, JSON into $D/RUN_NAME.json
client() {
  local name=$1; shift
  mpx_nt_exec client timeout 60 "$B/mpx-client" --json "$D/$name.json" "$@" 2>"$D/$name.err"
  echo $? > "$D/$name.rc"
}
summary() { jq -c 'select(.type=="summary")' "$D/$1.json"; }
conns() { jq -c 'select(.type=="conn")' "$D/$1.json"; }

# 1. 50 connections each: MPTCP on/off x IPv4/IPv6, rr 100/1000, concurrency 10
for fam in 4 6; do
  for mp in on off; do
    if [ $fam = 4 ]; then tgt="$S4:8080"; else tgt="[$S6]:8080"; fi
    name=rr-v$fam-$mp
    t_before=$(date +%s%6N)
    client "$name" --signal tcp --target "$tgt" --mptcp $mp --count 50 --concurrency 10 \
      --workload "rr 100/1000" --tag "$name"
    t_after=$(date +%s%6N)
    want_mp=$([ $mp = on ] && echo fallback || echo tcp)   # plain TCP server: MPTCP falls back
    s=$(summary "$name")
    rc=$(cat "$D/$name.rc")
    if [ "$rc" = 0 ] && [ "$(jq .ok <<<"$s")" = 50 ] && [ "$(jq .failed <<<"$s")" = 0 ]; then
      t_pass "tcp $name - 50/50 ok (ttfb p50 $(jq .ttfb_us_p50 <<<"$s") us, p95 $(jq .ttfb_us_p95 <<<"$s") us)"
    else
      t_fail "tcp $name" "rc=$rc summary=$s $(head -c 300 "$D/$name.err")"; dump_fail
    fi
    n_ver=$(conns "$name" | jq -s '[.[] | select(.verified and .bytes_out==100 and .bytes_in==1000)] | length')
    t_check "tcp $name - 50 payloads verified (100 B out, 1000 B in)" [ "$n_ver" = 50 ]
    n_mp=$(conns "$name" | jq -s --arg m "$want_mp" '[.[] | select(.mptcp==$m)] | length')
    t_check "tcp $name - mptcp state '$want_mp' on all 50 ($n_mp)" [ "$n_mp" = 50 ]
    # timestamps: monotonic order, ttfb == t_first_resp, t0_real inside the run's wall clock
    n_sane=$(conns "$name" | jq -s --argjson a "$t_before" --argjson b "$t_after" '[.[] |
      select(.t_connected_us >= 0 and .t_connected_us <= .t_req_sent_us and
             .t_req_sent_us <= .t_first_resp_us and .t_first_resp_us <= .t_done_us and
             .ttfb_us == .t_first_resp_us and .t0_real_us >= $a and .t0_real_us <= $b and
             .t_done_us < 60000000)] | length')
    t_check "tcp $name - timestamps ordered and inside the run ($n_sane/50)" [ "$n_sane" = 50 ]
    n_seq=$(conns "$name" | jq -s '[.[].seq] | unique | length')
    t_check "tcp $name - 50 distinct seq" [ "$n_seq" = 50 ]
    fam_ok=$(conns "$name" | jq -s --arg f "$fam" '[.[] | select((.local | startswith("[")) == ($f == "6"))] | length')
    t_check "tcp $name - local address family IPv$fam" [ "$fam_ok" = 50 ]
  done
done

# 2. the server side saw plain TCP, verified every request, and saw 200 connections
n_srv=$(jq -s '[.[] | select(.type=="conn")] | length' "$D/srv.json")
n_srv_ok=$(jq -s '[.[] | select(.type=="conn" and .verified and .mptcp=="tcp" and .bytes_in==100 and .bytes_out==1000)] | length' "$D/srv.json")
t_check "server - 200 connections seen ($n_srv)" [ "$n_srv" = 200 ]
t_check "server - all plain TCP and verified ($n_srv_ok/200)" [ "$n_srv_ok" = 200 ]
n_srv_sane=$(jq -s '[.[] | select(.type=="conn" and .t_first_in_us >= 0 and .t_first_in_us <= .t_req_done_us and .t_req_done_us <= .t_first_out_us and .t_first_out_us <= .t_done_us)] | length' "$D/srv.json")
t_check "server - timestamps ordered ($n_srv_sane/200)" [ "$n_srv_sane" = 200 ]

# 3. every workload, both families; byte counts exact
wl_case() { # name target workload bytes_out bytes_in
  client "$1" --signal tcp --target "$2" --workload "$3" --count 4 --concurrency 2
  local n
  n=$(conns "$1" | jq -s --argjson o "$4" --argjson i "$5" '[.[] | select(.ok and .verified and .bytes_out==$o and .bytes_in==$i)] | length')
  if [ "$(cat "$D/$1.rc")" = 0 ] && [ "$n" = 4 ]; then t_pass "workload $1 ($3) - 4/4 verified"
  else t_fail "workload $1 ($3)" "rc=$(cat "$D/$1.rc") ok+verified=$n $(summary "$1")"; fi
}
wl_case bulk-down-v4 "$S4:8080" "bulk-down 2MB" 16 2000000
wl_case bulk-up-v6 "[$S6]:8080" "bulk-up 2MB" 2000000 16
wl_case echo-v4 "$S4:8080" "echo 100000" 100000 100000
wl_case rr-big-v6 "[$S6]:8080" "rr 70000/300000" 70000 300000

# 4. native MPTCP server: MPTCP_INFO reports an MPTCP connection (not fallback)
client mp-native --signal tcp --target "$S4:8081" --mptcp on --count 5 --workload "bulk-down 4MB"
n=$(conns mp-native | jq -s '[.[] | select(.ok and .mptcp=="mptcp" and .subflows >= 1)] | length')
maxsf=$(conns mp-native | jq -s 'map(.subflows) | max')
t_check "mptcp to an MPTCP server - 5/5 'mptcp' (max subflows $maxsf)" [ "$n" = 5 ]
n=$(jq -s '[.[] | select(.type=="conn" and .mptcp=="mptcp")] | length' "$D/srv-mp.json")
t_check "mptcp server side saw MPTCP ($n/5)" [ "$n" = 5 ]
# --notsent-lowat: MPTCP uploads in 8 KB send()s under TCP_NOTSENT_LOWAT, every byte verified
client mp-lowat --signal tcp --target "$S4:8081" --mptcp on --count 2 --workload "bulk-up 2MB" --notsent-lowat 8192
n=$(conns mp-lowat | jq -s '[.[] | select(.ok and .verified and .mptcp=="mptcp" and .bytes_out==2000000)] | length')
t_check "--notsent-lowat 8192 - 2/2 MPTCP uploads verified (rc $(cat "$D/mp-lowat.rc"))" [ "$n" = 2 ]

# 5. TFO with a real cookie (plain TCP): first SYN requests the cookie, later ones carry data
client tfo --signal tcp --tfo --mptcp off --target "$S4:8080" --count 5
first=$(conns tfo | jq -r 'select(.seq==0) | .tfo')
later=$(conns tfo | jq -s '[.[] | select(.seq>0 and .tfo=="syn-data-acked" and .ok)] | length')
t_check "tfo - first connection without SYN data acked ($first)" [ "$first" = syn-data-not-acked ]
t_check "tfo - later connections syn-data-acked ($later/4)" [ "$later" = 4 ]
n=$(jq -s '[.[] | select(.type=="conn" and .tfo=="syn-data")] | length' "$D/srv.json")
t_check "tfo - server saw 4 TFO connections with SYN data ($n)" [ "$n" = 4 ]

# --bind: the first subflow leaves from the lte address (source-routed table 102)
client bind-lte --signal tcp --target "$S4:8080" --bind "$MPX_NT_C_LTE4" --count 3
n=$(conns bind-lte | jq -s --arg l "$MPX_NT_C_LTE4:" '[.[] | select(.ok and (.local | startswith($l)))] | length')
t_check "--bind $MPX_NT_C_LTE4 - 3/3 connections from that address ($n)" [ "$n" = 3 ]

# MPTCP + a real TFO cookie (the convert-cookie path without the Convert bytes): the first
# SYN asks for a cookie, later SYNs carry cookie + request and MPTCP is kept
mpx_nt_exec client ip tcp_metrics flush all   # forget the cookie cached by the plain TFO run
client mp-tfo --signal tcp --tfo --mptcp on --target "$S4:8081" --count 4
first=$(conns mp-tfo | jq -r 'select(.seq==0) | "\(.tfo)/\(.tfo_fail)"')
later=$(conns mp-tfo | jq -s '[.[] | select(.seq>0 and .ok and .tfo=="syn-data-acked" and .mptcp=="mptcp")] | length')
t_check "mptcp+tfo cookie - first connection requests the cookie ($first)" [ "$first" = syn-data-not-acked/cookie-unavailable ]
t_check "mptcp+tfo cookie - later connections send data with the cookie over MPTCP ($later/3)" [ "$later" = 3 ]

# 6. 2000 concurrent connections (one epoll loop), each with a 100 kB verified response; plain
#    TCP: MPTCP sockets that fell back lose data now and then under this load (kernel bug,
#    agents_client_fallback_peek.sh), which is not what this check is about
client c2000 --signal tcp --mptcp off --target "$S4:8080" --count 2000 --concurrency 2000 --workload "rr 100/100000"
s=$(summary c2000)
if [ "$(cat "$D/c2000.rc")" = 0 ] && [ "$(jq .ok <<<"$s")" = 2000 ] && [ "$(jq .max_active <<<"$s")" = 2000 ]; then
  t_pass "2000 concurrent - 2000/2000 verified, max_active 2000, $(jq .elapsed_us <<<"$s") us total"
else t_fail "2000 concurrent" "rc=$(cat "$D/c2000.rc") $s $(conns c2000 | jq -r 'select(.ok|not) | .error' | sort | uniq -c | head -3)"; fi

# 7. failures are failures
client refused --signal tcp --target "$S4:8089" --count 2
rc=$(cat "$D/refused.rc"); s=$(summary refused)
err=$(conns refused | jq -r 'select(.seq==0) | .error')
if [ "$rc" = 1 ] && [ "$(jq .failed <<<"$s")" = 2 ] && [[ $err == *refused* ]]; then
  t_pass "closed port - exit 1, 2 failed, error '$err'"
else t_fail "closed port" "rc=$rc summary=$s err=$err"; fi

# a server that answers with the wrong bytes (mptcp_xfer sends its own pattern, as many bytes as
# the default workload rr 100/1000 asks for): the client must say verified=false, exit 1
mpx_nt_bg server "$D/bad.log" timeout 60 "$XFER" --tcp --listen "$S4:8090" --send 1000 --ready "$D/bad.ready"
mpx_nt_wait_file "$D/bad.ready" 10
client corrupt --signal tcp --target "$S4:8090" --count 1
rc=$(cat "$D/corrupt.rc"); line=$(conns corrupt)
if [ "$rc" = 1 ] && [ "$(jq .verified <<<"$line")" = false ] && [ "$(jq .ok <<<"$line")" = false ] &&
   [[ $(jq -r .error <<<"$line") == *mismatch* ]]; then
  t_pass "corrupt response detected - $(jq -r .error <<<"$line")"
else t_fail "corrupt response" "rc=$rc $line"; fi

# 8. the server's own verdicts: bad magic, corrupted request, extra bytes, idle timeout,
# and the summary line at SIGTERM (a separate instance with --timeout 1)
mpx_nt_bg server "$D/v.log" "$B/mpx-server" --listen "$S4:8095" --timeout 1 --json "$D/v.json" --ready "$D/v.ready"
VPID=$MPX_NT_LASTPID
mpx_nt_wait_file "$D/v.ready" 10
# raw bytes (mpx-proxy-probe, plain TCP, after the handshake); the header: "MPX1", request 100,
# response 10, flags 0
hdr=4d505831000000640000000a00000000 z84=$(head -c 84 /dev/zero | od -An -v -tx1 | tr -d " \n")
vprobe() { mpx_nt_exec client timeout 20 "$B/mpx-proxy-probe" --to "$S4:8095" --mptcp off --no-syn-data \
  --timeout 3000 --hex "$1" > /dev/null; }
vprobe "58505831${hdr:8}$z84"     # bad magic
vprobe "$hdr$z84"                 # zeros instead of the pattern
vprobe "${hdr:0:20}"              # stalls mid-header (10 bytes) -> idle timeout
mpx_nt_kill "$VPID"
errs=$(jq -r 'select(.type=="conn") | .error' "$D/v.json" | tr '\n' '|')
want='bad MPX1 header (magic)|request pattern mismatch at offset 16|idle timeout|'
t_check "server verdicts - $errs" [ "$errs" = "$want" ]
vs=$(jq -c 'select(.type=="summary")' "$D/v.json")
t_check "server summary at SIGTERM - $vs" [ "$(jq .connections <<<"$vs")" = 3 ] && [ "$(jq .failed <<<"$vs")" = 3 ]

# 9. usage errors exit 2
mpx_nt_exec client "$B/mpx-client" --signal nope --target "$S4:8080" >/dev/null 2>&1; rc1=$?
mpx_nt_exec client "$B/mpx-client" --signal convert --target "$S4:8080" >/dev/null 2>&1; rc2=$?
mpx_nt_exec client "$B/mpx-client" --signal tcp --target "$S4:8080" --workload "rr x" >/dev/null 2>&1; rc3=$?
t_check "usage errors exit 2 ($rc1 $rc2 $rc3)" [ "$rc1$rc2$rc3" = 222 ]
t_done
