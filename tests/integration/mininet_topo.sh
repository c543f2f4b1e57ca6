#!/usr/bin/env bash
# timeout: 240
# Mininet backend (emu/mininet/): hybrid.topo on Mininet hosts. The nodes really are Mininet
# hosts; the DSL RTT is measured ~20 ms (Mininet's own delay knob does nothing here); the run
# leaves nothing behind (namespaces, Mininet processes, veths/bridges) - after a normal down,
# after a failed up (a delay check that fails loudly) and after SIGINT during up; Mininet did
# not change machine-wide settings (it raises some in Mininet.init()); a Mininet topology
# (mn's linear,3 and a custom Topo with TCLink parameters) converts to .topo and runs.
set -uo pipefail
source "$(dirname "$0")/../lib.sh"
t_require_root
t_require_bin mpx-linkem
export MPX_ROOT
# shellcheck source=emu/lib/topo.sh
source "$MPX_ROOT/emu/lib/topo.sh"
# shellcheck source=emu/mininet/backend.sh
source "$MPX_ROOT/emu/mininet/backend.sh"
why=$(mpx_mn_check) || { echo "SKIP: all: Mininet backend unavailable: $why"; exit 77; }
# the adapter's totopo: through backend.sh when it offers it, else the script itself (its shebang
# when executable, or the interpreter backend.sh runs the adapter with)
mn_totopo() {
  if declare -F mpx_mn_totopo >/dev/null; then mpx_mn_totopo "$@"
  elif [ -x "$MPX_ROOT/emu/mininet/mpx_mn.py" ]; then "$MPX_ROOT/emu/mininet/mpx_mn.py" totopo "$@"
  else "$MPX_MN_PYTHON" "$MPX_ROOT/emu/mininet/mpx_mn.py" totopo "$@"; fi
}

tmp=$(mktemp -d /tmp/mpx-mn-test.XXXXXX)
export MPX_TOPO_STATE_BASE=$tmp/state   # under /tmp on purpose: the sandbox re-exposes it
export MPX_MN_INVENTORY_LOG=$tmp/inventory
run=mnt$$
cleanup() {
  for r in "$run" "${run}f" "${run}i" "${run}l"; do mpx_topo_down "$r" >/dev/null 2>&1 || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT

wmem_before=$(sysctl -n net.core.wmem_max) filemax_before=$(sysctl -n fs.file-max)

# --- 1. up -------------------------------------------------------------------------------
t0=$EPOCHREALTIME
if ! out=$("$MPX_ROOT/mpxlab" topo up "$MPX_ROOT/topologies/hybrid.topo" --name "$run" --backend mininet 2>&1); then
  t_fail up "$out"; t_done; fi
t_pass "up ($(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.1f", b-a}') s)"
d=$(mpx_topo_state "$run")
grep -q '^backend=mininet$' "$d/meta" && t_pass meta_backend || t_fail meta_backend "$(cat "$d/meta")"

# the node namespaces are those of Mininet host shells ("bash ... mininet:NODE"), children
# of the Mininet server in the sandbox's PID namespace
ok=1 why=''
for n in client hag server l-dsl l-lte l-wan; do
  ns=mpx-$run-$n
  pid=$(mpx_mn_pid "$run" "$ns") || { ok=0; why+="no pid for $n; "; continue; }
  [[ $(tr '\0' ' ' < "/proc/$pid/cmdline") == *"mininet:$n"* ]] || { ok=0; why+="$pid is not mininet:$n; "; }
  [ "$(stat -L -c %i "/proc/$pid/ns/net")" = "$(stat -L -c %i "/run/netns/$ns")" ] || { ok=0; why+="$ns is not $pid's netns; "; }
  [ "$(stat -L -c %i "/proc/$pid/ns/pid")" != "$(stat -L -c %i /proc/self/ns/pid)" ] || { ok=0; why+="$n not in the sandbox PID ns; "; }
