#!/usr/bin/env bash
# The aggregation and report writer on generated data (no namespaces): known TTFBs and
# analyzer verdicts go in; the evidence table, connections.csv, summary.json, report.html and
# `mpxlab compare` must show exactly what follows from them.
# timeout: 180
set -uo pipefail
source "$(dirname "$0")/../lib.sh"
t_require_cmd jq awk
cd "$MPX_ROOT" || exit 1
tmp=$(mktemp -d); trap '[ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT

# gen OUT SHIFT_CONVERT_MS: 5 reps of tcp, socks5, convert (+ mpconvert not run) with TTFB
# = base + rep offset (-2..+2 ms); convert's 3rd connection has one analyzer violation; the
# last socks5 step wrote no client output (a crashed client)
gen() {
  local o=$1 shift_c=$2
  mkdir -p "$o"/{raw/base,analysis/base,links/base,logs/base,pcaps/base,plots}
  ( set -e
    export MPX_ROOT OUT=$o
    source emu/harness/exp.sh; source emu/harness/model.sh; source emu/harness/collect.sh
    printf 'topology hybrid\nsignals tcp socks5 convert mpconvert\nrepetitions 5\nseed 3\nsyn-data-policy immediate\n' > "$o/t.exp"
    mpx_exp_parse "$o/t.exp"
    mpx_variant_describe base > "$o/links/base/variant.json"
    jq -n --argjson exp "$(mpx_exp_json)" '{run_id:"synthetic", status:"done", experiment:$exp, seed:3, repetitions:5,
      reproduce:"./mpxlab run t.exp --seed 3 --reps 5", git:{commit:"0123456789abcdef", dirty_files:0},
      kernel:{release:"test"}, host:{cpus:2}, link_seeds:"x", start:"2026-01-01T00:00:00Z", end:"2026-01-01T00:01:00Z", elapsed_s:60}' > "$o/manifest.json"
  )
  printf 'variant,signal,status,reason\nbase,tcp,run,\nbase,socks5,run,\nbase,convert,run,\nbase,mpconvert,not run,"bin/mpx-proxy not built yet"\n' > "$o/signals.csv"
  echo "variant,rep,step,signal" > "$o/plan.csv"; : > "$o/steps.csv"
  local rep k=0 s base port=40000 off ttfb
  for rep in 1 2 3 4 5; do
    for s in tcp socks5 convert; do
      k=$((k + 1)); port=$((port + 1)); off=$((rep - 3))
      case $s in tcp) base=62 ;; socks5) base=102 ;; convert) base=$((42 + shift_c)) ;; esac
      ttfb=$(( (base + off) * 1000 ))
      echo "base,$rep,$k,$s" >> "$o/plan.csv"
      if [ "$s" = socks5 ] && [ "$rep" = 5 ]; then echo "base,$rep,$k,$s,1000.0,1000.5,137" >> "$o/steps.csv"; continue; fi
      echo "base,$rep,$k,$s,1000.0,1000.2,0" >> "$o/steps.csv"
      jq -n -c --arg s "$s" --argjson t "$ttfb" --arg tag "base/$rep/$k" --arg l "198.18.1.2:$port" \
        '{type:"conn", signal:$s, seq:0, ok:true, error:null, target:"198.18.3.2:8080", via:null, local:$l,
          mptcp:(if $s == "tcp" then "tcp" else "mptcp" end), subflows:2, tfo:"none", ttfb_us:$t, t_done_us:($t + 10),
          bytes_out:100, bytes_in:1000, verified:true, tag:$tag}' > "$o/raw/base/$(printf %05d $k)-$s.jsonl"
      jq -n -c --arg s "$s" --arg l "198.18.1.2:$port" --argjson v "$([ "$s" = convert ] && [ "$rep" = 3 ] && echo 1 || echo 0)" \
        '{type:"conn", pcap:"dsl.pcap", client:$l, server:"198.18.1.1:5124", signal:(if $s == "tcp" then "plain" else $s end),
          mptcp:(if $s == "tcp" then "tcp" else "mptcp" end), syn_opt_bytes:(if $s == "tcp" then 20 else 24 end),
          syn_opt_left:(if $s == "tcp" then 20 else 16 end), synack_opt_bytes:24,
          tfo:{cookie_req:false, cookie_granted:false, cookie_used:false, syn_data_len:0, syn_data_acked:false},
          ttfb_us:50000, hs_rtt_us:20000, rtts_before_data:(if $s == "convert" then 0 elif $s == "socks5" then 3 else 1 end),
          violations:(if $v == 1 then [{rule:"TEST-RULE", pkt:3, t_us:1, msg:"synthetic violation"}] else [] end)}' >> "$o/analysis/base/dsl.jsonl"
    done
  done
  echo '{"type":"summary","connections":14,"violations":1}' >> "$o/analysis/base/dsl.jsonl"
  ( set -e; export MPX_ROOT OUT=$o; log() { :; }
    source emu/harness/collect.sh; source emu/harness/report.sh; source emu/harness/plots.sh
    mpx_collect_connections "$o"; mpx_collect_summary "$o"; mpx_plots_all "$o"; mpx_report_write "$o" )
}

