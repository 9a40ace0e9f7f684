#!/bin/bash
# A 32-member GenCast ensemble as 8 Slurm array tasks of 4 members, all writing one Zarr store
# on a shared filesystem. Submit with: sbatch docs/examples/gencast-slurm.sh
#SBATCH --job-name=gencast
#SBATCH --array=0-7
#SBATCH --cpus-per-task=32
#SBATCH --mem=64G
#SBATCH --time=12:00:00
#SBATCH --output=gencast-%A_%a.log
set -euo pipefail

# Every setting can be overridden from the environment (sbatch --export=ALL,VAR=value); the
# #SBATCH lines by sbatch's own options (e.g. sbatch --array=0-3 --time=2:00:00 ...).
# At the time limit, or on scancel, Slurm sends SIGTERM and, KillWait seconds later, SIGKILL:
# gencast stops at its next denoiser call, keeps every finished step and exits with 143; the
# same command (sbatch --array=N ..., or a requeue) then resumes where it stopped.
GENCAST=${GENCAST:-gencast} # the gencast binary
MEMBERS_PER_TASK=${MEMBERS_PER_TASK:-4}
ENSEMBLE_SIZE=${ENSEMBLE_SIZE:-32} # array tasks × MEMBERS_PER_TASK
DATA=${DATA:-/shared/gencast} # checkpoint, dataset and statistics
CHECKPOINT=${CHECKPOINT:-"$DATA/GenCast 1p0deg Mini <2019.npz"}
DATASET=${DATASET:-"$DATA/source-era5_date-2019-03-29_res-1.0_levels-13_steps-30.nc"}
STATS=${STATS:-"$DATA/stats"}
LEAD_TIME=${LEAD_TIME:-15d}
STORE=${STORE:-/shared/forecasts/gencast-2019-03-29.zarr}
OFFSET=$((SLURM_ARRAY_TASK_ID * MEMBERS_PER_TASK))

exec "$GENCAST" forecast \
  --checkpoint "$CHECKPOINT" \
  --dataset "$DATASET" \
  --stats "$STATS" \
  --lead-time "$LEAD_TIME" \
  --seed 0 \
  --ensemble-size "$ENSEMBLE_SIZE" \
  --member-offset "$OFFSET" \
  --members "$MEMBERS_PER_TASK" \
  --threads "${SLURM_CPUS_PER_TASK:-1}" \
  --output "$STORE" \
  --resume