done
[ $ok = 1 ] && t_pass nodes_are_mininet_hosts || t_fail nodes_are_mininet_hosts "$why"

# the setup-time delay check ran for every link and passed
n=$(grep -c 'ping RTT median' "$d/mn/delays" 2>/dev/null || echo 0)
[ "$n" = 3 ] && t_pass "setup_delay_check ($(sed 's/^link \([a-z]*\): ping RTT median \([0-9.]*\) ms.*model \([0-9.]*\) ms.*/\1 \2 ms vs \3/' "$d/mn/delays" | paste -sd, -))" || t_fail setup_delay_check "$n lines: $(cat "$d/mn/delays" 2>/dev/null)"

# DSL RTT through the real emulators, measured from the client through mnexec (the Mininet
# way in): model 2 x 10 ms + serialisation at 20 and 2 Mbit/s (0.04 + 0.39 ms), jitter 1 ms
rtts=$(mpx_topo_exec "$run" client ping -n -c 20 -i 0.05 -W 2 198.18.1.1 2>&1)
med=$(sed -n 's/.*time=\([0-9.]*\) ms.*/\1/p' <<< "$rtts" | sort -g | awk '{v[NR]=$1} END{if(NR) print (NR%2)?v[(NR+1)/2]:(v[NR/2]+v[NR/2+1])/2}')
if [ -n "$med" ]; then t_near_late dsl_rtt_ms "$med" 20.43 3 "$(t_topo_late_rt_ms "$run" dsl)"; else t_fail dsl_rtt_ms "no replies: $rtts"; fi
# and end to end: client -> server over dsl + wan (2 x 15 ms + serialisation)
med=$(mpx_topo_exec "$run" client ping -n -c 10 -i 0.05 -W 2 198.18.3.2 2>&1 | sed -n 's/.*time=\([0-9.]*\) ms.*/\1/p' | sort -g | awk '{v[NR]=$1} END{if(NR) print v[int((NR+1)/2)]}')
if [ -n "$med" ]; then t_near_late client_server_rtt_ms "$med" 30.45 3.5 "$(t_topo_late_rt_ms "$run" dsl wan)"; else t_fail client_server_rtt_ms "no replies"; fi

# mnexec'd commands keep the caller's working directory and see the machine's /tmp
x=$(cd "$tmp" && mpx_topo_exec "$run" server sh -c 'pwd; echo hi > ./from-mininet; ip -o -4 addr show dev wan' 2>&1)
[ "$(head -n 1 <<< "$x")" = "$tmp" ] && [ -s "$tmp/from-mininet" ] && [[ $x == *198.18.3.2/24* ]] &&
  t_pass mnexec_cwd_tmp_addr || t_fail mnexec_cwd_tmp_addr "$x"
x=$("$MPX_ROOT/mpxlab" exec "$run" hag -- ip -o link show wan 2>&1)
[[ $x == *" wan@"* ]] && t_pass mpxlab_exec || t_fail mpxlab_exec "$x"

# --- 2. down: nothing left, also of processes started in the hosts from outside -------------
"$MPX_ROOT/mpxlab" exec "$run" server -- sleep 300 < /dev/null > /dev/null 2>&1 &
p1=$!
ip netns exec "mpx-$run-client" sleep 300 < /dev/null > /dev/null 2>&1 &
p2=$!
: > "$MPX_MN_INVENTORY_LOG"
t0=$EPOCHREALTIME
"$MPX_ROOT/mpxlab" topo down "$run" > "$tmp/down.out" 2>&1; rc=$?
el=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.1f", b-a}')
[ $rc = 0 ] && t_pass "down_rc0 ($el s)" || t_fail down_rc0 "rc=$rc $(cat "$tmp/down.out")"
kill -0 "$p1" 2>/dev/null || kill -0 "$p2" 2>/dev/null && t_fail down_ends_started_processes "$p1/$p2 alive" ||
  t_pass down_ends_started_processes
