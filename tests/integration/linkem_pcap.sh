#!/usr/bin/env bash
# mpx-linkem's pcap: the auto snap length keeps every frame of a TCP stream's first 2048 bytes
# (per direction) whole and only the headers of later segments, cuts non-TCP frames at 256
# bytes; a fixed --snaplen and --snaplen full; a writer that cannot keep up drops records
# counted in pcap_dropped (never silently) while forwarding goes on; the stats account for
# every frame sent (pcap_frames + pcap_dropped).
# timeout: 90
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$MPX_ROOT/emu/linkem/testlib.sh"
t_require_root
t_require_cmd ip ethtool jq socat tshark
t_require_bin mpx-linkem mpx-lkprobe
out=$(mktemp -d /tmp/mpx-lk-pcap.XXXXXX)
holder=''
mpx_lkp_cleanup() {
  [ -z "$holder" ] || kill "$holder" 2>/dev/null || true
  lk_cleanup
  rm -rf "$out"
}
trap mpx_lkp_cleanup EXIT INT TERM
mpx_lkp_fail_dump() { lk_dump p "$out" >&2; }

lk_mkpair p
head -c 20000 /dev/urandom > "$out/data"
# mpx_lkp_tcp: 20000 bytes A->B over one TCP connection; the receiver's copy in out/got
mpx_lkp_tcp() {
  local srv
  lk_exec p-b timeout 20 socat -u "TCP-LISTEN:5001,bind=$LK_B_IP,reuseaddr" "CREATE:$out/got" &
  srv=$!
  for _ in $(seq 1 100); do lk_exec p-b ss -Hltn "sport = :5001" | grep -q . && break; sleep 0.02; done
  lk_exec p-a timeout 20 socat -u "FILE:$out/data" "TCP:$LK_B_IP:5001" || true
  wait "$srv" || true
}

# --- auto snap (the default)
lk_start p "$out" "delay=1ms" "delay=1ms" --pcap "$out/auto.pcap"
lk_warm p
mpx_lkp_tcp
LK_PROBE_SIZE=1000 lk_probe p "$out/probe" 20 1000 > /dev/null
lk_stop "$LK_PID" || true
cp "$out/stats.json" "$out/auto.stats"
t_check "auto - stream arrived intact" cmp -s "$out/data" "$out/got"
t_check "auto - stats name the snap length and count no pcap drop" \
  lk_jq "$out/auto.stats" '.pcap_snaplen == "auto" and .pcap_dropped == 0 and .pcap_errors == 0'
t_check "auto - every frame sent is in the pcap" \
  lk_jq "$out/auto.stats" '.pcap_frames == .ab.pkts_out + .ba.pkts_out'
t_check "auto - stats carry the real-time state and the lateness diagnosis" \
  lk_jq "$out/auto.stats" '(.realtime.fifo | type) == "boolean" and (.realtime.mlock | type) == "boolean"
    and (.diag | has("wake_late_us") and has("late_gt50us") and has("run_delay_ms") and has("host_steal_pct"))'
# per frame: caplen, wire length, relative TCP seq, TCP payload length, SYN flag, UDP or not
tshark -r "$out/auto.pcap" -T fields -E separator=, -e frame.cap_len -e frame.len \
  -e tcp.seq -e tcp.len -e tcp.flags.syn -e udp.srcport 2>/dev/null > "$out/auto.csv" || true
# shellcheck disable=SC2016 # awk program
n_bad=$(awk -F, '
  $3 != "" && $4 > 0 && ($3 - 1) < 2048 && $1 != $2 { bad++ }            # stream head cut
  $3 != "" && $4 > 0 && ($3 - 1) >= 2048 && $1 != $2 - $4 { bad++ }      # bulk kept
  $3 != "" && $5 == "1" && $1 != $2 { bad++ }                            # SYN cut
  $6 != "" && $1 != ($2 < 256 ? $2 : 256) { bad++ }                      # non-TCP rule
  END { print bad + 0 }' "$out/auto.csv")
n_head=$(awk -F, '$3 != "" && $4 > 0 && ($3 - 1) < 2048' "$out/auto.csv" | wc -l)
n_cut=$(awk -F, '$3 != "" && $4 > 0 && ($3 - 1) >= 2048' "$out/auto.csv" | wc -l)
n_udp=$(awk -F, '$6 != ""' "$out/auto.csv" | wc -l)
t_check "auto - stream head whole ($n_head frames), later segments headers only ($n_cut), UDP at 256 ($n_udp), $n_bad off" \
  test "$n_bad" = 0 -a "$n_head" -ge 2 -a "$n_cut" -ge 5 -a "$n_udp" -ge 20
t_check "auto - pcap_truncated counts the cut frames" \
  lk_jq "$out/auto.stats" ".pcap_truncated == $((n_cut + n_udp))"

# --- fixed and full snap lengths
lk_start p "$out" "delay=1ms" "delay=1ms" --pcap "$out/fix.pcap" --snaplen 100
lk_warm p
mpx_lkp_tcp
lk_stop "$LK_PID" || true
cp "$out/stats.json" "$out/fix.stats"
t_check "--snaplen 100 - no record longer than 100 bytes, the long ones counted" bash -c "
  [ \"\$(tshark -r '$out/fix.pcap' -T fields -e frame.cap_len 2>/dev/null | sort -g | tail -1)\" = 100 ] &&
  jq -e '.pcap_snaplen == 100 and .pcap_truncated > 10' '$out/fix.stats' > /dev/null"
lk_start p "$out" "delay=1ms" "delay=1ms" --pcap "$out/full.pcap" --snaplen full
lk_warm p
mpx_lkp_tcp
lk_stop "$LK_PID" || true
t_check "--snaplen full - nothing cut" lk_jq "$out/stats.json" '.pcap_truncated == 0 and .pcap_frames == .ab.pkts_out + .ba.pkts_out'
rc=0; "$LK_BIN" --if-a x --if-b y --ab "" --ba "" --snaplen 10 2>/dev/null || rc=$?
t_check "--snaplen 10 is a usage error (exit 2)" [ "$rc" = 2 ]

# --- a writer that cannot keep up: the pcap is a FIFO whose reader never reads
mkfifo "$out/stuck.pcap"
bash -c 'exec 3< "$1"; exec sleep 60' _ "$out/stuck.pcap" &
holder=$!
lk_start p "$out" "delay=0ms" "delay=0ms" --pcap "$out/stuck.pcap" --pcap-ring 1 --snaplen full
lk_warm p
LK_PROBE_SIZE=1400 lk_probe p "$out/flood" 3000 20000 > /dev/null
kill "$holder" 2>/dev/null || true; wait "$holder" 2>/dev/null || true; holder=''
rc=0; lk_stop "$LK_PID" || rc=$?
t_check "stuck writer - the emulator still exits 0" [ "$rc" = 0 ]
t_check "stuck writer - forwarding went on (every probe delivered)" lk_jq "$out/flood" '.received == 3000'
t_check "stuck writer - dropped records counted, frames + dropped = frames sent" \
  lk_jq "$out/stats.json" '.pcap_dropped > 0 and .pcap_frames + .pcap_dropped == .ab.pkts_out + .ba.pkts_out'
[ "$T_FAILED" = 0 ] || mpx_lkp_fail_dump
t_done
