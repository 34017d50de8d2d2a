#!/usr/bin/env bash
# `make benchmark`: the paper's comparison on the demo's synthetic tiles, with error bars, in BENCH_OUT
# (default benchmark_output/):
#   1. the demo's 11 tiles, prepared with the demo's options (train / validation / test objects)   -> store/
#   2. for each seed: FG-UNET, U-Net and MLP trained until the validation kappa stops improving
#      (configs/demo.yaml, each model's budget in bench_lib.sh), mapped and evaluated; the Random Forest likewise -> eval/
#   3. geometric precision (paper 4.3) of FG-UNET and RF against the RF maps of the other seeds          -> geometry/
#      and of every map against the synthetic ground truth (recall and precision of its corners)        -> geometry_truth/
#   4. landcover-compare: kappa per tile (Figures 6, 9, 12), F-scores per class (Figure 7), geometry, mean +- sd
#      over the seeds                                                                                   -> report/
#   5. with BENCH_STUDIES=1 (`make benchmark-studies`), the studies that explain the comparison (5 more FG-UNET
#      trainings and 3 of the RF in all; the prior correction only maps again), each with its report:
#      FG-UNET with the paper's imbalance setting (class-balanced sampler + class weights n_tot / n_k) and with
#      the class weights alone (the default is the sampler alone: both together over-predict the rare classes
#      on an imbalanced test set, benchmarks/README.md)                                    -> report/imbalance/
#      FG-UNET's and the RF's maps of every seed made again with --prior-correction (every tile's mix, and the
#      mapped tile's; FG-UNET's at the epoch picked on that map's validation kappa), scored on the validation
#      and the test objects                                                       -> eval_val/, report/prior*/
#      leave one tile out (paper Figure 19) for FG-UNET and RF on the LOTO_TILES                 -> report/loto/
# Every step skips what is already done (prepare, predict and training resume), so an interrupted run
# continues where it stopped, and `make benchmark-studies` after `make benchmark` trains only the studies.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/bench_lib.sh
source scripts/bench_lib.sh  # OUT, MPIRUN, RANKS, EPOCHS, TILES, BIN, NAME, say, bench_store, bench_model, bench_rf
SEEDS=${BENCH_SEEDS:-0 1 2}
MODELS=${BENCH_MODELS:-fgunet unet mlp}
STUDIES=${BENCH_STUDIES:-0}
LOTO_TILES=${BENCH_LOTO_TILES:-T31UDQ,T30TWT,T32ULU}
GEOMETRY_TILES=${BENCH_GEOMETRY_TILES:-T31UDQ T30TWT}
first=${SEEDS%% *}

say "1/5 synthetic tiles and stores -> $OUT/store"
bench_store

evals=()
for seed in $SEEDS; do
    for model in $MODELS; do
        say "2/5 seed $seed: ${NAME[$model]} -> $OUT/runs/${model}_s$seed"
        bench_model "$model" "$seed"
        evals+=(--eval "${NAME[$model]}=$OUT/eval/${model}_s$seed")
    done
    say "2/5 seed $seed: Random Forest"
    bench_rf "$seed"
    evals+=(--eval "RF=$OUT/eval/rf_s$seed")
done

geometry=()
if [ "$(wc -w <<< "$SEEDS")" -lt 2 ]; then
    say "3/5 geometric precision against the other seeds' RF maps: skipped (one seed: the RF has no other map)"
else
    say "3/5 geometric precision of FG-UNET and RF against the other seeds' RF maps -> $OUT/geometry"
    for tile in $GEOMETRY_TILES; do
        references=()
        for seed in $SEEDS; do references+=("$OUT/maps/rf_s$seed/${tile}_classes.tif"); done
        $BIN/landcover-geometry --tile "$tile" --map "FG-UNET=$OUT/maps/fgunet_s$first/${tile}_classes.tif" \
            --map "RF=$OUT/maps/rf_s$first/${tile}_classes.tif" --reference "${references[@]}" --out "$OUT/geometry"
    done
    geometry=(--geometry "$OUT/geometry")
fi

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

