#!/usr/bin/env bash
# The CPE's direct fallback (issue 16, item 6), on topologies/hybrid-cpe.topo; the LAN
# application is mpx-client --signal tcp (plain TCP, unaware of any proxy):
#  1. HAG refusal by its client ACL: the HAG's --allow does not list the CPE's access
#     prefixes, so it answers the convert channel with Convert Error 32 and the socks5 channel
#     with the method reply 05 ff (agents/proxy/README.md: a refused client never gets as far
#     as a SOCKS request): every LAN connection still gets its verified data, straight from the
#     server (whose peer is then the CPE's own address, not the HAG's), long before
#     --cpe-timeout; the CPE counts fallback_direct and the reasons, the HAG its refusals;
#     then by its target policy (--deny-target the server's prefix): Error 32 and SOCKS REP 2,
#     reasons convert_error and socks_rep;
#  2. HAG down (its mpx-proxy stopped: the SYNs to its ports are reset): the same, reasons
#     unreachable/reset;
#  3. HAG silent (its ports drop SYNs) and 4. HAG hung (its mpx-proxy stopped by SIGSTOP: the
#     kernel accepts, nobody answers): the LAN client is held until --cpe-timeout and no
#     longer: each TTFB lies between the timeout and the timeout plus twice the slowest
#     direct connection of step 2 (the same CPE -> server path, measured in this run);
#     reasons unreachable (the connection never came up) and timeout (no answer).
# timeout: 90
set -uo pipefail
source "$(dirname "$0")/../lib.sh"
source "$MPX_ROOT/tests/cpe_lib.sh"
N=${CPE_FALLBACK_N:-10}
TO=1000                       # --cpe-timeout (ms)
mpx_cpt_up cfall
# the HAG serves nobody of this topology: the CPE (198.18.1.2, 198.18.2.2) is refused
export MPX_CPT_HAG_ALLOW="198.18.200.0/24"
mpx_cpt_server || exit 1
mpx_cpt_hag || exit 1
mpx_cpt_cpe convert socks5 -- --cpe-timeout "$TO" || exit 1
S=$MPX_CPT_SRV D=$MPX_CPT_DIR
PC=$(mpx_cpt_srv_port convert) PS=$(mpx_cpt_srv_port socks5)
CC=$(mpx_cpt_cpe_port convert) CSK=$(mpx_cpt_cpe_port socks5)

# srv_direct PORT COUNT: how many of the last COUNT server connections to PORT came from the CPE's
# own address (direct), verified
srv_direct() {
  jq -s --arg l "$S:$1" --arg c "$MPX_CPT_CPE_DSL:" '[.[] | select(.type=="conn" and .listen == $l)] | .[-'"$2"':] |
    [.[] | select(.verified and (.peer | startswith($c)))] | length' "$D/server.json"
}
lanrun() { # name node port [args]: N connections, all verified, all direct from the CPE
  local name=$1 node=$2 port=$3 n m before; shift 3
  before=$(mpx_cpt_srv_count "$port")
  mpx_cpt_client "$node" "$name" --target "$S:$port" --count "$N" --concurrency 5 "$@"
  n=$(mpx_cpt_conns "$name" | jq -s '[.[] | select(.ok and .verified)] | length')
  m=$(mpx_cpt_conns "$name" | jq -s '[.[] | .ttfb_us] | max')
  t_check "$name - $n/$N LAN connections verified (rc $(cat "$D/$name.rc"), slowest TTFB $m us)" [ "$n" = "$N" ]
  mpx_cpt_srv_wait $((before + N)) "$port"
  n=$(srv_direct "$port" "$N")
  t_check "$name - $n/$N reached the server directly from the CPE ($MPX_CPT_CPE_DSL), not via the HAG" [ "$n" = "$N" ]
}

sumreasons() { jq '[.[]? | numbers] | add // 0' <<< "$1"; }
refusal_checks() { # phase: both channels answered early, CPE rows, fallbacks
  local ph=$1 name m
  for name in "$ph-convert" "$ph-socks5"; do
    m=$(mpx_cpt_conns "$name" | jq -s '[.[] | .ttfb_us] | max')
    t_check "$name - answered before --cpe-timeout (slowest TTFB $m us < $((TO * 1000)) us)" [ "$m" != null ] && [ "$m" -lt $((TO * 1000)) ]
  done
}

# 1a. refusal by the client ACL
lanrun acl-convert lan1 "$PC"
lanrun acl-socks5 lan2 "$PS"
refusal_checks acl
CS=$(mpx_cpt_stats cpe) HS=$(mpx_cpt_stats hag)
rc=$(mpx_cpt_cpe_row "$CS" "$CC") rs=$(mpx_cpt_cpe_row "$CS" "$CSK") re=$(mpx_cpt_cpe_reasons "$CS")
echo "# cpe convert $rc"; echo "# cpe socks5 $rs"; echo "# reasons $re"
t_check "CPE convert - fallback_direct $(jq .fallback_direct <<< "$rc")/$N, failed $(jq .failed <<< "$rc")" \
  jq -e --argjson n "$N" '.accepted == $n and .fallback_direct == $n and .failed == 0' <<< "$rc"
t_check "CPE socks5 - fallback_direct $(jq .fallback_direct <<< "$rs")/$N, failed $(jq .failed <<< "$rs")" \
  jq -e --argjson n "$N" '.accepted == $n and .fallback_direct == $n and .failed == 0' <<< "$rs"
t_check "CPE reasons - convert_error $(jq .convert_error <<< "$re") (want $N), all reasons $(sumreasons "$re") (want $((2 * N)))" \
  jq -e --argjson n "$N" '.convert_error == $n and ([.[] | numbers] | add) == 2 * $n' <<< "$re"
