#!/usr/bin/env bash
# mpx-client's side of the implicit / option-space signals, checked on the wire in
# the client namespace: with the client's mpx-optd (agents/intercept/intercept.sh
# mpx_ic_client_up, registrations by source port over --optd-ctl)
#  - implicit:        a plain MP_CAPABLE SYN straight to the target, no IP option;
#  - implicit-ra:     the same SYN with the IPv4 Router Alert (IP option 148);
#  - implicit-prefer: MP_CAPABLE + MP_PREFER_PROXY (1e 04 e0 00);
#  - mpconvert-opt:   MP_CAPABLE + MP_CONVERT 1e 0a e0 06 <target> <port> to the proxy port
#                     (36 option bytes: fits); an IPv6 target (48) and a TFO cookie (48) are
#                     refused with the byte count and no SYN is sent;
#  - registrations are removed after each connection.
# The HAG-side interception is tested in implicit_*.sh; here a stand-in MPTCP mpx-server on the
# proxy's mpconvert-opt port (5128) answers, so payloads are verified end to end.
# timeout: 120
set -uo pipefail
source "$(dirname "$0")/../lib.sh"
source "$MPX_ROOT/tests/lib/netns.sh"
t_require_root
t_require_cmd ip jq tcpdump tshark iptables
t_require_bin mpx-server mpx-client mpx-optd
source "$MPX_ROOT/agents/intercept/intercept.sh"

B=$MPX_ROOT/bin
cleanup() {
  [ -n "${MPX_NT_DIR:-}" ] && mpx_ic_client_down "$(mpx_nt_ns client)" "$MPX_NT_DIR/ic" >/dev/null 2>&1
  mpx_nt_down
}
trap cleanup EXIT INT TERM
mpx_nt_up agopt || { echo "FAIL: setup: mpx_nt_up failed"; exit 1; }
D=$MPX_NT_DIR S4=$MPX_NT_S4 S6=$MPX_NT_S6 H=$MPX_NT_H_DSL4

mpx_nt_bg server "$D/srv.log" "$B/mpx-server" --listen "$S4:8080" --json "$D/srv.json" --ready "$D/srv.ready"
mpx_nt_bg hag "$D/st.log" "$B/mpx-server" --mptcp --listen "$H:5128" --json "$D/st.json" --ready "$D/st.ready"
if ! mpx_nt_wait_file "$D/srv.ready" 10 || ! mpx_nt_wait_file "$D/st.ready" 10; then
  echo "FAIL: setup: mpx-server not ready"; exit 1
fi
if ! mpx_ic_client_up "$(mpx_nt_ns client)" "$D/ic" > "$D/ic.log" 2>&1; then
  echo "FAIL: setup: mpx_ic_client_up: $(tail -n 3 "$D/ic.log" | tr '\n' ' ')"; exit 1
fi
CTL=$(mpx_ic_client_ctl "$D/ic")
mpx_nt_bg client "$D/tcpdump.log" timeout 100 tcpdump -U --immediate-mode -Z root -i dsl -nn -s 200 \
  -w "$D/syn.pcap" 'tcp[tcpflags] & tcp-syn != 0 and tcp[tcpflags] & tcp-ack == 0'
CAP=$MPX_NT_LASTPID
for _ in $(seq 1 100); do grep -q listening "$D/tcpdump.log" 2>/dev/null && break; sleep 0.05; done

client() { # name args...
  local name=$1; shift
  mpx_nt_exec client timeout 60 "$B/mpx-client" --json "$D/$name.json" --timeout 5 --optd-ctl "$CTL" "$@" 2>"$D/$name.err"
  echo $? > "$D/$name.rc"
}
summary() { jq -c 'select(.type=="summary")' "$D/$1.json"; }
ok_n() { jq -s '[.[] | select(.type=="conn" and .ok and .verified)] | length' "$D/$1.json"; }

