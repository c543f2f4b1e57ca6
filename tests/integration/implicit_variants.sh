#!/usr/bin/env bash
# Implicit (on-path) interception on the HAG, per variant, with real traffic in
# namespaces (tests/lib/netns.sh: client ==dsl/lte== hag -- server):
#   implicit         every MPTCP SYN is tproxied into mpx-proxy's transparent listener
#   implicit-ra      only SYNs carrying the IPv4 Router Alert (added by the client's mpx-optd)
#   implicit-prefer  only SYNs carrying MP_PREFER_PROXY (added by the client's mpx-optd, seen
#                    and marked by the HAG's mpx-optd) and their MP_JOINs
# Per variant: 50 MPTCP connections to the plain server (198.18.3.1:8080, registered with the
# client's optd where the variant needs it) with verified payloads; the server must see the
# HAG's address as the peer exactly for the SYNs that should be intercepted; 20 native MPTCP
# connections to an MPTCP server (:8081, not registered) must reach it end to end (MPTCP,
# client address) unless the variant is plain `implicit` (which hijacks them: the problem the
# alerts solve); the second subflow (MP_JOIN over lte) of an intercepted connection ends on the
# HAG, that of a native one on the server; the SYNs on the client->HAG links carry the signal
# exactly where expected, with correct IP/TCP checksums (tshark) and no analyzer violations.
# The client side here is bin/mpx-client --signal tcp --mptcp on (a direct connection) plus
# the registration agents/intercept/intercept.sh makes; client TX checksum offload is off so
# every captured checksum is final.
# timeout: 300
set -uo pipefail
source "$(dirname "$0")/../lib.sh"
source "$MPX_ROOT/tests/lib/netns.sh"
source "$MPX_ROOT/agents/intercept/intercept.sh"
t_require_root
t_require_cmd ip jq tcpdump nft iptables ethtool
t_require_bin mpx-server mpx-client mpx-proxy mpx-optd mpx-analyze
have_tshark=1; command -v tshark >/dev/null || have_tshark=0

B=$MPX_ROOT/bin
# REG=sport: the client's own signals (mpx-client --signal implicit-ra --optd-ctl ...: each
# connection registers its source port; the Router Alert reaches the joins through the token
# of the SYN/ACK); REG=dst: mpx-client --signal tcp plus per-destination registrations made
# by agents/intercept (for clients that know nothing of the variants)
REG=${IMPLICIT_REG:-}
if [ -z "$REG" ]; then
  if "$B/mpx-client" --help 2>&1 | grep -q -- --optd-ctl; then REG=sport; else REG=dst; fi
fi
echo "# registration mode: $REG"
VARIANTS=${IMPLICIT_VARIANTS:-implicit implicit-ra implicit-prefer}
N=${IMPLICIT_N:-50}
cleanup() {
  [ -n "$MPX_NT_HAG" ] && mpx_ic_hag_down "$MPX_NT_HAG" "$MPX_NT_DIR/ic"
  [ -n "$MPX_NT_CLIENT" ] && mpx_ic_client_down "$MPX_NT_CLIENT" "$MPX_NT_DIR/ic"
  mpx_nt_down
}
trap cleanup EXIT INT TERM
mpx_nt_up impl || { echo "FAIL: setup: mpx_nt_up failed"; exit 1; }
D=$MPX_NT_DIR
S4=$MPX_NT_S4 S6=$MPX_NT_S6 HW4=$MPX_NT_H_WAN4 HW6=$MPX_NT_H_WAN6
mpx_nt_exec client ethtool -K dsl tx off >/dev/null 2>&1
mpx_nt_exec client ethtool -K lte tx off >/dev/null 2>&1

