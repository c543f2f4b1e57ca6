# The fidelity verdict of one variant (jq module: include "fidelity"; with -L emu/harness).
# Input: a variant of summary.json before the verdict: .delays (one-way ms per link and
# direction), .link_stats (each emulator's LINK.stats.json: late_us, kernel_drops), .host
# (fidelity.sh's host.json; its conns also give .harness: the share of the measured span spent
# between connections, not part of the verdict). The rule (experiments/README.md, "Fidelity"):
#   bound  B = fid_fraction x the smallest one-way link delay of the variant
#   faithful  iff  every emulator direction's release lateness p99 < B,
#                  no emulator direction had a kernel drop,
#                  CPU pressure during the measured connections (PSI some + steal) <= B / slice,
#                  slice = the scheduler's base slice (fidelity.sh),
#                  no node's kernel disabled active MPTCP (MPTcpExtMPCapableSYNTXDisabled),
#                  and every agent exited on SIGTERM (none left with open connections)
# The third line: a waking agent (client, proxy, server run under CFS, the emulators under
# SCHED_FIFO) that meets a contended CPU waits up to one base slice; the share of time the CPU
# is contended (PSI "some" of the run's own cgroup2 group when the CPUs are kept awake, else of
# the system: at least one runnable task waiting; steal: the hypervisor ran
# something else) is the chance a wake-up meets it. So the expected extra delay per agent
# wake-up is at most pressure x slice, and the rule keeps it under the same bound B.
def fid_fraction: 0.1;
def fid_r1: if . == null then null else (. * 10 | round / 10) end;
def fidelity:
  . as $v
  | ([($v.delays // {}) | to_entries[] | .value | (.ab, .ba) | select(. != null and . > 0)] | min) as $dmin
  | (if $dmin == null then null else ($dmin * 1000 * fid_fraction | round) end) as $bound
  | [($v.link_stats // {}) | to_entries[] | .key as $l | .value as $x | ("ab", "ba") as $d
      | ($x[$d] // empty) | select(.late_us != null)
      | {link: $l, dir: $d, p50: .late_us.p50, p99: .late_us.p99, p999: .late_us.p999, max: .late_us.max,
         kernel_drops: (.kernel_drops // 0)}] as $dirs
  | (if ($dirs | length) > 0 then ($dirs | max_by(.p99)) else null end) as $worst
  | ([$dirs[].kernel_drops] | add // 0) as $drops
  | ($v.host // null) as $h
  | (if $h == null then null elif ($h.steps.n // 0) > 0 then "connections" else "variant" end) as $wn
  | (if $wn == "connections" then $h.steps elif $wn == "variant" then $h.variant else null end) as $w
  | (if $w == null or ($w.elapsed_us // 0) <= 0 then null else
      {some_pct: (if $w.psi_some_us == null then null else ($w.psi_some_us / $w.elapsed_us * 100) end),
       full_pct: (if $w.psi_full_us == null then null else ($w.psi_full_us / $w.elapsed_us * 100) end),
       steal_pct: (if ($w.cpu_ticks // 0) > 0 then ($w.steal_ticks / $w.cpu_ticks * 100) else 0 end)} end) as $c
  | (if $c == null then null else (($c.some_pct // 0) + $c.steal_pct) end) as $press
  | (if $bound == null or $h == null then null else ($bound / $h.sched_base_slice_us * 100) end) as $pbound
  | ([ (if $worst != null and $bound != null and $worst.p99 >= $bound
         then "link emulator lateness p99 \($worst.p99) µs (\($worst.link) \($worst.dir)) ≥ \($bound) µs" else empty end),
       (if $drops > 0 then "\($drops) frame(s) dropped by the kernel before an emulator read them ("
          + ([$dirs[] | select(.kernel_drops > 0) | "\(.link) \(.dir) \(.kernel_drops)"] | join(", ")) + ")" else empty end),
       (if $press != null and $pbound != null and $press > $pbound
         then "CPU pressure \($press | fid_r1) % during the \($wn) (PSI some \($c.some_pct // 0 | fid_r1) % + steal \($c.steal_pct | fid_r1) %) > \($pbound | fid_r1) %" else empty end),
       # not timing but the same question, did the testbed do what was asked: a kernel that
       # turned active MPTCP off after one connection's lost SYNs made the later ones TCP
       ([($h.kernel // {}) | to_entries[] | select((.value.MPTcpExtMPCapableSYNTXDisabled // 0) > 0)
         | "\(.key) \(.value.MPTcpExtMPCapableSYNTXDisabled)"] | select(length > 0)
         | "active MPTCP disabled by the kernel's blackhole detection (net.mptcp.blackhole_timeout): MP_CAPABLE SYNs sent as plain TCP on " + join(", ")),
       # an agent that had to be killed still held connections the run thought closed, and its
       # exit counters (the proxy's accepted/relayed) are missing
       (($h.agents_killed // []) | select(length > 0)
         | "\(join(", ")) still running 5 s after SIGTERM (connections left open): killed, exit counters lost")
     ]) as $why
  | (($v.sim.backend // null) == "sim") as $simulated
  | {verdict: (if $simulated then "simulated"
               elif ($dirs | length) == 0 or $bound == null then "unknown"
               elif ($why | length) > 0 then "not faithful" else "faithful" end),
     reasons: ((if $simulated then ["virtual clock (--backend sim): no host timing to judge"]
               elif ($dirs | length) == 0 then ["no link emulator statistics (lateness not measured)"]
               elif $bound == null then ["no link with a delay: no lateness bound"] else $why end)
              + (if $h == null and ($dirs | length) > 0 then ["host CPU pressure not measured"] else [] end)),
     lateness: {bound_us: $bound, fraction: fid_fraction, min_one_way_ms: $dmin, worst: $worst,
                kernel_drops: $drops, directions: $dirs},
     cpu: (if $h == null then null else
       {window: $wn, connections: ($h.steps.n // 0), psi: $h.psi, psi_scope: (if $h.keep_awake // false then "run" else "system" end),
        keep_awake: ($h.keep_awake // false), psi_some_pct: ($c.some_pct | fid_r1),
        psi_full_pct: ($c.full_pct | fid_r1), steal_pct: ($c.steal_pct | fid_r1), pressure_pct: ($press | fid_r1),
        bound_pct: ($pbound | fid_r1), sched_base_slice_us: $h.sched_base_slice_us,
        psi_some_avg10_end: $h.psi_some_avg10_end, psi_some_avg60_end: $h.psi_some_avg60_end,
        variant_psi_some_pct: (if ($h.variant.elapsed_us // 0) > 0 and $h.variant.psi_some_us != null
          then ($h.variant.psi_some_us / $h.variant.elapsed_us * 100 | fid_r1) else null end)} end),
     placement: ($h.placement // null), kernel: ($h.kernel // null),
     harness: (($h.conns // null) | if . == null or (.span_us // 0) <= 0 then null else
       {connections: .n, native_probes: .native_n, span_s: (.span_us / 1e5 | round / 10),
        connections_s: (.conn_us / 1e5 | round / 10), native_s: (.native_us / 1e5 | round / 10),
        between_pct: ((.span_us - .conn_us - .native_us) / .span_us * 100 | fid_r1)} end),
     agents: (($h.agents // {}) | with_entries(.value |= {run_ms, wait_us, slices,
       wait_us_per_slice: (if (.slices // 0) > 0 then (.wait_us / .slices | fid_r1) else null end)}))};
# fid_mark: after a variant's name in every table that uses it (input: the variant)
def fid_mark: (.fidelity.verdict // "unknown") as $f
  | if $f == "not faithful" then " **NOT FAITHFUL**" elif $f == "unknown" then "" else "" end;
# fid_line: the verdict with its numbers, one line (input: the variant)
def fid_line: .fidelity as $f
  | if $f == null then "fidelity not measured (run before the fidelity monitor)"
    else "fidelity: **\($f.verdict)**"
      + (if $f.lateness.worst != null then " — emulator lateness p99 \($f.lateness.worst.p99) µs (worst: \($f.lateness.worst.link) \($f.lateness.worst.dir); p99.9 \($f.lateness.worst.p999), max \($f.lateness.worst.max)) vs bound \($f.lateness.bound_us // "–") µs (\($f.lateness.fraction * 100 | round) % of the smallest one-way delay, \($f.lateness.min_one_way_ms) ms); kernel drops \($f.lateness.kernel_drops)" else "" end)
      + (if $f.cpu != null then "; CPU pressure during the \($f.cpu.window) \($f.cpu.pressure_pct // "–") % (PSI some \($f.cpu.psi_some_pct // "–") %\(if $f.cpu.psi_scope == "run" then " of the run's own processes" else "" end), steal \($f.cpu.steal_pct // "–") %) vs bound \($f.cpu.bound_pct // "–") %\(if $f.cpu.psi then "" else " (this kernel has no PSI: steal only)" end)\(if $f.cpu.keep_awake then "; CPUs kept awake (mpx-awake)" else "" end)" else "" end)
      + (if $f.verdict == "unknown" then " — " + ($f.reasons | join("; ")) else "" end)
      + (if ($f.placement.mode // "off") == "split" then "; CPU placement: link emulators on CPU \($f.placement.emulators_cpus), agents and harness on \($f.placement.others_cpus)" else "" end)
      + (if $f.harness != null then "; harness: \($f.harness.between_pct) % of the \($f.harness.span_s) s from the first measured connection to the last between connections (connections \($f.harness.connections_s) s\(if $f.harness.native_probes > 0 then ", native-MPTCP probes \($f.harness.native_s) s" else "" end))" else "" end)
    end;
