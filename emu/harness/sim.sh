# shellcheck shell=bash
# mpxlab harness: the simulator cross-check (sim/README.md). After an emulated variant, the same
# resolved variant (links/V: topology, addresses, link specs with their seeds) and plan
# (signals, repetitions, workload, TFO) run through bin/mpx-sim; the summary gets the simulated
# TTFB per signal next to the measured and closed-form ones.
#   mpx_sim_variant OUT V   writes OUT/links/V/sim.json (the per-signal summary, or a status
#                           "not modelled" with the reason) and OUT/links/V/sim.jsonl

# _mpx_sim_why_not CHAIN MIDDLEBOXES FAULTS WORKLOAD TARGET: why a variant is outside the
# model, or nothing when it is inside (CHAIN: 1 for a proxy/proxy variant; MIDDLEBOXES, FAULTS:
# how many; TARGET: 4 or 6)
_mpx_sim_why_not() {
  if [ "$1" = 1 ]; then echo "proxy/proxy (chain) variants are not modelled: the simulator has no CPE"
  elif [ "$2" -gt 0 ]; then echo "middlebox variants are not modelled"
  elif [ "$3" -gt 0 ]; then echo "fault schedules are not modelled"
  elif [[ $4 != "rr "* ]]; then echo "workload $4: only request/response is modelled"
  elif [ "$5" = 6 ]; then echo "IPv6 targets are not modelled"
  fi
}

# _mpx_sim_json TMP RC [BACKEND]: mpx-sim's --summary-json TMP with status ok, the exit code and
# the backend appended. mpx-sim writes that object as jq -c would (sim/main.c put_ms), so this is
# jq's `. + {status: "ok", exit: RC, backend: BACKEND}` as text, without a jq start-up
_mpx_sim_json() {
  local j
  j=$(<"$1") || return 1
  [[ $j == '{"model":"mpx-sim",'*'}' ]] || { echo "mpxlab: unexpected mpx-sim summary in $1" >&2; return 1; }
  printf '%s,"status":"ok","exit":%d%s}\n' "${j%\}}" "$2" "${3:+,\"backend\":\"$3\"}"
}

