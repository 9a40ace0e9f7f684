#!/usr/bin/env bash
# Runs the documented Slurm example (docs/examples/gencast-slurm.sh) under a real one-node Slurm
# on this machine, on the bundled demo model, and checks what a scheduler does to it:
#   1. an array job fills one Zarr store equal, chunk file by chunk file, to one process's run;
#   2. an array task cancelled mid-run (scancel) and resubmitted completes the same store;
#   3. a task that hits its --time limit (SIGTERM, then SIGKILL after KillWait) leaves no
#      temporary chunk, no lock in the way and no spill file, and its retry completes the store;
#   4. a second task given the same array index while the first runs is refused by the member
#      locks and changes nothing.
# Slurm and MUNGE come from the distribution's packages (slurm-wlm, munge; installed with apt-get
# when missing, which needs root). The daemons run from a temporary folder with their own
# configuration (proctrack/linuxproc and task/none: no cgroups or systemd needed) and are
# stopped when the script ends, also on failure. Jobs are waited for with squeue and their states
# read with scontrol and from the jobcomp/filetxt log (sacct needs slurmdbd and a database).
# Prints `N passed, N failed in Ts` last.
#
# Environment: GENCAST_BIN, the gencast binary (default: target/debug/gencast, built if
# missing); SLURM_TEST_KEEP=1 keeps the temporary folder (logs, stores) for inspection.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
start=$SECONDS
passed=0
failed=0
summary() {
  echo "$passed passed, $failed failed in $((SECONDS - start)).0s"
}
check() { # check NAME COMMAND...: runs COMMAND, counting it as one check
  local name=$1
  shift
  if "$@"; then
    echo "ok: $name"
    passed=$((passed + 1))
  else
    echo "FAILED: $name"
    failed=$((failed + 1))
  fi
}
give_up() { # give_up REASON: Slurm cannot run here
  echo "test-slurm: cannot run Slurm on this machine: $*" >&2
  failed=$((failed + 1))
  summary
  exit 1
}

gencast=${GENCAST_BIN:-$root/target/debug/gencast}
if [ ! -x "$gencast" ]; then
  (cd "$root" && cargo build --quiet -p gencast-cli) || give_up "building gencast failed"
  gencast=$root/target/debug/gencast
fi
demo=$root/crates/gencast/tests/fixtures/tiny-mha

# --- Slurm and MUNGE -------------------------------------------------------------------------
if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  [ "$(id -u)" -eq 0 ] || give_up "slurm-wlm and munge are not installed and installing them needs root"
  export DEBIAN_FRONTEND=noninteractive
  { apt-get update -qq && apt-get install -y -qq slurm-wlm munge; } >/dev/null ||
    give_up "apt-get install slurm-wlm munge failed"
fi
[ "$(id -u)" -eq 0 ] || give_up "slurmd runs jobs as their user and must start as root"

