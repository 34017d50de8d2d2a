"""Training pixels of the Random Forest: labelled, valid pixels of training polygons, capped per class.

The cap applies to the whole dataset (all tiles together), as in the operational chain, which samples a
fixed number of pixels per class: a class present on several tiles gets pixels from each tile in proportion
to its labelled pixels there. Test polygons are never read (their pixels are only in ``labels/test``).
Different ``seed`` / ``subsample`` values give the different training subsets used for the reference maps
of the geometric precision measure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..data.store import TileStore
from ..errors import ConfigError, InputFormatError

__all__ = ["TrainingPixels", "sample_training_pixels", "check_same_layout"]


@dataclass
class TrainingPixels:
    """Sampled pixels: ``features`` (n, T*C) int16 reflectance x 1e4, ``codes`` (n,) uint8 class codes,
    ``tiles`` (n,) int32 index into ``tile_ids``, ``rows``/``cols`` (n,) int32 positions in their tile;
    ``reference`` the labelled valid training pixels per class code they were drawn from (before the
    subsample and the cap: the class mix of the training objects, for the prior correction)."""

    features: np.ndarray
    codes: np.ndarray
    tiles: np.ndarray
    rows: np.ndarray
    cols: np.ndarray
    tile_ids: list[str]
    reference: dict[int, int]

    def counts(self) -> dict[int, int]:
        """Pixels per class code."""
        codes, counts = np.unique(self.codes, return_counts=True)
        return {int(c): int(n) for c, n in zip(codes, counts)}


def check_same_layout(stores: Sequence[TileStore]) -> None:
    """All tiles must share dates, bands and classes to be pooled into one feature space."""
    first = stores[0]
    for s in stores[1:]:
        for attr in ("dates", "bands", "class_codes"):
            if getattr(s, attr) != getattr(first, attr):
                raise InputFormatError(f"tile {s.tile_id} ({s.path}) has other {attr} than tile {first.tile_id}: "
                                       f"prepare all tiles with the same date grid, bands and nomenclature")


def sample_training_pixels(stores: Sequence[TileStore], per_class: int = 10_000, seed: int = 0,
                           subsample: float = 1.0, window: int = 512) -> TrainingPixels:
    """Draw at most ``per_class`` training pixels of every class from all ``stores`` together.

    Args:
        stores: the training tiles.
        per_class: cap of pixels per class over the whole dataset (0: no cap).
        seed: RNG seed of the draw.
        subsample: fraction of the labelled pixels kept (at random) before capping, to draw distinct
            training subsets.
        window: side of the blocks read from the stores (bounds memory on full-size tiles).
    """
    if per_class < 0:
        raise ConfigError(f"per-class cap {per_class}: must be >= 0 (0 = no cap)")
    if not 0.0 < subsample <= 1.0:
        raise ConfigError(f"subsample {subsample}: must be in (0, 1]")
    if not stores:
        raise ConfigError("no training tile")
    check_same_layout(stores)
    rng = np.random.default_rng(seed)
    lut = np.array([0, *stores[0].class_codes], dtype=np.uint8)
    cand_tile, cand_flat, cand_class = [], [], []
    for t, store in enumerate(stores):
        labels = store.read_labels("train")
        labels = np.where(store.read_valid(0, 0, store.height, store.width), labels, 0)
        flat = np.flatnonzero(labels)
        cand_tile.append(np.full(len(flat), t, dtype=np.int32))
        cand_flat.append(flat.astype(np.int64))
        cand_class.append(labels.ravel()[flat])
    tile_of, flat_of, class_of = (np.concatenate(a) for a in (cand_tile, cand_flat, cand_class))
    indices, totals = np.unique(class_of, return_counts=True)
    reference = {int(lut[k]): int(n) for k, n in zip(indices, totals)}
    if subsample < 1.0:
        keep = rng.random(len(flat_of)) < subsample
        tile_of, flat_of, class_of = tile_of[keep], flat_of[keep], class_of[keep]
    chosen = []
    for k in np.unique(class_of):
        members = np.flatnonzero(class_of == k)
        if per_class and len(members) > per_class:
            members = rng.choice(members, per_class, replace=False)
        chosen.append(members)
    chosen = np.sort(np.concatenate(chosen)) if chosen else np.zeros(0, dtype=np.int64)
    tile_of, flat_of, class_of = tile_of[chosen], flat_of[chosen], class_of[chosen]

    n_features = stores[0].n_channels
    features = np.zeros((len(chosen), n_features), dtype=np.int16)
    rows = np.zeros(len(chosen), dtype=np.int32)
    cols = np.zeros(len(chosen), dtype=np.int32)
    for t, store in enumerate(stores):
        mine = np.flatnonzero(tile_of == t)
        r, c = np.divmod(flat_of[mine], store.width)
        rows[mine], cols[mine] = r, c
        block = (r // window) * (-(-store.width // window)) + c // window
        for b in np.unique(block):
            sel = mine[block == b]
            r0, c0 = (r[block == b][0] // window) * window, (c[block == b][0] // window) * window
            stack = store.read_window(r0, c0, min(window, store.height - r0), min(window, store.width - c0))
            features[sel] = stack[rows[sel] - r0, cols[sel] - c0]
    return TrainingPixels(features, lut[class_of], tile_of, rows, cols, [s.tile_id for s in stores], reference)
