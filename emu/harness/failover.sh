# shellcheck shell=bash
# mpxlab harness: failover measurements for variants with a fault schedule.
#   mpx_failover_analyze OUT VARIANT   -> OUT/links/VARIANT/failover.json (+ plot data)
# Per faulted connection, from the link pcaps (tcpdump, fast on large captures):
#   - bytes lost   = the workload's expected response bytes - bytes the client received
#   - stall        = the longest interval without progress of the client's MPTCP DATA_ACK
#                    (in-order data delivered at the connection level) that ends after the
#                    fault; recovery = from the fault to the end of that interval
# DATA_ACK values are compared as strings (64-bit numbers): only "did it change" matters.
# Fault times come from the run's own records: the harness's (logs/V/faults.log, nftables faults)
# and the link emulators' (pcaps/V/LINK.schedule.jsonl: what each emulator's schedule did and
# when, in its clock, for "linkem:" faults); the fault of a step is the first down or
# carrier-down inside the step's time window.

# _mpx_bytes SIZE: "20MB" -> 20000000 (KB/MB/GB = 10^3 steps, KiB/MiB/GiB = 2^10, as mpx-client)
_mpx_bytes() {
  [[ $1 =~ ^([0-9]+)([KMG]i?B|kB|B)?$ ]] || { echo 0; return; }
  local n=${BASH_REMATCH[1]} u=${BASH_REMATCH[2]}
  case $u in
    ''|B) echo "$n" ;; KB|kB) echo $((n * 1000)) ;; MB) echo $((n * 1000000)) ;; GB) echo $((n * 1000000000)) ;;
    KiB) echo $((n << 10)) ;; MiB) echo $((n << 20)) ;; GiB) echo $((n << 30)) ;;
  esac
}

