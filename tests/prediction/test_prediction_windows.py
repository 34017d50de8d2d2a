import numpy as np
import pytest

from landcover_hpc.errors import ConfigError
from landcover_hpc.prediction.windows import axis_plan, padded_length, plan_windows


@pytest.mark.parametrize("height, width", [(1000, 777), (512, 512), (100, 1100), (37, 41), (1030, 513)])
@pytest.mark.parametrize("size, overlap", [(512, 16), (128, 8), (64, 32), (64, 4)])
def test_cores_partition_the_tile_and_stay_away_from_window_borders(height, width, size, overlap):
    windows = plan_windows(height, width, size, overlap)
    margin = overlap // 2
    cover = np.zeros((height, width), int)
    for w in windows:
        cover[w.core_row:w.core_row + w.core_height, w.core_col:w.core_col + w.core_width] += 1
        assert w.row % 4 == 0 and w.col % 4 == 0 and w.height % 4 == 0 and w.width % 4 == 0
        assert w.row + w.height <= padded_length(height) and w.col + w.width <= padded_length(width)
        r, c = w.crop
        assert r.start >= 0 and r.stop <= w.height and c.start >= 0 and c.stop <= w.width
        # a core pixel is >= overlap / 2 px from the window border, unless it is on the tile's own edge
        if w.core_row > 0:
            assert w.core_row - w.row >= margin
        if w.core_row + w.core_height < height:
            assert w.row + w.height - (w.core_row + w.core_height) >= margin
        if w.core_col > 0:
            assert w.core_col - w.col >= margin
        if w.core_col + w.core_width < width:
            assert w.col + w.width - (w.core_col + w.core_width) >= margin
    assert np.all(cover == 1)


def test_paper_tile_needs_the_expected_number_of_windows():
    # 10980 px, 512 px windows sharing 16 px: a step of 496 px, 22 full windows then one of 68 px to the edge
    plan = axis_plan(10980, 512, 16)
    assert [s for s, _, _, _ in plan[:3]] == [0, 496, 992] and len(plan) == 23
    assert plan[-1] == (10912, 68, 10920, 10980)
    # neighbours share 16 px and split them in the middle: each keeps its pixels >= 8 px from its border
    assert [(c0, c1) for _, _, c0, c1 in plan[:2]] == [(0, 504), (504, 1000)]
    # computed px per map px: 1.065 (moving the last window back instead would compute 1.15)
    windows = plan_windows(10980, 10980)
    assert len(windows) == 23 * 23
    assert abs(sum(w.height * w.width for w in windows) / 10980**2 - 1.0652) < 1e-3


def test_last_window_is_shortened_to_the_padded_tile_edge():
    assert axis_plan(1000, 512, 16) == [(0, 512, 0, 504), (496, 504, 504, 1000)]
    assert axis_plan(513, 512, 16) == [(0, 512, 0, 504), (496, 20, 504, 513)]  # 513 padded to 516
    assert axis_plan(1008, 512, 16) == [(0, 512, 0, 504), (496, 512, 504, 1008)]  # exact fit: full window


def test_small_tile_is_one_window():
    (w,) = plan_windows(37, 41, 512, 16)
    assert (w.height, w.width) == (40, 44) and (w.core_height, w.core_width) == (37, 41)


@pytest.mark.parametrize("size, overlap", [(510, 16), (64, 64), (512, 3), (512, 6), (0, 0)])
def test_bad_window_settings(size, overlap):
    with pytest.raises(ConfigError):
        plan_windows(1000, 1000, size, overlap)
