#!/usr/bin/env bash
# Train any model of the registry with Horovod: one rank per node, all cores of a node per rank.
#   sbatch slurm/train.sh configs/unet.yaml [section.key=value ...]
# Requeue-friendly: the run always starts with --resume, so a requeued job (node failure, or the wall-time
# signal below) continues from RUN_DIR/checkpoint.h5 with the same schedule, batches and dropout masks.
# 5 minutes before the wall-time limit Slurm sends USR1 to this shell (TERM on preemption or scancel): every
# rank stops after the same batch, rank 0 writes a checkpoint of that step, landcover-train exits with code 99
# and the job requeues itself (slurm/requeue.sh); the log continues in the same file (--open-mode=append).
#SBATCH --job-name=landcover-train
#SBATCH --nodes=11
#SBATCH --ntasks-per-node=1
#SBATCH --cpus-per-task=24
#SBATCH --exclusive
#SBATCH --time=24:00:00
#SBATCH --requeue
#SBATCH --open-mode=append
#SBATCH --signal=B:USR1@300
#SBATCH --output=%x-%j.out
set -euo pipefail
CONFIG=${1:-configs/fgunet.yaml}
shift || true
# The repository (scripts, configs) and its virtual environment. The job runs in the folder it was submitted
# from: relative paths of the arguments (stores, run folders) and the log are relative to it.
REPO=${LANDCOVER_HPC_HOME:-${SLURM_SUBMIT_DIR:-$(pwd)}}
VENV=${LANDCOVER_VENV:-$REPO/.venv}
[ -f "$CONFIG" ] || CONFIG=$REPO/$CONFIG
# Threads per rank: landcover-train reads SLURM_CPUS_PER_TASK (intra-op threads, OMP_NUM_THREADS).
export OMP_NUM_THREADS=${SLURM_CPUS_PER_TASK:-1} TF_CPP_MIN_LOG_LEVEL=2 PYTHONUNBUFFERED=1
# shellcheck source=slurm/requeue.sh
source "$REPO/slurm/requeue.sh"
# LAUNCHER=mpirun for an Open MPI without Slurm PMIx support.
if [ "${LAUNCHER:-srun}" = srun ]; then
    run_requeueable srun --cpu-bind=none "$VENV/bin/landcover-train" --config "$CONFIG" --resume "$@"
else
    run_requeueable mpirun --bind-to none -x OMP_NUM_THREADS -x PYTHONUNBUFFERED "$VENV/bin/landcover-train" \
        --config "$CONFIG" --resume "$@"
fi
