#!/usr/bin/env bash
# Bulk downloads through every SYN-payload channel of mpx-proxy with two subflows (dsl + lte),
# with mpx-client's --syn-wscale0 workaround (default on) and without it.
# The kernel bug (docs/kernel-findings.md 1): an MPTCP listener that accepted data in the SYN
# starts with a data-level send window of the SYN window shifted by the client's window scale
# (65.8 MB at wscale 10); once the MP_JOIN subflow carries data, segments beyond the client's
# MPTCP window are acked by TCP and dropped by MPTCP, and the transfer stalls.
#   with the workaround: per channel, every download completes and is verified, both subflows
#     carry >= 5 % of it, no gap > 1 s between reads, and the channel's goodput (bytes / summed
#     download times) is >= 80 % of the sum of the two shaped link rates or >= 90 % of what a
#     SOCKS5 control without SYN data reached on the same links, whichever is less;
#   without it (--syn-wscale0 off): a stall or an incomplete download is KNOWN (the bug);
#     every download complete without a gap > 1 s is PASS (this kernel no longer has it).
# Links: htb on the hag's dsl and lte egress (the download direction), RATE_DSL + RATE_LTE.
# Rates and count fit the suite budget: 250 Mbit/s (not hybrid.topo's 50) makes a 10 MB download
# ~0.37 s; the issue's 20 x 10 MB per channel took 58 and 63 s in all here (runner's elapsed),
# over the 60 s cap; 16 per channel took 59 s and the whole suite went over its 20 minutes, so the
# default is 10 per channel, and 8 without the workaround (10 of 12 stalled there); MPX_TFOJOIN_N=20
# runs the full count.
# timeout: 150
set -uo pipefail
source "$(dirname "$0")/../lib.sh"
source "$MPX_ROOT/tests/lib/netns.sh"
source "$MPX_ROOT/tests/lib-proxy.sh"
t_require_root
t_require_cmd ip jq tc nstat
t_require_bin mpx-server mpx-client mpx-proxy

RATE_DSL=100 RATE_LTE=150                   # Mbit/s
N_PER=${MPX_TFOJOIN_N:-10} N_OFF=8 SIZE=10000000
trap mpx_nt_down EXIT INT TERM
mpx_nt_up agtj || { echo "FAIL: setup: mpx_nt_up failed"; exit 1; }
D=$MPX_NT_DIR

# mpx_tj_shape NODE IF MBIT: htb on IF's egress
mpx_tj_shape() {
  mpx_nt_exec "$1" tc qdisc replace dev "$2" root handle 1: htb default 10 &&
    mpx_nt_exec "$1" tc class add dev "$2" parent 1: classid 1:10 htb rate "$3mbit" \
      ceil "$3mbit" burst 256k cburst 256k quantum 60000
}
mpx_tj_shape hag dsl "$RATE_DSL" && mpx_tj_shape hag lte "$RATE_LTE" ||
  { t_fail setup "tc htb on the hag's dsl/lte failed"; mpx_nt_dump; exit 1; }
mpx_px_server || { t_fail setup "mpx-server not ready"; exit 1; }
mpx_px_start tj --socks5 1080 --convert 5124 --mpconvert 5125 --mpconvert-ie 5126 --convert-tfo 5129 ||
  { t_fail setup "mpx-proxy not ready"; exit 1; }
SUM=$((RATE_DSL + RATE_LTE))

ctr() { mpx_nt_exec "$1" nstat -az "$2" 2>/dev/null | awk -v k="$2" '$1==k {print $2}'; }
# mpx_tj_run NAME SIGNAL PORT COUNT CONC ARGS...: downloads; the summary line on stdout
mpx_tj_run() {
  local name=$1 sig=$2 port=$3 n=$4 conc=$5; shift 5
  mpx_nt_exec client timeout 120 "$MPX_ROOT/bin/mpx-client" --signal "$sig" --target "$MPX_NT_S4:8080" \
    --proxy "$MPX_NT_H_DSL4:$port" --count "$n" --concurrency "$conc" \
    --workload "bulk-down $SIZE" --timeout 6 --json "$D/$name.json" "$@" 2>>"$D/$name.err"
  jq -c 'select(.type=="summary")' "$D/$name.json"
}

# convert-cookie: the first connection only asks for the TFO cookie (no SYN data)
mpx_nt_exec client timeout 20 "$MPX_ROOT/bin/mpx-client" --signal convert-cookie \
  --target "$MPX_NT_S4:8080" --proxy "$MPX_NT_H_DSL4:5129" --json /dev/null >/dev/null 2>&1

