"""Reference maps of both predictors (CNN and Random Forest) on a small deterministic store.

The reference arrays in ``data/reference_maps.npz`` were made by the two map producers before they were
merged into one driver (commit 1990851): ``test_prediction_reference_maps.py`` checks that the maps made
today are equal to them pixel for pixel. Everything here is deterministic: a 66 px synthetic tile (not a
multiple of 4, so the last windows are edge-padded), an FG-UNET with seeded initial weights, its last layer
scaled up for confident, varied probabilities (no training: training on CPU threads need not be
bit-reproducible), and a 5-tree forest with a fixed seed.

Regenerate (only when the maps are meant to change) with::

    PYTHONPATH=. python tests/prediction/reference_maps.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parents[1]))  # tests/, also when run as a script
from store_metadata import stores_metadata  # noqa: E402

TILE = "T31UDQ"
SIZE = 66
N_DATES = 11
CNN_WINDOW, CNN_OVERLAP = 32, 8
RF_WINDOW, RF_RADIUS = 32, 1
REFERENCE = Path(__file__).parent / "data" / "reference_maps.npz"


def build_store(root: Path, comm=None) -> Path:
    """A prepared store of one 66 x 66 px synthetic tile with 11 dates; returns the store folder.

    Under MPI every rank of ``comm`` calls it (preparation is collective); rank 0 synthesises the tile."""
    from landcover_hpc.data import PrepareOptions, prepare_dataset
    from landcover_hpc.nomenclature import load_nomenclature
    from landcover_hpc.synth import SynthOptions, synthesize_tile

    nomenclature = load_nomenclature()
    if comm is None or comm.Get_rank() == 0:
        synthesize_tile(root / "in", TILE, nomenclature, SynthOptions(size=SIZE, n_dates=N_DATES, seed=5))
    if comm is not None:
        comm.Barrier()
    prepare_dataset(root / "in", root / "store", nomenclature, PrepareOptions(patch_size=16, stride=8))
    return root / "store"


def build_cnn(store_dir: Path, path: Path) -> Path:
    """An untrained FG-UNET (seeded weights, last layer scaled up) with the store's percentiles, at ``path``."""
    import tensorflow as tf

    from landcover_hpc.data import open_stores
    from landcover_hpc.models import get_model, save_model

    stores = open_stores(store_dir)
    try:
        store = stores[0]
        tf.keras.utils.set_random_seed(7)
        # uncentred inputs, the network the reference was made with (before input centring became the default)
        model = get_model("fgunet", store.n_dates, store.n_bands, len(store.class_codes), centre_input=False)
        last = [layer for layer in model.layers if layer.get_weights()][-1]
        last.set_weights([w * 40 for w in last.get_weights()])  # confident, varied probabilities
        meta = stores_metadata(stores)
    finally:
        for s in stores:
            s.close()
    save_model(path, model, meta)
    return path


def build_forest(store_dir: Path, path: Path) -> Path:
    """A 5-tree forest (seed 0, one thread) on at most 200 pixels per class, saved at ``path``."""
    from landcover_hpc.baseline import train_rf
    from landcover_hpc.baseline.forest import ForestParams

    train_rf(store_dir, path, params=ForestParams(n_trees=5, max_depth=8, seed=0, n_jobs=1), per_class=200)
    return path


def read_map(path) -> np.ndarray:
    import rasterio

    with rasterio.open(path) as src:
        return src.read(1)


def cnn_maps(store_dir: Path, model: Path, out: Path, comm=None) -> dict[str, np.ndarray]:
    from landcover_hpc.prediction import PredictOptions, predict_tile

    summary = predict_tile(store_dir / f"{TILE}.h5", model, out,
                           PredictOptions(window=CNN_WINDOW, overlap=CNN_OVERLAP, quicklook=False), comm=comm)
    if "classes" not in summary or summary.get("skipped") or comm is not None and comm.Get_rank() != 0:
        return {}
    return {"cnn_classes": read_map(summary["classes"]), "cnn_confidence": read_map(summary["confidence"])}


def forest_maps(store_dir: Path, model: Path, out: Path) -> dict[str, np.ndarray]:
    from landcover_hpc.baseline import RFPredictOptions, predict_stores_rf

    summaries = predict_stores_rf(model, store_dir, out, [TILE],
                                  RFPredictOptions(window=RF_WINDOW, radius=RF_RADIUS, n_jobs=1, quicklook=False),
                                  split_index=0, num_splits=1)
    return {"rf_classes": read_map(summaries[0]["classes"]), "rf_confidence": read_map(summaries[0]["confidence"])}


def main() -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        store_dir = build_store(root)
        maps = {**cnn_maps(store_dir, build_cnn(store_dir, root / "cnn.h5"), root / "cnn"),
                **forest_maps(store_dir, build_forest(store_dir, root / "rf.h5"), root / "rf")}
    REFERENCE.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(REFERENCE, **maps)
    print(REFERENCE, {k: (v.shape, np.unique(v).size) for k, v in maps.items()})


if __name__ == "__main__":
    main()
