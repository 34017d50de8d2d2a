"""Majority-vote regularisation of a class map (OTB ClassificationMapRegularization, radius 1).

Each pixel takes the label held by most pixels of its (2r+1) x (2r+1) neighbourhood, the pixel itself
included. Nodata pixels (and pixels beyond the map) do not vote and stay nodata. When several labels share
the largest count the pixel keeps its own label. Examples (r = 1): a pixel of class C with 4 neighbours A
and 4 B keeps C (A and B tie at 4, C has 1); a lone pixel among 8 B becomes B (B 8, itself 1).

A window regularised on its own equals the whole-map result in every pixel at least ``radius`` px inside
the window, so the windowed predictor keeps only cores ``>= radius`` px from window borders.
"""

from __future__ import annotations

import numpy as np

__all__ = ["majority_vote"]


def majority_vote(classes: np.ndarray, radius: int = 1, nodata: int = 0) -> np.ndarray:
    """(H, W) uint8 regularised copy of ``classes`` (H, W) uint8 class codes."""
    classes = np.asarray(classes)
    if classes.ndim != 2:
        raise ValueError(f"class map must be 2-D, got shape {classes.shape}")
    h, w = classes.shape
    size = 2 * radius + 1
    padded = np.pad(classes, radius, constant_values=nodata)
    labels = [k for k in np.unique(classes) if k != nodata]
    best = np.zeros((h, w), dtype=np.int16)
    winner = classes.copy()
    tied = np.zeros((h, w), dtype=bool)
    for k in labels:
        hit = (padded == k).astype(np.int16)
        count = np.zeros((h, w), dtype=np.int16)
        for dr in range(size):
            for dc in range(size):
                count += hit[dr:dr + h, dc:dc + w]
        more = count > best
        tied = np.where(more, False, tied | ((count == best) & (count > 0)))
        winner = np.where(more, k, winner)
        best = np.maximum(best, count)
    out = np.where(tied, classes, winner).astype(classes.dtype)
    out[classes == nodata] = nodata
    return out
