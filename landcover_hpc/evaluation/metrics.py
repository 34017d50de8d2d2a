"""Accuracy metrics from a confusion matrix (paper 4.3): overall accuracy, Cohen's kappa, per-class
precision, recall and F-score.

Conventions (those of scikit-learn with ``zero_division=0`` on the classes present): rows are the
reference, columns the map; a class never predicted has precision 0, a class absent from the reference
has recall 0, and F = 0 when precision + recall = 0. Classes absent from both are reported with
``support = predicted = 0`` and null scores, and are left out of macro averages.
"""

from __future__ import annotations

import numpy as np

__all__ = ["confusion_matrix", "scores_from_confusion"]


def confusion_matrix(reference: np.ndarray, predicted: np.ndarray, n_classes: int) -> np.ndarray:
    """(K, K) int64 counts of (reference index, predicted index) pairs, indices 1..K; pairs where either
    is 0 (unlabelled / nodata) or above K are not counted."""
    reference = np.asarray(reference, dtype=np.int64).ravel()
    predicted = np.asarray(predicted, dtype=np.int64).ravel()
    keep = (reference >= 1) & (reference <= n_classes) & (predicted >= 1) & (predicted <= n_classes)
    pairs = (reference[keep] - 1) * n_classes + (predicted[keep] - 1)
    return np.bincount(pairs, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def scores_from_confusion(cm: np.ndarray) -> dict:
    """Overall accuracy, kappa and per-class scores of a (K, K) confusion matrix (rows = reference).

    Returns:
        ``{"n_pixels", "overall_accuracy", "kappa", "macro_f_score", "precision": [K], "recall": [K],
        "f_score": [K], "support": [K], "predicted": [K]}``; per-class lists hold None for classes absent
        from both the reference and the map.
    """
    cm = np.asarray(cm, dtype=np.float64)
    total = cm.sum()
    support, predicted = cm.sum(axis=1), cm.sum(axis=0)
    diag = np.diag(cm)
    overall = float(diag.sum() / total) if total else float("nan")
    expected = float((support * predicted).sum() / total**2) if total else float("nan")
    # undefined (NaN, as scikit-learn) when chance agreement is 1: a single class in both map and reference
    kappa = float((overall - expected) / (1 - expected)) if total and expected != 1 else float("nan")
    present = (support > 0) | (predicted > 0)
    precision, recall, f_score = [], [], []
    for k in range(len(cm)):
        if not present[k]:
            precision.append(None), recall.append(None), f_score.append(None)
            continue
        p = diag[k] / predicted[k] if predicted[k] else 0.0
        r = diag[k] / support[k] if support[k] else 0.0
        precision.append(float(p)), recall.append(float(r))
        f_score.append(float(2 * p * r / (p + r)) if p + r else 0.0)
    macro = [f for f in f_score if f is not None]
    return {"n_pixels": int(total), "overall_accuracy": overall, "kappa": kappa,
            "macro_f_score": float(np.mean(macro)) if macro else float("nan"),
            "precision": precision, "recall": recall, "f_score": f_score,
            "support": [int(s) for s in support], "predicted": [int(p) for p in predicted]}
