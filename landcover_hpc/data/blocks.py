"""Raster blocks: the one way a raster is cut into non-overlapping blocks for block-by-block work.

``landcover-prepare`` reads a stack window by window, ``landcover-gapfill`` interpolates a tile block by
block and ``landcover-mosaic`` assembles a mosaic block by block: all three walk the same row-major grid of
``block_height x block_width`` blocks whose last row and column are cut to the raster. (Prediction windows
overlap and are aligned: :mod:`landcover_hpc.prediction.windows` plans those.)
"""

from __future__ import annotations

from typing import Iterator

__all__ = ["iter_blocks"]


def iter_blocks(height: int, width: int, block_height: int, block_width: int | None = None
                ) -> Iterator[tuple[int, int, int, int]]:
    """(row, col, h, w) of the blocks covering a ``height x width`` raster, row by row, in pixels.

    Blocks are ``block_height x block_width`` (square when ``block_width`` is None), cut at the bottom
    and right edges, so they tile the raster exactly once.
    """
    block_width = block_height if block_width is None else block_width
    if block_height < 1 or block_width < 1:
        raise ValueError(f"block size {block_height} x {block_width}: must be >= 1 px")
    for row in range(0, height, block_height):
        for col in range(0, width, block_width):
            yield row, col, min(block_height, height - row), min(block_width, width - col)
