#!/usr/bin/env bash
# Nightly country-scale production on Slurm: run on a login node or from scrontab (not itself a batch job).
#   slurm/nightly.sh [--sbatch OPTION]... [--log-dir DIR] --config production.yaml [landcover-produce options]
# e.g. scrontab:  0 1 * * * /path/to/repo/slurm/nightly.sh --log-dir /scratch/prod/logs --config /path/production.yaml
# 1. the tiles of the run (`landcover-produce ... --list-tiles`) are written to DIR/nightly-<time>-tiles.txt;
# 2. one array task per tile (slurm/produce.sh --array-tiles): gap-fill, prepare, predict, evaluate that tile;
# 3. one job after the whole array, whatever its tasks' outcome (--dependency=afterany): landcover-produce on
#    every tile, which skips the steps the tasks made, retries once the tiles that failed, and writes the
#    mosaic, OUT/manifest.json and OUT/report.md naming the tiles that still fail (exit code 3 then).
# --sbatch OPTION (repeatable) goes to both sbatch calls (account, partition, --time, --cpus-per-task ...);
# logs go to DIR (default: the current folder). Prints the job ids. Relative paths are those of the current
# folder (the jobs run there). LANDCOVER_HPC_HOME / LANDCOVER_VENV: the repository and its virtual environment.
set -euo pipefail
usage() {
    echo "usage: slurm/nightly.sh [--sbatch OPTION]... [--log-dir DIR] --config production.yaml [landcover-produce options]" >&2
    exit 2
}
REPO=${LANDCOVER_HPC_HOME:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
VENV=${LANDCOVER_VENV:-$REPO/.venv}
SBATCH_OPTIONS=()
LOG_DIR=$(pwd)
while [ $# -gt 0 ]; do
    case $1 in
        --sbatch) [ $# -ge 2 ] || usage; SBATCH_OPTIONS+=("$2"); shift 2 ;;
        --sbatch=*) SBATCH_OPTIONS+=("${1#--sbatch=}"); shift ;;
        --log-dir) [ $# -ge 2 ] || usage; LOG_DIR=$2; shift 2 ;;
        --log-dir=*) LOG_DIR=${1#--log-dir=}; shift ;;
        -h|--help) usage ;;
        *) break ;;
    esac
done
[ $# -gt 0 ] || usage
mkdir -p "$LOG_DIR"
TILE_LIST=$LOG_DIR/nightly-$(date +%Y%m%dT%H%M%S)-tiles.txt
# the run's tiles, frozen for the array's indices (a config error stops here with landcover-produce's line)
"$VENV/bin/python" -m landcover_hpc.cli.produce --list-tiles "$@" > "$TILE_LIST"
N=$(grep -c . "$TILE_LIST" || true)
if [ "$N" -eq 0 ]; then
    echo "nightly.sh: error: the config names no tile (see $TILE_LIST)" >&2
    exit 2
fi
export LANDCOVER_HPC_HOME=$REPO LANDCOVER_VENV=$VENV  # the jobs find the repository and its Python through them
ARRAY_JOB=$(sbatch --parsable --array="1-$N" --job-name=landcover-produce-tiles \
            --output="$LOG_DIR/%x-%A_%a.out" "${SBATCH_OPTIONS[@]}" \
            "$REPO/slurm/produce.sh" --array-tiles "$TILE_LIST" "$@")
ARRAY_JOB=${ARRAY_JOB%%;*}
FINAL_JOB=$(sbatch --parsable --dependency="afterany:$ARRAY_JOB" --job-name=landcover-produce-mosaic \
            --output="$LOG_DIR/%x-%j.out" "${SBATCH_OPTIONS[@]}" "$REPO/slurm/produce.sh" "$@")
FINAL_JOB=${FINAL_JOB%%;*}
echo "tiles: $N ($TILE_LIST)"
echo "tile array job: $ARRAY_JOB"
echo "mosaic and report job: $FINAL_JOB"
