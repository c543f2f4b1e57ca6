# shellcheck shell=bash
# mpxlab: the bash twins of lib/parse.h, same grammars and limits (pure bash, no external
# commands, so the .topo parser can use them). Each prints the value on stdout, or prints
# "WHAT: bad ... 'TEXT' (...)" on stderr and returns 2; no silent defaults.
#
#   mpx_duration_ns TEXT     duration -> integer nanoseconds
#   mpx_duration_us TEXT     duration -> integer microseconds
#   mpx_duration_ms TEXT     duration -> milliseconds with 3 decimals ("2.500")
#   mpx_seed TEXT            seed -> the same text, checked
#
# Durations: DIGITS[.DIGITS]UNIT with UNIT ns|us|ms|s|m|min (lower case), or "0" alone; at most
#   9 fraction digits; rounded half up to the nanosecond, then (for _us) to the microsecond;
#   at most 10^15 ns. A bare number other than 0 is an error.
# Seeds: 0 or [1-9][0-9]*, at most 2^53-1 (exact in bash arithmetic and in jq).

MPX_SEED_MAX=9007199254740991
MPX_DURATION_MAX_NS=1000000000000000
MPX_DURATION_HELP='a duration like 250us, 20ms, 1.5s or 2m: units ns us ms s m min, or 0 alone'

# _mpx_duration_ns TEXT: quiet core; prints ns or returns 1
_mpx_duration_ns() {
  local t=$1 i f u m fr v
  [ "$t" = 0 ] && { echo 0; return 0; }
  [[ $t =~ ^([0-9]+)(\.([0-9]{1,9}))?(ns|us|ms|s|m|min)$ ]] || return 1
  i=${BASH_REMATCH[1]} f=${BASH_REMATCH[3]} u=${BASH_REMATCH[4]}
  case $u in
    ns) m=1 ;; us) m=1000 ;; ms) m=1000000 ;; s) m=1000000000 ;; m|min) m=60000000000 ;;
  esac
  i=${i#"${i%%[!0]*}"}; i=${i:-0}                 # leading zeros off (bash reads 010 as octal)
  [ ${#i} -le 16 ] || return 1                   # 16 digits cannot overflow below
  (( i <= MPX_DURATION_MAX_NS / m )) || return 1
  f=${f}000000000; fr=$(( 10#${f:0:9} ))         # fraction as billionths of the unit
  if (( m >= 1000000000 )); then fr=$(( fr * (m / 1000000000) ))
  else fr=$(( (fr * m + 500000000) / 1000000000 )); fi
  v=$(( i * m + fr ))
  (( v <= MPX_DURATION_MAX_NS )) || return 1
  echo "$v"
}

mpx_duration_ns() {
  _mpx_duration_ns "$1" || { echo "mpx_duration_ns: bad duration '$1' (want $MPX_DURATION_HELP)" >&2; return 2; }
}

mpx_duration_us() {
  local ns
  ns=$(_mpx_duration_ns "$1") || { echo "mpx_duration_us: bad duration '$1' (want $MPX_DURATION_HELP)" >&2; return 2; }
  echo $(( (ns + 500) / 1000 ))
}

mpx_duration_ms() {
  local us
  us=$(mpx_duration_us "$1") || return 2
  printf '%d.%03d\n' $(( us / 1000 )) $(( us % 1000 ))
}

mpx_seed() {
  [[ $1 =~ ^(0|[1-9][0-9]{0,15})$ ]] && (( $1 <= MPX_SEED_MAX )) && { echo "$1"; return 0; }
  echo "mpx_seed: bad seed '$1' (want an integer 0..$MPX_SEED_MAX without leading zeros)" >&2
  return 2
}