N=10
client implicit --signal implicit --target "$S4:8080" --count $N --seed 100
client ra --signal implicit-ra --target "$S4:8080" --count $N --seed 200
client prefer --signal implicit-prefer --target "$S4:8080" --count $N --seed 300
client mpcopt --signal mpconvert-opt --target "$S4:8080" --proxy "$H" --count $N --seed 400
client mpcopt6 --signal mpconvert-opt --target "[$S6]:8080" --proxy "$H" --count 2
client mpcopt-tfo --signal mpconvert-opt --tfo --target "$S4:8080" --proxy "$H" --count 2
for n in implicit ra prefer mpcopt; do
  t_check "$n - $N/$N connections verified ($(ok_n $n))" [ "$(ok_n $n)" = $N ]
done
s=$(summary mpcopt)
t_check "mpconvert-opt IPv4 - budget 36 bytes, fits ($(jq -c '[.syn_opt_bytes, .syn_opt_fits, .syn_opt_spec]' <<<"$s"))" \
  [ "$(jq .syn_opt_bytes <<<"$s")" = 36 ] && [ "$(jq .syn_opt_fits <<<"$s")" = true ]
for n in mpcopt6 mpcopt-tfo; do
  e=$(jq -r 'select(.type=="conn" and .seq==0) | .error' "$D/$n.json")
  if [ "$(cat "$D/$n.rc")" = 1 ] && [[ $e == *"does not fit"*"48 option bytes"* ]]; then
    t_pass "$n refused before sending - $e"
  else t_fail "$n refusal" "rc=$(cat "$D/$n.rc") error=$e"; fi
done
stats=$(mpx_ic_ctl "$CTL" stats)
echo "# client mpx-optd: $stats"

sleep 0.3
mpx_nt_kill "$CAP"
# dstport, IP option types, TCP option kinds, raw TCP options
tshark -r "$D/syn.pcap" -T fields -e tcp.srcport -e tcp.dstport -e ip.opt.type -e tcp.option_kind -e tcp.options \
  2>/dev/null > "$D/syns.txt"
# map source ports to runs through the client JSON (local address)
ports() { jq -r 'select(.type=="conn") | .local | sub(".*:"; "")' "$D/$1.json"; }
count_syns() { # run awk-condition
  local p; p=$(ports "$1" | tr '\n' ' ')
  awk -F'\t' -v ports=" $p" "BEGIN{n=split(ports,a,\" \"); for(i=1;i<=n;i++) want[a[i]]=1}
    (\$1 in want) && ($2) {c++} END{print c+0}" "$D/syns.txt"
}
n=$(count_syns implicit '$3 == "" && $4 ~ /(^|,)30(,|$)/ && $5 !~ /1e04e000/')
t_check "implicit SYNs - MP_CAPABLE, no IP option, no extra option ($n/$N)" [ "$n" = $N ]
n=$(count_syns ra '$3 ~ /(^|,)148(,|$)/ && $4 ~ /(^|,)30(,|$)/')
t_check "implicit-ra SYNs - IPv4 Router Alert (148) + MP_CAPABLE ($n/$N)" [ "$n" = $N ]
n=$(count_syns prefer '$3 == "" && $5 ~ /1e040101/ && $5 ~ /1e04e000/')
t_check "implicit-prefer SYNs - MP_CAPABLE + MP_PREFER_PROXY 1e04e000 ($n/$N)" [ "$n" = $N ]
n=$(count_syns mpcopt '$2 == 5128 && $5 ~ /1e040101/ && $5 ~ /1e0ae006c61203011f90/')
t_check "mpconvert-opt SYNs - MP_CAPABLE + MP_CONVERT 1e0ae006 c6120301 1f90 ($n/$N)" [ "$n" = $N ]
n=$(awk -F'\t' '$2 == 5128' "$D/syns.txt" | wc -l)
t_check "refused mpconvert-opt connections sent no SYN (SYNs to 5128 - $n, want $N)" [ "$n" = $N ]
# no registration is left behind: a SYN from a fresh port gets nothing added
client after --signal implicit --target "$S4:8080" --count 1
before=$(jq .mangled <<<"$stats")
after=$(mpx_ic_ctl "$CTL" stats | jq .mangled)
t_check "registrations removed after use (optd mangled count stays $before -> $after)" [ "$before" = "$after" ]
t_done
