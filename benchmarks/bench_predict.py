"""End-to-end prediction speed of FG-UNET next to the bare model and the matmul peak, in one run.

    .venv/bin/python benchmarks/bench_predict.py [--size 1440] [--model demo_output/runs/fgunet/best_model.h5]

Measures, on this machine, side by side:
- the float32 matmul peak (4096 x 4096 tf.matmul), GFLOP/s;
- model-only px/s: FG-UNET on 512 x 512 windows already in memory (float32, bfloat16);
- end-to-end px/s of ``landcover-predict`` (read, normalise, predict, crop, write the maps) on a synthetic tile
  of ``--size`` px (its tile pixels per wall-clock second; 512 px windows sharing 16 px, so the predictor
  computes (computed px / tile px) more pixels than the tile has: printed as the overlap factor);
- agreement of the bfloat16 and float32 maps of the same trained model;
- exactness against overlap: float32 maps of a ``--exact-size`` px tile with ``--exact-window`` px windows
  and several overlaps, against one whole-image pass (small windows: more seams than 512 px ones).
Prints Markdown tables. With no trained model given (or found), a briefly trained one is used.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from peaks import matmul_gflops  # benchmarks/peaks.py (this script's folder is on sys.path)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def model_only(model_path: Path, precision: str, reps: int = 6):
    """(px/s of the bare model on 512 px windows in memory: median of ``reps`` calls, the warmed model)."""
    from landcover_hpc.models import forward_function, load_model

    model, meta = load_model(model_path, precision=precision)
    forward = forward_function(model)  # the predictor's own inference function
    x = np.random.default_rng(0).random((1, 512, 512, meta.percentiles.shape[1]), dtype=np.float32)
    for _ in range(2):  # the first call traces the function, the second settles oneDNN's primitives
        forward(x).numpy()
    seconds = []
    for _ in range(reps):
        t0 = time.perf_counter()
        forward(x).numpy()
        seconds.append(time.perf_counter() - t0)
    return 512 * 512 / float(np.median(seconds)), (model, meta)


def exactness(work: Path, model_path: Path, size: int, window: int, overlaps: tuple[int, ...]) -> list[tuple]:
    """[(overlap, % of valid px equal to a whole-image pass, computed px per map px of a 10980 px tile)]."""
    import rasterio

    from landcover_hpc.data import PrepareOptions, TileStore, prepare_dataset
    from landcover_hpc.models import forward_function, load_model
    from landcover_hpc.nomenclature import load_nomenclature
    from landcover_hpc.prediction import PredictOptions, plan_windows, predict_tile
    from landcover_hpc.prediction.windows import padded_length
    from landcover_hpc.sampling.transforms import model_input
    from landcover_hpc.synth import SynthOptions, synthesize_tile

    tile = "T30TWT"
    store_path = work / "exact_store" / f"{tile}.h5"
    if not store_path.is_file():
        synthesize_tile(work / "exact_tiles", tile, load_nomenclature(), SynthOptions(size=size, seed=12))
        prepare_dataset(work / "exact_tiles", work / "exact_store", load_nomenclature(),
                        PrepareOptions(patch_size=32, stride=32))
    loaded = load_model(model_path, precision="float32")
    model, meta = loaded
    with TileStore(store_path) as store:
        raw = store.read_window(0, 0, store.height, store.width)
        valid = store.read_valid(0, 0, store.height, store.width)
    pad = padded_length(size) - size
    raw = np.pad(raw, ((0, pad), (0, pad), (0, 0)), mode="edge")
    x = model_input(raw, meta.percentiles, meta.band_names, bool(meta.spectral_indices))
    probs = forward_function(model)(x[None]).numpy()[0][:size, :size]
    whole = np.array([0] + list(meta.class_codes), np.uint8)[np.argmax(probs, -1) + 1]
    del raw, x, probs
    rows = []
    for overlap in overlaps:
        summary = predict_tile(store_path, model_path, work / f"exact_{overlap}",
                               PredictOptions(window=window, overlap=overlap, force=True, quicklook=False),
                               loaded=loaded)
        with rasterio.open(summary["classes"]) as src:
            windowed = src.read(1)
        big = plan_windows(10980, 10980, 512, overlap)
        rows.append((overlap, 100 * float((windowed == whole)[valid].mean()),
                     sum(w.height * w.width for w in big) / 10980**2))
    return rows


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--size", type=int, default=1440)
    p.add_argument("--model", default="demo_output/runs/fgunet/best_model.h5")
    p.add_argument("--work", default=None)
    p.add_argument("--exact-size", type=int, default=768, help="tile of the exactness table (a whole-image pass "
                   "of 768 px needs ~9 GB)")
    p.add_argument("--exact-window", type=int, default=256)
    args = p.parse_args()
    from landcover_hpc.runtime import configure_tensorflow

    threads = configure_tensorflow()
    import tensorflow as tf

    from landcover_hpc.data import PrepareOptions, prepare_dataset
    from landcover_hpc.models import flops_per_pixel
    from landcover_hpc.nomenclature import load_nomenclature
    from landcover_hpc.prediction import PredictOptions, plan_windows, predict_tile
    from landcover_hpc.synth import SynthOptions, synthesize_tile

    work = Path(args.work or tempfile.mkdtemp(prefix="bench_predict_"))
    nomenclature = load_nomenclature()
    tile = "T31UDQ"
    if not (work / "store" / f"{tile}.h5").is_file():
        synthesize_tile(work / "tiles", tile, nomenclature, SynthOptions(size=args.size, seed=11))
        prepare_dataset(work / "tiles", work / "store", nomenclature, PrepareOptions(patch_size=32, stride=32))
    model_path = Path(args.model)
    if not model_path.is_file():
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "prediction"))
        from conftest import train_small_model

        model_path = train_small_model(work / "store", work / "model.h5")
    windows = plan_windows(args.size, args.size)
    computed = sum(w.height * w.width for w in windows) / args.size**2
    peak = matmul_gflops(tf)
    flops = flops_per_pixel("fgunet", 33, 10, 17)
    rows, maps = [], {}
    for precision in ("float32", "bfloat16"):
        bare, loaded = model_only(model_path, precision)
        out = work / f"maps_{precision}"
        # the model loaded and traced once, as `landcover-predict` does for a list of tiles: a full tile's
        # 529 windows amortise the first trace, this small tile's 9 would not
        summary = predict_tile(work / "store" / f"{tile}.h5", model_path, out,
                               PredictOptions(precision=precision, force=True, quicklook=False), loaded=loaded)
        e2e = summary["pixels"] / summary["seconds"]
        maps[precision] = summary["classes"]
        rows.append((precision, bare, bare * flops / 1e9, e2e, e2e * computed / bare, e2e / bare))
    import rasterio

    with rasterio.open(maps["float32"]) as a, rasterio.open(maps["bfloat16"]) as b:
        fa, fb = a.read(1), b.read(1)
    agreement = float((fa == fb)[fa > 0].mean())
    exact = exactness(work, model_path, args.exact_size, args.exact_window, (0, 4, 8, 16, 32))
    print(f"\n`.venv/bin/python benchmarks/bench_predict.py --size {args.size}` ({threads} threads, "
          f"tile {args.size} x {args.size} px, 512 px windows sharing 16 px: {computed:.3f} computed px per tile px; "
          f"a 10980 px tile: {sum(w.height * w.width for w in plan_windows(10980, 10980)) / 10980**2:.3f})\n")
    print(f"float32 matmul peak: {peak:.0f} GFLOP/s; FG-UNET: {flops / 1e6:.2f} MFLOP per pixel\n")
    print("| precision | model-only px/s | model GFLOP/s | end-to-end tile px/s | end-to-end computed px/s / model-only "
          "| end-to-end tile px/s / model-only |")
    print("|---|---|---|---|---|---|")
    for precision, bare, gflops, e2e, pipeline, overall in rows:
        print(f"| {precision} | {bare:,.0f} | {gflops:.0f} ({100 * gflops / peak:.0f} % of peak) | {e2e:,.0f} | "
              f"{100 * pipeline:.0f} % | {100 * overall:.0f} % |")
    full = sum(w.height * w.width for w in plan_windows(10980, 10980)) / 10980**2
    print(f"\nProjected for a 10980 px tile ({full:.3f} computed px per tile px) from the end-to-end computed px/s "
          "above: " + ", ".join(f"{precision} {100 * pipeline / full:.0f} % of model-only in tile px/s"
                                for precision, _, _, _, pipeline, _ in rows))
    print(f"\nbfloat16 vs float32 maps: {100 * agreement:.2f} % of valid pixels agree (model {model_path})")
    print(f"\nExactness: float32 maps of a {args.exact_size} px tile with {args.exact_window} px windows vs one "
          "whole-image pass\n")
    print("| overlap (px shared by neighbours) | kept px >= ... px from a window border | equal to the whole-image "
          "pass | computed px per map px, 10980 px tile, 512 px windows |")
    print("|---|---|---|---|")
    for overlap, equal, factor in exact:
        print(f"| {overlap} | {overlap // 2} | {equal:.3f} % | {factor:.3f} |")


if __name__ == "__main__":
    main()