mpx_failover_analyze() {
  local o=$1 v=$2 ld pd
  ld=$o/links/$v pd=$o/pcaps/$v
  [ -s "$o/logs/$v/faults.log" ] || return 0
  command -v tcpdump >/dev/null || { echo '{"method":"tcpdump missing: not measured"}' > "$ld/failover.json"; return 0; }
  local expect wl
  wl=$(jq -r .workload "$ld/variant.json")
  case $wl in bulk-down\ *) expect=$(_mpx_bytes "${wl#bulk-down }") ;; rr\ */*) expect=$(_mpx_bytes "${wl##*/}") ;; *) expect=0 ;; esac
  # client-side packets on every link that touches the client: DATA_ACKs sent, payload received
  local l a
  : > "$ld/.acks"; : > "$ld/.data"
  while read -r l _ _ _ _; do
    for a in $(awk -v l="$l" '$1 == "client" && $2 == l && $3 != "-" {print $3}' "$ld/addrs"); do
      [ -s "$pd/$l.pcap" ] || continue
      timeout 300 tcpdump -tt -nn -r "$pd/$l.pcap" "src host $a and tcp" 2>/dev/null |
        awk -v l="$l" '{ if (match($0, /dss ack [0-9]+/)) print $1, l, substr($0, RSTART + 8, RLENGTH - 8) }' >> "$ld/.acks"
      timeout 300 tcpdump -tt -nn -r "$pd/$l.pcap" "dst host $a and tcp" 2>/dev/null |
        awk -v l="$l" '{ n = $NF; if ($(NF-1) == "length" && n > 0) print $1, l, n }' >> "$ld/.data"
    done
  done < "$ld/links.txt"
  sort -n -k1,1 -o "$ld/.acks" "$ld/.acks"; sort -n -k1,1 -o "$ld/.data" "$ld/.data"
  # every fault action, "EPOCH_S LINK ACTION", from both records
  local sf
  { awk '$3 ~ /^(down|up)$/' "$o/logs/$v/faults.log"
    for sf in "$pd"/*.schedule.jsonl; do
      [ -s "$sf" ] || continue
      jq -r --arg l "$(basename "$sf" .schedule.jsonl)" 'select(.trig and (.act | test("^(carrier-)?(down|up)$")))
        | (.real_us | tostring) as $u | "\($u[0:-6]).\($u[-6:]) \($l) \(.act)"' "$sf"
    done; } | sort -n -k1,1 > "$ld/.faults"
  # per faulted step
  local steps
  steps=$(awk -F, -v v="$v" '$1 == v {print $3, $4, $5, $6}' "$o/steps.csv")
  : > "$ld/.fo"
  local k sig t0 t1 tf
  while read -r k sig t0 t1; do
    tf=$(awk -v a="$t0" -v b="$t1" '$3 ~ /down$/ && $1 >= a && $1 <= b {print $1; exit}' "$ld/.faults")
    [ -n "$tf" ] || continue
    awk -v t0="$t0" -v t1="$t1" -v tf="$tf" -v k="$k" -v s="$sig" '
      $1 >= t0 && $1 <= t1 { if ($3 != last) { n++; at[n] = $1; last = $3 } }
      END {
        best = 0; bend = ""
        for (i = 1; i < n; i++) { if (at[i + 1] <= tf) continue
          st = (at[i] > tf) ? at[i] : tf; g = at[i + 1] - st; if (g > best) { best = g; bend = at[i + 1] } }
        # progress never came back after the fault: the stall lasts to the end of the step
        # the tail: no progress from the last advance (or the fault) to the end of the step
        tl = (n > 0 && at[n] > tf) ? at[n] : tf
        if (t1 - tl > best) { best = t1 - tl; bend = "" }
        printf "%s %s %s %.3f %s\n", k, s, tf, best * 1000, (bend == "" ? "none" : sprintf("%.3f", (bend - tf) * 1000))
      }' "$ld/.acks" >> "$ld/.fo"
  done <<< "$steps"
  # time-sequence data of the first faulted step: cumulative MB per link, time from step start
  local first
  first=$(head -n1 "$ld/.fo" | awk '{print $1}')
  if [ -n "$first" ]; then
    read -r t0 t1 <<< "$(awk -F, -v v="$v" -v k="$first" '$1 == v && $3 == k {print $5, $6}' "$o/steps.csv")"
    awk -v t0="$t0" -v t1="$t1" '$1 >= t0 && $1 <= t1 { c[$2] += $3; print $2, $1 - t0, c[$2] / 1e6 }' "$ld/.data" |
      awk '{ s[$1] = s[$1] $2 " " $3 "\n" } END { for (l in s) printf "# %s\n%s\n\n", l, s[l] }' > "$ld/failover-series.dat"
    awk -v t0="$t0" -v t1="$t1" '$1 >= t0 && $1 <= t1 { printf "%.3f %s %s\n", $1 - t0, $2, $3 }' "$ld/.faults" > "$ld/failover-marks.dat"
  fi
  # join with the client's view
  jq -n -c --argjson expect "$expect" --rawfile fo "$ld/.fo" --slurpfile conns <(jq -c --arg v "$v" 'select(.variant == $v)' "$o/connections.jsonl") \
    --arg faults "$(jq -r '.faults | join("; ")' "$ld/variant.json")" '
    ($fo | split("\n") | map(select(length > 0) | split(" ") |
      {step: (.[0] | tonumber), signal: .[1], t_fault: (.[2] | tonumber), stall_ms: (.[3] | tonumber),
       recovered_after_ms: (if .[4] == "none" then null else (.[4] | tonumber) end)})) as $f
    | [$f[] | . as $x | ($conns | map(select(.step == $x.step)) | .[0]) as $c |
        $x + {ok: ($c.ok // false), verified: ($c.verified // false), bytes_in: ($c.bytes_in // 0),
              bytes_lost: ($expect - ($c.bytes_in // 0)), done_ms: (if $c.t_done_us then $c.t_done_us / 1000 else null end),
              error: ($c.error // null)}] as $rows
    | {faults: ($faults | split("; ")), expected_bytes: $expect,
     method: "fault: down = every packet arriving on the link'"'"'s two end interfaces dropped (nftables, prerouting) from the fault time, a silent blackhole without carrier loss; linkem:down = the link emulator drops every frame (its own schedule, timed from a trigger sent just before the connection, in its clock); linkem:carrier-down = the emulator sets its two interfaces down, which the hosts see as carrier loss (NO-CARRIER; their own frames to the link dropped by their veth). Fault times from the run'"'"'s records (faults.log, LINK.schedule.jsonl). Stall = longest interval without a change of the client'"'"'s MPTCP DATA_ACK (in-order delivery at the connection level) ending after the fault, from the link pcaps.",
     per_connection: $rows}' > "$ld/failover.json"
  rm -f "$ld/.acks" "$ld/.data" "$ld/.faults"
}
