"""Cost of a patch classifier's map (prediction/patches.py) next to FG-UNET's dense map, on the same tile, in one run.

    .venv/bin/python benchmarks/bench_patch_map.py [--size 256] [--strides 8 16] [--models res_ensemble4 st_resnet]

Synthesises and prepares one tile of ``--size`` px (33 dates x 10 bands, 17 classes, 32 px patches as the demo),
saves FG-UNET and each patch model untrained (the cost does not depend on the weights) with the store's
percentiles, and maps the tile with ``predict_tile`` (``landcover-predict``'s library call: read, normalise,
classify, write) once per model and patch stride, after one warm-up map. Prints a Markdown table of tile px/s
and the slowdown against FG-UNET.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--strides", type=int, nargs="+", default=[8, 16])
    p.add_argument("--models", nargs="+", default=["res_ensemble4", "res_ensemble8", "st_resnet", "re_resnet"])
    p.add_argument("--work", default=None)
    args = p.parse_args()
    from landcover_hpc.runtime import configure_tensorflow

    threads = configure_tensorflow()
    from landcover_hpc.data import PrepareOptions, TileStore, prepare_dataset
    from landcover_hpc.data.prepare import dataset_percentiles
    from landcover_hpc.data import open_stores
    from landcover_hpc.models import ModelMetadata, get_model, load_model, save_model
    from landcover_hpc.nomenclature import load_nomenclature
    from landcover_hpc.prediction import PredictOptions, predict_tile
    from landcover_hpc.synth import SynthOptions, synthesize_tile

    work = Path(args.work or tempfile.mkdtemp(prefix="bench_patch_map_"))
    nomenclature, tile = load_nomenclature(), "T31UDQ"
    store_path = work / "store" / f"{tile}.h5"
    if not store_path.is_file():
        synthesize_tile(work / "tiles", tile, nomenclature, SynthOptions(size=args.size, seed=11))
        prepare_dataset(work / "tiles", work / "store", nomenclature, PrepareOptions(patch_size=32, stride=32))
    stores = open_stores(work / "store")
    percentiles = dataset_percentiles(stores)
    with TileStore(store_path) as store:
        sizes = (store.n_dates, store.n_bands, len(store.class_codes))
        meta = ModelMetadata(band_names=store.bands, class_codes=store.class_codes, percentiles=percentiles,
                             nomenclature=store.nomenclature.to_dict(), dates=store.dates)
    for s in stores:
        s.close()

    rows = []
    for name in ["fgunet", *args.models]:
        options = {} if name == "fgunet" else {"patch_size": 32}
        path = work / f"{name}.h5"
        save_model(path, get_model(name, *sizes, **options), meta)
        loaded = load_model(path)
        for stride in ([8] if name == "fgunet" else args.strides):
            predict = PredictOptions(force=True, quicklook=False, patch_stride=stride)
            predict_tile(store_path, path, work / "warmup", predict, loaded=loaded)  # traces the forward pass
            summary = predict_tile(store_path, path, work / f"maps_{name}_{stride}", predict, loaded=loaded)
            rows.append((name, "dense" if name == "fgunet" else f"{stride} px",
                         loaded[0].count_params(), summary["pixels"] / summary["seconds"]))
    print(f"\n`.venv/bin/python benchmarks/bench_patch_map.py --size {args.size}` ({threads} threads, tile "
          f"{args.size} x {args.size} px, T={sizes[0]}, C={sizes[1]}, K={sizes[2]}, 32 px patches, 512 px windows)\n")
    print("| model | patch stride | parameters | tile px/s | time vs FG-UNET |")
    print("|---|---|---|---|---|")
    reference = rows[0][3]
    for name, stride, parameters, rate in rows:
        print(f"| {name} | {stride} | {parameters:,} | {rate:,.0f} | {reference / rate:.1f}x |")


if __name__ == "__main__":
    main()