gen "$tmp/a" 0 > "$tmp/gen-a.log" 2>&1; rc=$?
t_check generate_rc test "$rc" = 0
[ "$rc" = 0 ] || cat "$tmp/gen-a.log"
o=$tmp/a
t_check report_md test -s "$o/report.md"
t_check report_html test -s "$o/report.html"
# connections.csv: header + 15 steps (one without client output)
t_check csv_rows test "$(tail -n +2 "$o/connections.csv" | wc -l)" = 15
t_check csv_failed_row test "$(grep -c '"socks5",0,"mpx-client wrote no connection line (exit 137)"' "$o/connections.csv")" = 1
s=$o/summary.json
t_check tcp_median test "$(jq '.variants[0].signals[] | select(.signal == "tcp") | .ttfb_ms.p50' "$s")" = 62
t_check socks5_n test "$(jq -c '.variants[0].signals[] | select(.signal == "socks5") | [.n, .ok, .failed, .ttfb_ms.p50]' "$s")" = '[5,4,1,101.5]'
t_check extra_rtt_convert test "$(jq '.variants[0].signals[] | select(.signal == "convert") | .extra_rtt' "$s")" = -1
t_check extra_rtt_socks5 test "$(jq '.variants[0].signals[] | select(.signal == "socks5") | .extra_rtt' "$s")" = 1.975
t_check model_socks5 test "$(jq -c '.variants[0].signals[] | select(.signal == "socks5") | [.model.ttfb_ms, .model.extra_rtt]' "$s")" = '[100,2]'
t_check violations test "$(jq -c '.variants[0].signals[] | select(.signal == "convert") | [.violations, .by_rule]' "$s")" = '[1,{"TEST-RULE":1}]'
t_check percentile_interval test "$(jq -c '.variants[0].signals[] | select(.signal == "tcp") | [.ttfb_ms.p2_5, .ttfb_ms.p97_5]' "$s")" = '[60.1,63.9]'
ev=$(sed -n '/^## Evidence table/,/^Columns:/p' "$o/report.md")
t_check table_tcp grep -q '^| `tcp` | none | — | 0 (reference) | 0 | 1 / 1 | 62 \[60.1–63.9\] | 60 (+3.3 %) | – | — | 20 / 20 |' <<< "$ev"
t_check table_convert grep -q '^| `convert` | explicit | .* | -1 | -1 | 0 / 0 | 42 \[.*| 1 violations | 5/5 |$' <<< "$ev"
t_check table_socks5 grep -q '^| `socks5` | explicit | .* | +1.98 | +2 | 3 / 3 | 101.5 .* | 4/5 |$' <<< "$ev"
t_check table_not_run grep -q '^| `mpconvert` | .* | not run: bin/mpx-proxy not built yet |' <<< "$ev"
t_check html_tables test "$(grep -c '<table>' "$o/report.html")" -ge 2
t_check html_no_md_table test "$(grep -c '^|---' "$o/report.html")" = 0
if command -v gnuplot >/dev/null; then
  t_check plots_png test -s "$o/plots/ttfb-box.png" -a -s "$o/plots/ttfb-cdf.png" -a -s "$o/plots/synopt.png"
  t_check plots_svg test -s "$o/plots/ttfb-box.svg"
  t_check html_inline_png grep -q 'src="data:image/png;base64,iVBOR' "$o/report.html"
else t_skip plots "gnuplot not installed"; fi
t_check repro_line grep -q '^./mpxlab run t.exp --seed 3 --reps 5$' "$o/report.md"

# compare: B's convert is 5 ms slower
gen "$tmp/b" 5 > "$tmp/gen-b.log" 2>&1
cmp=$(bash emu/cmd/compare.sh "$tmp/a" "$tmp/b" 2>&1); rc=$?
t_check compare_rc test "$rc" = 0
t_check compare_convert_delta grep -q '^| `convert` | 42 ms, -1 RTT, 24 B, 5/5 ok, 1 viol. | 47 ms, -0.75 RTT, 24 B, 5/5 ok, 1 viol. | +5 (+11.9 %) | +0.25 | 0 |' <<< "$cmp"
t_check compare_tcp_same grep -q '^| `tcp` | .* | 0 (0 %) |' <<< "$cmp"
bash emu/cmd/compare.sh "$tmp/a" "$tmp/nonexistent" > /dev/null 2>&1; rc=$?
t_check compare_bad_run test "$rc" = 2
t_done
