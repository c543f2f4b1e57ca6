# shellcheck shell=bash
# tests/lib-proxy.sh: helpers for the mpx-proxy integration tests (source after lib.sh and
# lib-netns.sh). Everything runs inside the namespaces of mpx_nt_up.
#   mpx_px_server [ARGS...]        starts mpx-server on the server node (v4+v6 :8080); waits
#   mpx_px_start NAME [ARGS...]    starts mpx-proxy ($MPX_PX_BIN, default bin/mpx-proxy) on the hag (stats/ready/log under
#                                  $MPX_NT_DIR/NAME.*; drain bounded to 2 s so that cleanup
#                                  never has to SIGKILL it); sets MPX_PX_PID
#   mpx_px_stats [NAME]            SIGUSR1 to proxy NAME (default: the last started), waits
#                                  for its stats file to change, prints it
#   mpx_px_stop [PID]              SIGTERM (drain) and waits
#   mpx_px_client ARGS...          mpx-client on the client node (timeout 60)
#   mpx_px_probe ARGS...           mpx-proxy-probe on the client node
#   mpx_px_jq FILE EXPR            jq -r on a JSON file (prints "null" on parse errors)
MPX_PX_PID='' MPX_PX_NAME=''
declare -A MPX_PX_PIDS=()

mpx_px_server() {
  mpx_nt_bg server "$MPX_NT_DIR/server.log" "$MPX_ROOT/bin/mpx-server" \
    --listen "$MPX_NT_S4:8080" --listen "[$MPX_NT_S6]:8080" --ready "$MPX_NT_DIR/server.ready" \
    --json "$MPX_NT_DIR/server.json" "$@"
  mpx_nt_wait_file "$MPX_NT_DIR/server.ready" 10
}

mpx_px_start() { # name args...
  local name=$1; shift
  rm -f "$MPX_NT_DIR/$name.ready" "$MPX_NT_DIR/$name.stats"
  mpx_nt_bg hag "$MPX_NT_DIR/$name.log" "${MPX_PX_BIN:-$MPX_ROOT/bin/mpx-proxy}" \
    --ready "$MPX_NT_DIR/$name.ready" --stats "$MPX_NT_DIR/$name.stats" --drain-timeout 2000 "$@"
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

# Convert message helpers (hex): header for N words, Connect TLV for an IPv4 target.
mpx_px_hex_v4() { # a.b.c.d -> 8 hex digits
  local IFS=.; set -- $1; printf '%02x%02x%02x%02x' "$1" "$2" "$3" "$4"
}
mpx_px_connect_hex() { # ipv4 port -> "01062263 0a05PPPP 00..ffff AAAAAAAA"
  printf '01062263%s%04x%s%s' 0a05 "$2" 00000000000000000000ffff "$(mpx_px_hex_v4 "$1")"
}
