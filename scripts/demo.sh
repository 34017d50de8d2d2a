#!/usr/bin/env bash
# `make demo`: the whole pipeline on built-in synthetic data, in DEMO_OUT (default demo_output/):
#   1. synthesise 11 Sentinel-2 tiles (the paper's 11 tiles stand for 11 landscapes)     -> tiles/
#   2. prepare them into HDF5 tile stores, with 2 MPI ranks                               -> store/
#   3. train FG-UNET with Horovod on 2 MPI ranks (configs/demo.yaml), validation kappa   -> runs/fgunet/
#   4. predict the 11 tiles' maps with the trained model                                  -> maps/fgunet/
#   5. train and apply the Random Forest baseline                                         -> maps/rf/
#   6. evaluate both on the test polygons and write the report                            -> report/report.md
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${DEMO_OUT:-demo_output}
MPIRUN=${MPIRUN:-mpirun --oversubscribe --allow-run-as-root --bind-to none}
RANKS=${DEMO_RANKS:-2}  # the settings of configs/demo.yaml were chosen at 2 ranks (make benchmark's)
BIN=.venv/bin
TILES=T31UDQ,T30TWT,T30TYN,T31TGK,T30TXQ,T30UXV,T31TCJ,T31UEQ,T30UVU,T31TEJ,T32ULU
SIZE=${DEMO_SIZE:-256}
export TF_CPP_MIN_LOG_LEVEL=2 PYTHONUNBUFFERED=1
start=$SECONDS
say() { printf '== [%4d s] %s\n' $((SECONDS - start)) "$*"; }

say "1/6 synthesising 11 tiles of ${SIZE}x${SIZE} px, 33 dates x 10 bands -> $OUT/tiles"
$BIN/landcover-synth --out "$OUT/tiles" --tiles "$TILES" --size "$SIZE" --seed 0 --no-sentinel1  # the demo's models take Sentinel-2 only
say "2/6 preparing the tile stores with 2 MPI ranks (32 px patches) -> $OUT/store"
# shellcheck disable=SC2086
$MPIRUN -n 2 $BIN/landcover-prepare --input "$OUT/tiles" --out "$OUT/store" --patch-size 32 --stride 8
say "3/6 training FG-UNET with Horovod on $RANKS MPI ranks -> $OUT/runs/fgunet"
# shellcheck disable=SC2086
$MPIRUN -n "$RANKS" -x TF_CPP_MIN_LOG_LEVEL -x PYTHONUNBUFFERED $BIN/landcover-train --config configs/demo.yaml \
    data.store="$OUT/store" output.run_dir="$OUT/runs/fgunet"
say "4/6 predicting the 11 tiles with the trained FG-UNET -> $OUT/maps/fgunet"
$BIN/landcover-predict --tile "$TILES" --store "$OUT/store" --model "$OUT/runs/fgunet/best_model.h5" \
    --out "$OUT/maps/fgunet"
say "5/6 Random Forest baseline (100 trees, depth 20) -> $OUT/maps/rf"
$BIN/landcover-rf train --store "$OUT/store" --out "$OUT/runs/rf/rf.h5"
$BIN/landcover-rf predict --model "$OUT/runs/rf/rf.h5" --store "$OUT/store" --out "$OUT/maps/rf"
say "6/6 evaluating both on the test polygons and writing the report -> $OUT/report"
for method in fgunet rf; do
    $BIN/landcover-evaluate --maps "$OUT/maps/$method" --store "$OUT/store" --out "$OUT/eval/$method" > /dev/null
done
$BIN/landcover-compare --eval FG-UNET="$OUT/eval/fgunet" --eval RF="$OUT/eval/rf" \
    --maps FG-UNET="$OUT/maps/fgunet" --maps RF="$OUT/maps/rf" --out "$OUT/report" \
    --title "landcover_hpc demo: FG-UNET vs Random Forest on 11 synthetic tiles"
echo
sed -n '/^| tile/,/^$/p' "$OUT/report/report.md" | head -16
say "demo done: report in $OUT/report/report.md (figures and map quicklooks beside it)"
