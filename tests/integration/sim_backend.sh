#!/usr/bin/env bash
# `mpxlab run --backend sim`: the default experiment on the discrete-event model, through the
# same harness pipeline as an emulation (analysis, summary, report):
#   - the run ends done with exit 0, the manifest names the backend, no namespace is created;
#   - every planned connection is recorded, ok, verified by both ends and matched with the
#     analyzer's record of the simulated pcaps, with no encoding violation;
#   - the summary's TTFB median per signal is the simulator's own within the records' 1 us
#     resolution (the pipeline adds nothing),
#     the fidelity verdict says "simulated", the evidence table shows the simulated column;
#   - the simulated medians keep the model's order: SYN-payload signals before tcp before
#     SOCKS5 before SOCKS5 with RFC 1929.
# timeout: 120
set -uo pipefail
source "$(dirname "$0")/../lib.sh"
t_require_cmd jq
t_require_bin mpx-sim mpx-analyze mpx-wire
cd "$MPX_ROOT" || exit 1
tmp=$(mktemp -d /tmp/mpx-simrun.XXXXXX); trap 'rm -rf "$tmp"' EXIT
out=$tmp/run
timeout 100 ./mpxlab run default --backend sim --reps 2 --out "$out" --quiet --no-plots > "$tmp/run.out" 2> "$tmp/run.err"
rc=$?
t_check run_rc test "$rc" = 0
[ -s "$out/summary.json" ] || { tail -n 20 "$tmp/run.err" "$out/logs/run.log" 2>/dev/null; t_fail results "no summary.json"; t_done; }
# none with this run's tag (other runs on the machine may come and go meanwhile)
tag=$(jq -r '.namespace_tag' "$out/manifest.json")
t_check no_namespaces test -n "$tag" -a "$(ip netns list 2>/dev/null | grep -c "^mpx-${tag}v")" = 0
t_check manifest test "$(jq -r '"\(.backend) \(.status) \(.exit_code)"' "$out/manifest.json")" = "sim done 0"
nsig=$(jq '.signals | length' < <(./bin/mpx-wire signals --json))
t_check connections test "$(jq -s 'length' "$out/connections.jsonl")" = $((2 * nsig))
t_check all_ok_verified_matched test "$(jq -s 'map(select(.ok and .verified and .a != null and (.a.violations | length) == 0)) | length' "$out/connections.jsonl")" = $((2 * nsig))
bad=$(jq -r '.variants[0] as $v | $v.signals[]
  | select(((.ttfb_ms.p50 - .simulated.p50) | fabs) > 0.002 or .simulated.backend != "sim") | .signal' "$out/summary.json")
if [ -z "$bad" ]; then t_pass medians_are_the_simulators; else t_fail medians_are_the_simulators "$bad"; fi
t_check fidelity_simulated test "$(jq -r '.variants[0].fidelity.verdict' "$out/summary.json")" = simulated
t_check report_column grep -q "simulated TTFB ms" "$out/report.md"
order=$(jq -r '.variants[0].signals | map({key: .signal, value: .ttfb_ms.p50}) | from_entries
  | [.convert < .tcp, .mpconvert < .tcp, .tcp < .socks5, .socks5 < ."socks5-auth", .tcp < ."convert-wait"] | all' "$out/summary.json")
t_check model_order test "$order" = true
t_done
