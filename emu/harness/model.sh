# shellcheck shell=bash
# mpxlab harness: the analytic TTFB model of DESIGN.md, fed with the topology's link delays.
#   mpx_model_delays TOPO CP_LINKS PS_LINKS [lan=LAN_LINKS] [PARAM...]
#       -> JSON {"R_cp_ms":..,"R_ps_ms":..,"cp":[links],"ps":[links],"delays":{link:{ab,ba}}}
#       R_cp = sum over the client<->proxy links of (a->b + b->a one-way delay); R_ps likewise;
#       with lan=: also R_lan_ms and "lan" (LAN host <-> CPE, the proxy/proxy model)
#       Jitter and serialization are left out on purpose: the model is the delay-only baseline.
#   mpx_model_json R_CP_MS R_PS_MS [TFO on|off] -> JSON {formula id: {ttfb_ms, extra_rtt,
#       rtts_before_data, formula, derivation}} for every formula id of the signal registry
#       (uses emu/harness/model.jq; collect.sh gives each signal its formula)
#   mpx_model_chain_json R_LAN_MS R_ACC_MS R_PS_MS POLICY ROWS_JSON -> JSON {R_cp_ms (= R_lan +
#       R_acc), R_lan_ms, R_acc_ms, R_ps_ms, direct_ttfb_ms, signals: {row name: {ttfb_ms, g_ms,
#       extra_rtt, rtts_before_data, formula, derivation, formula_id}}} for proxy/proxy rows;
#       ROWS_JSON: [{name, wait_ms, row: the channel's registry row}] (model.jq, chain_g)
# Needs emu/lib/topofile.sh (the topology helper's pure parser) and emu/lib/parse.sh.

# _mpx_model_ms VALUE: "10ms" "2.5ms" "500us" "1s" -> ms with 3 decimals; a bad value fails (2)
# with the reason instead of counting as 0 ms
_mpx_model_ms() { mpx_duration_ms "$1"; }

mpx_model_delays() {
  local topo=$1 cp=$2 ps=$3 lan='' rows; shift 3
  [[ ${1:-} == lan=* ]] && { lan=${1#lan=}; shift; }
  rows=$(mpx_model_delay_rows "$topo" "$@") || return 2
  # one jq: the per-link delays (one "LINK AB BA" line each, in topology order) and the sums
  printf '%s\n' "$rows" | jq -R -n -c -L "$MPX_ROOT/emu/harness" --arg cp "$cp" --arg ps "$ps" --arg lan "$lan" \
    'include "modellib"; [inputs] | delays($cp; $ps; $lan)'
}

# mpx_model_delay_rows TOPO [PARAM...]: one "LINK AB_MS BA_MS" line per link of TOPO (with the
# parameter overrides), in topology order; fails (2) on a bad topology, parameter or delay
mpx_model_delay_rows() {
  local topo=$1 p l rows=''; shift
  # shellcheck source=/dev/null
  declare -F mpx_topofile_parse >/dev/null || source "$MPX_ROOT/emu/lib/topofile.sh"
  # shellcheck source=/dev/null
  declare -F mpx_duration_ms >/dev/null || source "$MPX_ROOT/emu/lib/parse.sh"
  mpx_topofile_parse "$topo" >/dev/null || return 2
  for p in "$@"; do mpx_topofile_param "$p" >/dev/null || return 2; done
  for l in "${MPX_T_LINKS[@]}"; do
    local ab ba
    ab=$(_mpx_model_ms "${MPX_T_LP[$l.ab.delay]:-0}") || return 2
    ba=$(_mpx_model_ms "${MPX_T_LP[$l.ba.delay]:-0}") || return 2
    rows+="$l $ab $ba"$'\n'
  done
  printf '%s' "$rows"
}

mpx_model_json() {
  jq -n -c -L "$MPX_ROOT/emu/harness" --argjson rcp "$1" --argjson rps "$2" --argjson tfo "$([ "${3:-off}" = on ] && echo true || echo false)" -f "$MPX_ROOT/emu/harness/model.jq"
}

mpx_model_chain_json() {
  jq -n -c --argjson chain "$(jq -n -c --argjson l "$1" --argjson a "$2" --argjson p "$3" --arg pol "$4" --argjson rows "$5" \
      '{R_lan_ms: $l, R_acc_ms: $a, R_ps_ms: $p, policy: $pol, rows: $rows}')" \
    --argjson rcp 0 --argjson rps 0 --argjson tfo false -L "$MPX_ROOT/emu/harness" -f "$MPX_ROOT/emu/harness/model.jq"
}
