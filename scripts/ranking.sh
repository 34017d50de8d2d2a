#!/usr/bin/env bash
# `make ranking`: every model of the registry and the Random Forest, trained and scored like `make benchmark`'s
# (the same store, config, runs: a run either made is reused by the other), then one table that ranks them
# (benchmarks/rank_models.py) in BENCH_OUT/report/ranking/:
#   1. the demo's 11 tiles and their store (with Sentinel-1)                                    -> store/
#   2. for each seed and model: trained until its validation plateau (within its budget, bench_lib.sh), mapped and
#      scored on the test polygons; the Random Forest likewise                                  -> runs/ maps/ eval/
#   3. the ranking: kappa (mean +- sd over seeds), urban-class F-scores, parameters, epochs,
#      training and mapping px/s                                                                -> report/ranking/
# RANK_MODELS (default: every model, cheapest first, then rf) and RANK_SEEDS (default 0 1 2) choose the runs;
# every step skips what is done, so a run stopped at any point continues where it stopped, and the table can be
# drawn from what is there at any time (models without a run are listed as not run).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/bench_lib.sh
source scripts/bench_lib.sh
MODELS=${RANK_MODELS:-fgunet unet mlp st_resnet res_ensemble4 res_ensemble8 re_resnet convlstm_unet_s2 \
convlstm_inception_unet_s2 convlstm_unet_s1s2 convlstm_inception_unet_s1s2 twinns_s2 twinns unet_convlstm lstm \
tsfgunet rf}
SEEDS=${RANK_SEEDS:-0 1 2}

say "1/3 synthetic tiles and stores -> $OUT/store"
bench_store
for seed in $SEEDS; do
    for model in $MODELS; do
        say "2/3 seed $seed: ${NAME[$model]}"
        if [ "$model" = rf ]; then bench_rf "$seed"; else bench_model "$model" "$seed"; fi
    done
done
say "3/3 ranking -> $OUT/report/ranking"
$BIN/python benchmarks/rank_models.py --bench-out "$OUT" --models "${MODELS// /,}" --seeds "${SEEDS// /,}"
say "ranking done: $OUT/report/ranking/ranking.md"
