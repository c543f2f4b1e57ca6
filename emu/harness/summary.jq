include "fidelity";
# summary.json from connections.jsonl (slurped as .), $varsf[0] (variant descriptions with their
# model, link stats, failover), $man (manifest), $sigs (signals.csv: variant,signal,status,reason),
# $reg (the signal registry, `mpx-wire signals --json`); the SYN option budgets are its rows' `budget`.
# The run's statistics (medians, percentiles, extra RTTs) are computed here and only here:
# the report, plots and compare read them from summary.json.
def r3: if . == null then null else (. * 1000 | round / 1000) end;
def r1: if . == null then null else (. * 10 | round / 10) end;
def pct(p): sort as $a | ($a | length) as $n |
  if $n == 0 then null else ((($n - 1) * p) as $h | ($h | floor) as $l |
    if $l + 1 < $n then $a[$l] + ($h - $l) * ($a[$l + 1] - $a[$l]) else $a[$l] end) end;
def median: pct(0.5);
# distribution-free 95 % confidence interval of the median from order statistics:
# the largest j with P(Bin(n, 1/2) <= j - 1) <= 0.025 gives [x(j), x(n-j+1)]
def median_ci: sort as $a | ($a | length) as $n |
  if $n < 6 then {lo: null, hi: null, level: null}
  elif $n > 1000 then (($n / 2 - 0.98 * ($n | sqrt)) | floor) as $j | {lo: $a[$j - 1], hi: $a[$n - $j], level: 0.95}
  else
    (reduce range(0; $n) as $k ({p: pow(0.5; $n), c: 0, j: 0};
       if (.c + .p) <= 0.025 then {p: (.p * ($n - $k) / ($k + 1)), c: (.c + .p), j: ($k + 1)} else . end)) as $r
    | (if $r.j < 1 then 1 else $r.j end) as $j
    | {lo: $a[$j - 1], hi: $a[$n - $j], level: (1 - 2 * $r.c)}
  end;
# qci(q): a distribution-free 95 % interval for the q-quantile of a sorted sample, from the
# binomial ranks around n q (normal approximation); null ends where the sample is too small
# (a p99 interval needs hundreds of connections). The point value is pct(q).
def qci($q): . as $a | length as $n |
  if $n < 6 then {p: null, lo: null, hi: null}
  else (1.96 * (($n * $q * (1 - $q)) | sqrt)) as $w
    | (($n * $q - $w) | floor) as $j | (($n * $q + $w) | ceil + 1) as $k
    | {p: ($a | pct($q) | r3), lo: (if $j >= 1 then $a[$j - 1] | r3 else null end),
       hi: (if $k <= $n then $a[$k - 1] | r3 else null end)} end;
