# shellcheck shell=bash
# Sourced by scripts/benchmark.sh and scripts/ranking.sh: the settings and steps both share, so that a model
# trained by one is the same run (same store, config, overrides, output folders) for the other, and a run
# either made is reused by the other (every step resumes or skips what is done).
#   BENCH_OUT (benchmark_output/), BENCH_RANKS (2), BENCH_EPOCHS (one epoch cap for every model; default: each
#   model's budget below; a training stops earlier at its validation plateau), DEMO_SIZE (256 px tiles), MPIRUN.
OUT=${BENCH_OUT:-benchmark_output}
MPIRUN=${MPIRUN:-mpirun --oversubscribe --allow-run-as-root --bind-to none}
RANKS=${BENCH_RANKS:-2}
EPOCHS=${BENCH_EPOCHS:-}
TILES=T31UDQ,T30TWT,T30TYN,T31TGK,T30TXQ,T30UXV,T31TCJ,T31UEQ,T30UVU,T31TEJ,T32ULU
SIZE=${DEMO_SIZE:-256}
BIN=.venv/bin
export TF_CPP_MIN_LOG_LEVEL=2 PYTHONUNBUFFERED=1
declare -A NAME=([fgunet]=FG-UNET [unet]=U-Net [mlp]=MLP [lstm]=LSTM [tsfgunet]=TSFG-UNET [rf]=RF
                 [res_ensemble4]=Res_ensemble4 [res_ensemble8]=Res_ensemble8 [st_resnet]=ST-ResNet
                 [re_resnet]=Re-ResNet [unet_convlstm]="U-Net+ConvLSTM" [convlstm_unet_s2]=ConvLSTM-S2
                 [convlstm_inception_unet_s2]=ConvLSTM-Inception-S2 [convlstm_unet_s1s2]=ConvLSTM-S1S2
                 [convlstm_inception_unet_s1s2]=ConvLSTM-Inception-S1S2 [twinns_s2]="TWINNS(S2)" [twinns]=TWINNS)
# Training overrides of one model. TWINNS at the paper's widths costs about 190x an FG-UNET step on CPU (README,
# "Models of the other papers"): 45 epochs would take days on 2 cores, so the benchmark trains it at 1/8 of the
# paper's widths (stated in the ranking table); give the paper's on a GPU: BENCH_TWINNS_OPTIONS='{}' (and
# BENCH_TWINNS_S2_OPTIONS='{}': TWINNS(S2) has no Sentinel-1 stream, so no filters_s1).
TWINNS_OPTIONS=${BENCH_TWINNS_OPTIONS:-"{filters_s2: 64, filters_s1: 32, fusion_units: 128}"}
TWINNS_S2_OPTIONS=${BENCH_TWINNS_S2_OPTIONS:-"{filters_s2: 64, fusion_units: 128}"}
declare -A MODEL_OVERRIDES=([twinns_s2]="model.options=$TWINNS_S2_OPTIONS" [twinns]="model.options=$TWINNS_OPTIONS")
# The training budgets, each chosen on validation (benchmarks/README.md, "The paper's late fusion is what holds
# FG-UNET back here", "One temporal group for the U-Net and the MLP" and "Centred inputs"): FG-UNET's, the MLP's
# and the U-Net's is configs/demo.yaml's (one temporal group, at most 180 epochs, patience 40: about 7, 4 and 6
# min of training on 2 cores); every other model keeps the budget configs/demo.yaml gave them all before (at most
# 45 epochs, patience 20), not chosen again.
CONFIG_BUDGET_MODELS=(fgunet mlp unet)
OTHER_BUDGET=(model.n_groups=11 training.epochs=45 training.patience=20)
start=$SECONDS
say() { printf '== [%4d s] %s\n' $((SECONDS - start)) "$*"; }

# The demo's 11 synthetic tiles (with Sentinel-1) and their store, prepared with the demo's options.
bench_store() {
    [ -f "$OUT/tiles/.complete" ] || { $BIN/landcover-synth --out "$OUT/tiles" --tiles "$TILES" --size "$SIZE" --seed 0 \
        && touch "$OUT/tiles/.complete"; }
    # shellcheck disable=SC2086
    $MPIRUN -n 2 $BIN/landcover-prepare --input "$OUT/tiles" --out "$OUT/store" --patch-size 32 --stride 8 > /dev/null
}

