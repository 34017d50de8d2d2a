"""A Sentinel-1 model end to end, with a tiny test-only model registered in the test processes only: one short
epoch on 2 Horovod ranks under mpirun (the sampler feeds S2 + S1 channels), the S1 dates and percentiles in
the model file, and landcover-predict on 2 ranks makes the map the model gives on the tile's S2 + S1 input."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio

from landcover_hpc.parallel import launch_environment

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
import s1_model  # noqa: E402  (the test-only model, beside this file)

MPIRUN = ["mpirun", "--oversubscribe", "--allow-run-as-root", "--bind-to", "none", "-n", "2"]


@pytest.fixture
def registered(monkeypatch):
    s1_model.register(monkeypatch.setattr, monkeypatch.setitem)


def run(args):
    env = launch_environment()
    env.update(TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1",
               PYTHONPATH=f"{Path(__file__).parents[2]}:{env.get('PYTHONPATH', '')}")
    out = subprocess.run(MPIRUN + [sys.executable, str(HERE / "s1_model.py"), *args], capture_output=True, text=True,
                         env=env, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return out


@pytest.mark.slow
def test_s1_model_trains_on_2_ranks_and_maps_a_tile_with_s1(tmp_path, s1_store, registered):
    from landcover_hpc.data import TileStore
    from landcover_hpc.models import load_model
    from landcover_hpc.sampling.transforms import model_input

    run_dir = tmp_path / "run"
    run(["train", "--config", "configs/demo.yaml", f"data.store={s1_store}", f"model.name={s1_model.NAME}",
         "model.precision=float32", "training.epochs=1", "training.batches_per_epoch=2", "training.batch_size=2",
         "training.validation_batches=1", f"output.run_dir={run_dir}", ":::",
         "predict", "--tiles", "T31UDQ", "--store", str(s1_store), "--model", str(run_dir / "final_model.h5"),
         "--out", str(tmp_path / "maps"), "--window", "32", "--overlap", "8", "--no-quicklook"])
    dataset = json.loads((s1_store / "dataset.json").read_text())
    model, meta = load_model(run_dir / "final_model.h5")
    T1 = len(dataset["s1_dates"])
    assert T1 == 3 and meta.spec.n_s1_dates == T1 and list(meta.s1_dates) == dataset["s1_dates"]
    np.testing.assert_allclose(meta.s1_percentiles, dataset["s1_percentiles"])
    assert model.input_shape[-1] == 4 * 10 + 2 * T1

    with rasterio.open(tmp_path / "maps" / "T31UDQ_classes.tif") as src:
        classes = src.read(1)
    with TileStore(s1_store / "T31UDQ.h5") as store:
        raw = np.concatenate([store.read_window(0, 0, 80, 80), store.read_s1_window(0, 0, 80, 80)], axis=-1)
        codes = np.asarray(store.class_codes)
    x = model_input(raw, meta.percentiles, meta.band_names, False, s1_percentiles=meta.s1_percentiles)
    expected = codes[np.argmax(model.predict(x[None], verbose=0)[0], axis=-1)]
    assert np.mean(classes == expected) > 0.999  # a per-pixel model: the windows do not matter
    raw[..., -2 * T1:] = 0  # the map depends on the S1 channels
    blind = codes[np.argmax(model.predict(model_input(raw, meta.percentiles, meta.band_names, False,
                                                      s1_percentiles=meta.s1_percentiles)[None], verbose=0)[0], -1)]
    assert not np.array_equal(blind, expected)
