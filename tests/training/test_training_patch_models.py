"""A patch classifier (res_ensemble4) through the real commands: one short epoch under ``mpirun -n 2`` of
``landcover-train``, then ``landcover-predict`` maps it with the patch adapter, window by window, to the map
of one sliding pass over the whole tile."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio

from test_training_distributed import MPIRUN, run  # noqa: E402 - the test folder is on sys.path

TILE = "T31UDQ"


@pytest.mark.slow
def test_res_ensemble4_trains_under_mpirun_and_maps_with_the_patch_adapter(tmp_path, train_store):
    from landcover_hpc.data.store import TileStore
    from landcover_hpc.models import load_model
    from landcover_hpc.prediction.patches import PatchClassifier
    from landcover_hpc.prediction.produce import read_padded
    from landcover_hpc.prediction.windows import PredictionWindow

    run_dir = tmp_path / "run"
    out = run(MPIRUN + ["-n", "2", sys.executable, "-m", "landcover_hpc.cli.train", "--config",
                        str(Path("configs") / "res_ensemble4.yaml"), f"data.store={train_store}", "training.epochs=1",
                        "training.batches_per_epoch=1", "training.batch_size=2", "training.validation_batches=1",
                        "threads=1", f"output.run_dir={run_dir}"])
    assert "training res_ensemble4 (2060740 parameters)" in out.stderr  # T=33, C=10, K=17 as the demo
    model, meta = load_model(run_dir / "best_model.h5")
    assert meta.spec.options == {"date_indices": [4, 12, 20, 28], "patch_size": 32}

    maps = tmp_path / "maps"
    run([sys.executable, "-m", "landcover_hpc.cli.predict", "--store", str(train_store), "--model",
         str(run_dir / "best_model.h5"), "--tile", TILE, "--out", str(maps), "--window", "64", "quicklook=false"])
    with rasterio.open(maps / f"{TILE}_classes.tif") as src:
        classes, tags = src.read(1), src.tags()
    assert (tags["architecture"], tags["patch_size"], tags["patch_stride"], tags["overlap"]) == \
        ("res_ensemble4", "32", "8", "40")  # the overlap raised from 16 to what 32 px patches need

    with TileStore(train_store / f"{TILE}.h5") as store:  # one pass over the whole tile
        stack, valid = read_padded(store, PredictionWindow(0, 0, 0, store.height, store.width, 0, 0, store.height,
                                                           store.width))
    classifier = PatchClassifier(model, meta, stride=8)
    whole, _ = classifier.classify(classifier.prepare(stack, valid, 0))
    np.testing.assert_array_equal(classes, whole)  # 64 px windows sharing 40 px: step 24 on the 8 px block grid
    assert set(np.unique(classes[valid])) <= set(meta.class_codes)
