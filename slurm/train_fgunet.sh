#!/usr/bin/env bash
# FG-UNET with the paper's settings on 11 nodes: sbatch slurm/train_fgunet.sh [section.key=value ...]
# (slurm/train.sh CONFIG trains the other models the same way.)
#SBATCH --job-name=landcover-train-fgunet
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
REPO=${LANDCOVER_HPC_HOME:-${SLURM_SUBMIT_DIR:-$(pwd)}}
exec bash "$REPO/slurm/train.sh" configs/fgunet.yaml "$@"
