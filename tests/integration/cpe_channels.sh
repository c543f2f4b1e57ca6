#!/usr/bin/env bash
# Proxy/proxy on topologies/hybrid-cpe.topo: one mpx-proxy in CPE mode (one --cpe listener per
# registry signal, nft tproxy by destination port, agents/cpe/cpe.sh) in front of unmodified
# LAN clients (mpx-client --signal tcp --mptcp off on lan1), the HAG's mpx-proxy behind DSL +
# LTE. For EACH channel: 50 LAN connections (10 at a time) with verified responses; the server
# sees the HAG's wan address as the peer (the tcp channel: the CPE's, it is routed); the CPE
# counts 50 accepted / relayed, no fallback, 50 MPTCP connections with 2 subflows (tcp: plain
# TCP), and every connection without LAN bytes in its SYN is explained (a row that waits for
# the answer or has no SYN data; otherwise a wait timeout). The HAG counts every connection of
# each front-end as a CPE client (--cpe-peer), MPTCP, first subflow from the CPE's DSL
# address. The implicit channels run one HAG interception mode at a time (all, ra, prefer;
# mpconvert-opt needs optd-read) with the CPE's own mpx-optd marking its SYNs. Last, the HAG
# stopped: convert connections still get their data (plain TCP direct, reason unreachable).
# timeout: 120
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$MPX_ROOT/tests/cpe_lib.sh"
t_require_cmd iptables
t_require_bin mpx-optd

N=50 CONC=10
mpx_cpt_up cpech
D=$MPX_CPT_DIR
ICC=$D/icc
mpx_cch_down() { # the EXIT trap: a failed step of the teardown (a kill of an agent that is
  # already gone) must not end it half-way under set -e and leave the topology behind
  set +e
  mpx_ic_client_down "$MPX_CPT_NS_CPE" "$ICC" > /dev/null 2>&1
  mpx_cpt_down
}
trap mpx_cch_down EXIT
HAG_WAN=$(mpx_topo_addr "$MPX_CPT_RUN" hag wan 4)

mpx_cpt_server || exit 1
mpx_cpt_hag -v || exit 1
# the CPE's mpx-optd (add mode): the SYN option / Router Alert of the marked channels
mpx_ic_client_up "$MPX_CPT_NS_CPE" "$ICC" > "$D/icc.log" 2>&1 ||
  { t_fail setup "CPE mpx-optd: $(tail -n 2 "$D/icc.log")"; exit 1; }
mpx_cpt_cpe "${MPX_REG_NAMES[@]}" -- -v --optd-ctl "$(mpx_ic_client_ctl "$ICC")" || exit 1

# the phases: HAG interception mode -> channels run in it
declare -A PHASE=()
for s in "${MPX_REG_NAMES[@]}"; do
  m=${MPX_SIG_INTERCEPT[$s]}
  [ "$m" = - ] && m=optd-read   # the explicit channels share the option channel's phase
  PHASE[$m]+="$s "
done

mpx_cch_jq() { jq -e "$@" > /dev/null; }   # a jq condition for t_check

mpx_cch_run() { # sig: its 50 LAN connections
  local s=$1 sp
  sp=$(mpx_cpt_srv_port "$s")
  mpx_cpt_client lan1 "lan-$s" --target "$MPX_CPT_SRV:$sp" --count $N --concurrency $CONC \
    --timeout 10 || true
}

mpx_cch_check() { # sig: client results and what the server saw
  local s=$1 sp sum ok peers want=$HAG_WAN
  sp=$(mpx_cpt_srv_port "$s")
  sum=$(mpx_cpt_summary "lan-$s")
  ok=$(jq -r '.ok' <<< "${sum:-{\}}" 2>/dev/null || echo 0)
  t_check "${s}_lan_conns_verified ($ok/$N; $(head -c 300 "$D/lan-$s.err"))" \
    [ "$ok" = $N ] && [ "$(mpx_cpt_conns "lan-$s" | jq -s 'map(select(.verified)) | length')" = $N ]
  [ "${MPX_SIG_MODE[$s]}" = none ] && want=$MPX_CPT_CPE_DSL   # routed, no proxy
  peers=$(jq -r --arg l "$MPX_CPT_SRV:$sp" 'select(.listen == $l) | .peer | sub(":[0-9]+$"; "")' \
            "$D/server.json" | sort | uniq -c | tr -s ' ' | tr '\n' ';')
  t_check "${s}_server_peer ($peers want $N x $want)" [ "$peers" = " $N $want;" ]
}

phase_order=(optd-read all ra prefer)
for m in "${phase_order[@]}"; do
  [ -n "${PHASE[$m]:-}" ] || continue
  mpx_cpt_intercept "$m" || exit 1
  for s in ${PHASE[$m]}; do mpx_cch_run "$s"; done
  mpx_ic_hag_down "$MPX_CPT_NS_HAG" "$D/ic" >> "$D/intercept.log" 2>&1 || true
  # shellcheck disable=SC2034  # read by mpx_cpt_down (tests/cpe_lib.sh)
  MPX_CPT_IC_UP=0
done
for m in "${!PHASE[@]}"; do
  [[ " ${phase_order[*]} " == *" $m "* ]] || t_fail "phase_$m" "no phase for interception mode $m"
done

for s in "${MPX_REG_NAMES[@]}"; do mpx_cch_check "$s"; done

