#!/usr/bin/env bash
# mpxlab sweep --engine slurm on a one-node Slurm cluster this test starts itself: munged,
# slurmctld and slurmd from Debian with a minimal configuration in a temporary folder (own
# munge key and socket, own ports, job completions in a text file), stopped by PID at the end.
# A small experiment (2 variants x 2 repetitions) as a 2-task array (--exclusive: one shard
# per node at a time): the array job is accepted, both tasks complete, sinfo lists the node,
# sacct (job completion records) the two tasks, and the merge holds every connection.
# --dry-run prints the sbatch script without submitting. SKIP only when the Debian packages
# cannot be installed.
# timeout: 150
set -uo pipefail
source "$(dirname "$0")/../lib.sh"
t_require_harness
if ! command -v slurmctld > /dev/null || ! command -v munged > /dev/null; then
  # an installable package (Debian 12's registry, as root) is not a missing machine feature:
  # when its install fails, that is a failure, with what apt said
  out=$(tests/deps.sh --with slurm 2>&1)
  command -v slurmctld > /dev/null && command -v munged > /dev/null ||
    { echo "FAIL: all: slurm-wlm / munge did not install (tests/deps.sh --with slurm): $(tail -n 3 <<< "$out" | tr '\n' ' ')"; exit 1; }
fi
tmp=$(mktemp -d)
pids=()
mpx_slurm_stop() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2> /dev/null; done
  for p in "${pids[@]}"; do timeout 10 tail --pid="$p" -f /dev/null 2> /dev/null || kill -9 "$p" 2> /dev/null; done
  rm -rf "$tmp"
}
trap mpx_slurm_stop EXIT
chmod 755 "$tmp"                       # munged wants its socket's folders traversable
mkdir -p "$tmp"/{munge,state,spool,log}
chmod 700 "$tmp/munge"
head -c 1024 /dev/urandom > "$tmp/munge/munge.key"; chmod 400 "$tmp/munge/munge.key"
timeout 600 munged -F -f --socket="$tmp/munge/sock" --key-file="$tmp/munge/munge.key" \
  --log-file="$tmp/log/munged.log" --pid-file="$tmp/munge/pid" --seed-file="$tmp/munge/seed" > "$tmp/log/munged.out" 2>&1 &
pids+=($!)
node=$(hostname -s)
port=$((20000 + ($$ % 5000) * 2))
export SLURM_CONF=$tmp/slurm.conf
cat > "$SLURM_CONF" <<EOF
ClusterName=mpxtest
SlurmctldHost=$node(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$port
SlurmdPort=$((port + 1))
AuthType=auth/munge
AuthInfo=socket=$tmp/munge/sock
CredType=cred/munge
StateSaveLocation=$tmp/state
SlurmdSpoolDir=$tmp/spool
SlurmctldPidFile=$tmp/slurmctld.pid
SlurmdPidFile=$tmp/slurmd.pid
SlurmctldLogFile=$tmp/log/slurmctld.log
SlurmdLogFile=$tmp/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/builtin
SelectType=select/linear
ReturnToService=2
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$tmp/jobcomp.txt
NodeName=$node NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=mpx Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF
for _ in $(seq 50); do [ -S "$tmp/munge/sock" ] && break; sleep 0.1; done
timeout 600 slurmctld -D -i -f "$SLURM_CONF" > "$tmp/log/slurmctld.out" 2>&1 &
pids+=($!)
timeout 600 slurmd -D -N "$node" -f "$SLURM_CONF" > "$tmp/log/slurmd.out" 2>&1 &
pids+=($!)
up=0
for _ in $(seq 100); do
  [ "$(timeout 5 sinfo -h -n "$node" -o %t 2> /dev/null)" = idle ] && { up=1; break; }
  sleep 0.2
done
t_check cluster_up test "$up" = 1
if [ $up = 0 ]; then tail -n 15 "$tmp"/log/*; t_done; fi
t_check sinfo_node test "$(timeout 5 sinfo -h -o '%P %D %N')" = "mpx* 1 $node"

cat > "$tmp/tiny.exp" <<'X'
topology    hybrid
signals     tcp convert
workload    rr 100/1000
repetitions 2
seed        5
warmup      0
timeout     conn 10s
variant     near   param dsl.delay=5ms
variant     far    param dsl.delay=10ms
X
sw=$tmp/sw
# --dry-run: the script, not submitted
./mpxlab sweep "$tmp/tiny.exp" --shards 2 --engine slurm --out "$tmp/dry" --dry-run > "$tmp/dry.txt" 2> /dev/null
t_check dry_run_script grep -q '^#SBATCH --array=1-2$' "$tmp/dry.txt"
t_check dry_run_exclusive grep -q '^#SBATCH --exclusive$' "$tmp/dry.txt"
t_check dry_run_not_submitted test -z "$(timeout 5 squeue -h 2> /dev/null)"

head0=$(git rev-parse HEAD 2> /dev/null)
path=$(timeout 120 ./mpxlab sweep "$tmp/tiny.exp" --shards 2 --engine slurm --wait --out "$sw" --no-plots 2> "$tmp/sweep.err"); rc=$?
t_check sweep_rc test "$rc" = 0
# shards run at different commits are refused by design: say so when others committed meanwhile
[ "$head0" = "$(git rev-parse HEAD 2> /dev/null)" ] || echo "# HEAD moved during the sweep ($head0 -> $(git rev-parse HEAD)): merge refuses shards of different commits"
t_check sweep_prints_report test "$path" = "$sw/merged/report.md"
jid=$(jq -r '.slurm_job // empty' "$sw/sweep.json")
t_check job_id test -n "$jid"
# sacct from the job completion records: both array tasks, with the exits the shards recorded
# (0, or 5 = the run judged itself not faithful on a busy host: Slurm says FAILED then)
acct=$(timeout 10 sacct -c -n -o jobid,state,exitcode 2> /dev/null)
t_check sacct_tasks test "$(grep -c -E 'COMPLETED|FAILED' <<< "$acct")" = 2
for i in 1 2; do
  t_check "jobcomp_task_$i" grep -q "ArrayJobId=$jid ArrayTaskId=$i .*ExitCode=$(jq .rc "$sw/state/00$i.json" 2> /dev/null):0" "$tmp/jobcomp.txt"
done
echo "# sacct -c: $(tr -s ' ' <<< "$acct" | tr '\n' ';')"
t_check shards_done test "$(jq -r '[.shards[] | select(.state == "done" and .host == "'"$node"'" and (.exit_status | type) == "number")] | length' "$sw/merged/manifest.json" 2> /dev/null)" = 2
t_check state_job test "$(jq -r .job "$sw/state/001.json" 2> /dev/null)" = "slurm:$jid/1"
t_check merged_connections test "$(grep -c . "$sw/merged/connections.jsonl" 2> /dev/null)" = 8
[ "$rc" = 0 ] || tail -n 20 "$tmp/sweep.err" "$sw"/logs/* "$tmp"/log/slurmctld.log 2> /dev/null
t_done