our_conf="" # set once this script's own slurm.conf exists
work=$(mktemp -d /tmp/gencast-slurm.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
  # Jobs still queued or running (a failed check) are cancelled before the daemons stop.
  if [ -n "$our_conf" ]; then
    SLURM_CONF=$our_conf scancel --partition=ci 2>/dev/null
    for _ in $(seq 30); do [ -z "$(SLURM_CONF=$our_conf squeue -h 2>/dev/null)" ] && break; sleep 0.5; done
  fi
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do
    for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$p" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$p" 2>/dev/null
  done
  if [ "${SLURM_TEST_KEEP:-0}" = 1 ]; then echo "test-slurm: kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

mkdir -p "$work/munge" "$work/state" "$work/spool" "$work/logs"
install -m 0400 /etc/munge/munge.key "$work/munge/munge.key" 2>/dev/null ||
  { dd if=/dev/urandom of="$work/munge/munge.key" bs=1024 count=1 2>/dev/null && chmod 0400 "$work/munge/munge.key"; }
socket=$work/munge/munge.socket
munged --force --socket="$socket" --key-file="$work/munge/munge.key" \
  --pid-file="$work/munge/munged.pid" --log-file="$work/munge/munged.log" \
  --seed-file="$work/munge/munged.seed" || give_up "munged did not start: $(tail -3 "$work/munge/munged.log" 2>/dev/null)"
sleep 0.5
pids+=("$(cat "$work/munge/munged.pid")")

host=$(hostname -s)
# More CPUs than the machine has, so the scenarios' jobs overlap (config_overrides lets slurmd
# take the configured figures); each job runs one single-threaded gencast.
export SLURM_CONF=$work/slurm.conf
cat >"$SLURM_CONF" <<EOF
ClusterName=gencastci
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=16817
SlurmdPort=16818
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$socket
CredType=cred/munge
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/logs/slurmctld.log
SlurmdLogFile=$work/logs/slurmd.log
SlurmdParameters=config_overrides
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$work/logs/jobcomp.txt
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
KillWait=5
OverTimeLimit=0
MinJobAge=3600
NodeName=$host NodeAddr=127.0.0.1 CPUs=8 RealMemory=4000 State=UNKNOWN
PartitionName=ci Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
our_conf=$SLURM_CONF
slurmctld -c -f "$SLURM_CONF" || give_up "slurmctld did not start: $(tail -3 "$work/logs/slurmctld.log" 2>/dev/null)"
for _ in $(seq 50); do [ -s "$work/slurmctld.pid" ] && break; sleep 0.2; done
pids+=("$(cat "$work/slurmctld.pid")")
slurmd -f "$SLURM_CONF" || give_up "slurmd did not start: $(tail -3 "$work/logs/slurmd.log" 2>/dev/null)"
for _ in $(seq 50); do [ -s "$work/slurmd.pid" ] && break; sleep 0.2; done
pids+=("$(cat "$work/slurmd.pid")")
for _ in $(seq 60); do
  sinfo -h -o %T 2>/dev/null | grep -qx idle && break
  sleep 0.5
done
sinfo -h -o %T | grep -qx idle ||
  give_up "the node did not become idle: $(sinfo 2>&1 | tail -2); $(tail -3 "$work/logs/slurmd.log")"
echo "test-slurm: Slurm $(sinfo -V | cut -d' ' -f2) running, node $host idle"

# --- helpers -------------------------------------------------------------------------------
export GENCAST="$gencast" CHECKPOINT="$demo/checkpoint.npz" STATS="$demo"
export DATASET="$demo/source-era5_date-2019-03-29_res-10.0_levels-13_steps-02.nc"
export LEAD_TIME=24h RUST_LOG=info
submit() { # submit STORE ENSEMBLE_SIZE MEMBERS_PER_TASK SBATCH-OPTIONS...: prints the job id
  local store=$1 size=$2 per=$3
  shift 3
  STORE=$store ENSEMBLE_SIZE=$size MEMBERS_PER_TASK=$per sbatch --parsable \
    --chdir="$work" --cpus-per-task=1 --mem=500M --time=10 \
    --output="$work/logs/%x-%A_%a.log" "$@" "$root/docs/examples/gencast-slurm.sh"
}
state() { # state JOBID_INDEX: the task's state (PENDING, RUNNING, COMPLETED, TIMEOUT, ...)
  scontrol -o show job "$1" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | head -1 | cut -d= -f2
}
wait_done() { # wait_done JOBID SECONDS: waits until no task of the job is pending or running
  for _ in $(seq $(($2 * 2))); do
    [ -z "$(squeue -h -j "$1" 2>/dev/null)" ] && return 0
    sleep 0.5
  done
  echo "job $1 still queued after $2 s: $(squeue -j "$1")"
  return 1
}
chunks_equal() { # chunks_equal A B: same chunk files (metadata included) with the same bytes
  local a=$1 b=$2
  diff <(cd "$a" && find . -type f -not -path './.gencast-locks/*' | sort) \
    <(cd "$b" && find . -type f -not -path './.gencast-locks/*' | sort) >/dev/null || {
    echo "  file lists of $a and $b differ"
    return 1
  }
  local n=0 f
  while IFS= read -r f; do
    cmp -s "$a/$f" "$b/$f" || { echo "  $f differs"; return 1; }
    n=$((n + 1))
  done < <(cd "$a" && find . -type f -not -path './.gencast-locks/*')
  echo "  $n files byte for byte equal ($a, $b)"
}
no_leftovers() { # no_leftovers STORE: no temporary chunk or spill file, every lock free
  local left
  left=$(find "$1" "$(dirname "$1")" -maxdepth 8 \( -name '.*.tmp-*' -o -name '*.gencast-spill' \) 2>/dev/null)
  [ -z "$left" ] || { echo "  left: $left"; return 1; }
  local lock
  for lock in "$1"/.gencast-locks/*.lock; do
    [ -e "$lock" ] || continue
    flock -n "$lock" true || { echo "  $lock is still locked"; return 1; }
  done
}
has_member_chunk() { # has_member_chunk STORE MEMBER: a chunk of MEMBER is on disk
  [ -n "$(find "$1/2m_temperature/c/$2" -type f 2>/dev/null | head -1)" ]
}
show_jobs() { # show_jobs JOBID: one line per task (id, state, exit code, run time)
  scontrol -o show job "$1" | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^(JobId|ArrayTaskId|JobName|JobState|ExitCode|RunTime)=/) printf "%s ", $i; print "" }'
}

# The reference: one process computing the whole ensemble (4 members, 2 steps).
ref=$work/reference.zarr
t0=$(date +%s.%N)
"$gencast" -q forecast --checkpoint "$CHECKPOINT" --dataset "$DATASET" --stats "$STATS" \
  --lead-time 24h --seed 0 --ensemble-size 4 --member-offset 0 --members 4 --threads 1 \
  --output "$ref" || give_up "the single-process reference run failed"
step_s=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { print (b - a) / 8 }')
echo "test-slurm: reference run, $step_s s per member-step"

# --- 3 and 4 first (the time limit takes a minute or more): a task that outlives --time=1 ----
# Its members are sized to need about 150 s of computing at the reference run's pace (the other
# jobs running beside it only slow it down), so the limit (checked every 30 s after the first
# minute) stops it midway, and the retry computes the rest.
big=$(awk -v s="$step_s" 'BEGIN { n = int(150 / (2 * s)) + 1; print (n < 4 ? 4 : n) }')
limited_store=$work/limited.zarr
limited=$(submit "$limited_store" "$big" "$big" --array=0 --time=1 --job-name=limited)
for _ in $(seq 240); do
  [ "$(state "${limited}_0")" = RUNNING ] && has_member_chunk "$limited_store" 0 && break
  sleep 0.25
done
twin=$(submit "$limited_store" "$big" "$big" --array=0 --job-name=twin)
wait_done "$twin" 60
show_jobs "$twin"
check "a second task with the same index is refused by the member locks" \
  grep -q "another process is writing member" "$work/logs/twin-${twin}_0.log"
check "the refused twin ends FAILED while the first task keeps running" \
  test "$(state "${twin}_0")/$(state "${limited}_0")" = FAILED/RUNNING

# --- 1: the array job ---------------------------------------------------------------------
store=$work/array.zarr
job=$(submit "$store" 4 2 --array=0-1 --job-name=array)
wait_done "$job" 120
show_jobs "$job"
check "both array tasks COMPLETED" test "$(state "${job}_0")/$(state "${job}_1")" = COMPLETED/COMPLETED
check "the array job's store equals the single-process run byte for byte" chunks_equal "$ref" "$store"
check "the array job leaves no temporary file or held lock" no_leftovers "$store"

# --- 2: an array task cancelled mid-run, then resubmitted -----------------------------------
# Its lead time is sized so that a task needs about 5 s at the reference run's pace: the cancel,
# sent once the task's first member has a chunk, then always comes while the task still runs.
# Its own single-process reference has the same lead time.
steps2=$(awk -v s="$step_s" 'BEGIN { n = int(5 / (2 * s)) + 1; print (n < 2 ? 2 : n) }')
LEAD_TIME=$((12 * steps2))h
ref2=$work/reference-long.zarr
"$gencast" -q forecast --checkpoint "$CHECKPOINT" --dataset "$DATASET" --stats "$STATS" \
  --lead-time "$LEAD_TIME" --seed 0 --ensemble-size 4 --member-offset 0 --members 4 \
  --threads 1 --output "$ref2" || give_up "the single-process run of $LEAD_TIME failed"
store=$work/cancelled.zarr
job=$(submit "$store" 4 2 --array=0-1 --job-name=cancelled)
for _ in $(seq 480); do has_member_chunk "$store" 2 && break; sleep 0.1; done
scancel "${job}_1"
wait_done "$job" 60
show_jobs "$job"
check "the cancelled task ended CANCELLED" test "$(state "${job}_1")" = CANCELLED
check "SIGTERM stopped the cancelled task with the resume hint" \
  grep -q "stopped by SIGTERM; the steps written so far are kept: rerun with --resume" \
  "$work/logs/cancelled-${job}_1.log"
check "the cancel leaves no temporary file or held lock" no_leftovers "$store"
again=$(submit "$store" 4 2 --array=1 --job-name=resubmitted)
wait_done "$again" 120
show_jobs "$again"
check "the resubmitted task COMPLETED, skipping what was written" \
  grep -q "already written, skipped" "$work/logs/resubmitted-${again}_1.log"
check "the cancelled and resubmitted store equals the single-process run byte for byte" \
  chunks_equal "$ref2" "$store"
LEAD_TIME=24h

# --- 3 continued: the time limit ------------------------------------------------------------
wait_done "$limited" 240
show_jobs "$limited"
check "the time-limited task ended TIMEOUT" test "$(state "${limited}_0")" = TIMEOUT
check "the time limit's SIGTERM was handled (the run says how to resume)" \
  grep -q "stopped by SIGTERM" "$work/logs/limited-${limited}_0.log"
check "the time limit leaves no temporary file or held lock" no_leftovers "$limited_store"
retry=$(submit "$limited_store" "$big" "$big" --array=0 --job-name=retry)
wait_done "$retry" 600
show_jobs "$retry"
check "the retry COMPLETED, skipping what was written" \
  grep -q "already written, skipped" "$work/logs/retry-${retry}_0.log"
check "every chunk of the retried task's members is on disk" \
  test "$(find "$limited_store/2m_temperature/c" -type f | wc -l)" -eq $((2 * big))
# A member's chunks do not depend on the store's size: those the reference has are equal.
same_members() {
  local n=0 f
  while IFS= read -r f; do
    cmp -s "$ref/$f" "$limited_store/$f" || { echo "  $f differs"; return 1; }
    n=$((n + 1))
  done < <(cd "$ref" && find . -path './*/c/[0-3]/*' -type f)
  echo "  $n chunk files of members 0-3 byte for byte equal"
  [ "$n" -gt 0 ]
}
check "the timed-out and retried store's members 0-3 equal the single-process run's" same_members
echo "== job completion log (jobcomp/filetxt)"
awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^(JobId|Name|ArrayTaskId|JobState|ExitCode|StartTime|EndTime)=/) printf "%s ", $i; print "" }' \
  "$work/logs/jobcomp.txt" 2>/dev/null
summary
[ "$failed" -eq 0 ]
