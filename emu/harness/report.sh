# shellcheck shell=bash
# mpxlab harness: report writer. report.md from summary.json (+ manifest, connections),
# report.html from report.md (same content, plots inlined as base64 PNG).
#   mpx_report_write OUT        report.md + report.html
#   mpx_report_evidence OUT [VARIANT]   just the evidence table (Markdown; used by compare)
#   mpx_report_headline OUT     two lines for the terminal

mpx_report_evidence() {
  local o=$1 v=${2:-}
  jq -r -L "$MPX_ROOT/emu/harness" --arg v "$v" -f "$MPX_ROOT/emu/harness/evidence.jq" "$o/summary.json"
}

# mpx_report_early OUT: the section that needs only the analysis (the analyzer verdicts, one jq
# over ~1 MB), started in the background as soon as the analysis is done (run.sh), while the
# aggregation leaves a CPU idle; mpx_report_write takes it over
mpx_report_early() {
  _mpx_report_violations_md "$1" > "$1/.report.5" &
  _MPX_REPORT_EARLY_PID=$! _MPX_REPORT_EARLY_OUT=$1
}

# mpx_report_jq_early OUT: report.jq, report-details.jq and the headline and reproduction section
# (_mpx_report_repro_md OUT SUMMARY) pre-started as one jq (collect.sh mpx_jq_early; their
# includes compiled once, two start-ups less): it compiles while the run makes summary.json and
# the manifest, which mpx_report_write feeds it, and cuts its output (mpx_jq_split)
mpx_report_jq_early() {
  mpx_jq_early report "$1/.report-early" -r -L "$MPX_ROOT/emu/harness" \
    "$(mpx_jq_wrap "$MPX_ROOT/emu/harness/report.jq" 'input as $__s | [input] as $man | $__s |' \
       "$MPX_ROOT/emu/harness/report-details.jq" "=(try ($_MPX_HEADLINE_JQ) catch \"\")" "=$_MPX_REPRO_JQ")"
}

# MPX_PLOTS_PID: a background mpx_plots_all to wait for before the Plots section (run.sh). The
# sections are written in parallel into OUT/.report.N and joined in their order.
mpx_report_write() {
  local o=$1 t=$1/.report rc=0 p pids=() n f
  ! declare -F mpx_analyze_wait > /dev/null || mpx_analyze_wait
  # report.jq, report-details.jq, the headline and reproduction section: the pre-started jq
  # (mpx_report_jq_early) when there is one, else each now
  local early=0 r6=1
  if mpx_jq_started report && mpx_jq_feed report "$o/summary.json" "$o/manifest.json"; then
    early=1
  else
    mpx_jq_done report 2> /dev/null || true
    _mpx_report_plain14 "$o" "$t" &
    pids+=($!)
  fi
  if [ -n "${_MPX_REPORT_EARLY_PID:-}" ] && [ "${_MPX_REPORT_EARLY_OUT:-}" = "$o" ]; then
    pids+=("$_MPX_REPORT_EARLY_PID"); _MPX_REPORT_EARLY_PID=''
  else
    _mpx_report_violations_md "$o" > "$t.5" &
    pids+=($!)
  fi
  # proxy/proxy rows (chain.sh): model with the LAN leg and W, per-leg timeline, CPE counters,
  # LAN applications
  _mpx_report_chain_md "$o" > "$t.7" &
  pids+=($!)
  # emulated vs simulated medians and tails, where the simulator ran more connections (sim-reps;
  # none: no jq start-up)
  : > "$t.8"
  if grep -q '"sim_reps": *[0-9]' "$o/summary.json" 2> /dev/null; then
    jq -r -L "$MPX_ROOT/emu/harness" -f "$MPX_ROOT/emu/harness/tails.jq" "$o/summary.json" > "$t.8" &
    pids+=($!)
  fi
  _mpx_report_bulk_md "$o" > "$t.2" || rc=$?
  # the terminal headline (mpx_report_headline; its first line) and the reproduction section
  if [ "$early" = 0 ] && _mpx_report_repro_md "$o" "$o/summary.json" > "$t.6"; then r6=0; fi
  for p in "${pids[@]}"; do wait "$p" || rc=$?; done
  # (the pre-started one failed: each as the plain jq, their errors shown, their exit codes)
  if [ "$early" = 1 ]; then
    if mpx_jq_done report 2> /dev/null && mpx_jq_split "$o/.report-early" "$t.1" "$t.4" "$t.h" "$t.6"; then r6=2
    else
      _mpx_report_plain14 "$o" "$t" || rc=$?
      _mpx_report_repro_md "$o" "$o/summary.json" > "$t.6" && r6=0
    fi
  fi
  # (r6: 0 the headline is T.6's first line, 2 it is T.h, the pre-started jq's part of its own)
  _MPX_HEADLINE_OUT='' _MPX_HEADLINE=''
  if [ "$r6" = 2 ]; then
    { IFS= read -r _MPX_HEADLINE && [ -n "$_MPX_HEADLINE" ] && _MPX_HEADLINE_OUT=$o; } < "$t.h"
  elif [ "$r6" = 0 ]; then
    { IFS= read -r _MPX_HEADLINE && [ -n "$_MPX_HEADLINE" ] && _MPX_HEADLINE_OUT=$o; } < "$t.6"
    sed -i 1d "$t.6"
  else rc=1; fi
  if [ -n "${MPX_PLOTS_PID:-}" ]; then wait "$MPX_PLOTS_PID" || true; MPX_PLOTS_PID=''; fi
  _mpx_report_plots_md "$o" > "$t.3"
  cat "$t".{1,7,2,3,8,4,5,6} > "$o/report.md"
  rm -f "$t".{1,2,3,4,5,6,7,8,h} "$o/.report-early" "$o/.verdict"
  awk -v dir="$o" -f "$MPX_ROOT/emu/harness/md2html.awk" "$o/report.md" > "$o/report.html"
  return "$rc"
}

