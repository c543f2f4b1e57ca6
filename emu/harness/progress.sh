# shellcheck shell=bash
# mpxlab harness: progress display on stderr. One updating line on a TTY, plain lines
# otherwise (logs, CI). Estimate = mean time per finished step x steps left.
#   mpx_progress_init TOTAL        start the clock
#   mpx_progress STEP_TEXT DONE    show "[done/total] text  elapsed  eta"
#   mpx_progress_msg TEXT          a line of its own (phases: "bringing topology up" ...)
#   mpx_progress_end               finish the updating line
# Output goes to fd MPX_PROG_FD (default 2): run.sh passes a copy of its own stderr, so a line
# written while a function runs with stderr redirected to a log still reaches the terminal.
MPX_PROG_TOTAL=0 MPX_PROG_T0=0 MPX_PROG_TTY=0 MPX_PROG_OPEN=0 MPX_PROG_QUIET=${MPX_PROG_QUIET:-0}
MPX_PROG_STEP_T0=0 MPX_PROG_STEP_DONE0=0

_mpx_now_ms() { local s ns; IFS=. read -r s ns <<< "$EPOCHREALTIME"; echo $(( s * 1000 + 10#${ns:0:3} )); }
_mpx_fmt_s() { local s=$1; if [ "$s" -ge 60 ]; then printf '%dm%02ds' $((s / 60)) $((s % 60)); else printf '%ds' "$s"; fi; }

mpx_progress_init() {
  MPX_PROG_TOTAL=$1 MPX_PROG_T0=$(_mpx_now_ms)
  MPX_PROG_STEP_T0=$MPX_PROG_T0 MPX_PROG_STEP_DONE0=0
  if [ -t "${MPX_PROG_FD:-2}" ] && [ "${TERM:-dumb}" != dumb ]; then MPX_PROG_TTY=1; else MPX_PROG_TTY=0; fi
}

# the steps' clock restarts after setup phases so the estimate counts only measured steps
mpx_progress_steps_begin() { MPX_PROG_STEP_T0=$(_mpx_now_ms); MPX_PROG_STEP_DONE0=$1; }

mpx_progress() {
  [ "$MPX_PROG_QUIET" = 1 ] && return 0
  local text=$1 done=$2 now el eta='?' per
  now=$(_mpx_now_ms); el=$(( (now - MPX_PROG_T0) / 1000 ))
  local sd=$(( done - MPX_PROG_STEP_DONE0 ))
  if [ "$sd" -gt 0 ]; then
    per=$(( (now - MPX_PROG_STEP_T0) / sd ))
    eta=$(_mpx_fmt_s $(( per * (MPX_PROG_TOTAL - done) / 1000 )))
  fi
  local line
  line=$(printf '[%*d/%d] %s  elapsed %s  eta %s' ${#MPX_PROG_TOTAL} "$done" "$MPX_PROG_TOTAL" "$text" "$(_mpx_fmt_s "$el")" "$eta")
  if [ "$MPX_PROG_TTY" = 1 ]; then
    printf '\r\033[K%s' "${line:0:$(( ${COLUMNS:-120} - 1 ))}" >&"${MPX_PROG_FD:-2}"; MPX_PROG_OPEN=1
  else
    printf '%s\n' "$line" >&"${MPX_PROG_FD:-2}"
  fi
}

mpx_progress_msg() {
  [ "$MPX_PROG_QUIET" = 1 ] && return 0
  local el=$(( ($(_mpx_now_ms) - MPX_PROG_T0) / 1000 ))
  if [ "$MPX_PROG_OPEN" = 1 ]; then printf '\r\033[K' >&"${MPX_PROG_FD:-2}"; MPX_PROG_OPEN=0; fi
  printf '[%s] %s\n' "$(_mpx_fmt_s "$el")" "$1" >&"${MPX_PROG_FD:-2}"
}

mpx_progress_end() {
  if [ "$MPX_PROG_OPEN" = 1 ]; then printf '\n' >&"${MPX_PROG_FD:-2}"; MPX_PROG_OPEN=0; fi
}