# the CPE's counters, per listener
CS=$(mpx_cpt_stats cpe)
for s in "${MPX_REG_NAMES[@]}"; do
  cp=$(mpx_cpt_cpe_port "$s")
  l=$(jq -c --argjson p "$cp" '.cpe.listeners[] | select(.port == $p)' <<< "$CS")
  t_check "${s}_cpe_counts ($l)" mpx_cch_jq --argjson n $N \
    '.accepted == $n and .relayed == $n and .fallback_direct == 0 and .failed == 0' <<< "$l"
  if [ "${MPX_SIG_MPTCP[$s]}" = true ]; then
    t_check "${s}_cpe_mptcp_2_subflows" mpx_cch_jq --argjson n $N \
      '.mptcp == $n and .subflows_max == 2' <<< "$l"
  else
    t_check "${s}_cpe_plain_tcp" mpx_cch_jq '.mptcp == 0' <<< "$l"
  fi
  # LAN bytes in the SYN: never where the row waits for the answer or has no SYN data;
  # elsewhere every SYN without them is a wait timeout (the LAN bytes came later than W) or
  # a SYN that only asked for a TFO cookie (convert-cookie, none cached yet)
  waits=$(jq -r --arg s "$s" '.signals[] | select(.name == $s) | .waits_reply' <<< "$MPX_REG")
  if [ "$waits" = true ] || [ "${MPX_SIG_TFO[$s]}" = none ]; then
    t_check "${s}_syn_alone" mpx_cch_jq --argjson n $N \
      '.syn_with_lan_bytes == 0 and .syn_without_lan_bytes == $n' <<< "$l"
  else
    t_check "${s}_syn_lan_bytes" mpx_cch_jq --argjson n $N \
      '.syn_with_lan_bytes + .syn_without_lan_bytes == $n and
       .syn_without_lan_bytes == .wait_timeouts + .tfo_cookie_requests and
       .syn_with_lan_bytes > 0' <<< "$l"
  fi
done
t_check "cpe_no_fallback" mpx_cch_jq '[.cpe.fallback_reasons[]] | add == 0' <<< "$CS"

# the HAG side: every front-end's connections came from the CPE, over MPTCP, DSL first
declare -A FE_WANT=()
for s in "${MPX_REG_NAMES[@]}"; do
  [ "${MPX_SIG_MODE[$s]}" = none ] && continue
  inst=hag; [ "${MPX_SIG_AUTH[$s]}" = true ] && inst=hag-auth
  FE_WANT["$inst ${MPX_SIG_FRONTEND[$s]}"]=$(( ${FE_WANT["$inst ${MPX_SIG_FRONTEND[$s]}"]:-0} + N ))
done
for inst in hag hag-auth; do
  for _ in $(seq 50); do   # relays still closing after the last response: wait for them
    HS=$(mpx_cpt_stats "$inst")
    [ "$(jq -r .active <<< "$HS")" = 0 ] && break
    sleep 0.1
  done
  tot=0
  for k in "${!FE_WANT[@]}"; do
    [ "${k%% *}" = "$inst" ] || continue
    fe=${k#* } tot=$((tot + FE_WANT[$k]))
    got=$(jq -c --arg f "$fe" '.clients.frontends[$f]' <<< "$HS")
    t_check "${inst}_${fe}_cpe_clients (want ${FE_WANT[$k]}: $got)" mpx_cch_jq --arg f "$fe" \
      --argjson n "${FE_WANT[$k]}" '.clients.frontends[$f] == {"cpe": $n, "direct": 0}' <<< "$HS"
  done
  t_check "${inst}_client_mptcp ($(jq -c '{client_mptcp, client_fallback}' <<< "$HS"); want $tot)" \
    mpx_cch_jq --argjson n "$tot" '.client_mptcp == $n and .client_fallback == 0' <<< "$HS"
  dsl=$(grep -h "accepted from" "$D/$inst.log" | awk '{print $NF}' | sed 's/:[0-9]*$//' |
          sort | uniq -c | tr -s ' ' | tr '\n' ';')
  t_check "${inst}_first_subflow_dsl ($dsl)" [ "$dsl" = " $tot $MPX_CPT_CPE_DSL;" ]
done

# the HAG down: the LAN clients still get their data, straight from the CPE
mpx_cpt_stop hag || true
mpx_cpt_client lan1 lan-hagdown --target "$MPX_CPT_SRV:$(mpx_cpt_srv_port convert)" --count 10 \
  --concurrency 5 --timeout 10 || true
t_check "hag_down_lan_conns_ok" mpx_cch_jq '.ok == 10' <<< "$(mpx_cpt_summary lan-hagdown)"
CS=$(mpx_cpt_stats cpe)
t_check "hag_down_fallback_direct ($(jq -c .cpe.fallback_reasons <<< "$CS"))" mpx_cch_jq \
  --argjson p "$(mpx_cpt_cpe_port convert)" \
  '(.cpe.listeners[] | select(.port == $p) | .fallback_direct == 10) and
   .cpe.fallback_reasons.unreachable == 10' <<< "$CS"
logged=$(grep -c 'unreachable (connect: Connection refused): plain TCP direct' "$D/cpe.log")
t_check "hag_down_logged ($logged lines)" [ "$logged" = 10 ]
t_done
