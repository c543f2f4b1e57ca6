# emu/harness/bulk.jq — the bulk-transfer table of a run (experiments/bulk.exp), per variant and
# signal, from OUT/connections.jsonl (mpx-client's records as the harness collected them):
#   jq -r -s -f emu/harness/bulk.jq [--argjson down MBIT] [--argjson up MBIT] [--arg fmt json]
#      results/RUN/connections.jsonl
# down / up: the sum of the access links' rates in Mbit/s in that direction (hybrid.topo: 50 and
# 12, the defaults). Per signal:
#   goodput    = payload bytes / t_done_us (bytes_in for bulk-down, bytes_out for bulk-up), of
#                the completed connections; median and minimum, Mbit/s and % of the link sum
#   shares     = median share of each subflow (sf_bytes_in for down, sf_bytes_out for up;
#                MPTCP_TCPINFO order: the first subflow, then the joins), "-" without MPTCP
#   stalls     = failed connections, and those with more than 1 s without data-level progress
#                (max_gap_us: bytes read, written or, for uploads, DATA_ACKed, which mpx-client
#                samples with SIOCOUTQ; agents/README.md). Records without outq_samples come
#                from an earlier client whose bulk-up gap was its send buffer draining: their
#                uploads count as stalls only when they failed
#   vs model   = median of t_done / (setup + bytes * 8 / link sum), setup = the TTFB for bulk-down,
#                the connect (or signal reply) time for bulk-up: 1.00 is the line rate
# fmt json: the same numbers as JSON objects, one per variant and signal.
def median: sort | if length == 0 then null else .[(length - 1) / 2 | floor] end;
def r2: if . == null then null else (. * 100 | round) / 100 end;
(if $ARGS.named.down then $ARGS.named.down else 50 end) as $down |
(if $ARGS.named.up then $ARGS.named.up else 12 end) as $up |
[ .[] | select(type == "object" and has("signal") and has("variant")) ]
| group_by([.variant, .signal])
| map(
    (.[0].workload // "") as $wl
    | ($wl | startswith("bulk-up")) as $isup
    | (if $isup then $up else $down end) as $sum
    | [.[] | select(.ok == true and (.t_done_us // 0) > 0)] as $done
    | ($done | map((if $isup then .bytes_out else .bytes_in end) * 8 / .t_done_us)) as $gp
    | ($done | map(if $isup then .sf_bytes_out else .sf_bytes_in end
                   | select(. != null and length > 0)
                   | (add) as $t | if $t > 0 then map(. * 100 / $t) else empty end)) as $sh
    | {variant: .[0].variant, signal: .[0].signal, workload: $wl, n: length, ok: ($done | length),
       link_sum_mbit: $sum,
       goodput_mbit_p50: ($gp | median | r2), goodput_mbit_min: ($gp | min | r2),
       goodput_pct_of_links: (if ($gp | length) > 0 then ($gp | median) * 100 / $sum | r2 else null end),
       share_pct_p50: (if ($sh | length) > 0 then
                         [range(0; ($sh | map(length) | max)) as $i | $sh | map(.[$i] // 0) | median | round]
                       else null end),
       subflows_max: (map(.subflows // 0) | max),
       stalls: (map(select((.ok != true) or
                           ((($isup | not) or has("outq_samples")) and (.max_gap_us // 0) > 1000000)))
                | length),
       max_gap_ms_p50: (map(.max_gap_us // null | select(. != null) / 1000) | median | r2),
       vs_model_p50: ($done | map(.t_done_us / ((if $isup then (.t_sig_reply_us // .t_connected_us // 0)
                                              else (.ttfb_us // 0) end)
                         + ((if $isup then .bytes_out else .bytes_in end) * 8 / $sum))) | median | r2)})
| if $ARGS.named.fmt == "json" then .[]
  else
    ("| variant | signal | workload | ok/n | goodput p50 (min) Mbit/s | % of links | subflow shares % | stalls | completion / model |",
     "|---|---|---|---|---|---|---|---|---|",
     (.[] | "| \(.variant) | \(.signal) | \(.workload) | \(.ok)/\(.n) | \(.goodput_mbit_p50 // "-") (\(.goodput_mbit_min // "-")) of \(.link_sum_mbit) | \(.goodput_pct_of_links // "-") | \(if .share_pct_p50 then (.share_pct_p50 | map(tostring) | join(" / ")) else "-" end) | \(.stalls) | \(.vs_model_p50 // "-") |"))
  end
