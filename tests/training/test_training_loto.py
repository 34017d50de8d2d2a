"""Leave-one-tile-out of a network (paper 5.3): each fold trains on the other tiles only."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from landcover_hpc.data import TileStore
from landcover_hpc.models import load_model

from test_training_distributed import clean_env  # noqa: E402 - the test folder is on sys.path


@pytest.fixture(scope="module")
def loto_store(tmp_path_factory, synth_root, nomenclature):
    """Stores in which one 160 px tile alone has validation positions: 16 px patches, 20 % validation."""
    from landcover_hpc.data import PrepareOptions, prepare_dataset

    out = tmp_path_factory.mktemp("loto_store")
    prepare_dataset(synth_root, out, nomenclature, PrepareOptions(patch_size=16, stride=4, val_fraction=0.2))
    return out


@pytest.mark.slow
def test_each_fold_trains_and_normalises_on_the_other_tiles_only(tmp_path, loto_store):
    train_store = loto_store
    out = subprocess.run(
        [sys.executable, "-m", "landcover_hpc.cli.train", "--config", str(Path("configs") / "demo.yaml"),
         "--loto", str(tmp_path), f"data.store={train_store}", "model.name=mlp", "training.epochs=1",
         "training.batches_per_epoch=1", "training.batch_size=2", "training.validation_batches=1"],
        capture_output=True, text=True, env=clean_env(), timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    tiles = sorted(p.stem for p in train_store.glob("*.h5"))
    assert len(tiles) == 2
    for held_out in tiles:
        (trained_on,) = [t for t in tiles if t != held_out]
        _, meta = load_model(tmp_path / f"without_{held_out}" / "run" / "best_model.h5")
        with TileStore(train_store / f"{trained_on}.h5") as store:
            np.testing.assert_allclose(meta.percentiles, store.percentiles)  # the held-out tile shaped nothing
        result = json.loads((tmp_path / "eval" / f"{held_out}_eval.json").read_text())
        assert result["tile"] == held_out and result["method"] == "MLP leave-one-tile-out"
        assert f"{held_out} held out: kappa" in out.stdout
