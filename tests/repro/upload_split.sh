#!/usr/bin/env bash
# upload_split.sh — docs/kernel-findings.md 6 (not a kernel bug: a measurement). Where the time
# of a 2 MB MPTCP upload over DSL (2 Mbit/s up) + LTE (10 Mbit/s up) goes. Runs
# tests/repro/upload-split.exp through ./mpxlab (this kernel has no netem; the project's link
# emulator is the delay line) and splits, per upload, the capacity of both links over the
# upload's completion time T (12 Mbit/s x T) into what was used and what was lost, from the
# link pcaps:
#   headers   frame bytes that are not payload (1420 payload bytes per 1514-byte frame)
#   pre       nothing on either link yet (handshake, signalling before the first payload)
#   join      LTE not carrying data yet while DSL does (MP_JOIN + its fourth ACK)
#   lte_ramp  LTE active but below its line rate (slow start, loss recovery)
#   dsl_under DSL active but below its line rate
#   tail      a link idle after its last segment while the other still sends
#   end       after the last segment until the client has the server's reply
#   goodput   2 MB x 8 / T (what bulk.jq reports); the columns sum to ~100
# and the goodput this upload would have had with a perfect end (no tail): T - tail time.
#   tests/repro/upload_split.sh [--reps N] [--keep]      run it (root; ~40 s per 3 reps)
#   tests/repro/upload_split.sh --analyse RUNDIR          only the analysis of an earlier run
# Needs jq and tshark. Exit 0 done, 1 the run or the analysis failed, 2 usage.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
REPS=6 KEEP=0 RUN=''

mpx_us_usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
  case $1 in
    --reps) if [ $# -lt 2 ] || ! [[ $2 =~ ^[1-9][0-9]?$ ]]; then echo "--reps 1..99" >&2; exit 2; fi
            REPS=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    --analyse) if [ $# -lt 2 ] || [ ! -d "$2" ]; then echo "--analyse RUNDIR" >&2; exit 2; fi
               RUN=$2; shift 2 ;;
    -h|--help) mpx_us_usage; exit 0 ;;
    *) echo "unknown argument '$1' (--help)" >&2; exit 2 ;;
  esac
done
if ! command -v tshark > /dev/null || ! command -v jq > /dev/null; then
  echo "needs tshark and jq" >&2; exit 1
fi

TMP=$(mktemp -d /tmp/mpx-upload-split.XXXXXX)
mpx_us_cleanup() { rm -rf "$TMP"; }
trap mpx_us_cleanup EXIT

if [ -z "$RUN" ]; then
  [ "$(id -u)" = 0 ] || { echo "needs root (or --analyse RUNDIR)" >&2; exit 1; }
  RUN=$TMP/run
  [ "$KEEP" = 0 ] || RUN=/tmp/mpx-upload-split-run.$$
  echo "== 2 MB uploads, $REPS per signal and client setting; host CPU pressure before: $(head -n 1 /proc/pressure/cpu)"
  rc=0
  (cd "$ROOT" && timeout 1500 ./mpxlab run "$HERE/upload-split.exp" --reps "$REPS" --out "$RUN" \
    --no-plots --accept-unfaithful --quiet > "$TMP/run.log" 2>&1) || rc=$?
  echo "   after: $(head -n 1 /proc/pressure/cpu) (mpxlab exit $rc)"
  [ "$rc" = 0 ] || { tail -n 20 "$TMP/run.log"; exit 1; }
  grep 'NOT FAITHFUL' "$TMP/run.log" | sed 's/^/   /' || true
  [ "$KEEP" = 0 ] || echo "   run kept in $RUN"
fi

echo "== bulk.jq (goodput against DSL + LTE = 12 Mbit/s)"
timeout 60 jq -r -s -f "$ROOT/emu/harness/bulk.jq" "$RUN/connections.jsonl"

# mpx_us_fields VARIANT LINK: time, dst port, payload length of every TCP segment of the link
mpx_us_fields() {
  timeout 300 tshark -r "$RUN/pcaps/$1/$2.pcap" -Y tcp -T fields -e frame.time_epoch \
    -e tcp.dstport -e tcp.len 2> /dev/null
}

# mpx_us_split VARIANT: one line per upload, then the medians
mpx_us_split() {
  local v=$1
  mpx_us_fields "$v" dsl > "$TMP/$v.dsl"
  mpx_us_fields "$v" lte > "$TMP/$v.lte"
  echo "== $v: % of 12 Mbit/s x T (T = connect to the server's reply at the client)"
  printf '%-8s %3s %6s %7s %5s %5s %5s %8s %9s %5s %5s | %s\n' signal rep T goodput headers pre \
    join lte_ramp dsl_under tail end "perfect end"
  jq -r --arg v "$v" 'select(.variant == $v and .ok == true and (.workload | startswith("bulk-up")))
    | [.signal, .rep, .t0_real_us, .t_done_us, (.via // .target | split(":")[1]), .bytes_out]
    | map(tostring) | @tsv' "$RUN/connections.jsonl" |
  while IFS=$'\t' read -r sig rep t0us tdone port bytes; do
    awk -F'\t' -v t0us="$t0us" -v T="$tdone" -v p="$port" -v B="$bytes" -v sig="$sig" -v rep="$rep" '
      BEGIN { t0 = t0us / 1e6; T /= 1e6; f = 1420 / 1514; rd = 2e6 / 8 * f; rl = 10e6 / 8 * f }
      FNR == 1 { k++ }
      $1 >= t0 && $1 < t0 + T && $2 == p && $3 > 0 {
        t = $1 - t0
        if (!(k in first)) first[k] = t
        last[k] = t; by[k] += $3
      }
      END {
        if (!(1 in first) || !(2 in first)) { printf "%-8s %3s  no payload on both links\n", sig, rep; exit }
        e = last[1] > last[2] ? last[1] : last[2]
        c = (rd + rl) * T / f / 100                     # 1 % of the frame capacity, bytes
        pre = (rd + rl) * first[1]; join = rl * (first[2] - first[1])
        lr = rl * (last[2] - first[2]) - by[2]; du = rd * (last[1] - first[1]) - by[1]
        tail = rd * (e - last[1]) + rl * (e - last[2]); end = (rd + rl) * (T - e)
        tp = T - tail / (rd + rl)
        printf "%-8s %3s %6.3f %7.1f %5.1f %5.1f %5.1f %8.1f %9.1f %5.1f %5.1f | %.1f\n", sig, rep, T,
          B * 8 / T / 12e4, 100 * (1 - f), pre / c, join / c, lr / c, du / c, tail / c, end / c,
          B * 8 / tp / 12e4
      }' "$TMP/$v.dsl" "$TMP/$v.lte"
  done | tee "$TMP/$v.rows"
  # the medians, column by column (mawk has no sort)
  local i meds=() n
  n=$(awk '$4 ~ /^[0-9.]+$/' "$TMP/$v.rows" | wc -l)
  [ "$n" -gt 0 ] || return 1
  for i in 3 4 5 6 7 8 9 10 11 13; do
    meds+=("$(awk -v i="$i" '$4 ~ /^[0-9.]+$/ {print $i}' "$TMP/$v.rows" | sort -g |
      awk '{a[NR] = $1} END {print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2)}')")
  done
  printf '%-12s %6.3f %7.1f %5.1f %5.1f %5.1f %8.1f %9.1f %5.1f %5.1f | %.1f\n' "median ($n)" "${meds[@]}"
}

for v in $(jq -r 'select(.workload | startswith("bulk-up")) | .variant' "$RUN/connections.jsonl" | sort -u); do
  mpx_us_split "$v"
done
