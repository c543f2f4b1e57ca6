# report.md, first part: title, run facts, evidence table(s), cross-variant tables
include "evlib";
include "fidelity";
$man[0] as $m | . as $s |
"# mpxlab report: \($m.experiment.name) — run \($s.run_id)",
"",
(if ($m.experiment.description // "") != "" then $m.experiment.description + "\n" else empty end),
"- topology: `\($m.experiment.topology | split("/") | last)`; workload `\($m.experiment.workload)`; \($s | reps_text), interleaved round-robin; seed \($s.seed)",
"- model links: client↔proxy R_cp = \($m.experiment.model_links.cp), proxy↔server R_ps = \($m.experiment.model_links.ps)\(if $m.experiment.model_links.lan != null then ", LAN host↔CPE R_lan = \($m.experiment.model_links.lan) (proxy/proxy: R_cp = R_lan + R_acc, R_acc = \($m.experiment.model_links.cp))" else "" end) (round trip = both one-way delays)",
"- connections: \([.variants[].signals[].n] | add // 0) run, \([.variants[].signals[].ok] | add // 0) ok, \([.variants[].signals[].verified] | add // 0) verified, \([.variants[].signals[].analyzer.n] | add // 0) matched with the analyzer; status **\($m.status // "?")**\(if $m.run_timeout_hit then " (the time limit stopped the run: partial)" else "" end)\(if $m.exit_code != null then ", exit \($m.exit_code)" else "" end)",
"- git \($m.git.commit[0:12]), kernel \($m.kernel.release), topology backend \($m.backend // "netns"), \($m.start)",
"",
"## Findings\(if (.variants | length) > 1 then " (variant `\(.variants[0].name)`)" else "" end)",
"",
(if ((.problems.lines // []) | length) > 0 then
  "**Problems** — this run is not complete evidence (`mpxlab run` exits non-zero for each, see `mpxlab run --help`; `--accept-unfaithful` accepts the fidelity ones):",
  "", (.problems.lines[] | "- \(.)"), "" else empty end),
(.variants[0] | . as $v | (.signals[] | select(.status == "run") |
  if .n == 0 then "- `\(.signal)`: no connection ran\(if ($v.health.status // "ok") != "ok" then " (variant \($v.health.status))" else "" end)"
  elif .ttfb_ms.n == 0 then "- `\(.signal)`: no connection succeeded (\(.failed) failed\(if (.skipped // 0) > 0 then ", \(.skipped) skipped" else "" end)): \(.errors | keys | first // "?")"
  else
  "- `\(.signal)`: " +
  (if .analyzer.rtts_before_data != null then "the request left after \(.analyzer.rtts_before_data) round trip(s) (model \(.model.rtts_before_data // "–")); " else "" end) +
  "TTFB \(.ttfb_ms.p50 | num(1)) ms (model \(.model.ttfb_ms | num(1))\(if .ttfb_dev_pct != null then ", \(.ttfb_dev_pct | sgn) %" else "" end))" +
  (if .mode == "none" and .role != "proxy/proxy" then " — the reference" elif .extra_rtt == null then ""
   elif .extra_rtt < 0 then " — \(-.extra_rtt | num(2)) R_cp faster than direct TCP (model \(-.model.extra_rtt | num(2)))"
   else " — \(.extra_rtt | num(2)) R_cp slower than direct TCP (model \(.model.extra_rtt | num(2)))" end) +
  "; " + (if .mode == "none" and .role != "proxy/proxy" then "plain TCP" else "MPTCP in \(.mptcp.mptcp // 0)/\(.n)" end) +
  (if .role == "proxy/proxy" then " (the CPE's connection; the LAN client is plain TCP)" else "" end) +
  (if .syn_opt.bytes != null then "; SYN options \(.syn_opt.bytes) B, \(.syn_opt.left) left" else "" end) +
  "; \(if .analyzer.n == 0 then "not analyzed" elif .violations == 0 then "encoding clean" else "\(.violations) encoding violations" end)" +
  (if .failed > 0 then "; **\(.failed) of \(.n) failed**" else "" end) +
  (if .reason != null then " — \(.reason)" else "" end)
  end),
 ([.signals[] | select(.status != "run") | "`\(.signal)` (\(.reason))"] | if length > 0 then "- not run: " + join(", ") else empty end)),
(.variants[] | select(.fidelity != null and (.health.status // "ok") != "not run")
  | "- \(if ($s.variants | length) > 1 then "variant `\(.name)`: " else "" end)\(fid_line)"),
"",
(if (.variants | length) > 1 then
  "## Variants at a glance",
  "",
  "TTFB median in ms per variant (model in parentheses); R_cp / R_ps from each variant's link delays.",
  "",
  ( (.variants | map(.signals | map(.signal)) | add | unique) as $sigs |
    "| variant | R_cp / R_ps ms | middlebox | " + ($sigs | map("`\(.)`") | join(" | ")) + " |",
    "|---|---|---|" + ($sigs | map("---|") | join("")),
    (.variants[] | . as $v |
      "| \($v.name)\($v | vmark) | \($v.model.R_cp_ms | num(1)) / \($v.model.R_ps_ms | num(1)) | \(if ($v.middlebox | length) == 0 then "–" else $v.middlebox | join(" ") end) | " +
      ($sigs | map(. as $g | ($v.signals | map(select(.signal == $g)) | .[0]) as $x |
         if $x == null then "–" elif $x.status != "run" then "not run"
         elif $x.ttfb_ms.n == 0 then "failed (\($x.failed)/\($x.n))"
         else "\($x.ttfb_ms.p50 | num(1)) (\($x.model.ttfb_ms | num(1)))\(if $x.failed > 0 then " \($x.failed) failed" else "" end)\(if (($x.mptcp.mptcp // 0) < $x.n) and $x.mode != "none" then " [\($x.n - ($x.mptcp.mptcp // 0)) not MPTCP]" else "" end)" end)
       | join(" | ")) + " |")
  ),
  ""
  ,
  "SYN option bytes used in the client SYNs per variant (analyzer: min–max; `c` = SYNs that carried a TFO cookie, `d` = SYNs whose data was acknowledged).",
  "",
  ( (.variants | map(.signals | map(.signal)) | add | unique) as $sigs |
    "| variant | target | TFO | " + ($sigs | map("`\(.)`") | join(" | ")) + " |",
    "|---|---|---|" + ($sigs | map("---|") | join("")),
    (.variants[] | . as $v |
      "| \($v.name)\($v | vmark) | IPv\($v.target) | \($v.tfo // "off") | " +
      ($sigs | map(. as $g | ($v.signals | map(select(.signal == $g)) | .[0]) as $x |
         if $x == null or $x.status != "run" then "–"
         elif $x.syn_opt.min == null and ([$x.errors | keys[] | select(test("does not fit"))] | length) > 0
           then ([$x.errors | keys[] | capture("need (?<n>[0-9]+) option bytes") | .n] | first // "?") as $need | "not sent: needs \($need) B > 40"
         elif $x.syn_opt.min == null then "n/a"
         else "\(if $x.syn_opt.min == $x.syn_opt.max then "\($x.syn_opt.min)" else "\($x.syn_opt.min)–\($x.syn_opt.max)" end) B\(if $x.analyzer.cookie_used > 0 then " c\($x.analyzer.cookie_used)" else "" end)\(if $x.analyzer.syn_data_acked > 0 then " d\($x.analyzer.syn_data_acked)" else "" end)" end)
       | join(" | ")) + " |")
  ),
  ""
 else empty end),
(if ([.variants[] | select(.fidelity != null)] | length) > 0 then
  "## Fidelity",
  "",
  "Is the emulation a faithful testbed for these numbers? Per variant: the link emulators' release lateness (how late a frame left after its computed release time; the emulator's own histogram, per link and direction, whole variant) and the frames the kernel dropped before an emulator read them; the host's CPU pressure while the connections ran (PSI `some`: share of time at least one runnable task waited for a CPU; steal: share the hypervisor took); the agents' own wait for a CPU (schedstat). **Rule**: faithful when every direction's lateness p99 < B = \(fid_fraction * 100 | round) % of the smallest one-way link delay, no kernel drop, and PSI some + steal ≤ B / the scheduler's base slice (a waking agent meeting a busy CPU waits up to one slice, so the expected extra delay per wake-up stays under B).",
  "",
  "| variant | verdict | lateness p99 µs, worst (link dir) | p99.9 / max µs | bound B µs | kernel drops | CPU pressure % (PSI some + steal), window | bound % | PSI some avg10 at the end | agents' CPU wait µs per slice |",
  "|---|---|---|---|---|---|---|---|---|---|",
  (.variants[] | select(.fidelity != null and (.health.status // "ok") != "not run") | . as $v | .fidelity as $f |
    "| \($v.name)\($v | vmark) | **\($f.verdict)** | " +
    (if $f.lateness.worst == null then "– | – | " else "\($f.lateness.worst.p99) (\($f.lateness.worst.link) \($f.lateness.worst.dir)) | \($f.lateness.worst.p999) / \([$f.lateness.directions[].max] | max) | " end) +
    "\($f.lateness.bound_us // "–") | \($f.lateness.kernel_drops) | " +
    (if $f.cpu == null then "not measured | – | – | " else "\($f.cpu.pressure_pct // "–") (\($f.cpu.psi_some_pct // "–") + \($f.cpu.steal_pct // "–")), \($f.cpu.connections) connections | \($f.cpu.bound_pct // "–") | \($f.cpu.psi_some_avg10_end // "–") | " end) +
    (($f.agents // {}) | to_entries | map("\(.key) \(.value.wait_us_per_slice // "–")") | join(", ") | if . == "" then "–" else . end) + " |"),
  ""
 else empty end),
(.variants[] |
  "## Evidence table\(if ($s.variants | length) > 1 then " — variant `\(.name)`" else "" end)\(vmark | if . == "" then "" else " —" + . end)",
  "",
  "R_cp = \(.model.R_cp_ms | num(2)) ms, R_ps = \(.model.R_ps_ms | num(2)) ms\(if (.middlebox | length) > 0 then "; middlebox: \(.middlebox | join(" "))" else "" end)\(if (.params | length) > 0 then "; link overrides: `\(.params | join(" "))`" else "" end)\(if .target == 6 then "; IPv6 target" else "" end).",
  "",
  evidence_table,
  ""),
evidence_notes,
"",
calibration_section