np=$(grep -c '^pid ' "$MPX_MN_INVENTORY_LOG")
if left=$(mpx_mn_leftovers "$MPX_MN_INVENTORY_LOG") && [ "$np" -ge 10 ] && [ -z "$(ip netns list | grep "^mpx-$run-")" ] &&
   ! ip -o link show type veth | grep -q "mpx-$run-"; then
  t_pass "down_leaves_nothing ($np processes, $(grep -c '^netns ' "$MPX_MN_INVENTORY_LOG") namespaces checked)"
else t_fail down_leaves_nothing "inventory pids=$np; $left; $(ip netns list | grep "^mpx-$run-" | tr '\n' ' ')"; fi

# --- 3. failed up: a link whose delay is silently missing must fail loudly, leave nothing --
# the fake emulator drops every delay (what Mininet's TCLink does on this kernel)
cat > "$tmp/nodelay-linkem" <<EOF
#!/usr/bin/env bash
a=("\$@")
for i in "\${!a[@]}"; do a[\$i]=\$(sed 's/delay=[^ ]*//g; s/jitter=[^ ]*//g' <<< "\${a[\$i]}"); done
exec "$MPX_ROOT/bin/mpx-linkem" "\${a[@]}"
EOF
chmod +x "$tmp/nodelay-linkem"
: > "$MPX_MN_INVENTORY_LOG"
MPX_LINKEM=$tmp/nodelay-linkem "$MPX_ROOT/mpxlab" topo up "$MPX_ROOT/topologies/hybrid.topo" --name "${run}f" --backend mininet > "$tmp/f.out" 2>&1; rc=$?
if [ $rc = 3 ] && grep -q 'DELAY CHECK FAILED: link dsl' "$tmp/f.out"; then t_pass "missing_delay_fails_loudly ($(grep -m1 'DELAY CHECK FAILED' "$tmp/f.out" | sed 's/.*median \([0-9.]*\) ms.*model \([0-9.]*\) ms.*/dsl median \1 ms, model \2 ms/'))"
else t_fail missing_delay_fails_loudly "rc=$rc: $(tr '\n' ' ' < "$tmp/f.out")"; fi
if left=$(mpx_mn_leftovers "$MPX_MN_INVENTORY_LOG") && [ -s "$MPX_MN_INVENTORY_LOG" ] && [ -z "$(ip netns list | grep "^mpx-${run}f-")" ] &&
   [ ! -e "$(mpx_topo_state "${run}f")" ]; then t_pass failed_up_leaves_nothing
else t_fail failed_up_leaves_nothing "$left; $(ip netns list | grep "^mpx-${run}f-" | tr '\n' ' ')"; fi

# --- 4. SIGINT while the Mininet hosts are being created ----------------------------------
: > "$MPX_MN_INVENTORY_LOG"
set -m
env --default-signal=INT "$MPX_ROOT/mpxlab" topo up "$MPX_ROOT/topologies/hybrid.topo" --name "${run}i" --backend mininet > "$tmp/i.out" 2>&1 &
pid=$!
set +m
for ((i = 0; i < 2000; i++)); do
  grep -q '^host hag ' "$(mpx_topo_state "${run}i")/mn/events" 2>/dev/null && break
  sleep 0.01
