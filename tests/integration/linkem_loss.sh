#!/usr/bin/env bash
# mpx-linkem loss models in real namespaces: Bernoulli 1 % over 10k packets inside the
# binomial 99.9 % interval; Gilbert-Elliott mean loss near its stationary value; the same
# seed gives the identical drop sequence (--events), another seed a different one.
# timeout: 120
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$MPX_ROOT/tests/lib/linkem.sh"
t_require_root
t_require_cmd ip ethtool ping jq
t_require_bin mpx-linkem mpx-lkprobe
out=$(mktemp -d /tmp/mpx-lk-loss.XXXXXX)
trap 'mpx_lkt_down > /dev/null 2>&1; rm -rf "$out"' EXIT INT TERM

# run "AB-SPEC" NAME COUNT: probes A->B through a fresh pair.topo whose link has AB-SPEC a->b
# (KEY=VALUE words) and delay=1ms b->a; leaves $out/NAME.{stats,ev,rx}
run() {
  local name=$2 count=$3 kv p=(--param l.ba.delay=1ms)
  for kv in $1; do p+=(--param "l.ab.$kv"); done
  mkdir -p "$out/$name"
  MPX_TOPO_PCAP=0 mpx_lkt_up lo "$out/$name" "${p[@]}" || { t_fail "$name setup" "topology"; return 1; }
  lk_warm "$MPX_LKT"
  lk_probe "$MPX_LKT" "$out/$name.rx" "$count" 20000
  mpx_lkt_down   # the emulator writes its final stats and events
  cp "$out/$name/l.stats.json" "$out/$name.stats"
  cp "$out/$name/l.events.jsonl" "$out/$name.ev"
}

# binomial 99.9 % interval (normal approximation, z=3.29) for N trials of p
interval() { awk -v n="$1" -v p="$2" 'BEGIN{m=n*p; s=sqrt(n*p*(1-p)); printf "%d %d\n", int(m-3.29*s), int(m+3.29*s+0.999)}'; }

run "delay=1ms loss=1% seed=7" s7 10000
# trials: the 10000 probes (the few warm-up ping/ARP frames before them are ignored)
n=10000
d=$(jq .ab.drops.loss "$out/s7.stats"); rx=$(jq .received "$out/s7.rx")
read -r lo hi < <(interval "$n" 0.01)
echo "info: bernoulli 1%: $d drops of $n arrivals (interval $lo..$hi), $rx probes received"
t_check "bernoulli 1% - drop count $d in 99.9% interval [$lo,$hi]" [ "$d" -ge "$lo" ] && [ "$d" -le "$hi" ]
t_check "bernoulli - all 10000 probes reached the emulator" lk_jq "$out/s7.stats" '.ab.pkts_in >= 10000'
sent=10000
lost_rx=$((sent - rx))
t_check "receiver misses exactly the dropped probes ($lost_rx)" [ "$lost_rx" -le "$d" ] && [ "$lost_rx" -ge $((d - 2)) ]
t_check "events file has one line per drop" [ "$(wc -l < "$out/s7.ev")" = "$(jq '.ab.drops.loss + .ba.drops.loss' "$out/s7.stats")" ]
t_check "events lines carry the contract fields" bash -c "jq -s -e 'length > 0 and all(.[]; has(\"t_us\") and .dir==\"ab\" and (.idx|type==\"number\") and .reason==\"loss\" and .len>0)' '$out/s7.ev' >/dev/null"

run "delay=1ms loss=1% seed=7" s7b 10000
run "delay=1ms loss=1% seed=8" s8 10000
jq -r 'select(.dir=="ab") | .idx' "$out/s7.ev" > "$out/s7.idx"
jq -r 'select(.dir=="ab") | .idx' "$out/s7b.ev" > "$out/s7b.idx"
jq -r 'select(.dir=="ab") | .idx' "$out/s8.ev" > "$out/s8.idx"
t_check "same seed twice - identical drop sequence ($(wc -l < "$out/s7.idx") drops)" cmp -s "$out/s7.idx" "$out/s7b.idx"
t_check "another seed - different drop sequence" bash -c "! cmp -s '$out/s7.idx' '$out/s8.idx'"

# Gilbert-Elliott P=1% R=10% LG=0 LB=50%: stationary loss = 1/11 * 50% = 4.545%
run "delay=1ms ge=1%/10%/0%/50% seed=3" ge 40000
n=40000 d=$(jq .ab.drops.loss "$out/ge.stats")
rate=$(awk -v d="$d" -v n="$n" 'BEGIN{printf "%.4f", d/n*100}')
t_near "gilbert-elliott mean loss (%) vs stationary 4.545" "$rate" 4.545 1.0
# bursts: P(drop | previous arrival dropped) is far above the mean for GE
burst=$(jq -r 'select(.dir=="ab") | .idx' "$out/ge.ev" | awk 'NR>1 && $1==prev+1 {b++} {prev=$1} END{printf "%.3f", b/(NR-1)}')
t_check "gilbert-elliott losses come in bursts (P(drop|drop)=$burst > 0.2)" awk -v b="$burst" 'BEGIN{exit !(b > 0.2)}'

[ "$T_FAILED" = 0 ] || { echo "--- stats"; cat "$out"/*.stats; }
t_done
