#!/usr/bin/env bash
# The .exp `route` directive in a running topology (emu/harness/exp.sh mpx_exp_routes_apply, as
# emu/cmd/run.sh calls it after the sysctls): hybrid.topo with IPv6, bridged links (--plain:
# no emulator needed). The attributes land on exactly the selected routes of every table but
# local, IPv4 and IPv6, every other attribute and route is kept (the twin fe80::/64 routes on
# dsl and lte too), a fresh TCP connection over LTE starts with the route's initcwnd, the
# snapshot records it, and a line that matches no route fails.
# timeout: 40
# shellcheck disable=SC2015  # "check && pass || fail" lines
set -uo pipefail
source "$(dirname "$0")/../lib.sh"
t_require_root
t_require_cmd ip jq socat ss
source "$MPX_ROOT/emu/lib/topo.sh"
source "$MPX_ROOT/emu/harness/exp.sh"

RUN=exrt$$
TMP=$(mktemp -d /tmp/mpx-exp-route.XXXXXX)
cleanup() { mpx_topo_down "$RUN" > /dev/null 2>&1; rm -rf "$TMP"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if ! mpx_topo_up "$MPX_ROOT/topologies/hybrid.topo" "$RUN" 1 --plain --param all.ipv6=1 > "$TMP/up.log" 2>&1; then
  t_fail topo_up "$(tail -3 "$TMP/up.log")"; t_done
fi
# routes_of NODE: every route but the local table's, both families, one per line
routes_of() {
  local ns; ns=$(mpx_topo_ns "$RUN" "$1")
  { ip netns exec "$ns" ip -4 route show table all; ip netns exec "$ns" ip -6 route show table all; } |
    grep -Ev '^(local|broadcast|multicast|anycast) ' | sed 's/ *$//'
}
for n in client hag server; do routes_of "$n" > "$TMP/before.$n"; done

EXP_ROUTE=("client initcwnd=30" "hag dev lte initrwnd=25" "server to default initcwnd=12")
if mpx_exp_routes_apply "$RUN" > "$TMP/apply.log" 2>&1; then t_pass apply
else t_fail apply "$(tail -3 "$TMP/apply.log")"; fi
for n in client hag server; do routes_of "$n" > "$TMP/after.$n"; done

# client: every route (tables main, 101, 102; v4 and v6) has initcwnd 30 and nothing else new
nb=$(wc -l < "$TMP/before.client"); nw=$(grep -c ' initcwnd 30' "$TMP/after.client")
[ "$nb" -ge 8 ] && [ "$nw" = "$nb" ] && [ "$(wc -l < "$TMP/after.client")" = "$nb" ] &&
  t_pass "client_all_routes ($nw routes)" || t_fail client_all_routes "$nw of $nb routes with initcwnd 30: $(cat "$TMP/after.client")"
for t in 101 102; do
  grep -q "^default via .* table $t .*initcwnd 30" "$TMP/after.client" && grep -q "^default via fd00:.* table $t .*initcwnd 30" "$TMP/after.client" &&
    t_pass "client_table_$t" || t_fail "client_table_$t" "$(grep "table $t" "$TMP/after.client")"
done
# hag: only the lte routes (v4, v6, fe80::/64 on lte) got initrwnd 25; dsl and wan untouched
hl=$(grep -c ' dev lte ' "$TMP/before.hag"); hw=$(grep -c ' initrwnd 25' "$TMP/after.hag")
[ "$hl" -ge 3 ] && [ "$hw" = "$hl" ] && [ -z "$(grep ' initrwnd 25' "$TMP/after.hag" | grep -v ' dev lte ')" ] &&
  t_pass "hag_dev_lte ($hw routes)" || t_fail hag_dev_lte "$hw with initrwnd, $hl on lte: $(cat "$TMP/after.hag")"
grep -q '^fe80::/64 dev dsl ' "$TMP/after.hag" && grep -q '^fe80::/64 dev lte .*initrwnd 25' "$TMP/after.hag" &&
  t_pass hag_twin_fe80_kept || t_fail hag_twin_fe80_kept "$(grep fe80 "$TMP/after.hag")"
# server: only the two default routes (IPv4 and IPv6)
[ "$(grep -c ' initcwnd 12' "$TMP/after.server")" = 2 ] && [ "$(grep -c '^default via .*initcwnd 12' "$TMP/after.server")" = 2 ] &&
  t_pass server_to_default || t_fail server_to_default "$(cat "$TMP/after.server")"
# nothing else changed: the routes without the new attributes are the routes before
ok=1
for n in client hag server; do
  diff <(sort "$TMP/before.$n") <(sed -E 's/ init[cr]wnd [0-9]+//g' "$TMP/after.$n" | sort) > "$TMP/diff.$n" || ok=0
done
[ $ok = 1 ] && t_pass other_attributes_kept || t_fail other_attributes_kept "$(cat "$TMP"/diff.*)"

# the kernel uses it: a fresh connection from the client's LTE address starts with cwnd 30
hag_ns=$(mpx_topo_ns "$RUN" hag); cl_ns=$(mpx_topo_ns "$RUN" client)
ip netns exec "$hag_ns" timeout 15 socat -u TCP-LISTEN:5099,bind=198.18.2.1,reuseaddr OPEN:/dev/null &
lpid=$!
sleep 0.3
ip netns exec "$cl_ns" timeout 10 socat -u EXEC:"sleep 2" TCP:198.18.2.1:5099,bind=198.18.2.2 &
cpid=$!
ss_out=''
for _ in $(seq 1 20); do
  sleep 0.1
  ss_out=$(ip netns exec "$cl_ns" ss -tin state established dst 198.18.2.1 2>&1)
  [[ $ss_out == *cwnd:* ]] && break
done
[[ $ss_out =~ cwnd:30[^0-9] ]] && t_pass "connection_cwnd_30" || t_fail connection_cwnd_30 "ss: $ss_out"
kill "$cpid" "$lpid" 2> /dev/null; wait "$cpid" "$lpid" 2> /dev/null

# the snapshot (routes.json of a run) has the values per node
snap=$(mpx_exp_routes_snapshot "$RUN")
[ "$(jq -c '[(.client | map(.metrics.initcwnd) | unique[]), (.hag | map(select(.dev == "lte")) | map(.metrics.initrwnd) | unique[]), (.server | map(select(.metrics)) | length)]' <<< "$snap")" = '[30,25,2]' ] &&
  t_pass snapshot || t_fail snapshot "$snap"

# a line that matches no route fails (the run stops the variant)
# shellcheck disable=SC2034  # read by mpx_exp_routes_apply
EXP_ROUTE=("server dev dsl initcwnd=3")
err=$(mpx_exp_routes_apply "$RUN" 2>&1 > /dev/null) && t_fail no_match "accepted" ||
  { [[ $err == *"no route matched"* ]] && t_pass no_match || t_fail no_match "$err"; }
t_done
