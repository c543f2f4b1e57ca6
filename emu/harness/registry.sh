# shellcheck shell=bash
# mpxlab harness: the signal registry (proto/signal.c) as the harness sees it. Everything the
# harness knows about a signal (its front-end and port, TFO and helper needs, interception
# mode, model formula, evidence properties, SYN option budgets) comes from one
# `mpx-wire signals --json` per run; a new registry row needs no edit here.
#   mpx_reg_load               reads the registry once per process (subshells inherit it),
#                              fills MPX_REG_NAMES, the MPX_SIG_* maps and
#                              MPX_REG_DIRECT (the row without proxy: the reference and the
#                              native MPTCP probe)
#   mpx_reg_save FILE          the registry as this run read it (evidence: OUT/signals.json)
#   mpx_reg_known NAME         NAME is a registry row
#   mpx_reg_budget_json FILE   the per-signal SYN option budgets (v4, v4-cookie, v6, v6-cookie)

MPX_BIN=${MPX_BIN:-$MPX_ROOT/bin}
MPX_REG='' MPX_REG_DIRECT='' _MPX_REG_PRETTY='' _MPX_REG_BUDGET=''
MPX_REG_NAMES=()
# per signal name: fields of its row ("-" for null); read by agents.sh
# shellcheck disable=SC2034
declare -gA MPX_SIG_MODE=() MPX_SIG_FRONTEND=() MPX_SIG_PORT=() MPX_SIG_AUTH=() MPX_SIG_MPTCP=()
declare -gA MPX_SIG_TFO=() MPX_SIG_HELPER=() MPX_SIG_INTERCEPT=()

mpx_reg_load() {
  [ -n "$MPX_REG" ] && return 0
  [ -x "$MPX_BIN/mpx-wire" ] || { echo "bin/mpx-wire missing (make): the harness reads the signal registry from it" >&2; return 1; }
  MPX_REG=$(timeout 10 "$MPX_BIN/mpx-wire" signals --json) ||
    { MPX_REG=''; echo "mpx-wire signals --json failed: cannot read the signal registry" >&2; return 1; }
  local name mode fe port auth mptcp tfo helper ic out
  MPX_REG_NAMES=() MPX_REG_DIRECT='' _MPX_REG_PRETTY='' _MPX_REG_BUDGET=''
  # one jq: the rows (tab-separated), then after a line of one \x1e the registry as jq . prints
  # it and the budgets as mpx_reg_budget_json writes them (the files mpx_reg_save and
  # mpx_reg_budget_json write, without two more jq start-ups)
  out=$(jq -r '(.signals[] | [.name, .mode, (.frontend // "-"), .port, .auth, .mptcp, .tfo, .helper,
                  (.intercept // "-")] | @tsv), "\u001e", ., "\u001e", (.signals | map({key: .name, value: .budget}) | from_entries)' <<< "$MPX_REG") ||
    { MPX_REG=''; echo "the signal registry is not readable JSON" >&2; return 1; }
  _mpx_reg_split "$out"
  # shellcheck disable=SC2034
  while IFS=$'\t' read -r name mode fe port auth mptcp tfo helper ic; do
    [ "$name" != $'\x1e' ] || break
    MPX_REG_NAMES+=("$name")
    MPX_SIG_MODE[$name]=$mode MPX_SIG_FRONTEND[$name]=$fe MPX_SIG_PORT[$name]=$port
    MPX_SIG_AUTH[$name]=$auth MPX_SIG_MPTCP[$name]=$mptcp MPX_SIG_TFO[$name]=$tfo
    MPX_SIG_HELPER[$name]=$helper MPX_SIG_INTERCEPT[$name]=$ic
    [ -z "$MPX_REG_DIRECT" ] && [ "$mode" = none ] && MPX_REG_DIRECT=$name
  done <<< "$out"
  [ ${#MPX_REG_NAMES[@]} -gt 0 ] || { MPX_REG=''; echo "the signal registry has no rows" >&2; return 1; }
}

# _mpx_reg_split OUT: _MPX_REG_PRETTY and _MPX_REG_BUDGET from mpx_reg_load's jq output. Bytes,
# not characters (LC_ALL=C), split by %% and offsets: in a UTF-8 locale a ${x#*SEP} or %% on
# these 30 kB converts the rest of the string at every newline, 0.02-0.4 s of CPU
_mpx_reg_split() {
  local LC_ALL=C head rest
  head=${1%%$'\n\x1e\n'*} rest=''
  [ ${#head} = ${#1} ] || rest=${1:${#head}+3}
  _MPX_REG_PRETTY=${rest%%$'\n\x1e\n'*}
  if [ ${#_MPX_REG_PRETTY} = ${#rest} ]; then _MPX_REG_PRETTY=''
  else _MPX_REG_BUDGET=${rest:${#_MPX_REG_PRETTY}+3}; fi
}

mpx_reg_save() {
  mpx_reg_load || return 1
  if [ -n "$_MPX_REG_PRETTY" ]; then printf '%s\n' "$_MPX_REG_PRETTY" > "$1"; else jq . <<< "$MPX_REG" > "$1"; fi
}

mpx_reg_known() { [ -n "${MPX_SIG_MODE[$1]+x}" ]; }

mpx_reg_budget_json() {
  mpx_reg_load || return 1
  if [ -n "$_MPX_REG_BUDGET" ]; then printf '%s\n' "$_MPX_REG_BUDGET" > "$1"
  else jq '.signals | map({key: .name, value: .budget}) | from_entries' <<< "$MPX_REG" > "$1"; fi
}
