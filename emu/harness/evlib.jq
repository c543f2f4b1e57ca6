# Shared report pieces (jq module: include "evlib"; with -L emu/harness).
include "fidelity";
def num(d): if . == null then "–" elif (. * pow(10; d) | round) == 0 then "0" else (. * pow(10; d) | round / pow(10; d) | tostring) end;
def sgn: if . == null then "–" elif (. * 100 | round) == 0 then "0" elif . > 0 then "+" + (. | num(2)) else (. | num(2)) end;
def pipe_safe: tostring | gsub("\\|"; "/") | gsub("\n"; " ");

# native_cell($v): does a native end-to-end MPTCP connection to an MPTCP server survive while
# this signal's HAG setup is active (measured by the probes of the implicit-mode signals)?
def native_cell($v):
  . as $s | (($v.native_mptcp // {})[$s.signal] // null) as $n
  | if $s.mode != "implicit" then "yes (HAG does not intercept)"
    elif $n == null then "not measured"
    elif $n.n == 0 then "not measured"
    elif $n.end_to_end == $n.n then "yes (\($n.end_to_end)/\($n.n) end to end)"
    elif $n.end_to_end == 0 then "**no**: hijacked by the HAG (\($n.intercepted)/\($n.n))"
    else "partly (\($n.end_to_end)/\($n.n) end to end)" end;

# vmark: the variant's state after its name wherever a table uses the variant ("" = sound):
# failed, partial, not run, and NOT FAITHFUL (fidelity.jq)
def vmark:
  (.health.status // "ok") as $h
  | (if $h == "failed" then " **FAILED**" elif $h == "partial" then " (partial: time limit)"
     elif $h == "not run" then " (not run: time limit)" else "" end)
    + (if $h == "not run" then "" else fid_mark end);
# vnote: the lines above a variant's evidence table: its fidelity verdict with the numbers,
# and why its rows are not evidence as they stand
def vnote:
  (.health // {status: "ok"}) as $h
  | (if .fidelity != null and $h.status != "not run" then
      "> \(fid_line | pipe_safe)\(if .fidelity.verdict == "not faithful" then ". These rows are not evidence as they stand (mpxlab run --accept-unfaithful)." else "" end)", "" else empty end),
    if $h.status == "failed" then "> **Variant FAILED** — \($h.reason // "?" | pipe_safe). Its rows are not evidence.", ""
    elif $h.status == "partial" then "> **Partial** — \($h.reason // "?" | pipe_safe); the connection counts below are what ran.", ""
    elif $h.status == "not run" then "> **Not run** — \($h.reason // "?" | pipe_safe).", ""
    else empty end;

# The evidence table of one variant (object from summary.variants). Its columns, in order:
# ev_columns names them, ev_head gives a column's heading and ev_cell its cell for one signal
# row (input: the signal's object; $v: the variant). A new column is one name in ev_columns
# and one branch in each of ev_head and ev_cell.
def ev_columns: ["signal", "mode", "channel", "extra_rtt", "model_extra_rtt", "rtts_before_data", "ttfb",
  "model_ttfb", "sim_ttfb", "syn_policy", "syn_opt", "native_mptcp", "tfo_coexist", "varlen", "multi", "ipv6", "middleboxes",
  "encoding", "verified"];
# a chain variant (proxy/proxy rows, chain.sh) adds who signals, the CPE's SYN and its fallbacks
# a calibrated model (emu/harness/sim.sh: per-node processing times fitted on a loss-free
# variant) adds its column after the uncalibrated one
def ev_columns0($v): if $v.chain == null then ev_columns
  else ev_columns | .[0:1] + ["role"] + .[1:] | (index("syn_opt") + 1) as $i | .[0:$i] + ["cpe_syn", "cpe_fallback"] + .[$i:] end;
def ev_columns($v): ev_columns0($v)
  | if ($v.sim.calibrated.signals // null) == null then . else (index("sim_ttfb") + 1) as $i | .[0:$i] + ["sim_cal"] + .[$i:] end;
def ev_head($c; $v):
  if $c == "signal" then "signal" elif $c == "mode" then "mode" elif $c == "channel" then "channel"
  elif $c == "role" then "who signals (W)"
  elif $c == "cpe_syn" then "CPE's SYN carries the LAN request"
  elif $c == "cpe_fallback" then "CPE fallbacks (direct / accepted)"
  elif $c == "extra_rtt" then "extra RTTs vs \($v.reference_signal // "the reference"), measured"
  elif $c == "model_extra_rtt" then "model"
  elif $c == "rtts_before_data" then "RTTs before data (analyzer / model)"
  elif $c == "ttfb" then "TTFB median ms [95 % of conns]"
  elif $c == "model_ttfb" then "model TTFB ms"
  elif $c == "sim_ttfb" then "simulated TTFB ms (measured − simulated)"
  elif $c == "sim_cal" then "calibrated simulated TTFB ms (residual explained / remaining)"
  elif $c == "syn_policy" then "converter acts on SYN data at (policy)"
  elif $c == "syn_opt" then "SYN option bytes used / left"
  elif $c == "native_mptcp" then "native MPTCP survives"
  elif $c == "tfo_coexist" then "TFO coexistence"
  elif $c == "varlen" then "variable-length data"
  elif $c == "multi" then "multiple instances"
  elif $c == "ipv6" then "IPv6 target fits"
  elif $c == "middleboxes" then "middleboxes"
  elif $c == "encoding" then "encoding checks"
  elif $c == "verified" then "verified"
  else $c end;
# ev_cal($v): a signal row's calibrated model median (sim.json .calibrated, emu/harness/sim.sh) with
# the residual measured − simulated split in two: explained = calibrated − simulated (what the
# fitted processing times add on this signal's steps), remaining = measured − calibrated
def ev_cal($v):
  . as $s | (($v.sim.calibrated.signals // {})[$s.signal].p50 // null) as $c
  | if $c == null or ($s.simulated.status // "") != "ok" or $s.simulated.p50 == null or $s.simulated.backend == "sim" then null
    else {cal: $c, explained: ($c - $s.simulated.p50),
          remaining: (if $s.status == "run" and ($s.ttfb_ms.n // 0) > 0 and $s.ttfb_ms.p50 != null then $s.ttfb_ms.p50 - $c else null end)} end;
def ev_cell($c; $v):
  (.status == "run") as $run |
  if $c == "signal" then "`\(.signal)`"
  elif $c == "role" then (if .role == "proxy/proxy" then "proxy/proxy (W = \(.chain.wait_ms) ms)" else .role // "–" end)
  elif $c == "cpe_syn" then
    (if .role != "proxy/proxy" or ($run | not) then "—"
     elif (.legs.n // 0) == 0 then "not joined"
     else "\(.legs.syn_carries_request)/\(.legs.n)\(if (.legs.access_subflows // null) != null then "; \(.legs.access_subflows) subflows" else "" end)" end)
  elif $c == "cpe_fallback" then
    (if .role != "proxy/proxy" then "—" elif .cpe == null then "no CPE counters"
     else "\(.cpe.fallback_direct // 0) / \(.cpe.accepted // 0)\(if (.cpe.failed // 0) > 0 then ", \(.cpe.failed) failed" else "" end)" end)
  elif $c == "mode" then "\(.mode)"
  elif $c == "channel" then "\(.channel)"
  elif $c == "extra_rtt" then
    (if $run | not then "not run: \(.reason // "?" | pipe_safe)" elif .mode == "none" and .role != "proxy/proxy" then "0 (reference)" else (.extra_rtt | sgn) end)
  elif $c == "model_extra_rtt" then (.model.extra_rtt | sgn)
  elif $c == "rtts_before_data" then "\(if $run then .analyzer.rtts_before_data // "–" else "–" end) / \(.model.rtts_before_data // "–")"
  elif $c == "ttfb" then
    (if $run | not then "–" elif .ttfb_ms.n > 0 then "\(.ttfb_ms.p50 | num(1)) [\(.ttfb_ms.p2_5 | num(1))–\(.ttfb_ms.p97_5 | num(1))]" else "– (no successful connection)" end)
  elif $c == "model_ttfb" then
    "\(.model.ttfb_ms | num(1))\(if $run and .ttfb_dev_pct != null then " (\(.ttfb_dev_pct | sgn) %)" else "" end)"
  elif $c == "sim_ttfb" then
    (if .simulated == null then "–"
     elif .simulated.status != "ok" then "not modelled"
     elif .simulated.backend == "sim" then "\(.simulated.p50 | num(1)) (this run)"
     else "\(.simulated.p50 | num(1))\(if .sim_residual_ms != null then " (\(.sim_residual_ms | sgn))" else "" end)" end)
  elif $c == "sim_cal" then ev_cal($v) as $k
    | if $k == null then "–" else "\($k.cal | num(1)) (\($k.explained | sgn) / \($k.remaining | sgn))" end
  elif $c == "syn_policy" then
    (if .syn_data_policy == null then "—" else "\(.syn_data_policy.acts) (\(.syn_data_policy.policy))" end)
  elif $c == "syn_opt" then (if ($run | not) or .syn_opt.bytes == null then "–" else "\(.syn_opt.bytes) / \(.syn_opt.left)" end)
  elif $c == "native_mptcp" then native_cell($v)
  elif $c == "tfo_coexist" then (if $run then "\(.coexist.verdict)" else "–" end)
  elif $c == "varlen" then "\(.varlen)"
  elif $c == "multi" then "\(.multi)"
  elif $c == "ipv6" then "\(.ipv6.verdict)"
  elif $c == "middleboxes" then
    (if $run | not then "–" elif (.middleboxes | length) == 0 then "not tested here (middlebox.exp)" else (.middleboxes | map("\(.middlebox): \(.verdict)") | join("; ")) end)
  elif $c == "encoding" then
    (if $run | not then "–" elif .analyzer.n == 0 then "not analyzed" elif .violations == 0 then "all clean" else "\(.violations) violations" end)
  elif $c == "verified" then
    (if $run | not then "–" else "\(.verified)/\(.n)\(if (.skipped // 0) > 0 then " (\(.skipped) skipped after the first failures)" else "" end)" end)
  else "?" end;

# ev_cal_note (input: a variant): under its evidence table, the fitted times and how much of the
# residual they explain over the variant's measured signals (nothing without a calibration)
def ev_cal_note:
  . as $v | ($v.sim.calibrated // null) as $k
  | if $k == null or ($k.signals // null) == null then empty else
    [$v.signals[] | . as $s | ev_cal($v) as $x | select($x != null and $x.remaining != null)
     | $x + {res: ($s.ttfb_ms.p50 - $s.simulated.p50), lo: $s.ttfb_ms.median_ci95.lo, hi: $s.ttfb_ms.median_ci95.hi}] as $r
    | def mean(f): [$r[] | f] | if length == 0 then null else add / length end;
      def rms(f): [$r[] | f | . * .] | if length == 0 then null else add / length | sqrt end;
      [$r[] | select(.lo != null and .hi != null)] as $b
    | "",
      "*Calibrated*: the same model with each node's processing time per application step fitted on \(if $k.from == $v.name then "these connections (the loss-free variant `\($k.from)`" else "the loss-free variant `\($k.from // "?")` (out of sample" end); `mpx-sim --calibrate`, section \"Calibration\"): **client \($k.proc_us.client) µs, proxy \($k.proc_us.proxy) µs, server \($k.proc_us.server) µs\($k.proc_us.optd // null | if . == null then "" else ", mpx-optd \(.) µs per hop" end)**. "
      + (if ($r | length) == 0 then "No signal was measured here." else
        "Over the \($r | length) signals measured here the residual measured − simulated is \(mean(.res) | num(2)) ms on average (RMS \(rms(.res) | num(2))); the fitted times explain \(mean(.explained) | num(2)) ms of it and \(mean(.remaining) | sgn) ms remain (RMS \(rms(.remaining) | num(2))). The calibrated median lies inside the measured median's 95 % interval for \([$b[] | select(.cal >= .lo and .cal <= .hi)] | length) of \($b | length) signals (uncalibrated: \([$b[] | select((.cal - .explained) >= .lo and (.cal - .explained) <= .hi)] | length))." end)
    end;

def evidence_table:
  . as $v |
  vnote,
  ev_columns($v) as $cols |
  "| " + ($cols | map(ev_head(.; $v)) | join(" | ")) + " |",
  "|" + ($cols | map("---|") | join("")),
  ($v.signals[] | . as $s | "| " + ($cols | map(. as $c | $s | ev_cell($c; $v)) | join(" | ")) + " |"),
  ($v | ev_cal_note);

# (input: the summary; the reference is the registry row without a proxy)
def evidence_notes:
  (.reference_signal // "the reference") as $ref |
  "Columns: *extra RTTs vs \($ref)* = (TTFB median of the signal − TTFB median of `\($ref)`) / R_cp, measured, next to the same quantity from the analytic model (negative: faster than direct TCP). *RTTs before data* = round trips the client spent before its request could leave (the analyzer's count from the pcap / the model). *TTFB* = first SYN to first response byte at the client (client clock), median and the interval holding the central 95 % of connections; the model value follows with the median's deviation from it. *simulated TTFB* = the median of the same plan on the discrete-event model (bin/mpx-sim: the same links, seeds and option bytes, zero processing time in the hosts), with the measured median minus it: the time the hosts and agents add beyond the network.\(if ([.variants[] | select(.sim.calibrated.signals != null)] | length) > 0 then " *calibrated simulated TTFB* = the same model with per-node processing times fitted to the residuals of the run's first loss-free variant (section \"Calibration\"), with the residual split into what those times explain (calibrated − simulated) and what remains (measured − calibrated); the line under each table gives the times and the totals." else "" end) *converter acts on SYN data at* = for SYN-payload signals, whether the converter connected downstream at the SYN (0-RTT) or only after the client's third ACK, under its SYN-data policy (mpx-proxy --syn-data-policy, the .exp line syn-data-policy; default cookie: at the SYN only with a valid TFO cookie, since a spoofed SYN could otherwise make it connect; agents/README.md). *SYN option bytes* = TCP option bytes in the client's SYN and what is left of the 40 (analyzer, median). *native MPTCP survives* = while the signal's HAG setup is active, does a client's ordinary MPTCP connection (no signal) to an MPTCP-capable server port reach that server end to end (MPTCP, the client's own address at the server) or is it hijacked by the HAG (the server sees the HAG; measured by one probe per implicit connection). *TFO coexistence* = can a TFO cookie, MP_CAPABLE and the signal share one SYN (measured when a cookie was used, else from the bytes left). *IPv6 target fits* = the signal with a 16-byte address (arithmetic in the details). *middleboxes* = per middlebox variant of the experiment: passes / falls back (to plain TCP) / breaks. *encoding checks* = mpx-analyze's rule violations on the packets of these connections. *verified* = connections whose payload both ends verified.";

# reps_text (input: the summary): the repetitions each signal really got. "N repetitions per
# signal" only when every signal that ran has all N of its planned connections recorded;
# otherwise recorded/planned per signal (a time limit, skipped signals, a failed variant)
def reps_text:
  (.variants | length) as $nv
  | [.variants[] | {name, notrun: ((.health.status // "ok") == "not run"),
      sig: [.signals[] | select(.status == "run") | {signal, n, planned: (.planned // null)}]}] as $r
  | [$r[] | select(.notrun | not) | .sig[]] as $all
  | if ($all | length) == 0 then "no connection ran"
    elif ($all | all(.planned == null)) then "\(.repetitions) repetitions per signal"
    elif ($r | all(.notrun | not)) and ($all | all(.n == .planned)) and ($all | map(.planned) | unique | length) == 1
      then "\($all[0].planned) repetitions per signal"
    else "repetitions per signal as recorded (recorded/planned): "
      + ($r | map(if .notrun then "\(.name): not run" else (if $nv > 1 then "\(.name): " else "" end) + (.sig | map("`\(.signal)` \(.n)/\(.planned)") | join(", ")) end) | join("; "))
    end;

# calibration_section (input: the summary): the fit of the model's per-node processing times
# (emu/harness/sim.sh: mpx-sim --calibrate on the first loss-free variant; sim.json .calibration
# there), per signal: the residual, the steps each node's time is charged on, what the fitted
# times explain and what remains. Nothing when no variant was calibrated.
def calibration_section:
  ([.variants[] | select(.sim.calibration != null) | {v: .name, c: .sim.calibration}] | first // null) as $fit
  | if $fit == null then empty else
    $fit.c as $c
    | ([.variants[] | select(.name == $fit.v) | .signals[] | .ttfb_ms.median_ci95 | select(.lo != null and .hi != null)
        | (.hi - .lo) / 2] | sort | if length == 0 then null else .[length / 2 | floor] end) as $hw
    | def ms3: if . == null then "–" else (. * 1000 | round / 1000) as $x | if $x == 0 then "0" else $x | tostring end end;
    "## Calibration: the hosts' processing time",
    "",
    "The simulator charges no processing time by default, so measured − simulated is what the hosts and agents add. `mpx-sim --calibrate` (sim/README.md \"Processing time and calibration\") fits one time per node and application step to it: on the loss-free variant `\($fit.v)`, its own plan and the emulation's measured TTFBs, non-negative least squares on the steps the model counts, then refined on the model itself: **client \($c.proc_us.client) µs, proxy \($c.proc_us.proxy) µs, server \($c.proc_us.server) µs** per step\($c.proc_us.optd // null | if . == null then "" else " and **mpx-optd \(.) µs** per packet or request that waits for it (the client's SYNs and MPTCP SYN/ACKs in a variant with a helper signal, the HAG's per interception mode)" end). Every modelled variant is simulated again with them (the evidence tables' *calibrated* column). *steps* = how much a signal's TTFB grows per unit of that node's time (counted with \($c.step_probe_us) µs per step, jitter and loss off: whole steps on the critical path, less where a step overlaps serialization); *fitted* = the model's median shift with the fitted times; *remaining* = measured − calibrated median, what one time per node does not explain (RMS \($c.rms_remaining_ms | ms3) ms): the signal's own handling, and the noise of a median of \([$c.signals[].measured_n] | if min == max then "\(min)" else "\(min) to \(max)" end) connections\($hw | if . == null then "" else " (the measured medians' 95 % intervals span ±\(. | ms3) ms, median over the signals)" end). The proxy's time is the best determined (its steps differ most between signals); the client and the server take about one step each in most signals, so their sum is better determined than their split (sim/README.md).",
    "",
    "| signal | measured p50 ms | simulated p50 | residual | steps client / proxy / server / optd | fitted | remaining |",
    "|---|---|---|---|---|---|---|",
    ($c.signals | to_entries[] | .key as $k | .value
     | "| `\($k)` | \(.measured_p50 | ms3) | \(.simulated_p50 | ms3) | \(.residual_ms | ms3) | \(.steps.client) / \(.steps.proxy) / \(.steps.server) / \(.steps.optd // 0) | \(.fitted_ms | ms3) | \(.remaining_ms | ms3) |"),
    ""
  end;