dump_fail() {
  echo "--- state"; mpx_nt_dump
  mpx_nt_exec hag nft list table inet mpx_ic 2>&1 | head -20
  for f in "$D"/*.log "$D"/ic/*.log; do [ -f "$f" ] && { echo "--- $f"; tail -n 15 "$f"; }; done
}

nstat_get() { # node counter -> absolute value
  mpx_nt_exec "$1" nstat -az "$2" 2>/dev/null | awk -v k="$2" '$1==k {print $2; f=1} END {if(!f) print 0}'
}

mpx_nt_bg hag "$D/proxy.log" "$B/mpx-proxy" --transparent 5127 --ready "$D/proxy.ready" --stats "$D/proxy.stats" \
  --allow "$MPX_NT_C_DSL4/24" --allow "$MPX_NT_C_LTE4/24" --allow "$MPX_NT_C_DSL6/64" --allow "$MPX_NT_C_LTE6/64"
mpx_nt_wait_file "$D/proxy.ready" 10 || { echo "FAIL: setup: mpx-proxy not ready"; dump_fail; exit 1; }

# the HAG interception mode of each variant: its registry row's `intercept`
SIGREG=$("$B/mpx-wire" signals --json) || { echo "FAIL: setup: mpx-wire signals --json"; exit 1; }
for V in $VARIANTS; do
  IC=$(jq -r --arg s "$V" '.signals[] | select(.name == $s) | .intercept' <<<"$SIGREG")
  VD=$D/$V; mkdir -p "$VD"
  # fresh servers per variant so their JSON covers this variant only
  mpx_nt_bg server "$VD/srv.log" "$B/mpx-server" --listen "$S4:8080" --listen "[$S6]:8080" \
    --json "$VD/srv.json" --ready "$VD/srv.ready"
  SRV=$MPX_NT_LASTPID
  mpx_nt_bg server "$VD/srvm.log" "$B/mpx-server" --mptcp --listen "$S4:8081" --listen "[$S6]:8081" \
    --json "$VD/srvm.json" --ready "$VD/srvm.ready"
  SRVM=$MPX_NT_LASTPID
  mpx_nt_wait_file "$VD/srv.ready" 10 && mpx_nt_wait_file "$VD/srvm.ready" 10 ||
    { t_fail "$V: setup" "servers not ready"; dump_fail; continue; }
  if ! mpx_ic_hag_up "$MPX_NT_HAG" "$IC" "$D/ic" >"$VD/hagup.log" 2>&1; then
    t_fail "$V: hag setup" "$(tail -3 "$VD/hagup.log")"; dump_fail; mpx_ic_hag_down "$MPX_NT_HAG" "$D/ic"; continue
  fi
  t_pass "$V: hag interception rules installed"
  if [ "$V" != implicit ]; then
    if ! mpx_ic_client_up "$MPX_NT_CLIENT" "$D/ic" >"$VD/clup.log" 2>&1; then
      t_fail "$V: client optd" "$(tail -3 "$VD/clup.log")"; dump_fail
    fi
    if [ "$REG" = dst ]; then
      r1=$(mpx_ic_client_register "$D/ic" "$IC" "$S4" 8080 2>&1)
      r2=ok; [ "$V" = implicit-prefer ] && r2=$(mpx_ic_client_register "$D/ic" "$IC" "$S6" 8080 2>&1)
      t_check "$V: client registration for $S4:8080 ($r1 $r2)" test "$r1 $r2" = "ok ok"
    fi
  fi
  # captures on the HAG's client-facing links (what arrives from the client)
  for IF in dsl lte; do
    mpx_nt_bg hag "$VD/td-$IF.log" timeout 120 tcpdump -U --immediate-mode -Z root -i "$IF" -nn \
      -s 400 -w "$VD/$IF.pcap" tcp
    eval "TD_$IF=\$MPX_NT_LASTPID"
  done
  for _ in $(seq 1 100); do
    grep -q listening "$VD/td-dsl.log" 2>/dev/null && grep -q listening "$VD/td-lte.log" 2>/dev/null && break
    sleep 0.05
  done
  hj0=$(nstat_get hag MPTcpExtMPJoinSynRx) sj0=$(nstat_get server MPTcpExtMPJoinSynRx)

  client() { # name args...   (the flows the variant signals: the variant's own signal)
    local name=$1 sig=(--signal tcp); shift
    if [ "$REG" = sport ]; then
      sig=(--signal "$V")
      [ "$V" = implicit ] || sig+=(--optd-ctl "$(mpx_ic_client_ctl "$D/ic")")
    fi
    mpx_nt_exec client timeout 90 "$B/mpx-client" "${sig[@]}" --mptcp on --json "$VD/$name.json" \
      --timeout 10 --tag "$V" "$@" 2>"$VD/$name.err"
    echo $? >"$VD/$name.rc"
  }
  native() { # name args...   (native end-to-end MPTCP: no signal)
    local name=$1; shift
    mpx_nt_exec client timeout 90 "$B/mpx-client" --signal tcp --mptcp on --json "$VD/$name.json" \
      --timeout 10 --tag "$V-native" "$@" 2>"$VD/$name.err"
    echo $? >"$VD/$name.rc"
  }
  # 1. the flows the variant should intercept
  client icpt4 --target "$S4:8080" --count "$N" --concurrency 5 --workload "rr 1000/20000"
  ok=$(jq -s '[.[]|select(.type=="conn" and .ok and .verified and .mptcp=="mptcp")]|length' "$VD/icpt4.json" 2>/dev/null)
  t_check "$V: $N MPTCP connections to $S4:8080 ok+verified ($ok)" test "${ok:-0}" = "$N"
  # 2. a long intercepted connection gets its second subflow (lte) -> must end on the HAG
  client icptbulk --target "$S4:8080" --count 1 --workload "bulk-down 30MB"
  sub=$(jq -s '[.[]|select(.type=="conn" and .ok and .verified)][0].subflows // 0' "$VD/icptbulk.json" 2>/dev/null)
  hj1=$(nstat_get hag MPTcpExtMPJoinSynRx) sj1=$(nstat_get server MPTcpExtMPJoinSynRx)
  t_check "$V: intercepted bulk connection has 2 subflows ($sub)" test "${sub:-0}" -ge 2
  t_check "$V: its MP_JOIN terminated on the HAG (hag MPJoinSynRx +$((hj1 - hj0)), server +$((sj1 - sj0)))" \
    test $((hj1 - hj0)) -ge 1 -a $((sj1 - sj0)) -eq 0
  # 2b. TFO through the interception (implicit only): the SYN data reaches the proxy's
  # transparent listener. It accepts SYN data without a cookie (TCP_FASTOPEN_NO_COOKIE), and
  # such a listener never hands out cookies, so the client sends its data cookie-less
  # (--tfo-no-cookie); with --tfo the client would wait for a cookie forever.
  if [ "$V" = implicit ]; then
    client tfo --target "$S4:8080" --count 5 --tfo-no-cookie --workload "rr 300/3000"
    okt=$(jq -s '[.[]|select(.type=="conn" and .ok and .verified)]|length' "$VD/tfo.json")
    acked=$(jq -s '[.[]|select(.type=="conn" and .tfo=="syn-data-acked")]|length' "$VD/tfo.json")
    t_check "$V: TFO through the interception: 5 conns ok ($okt), SYN data acked on $acked (>= 4)" \
      test "$okt" = 5 -a "$acked" -ge 4
  fi
  # 3. IPv6 target: intercepted by implicit and implicit-prefer (registered), not by -ra (IPv4 RA)
  client icpt6 --target "[$S6]:8080" --count 10 --workload "rr 200/2000"
  ok6=$(jq -s '[.[]|select(.type=="conn" and .ok and .verified)]|length' "$VD/icpt6.json" 2>/dev/null)
  t_check "$V: 10 IPv6 connections ok+verified ($ok6)" test "${ok6:-0}" = 10
  # 4. native end-to-end MPTCP to the MPTCP server (never registered)
  native native --target "$S4:8081" --count 20 --concurrency 4 --workload "rr 500/5000"
  okn=$(jq -s '[.[]|select(.type=="conn" and .ok and .verified)]|length' "$VD/native.json" 2>/dev/null)
  t_check "$V: 20 native MPTCP connections to $S4:8081 ok+verified ($okn)" test "${okn:-0}" = 20
  hj2=$(nstat_get hag MPTcpExtMPJoinSynRx) sj2=$(nstat_get server MPTcpExtMPJoinSynRx)
  native nativebulk --target "$S4:8081" --count 1 --workload "bulk-down 30MB"
  hj3=$(nstat_get hag MPTcpExtMPJoinSynRx) sj3=$(nstat_get server MPTcpExtMPJoinSynRx)
  nsub=$(jq -s '[.[]|select(.type=="conn" and .ok and .verified)][0].subflows // 0' "$VD/nativebulk.json" 2>/dev/null)

  for IF in dsl lte; do eval "mpx_nt_kill \$TD_$IF"; done
  mpx_nt_kill "$SRV"; mpx_nt_kill "$SRVM"

  # server-side view: peer address = HAG (intercepted) or client (end to end)
  peers() { # json port family -> "hag client other" counts
    jq -rs --arg p ":$2" --arg h4 "$HW4" --arg h6 "[$HW6]" --arg cd4 "$MPX_NT_C_DSL4:" --arg cl4 "$MPX_NT_C_LTE4:" \
      --arg cd6 "[$MPX_NT_C_DSL6]:" --arg cl6 "[$MPX_NT_C_LTE6]:" '
      [.[]|select(.type=="conn" and (.local|endswith($p)))] as $c
      | [($c|map(select(.peer|startswith($h4+":") or startswith($h6+":")))|length),
         ($c|map(select(.peer|startswith($cd4) or startswith($cl4) or startswith($cd6) or startswith($cl6)))|length),
         ($c|length)] | @tsv' "$1"
  }
  read -r h8 c8 t8 < <(peers "$VD/srv.json" 8080)
  read -r h81 c81 _ < <(peers "$VD/srvm.json" 8081)
  want6_hag=10; [ "$V" = implicit-ra ] && want6_hag=0
  ntfo=0; [ "$V" = implicit ] && ntfo=5
  h6=$(jq -s --arg h "[$HW6]:" '[.[]|select(.type=="conn" and (.peer|startswith($h)))]|length' "$VD/srv.json")
  t_check "$V: server:8080 saw the HAG as peer for all intercepted v4 conns (hag=$h8 client=$c8 total=$t8, v6 via hag $h6/$want6_hag)" \
    test "$h8" -eq $((N + 1 + ntfo + want6_hag)) -a "$h6" -eq "$want6_hag" -a "$c8" -eq $((10 - want6_hag))
  if [ "$V" = implicit ]; then
    mpn=$(jq -s '[.[]|select(.type=="conn" and .mptcp=="mptcp")]|length' "$VD/srvm.json")
    t_check "$V: native MPTCP to :8081 is hijacked (server peer = HAG $h81/21, end-to-end MPTCP $mpn)" \
      test "$h81" -eq 21 -a "$mpn" -eq 0
    t_check "$V: the native connection's MP_JOIN also ends on the HAG (hag +$((hj3 - hj2)), server +$((sj3 - sj2)))" \
      test $((hj3 - hj2)) -ge 1 -a $((sj3 - sj2)) -eq 0
  else
    mpn=$(jq -s '[.[]|select(.type=="conn" and .mptcp=="mptcp")]|length' "$VD/srvm.json")
    t_check "$V: native MPTCP survives: server:8081 saw the client end to end ($c81/21 client peers, $mpn MPTCP, $h81 via hag)" \
      test "$c81" -eq 21 -a "$mpn" -eq 21 -a "$h81" -eq 0
    t_check "$V: the native connection's second subflow reaches the server (subflows $nsub; server MPJoinSynRx +$((sj3 - sj2)), hag +$((hj3 - hj2)))" \
      test "${nsub:-0}" -ge 2 -a $((sj3 - sj2)) -ge 1 -a $((hj3 - hj2)) -eq 0
  fi

  # wire: the signal is where it should be, and checksums are right
  if [ $have_tshark = 1 ]; then
    TS=(tshark -n -o ip.check_checksum:TRUE -o tcp.check_checksum:TRUE)
    syns=$("${TS[@]}" -r "$VD/dsl.pcap" -Y 'tcp.flags.syn==1 && tcp.flags.ack==0' -T fields \
      -e tcp.dstport -e ip.opt.type -e tcp.options.mptcp.subtype -e ip.checksum.status \
      -e tcp.checksum.status -e ipv6.dst 2>/dev/null)
    printf '%s\n' "$syns" >"$VD/dsl-syns.tsv"
    # a checksum status of 0 is "Bad" in tshark (1 good, 2 unverified)
    bad=$(awk -F'\t' '$4=="0" || $5=="0"' "$VD/dsl-syns.tsv" | wc -l)
    good=$(awk -F'\t' '$5=="1"' "$VD/dsl-syns.tsv" | wc -l)
    tot=$(grep -c . "$VD/dsl-syns.tsv")
    t_check "$V: tshark: all $tot client SYNs on dsl have correct checksums ($good good, $bad bad)" \
      test "$bad" -eq 0 -a "$good" -eq "$tot" -a "$tot" -ge $((N + 31))
    ra8080=$(awk -F'\t' '$1==8080 && $2 ~ /148/' "$VD/dsl-syns.tsv" | wc -l)
    ra8081=$(awk -F'\t' '$1==8081 && $2 ~ /148/' "$VD/dsl-syns.tsv" | wc -l)
    pp8080=$(awk -F'\t' '$1==8080 && $3 ~ /(^|,)14(,|$)/' "$VD/dsl-syns.tsv" | wc -l)
    pp8081=$(awk -F'\t' '$1==8081 && $3 ~ /(^|,)14(,|$)/' "$VD/dsl-syns.tsv" | wc -l)
    case $V in
      implicit) t_check "$V: no signal on any SYN (RA $ra8080/$ra8081, prefer $pp8080/$pp8081)" \
                  test $((ra8080 + ra8081 + pp8080 + pp8081)) -eq 0 ;;
      implicit-ra) t_check "$V: Router Alert on every v4 SYN to :8080 ($ra8080 of $((N + 1))), none to :8081 ($ra8081)" \
                  test "$ra8080" -eq $((N + 1)) -a "$ra8081" -eq 0 -a $((pp8080 + pp8081)) -eq 0 ;;
      implicit-prefer) t_check "$V: MP_PREFER_PROXY on every SYN to :8080 ($pp8080 of $((N + 11))), none to :8081 ($pp8081)" \
                  test "$pp8080" -eq $((N + 11)) -a "$pp8081" -eq 0 -a $((ra8080 + ra8081)) -eq 0 ;;
    esac
    if [ "$V" = implicit-ra ]; then
      jra=$("${TS[@]}" -r "$VD/lte.pcap" -Y 'tcp.flags.syn==1 && tcp.flags.ack==0 && ip.opt.type==148 && tcp.options.mptcp.subtype==1' 2>/dev/null | grep -c .)
      jbad=$("${TS[@]}" -r "$VD/lte.pcap" -Y "ip.src==$MPX_NT_C_LTE4 && (tcp.checksum.status==0 || ip.checksum.status==0)" 2>/dev/null | grep -c .)
      t_check "$V: the MP_JOIN SYN over lte carries the Router Alert too ($jra) with good checksums (bad $jbad)" \
        test "$jra" -ge 1 -a "$jbad" -eq 0
    fi
  else
    t_skip "$V: tshark checksum checks" "tshark not installed"
  fi
  "$B/mpx-analyze" --json --out "$VD/an.json" "$VD/dsl.pcap" "$VD/lte.pcap" 2>"$VD/an.err"
  arc=$?
  viol=$(jq -s '[.[]|select(.type=="summary")][0].violations // -1' "$VD/an.json" 2>/dev/null)
  if [ "$arc" -ne 0 ] || [ "$viol" != 0 ]; then
    jq -c 'select(.type=="summary")' "$VD/an.json" 2>/dev/null
    jq -c 'select(.type=="conn" and (.violations|length)>0)|.violations[0]' "$VD/an.json" 2>/dev/null | head -5
  fi
  t_check "$V: mpx-analyze finds no violations on the client links (exit $arc, $viol)" test "$arc" -eq 0 -a "$viol" = 0
  # the analyzer as a second oracle for where the signal is (first subflows on dsl)
  a_ra=$(jq -s '[.[]|select(.type=="conn" and .router_alert and (.server|endswith(":8080")))]|length' "$VD/an.json")
  a_pp=$(jq -s '[.[]|select(.type=="conn" and .prefer_proxy and (.server|endswith(":8080")))]|length' "$VD/an.json")
  a_n=$(jq -s '[.[]|select(.type=="conn" and (.router_alert or .prefer_proxy) and (.server|endswith(":8081")))]|length' "$VD/an.json")
  case $V in
    implicit) w_ra=0 w_pp=0 ;;
    implicit-ra) w_ra=$((N + 1)) w_pp=0 ;;
    implicit-prefer) w_ra=0 w_pp=$((N + 11)) ;;
  esac
  t_check "$V: analyzer: Router Alert on $a_ra (want >= $w_ra), MP_PREFER_PROXY on $a_pp ($w_pp) connections to :8080, signals on $a_n to :8081 (0)" \
    test "$a_ra" -ge "$w_ra" -a "$a_pp" -eq "$w_pp" -a "$a_n" -eq 0
  [ "$w_ra" = 0 ] && { [ "$a_ra" = 0 ] || t_fail "$V: analyzer: unexpected Router Alert" "$a_ra connections"; }

  if [ "$V" = implicit-prefer ]; then
    st=$(mpx_ic_ctl "$(mpx_ic_hag_ctl "$D/ic")" stats)
    echo "# hag optd: $st"
    pseen=$(jq -r .prefer_seen <<<"$st") jm=$(jq -r .join_marked <<<"$st") tk=$(jq -r .tokens <<<"$st")
    hjt=$((hj1 - hj0))
    t_check "$V: HAG optd saw MP_PREFER_PROXY in $pseen SYNs, learnt $tk tokens from the proxy's SYN/ACKs, marked $jm joins (HAG took $hjt)" \
      test "${pseen:-0}" -eq $((N + 11)) -a "${tk:-0}" -eq $((N + 11)) -a "${jm:-0}" -ge 1 -a "${jm:-0}" -le $((N + 11))
  fi
  if [ "$V" != implicit ]; then
    st=$(mpx_ic_ctl "$(mpx_ic_client_ctl "$D/ic")" stats)
    echo "# client optd: $st"
  fi
  [ "$T_FAILED" = 1 ] && dump_fail
  mpx_ic_hag_down "$MPX_NT_HAG" "$D/ic"
  mpx_ic_client_down "$MPX_NT_CLIENT" "$D/ic"
done
t_done
