"""Train / validation / test split of reference objects at object (polygon) level, stratified per class.

Pure functions: no I/O. A pixel's split is its object's split, so no object has pixels in two sets. The
validation objects are carved out of what would otherwise be training objects: the test set is the
paper's 33 % whatever the validation share, and model selection (validation) never sees a test object.
"""

from __future__ import annotations

import numpy as np

__all__ = ["SPLITS", "split_objects"]

SPLITS = ("train", "val", "test")  # split index = position in this tuple


def split_objects(class_indices: np.ndarray, test_fraction: float, val_fraction: float,
                  rng: np.random.Generator) -> np.ndarray:
    """Assign each object to train (0), validation (1) or test (2), per class.

    Within each class the objects are shuffled; ``round(test_fraction * n)`` go to test, then
    ``round(val_fraction * n)`` to validation, the rest to train. Guarantees, in this order of priority: a
    class with one object trains; with two or more, at least one object is in train and one in test; with
    three or more and ``val_fraction > 0``, at least one is in validation. So every class present in the
    reference is trainable, testable where possible, and validated where it can be without starving the
    other two sets.

    Args:
        class_indices: (n,) class index of each object.
        test_fraction: share of objects (not pixels) in the test set, e.g. 0.33.
        val_fraction: share of objects in the validation set, e.g. 0.10; 0 disables validation objects.
        rng: source of randomness (seeded by the caller).

    Returns:
        (n,) uint8 split index into :data:`SPLITS`.
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction={test_fraction}: must be in (0, 1)")
    if not 0.0 <= val_fraction < 1.0 - test_fraction:
        raise ValueError(f"val_fraction={val_fraction}: must be in [0, 1 - test_fraction)")
    split = np.zeros(len(class_indices), dtype=np.uint8)
    for cls in np.unique(class_indices):
        members = np.flatnonzero(class_indices == cls)
        rng.shuffle(members)
        n_test, n_val = _split_sizes(len(members), test_fraction, val_fraction)
        split[members[:n_test]] = 2
        split[members[n_test:n_test + n_val]] = 1
    return split


def _split_sizes(n: int, test_fraction: float, val_fraction: float) -> tuple[int, int]:
    """(test, validation) object counts of a class of ``n`` objects; the rest train (see split_objects)."""
    if n < 2:
        return 0, 0
    n_test = min(max(int(round(test_fraction * n)), 1), n - 1)
    if n < 3 or val_fraction == 0.0:
        return n_test, 0
    n_val = min(max(int(round(val_fraction * n)), 1), n - 2)  # leaves one train and one test object
    n_test = min(n_test, n - 1 - n_val)
    return n_test, n_val
