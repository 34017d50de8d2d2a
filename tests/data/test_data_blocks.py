"""Raster blocks: one grid for prepare, gapfill and mosaic."""

import numpy as np
import pytest

from landcover_hpc.data.blocks import iter_blocks


@pytest.mark.parametrize("height, width, bh, bw", [(37, 41, 16, None), (16, 16, 16, None), (5, 300, 4, 128),
                                                   (1, 1, 512, None)])
def test_blocks_tile_the_raster_exactly_once_row_by_row(height, width, bh, bw):
    blocks = list(iter_blocks(height, width, bh, bw))
    cover = np.zeros((height, width), int)
    for row, col, h, w in blocks:
        assert 1 <= h <= bh and 1 <= w <= (bw or bh)
        cover[row:row + h, col:col + w] += 1
    assert (cover == 1).all()
    assert blocks == sorted(blocks)  # row-major order: writers and progress see blocks in file order


def test_block_size_must_be_positive():
    with pytest.raises(ValueError, match="block size 0 x 0"):
        list(iter_blocks(10, 10, 0))
