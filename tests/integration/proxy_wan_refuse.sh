#!/usr/bin/env bash
# mpx-proxy serves its internal realm only (RFC 8803 s9). Every listener of the signal
# registry's front-ends (one instance with each front-end on its row's port, one more with
# --users for the rows that need credentials, as the harness starts them) is reached from the
# WAN side (the server's namespace, IPv4 and IPv6) with a valid signal naming a host on the
# access side: each one refuses (Convert Error 32, SOCKS5 method 05 ff, a reset for the
# front-ends without an error format), the internal host sees no connection, and the proxy
# counts every refusal. The transparent listener is reached through a TPROXY rule on the wan
# interface. From the access side the same listeners relay. A proxy started without --allow
# refuses the access side too and says so on stderr and in its stats.
# timeout: 90
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$MPX_ROOT/tests/lib/netns.sh"
source "$MPX_ROOT/tests/lib-proxy.sh"
t_require_root
t_require_cmd jq ip nft
t_require_bin mpx-proxy mpx-client mpx-server mpx-proxy-probe mpx-wire

fail_dump() { mpx_nt_dump; for f in "$MPX_NT_DIR"/*.log; do echo "== $f"; tail -n 20 "$f"; done; }
cleanup() { if [ "$T_FAILED" = 1 ]; then fail_dump || true; fi; mpx_nt_down; }
trap cleanup EXIT INT TERM
mpx_nt_up pxwan || { echo "FAIL: setup: namespaces"; exit 1; }
D=$MPX_NT_DIR B=$MPX_ROOT/bin
mpx_px_server || { t_fail setup "mpx-server not ready"; exit 1; }
# the internal host the WAN side tries to reach: a server on the client (access) side
mpx_nt_bg client "$D/internal.log" "$B/mpx-server" --listen "$MPX_NT_C_DSL4:8080" \
  --listen "[$MPX_NT_C_DSL6]:8080" --listen "$MPX_NT_C_DSL4:8081" --json "$D/internal.json" \
  --ready "$D/internal.ready"
mpx_nt_bg server "$D/server8081.log" "$B/mpx-server" --listen "$MPX_NT_S4:8081" \
  --json "$D/server8081.json" --ready "$D/server8081.ready"
mpx_nt_wait_file "$D/internal.ready" 10 && mpx_nt_wait_file "$D/server8081.ready" 10 ||
  { t_fail setup "servers not ready"; exit 1; }

# the listeners: every registry front-end on its row's port (the auth rows on a second proxy)
REG=$("$B/mpx-wire" signals --json)
mapfile -t FES < <(jq -r '[.signals[] | select(.frontend != null and .auth == false) | "\(.frontend) \(.port)"] | unique | .[]' <<<"$REG")
mapfile -t AUTH < <(jq -r '[.signals[] | select(.frontend != null and .auth == true) | "\(.frontend) \(.port)"] | unique | .[]' <<<"$REG")
[ ${#FES[@]} -ge 6 ] && [ ${#AUTH[@]} -ge 1 ] || { t_fail setup "registry front-ends: ${FES[*]} / ${AUTH[*]}"; exit 1; }
args=()
for x in "${FES[@]}"; do args+=("--${x% *}" "${x#* }"); done
mpx_px_start pw "${args[@]}" --optd "$D/no-optd.sock" || { t_fail setup "proxy not ready"; exit 1; }
echo "u:p" > "$D/users"
args=()
for x in "${AUTH[@]}"; do args+=("--${x% *}" "${x#* }"); done
mpx_px_start pwa "${args[@]}" --users "$D/users" || { t_fail setup "auth proxy not ready"; exit 1; }

# TPROXY into the transparent listener: dport 8081 from the wan (towards the internal host)
# and from the access side (towards the server)
TP=$(jq -r '[.signals[] | select(.frontend == "transparent") | .port][0]' <<<"$REG")
mpx_nt_exec hag nft -f - <<NFT
table ip pxwan {
  chain pre {
    type filter hook prerouting priority mangle;
    iifname { "wan", "dsl" } tcp dport 8081 tproxy to :$TP meta mark set 1 accept
  }
}
NFT
mpx_nt_exec hag ip rule add fwmark 1 lookup 100
mpx_nt_exec hag ip route add local 0.0.0.0/0 dev lo table 100

# the WAN-side answer each front-end must give (a new front-end needs a line here)
declare -A WANT=([convert]=010222631e012000 [convert-tfo]=010222631e012000 [socks5]=05ff
  [mpconvert]='' [mpconvert-ie]='' [mpconvert-opt]='' [transparent]='')
# a valid signal for FRONT-END naming ADDR:PORT (hex)
sig_hex() { # frontend addr port
  local a=$2
  [[ $a == *:* ]] && a="[$a]"
  case $1 in
    convert | convert-tfo) "$B/mpx-wire" encode convert --connect "$a:$3" ;;
    socks5) printf '050100' ;;
    mpconvert) "$B/mpx-wire" encode mpconvert --target "$a:$3" ;;
    mpconvert-ie) "$B/mpx-wire" encode mpconvert --ie --target "$a:$3" ;;
    *) printf '' ;;
  esac
}
wan_probe() { # name frontend to-addr to-port internal-addr internal-port
  local out rx end hex
  hex=$(sig_hex "$2" "$5" "$6")
  out=$(mpx_nt_exec server timeout 20 "$B/mpx-proxy-probe" --to "$3" --hex "${hex:-00}" \
    --timeout 3000 || true)
  rx=$(jq -r .rx_hex <<<"$out" 2>/dev/null || echo "?")
  end=$(jq -r .end <<<"$out" 2>/dev/null || echo "?")
  local want=${WANT[$2]-unknown}
  if [ "$want" = unknown ]; then t_fail "$1" "no WAN-side expectation for front-end $2"; return; fi
  if [ -n "$want" ]; then
    if [ "$rx" = "$want" ] && [ "$end" = eof ]; then t_pass "$1 (refused: $rx, then FIN)"
    else t_fail "$1" "got '$rx' ($end), want '$want' then eof"; fi
  else
    if [ "$rx" = "" ] && [ "$end" = reset ]; then t_pass "$1 (refused: reset, nothing sent)"
    else t_fail "$1" "got '$rx' ($end), want a reset with nothing sent"; fi
  fi
}
n_probe=0
for x in "${FES[@]}" "${AUTH[@]}"; do
  fe=${x% *} port=${x#* }
  if [ "$fe" = transparent ]; then
    wan_probe "wan_v4_$fe" "$fe" "$MPX_NT_C_DSL4:8081" 0 "$MPX_NT_C_DSL4" 8081
    n_probe=$((n_probe + 1))
    continue
  fi
  wan_probe "wan_v4_${fe}_$port" "$fe" "$MPX_NT_H_WAN4:$port" 0 "$MPX_NT_C_DSL4" 8080
  wan_probe "wan_v6_${fe}_$port" "$fe" "[$MPX_NT_H_WAN6]:$port" 0 "$MPX_NT_C_DSL6" 8080
  n_probe=$((n_probe + 2))
done
internal=$(jq -s '[.[] | select(.type == "conn")] | length' "$D/internal.json" 2>/dev/null || echo 0)
t_check "the internal host saw no connection from the WAN side ($internal)" [ "$internal" = 0 ]
ref=$(( $(mpx_px_stats pw | jq .acl.client_refused) + $(mpx_px_stats pwa | jq .acl.client_refused) ))
t_check "every WAN-side connection counted as refused ($ref of $n_probe)" [ "$ref" = "$n_probe" ]
t_check "stats list the allowed prefixes" \
  jq -e --arg a "$MPX_NT_C_DSL4/24" '(.allow | index($a)) != null and (.acl.default_refuse | not)' "$D/pw.stats"

# the access side relays through the same listeners
client_ok() { # name args...
  local name=$1 ok
  shift
  mpx_px_client "$@" --count 1 --timeout 10 --json "$D/$name.json" > /dev/null 2>&1 || true
  ok=$(jq -s '[.[] | select(.type == "conn" and .verified == true)] | length' "$D/$name.json" 2>/dev/null || echo 0)
  t_check "access_$name relays (verified $ok/1)" [ "$ok" = 1 ]
}
client_ok convert --signal convert --target "$MPX_NT_S4:8080" --proxy "$MPX_NT_H_DSL4"
client_ok convert_v6 --signal convert --target "[$MPX_NT_S6]:8080" --proxy "$MPX_NT_H_DSL6"
client_ok convert_cookie --signal convert-cookie --target "$MPX_NT_S4:8080" --proxy "$MPX_NT_H_DSL4"
client_ok mpconvert --signal mpconvert --target "$MPX_NT_S4:8080" --proxy "$MPX_NT_H_DSL4"
client_ok mpconvert_ie --signal mpconvert-ie --target "$MPX_NT_S4:8080" --proxy "$MPX_NT_H_DSL4"
client_ok socks5 --signal socks5 --target "$MPX_NT_S4:8080" --proxy "$MPX_NT_H_DSL4"
client_ok socks5_auth --signal socks5-auth --target "$MPX_NT_S4:8080" --proxy "$MPX_NT_H_DSL4" \
  --socks-user u --socks-pass p
client_ok transparent --signal implicit --target "$MPX_NT_S4:8081"
t_check "the transparent relay went through the proxy" \
  [ "$(mpx_px_stats pw | jq .relayed.transparent)" -ge 1 ]

# no --allow at all: the access side is refused too, and the proxy says so
mpx_nt_bg hag "$D/open.log" "$B/mpx-proxy" --convert 5200 --stats "$D/open.stats" --ready "$D/open.ready"
OPID=$MPX_NT_LASTPID
mpx_nt_wait_file "$D/open.ready" 10 || { t_fail setup "proxy without --allow not ready"; exit 1; }
out=$(mpx_px_probe --to "$MPX_NT_H_DSL4:5200" --hex "$(sig_hex convert "$MPX_NT_S4" 8080)" --timeout 3000 || true)
t_check "no_allow_refuses_the_access_side (Error 32: $(jq -r .rx_hex <<<"$out"))" \
  [ "$(jq -r .rx_hex <<<"$out")" = 010222631e012000 ]
t_check "no_allow_stated_on_stderr" grep -q "no --allow: every client is refused" "$D/open.log"
kill -USR1 "$OPID"
for _ in $(seq 50); do [ -s "$D/open.stats" ] && break; sleep 0.05; done
t_check "no_allow_stats_default_refuse_counted" \
  jq -e '.acl.default_refuse == true and .acl.client_refused == 1' "$D/open.stats"
t_done