t_check "HAG - refused the CPE (client_refused $(jq .acl.client_refused <<< "$HS"), convert_errors $(jq -c .convert_errors <<< "$HS"))" \
  jq -e --argjson n "$N" '.acl.client_refused == 2 * $n and (.convert_errors["32"] // 0) == $n' <<< "$HS"
grep -q -i "fallback" "$D/cpe.log" && t_pass "CPE log names the fallbacks ($(grep -c -i fallback "$D/cpe.log") lines)" ||
  t_fail "CPE log" "no fallback line in $D/cpe.log"

# 1b. refusal by the target policy: the HAG serves the CPE but not the server's prefix
mpx_cpt_stop hag; mpx_cpt_stop hag-auth
unset MPX_CPT_HAG_ALLOW
mpx_cpt_hag --deny-target "${S%.*}.0/24" || exit 1
re0=$re
lanrun deny-convert lan1 "$PC"
lanrun deny-socks5 lan2 "$PS"
refusal_checks deny
CS=$(mpx_cpt_stats cpe) HS=$(mpx_cpt_stats hag) re=$(mpx_cpt_cpe_reasons "$CS")
echo "# reasons $re"
n=$(jq -r -n --argjson a "$re0" --argjson b "$re" '"\((($b.convert_error // 0) - ($a.convert_error // 0))) \((($b.socks_rep // 0) - ($a.socks_rep // 0)))"')
t_check "CPE reasons - convert_error and socks_rep grew by $n (want $N $N)" [ "$n" = "$N $N" ]
t_check "HAG - Error 32 $(jq -c .convert_errors <<< "$HS"), SOCKS REP 2 $(jq -c .socks_replies <<< "$HS"), CPE clients $(jq -c .clients <<< "$HS")" \
  jq -e --argjson n "$N" '(.convert_errors["32"] // 0) == $n and (.socks_replies["2"] // 0) == $n and .clients.cpe == 2 * $n' <<< "$HS"

# 2. HAG down: nothing listens on its ports (the SYNs are reset)
mpx_cpt_stop hag; mpx_cpt_stop hag-auth
re0=$re
lanrun down-convert lan1 "$PC"
lanrun down-socks5 lan2 "$PS"
slow=$(cat "$D"/down-*.json | jq -s '[.[] | select(.type=="conn") | .ttfb_us] | max')
t_check "HAG down - answered before --cpe-timeout (slowest TTFB $slow us)" [ "$slow" != null ] && [ "$slow" -lt $((TO * 1000)) ]
CS=$(mpx_cpt_stats cpe) re=$(mpx_cpt_cpe_reasons "$CS")
echo "# reasons $re"
n=$(jq -n --argjson a "$re0" --argjson b "$re" '(($b.unreachable // 0) + ($b.reset // 0)) - (($a.unreachable // 0) + ($a.reset // 0))')
t_check "CPE reasons - unreachable + reset grew by $n (want $((2 * N)))" [ "$n" = $((2 * N)) ]

# held NAME: 4 LAN connections held for --cpe-timeout and no longer, then verified (direct)
held() {
  local name=$1 n lo=$((TO * 1000)) hi=$((TO * 1000 + 2 * slow))
  mpx_cpt_client lan1 "$name" --target "$S:$PC" --count 4 --concurrency 4
  n=$(mpx_cpt_conns "$name" | jq -s '[.[] | select(.ok and .verified)] | length')
  t_check "$name - $n/4 LAN connections verified" [ "$n" = 4 ]
  n=$(mpx_cpt_conns "$name" | jq -s --argjson lo "$lo" --argjson hi "$hi" '[.[] | select(.ttfb_us >= $lo and .ttfb_us <= $hi)] | length')
  t_check "$name - $n/4 held for --cpe-timeout and no longer (TTFB in [$lo, $hi] us: $(mpx_cpt_conns "$name" | jq -s -c 'map(.ttfb_us)'))" [ "$n" = 4 ]
}

# 3. HAG silent: SYNs to the converter and SOCKS ports vanish (the HAG forwards everything
# else); the CPE's connection never comes up: counted unreachable (or timeout), nothing else
mpx_topo_exec "$MPX_CPT_RUN" hag nft -f - <<'EOF2'
table inet cpt_silent {
  chain in { type filter hook input priority 0; policy accept; tcp dport { 1080, 1081, 5124 } drop; }
}
EOF2
re0=$re
held silent
CS=$(mpx_cpt_stats cpe) re=$(mpx_cpt_cpe_reasons "$CS")
echo "# reasons $re"
n=$(jq -r -n --argjson a "$re0" --argjson b "$re" '"\((($b.unreachable // 0) + ($b.timeout // 0)) - (($a.unreachable // 0) + ($a.timeout // 0))) \(([$b[] | numbers] | add) - ([$a[] | numbers] | add))"')
t_check "CPE reasons - unreachable + timeout grew by ${n% *}, all reasons by ${n#* } (want 4 4)" [ "$n" = "4 4" ]

# 4. HAG hung: its mpx-proxy is stopped (SIGSTOP): the kernel completes the CPE's handshake
# and takes the SYN data, nobody answers the signal: reason timeout
mpx_topo_exec "$MPX_CPT_RUN" hag nft delete table inet cpt_silent
mpx_cpt_hag || exit 1
HP=$(mpx_cpt_pid hag)
kill -STOP "$HP"
re0=$re
held hung
kill -CONT "$HP"
CS=$(mpx_cpt_stats cpe) re=$(mpx_cpt_cpe_reasons "$CS")
echo "# reasons $re"
n=$(jq -n --argjson a "$re0" --argjson b "$re" '($b.timeout // 0) - ($a.timeout // 0)')
t_check "CPE reasons - timeout grew by $n (want 4)" [ "$n" = 4 ]
t_done
