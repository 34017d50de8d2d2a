"""benchmarks/fgunet_branches.py: how much each FG-UNET branch moves the logits; the maps' isolated pixels."""

from pathlib import Path

import numpy as np
import pytest
from benchmark_scripts import load
from store_metadata import stores_metadata


@pytest.fixture(scope="module")
def branches():
    return load("fgunet_branches")


def _save(path, name, store_dir, silence=None):
    import tensorflow as tf

    from landcover_hpc.data import open_stores
    from landcover_hpc.models import get_model, save_model

    stores = open_stores(store_dir)
    meta = stores_metadata(stores)
    tf.keras.utils.set_random_seed(0)  # the same weights in every file but the silenced layer's
    model = get_model(name, stores[0].n_dates, stores[0].n_bands, len(stores[0].class_codes),
                      n_groups=3)
    for s in stores:
        s.close()
    if silence:  # the layer's ReLUs never fire (unet_up0_b: a dead context branch)
        layer = model.get_layer("group_body").get_layer(silence)
        kernel, bias = layer.get_weights()
        layer.set_weights([np.zeros_like(kernel), np.full_like(bias, -1.0)])
    save_model(path, model, meta)
    return path


def test_a_dead_context_branch_moves_no_logit(branches, store_dir, tmp_path):
    from landcover_hpc.data.store import TileStore

    store = TileStore(Path(store_dir) / "T31UDQ.h5")
    alive = branches.branch_contributions(_save(tmp_path / "alive.h5", "fgunet", store_dir), store, 64)
    dead_model = _save(tmp_path / "dead.h5", "fgunet", store_dir, silence="unet_up0_b")
    dead = branches.branch_contributions(dead_model, store, 64)
    assert alive["groups"] == dead["groups"] == 3
    assert dead["unet"] == {"channels": 96, "dead": 96, "logit_sd": 0.0, "first_channels": 96,
                            "first_dead": alive["unet"]["first_dead"]}
    assert alive["unet"]["logit_sd"] > 0 and alive["unet"]["dead"] < 96
    assert alive["unet"]["first_dead"] < 96 and alive["pointwise"]["first_channels"] == 600
    first_dead = branches.branch_contributions(_save(tmp_path / "first.h5", "fgunet", store_dir,
                                                     silence="unet_down0_a"), store, 64)
    assert first_dead["unet"]["first_dead"] == 96 and first_dead["pointwise"] == alive["pointwise"]
    assert dead["pointwise"]["channels"] == 150 and dead["pointwise"]["logit_sd"] > 0  # per-pixel: moves
    with pytest.raises(SystemExit, match="not an FG-UNET model file"):
        branches.branch_contributions(_save(tmp_path / "mlp.h5", "mlp", store_dir), store, 64)
    store.close()


def test_isolated_pixels_are_those_unlike_all_four_neighbours(branches):
    checkerboard = np.indices((6, 6)).sum(axis=0) % 2
    assert branches.isolated_share(checkerboard) == (1.0, 16)
    flat = np.zeros((6, 6), np.uint8)
    assert branches.isolated_share(flat) == (0.0, 0)
    flat[2, 3] = 5  # one odd pixel inside; one on the border, which has no 4 neighbours, is not counted
    flat[0, 0] = 5
    assert branches.isolated_share(flat) == (1 / 16, 1)
