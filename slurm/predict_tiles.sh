#!/usr/bin/env bash
# Nightly map production: one array task per tile of a tile list, each predicting its tile's maps.
#   sbatch --array=1-$(wc -l < tiles.txt) slurm/predict_tiles.sh tiles.txt MODEL STORE_DIR OUT_DIR [options]
# A task whose map is up to date exits at once; a killed task resumes from its completed windows. 2 minutes
# before the time limit (USR1), or on preemption (TERM), the task stops after its current window and requeues
# itself (slurm/requeue.sh): the rerun finishes the same map.
#SBATCH --job-name=landcover-predict
#SBATCH --nodes=1
#SBATCH --ntasks=1
#SBATCH --cpus-per-task=24
#SBATCH --time=02:00:00
#SBATCH --requeue
#SBATCH --open-mode=append
#SBATCH --signal=B:USR1@120
#SBATCH --output=%x-%A_%a.out
set -euo pipefail
if [ $# -lt 4 ]; then
    echo "usage: sbatch --array=1-N slurm/predict_tiles.sh TILE_LIST MODEL STORE_DIR OUT_DIR [landcover-predict options]" >&2
    exit 2
fi
TILE_LIST=$1 MODEL=$2 STORE=$3 OUT=$4
shift 4
# The repository and its virtual environment; the job runs in the folder it was submitted from (relative paths)
REPO=${LANDCOVER_HPC_HOME:-${SLURM_SUBMIT_DIR:-$(pwd)}}
VENV=${LANDCOVER_VENV:-$REPO/.venv}
TILE=$(sed -n "${SLURM_ARRAY_TASK_ID:-1}p" "$TILE_LIST" | tr -d '[:space:]')
if [ -z "$TILE" ]; then
    echo "no tile on line ${SLURM_ARRAY_TASK_ID:-1} of $TILE_LIST" >&2
    exit 2
fi
export OMP_NUM_THREADS=${SLURM_CPUS_PER_TASK:-1} TF_CPP_MIN_LOG_LEVEL=2 PYTHONUNBUFFERED=1
# shellcheck source=slurm/requeue.sh
source "$REPO/slurm/requeue.sh"
run_requeueable "$VENV/bin/landcover-predict" --tile "$TILE" --model "$MODEL" --store "$STORE" --out "$OUT" "$@"
