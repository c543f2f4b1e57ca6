#!/usr/bin/env bash
# Makes the real three-leg captures of tests/data/legs/ (README.md there) on
# topologies/hybrid-cpe.topo; the LAN application is mpx-client --signal tcp (unmodified):
#   normal    convert with W = 0 and W = 50 ms, socks5, the direct baseline port (routed, not
#             intercepted), 2 connections each (1 baseline) -> OUTDIR
#   refused   the same with the HAG's ACL refusing the CPE (Convert Error 32, SOCKS method
#             0xff): every connection falls back to direct TCP -> OUTDIR/refused
#   channels  every registry channel, 2 connections each, the implicit ones in their HAG
#             interception phase (as tests/integration/cpe_channels.sh), the registry as
#             signals.json -> OUTDIR/channels
# The mpx-linkem pcaps of home1, home2, dsl, lte and wan are copied. Needs root
# (tests/cpe_lib.sh). Usage: make.sh [OUTDIR [MODE]]   (defaults: this directory, normal)
set -uo pipefail
OUT=${1:-$(dirname "$0")}
MODE=${2:-normal}
case $MODE in
  normal) ;;
  refused | channels) OUT=$OUT/$MODE ;;
  *) echo "make.sh: unknown mode $MODE (normal, refused, channels)" >&2; exit 2 ;;
esac
mkdir -p "$OUT" && OUT=$(cd "$OUT" && pwd) || exit 2
source "$(dirname "$0")/../../lib.sh"
source "$MPX_ROOT/tests/cpe_lib.sh"
export MPX_CPT_EXTRA_PORTS="8203"
# refused: the HAG serves nobody of this topology (as tests/integration/cpe_fallback.sh)
[ "$MODE" = refused ] && export MPX_CPT_HAG_ALLOW="198.18.200.0/24"
mpx_cpt_up legs
D=$MPX_CPT_DIR S=$MPX_CPT_SRV ICC=$MPX_CPT_DIR/icc
mpx_legs_mk_down() { set +e; [ "$MODE" = channels ] && mpx_ic_client_down "$MPX_CPT_NS_CPE" "$ICC" > /dev/null 2>&1; mpx_cpt_down; }
trap mpx_legs_mk_down EXIT
mpx_cpt_server || exit 1
mpx_cpt_hag || exit 1
mpx_legs_mk_count() { echo "# $1: $(mpx_cpt_conns "$1" | jq -s -c '[.[] | select(.ok and .verified)] | length') verified"; }
if [ "$MODE" = channels ]; then
  # the CPE's mpx-optd marks the SYNs of the option channels; one interception mode at a time
  mpx_ic_client_up "$MPX_CPT_NS_CPE" "$ICC" > "$D/icc.log" 2>&1 || { echo "CPE mpx-optd failed" >&2; exit 1; }
  mpx_cpt_cpe "${MPX_REG_NAMES[@]}" -- --optd-ctl "$(mpx_ic_client_ctl "$ICC")" || exit 1
  declare -A PHASE=()
  for s in "${MPX_REG_NAMES[@]}"; do
    m=${MPX_SIG_INTERCEPT[$s]}; [ "$m" = - ] && m='optd-read'; PHASE[$m]+="$s "
  done
  for m in optd-read all ra prefer; do
    [ -n "${PHASE[$m]:-}" ] || continue
    mpx_cpt_intercept "$m" || exit 1
    for s in ${PHASE[$m]}; do
      mpx_cpt_client lan1 "lan-$s" --target "$S:$(mpx_cpt_srv_port "$s")" --count 2 --timeout 10
      mpx_legs_mk_count "lan-$s"
    done
    mpx_ic_hag_down "$MPX_CPT_NS_HAG" "$D/ic" >> "$D/intercept.log" 2>&1
    # shellcheck disable=SC2034  # read by mpx_cpt_down (tests/cpe_lib.sh)
    MPX_CPT_IC_UP=0
  done
  "$MPX_ROOT/bin/mpx-wire" signals --json | jq -c '[.signals[] | {name, wire, mptcp, mode}]' > "$OUT/signals.json"
else
  mpx_cpt_cpe "convert,wait=0" "8203:9203=convert,wait=50" "socks5" -- --cpe-timeout 3000 || exit 1
  mpx_cpt_client lan1 conv0 --target "$S:$(mpx_cpt_srv_port convert)" --count 2 --workload "rr 100/1000"
  mpx_cpt_client lan1 conv50 --target "$S:8203" --count 2 --workload "rr 100/1000"
  mpx_cpt_client lan2 socks --target "$S:$(mpx_cpt_srv_port socks5)" --count 2 --workload "rr 100/1000"
  mpx_cpt_client lan2 direct --target "$S:$MPX_CPT_PORT_PLAIN" --count 1 --workload "rr 100/1000"
  for n in conv0 conv50 socks direct; do mpx_legs_mk_count "$n"; done
fi
mpx_cpt_finish
for l in home1 home2 dsl lte wan; do cp "$D/pcap/$l.pcap" "$OUT/$l.pcap"; done
ls -l "$OUT"
