#!/usr/bin/env bash
# Makes the real three-leg captures of tests/data/legs/ (README.md there): a few LAN
# connections (mpx-client --signal tcp, the unmodified application) through the CPE on
# topologies/hybrid-cpe.topo, convert with W = 0 and W = 50 ms, socks5, and the direct
# baseline port (routed, not intercepted); the mpx-linkem pcaps of home1, home2, dsl, lte and
# wan are copied to OUTDIR. MODE refused: the HAG's ACL refuses the CPE (Convert Error 32,
# SOCKS method 0xff), every connection falls back to direct TCP. Needs root (tests/cpe_lib.sh).
# Usage: make.sh [OUTDIR [MODE]]   (defaults: this directory, normal; refused -> OUTDIR/refused)
set -uo pipefail
OUT=${1:-$(dirname "$0")}
MODE=${2:-normal}
[ "$MODE" = refused ] && OUT=$OUT/refused
mkdir -p "$OUT" && OUT=$(cd "$OUT" && pwd) || exit 2
source "$(dirname "$0")/../../lib.sh"
source "$MPX_ROOT/tests/cpe_lib.sh"
export MPX_CPT_EXTRA_PORTS="8203"
# refused: the HAG serves nobody of this topology (as tests/integration/cpe_fallback.sh)
[ "$MODE" = refused ] && export MPX_CPT_HAG_ALLOW="198.18.200.0/24"
mpx_cpt_up legs
S=$MPX_CPT_SRV
mpx_cpt_server || exit 1
mpx_cpt_hag || exit 1
mpx_cpt_cpe "convert,wait=0" "8203:9203=convert,wait=50" "socks5" -- --cpe-timeout 3000 || exit 1
mpx_cpt_client lan1 conv0 --target "$S:$(mpx_cpt_srv_port convert)" --count 2 --workload "rr 100/1000"
mpx_cpt_client lan1 conv50 --target "$S:8203" --count 2 --workload "rr 100/1000"
mpx_cpt_client lan2 socks --target "$S:$(mpx_cpt_srv_port socks5)" --count 2 --workload "rr 100/1000"
mpx_cpt_client lan2 direct --target "$S:$MPX_CPT_PORT_PLAIN" --count 1 --workload "rr 100/1000"
for n in conv0 conv50 socks direct; do
  echo "# $n: $(mpx_cpt_conns "$n" | jq -s -c '[.[] | select(.ok and .verified)] | length') verified"
done
D=$MPX_CPT_DIR
mpx_cpt_finish
for l in home1 home2 dsl lte wan; do cp "$D/pcap/$l.pcap" "$OUT/$l.pcap"; done
ls -l "$OUT"/*.pcap
