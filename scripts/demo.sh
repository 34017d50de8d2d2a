#!/usr/bin/env bash
# `make demo`: the main job on built-in data. Synthesises 11 small Sentinel-2 tiles (the paper's 11 tiles
# stand for 11 landscapes), prepares them into HDF5 stores with several MPI ranks and prints the summary.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${DEMO_OUT:-demo_output}
MPIRUN=${MPIRUN:-mpirun --oversubscribe --allow-run-as-root}
BIN=.venv/bin
TILES=T31UDQ,T30TWT,T30TYN,T31TGK,T30TXQ,T30UXV,T31TCJ,T31UEQ,T30UVU,T31TEJ,T32ULU
SIZE=${DEMO_SIZE:-256}

echo "== 1/2 synthesising 11 tiles of ${SIZE}x${SIZE} px, 33 dates x 10 bands -> $OUT/tiles"
$BIN/landcover-synth --out "$OUT/tiles" --tiles "$TILES" --size "$SIZE" --seed 0
echo "== 2/2 preparing the tile stores with 2 MPI ranks -> $OUT/store"
# shellcheck disable=SC2086
$MPIRUN -n 2 $BIN/landcover-prepare --input "$OUT/tiles" --out "$OUT/store"
echo "== demo done: inputs in $OUT/tiles, stores in $OUT/store"
