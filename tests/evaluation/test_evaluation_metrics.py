"""Metrics agree with scikit-learn on the same pixels."""

import numpy as np
from sklearn.metrics import accuracy_score, cohen_kappa_score, confusion_matrix as sk_confusion
from sklearn.metrics import precision_recall_fscore_support

from landcover_hpc.evaluation import confusion_matrix, scores_from_confusion


def test_scores_match_scikit_learn():
    rng = np.random.default_rng(0)
    k = 7
    ref = rng.integers(1, k, 5000)  # class 7 never in the reference
    pred = np.where(rng.random(5000) < 0.7, ref, rng.integers(1, k + 1, 5000))
    pred[pred == 3] = 4  # class 3 never predicted
    cm = confusion_matrix(ref, pred, k)
    s = scores_from_confusion(cm)
    labels = list(range(1, k + 1))
    assert np.array_equal(cm, sk_confusion(ref, pred, labels=labels))
    assert np.isclose(s["overall_accuracy"], accuracy_score(ref, pred), rtol=0, atol=1e-12)
    assert np.isclose(s["kappa"], cohen_kappa_score(ref, pred), rtol=0, atol=1e-12)
    p, r, f, support = precision_recall_fscore_support(ref, pred, labels=labels, zero_division=0)
    assert np.allclose(s["precision"], p, atol=1e-12) and np.allclose(s["recall"], r, atol=1e-12)
    assert np.allclose(s["f_score"], f, atol=1e-12) and s["support"] == support.tolist()
    assert s["precision"][2] == 0.0 and s["recall"][6] == 0.0


def test_unlabelled_and_nodata_are_not_counted():
    cm = confusion_matrix(np.array([0, 1, 2, 2, 1]), np.array([1, 1, 0, 2, 2]), 3)
    assert cm.sum() == 3 and cm[0, 0] == 1 and cm[1, 1] == 1 and cm[0, 1] == 1
    s = scores_from_confusion(cm)
    assert s["precision"][2] is None and s["f_score"][2] is None  # class 3 absent from both