say "4/5 comparison -> $OUT/report"
names=()
for model in $MODELS; do names+=("${NAME[$model]}"); done
$BIN/landcover-compare "${evals[@]}" "${geometry[@]}" --fscore-tiles T30TWT,T31UDQ --out "$OUT/report" \
    --title "landcover_hpc benchmark: ${names[*]} and RF on 11 synthetic tiles, seeds ${SEEDS// /, }"
echo
sed -n '/^| tile/,/^$/p' "$OUT/report/compare.md"
if [ "$STUDIES" != 1 ]; then
    say "benchmark done: $OUT/report/compare.md (the studies: make benchmark-studies)"
    exit 0
fi

say "5/5 imbalance study, seed $first: FG-UNET with the paper's sampler + class weights, with the class weights only"
for variant in "paper training.class_weights=inverse_frequency" \
               "weights_only data.balance=none training.class_weights=inverse_frequency"; do
    # shellcheck disable=SC2086
    bench_model fgunet "$first" $variant
done

say "5/5 prior correction: FG-UNET and RF of every seed mapped at the training objects' class mix, of every tile and" \
    "of the mapped tile -> $OUT/maps/*_prior, *_prior_tile"
prior_evals=() prior_val_evals=()
for seed in $SEEDS; do
    for model in fgunet rf; do
        run=${model}_s$seed name=${NAME[$model]}
        bench_prior "$run" "$name"
        prior_evals+=(--eval "$name=$OUT/eval/$run" --eval "$name prior-corrected=$OUT/eval/${run}_prior"
                      --eval "$name prior-corrected (tile)=$OUT/eval/${run}_prior_tile")
        prior_val_evals+=(--eval "$name=$OUT/eval_val/$run" --eval "$name prior-corrected=$OUT/eval_val/${run}_prior"
                          --eval "$name prior-corrected (tile)=$OUT/eval_val/${run}_prior_tile")
    done
done

say "5/5 leave one tile out ($LOTO_TILES held out in turn) -> $OUT/loto"
$BIN/landcover-rf loto --store "$OUT/store" --held-out "$LOTO_TILES" --seed "$first" --out "$OUT/loto/rf" > /dev/null
# shellcheck disable=SC2086
$MPIRUN -n "$RANKS" -x TF_CPP_MIN_LOG_LEVEL -x PYTHONUNBUFFERED $BIN/landcover-train --config configs/demo.yaml \
    --loto "$OUT/loto/fgunet" --held-out "$LOTO_TILES" data.store="$OUT/store" training.seed="$first" \
    ${EPOCHS:+training.epochs="$EPOCHS"} \
    | grep -E "held out" || true

say "5/5 the studies' reports -> $OUT/report/imbalance, prior_val, prior, loto"
$BIN/landcover-compare --eval "FG-UNET=$OUT/eval/fgunet_s$first" --eval "RF=$OUT/eval/rf_s$first" \
    --eval "FG-UNET paper=$OUT/eval/fgunet_paper_s$first" \
    --eval "FG-UNET weights_only=$OUT/eval/fgunet_weights_only_s$first" --out "$OUT/report/imbalance" \
    --title "Class imbalance: sampler alone (default), the paper's sampler + class weights, weights alone (seed $first)"
$BIN/landcover-compare "${prior_val_evals[@]}" --out "$OUT/report/prior_val" \
    --title "Prior correction, validation objects (what the choice of the setting may look at), seeds ${SEEDS// /, }"
$BIN/landcover-compare "${prior_evals[@]}" --out "$OUT/report/prior" \
    --title "Prior correction, test objects: FG-UNET and RF at the training objects' class mix, seeds ${SEEDS// /, }"
$BIN/landcover-compare --eval "FG-UNET=$OUT/eval/fgunet_s$first" --eval "RF=$OUT/eval/rf_s$first" \
    --eval "FG-UNET loto=$OUT/loto/fgunet/eval" --eval "RF loto=$OUT/loto/rf/eval" --tiles "$LOTO_TILES" \
    --out "$OUT/report/loto" --title "Leave one tile out (paper Figure 19), seed $first"
say "benchmark done: $OUT/report/compare.md, $OUT/report/imbalance/compare.md, $OUT/report/loto/compare.md," \
    "$OUT/report/prior/compare.md, $OUT/report/prior_val/compare.md"
