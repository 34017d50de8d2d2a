import numpy as np
import pytest

from landcover_hpc.errors import ConfigError
from landcover_hpc.prediction.windows import axis_plan, padded_length, plan_windows


@pytest.mark.parametrize("height, width", [(1000, 777), (512, 512), (100, 1100), (37, 41), (1030, 513)])
@pytest.mark.parametrize("size, overlap", [(512, 16), (128, 8), (64, 16)])
def test_cores_partition_the_tile_and_stay_away_from_window_borders(height, width, size, overlap):
    windows = plan_windows(height, width, size, overlap)
    cover = np.zeros((height, width), int)
    for w in windows:
        cover[w.core_row:w.core_row + w.core_height, w.core_col:w.core_col + w.core_width] += 1
        assert w.row % 4 == 0 and w.col % 4 == 0 and w.height % 4 == 0 and w.width % 4 == 0
        assert w.row + w.height <= padded_length(height) and w.col + w.width <= padded_length(width)
        r, c = w.crop
        assert r.start >= 0 and r.stop <= w.height and c.start >= 0 and c.stop <= w.width
        # a core pixel is >= overlap px from the window border, unless it is on the tile's own edge
        if w.core_row > 0:
            assert w.core_row - w.row >= overlap
        if w.core_row + w.core_height < height:
            assert w.row + w.height - (w.core_row + w.core_height) >= overlap
        if w.core_col > 0:
            assert w.core_col - w.col >= overlap
        if w.core_col + w.core_width < width:
            assert w.col + w.width - (w.core_col + w.core_width) >= overlap
    assert np.all(cover == 1)


def test_paper_tile_needs_the_expected_number_of_windows():
    # 10980 px with 512 px windows and 16 px overlap: a step of 480 px, 23 windows per axis
    assert len(axis_plan(10980, 512, 16)) == 23
    assert len(plan_windows(10980, 10980)) == 23 * 23


def test_small_tile_is_one_window():
    (w,) = plan_windows(37, 41, 512, 16)
    assert (w.height, w.width) == (40, 44) and (w.core_height, w.core_width) == (37, 41)


@pytest.mark.parametrize("size, overlap", [(510, 16), (64, 32), (512, 3), (0, 0)])
def test_bad_window_settings(size, overlap):
    with pytest.raises(ConfigError):
        plan_windows(1000, 1000, size, overlap)
