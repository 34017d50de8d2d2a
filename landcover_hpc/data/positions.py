"""Valid patch positions: where a patch holds enough pixels of a class to be drawn for that class.

The share is measured over the whole patch (the paper: >= 10 % of its pixels), or over a central window of it
(``window``): a 1-2 px road crosses a 32 px patch with 32-64 px, under the paper's 103, so on most tiles the
roads have no position and the class-balanced sampler never draws them, while every road pixel lies in the
central 8 px window of some patch of the stride-8 grid, where it is >= 10 % of the window.

Computed strip by strip from a label raster with box sums (integral images), so memory stays bounded by
one strip whatever the tile size: a strip is a number of pixels, so a wide tile gets strips of fewer rows.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

__all__ = ["patch_class_counts", "valid_positions"]


def patch_class_counts(labels: np.ndarray, cls: int, patch_size: int, stride: int,
                       window: int | None = None) -> np.ndarray:
    """Pixels of class ``cls`` in every ``patch_size`` patch whose top-left corner is on the stride grid, or in
    the central ``window`` x ``window`` pixels of every such patch.

    Args:
        labels: (h, w) class indices; patches must lie fully inside.
        window: side of the central window counted (``patch_size - window`` even); None: the whole patch.
    Returns:
        (ceil((h - P + 1) / stride), ceil((w - P + 1) / stride)) int32 counts, at rows/cols 0, stride, ...
    """
    side = patch_size if window is None else window
    offset = (patch_size - side) // 2
    integral = np.zeros((labels.shape[0] + 1, labels.shape[1] + 1), dtype=np.int32)  # int32 throughout: 4 B/px
    np.cumsum(labels == cls, axis=0, dtype=np.int32, out=integral[1:, 1:])
    np.cumsum(integral[1:, 1:], axis=1, out=integral[1:, 1:])
    rows = np.arange(0, labels.shape[0] - patch_size + 1, stride)
    cols = np.arange(0, labels.shape[1] - patch_size + 1, stride)
    r0, c0 = rows[:, None] + offset, cols[None, :] + offset
    r1, c1 = r0 + side, c0 + side
    return integral[r1, c1] - integral[r0, c1] - integral[r1, c0] + integral[r0, c0]


def valid_positions(read_rows: Callable[[int, int], np.ndarray], height: int, width: int, classes: list[int],
                    patch_size: int, stride: int, min_fraction: float, strip_pixels: int = 2**22,
                    window: int | None = None) -> dict[int, np.ndarray]:
    """Top-left (row, col) of patches holding >= ``min_fraction`` pixels of each class (of their central
    ``window`` x ``window`` pixels with ``window``).

    Args:
        read_rows: ``read_rows(row0, row1)`` returns the (row1 - row0, width) label rows.
        classes: class indices to look for.
        window: see :func:`patch_class_counts`; None: the whole patch (the paper).
        strip_pixels: label pixels per strip, about (the strip's top-left rows are this over the width,
            rounded down to a multiple of ``stride``, at least ``stride``): memory is about 10 bytes per pixel
            of a strip whatever the tile's width (the default, 4 M px: ~40 MB).
    Returns:
        class index -> (n, 2) int32 positions, sorted by row then column.
    """
    side = patch_size if window is None else window
    need = math.ceil(min_fraction * side * side)
    found: dict[int, list[np.ndarray]] = {c: [] for c in classes}
    if height < patch_size or width < patch_size:
        return {c: np.zeros((0, 2), dtype=np.int32) for c in classes}
    last_top = height - patch_size  # last valid top-left row
    strip_rows = max(stride, strip_pixels // width // stride * stride)
    for top in range(0, last_top + 1, strip_rows):
        top_end = min(top + strip_rows, last_top + 1)  # top-left rows [top, top_end)
        block = read_rows(top, top_end - 1 + patch_size)
        present = set(np.unique(block).tolist())
        for cls in classes:
            if cls not in present:
                continue
            counts = patch_class_counts(block, cls, patch_size, stride, window)
            r, c = np.nonzero(counts >= need)
            if len(r):
                found[cls].append(np.stack([top + r * stride, c * stride], axis=1).astype(np.int32))
    return {c: (np.concatenate(v) if v else np.zeros((0, 2), dtype=np.int32)) for c, v in found.items()}
