#!/usr/bin/env bash
# `make benchmark`: the paper's comparison on the demo's synthetic tiles, with error bars, in BENCH_OUT
# (default benchmark_output/):
#   1. the demo's 11 tiles, prepared with the demo's options (train / validation / test objects)   -> store/
#   2. for each seed: FG-UNET, U-Net and MLP trained until the validation kappa stops improving
#      (configs/demo.yaml, training.patience), mapped and evaluated; the Random Forest likewise         -> eval/
#      then FG-UNET with the paper's imbalance setting (class-balanced sampler + class weights n_tot / n_k)
#      and with the class weights alone (the default is the sampler alone: both together over-predict the
#      rare classes on an imbalanced test set, benchmarks/README.md)
#   3. geometric precision (paper 4.3) of FG-UNET and RF against the RF maps of the other seeds          -> geometry/
#      and of every map against the synthetic ground truth (recall and precision of its corners)        -> geometry_truth/
#   4. leave one tile out (paper Figure 19) for FG-UNET and RF on the LOTO_TILES                        -> loto/
#   5. landcover-compare: kappa per tile (Figures 6, 9, 12), F-scores per class (Figure 7), geometry,
#      LOTO, all as mean +- sd over the seeds                                                           -> report/
# Every step skips what is already done (prepare, predict and training resume), so an interrupted run
# continues where it stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${BENCH_OUT:-benchmark_output}
MPIRUN=${MPIRUN:-mpirun --oversubscribe --allow-run-as-root --bind-to none}
RANKS=${BENCH_RANKS:-2}
SEEDS=${BENCH_SEEDS:-0 1 2}
MODELS=${BENCH_MODELS:-fgunet unet mlp}
EPOCHS=${BENCH_EPOCHS:-45}  # at most, as configs/demo.yaml: each training stops at its validation plateau (its patience)
LOTO_TILES=${BENCH_LOTO_TILES:-T31UDQ,T30TWT,T32ULU}
GEOMETRY_TILES=${BENCH_GEOMETRY_TILES:-T31UDQ T30TWT}
TILES=T31UDQ,T30TWT,T30TYN,T31TGK,T30TXQ,T30UXV,T31TCJ,T31UEQ,T30UVU,T31TEJ,T32ULU
SIZE=${DEMO_SIZE:-256}
BIN=.venv/bin
export TF_CPP_MIN_LOG_LEVEL=2 PYTHONUNBUFFERED=1
declare -A NAME=([fgunet]=FG-UNET [unet]=U-Net [mlp]=MLP [rf]=RF)
start=$SECONDS
say() { printf '== [%4d s] %s\n' $((SECONDS - start)) "$*"; }

say "1/5 synthetic tiles and stores -> $OUT/store"
[ -f "$OUT/tiles/.complete" ] || { $BIN/landcover-synth --out "$OUT/tiles" --tiles "$TILES" --size "$SIZE" --seed 0 \
    && touch "$OUT/tiles/.complete"; }
# shellcheck disable=SC2086
$MPIRUN -n 2 $BIN/landcover-prepare --input "$OUT/tiles" --out "$OUT/store" --patch-size 32 --stride 8 > /dev/null

evals=()
for seed in $SEEDS; do
    for model in $MODELS; do
        run="$OUT/runs/${model}_s$seed"
        say "2/5 seed $seed: ${NAME[$model]} -> $run"
        # shellcheck disable=SC2086
        $MPIRUN -n "$RANKS" -x TF_CPP_MIN_LOG_LEVEL -x PYTHONUNBUFFERED $BIN/landcover-train --config configs/demo.yaml \
            --resume data.store="$OUT/store" model.name="$model" training.seed="$seed" output.run_dir="$run" \
            training.epochs="$EPOCHS" \
            | grep -E "^epoch [0-9]+/[0-9]+:|stopping" || true
        [ -f "$run/final_model.h5" ] || { echo "training ${NAME[$model]} seed $seed failed: see above" >&2; exit 1; }
        $BIN/landcover-predict --tile "$TILES" --store "$OUT/store" --model "$run/best_model.h5" \
            --out "$OUT/maps/${model}_s$seed" > /dev/null
        $BIN/landcover-evaluate --maps "$OUT/maps/${model}_s$seed" --store "$OUT/store" \
            --out "$OUT/eval/${model}_s$seed" --method "${NAME[$model]}" > /dev/null
        evals+=(--eval "${NAME[$model]}=$OUT/eval/${model}_s$seed")
    done
    say "2/5 seed $seed: Random Forest"
    [ -f "$OUT/runs/rf_s$seed/rf.h5" ] || $BIN/landcover-rf train --store "$OUT/store" --out "$OUT/runs/rf_s$seed/rf.h5" \
        --seed "$seed" > /dev/null
    $BIN/landcover-rf predict --model "$OUT/runs/rf_s$seed/rf.h5" --store "$OUT/store" --out "$OUT/maps/rf_s$seed" > /dev/null
    $BIN/landcover-evaluate --maps "$OUT/maps/rf_s$seed" --store "$OUT/store" --out "$OUT/eval/rf_s$seed" \
        --method RF > /dev/null
    evals+=(--eval "RF=$OUT/eval/rf_s$seed")