mpx_sim_variant() {
  local vd=$1/links/$2 why rc
  [ -f "$vd/variant.json" ] || return 0
  # what the simulator needs from the variant, in one jq (fields split by \x1f: empty ones stay)
  local chain nmb nfault wl target tfo simreps sigs pol
  IFS=$'\x1f' read -r chain nmb nfault wl target tfo simreps sigs pol < <(jq -r '[(if .chain != null then 1 else 0 end),
    ((.middlebox // []) | length), ((.faults // []) | length), .workload, (.target // 4), (.tfo // "off"),
    (.sim_reps // ""), ((.signals // []) | join(",")), (.syn_data_policy // "cookie")] | map(tostring) | join("\u001f")' \
    "$vd/variant.json") || return 1
  why=$(_mpx_sim_why_not "$chain" "$nmb" "$nfault" "$wl" "$target")
  if [ -z "$why" ] && [ ! -x "${MPX_BIN:-$MPX_ROOT/bin}/mpx-sim" ]; then why="bin/mpx-sim not built"; fi
  if [ -n "$why" ]; then
    jq -n --arg why "$why" '{model: "mpx-sim", status: "not modelled", reason: $why}' > "$vd/sim.json"
    return 0
  fi
  local args=(--variant "$vd" --workload "$wl" --conn-timeout "${EXP_TIMEOUT_CONN:-5}"
              --out "$vd/sim.jsonl" --summary-json "$vd/sim.json.tmp")
  local seeds
  if [ -n "$simreps" ]; then
    # .exp sim-reps N: tails need many connections: N per signal over 10 seeds (fewer when N
    # is small), the link draws of each seed independent
    seeds=$(( simreps >= 10 ? 10 : 1 ))
    args+=(--signals "$sigs" --reps $(( (simreps + seeds - 1) / seeds ))
           --seeds "$seeds")
  else
    args+=(--plan "$1/plan.csv" --name "$2") # the emulation's own plan: its steps, in its order
  fi
  [ "$tfo" = on ] && args+=(--tfo)
  # no unrecorded warm-up connection in the emulation (.exp "warmup 0"): none in the simulator,
  # so both send the same packets through the links (drop= indices, loss draws)
  [ "${EXP_WARMUP_MS:-1}" = 0 ] && args+=(--no-warmup)
  # the policy the proxy ran with (variant.json), so the simulated converter acts on SYN data alike
  args+=(--syn-data-policy "$pol")
  rc=0
  timeout 300 "${MPX_BIN:-$MPX_ROOT/bin}/mpx-sim" "${args[@]}" 2> "$vd/sim.err" || rc=$?
  if [ -s "$vd/sim.json.tmp" ] && [ "$rc" -le 1 ]; then
    # rc 1: some simulated connections failed; their count is in the summary (ok < n)
    _mpx_sim_json "$vd/sim.json.tmp" "$rc" > "$vd/sim.json" ||
      jq -n '{model: "mpx-sim", status: "failed", reason: "mpx-sim wrote an unreadable summary"}' > "$vd/sim.json"
  else
    jq -n --arg why "mpx-sim exit $rc: $(head -c 300 "$vd/sim.err")" \
      '{model: "mpx-sim", status: "failed", reason: $why}' > "$vd/sim.json"
  fi
  rm -f "$vd/sim.json.tmp"
  [ -s "$vd/sim.err" ] || rm -f "$vd/sim.err"
}

# mpx_sim_backend_variant VARIANT PARAM...: `mpxlab run --backend sim`: the variant's plan on
# the simulator instead of namespaces. It leaves what an emulated variant leaves for the rest of
# the harness (links/V with the resolved topology and specs, pcaps/V/LINK.pcap, raw/V with
# mpx-client-style records, steps.csv lines), so analysis, summary and report run unchanged.
# Uses the run's globals (OUT, EXP_*, log, run_variant_fail). Returns non-zero when the
# variant could not run (the reason is recorded in its health).
mpx_sim_backend_variant() {
  local v=$1; shift
  local ld=$OUT/links/$v p args=() why rc
  for p in "$@"; do args+=(--param "$p"); done
  mkdir -p "$ld" "$OUT/pcaps/$v" "$OUT/raw/$v" "$OUT/logs/$v"
  if ! mpx_topo_resolve "$EXP_TOPO" "$EXP_SEED" "$ld" "${args[@]}" >> "$OUT/logs/$v/sim.log" 2>&1; then
    run_variant_fail "$v" "the topology could not be resolved (logs/$v/sim.log)"; return 1
  fi
  # (from the globals variant.json was written from: no jq start-up)
  local chain=0; [ -z "${EXP_CHAIN:-}" ] || chain=1
  why=$(_mpx_sim_why_not "$chain" "${#EXP_MIDDLEBOX[@]}" "${#EXP_FAULT[@]}" "$EXP_WORKLOAD" "$EXP_TARGET")
  if [ -n "$why" ]; then run_variant_fail "$v" "not simulated: $why"; return 1; fi
  local sim=(--variant "$ld" --plan "$OUT/plan.csv" --name "$v" --workload "$EXP_WORKLOAD"
             --conn-timeout "$EXP_TIMEOUT_CONN" --pcap "$OUT/pcaps/$v" --records "$OUT/raw/$v/sim.jsonl"
             --steps "$OUT/raw/$v/steps.sim" --out "$ld/sim.jsonl" --summary-json "$ld/sim.json.tmp")
  [ "$EXP_TFO" = on ] && sim+=(--tfo)
  [ "${EXP_WARMUP_MS:-1}" = 0 ] && sim+=(--no-warmup)
  sim+=(--syn-data-policy "${EXP_SYN_POLICY:-cookie}")
  log "variant $v: mpx-sim ${sim[*]}"
  rc=0
  timeout -s KILL 3600 "${MPX_BIN:-$MPX_ROOT/bin}/mpx-sim" "${sim[@]}" >> "$OUT/logs/$v/sim.log" 2>&1 || rc=$?
  if [ "$rc" -gt 1 ] || [ ! -s "$OUT/raw/$v/steps.sim" ]; then
    run_variant_fail "$v" "mpx-sim exit $rc (logs/$v/sim.log)"; return 1
  fi
  cat "$OUT/raw/$v/steps.sim" >> "$OUT/steps.csv"; rm -f "$OUT/raw/$v/steps.sim"
  if ! _mpx_sim_json "$ld/sim.json.tmp" "$rc" sim > "$ld/sim.json"; then
    run_variant_fail "$v" "mpx-sim wrote no readable summary (logs/$v/sim.log)"; return 1
  fi
  rm -f "$ld/sim.json.tmp"
  return 0
}
