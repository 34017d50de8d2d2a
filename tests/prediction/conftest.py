"""A small trained FG-UNET on the test stores, shared by the prediction tests."""

from pathlib import Path

import numpy as np
import pytest
from store_metadata import stores_metadata


def train_small_model(store_dir: Path, out: Path, steps: int = 40, seed: int = 0) -> Path:
    """FG-UNET trained for a few steps on 32 x 32 patches of the stores' training labels."""
    import tensorflow as tf

    from landcover_hpc.data import open_stores
    from landcover_hpc.data.prepare import dataset_percentiles
    from landcover_hpc.models import WeightedSparseCrossEntropy, class_weights, get_model, save_model
    from landcover_hpc.sampling.transforms import normalise

    tf.keras.utils.set_random_seed(seed)
    stores = open_stores(store_dir)
    percentiles = dataset_percentiles(stores)
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for store in stores:
        labels = store.read_labels("train")
        for _ in range(24):
            r, c = rng.integers(0, store.height - 32, 2) // 4 * 4
            xs.append(normalise(store.read_window(r, c, 32, 32), percentiles))
            ys.append(labels[r:r + 32, c:c + 32])
    counts = np.sum([s.class_counts("train") for s in stores], axis=0)
    model = get_model("fgunet", stores[0].n_dates, stores[0].n_bands, len(stores[0].class_codes))
    model.compile(optimizer=tf.keras.optimizers.Adam(2e-3), loss=WeightedSparseCrossEntropy(class_weights(counts)))
    x, y = np.stack(xs), np.stack(ys)
    for step in range(steps):
        batch = rng.choice(len(x), 8, replace=False)
        model.train_on_batch(x[batch], y[batch])
    meta = stores_metadata(stores, percentiles=percentiles)
    for s in stores:
        s.close()
    save_model(out, model, meta)
    return out


@pytest.fixture(scope="session")
def trained_model(tmp_path_factory, store_dir):
    return train_small_model(store_dir, tmp_path_factory.mktemp("model") / "fgunet.h5")