done

first=${SEEDS%% *}
say "2/5 imbalance ablation, seed $first: FG-UNET with the paper's sampler + class weights, with the class weights only"
for variant in "paper training.class_weights=inverse_frequency" \
               "weights_only data.balance=none training.class_weights=inverse_frequency"; do
    name=${variant%% *}
    run="$OUT/runs/fgunet_${name}_s$first"
    # shellcheck disable=SC2086
    $MPIRUN -n "$RANKS" -x TF_CPP_MIN_LOG_LEVEL -x PYTHONUNBUFFERED $BIN/landcover-train --config configs/demo.yaml \
        --resume data.store="$OUT/store" training.seed="$first" output.run_dir="$run" training.epochs="$EPOCHS" \
        ${variant#* } \
        | grep -E "stopping" || true
    $BIN/landcover-predict --tile "$TILES" --store "$OUT/store" --model "$run/best_model.h5" \
        --out "$OUT/maps/fgunet_${name}_s$first" > /dev/null
    $BIN/landcover-evaluate --maps "$OUT/maps/fgunet_${name}_s$first" --store "$OUT/store" \
        --out "$OUT/eval/fgunet_${name}_s$first" --method "FG-UNET $name" > /dev/null
done

say "3/5 geometric precision of FG-UNET and RF against the other seeds' RF maps -> $OUT/geometry"
for tile in $GEOMETRY_TILES; do
    references=()
    for seed in $SEEDS; do references+=("$OUT/maps/rf_s$seed/${tile}_classes.tif"); done
    $BIN/landcover-geometry --tile "$tile" --map "FG-UNET=$OUT/maps/fgunet_s$first/${tile}_classes.tif" \
        --map "RF=$OUT/maps/rf_s$first/${tile}_classes.tif" --reference "${references[@]}" --out "$OUT/geometry"
done

say "3/5 geometric precision against the synthetic ground truth (truth.tif), every seed -> $OUT/geometry_truth"
for tile in $GEOMETRY_TILES; do
    maps=()
    for seed in $SEEDS; do
        for model in $MODELS rf; do maps+=(--map "${NAME[$model]} s$seed=$OUT/maps/${model}_s$seed/${tile}_classes.tif"); done
    done
    # the true corners a map keeps (recall), then the map's corners that are true ones (precision)
    $BIN/landcover-geometry --tile "$tile" "${maps[@]}" --reference "$OUT/tiles/$tile/truth.tif" \
        --out "$OUT/geometry_truth/recall" > /dev/null
    $BIN/landcover-geometry --tile "$tile" "${maps[@]}" --reference "$OUT/tiles/$tile/truth.tif" --denominator map \
        --out "$OUT/geometry_truth/precision" > /dev/null
done

say "4/5 leave one tile out ($LOTO_TILES held out in turn) -> $OUT/loto"
$BIN/landcover-rf loto --store "$OUT/store" --held-out "$LOTO_TILES" --seed "$first" --out "$OUT/loto/rf" > /dev/null
# shellcheck disable=SC2086
$MPIRUN -n "$RANKS" -x TF_CPP_MIN_LOG_LEVEL -x PYTHONUNBUFFERED $BIN/landcover-train --config configs/demo.yaml \
    --loto "$OUT/loto/fgunet" --held-out "$LOTO_TILES" data.store="$OUT/store" training.seed="$first" \
    training.epochs="$EPOCHS" \
    | grep -E "held out" || true

say "5/5 comparison -> $OUT/report"
$BIN/landcover-compare "${evals[@]}" --geometry "$OUT/geometry" --fscore-tiles T30TWT,T31UDQ --out "$OUT/report" \
    --title "landcover_hpc benchmark: FG-UNET, U-Net, MLP and RF on 11 synthetic tiles, seeds ${SEEDS// /, }"
$BIN/landcover-compare --eval "FG-UNET=$OUT/eval/fgunet_s$first" --eval "RF=$OUT/eval/rf_s$first" \
    --eval "FG-UNET paper=$OUT/eval/fgunet_paper_s$first" \
    --eval "FG-UNET weights_only=$OUT/eval/fgunet_weights_only_s$first" --out "$OUT/report/imbalance" \
    --title "Class imbalance: sampler alone (default), the paper's sampler + class weights, weights alone (seed $first)"
$BIN/landcover-compare --eval "FG-UNET=$OUT/eval/fgunet_s$first" --eval "RF=$OUT/eval/rf_s$first" \
    --eval "FG-UNET loto=$OUT/loto/fgunet/eval" --eval "RF loto=$OUT/loto/rf/eval" --tiles "$LOTO_TILES" \
    --out "$OUT/report/loto" --title "Leave one tile out (paper Figure 19), seed $first"
echo
sed -n '/^| tile/,/^$/p' "$OUT/report/compare.md"
say "benchmark done: $OUT/report/compare.md, $OUT/report/imbalance/compare.md, $OUT/report/loto/compare.md"