def counts(f): map(f | tostring) | group_by(.) | map({key: .[0], value: length}) | from_entries;
# failover.json (failover.sh) holds one row per faulted connection; its totals and medians
# are computed here (the lower median: a value one connection really had)
def lowmed: sort | if length == 0 then null else .[(length - 1) / 2 | floor] end;
def failover_stats: if . == null then null else .per_connection as $rows | . + {
  n: ($rows | length), verified: ($rows | map(select(.verified)) | length),
  completed: ($rows | map(select(.ok)) | length),
  bytes_lost_total: ($rows | map(select(.ok)) | map(.bytes_lost) | add // 0),
  bytes_undelivered_failed: ($rows | map(select(.ok | not)) | map(.bytes_lost) | add // 0),
  stall_ms: ($rows | map(.stall_ms) | lowmed), stall_ms_max: ($rows | map(.stall_ms) | max),
  recovered_ms: ($rows | map(.recovered_after_ms // empty) | lowmed),
  not_recovered: ($rows | map(select(.recovered_after_ms == null)) | length),
  done_ms: ($rows | map(.done_ms // empty) | lowmed)} end;

# a signal's registry row: mode, channel, where it travels in the SYN and its evidence
# properties (an unknown name, e.g. an optional signal this build lacks, gets "?")
# A proxy/proxy row (chain.sh) "cpe:CHANNEL:wW" has the registry facts of CHANNEL.
def chain_of($s): if ($s | test("^cpe:.+:w[0-9]+$")) then ($s | capture("^cpe:(?<channel>.+):w(?<w>[0-9]+)$") | {channel, wait_ms: (.w | tonumber)}) else null end;
def channel($s): (chain_of($s).channel // $s);
def row($s): channel($s) as $n | ($reg[0].signals | map(select(.name == $n)) | .[0]) // null;
def props($s): row($s) as $r |
  if $r == null then {mode: "?", channel: "?", varlen: "?", multi: "?", in_syn: "?"}
  else $r | {mode, channel, varlen, multi, in_syn} end;
# the reference every extra RTT is measured against: the row without any proxy
def refsig: ($reg[0].signals | map(select(.mode == "none")) | .[0].name) // null;

def budgets: ($reg[0].signals // []) | map({key: .name, value: .budget}) | from_entries;
def bgt($s; $k): budgets[channel($s)][$k] // null;
def bdesc($b): "mpx-wire budget: \($b.items) = \($b.requested) B \(if $b.fits then "<=" else ">" end) 40";
# IPv6 target: does the signal still fit with a 16-byte address? The registry gives the
# verdict and its reason (for option signals mpx-wire already judged the v6 budget)
def ipv6_fit($s): row($s) as $r |
  if $r == null then {verdict: "?", how: "not in the signal registry"}
  else {verdict: $r.ipv6, how: $r.ipv6_how} end;

$varsf[0] as $vars
| ($sigs | split("\n") | .[1:] | map(select(length > 0) | split(",")) |
  map({variant: .[0], signal: .[1], status: .[2], reason: (.[3:] | join(",") | gsub("^\"|\"$"; ""))})) as $st
# the connections the plan gave each signal (plan.csv: variant,rep,step,signal)
| ($plan | split("\n") | .[1:] | map(select(length > 0) | split(",")) | group_by(.[0] + "," + .[3])
  | map({key: (.[0][0] + "," + .[0][3]), value: length}) | from_entries) as $planned
| . as $conns
| ($vars | map(select((.middlebox // []) | length == 0)) | .[0].name // null) as $basev
| [ $vars[] as $v
    | ($conns | map(select(.variant == $v.name))) as $vc
    | ($vc | map(select(.signal == refsig and .ok == true and .ttfb_us != null) | .ttfb_us / 1000) | median) as $ref_p50
    | ($v.model.R_cp_ms) as $rcp
    | $v + {
      fidelity: ($v | fidelity),
      failover: ($v.failover | failover_stats),
      tcp_ttfb_ms_p50: ($ref_p50 | r3), reference_signal: refsig,
      signals: [ ($st | map(select(.variant == $v.name)))[] as $sig
        | $sig.signal as $s
        | ($vc | map(select(.signal == $s))) as $c
        | ($c | map(select(.ok == true and .ttfb_us != null) | .ttfb_us / 1000)) as $t
        | ($c | map(select(.a != null))) as $a
        | ($a | map(.a.syn_opt_bytes // empty)) as $ob
        | ($a | map(.a.syn_opt_left // empty)) as $ol
        | ($v.model.signals[$s] // null) as $m
        | ($t | median) as $p50
        | {signal: $s, status: $sig.status, reason: (if $sig.reason == "" then null else $sig.reason end)}
          + {planned: ($planned[$v.name + "," + $s] // 0)}
          + props($s)
          # who signals: the client itself, or the CPE for a plain-TCP LAN client (chain.sh)
          + {role: (if chain_of($s) != null then "proxy/proxy" elif props($s).mode == "none" then "direct" else "client/proxy" end),
             chain: chain_of($s)}
          + {
            n: ($c | length), ok: ($c | map(select(.ok == true)) | length),
            skipped: ($skipped | split("\n") | map(select(length > 0) | split(",") | select(.[0] == $v.name and .[3] == $s)) | length),
            verified: ($c | map(select(.verified == true)) | length),
            failed: ($c | map(select(.ok != true)) | length),
            errors: ($c | map(select(.ok != true)) | counts(.error // "unknown")),
            mptcp: ($c | counts(.mptcp // "unknown")),
            tfo: ($c | counts(.tfo // "unknown")),
            ttfb_ms: {n: ($t | length), p50: ($p50 | r3), p2_5: ($t | pct(0.025) | r3), p97_5: ($t | pct(0.975) | r3),
                      p5: ($t | pct(0.05) | r3), p95: ($t | pct(0.95) | r3),
                      min: ($t | min | r3), max: ($t | max | r3),
                      mean: (if ($t | length) > 0 then ($t | add / length | r3) else null end),
                      median_ci95: ($t | median_ci | {lo: (.lo | r3), hi: (.hi | r3), level: (.level | r3)})},
            analyzer: {n: ($a | length), unmatched: (($c | length) - ($a | length)),
                       ttfb_ms_p50: ($a | map(.a.ttfb_us // empty | . / 1000) | median | r3),
                       hs_rtt_ms_p50: ($a | map(.a.hs_rtt_us // empty | . / 1000) | median | r3),
                       rtts_before_data: ($a | map(.a.rtts_before_data // empty) | median),
                       mptcp: ($a | counts(.a.mptcp // "unknown")),
                       signal_seen: ($a | counts(.a.signal // "unknown")),
                       fallback_causes: ($a | map(select(.a.fallback_cause != null)) | counts(.a.fallback_cause)),
                       cookie_used: ($a | map(select(.a.tfo.cookie_used == true)) | length),
                       syn_data_acked: ($a | map(select(.a.tfo.syn_data_acked == true)) | length)},
            syn_opt: {bytes: ($ob | median), left: ($ol | median), min: ($ob | min), max: ($ob | max),
                      synack_bytes: ($a | map(.a.synack_opt_bytes // empty) | median)},
            violations: ($a | map(.a.violations_total // (.a.violations // [] | length)) | add // 0),
            by_rule: ([$a[].a.violations[]?.rule] | counts(.)),
            model: (if $m == null then null else {ttfb_ms: ($m.ttfb_ms | r3), formula: $m.formula,
                    derivation: $m.derivation, extra_rtt: $m.extra_rtt, rtts_before_data: $m.rtts_before_data,
                    formula_id: ($m.formula_id // null), g_ms: ($m.g_ms // null)} end),
            extra_rtt: (if $p50 != null and $ref_p50 != null and $rcp != null and $rcp > 0
                        then (($p50 - $ref_p50) / $rcp | r3) else null end),
            ttfb_dev_pct: (if $p50 != null and $m != null and $m.ttfb_ms > 0
                           then (($p50 - $m.ttfb_ms) / $m.ttfb_ms * 100 | r1) else null end),
            # the simulator on the same links, seeds and plan (emu/harness/sim.sh): what the
            # network alone costs; measured - simulated is what the hosts and agents add
            simulated: (($v.sim // null) as $sj
              | if $sj == null then null
                elif $sj.status != "ok" then {status: $sj.status, reason: $sj.reason}
                elif ($sj.signals[$s] // null) == null then null
                else $sj.signals[$s] + {status: "ok", backend: ($sj.backend // null)} end),
            # when the converter acts on this signal's SYN data: the proxy's own statement per
            # front-end (its stats), else what the policy implies for the row (a simulated run)
            syn_data_policy: (row($s) as $r
              | if $r == null or ($r.syn_data | not) then null else
                ($v.syn_data_policy // "cookie") as $pol
                | ($v.agents.proxy.syn_data_policy[$r.frontend // ""] // null) as $eff
                | {policy: $pol,
                   acts: (if $eff != null then (if $eff == "third-ack" then "third ACK" else "SYN" end)
                          elif $pol == "third-ack" or ($pol == "cookie" and $r.tfo != "cookie") then "third ACK"
                          else "SYN" end),
                   source: (if $eff != null then "proxy" else "policy" end)} end),
            # connections that paid a SYN timeout (the 1 s initial SYN RTO: no handshake on these
            # topologies takes a second otherwise), measured and simulated
            syn_timeouts: {n: ($c | map(select((.t_connected_us // 0) >= 1000000)) | length),
                           share: (if ($c | length) > 0 then (($c | map(select((.t_connected_us // 0) >= 1000000)) | length) / ($c | length) | r3) else null end),
                           simulated_share: (($v.sim.signals[$s] // null) as $x
                             | if $x == null or ($x.n // 0) == 0 then null else ($x.syn_timeouts / $x.n | r3) end)},
            ttfb_ms_p90_ci: ($t | sort | qci(0.9)),
            sim_residual_ms: (($v.sim.signals[$s].p50 // null) as $sp
              | if $p50 == null or $sp == null or ($v.sim.backend // null) == "sim" then null
                else ($p50 - $sp | r3) end),
            coexist: (
              props($s).in_syn as $in
              | if channel($s) == refsig and chain_of($s) == null then {verdict: "—", how: "no signal"}
                elif $in == "app" then {verdict: "n/a", how: "the signal travels after the handshake; the SYN is an ordinary MPTCP SYN"}
                elif ($a | map(select(.a.tfo.cookie_used == true and .a.mptcp == "mptcp" and
                        ($in != "payload" or (.a.tfo.syn_data_len // 0) > 0))) | length) > 0
                  then {verdict: "yes", how: "measured: cookie + MP_CAPABLE + signal in one SYN"}
                elif $in == "ipopt" then {verdict: "yes", how: "the signal is in the IP header: TCP option space untouched"}
                elif bgt($s; "v4-cookie") != null then (bgt($s; "v4-cookie") as $b |
                  {verdict: (if $b.fits then "yes" else "no" end), how: "\(bdesc($b)) (arithmetic; no cookie was used in this run)"})
                elif ($ol | median) == null then {verdict: "?", how: "no analyzed SYN"}
                elif ($ol | median) >= 12 then {verdict: "yes", how: "\($ol | median) B left >= 12 B for an 8-B cookie option (not used in this run)"}
                else {verdict: "no", how: "\($ol | median) B left < 12 B for an 8-B cookie option"} end),
            ipv6: ipv6_fit($s),
            # proxy/proxy: the per-leg times (chain-join.jq: mpx-analyze --legs or the step's
            # time window; µs from the LAN SYN) and the CPE's own counters for this listener
            legs: (if chain_of($s) == null then null else
              ($c | map(.legs // empty)) as $lg
              | def gmed($k): ($lg | map(.gaps_us[$k] // empty | . / 1000) | median | r3);
              {n: ($lg | length), complete: ($lg | map(select(.complete == true)) | length),
               source: ($lg | map(.source) | unique),
               lan_syn_to_access_syn_ms: gmed("lan_syn_to_access_syn"), access_syn_to_wan_syn_ms: gmed("access_syn_to_wan_syn"),
               cpe_wait_ms: gmed("cpe_wait"), cpe_req_to_access_syn_ms: gmed("cpe_req_to_access_syn"), hag_wait_ms: gmed("hag_wait"),
               lan_ttfb_ms: gmed("lan_ttfb"), access_ttfb_ms: gmed("access_ttfb"), wan_ttfb_ms: gmed("wan_ttfb"),
               server_resp_ms: gmed("server_resp"),
               syn_carries_request: ($lg | map(select(.syn_carries_request == true)) | length),
               hag_connect_at: ($lg | map(select(.hag_connect_at != null)) | counts(.hag_connect_at)),
               access_subflows: ($c | map(.legs.access_subflows // .a_access.subflows // empty) | median),
               access_mptcp: ($c | map(select(.a_access != null)) | counts(.a_access.mptcp // "unknown"))} end),
            cpe: (chain_of($s) as $ch | if $ch == null then null else
              ((($v.agents.cpe.cpe // {}) | if type == "object" then (.listeners // []) elif type == "array" then . else [] end)
               | (($v.agents.chain_ports // {})[$s].cpe_port // null) as $port
               | map(select(if $port != null then .port == $port else .signal == $ch.channel and (.wait_ms // -1) == $ch.wait_ms end)) | .[0]) end)
          }
      ]
    }
  ] as $vv
# survival of each middlebox variant, per signal, against the first variant without one
| ($vv | map(select(.name == $basev)) | .[0] // null) as $bv
| ($vv | map(select((.middlebox // []) | length > 0))) as $mbv
| $vv | map(. as $v | .signals |= map(. as $sg |
    . + {middleboxes: [ $mbv[] | . as $m | ($m.signals | map(select(.signal == $sg.signal)) | .[0]) as $x
      | ($bv.signals // [] | map(select(.signal == $sg.signal)) | .[0]) as $b
      | (($x.ttfb_ms.p50 // null) as $t | ($b.ttfb_ms.p50 // null) as $t0 |
         if $t != null and $t0 != null and ($t - $t0) > 0.2 * $t0 then ", TTFB +\(($t - $t0) | round) ms" else "" end) as $slow
      | {variant: $m.name, middlebox: ($m.middlebox | join(" ")),
         ttfb_delta_ms: (if $x.ttfb_ms.p50 != null and $b.ttfb_ms.p50 != null then ($x.ttfb_ms.p50 - $b.ttfb_ms.p50) else null end),
         verdict: (if $x == null or $x.n == 0 then "not run"
                   elif $x.failed > 0 then "breaks (\($x.failed)/\($x.n) failed)"
                   elif (($b.mptcp.mptcp // 0) > 0) and (($x.mptcp.mptcp // 0) < $x.n) then "falls back (\($x.n - ($x.mptcp.mptcp // 0))/\($x.n) not MPTCP\($slow))"
                   elif $slow != "" then "passes, slower (\($slow[2:]))"
                   else "passes" end)} ]}))
# every variant's health (links/V/health.json, written by run.sh): ok, failed, partial, not run
| map(. + {health: (.health // {status: "ok", reason: null})})
| . as $out
# what keeps the run from being evidence, one entry per cause; run.sh turns it into the exit
# code (3 failed variant, 4 partial, 6 no verified connection, 5 not faithful) and the report lists .lines
| ($man[0].run_timeout_hit // false) as $partial
| [$out[] | select(.health.status == "failed") | {variant: .name, reason: .health.reason}] as $fv
# a variant that ran and whose emulation did not keep up (fidelity.jq): exit 5 unless accepted
| [$out[] | select(.health.status != "not run" and .fidelity.verdict == "not faithful")
    | {variant: .name, reasons: .fidelity.reasons}] as $uf
| [$out[] | select(.health.status != "failed" and .health.status != "not run" and ((.middlebox // []) | length == 0)) | .name as $vn
    | .health.status as $h | .signals[] | select(.status == "run" and .verified == 0 and (.n > 0 or $h == "ok"))
    | {variant: $vn, signal, n, failed, skipped, error: (.errors | keys | first // null)}] as $nv
| {run_id: $man[0].run_id, experiment: $man[0].experiment.name, seed: $man[0].seed,
   repetitions: $man[0].repetitions, reproduce: $man[0].reproduce, baseline_variant: $basev,
   reference_signal: refsig,
   option_budget: budgets,
   variants: $out,
   problems: {failed_variants: $fv, partial: $partial, no_verified: $nv, unfaithful: $uf,
     time_limit_s: ($man[0].experiment.timeouts.run_s // 0),
     lines: ([$fv[] | "variant `\(.variant)` FAILED: \(.reason)"]
       + (if $partial then ["partial: the time limit (\($man[0].experiment.timeouts.run_s) s) stopped the run; connections recorded per signal: "
           + ([$out[] | .name as $vn | .health.status as $h
               | "\($vn)" + (if $h == "not run" then " not run" else ": " + ([.signals[] | select(.status == "run") | "\(.signal) \(.n)/\(.planned)"] | join(", ")) end)]
              | join("; "))] else [] end)
       + [$nv[] | "no verified connection: `\(.signal)` in variant `\(.variant)` (\(.n) run, \(.failed) failed\(if (.skipped // 0) > 0 then ", \(.skipped) skipped" else "" end)\(if .error != null then "; first error: \(.error)" else "" end))"]
       + [$uf[] | "variant `\(.variant)` NOT FAITHFUL: \(.reasons | join("; "))"])}}
