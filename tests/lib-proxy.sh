# shellcheck shell=bash
# tests/lib-proxy.sh: helpers for the mpx-proxy integration tests (source after lib.sh and
# lib/netns.sh). Everything runs inside the namespaces of mpx_nt_up.
#   mpx_px_server [ARGS...]        starts mpx-server on the server node (v4+v6 :8080); waits
#   mpx_px_start NAME [ARGS...]    starts mpx-proxy ($MPX_PX_BIN, default bin/mpx-proxy) on the hag (stats/ready/log under
#                                  $MPX_NT_DIR/NAME.*; drain bounded to 2 s so that cleanup
#                                  never has to SIGKILL it); sets MPX_PX_PID. Without --allow
#                                  or --config in ARGS it allows the client's access links
#                                  (mpx_px_allow_args); the proxy refuses everyone else
#   mpx_px_allow_args              --allow PREFIX per address of the client's access links
#                                  (dsl, lte; v4 /24, v6 /64), one word a line
#   mpx_px_stats [NAME]            SIGUSR1 to proxy NAME (default: the last started), waits
#                                  for its stats file to change, prints it
#   mpx_px_stop [PID]              SIGTERM (drain) and waits
#   mpx_px_client ARGS...          mpx-client on the client node (timeout 60)
#   mpx_px_probe ARGS...           mpx-proxy-probe on the client node
#   mpx_px_jq FILE EXPR            jq -r on a JSON file (prints "null" on parse errors)
#   mpx_px_wire ARGS..., mpx_px_connect_hex ADDR PORT   wire bytes (hex) from mpx-wire encode
MPX_PX_PID='' MPX_PX_NAME=''
declare -A MPX_PX_PIDS=()

mpx_px_server() {
  mpx_nt_bg server "$MPX_NT_DIR/server.log" "$MPX_ROOT/bin/mpx-server" \
    --listen "$MPX_NT_S4:8080" --listen "[$MPX_NT_S6]:8080" --ready "$MPX_NT_DIR/server.ready" \
    --json "$MPX_NT_DIR/server.json" "$@"
  mpx_nt_wait_file "$MPX_NT_DIR/server.ready" 10
}

mpx_px_allow_args() {
  local a
  for a in "$MPX_NT_C_DSL4" "$MPX_NT_C_LTE4"; do [ -n "$a" ] && printf -- '--allow\n%s/24\n' "$a"; done
  for a in "$MPX_NT_C_DSL6" "$MPX_NT_C_LTE6"; do [ -n "$a" ] && printf -- '--allow\n%s/64\n' "$a"; done
  return 0
}

mpx_px_start() { # name args...
  local name=$1 allow=()
  shift
  rm -f "$MPX_NT_DIR/$name.ready" "$MPX_NT_DIR/$name.stats"
  [[ " $* " == *" --allow "* || " $* " == *" --config "* ]] || mapfile -t allow < <(mpx_px_allow_args)
  mpx_nt_bg hag "$MPX_NT_DIR/$name.log" "${MPX_PX_BIN:-$MPX_ROOT/bin/mpx-proxy}" \
    --ready "$MPX_NT_DIR/$name.ready" --stats "$MPX_NT_DIR/$name.stats" --drain-timeout 2000 \
    "${allow[@]}" "$@"
  # shellcheck disable=SC2034  # MPX_PX_PID is for the tests that source this file
  MPX_PX_PID=$MPX_NT_LASTPID MPX_PX_NAME=$name
  MPX_PX_PIDS[$name]=$MPX_NT_LASTPID
  mpx_nt_wait_file "$MPX_NT_DIR/$name.ready" 10
}

mpx_px_stats() { # [name]
  local name=${1:-$MPX_PX_NAME} i before=''
  local pid=${MPX_PX_PIDS[$name]} f=$MPX_NT_DIR/$name.stats
  [ -f "$f" ] && before=$(stat -c %Y.%s "$f" 2>/dev/null; md5sum < "$f")
  kill -USR1 "$pid" 2>/dev/null || return 1
  for ((i = 0; i < 100; i++)); do
    if [ -s "$f" ] && [ "$(stat -c %Y.%s "$f" 2>/dev/null; md5sum < "$f")" != "$before" ]; then break; fi
    sleep 0.02
  done
  cat "$f"
}

mpx_px_stop() { mpx_nt_kill "${MPX_PX_PIDS[${1:-$MPX_PX_NAME}]}"; }

mpx_px_client() { mpx_nt_exec client timeout 60 "$MPX_ROOT/bin/mpx-client" "$@"; }
mpx_px_probe() { mpx_nt_exec client timeout 30 "$MPX_ROOT/bin/mpx-proxy-probe" "$@"; }

mpx_px_jq() { jq -r "$2" "$1" 2>/dev/null || echo null; }

# Convert messages for the probes, built by the project's own encoder (proto/ through mpx-wire).
#   mpx_px_wire ARGS...            bin/mpx-wire ARGS (hex on stdout, no newline)
#   mpx_px_connect_hex ADDR PORT   Convert header + Connect TLV for ADDR (IPv4 or IPv6), PORT
mpx_px_wire() { "$MPX_ROOT/bin/mpx-wire" "$@"; }
mpx_px_connect_hex() {
  local a=$1
  [[ $a == *:* ]] && a="[$a]"
  mpx_px_wire encode convert --connect "$a:$2"
}
