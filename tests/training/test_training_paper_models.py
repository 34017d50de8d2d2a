"""The models of the other papers (unet_convlstm, the Wenger U-Nets, TWINNS; Sentinel-2 only and Sentinel-1 +
Sentinel-2: the synthetic tiles carry a stack_s1.tif) train one short epoch under ``mpirun -n 2`` with
``landcover-train`` and map a tile with ``landcover-predict``, on the tiny Sentinel-1 stores (80 px tiles, 4 S2
dates, 3 S1 dates, 16 px patches). The ResNets: test_training_patch_models.py."""

import sys

import numpy as np
import pytest
import rasterio

from landcover_hpc.models import load_model

from test_training_distributed import MPIRUN, run  # noqa: E402 - the test folder is on sys.path

MODELS = {
    "unet_convlstm": [],
    "convlstm_unet_s2": ["model.dates=[3, 2, 1, 0]"],
    "convlstm_inception_unet_s2": [],
    "twinns_s2": ["model.options={filters_s2: 4, fusion_units: 8}"],  # the paper's widths: README, training cost
    "convlstm_unet_s1s2": [],
    "convlstm_inception_unet_s1s2": ["model.dates=[3, 2, 1, 0]"],
    "twinns": ["model.options={filters_s2: 4, filters_s1: 4, fusion_units: 8}"],
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(MODELS))
def test_paper_model_trains_under_mpirun_and_maps_a_tile(name, tmp_path, s1_store):
    run_dir = tmp_path / "run"
    run(MPIRUN + ["-n", "2", sys.executable, "-m", "landcover_hpc.cli.train", "--config", "configs/demo.yaml",
                  f"data.store={s1_store}", f"model.name={name}", "model.precision=float32", "training.epochs=1",
                  "training.batches_per_epoch=1", "training.batch_size=2", "training.validation=patches",
                  "training.validation_batches=1", "threads=1", f"output.run_dir={run_dir}", *MODELS[name]])
    model, metadata = load_model(run_dir / "final_model.h5")
    assert metadata.spec.architecture == name
    if name.startswith("convlstm"):  # the dates chosen for training are the model's, in its file
        assert len(metadata.spec.options["date_indices"]) == 4
    if name in ("convlstm_unet_s2", "convlstm_inception_unet_s1s2"):
        assert metadata.spec.options["date_indices"] == [3, 2, 1, 0]
    if name.endswith("s1s2") or name == "twinns":  # Sentinel-1 models: the tiles' S1 dates are in the model file
        assert metadata.spec.n_s1_dates == len(metadata.s1_dates) > 0
        assert model.input_shape[-1] == 4 * 10 + 2 * len(metadata.s1_dates)
        if name.startswith("convlstm"):  # the S1 date closest to each chosen S2 date
            assert len(metadata.spec.options["s1_date_indices"]) == 4
    run([sys.executable, "-m", "landcover_hpc.cli.predict", "--store", str(s1_store), "--model",
         str(run_dir / "final_model.h5"), "--out", str(tmp_path / "maps"), "--tiles", "T31UDQ", "--window", "80",
         "--overlap", "16", "--threads", "2", "--no-quicklook"])
    with rasterio.open(tmp_path / "maps" / "T31UDQ_classes.tif") as src:
        classes = src.read(1)
    assert classes.shape == (80, 80)
    assert np.isin(np.unique(classes), [0, *metadata.class_codes]).all()
