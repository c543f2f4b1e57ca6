# shellcheck shell=bash
# mpxlab harness: the simulator cross-check (sim/README.md). After an emulated variant, the same
# resolved variant (links/V: topology, addresses, link specs with their seeds) and plan
# (signals, repetitions, workload, TFO) run through bin/mpx-sim; the summary gets the simulated
# TTFB per signal next to the measured and closed-form ones.
#   mpx_sim_variant OUT V   writes OUT/links/V/sim.json (the per-signal summary, or a status
#                           "not modelled" with the reason) and OUT/links/V/sim.jsonl; then the
#                           calibration of per-node processing times on the first loss-free
#                           variant (OUT/sim-calibration.json) and every variant's run with
#                           them (sim.json .calibrated; sim/README.md "Calibration")

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

# _mpx_sim_lossless VD LINKS: true when none of LINKS (space-separated names; empty: every link
# of the variant) loses frames: every loss= 0, no ge=, no scheduled drop=. LINKS are the model's
# path (.model_links, cp and ps: the links every connection's TTFB crosses; the second access
# link carries only the MP_JOIN subflow), so the measured - simulated residual there is the hosts'
_mpx_sim_lossless() {
  local f w l=()
  if [ -n "$2" ]; then for w in $2; do l+=("$1/$w.spec"); done; else l=("$1"/*.spec); fi
  for f in "${l[@]}"; do
    [ -f "$f" ] || continue
    for w in $(<"$f"); do
      case $w in
        loss=*) [[ ${w#loss=} =~ ^0*(\.0*)?%?$ ]] || return 1 ;;
        ge=*|drop=*) return 1 ;;
      esac
    done
  done
}

# _mpx_sim_calibrated OUT V: the variant's simulation again (its arguments in links/V/sim.args)
# with the fitted processing times of OUT/sim-calibration.json; its per-signal summary goes into
# links/V/sim.json as .calibrated {from, proc_us, signals}
_mpx_sim_calibrated() {
  local vd=$1/links/$2 proc rc=0 a=()
  [ -s "$vd/sim.args" ] && [ -s "$1/sim-calibration.json" ] || return 0
  mapfile -t a < "$vd/sim.args"
  proc=$(jq -r '.calibration.proc' "$1/sim-calibration.json") || return 1
  timeout 300 "${MPX_BIN:-$MPX_ROOT/bin}/mpx-sim" "${a[@]}" --proc "$proc" --out /dev/null \
    --summary-json "$vd/sim-cal.json.tmp" 2>> "$vd/sim.err" || rc=$?
  if [ "$rc" -le 1 ] && [ -s "$vd/sim-cal.json.tmp" ]; then
    jq -c --slurpfile c "$vd/sim-cal.json.tmp" --slurpfile f "$1/sim-calibration.json" \
      '. + {calibrated: {from: $f[0].from, proc: $f[0].calibration.proc, proc_us: $f[0].calibration.proc_us,
                         exit: '"$rc"', signals: $c[0].signals}}' "$vd/sim.json" > "$vd/sim.json.cal" &&
      mv "$vd/sim.json.cal" "$vd/sim.json"
  else
    echo "mpx-sim with --proc $proc: exit $rc" >> "$vd/sim.err"
  fi
  rm -f "$vd/sim-cal.json.tmp" "$vd/sim.json.cal"
}

# _mpx_sim_calibrate OUT V LINKS PLANARGS...: the first loss-free variant that did not fail
# (LINKS: _mpx_sim_lossless) fits the model's per-node processing times (mpx-sim --calibrate)
# to its measured TTFBs (raw/V: the client's records) on its own plan, writes the fit to
# OUT/sim-calibration.json and into its sim.json as .calibration; then every variant simulated so
# far, and each one after, is simulated once more with those times (_mpx_sim_calibrated).
# PLANARGS: mpx-sim's arguments for the plan.
_mpx_sim_calibrate() {
  local o=$1 v=$2 vd=$1/links/$2 ml=$3 d; shift 3
  # (a failed variant, health.json by run.sh: its measurements are not evidence of the hosts)
  if [ ! -s "$o/sim-calibration.json" ] && _mpx_sim_lossless "$vd" "$ml" && compgen -G "$o/raw/$v/*.jsonl" > /dev/null &&
     ! grep -qs '"status":"failed"' "$vd/health.json"; then
    cat "$o/raw/$v"/*.jsonl | jq -r 'select(.type == "conn" and .ok == true and .ttfb_us != null)
      | "\(.signal) \(.ttfb_us / 1000)"' > "$vd/sim-measured.txt" || return 1
    if timeout 120 "${MPX_BIN:-$MPX_ROOT/bin}/mpx-sim" "$@" --calibrate "$vd/sim-measured.txt" \
       --out "$vd/sim-fit.json" 2>> "$vd/sim.err" && [ -s "$vd/sim-fit.json" ]; then
      jq -c --arg v "$v" '. + {from: $v}' "$vd/sim-fit.json" > "$o/sim-calibration.json" &&
        jq -c --slurpfile f "$o/sim-calibration.json" '. + {calibration: ($f[0].calibration + {from: $f[0].from})}' \
          "$vd/sim.json" > "$vd/sim.json.fit" && mv "$vd/sim.json.fit" "$vd/sim.json"
      rm -f "$vd/sim.json.fit"
      for d in "$o"/links/*/; do
        d=${d%/}; d=${d##*/}
        [ "$d" = "$v" ] || [ ! -s "$o/links/$d/sim.args" ] || _mpx_sim_calibrated "$o" "$d"
      done
    fi
    rm -f "$vd/sim-fit.json"
  fi
  _mpx_sim_calibrated "$o" "$v"
}


mpx_sim_variant() {
  local vd=$1/links/$2 why rc
  [ -f "$vd/variant.json" ] || return 0
  # what the simulator needs from the variant, in one jq (fields split by \x1f: empty ones stay)
  local chain nmb nfault wl target tfo simreps sigs pol mlinks
  IFS=$'\x1f' read -r chain nmb nfault wl target tfo simreps sigs pol mlinks < <(jq -r '[(if .chain != null then 1 else 0 end),
    ((.middlebox // []) | length), ((.faults // []) | length), .workload, (.target // 4), (.tfo // "off"),
    (.sim_reps // ""), ((.signals // []) | join(",")), (.syn_data_policy // "cookie"), ((.model_links // {}) | [.[]] | join(" "))] | map(tostring) | join("\u001f")' \
    "$vd/variant.json") || return 1
  why=$(_mpx_sim_why_not "$chain" "$nmb" "$nfault" "$wl" "$target")
  if [ -z "$why" ] && [ ! -x "${MPX_BIN:-$MPX_ROOT/bin}/mpx-sim" ]; then why="bin/mpx-sim not built"; fi
  if [ -n "$why" ]; then
    jq -n --arg why "$why" '{model: "mpx-sim", status: "not modelled", reason: $why}' > "$vd/sim.json"
    return 0
  fi
  local common=(--variant "$vd" --workload "$wl" --conn-timeout "${EXP_TIMEOUT_CONN:-5}") args=()
  [ "$tfo" = on ] && common+=(--tfo)
  # no unrecorded warm-up connection in the emulation (.exp "warmup 0"): none in the simulator,
  # so both send the same packets through the links (drop= indices, loss draws)
  [ "${EXP_WARMUP_MS:-1}" = 0 ] && common+=(--no-warmup)
  # the policy the proxy ran with (variant.json), so the simulated converter acts on SYN data alike
  common+=(--syn-data-policy "$pol")
  local plan=(--plan "$1/plan.csv" --name "$2") # the emulation's own plan: its steps, in its order
  local seeds
  if [ -n "$simreps" ]; then
    # .exp sim-reps N: tails need many connections: N per signal over 10 seeds (fewer when N
    # is small), the link draws of each seed independent
    seeds=$(( simreps >= 10 ? 10 : 1 ))
    args=("${common[@]}" --signals "$sigs" --reps $(( (simreps + seeds - 1) / seeds )) --seeds "$seeds")
  else
    args=("${common[@]}" "${plan[@]}")
  fi
  rc=0
  timeout 300 "${MPX_BIN:-$MPX_ROOT/bin}/mpx-sim" "${args[@]}" --out "$vd/sim.jsonl" --summary-json "$vd/sim.json.tmp" 2> "$vd/sim.err" || rc=$?
  if [ -s "$vd/sim.json.tmp" ] && [ "$rc" -le 1 ]; then
    # rc 1: some simulated connections failed; their count is in the summary (ok < n)
    _mpx_sim_json "$vd/sim.json.tmp" "$rc" > "$vd/sim.json" ||
      jq -n '{model: "mpx-sim", status: "failed", reason: "mpx-sim wrote an unreadable summary"}' > "$vd/sim.json"
  else
    jq -n --arg why "mpx-sim exit $rc: $(head -c 300 "$vd/sim.err")" \
      '{model: "mpx-sim", status: "failed", reason: $why}' > "$vd/sim.json"
  fi
  rm -f "$vd/sim.json.tmp"
  # the model once more with per-node processing times fitted on the first loss-free variant
  # (sim/README.md "Calibration"), next to the uncalibrated one: the evidence table's calibrated
  # column and, with sim-reps, the tails' calibrated columns
  if [ "$rc" -le 1 ] && [ -s "$vd/sim.json" ]; then
    printf '%s\n' "${args[@]}" > "$vd/sim.args"
    # with sim-reps the calibrated values shown are those of many seeds: the fit's model medians
    # too (the plan over as many seeds), not those of one sample as small as the measured one,
    # whose own draws the fit would take for the hosts' cost
    _mpx_sim_calibrate "$1" "$2" "$mlinks" "${common[@]}" "${plan[@]}" ${simreps:+--seeds "$seeds"} || true
  fi
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
