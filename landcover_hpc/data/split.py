"""Train/test split of reference objects at object (polygon) level, stratified per class.

Pure functions: no I/O. A pixel's split is its object's split, so no object has pixels in both sets.
"""

from __future__ import annotations

import numpy as np

__all__ = ["split_objects"]


def split_objects(class_indices: np.ndarray, train_fraction: float, rng: np.random.Generator) -> np.ndarray:
    """Assign each object to train (0) or test (1), per class.

    Within each class the objects are shuffled and the first ``round(train_fraction * n)`` go to train,
    with at least one object in train when the class has one, and at least one in test when it has two or
    more: every class present in the reference is trainable, and testable where possible.

    Args:
        class_indices: (n,) class index of each object.
        train_fraction: share of objects (not pixels) in the training set, e.g. 0.67.
        rng: source of randomness (seeded by the caller).

    Returns:
        (n,) uint8, 0 = train, 1 = test.
    """
    if not 0.0 < train_fraction < 1.0:
        raise ValueError(f"train_fraction={train_fraction}: must be in (0, 1)")
    split = np.ones(len(class_indices), dtype=np.uint8)
    for cls in np.unique(class_indices):
        members = np.flatnonzero(class_indices == cls)
        rng.shuffle(members)
        n = len(members)
        n_train = int(round(train_fraction * n))
        n_train = min(max(n_train, 1), n - 1) if n >= 2 else n
        split[members[:n_train]] = 0
    return split
