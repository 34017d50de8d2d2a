#!/usr/bin/env bash
# Nightly production jobs (slurm/nightly.sh submits both; they run in the folder they were submitted from):
#   sbatch --array=1-N slurm/produce.sh --array-tiles TILES.txt --config production.yaml [options/overrides]
#       task i: landcover-produce on the tile on line i of TILES.txt, its steps only (mosaic=false: no lock of
#       OUT, no mosaic, manifest or report); exit code 3 when the tile failed
#   sbatch slurm/produce.sh --config production.yaml [options/overrides]
#       the whole run: every tile (steps up to date are skipped, failed ones retried), the mosaic, manifest, report
# 2 minutes before the time limit (USR1), or on preemption (TERM), a prediction stops after its current window
# and the job requeues itself (slurm/requeue.sh): the rerun resumes that map.
#SBATCH --job-name=landcover-produce
#SBATCH --nodes=1
#SBATCH --ntasks=1
#SBATCH --cpus-per-task=24
#SBATCH --time=02:00:00
#SBATCH --requeue
#SBATCH --open-mode=append
#SBATCH --signal=B:USR1@120
#SBATCH --output=%x-%A_%a.out
set -euo pipefail
# The repository and its virtual environment
REPO=${LANDCOVER_HPC_HOME:-${SLURM_SUBMIT_DIR:-$(pwd)}}
VENV=${LANDCOVER_VENV:-$REPO/.venv}
TILE_ARGS=()
if [ "${1:-}" = "--array-tiles" ]; then
    if [ $# -lt 2 ] || [ -z "${SLURM_ARRAY_TASK_ID:-}" ]; then
        echo "usage: sbatch --array=1-N slurm/produce.sh --array-tiles TILE_LIST [landcover-produce options]" >&2
        exit 2
    fi
    TILE=$(sed -n "${SLURM_ARRAY_TASK_ID}p" "$2" | tr -d '[:space:]')
    if [ -z "$TILE" ]; then
        echo "no tile on line $SLURM_ARRAY_TASK_ID of $2" >&2
        exit 2
    fi
    shift 2
    # overrides come last and win over the config file, flags and the caller's overrides
    TILE_ARGS=("tiles=['$TILE']" "mosaic=false")
fi
export OMP_NUM_THREADS=${SLURM_CPUS_PER_TASK:-1} TF_CPP_MIN_LOG_LEVEL=2 PYTHONUNBUFFERED=1
# shellcheck source=slurm/requeue.sh
source "$REPO/slurm/requeue.sh"
# python -m: the landcover-produce command, also in an environment whose scripts were installed before it
run_requeueable "$VENV/bin/python" -m landcover_hpc.cli.produce "$@" "${TILE_ARGS[@]}"
