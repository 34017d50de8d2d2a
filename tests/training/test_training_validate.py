"""The per-epoch validation scores the model's own predictions, whatever the batch shapes."""

import numpy as np
import pytest
import tensorflow as tf

from landcover_hpc.evaluation.metrics import confusion_matrix, scores_from_confusion
from landcover_hpc.models import get_model
from landcover_hpc.sampling.prior import reweigh
from landcover_hpc.training.trainer import validate

K = 5


@pytest.mark.parametrize("precision", ["float32", "bfloat16"])
def test_validate_scores_what_predict_on_batch_predicts(precision):
    tf.keras.utils.set_random_seed(0)
    model = get_model("fgunet", 6, 4, K, n_groups=3, dropout=0.0, precision=precision)
    rng = np.random.default_rng(0)
    # windows of two sizes, as a tile's covering windows and another tile's; class 0 is not scored
    batches = [(rng.random((b, s, s, 24), np.float32), rng.integers(0, K + 1, (b, s, s)).astype(np.uint8), None)
               for b, s in ((4, 8), (4, 8), (2, 12))]
    weights = rng.uniform(0.5, 2.0, K)
    settings = {"none": None, "global": lambda tile: weights}

    scores = validate(model, iter(batches), K, comm=None, settings=settings)

    for setting, weigh in settings.items():
        cm = np.zeros((K, K), np.int64)
        for x, y, tile in batches:
            p = np.asarray(model.predict_on_batch(x), np.float32)
            p = p if weigh is None else reweigh(p, weigh(tile))
            cm += confusion_matrix(y, np.argmax(p, axis=-1) + 1, K)
        expected = scores_from_confusion(cm)
        assert scores[setting] == (expected["overall_accuracy"], expected["kappa"])
    assert scores["none"] != scores["global"]  # the reweighing changed the map: the comparison above has teeth


def test_validate_scores_each_half_of_the_tiles_apart():
    """With ``halves``, each setting is also scored on the pixels of each half of the tiles: the two halves'
    confusion matrices, by hand, give their kappas, and the whole is what it is without halves."""
    from types import SimpleNamespace

    tf.keras.utils.set_random_seed(0)
    model = get_model("mlp", 6, 4, K, n_groups=3, dropout=0.0)
    rng = np.random.default_rng(1)
    tiles = {name: SimpleNamespace(tile_id=name) for name in ("T1", "T2", "T3")}
    batches = [(rng.random((2, 8, 8, 24), np.float32), rng.integers(0, K + 1, (2, 8, 8)).astype(np.uint8), tiles[t])
               for t in ("T1", "T2", "T3", "T1")]
    halves = {"T1": 0, "T2": 1, "T3": 0}
    settings = {"none": None, "global": lambda tile: np.linspace(0.5, 2.0, K)}

    scores = validate(model, iter(batches), K, comm=None, settings=settings, halves=halves)

    assert {k: v for k, v in scores.items() if "_half" not in k} == validate(model, iter(batches), K, None, settings)
    for setting, weigh in settings.items():
        for h in (0, 1):
            cm = np.zeros((K, K), np.int64)
            for x, y, tile in batches:
                if halves[tile.tile_id] == h:
                    p = np.asarray(model.predict_on_batch(x), np.float32)
                    p = p if weigh is None else reweigh(p, weigh(tile))
                    cm += confusion_matrix(y, np.argmax(p, axis=-1) + 1, K)
            expected = scores_from_confusion(cm)
            assert scores[f"{setting}_half{h}"] == pytest.approx((expected["overall_accuracy"], expected["kappa"]))
    assert scores["none_half0"] != scores["none_half1"]