# the control: the same downloads through SOCKS5 (MPTCP, no SYN data, so untouched by the bug) on
# the same links, in the same minutes. The channels are held to 80 % of the link sum, or to 90 %
# of what the control reached when that is less: the bug costs far more than 10 %, and a host
# that barely fills the links (a busy 2-core machine: htb, MPTCP and the relay share the CPUs)
# costs a channel what it costs the control. (The bound used to jump from 0.9 x control to the
# full 80 % as soon as the control reached 80 %: control 207.22 of 250 Mbit/s, convert-cookie
# 198.67 = 96 % of it, failed.)
mpx_tj_run control socks5 1080 "$N_PER" 1 > /dev/null
ctl=$(jq -s '[.[] | select(.type=="conn" and .ok)] | if length > 0 then
    ((map(.bytes_in) | add) * 8 / (map(.t_done_us) | add) * 100 | floor) / 100 else 0 end' "$D/control.json")
want=$(awk -v s="$SUM" -v c="$ctl" 'BEGIN { w = 0.8 * s; if (0.9 * c < w) w = 0.9 * c; print w }')
t_check "control - socks5 downloads ran ($ctl Mbit/s)" awk -v c="$ctl" 'BEGIN { exit !(c > 0) }'
[ "$ctl" != 0 ] || want=$(awk -v s="$SUM" 'BEGIN { print 0.8 * s }')
echo "# control (socks5, no SYN data): $ctl Mbit/s of $SUM; goodput bound $want Mbit/s"
for ch in convert:5124 convert-wait:5124 convert-cookie:5129 mpconvert:5125 mpconvert-ie:5126; do
  sig=${ch%%:*} port=${ch##*:}
  s=$(mpx_tj_run "$sig" "$sig" "$port" "$N_PER" 1)
  # per channel: verified, SYN data acked, the workaround applied, both subflows >= 5 %,
  # the longest gap, goodput = bytes / summed download times (Mbit/s)
  r=$(jq -cs --argjson size "$SIZE" '[.[] | select(.type=="conn")] as $c | {
      n: ($c | length),
      ok: ([$c[] | select(.ok and .verified and .bytes_in == $size)] | length),
      syn: ([$c[] | select(.tfo == "syn-data-acked")] | length),
      wscale0: ([$c[] | select(.syn_wscale0)] | length),
      both: ([$c[] | select((.sf_bytes_in // []) | length >= 2 and
              (map(select(. >= 0.05 * $size)) | length) >= 2)] | length),
      gap_ms: (([$c[] | .max_gap_us] | max // 0) / 1000 | floor),
      mbit: (if ([$c[] | select(.ok) | .t_done_us] | add // 0) > 0 then
               (([$c[] | select(.ok) | .bytes_in] | add) * 8 /
                ([$c[] | select(.ok) | .t_done_us] | add) * 100 | floor) / 100 else 0 end),
      shares: [$c[] | (.sf_bytes_in // []) | map(. * 100 / $size | floor) | join("/")] }' "$D/$sig.json")
  echo "# $sig: $r"
  t_check "$sig - $N_PER x bulk-down 10MB with the workaround - all verified, SYN data acked, two subflows each >= 5 %, no read gap > 1 s" \
    jq -e --argjson n "$N_PER" '.n == $n and .ok == $n and .wscale0 == $n and .both == $n and
      .gap_ms <= 1000 and (.syn >= $n - 1)' <<< "$r"
  t_check "$sig - goodput $(jq .mbit <<< "$r") Mbit/s >= $want (80 % of dsl + lte, $SUM Mbit/s, or 90 % of the control $ctl)" \
    jq -e --argjson w "$want" '.mbit >= $w' <<< "$r"
  [ "$(jq -r .failed <<< "$s")" = 0 ] || head -c 2000 "$D/$sig.err"
done

# without the workaround: the bug (KNOWN) or its absence (PASS)
nd0=$(ctr client MPTcpExtNoDSSInWindow); rt0=$(ctr hag MPTcpExtMPTCPRetrans)
s=$(mpx_tj_run off convert 5124 "$N_OFF" 4 --syn-wscale0 off)
nd=$(( $(ctr client MPTcpExtNoDSSInWindow) - ${nd0:-0} )); rt=$(( $(ctr hag MPTcpExtMPTCPRetrans) - ${rt0:-0} ))
r=$(jq -cs --argjson size "$SIZE" '[.[] | select(.type=="conn")] as $c | {
    n: ($c | length), syn: ([$c[] | select(.tfo == "syn-data-acked")] | length),
    wscale0: ([$c[] | select(.syn_wscale0)] | length),
    stalled: ([$c[] | select((.ok | not) or .max_gap_us > 1000000)] | length),
    gap_ms: (([$c[] | .max_gap_us] | max // 0) / 1000 | floor) }' "$D/off.json")
echo "# workaround off: $r; client NoDSSInWindow +$nd, hag MPTCPRetrans +$rt"
if [ "$(jq .n <<< "$r")" != "$N_OFF" ] || [ "$(jq .wscale0 <<< "$r")" != 0 ] || [ "$(jq .syn <<< "$r")" -lt $((N_OFF / 2)) ]; then
  t_fail "tfo-join without the workaround" "the case did not run as meant: $r"
elif [ "$(jq .stalled <<< "$r")" -gt 0 ]; then
  t_known "mptcp-tfo-join stall" "--syn-wscale0 off: $(jq .stalled <<< "$r")/$N_OFF bulk downloads stalled (> 1 s without data or incomplete, longest gap $(jq .gap_ms <<< "$r") ms; client NoDSSInWindow +$nd, hag MPTCPRetrans +$rt); docs/kernel-findings.md 1"
  jq -r 'select(.type=="conn" and ((.ok|not) or .max_gap_us > 1000000)) | "#   seq \(.seq): \(.error // "completed") gap \(.max_gap_us / 1000 | floor) ms sf \(.sf_bytes_in)"' "$D/off.json" | head -3
else
  t_pass "mptcp-tfo-join - --syn-wscale0 off: $N_OFF/$N_OFF complete without a gap > 1 s: this kernel no longer has the stall"
fi
t_done
