import numpy as np
import pytest
from sklearn.metrics import accuracy_score, cohen_kappa_score

from landcover_hpc.models import CohenKappa, LabelledAccuracy


def _batches(rng, n_batches=3, n_classes=4):
    for _ in range(n_batches):
        labels = rng.integers(0, n_classes + 1, size=(2, 8, 8))
        probabilities = rng.random((2, 8, 8, n_classes))
        # Agree with the reference on half the pixels so that kappa is far from 0.
        agree = rng.random((2, 8, 8)) < 0.5
        probabilities[agree & (labels > 0), :] = 0.0
        idx = np.nonzero(agree & (labels > 0))
        probabilities[idx + (labels[idx] - 1,)] = 1.0
        yield labels, probabilities.astype(np.float32)


def test_models_kappa_and_accuracy_match_sklearn_over_an_epoch(rng):
    kappa, accuracy = CohenKappa(4), LabelledAccuracy(4)
    references, predictions = [], []
    for labels, probabilities in _batches(rng):
        kappa.update_state(labels, probabilities)
        accuracy.update_state(labels, probabilities)
        labelled = labels > 0
        references.append(labels[labelled])
        predictions.append(probabilities.argmax(-1)[labelled] + 1)
    reference, predicted = np.concatenate(references), np.concatenate(predictions)
    expected = cohen_kappa_score(reference, predicted)
    assert 0.3 < expected < 0.9
    assert float(kappa.result()) == pytest.approx(expected, abs=1e-6)
    assert float(accuracy.result()) == pytest.approx(accuracy_score(reference, predicted), abs=1e-6)


def test_models_metrics_ignore_unlabelled_and_reset(rng):
    kappa = CohenKappa(3)
    labels = np.array([[[0, 0, 1, 2]]])
    probabilities = np.eye(3, dtype=np.float32)[[[[2, 2, 0, 1]]]]  # wrong only on unlabelled pixels
    kappa.update_state(labels, probabilities)
    assert float(kappa.result()) == pytest.approx(1.0)
    np.testing.assert_array_equal(kappa.confusion_matrix.numpy(), [[1, 0, 0], [0, 1, 0], [0, 0, 0]])
    kappa.reset_state()
    assert float(kappa.result()) == 0.0