# bench_model MODEL SEED [VARIANT [OVERRIDE...]]: train MODEL (configs/demo.yaml, MODEL's budget or EPOCHS, until
# its validation plateau, with the OVERRIDEs) into runs/RUN, map every tile with its best_model.h5 into maps/RUN
# and score the maps on the test polygons into eval/RUN; RUN is MODEL_sSEED, or MODEL_VARIANT_sSEED for a VARIANT.
bench_model() {
    local model=$1 seed=$2 variant=${3:-}
    local run=${model}${variant:+_$variant}_s$seed
    local overrides=()
    [[ " ${CONFIG_BUDGET_MODELS[*]} " == *" $model "* ]] || overrides+=("${OTHER_BUDGET[@]}")
    [ -n "$EPOCHS" ] && overrides+=("training.epochs=$EPOCHS")
    overrides+=("${@:4}")
    [ -n "${MODEL_OVERRIDES[$model]:-}" ] && overrides+=("${MODEL_OVERRIDES[$model]}")
    # shellcheck disable=SC2086
    $MPIRUN -n "$RANKS" -x TF_CPP_MIN_LOG_LEVEL -x PYTHONUNBUFFERED $BIN/landcover-train --config configs/demo.yaml \
        --resume data.store="$OUT/store" model.name="$model" training.seed="$seed" output.run_dir="$OUT/runs/$run" \
        "${overrides[@]}" \
        | grep -E "^epoch [0-9]+/[0-9]+:|stopping" || true
    [ -f "$OUT/runs/$run/final_model.h5" ] || { echo "training $run failed: see above" >&2; return 1; }
    $BIN/landcover-predict --tile "$TILES" --store "$OUT/store" --model "$OUT/runs/$run/best_model.h5" \
        --out "$OUT/maps/$run" > /dev/null
    $BIN/landcover-evaluate --maps "$OUT/maps/$run" --store "$OUT/store" --out "$OUT/eval/$run" \
        --method "${NAME[$model]}${variant:+ $variant}" > /dev/null
}

# bench_rf SEED: the Random Forest's training, maps and scores.
bench_rf() {
    local seed=$1
    [ -f "$OUT/runs/rf_s$seed/rf.h5" ] || $BIN/landcover-rf train --store "$OUT/store" --out "$OUT/runs/rf_s$seed/rf.h5" \
        --seed "$seed" > /dev/null
    $BIN/landcover-rf predict --model "$OUT/runs/rf_s$seed/rf.h5" --store "$OUT/store" --out "$OUT/maps/rf_s$seed" > /dev/null
    $BIN/landcover-evaluate --maps "$OUT/maps/rf_s$seed" --store "$OUT/store" --out "$OUT/eval/rf_s$seed" \
        --method RF > /dev/null
}

# bench_prior RUN METHOD: RUN's model (rf.h5 for a forest; for a network, the epoch picked on the validation kappa
# of the corrected map, runs/RUN/best_model_global.h5 or best_model_tile.h5, landcover-train's training.selection)
# maps every tile again with --prior-correction (the class mix of its training patches or sample moved to the
# training objects'), at the mix of every training tile (maps/RUN_prior) and at the mapped tile's own
# (--prior-reference tile: maps/RUN_prior_tile); the maps are scored on the test objects (eval/) and, with RUN's own,
# on the validation objects (eval_val/: what a choice of the setting may look at). METHOD names them: "METHOD
# prior-corrected", "METHOD prior-corrected (tile)".
bench_prior() {
    local run=$1 method=$2 reference maps label model
    $BIN/landcover-evaluate --maps "$OUT/maps/$run" --store "$OUT/store" --out "$OUT/eval_val/$run" --split val \
        --method "$method" > /dev/null
    for reference in global tile; do
        case $reference in
            global) maps=${run}_prior label="$method prior-corrected" ;;
            tile) maps=${run}_prior_tile label="$method prior-corrected (tile)" ;;
        esac
        if [ -f "$OUT/runs/$run/rf.h5" ]; then
            $BIN/landcover-rf predict --model "$OUT/runs/$run/rf.h5" --store "$OUT/store" --out "$OUT/maps/$maps" \
                --prior-correction --prior-reference "$reference" > /dev/null
        else
            model=$OUT/runs/$run/best_model_$reference.h5
            [ -f "$model" ] || { echo "$model not found: retrain $run with this landcover-train" >&2; return 1; }
            $BIN/landcover-predict --tile "$TILES" --store "$OUT/store" --model "$model" \
                --out "$OUT/maps/$maps" --prior-correction --prior-reference "$reference" > /dev/null
        fi
        $BIN/landcover-evaluate --maps "$OUT/maps/$maps" --store "$OUT/store" --out "$OUT/eval/$maps" \
            --method "$label" > /dev/null
        $BIN/landcover-evaluate --maps "$OUT/maps/$maps" --store "$OUT/store" --out "$OUT/eval_val/$maps" --split val \
            --method "$label" > /dev/null
    done
}
