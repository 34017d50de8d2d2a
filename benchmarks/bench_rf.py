"""Benchmark of the Random Forest baseline on the demo tiles: training and prediction time, px/s.

Phases, each timed once (wall clock, all cores, ``n_jobs=-1``):

- sample: drawing the training pixels (per-class cap over all tiles) from the stores;
- fit: fitting the forest (paper parameters: 100 trees, depth 20, min 10 samples per node);
- save / load: writing and validating the safe HDF5 model file;
- predict: the whole map of every tile (read, numpy tree traversal, majority vote, GeoTIFF writing,
  COG finalisation; no quicklook), in px/s of map;
- traversal only: ``ForestModel.predict_proba`` on one tile's pixels, and scikit-learn's
  ``predict_proba`` on the same pixels for reference.

Usage::

    .venv/bin/python benchmarks/bench_rf.py --store demo_output/store [--keep DIR] [--trees 100]

``--keep DIR`` keeps the model (DIR/rf.h5) and maps (DIR/maps) for evaluation.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--store", default="demo_output/store")
    p.add_argument("--keep", default=None, help="folder to keep the model and maps in")
    p.add_argument("--trees", type=int, default=100)
    p.add_argument("--per-class", type=int, default=10_000)
    args = p.parse_args(argv)

    from landcover_hpc.baseline import ForestParams, RFPredictOptions, fit_forest, load_forest, save_forest
    from landcover_hpc.baseline.predict import predict_tile_rf
    from landcover_hpc.baseline.samples import sample_training_pixels
    from landcover_hpc.data.store import open_stores

    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench_rf_"))
    work.mkdir(parents=True, exist_ok=True)
    stores = open_stores(args.store)
    tiles = [s.tile_id for s in stores]
    rows = []
    t0 = time.perf_counter()
    pixels = sample_training_pixels(stores, args.per_class, seed=0)
    t_sample = time.perf_counter() - t0
    first = stores[0]
    meta = {"bands": list(first.bands), "dates": list(first.dates), "tiles": tiles,
            "nomenclature": first.nomenclature.to_dict()}
    params = ForestParams(n_trees=args.trees)
    t0 = time.perf_counter()
    model, forest = fit_forest(pixels.features, pixels.codes, params, meta)
    t_fit = time.perf_counter() - t0
    n_train = len(pixels.codes)
    rows.append(("sample training pixels", f"{n_train} px, {len(tiles)} tiles", t_sample, n_train / t_sample))
    rows.append((f"fit ({args.trees} trees, depth 20, min split 10)", f"{n_train} px x {pixels.features.shape[1]} "
                 f"features, {len(model.feature)} nodes", t_fit, n_train / t_fit))
    model_path = work / "rf.h5"
    t0 = time.perf_counter()
    save_forest(model, model_path)
    t_save = time.perf_counter() - t0
    t0 = time.perf_counter()
    model = load_forest(model_path)
    t_load = time.perf_counter() - t0
    rows.append(("save + load model", f"{model_path.stat().st_size / 2**20:.1f} MiB", t_save + t_load, float("nan")))

    x = first.read_window(0, 0, first.height, first.width).reshape(-1, first.n_channels)
    t0 = time.perf_counter()
    ours = model.predict_proba(x)
    t_ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    theirs = forest.predict_proba(x)
    t_sk = time.perf_counter() - t0
    same = bool(np.array_equal(np.argmax(ours, 1), np.argmax(theirs, 1)))
    rows.append(("predict_proba, numpy traversal (1 tile)", f"{len(x)} px", t_ours, len(x) / t_ours))
    rows.append(("predict_proba, scikit-learn (1 tile)", f"{len(x)} px, same classes: {same}", t_sk, len(x) / t_sk))
    for s in stores:
        s.close()

    options = RFPredictOptions(quicklook=False, force=True)
    t0 = time.perf_counter()
    n_px = 0
    for tile in tiles:
        summary = predict_tile_rf(model, model_path, Path(args.store) / f"{tile}.h5", work / "maps", options)
        n_px += summary["pixels"]
    t_pred = time.perf_counter() - t0
    rows.append(("predict maps (window 512, majority vote r=1)", f"{n_px} px, {len(tiles)} tiles", t_pred,
                 n_px / t_pred))

    print(f"Random Forest baseline, {len(tiles)} tiles of {first.height}x{first.width} px, "
          f"{first.n_dates} dates x {first.n_bands} bands, {os.cpu_count()} cores")
    print()
    print("| phase | size | seconds | px/s |")
    print("|---|---|---|---|")
    for name, size, seconds, rate in rows:
        print(f"| {name} | {size} | {seconds:.2f} | {'-' if np.isnan(rate) else f'{rate:,.0f}'} |")
    print()
    print("command: " + " ".join(shlex.quote(a) for a in [sys.executable, *sys.argv]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
