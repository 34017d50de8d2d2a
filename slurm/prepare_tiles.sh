#!/usr/bin/env bash
# Prepare every tile of a data root into HDF5 stores, one MPI rank per tile (tiles are shared among ranks).
#   sbatch slurm/prepare_tiles.sh DATA_ROOT STORE_DIR [extra landcover-prepare options]
#SBATCH --job-name=landcover-prepare
#SBATCH --nodes=11
#SBATCH --ntasks-per-node=1
#SBATCH --cpus-per-task=24
#SBATCH --time=04:00:00
#SBATCH --output=%x-%j.out
set -euo pipefail
if [ $# -lt 2 ]; then
    echo "usage: sbatch slurm/prepare_tiles.sh DATA_ROOT STORE_DIR [landcover-prepare options]" >&2
    exit 2
fi
DATA_ROOT=$1
STORE_DIR=$2
shift 2
REPO=${LANDCOVER_HPC_HOME:-${SLURM_SUBMIT_DIR:-$(pwd)}}
srun --cpu-bind=none "${LANDCOVER_VENV:-$REPO/.venv}/bin/landcover-prepare" --input "$DATA_ROOT" --out "$STORE_DIR" "$@"