# _mpx_report_plain14 OUT T: T.1 (report.jq) and T.4 (report-details.jq), each its own jq at once;
# a failing one's exit code
_mpx_report_plain14() {
  local o=$1 t=$2 n f p pids=() rc=0
  for n in 1 4; do
    f=report.jq; [ $n = 1 ] || f=report-details.jq
    jq -r -L "$MPX_ROOT/emu/harness" --slurpfile man "$o/manifest.json" -f "$MPX_ROOT/emu/harness/$f" "$o/summary.json" > "$t.$n" &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || rc=$?; done
  return "$rc"
}

_mpx_report_chain_md() {
  local o=$1 f
  # no variant with a chain: no jq start-up (a non-null "chain" value is on its key's line in
  # jq's output; the jq below decides whenever one may be there)
  grep -q '"chain"[[:space:]]*:[[:space:]]*[^n[:space:]]' "$o/summary.json" 2>/dev/null || return 0
  jq -e '[.variants[] | select(.chain != null)] | length > 0' "$o/summary.json" > /dev/null 2>&1 || return 0
  jq -r -L "$MPX_ROOT/emu/harness" --slurpfile man "$o/manifest.json" -f "$MPX_ROOT/emu/harness/chain-report.jq" "$o/summary.json"
  # LAN applications through the CPE (emu/harness/apps.sh, run by chain.sh while the CPE was up)
  echo "## LAN applications through the CPE"
  echo
  local any=0
  for f in "$o"/logs/*/apps.md; do
    [ -s "$f" ] || continue
    any=1; echo "Variant \`$(basename "$(dirname "$f")")\`:"; echo; cat "$f"; echo
  done
  if [ $any = 0 ]; then
    if [ -f "$MPX_ROOT/emu/harness/apps.sh" ]; then echo "emu/harness/apps.sh wrote no results in this run (logs/VARIANT/apps.md)."
    else echo "Not run: emu/harness/apps.sh (curl, wget, busybox wget on a LAN host through the CPE) is not in this checkout."; fi
    echo
  fi
}

_mpx_report_plots_md() {
  local o=$1 p any=0
  local -A title=([ttfb-box]="TTFB per signal (box: quartiles, whiskers 1.5 IQR)" [ttfb-cdf]="TTFB CDF per signal"
    [synopt]="SYN option bytes per signal against the 40-byte limit" [failover]="Failover time-sequence"
    [sweep]="TTFB against the client-proxy RTT (points: measured medians, lines: model)"
    [loss-p50]="TTFB median against access-link loss (points measured with 95 % intervals, dashed simulated)"
    [loss-p90]="TTFB p90 against access-link loss (points measured with 95 % intervals, dashed simulated)"
    [loss-p99]="TTFB p99 against access-link loss (simulated)")
  # the calibrated model's dotted lines (plots.sh), where a loss-free variant calibrated it
  if declare -F mpx_plots_loss_calibrated > /dev/null && mpx_plots_loss_calibrated "$o/plots/loss.dat"; then
    title[loss-p50]="TTFB median against access-link loss (points measured with 95 % intervals, dashed simulated, dotted calibrated)"
    title[loss-p90]="TTFB p90 against access-link loss (points measured with 95 % intervals, dashed simulated, dotted calibrated)"
    title[loss-p99]="TTFB p99 against access-link loss (simulated: dashed, calibrated: dotted)"
  fi
  for p in ttfb-box ttfb-cdf synopt sweep failover loss-p50 loss-p90 loss-p99; do
    [ -f "$o/plots/$p.png" ] || continue
    [ $any = 0 ] && { echo "## Plots"; echo; any=1; }
    echo "![${title[$p]}](plots/$p.png)"
    echo
    echo "*${title[$p]}* — also as [SVG](plots/$p.svg)."
    echo
  done
  if [ $any = 0 ]; then echo "## Plots"; echo; echo "No plots (gnuplot missing, --no-plots, or no measured connection)."; echo; fi
}

_mpx_report_violations_md() {
  local o=$1 vd v any=0
  echo "## Analyzer verdicts"
  echo
  for vd in "$o"/analysis/*/; do
    [ -d "$vd" ] || continue
    v=${vd%/}; v=${v##*/}; any=1
    if [ -f "$vd/NOT-ANALYZED" ]; then echo "- variant \`$v\`: not analyzed: $(cat "$vd/NOT-ANALYZED")"; continue; fi
    # one jq for the record count (first line) and the violations (the rest); a failed read
    # gives what the two separate reads gave: count 0 / "unreadable", appended to what was read
    local out n f crc jrc
    # (a clean record of mpx-analyze, its violations the empty last field, is passed to jq as a
    # stub: the same count and list, without parsing ~1 MB)
    out=$(awk '/^\{"type":"conn",.*,"violations":\[\]\}$/ { print "{\"type\":\"conn\"}"; next } { print }' \
      "$vd"/*.jsonl 2>/dev/null | jq -r -s '[.[] | select(.type == "conn")] as $all | ($all | length),
      ([$all[] | . as $c | (.violations // [])[] | . + {client: $c.client, server: $c.server, sig: $c.signal}]
      | if length == 0 then "  - encoding checks: all clean (0 violations)"
        else "  - encoding checks: \(length) violation(s)\n\n  | rule | count | example (connection, packet, message) |\n  |---|---|---|\n" +
          (group_by(.rule) | map("  | `\(.[0].rule)` | \(length) | \(.[0].client) -> \(.[0].server) (\(.[0].sig)), pkt \(.[0].pkt): \(.[0].msg | gsub("\\|"; "/")) |") | join("\n"))
        end)' 2>/dev/null; echo "@${PIPESTATUS[*]}")
    read -r crc jrc <<< "${out##*@}"
    out=${out%@*}; out=${out%$'\n'}
    n=${out%%$'\n'*} f=''
    [[ $out == *$'\n'* ]] && f=${out#*$'\n'}
    if [ "$crc" != 0 ] || [ -z "$n" ]; then n=${n:+$n$'\n'}0; fi
    if [ "$crc" != 0 ] || [ "$jrc" != 0 ] || [ -z "$f" ]; then f=${f:+$f$'\n'}"  - (analyzer output unreadable)"; fi
    echo "- variant \`$v\`: $n connection records from the link pcaps$( [ -f "$vd/verification.md" ] && echo "; full verification report: [analysis/$v/verification.md](analysis/$v/verification.md)")"
    echo "$f"
  done
  [ $any = 1 ] || echo "No pcaps were analyzed."
  echo
}

_mpx_report_repro_md() { # OUT [SUMMARY]: with SUMMARY first mpx_report_headline's line ("" if it fails)
  local o=$1 h='' n=(-n) f=()
  [ -z "${2:-}" ] || h="(try ($_MPX_HEADLINE_JQ) catch \"\"), " n=() f=("$2")
  jq -r "${n[@]}" --slurpfile man "$o/manifest.json" "$h$_MPX_REPRO_JQ" "${f[@]}"
}
# the reproduction section (input: anything; $man: the manifest)
_MPX_REPRO_JQ='($man[0] | "## How to reproduce\n\n```\n\(.reproduce)\n```\n\nSame commit (`\(.git.commit)`\(if .git.dirty_files > 0 then ", \(.git.dirty_files) uncommitted file(s) at run time" else "" end)), same seed: the link emulators draw the same loss and jitter per packet index (\(.link_seeds)). Kernel \(.kernel.release), \(.host.cpus) CPUs. Started \(.start), ended \(.["end"] // "?")\(if .elapsed_s then " (\(.elapsed_s) s)" else "" end).\n\n## Files\n\n| file | content |\n|---|---|\n| `manifest.json` | commit, kernel, sysctls, route settings, tool versions, topology and experiment files verbatim, seeds, times |\n| `connections.csv` | one row per connection: client measurements joined with the analyzer verdict |\n| `summary.json` | the numbers of this report, per variant and signal |\n| `plan.csv`, `steps.csv` | the interleaved run order and each step'"'"'s timing and exit code |\n| `pcaps/VARIANT/` | one pcap per link (written by mpx-linkem), drop events, link counters |\n| `links/VARIANT/` | the resolved topology and link specs, sysctls.json and routes.json (as set), host.json (CPU pressure, placement), sim.json (the model on the same variant) |\n| `analysis/VARIANT/` | mpx-analyze output (JSON lines, verification report) |\n| `raw/VARIANT/`, `logs/VARIANT/` | the agents'"'"' JSON and logs |\n| `plots/` | PNG and SVG figures |\n")'

# (the one mpx_report_write made for OUT, when it could; else read now: its errors show here)
mpx_report_headline() {
  if [ -n "${_MPX_HEADLINE_OUT:-}" ] && [ "$_MPX_HEADLINE_OUT" = "$1" ]; then printf '%s\n' "$_MPX_HEADLINE"; return 0; fi
  _mpx_report_headline_jq "$1"
}
_MPX_HEADLINE_JQ='.variants[0] as $v | "evidence (\($v.name)): " + ([$v.signals[] | select(.status == "run") |
    "\(.signal) \(.ttfb_ms.p50 // "-") ms (\(if .extra_rtt == null then "-" else (.extra_rtt | tostring) end) RTT)"] | join(", "))'
_mpx_report_headline_jq() { jq -r "$_MPX_HEADLINE_JQ" "$1/summary.json"; }

# _mpx_link_rate_mbit SPEC: the rate of one direction's mpx-linkem SPEC in Mbit/s (0: unlimited
# or a trace)
_mpx_link_rate_mbit() {
  awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^rate=/) { r = substr($i, 6); v = r + 0
         if (r ~ /gbit$/) v *= 1000; else if (r ~ /kbit$/) v /= 1000; else if (r ~ /[0-9]bit$/) v /= 1e6
         print v; exit } print 0 }' <<< "$1"
}

# _mpx_report_bulk_md OUT: for bulk workloads (experiments/bulk.exp) the goodput table of
# emu/harness/bulk.jq, against the sum of the client's access-link rates of the first variant
_mpx_report_bulk_md() {
  local o=$1 v ld down=0 up=0 client l a b spec
  # (as in _mpx_report_chain_md: jq only when a bulk workload may be there)
  grep -q '"workload"[[:space:]]*:[[:space:]]*"bulk' "$o/connections.jsonl" 2>/dev/null || return 0
  jq -e -s 'any(.[]; (.workload // "") | startswith("bulk"))' "$o/connections.jsonl" > /dev/null 2>&1 || return 0
  v=$(jq -r '.variants[0].name' "$o/summary.json"); ld=$o/links/$v
  client=$(awk '$1 == "node" && $3 == "host" { print $2; exit }' "$ld/topology.resolved" 2>/dev/null)
  while read -r l a _ b _; do
    [ "$a" = "$client" ] || [ "$b" = "$client" ] || continue
    spec=$(sed -n "s/^$([ "$b" = "$client" ] && echo ab || echo ba) //p" "$ld/$l.spec")
    down=$(awk -v x="$down" -v y="$(_mpx_link_rate_mbit "$spec")" 'BEGIN { print x + y }')
    spec=$(sed -n "s/^$([ "$b" = "$client" ] && echo ba || echo ab) //p" "$ld/$l.spec")
    up=$(awk -v x="$up" -v y="$(_mpx_link_rate_mbit "$spec")" 'BEGIN { print x + y }')
  done < "$ld/links.txt"
  echo "## Bulk transfers"
  echo
  echo "Goodput against the sum of the client's access-link rates (down $down Mbit/s, up $up Mbit/s): payload bytes / completion time, median (minimum) of the completed transfers; subflow shares from the client's MPTCP_TCPINFO (first subflow, then the joins); stalls = failed transfers and downloads with more than 1 s without progress; completion / model = completion time / (set-up + size / link sum). Method: emu/harness/bulk.jq."
  echo
  jq -r -s --argjson down "$down" --argjson up "$up" -f "$MPX_ROOT/emu/harness/bulk.jq" "$o/connections.jsonl"
  echo
}