done
kill -INT -- -"$pid"   # the whole process group, like Ctrl-C
for ((i = 0; i < 3000; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.01; done
wait "$pid"; rc=$?
[ $rc != 0 ] && t_pass "sigint_stops_up (rc=$rc)" || t_fail sigint_stops_up "rc=0: $(cat "$tmp/i.out")"
if left=$(mpx_mn_leftovers "$MPX_MN_INVENTORY_LOG") && grep -q '^pid .* python$' "$MPX_MN_INVENTORY_LOG" &&
   [ -z "$(ip netns list | grep "^mpx-${run}i-")" ] && [ ! -e "$(mpx_topo_state "${run}i")" ]; then
  t_pass "sigint_leaves_nothing ($(grep -c '^pid ' "$MPX_MN_INVENTORY_LOG") processes checked)"
else t_fail sigint_leaves_nothing "$left; inventory: $(tr '\n' ' ' < "$MPX_MN_INVENTORY_LOG"); $(ip netns list | grep "^mpx-${run}i-" | tr '\n' ' ')"; fi

# --- 5. a Mininet topology reused: mn's linear,3 (3 hosts, 3 switches) with 2 ms per link --
# converted to .topo (switches become routers), up on Mininet hosts: h1 -> h3 crosses 4 links
if mn_totopo linear,3 --delay 2ms > "$tmp/lin3.topo" 2> "$tmp/lin3.err" &&
   [ "$(grep -c '^node' "$tmp/lin3.topo") $(grep -c '^link' "$tmp/lin3.topo")" = "6 5" ]; then t_pass mininet_linear3_to_topo
else t_fail mininet_linear3_to_topo "$(cat "$tmp/lin3.err" "$tmp/lin3.topo")"; fi
# TCLink parameters of a custom Topo become link parameters
cat > "$tmp/custom.py" <<'EOF2'
from mininet.topo import Topo
class Two(Topo):
    def build(self, delay='5ms'):
        h1, h2, s1 = self.addHost('h1'), self.addHost('h2'), self.addSwitch('s1')
        self.addLink(h1, s1, bw=10, delay=delay, loss=1, max_queue_size=100)
        self.addLink(s1, h2, bw=100, delay='1ms', jitter='0.5ms')
topos = {'two': Two}
EOF2
x=$(mn_totopo two,delay=7ms --custom "$tmp/custom.py" > "$tmp/two.topo" &&
    "$MPX_ROOT/mpxlab" topo check "$tmp/two.topo" | grep '^link l1 ')
[ "$x" = "link l1 h1:eth0 s1:eth1 ab[rate=10mbit delay=7ms loss=1% queue=100p] ba[rate=10mbit delay=7ms loss=1% queue=100p]" ] &&
  t_pass custom_tclink_params || t_fail custom_tclink_params "$x"
: > "$MPX_MN_INVENTORY_LOG"
if "$MPX_ROOT/mpxlab" topo up "$tmp/lin3.topo" --name "${run}l" --backend mininet > "$tmp/l.out" 2>&1; then
  dst=$(mpx_topo_addr "${run}l" h3)
  med=$(mpx_topo_exec "${run}l" h1 ping -n -c 10 -i 0.05 -W 2 "$dst" 2>&1 | sed -n 's/.*time=\([0-9.]*\) ms.*/\1/p' | sort -g | awk '{v[NR]=$1} END{if(NR) print v[int((NR+1)/2)]}')
  if [ -n "$med" ]; then t_near_late linear3_h1_h3_rtt_ms "$med" 16 1.5 "$(mapfile -t ls < <(awk '$1 == "link" {print $2}' "$tmp/lin3.topo"); t_topo_late_rt_ms "${run}l" "${ls[@]}")"; else t_fail linear3_h1_h3_rtt_ms "no replies"; fi
  "$MPX_ROOT/mpxlab" topo down "${run}l" > /dev/null 2>&1
  left=$(mpx_mn_leftovers "$MPX_MN_INVENTORY_LOG") && [ -s "$MPX_MN_INVENTORY_LOG" ] && t_pass linear3_down_leaves_nothing ||
    t_fail linear3_down_leaves_nothing "$left"
else t_fail linear3_up "$(tail -n 5 "$tmp/l.out")"; fi

# --- 6. machine-wide settings untouched (Mininet.init() would raise them) ---------------------
[ "$(sysctl -n net.core.wmem_max)" = "$wmem_before" ] && [ "$(sysctl -n fs.file-max)" = "$filemax_before" ] &&
  t_pass "global_sysctls_untouched (wmem_max $wmem_before)" || t_fail global_sysctls_untouched "wmem_max $wmem_before -> $(sysctl -n net.core.wmem_max)"
t_done
