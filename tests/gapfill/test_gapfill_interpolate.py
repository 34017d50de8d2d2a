"""Temporal gap-filling against hand-computed values, and the date grid."""

import numpy as np
import pytest

from landcover_hpc.errors import ConfigError
from landcover_hpc.gapfill import date_grid, interpolate_block, to_days

NODATA = -10000


def _series(values, clear):
    """One pixel, one band: (N,) values and (N,) clear flags -> (N, 1, 1, 1) and (N, 1, 1) arrays."""
    return (np.asarray(values, dtype=np.float32).reshape(-1, 1, 1, 1),
            np.asarray(clear, dtype=bool).reshape(-1, 1, 1))


def test_gapfill_gap_in_the_middle_is_linear_in_days():
    values, clear = _series([100, 9999, 9999, 400], [True, False, False, True])
    days = np.array([0, 5, 10, 30])
    out = interpolate_block(values, clear, days, np.array([0, 10, 15, 30]), NODATA)[:, 0, 0, 0]
    # between day 0 (100) and day 30 (400): 100 + 300 * d / 30; the cloudy 9999 never leaks in
    assert out.tolist() == [100, 200, 250, 400]


def test_gapfill_before_first_and_after_last_clear_take_the_nearest_clear_value():
    values, clear = _series([7000, 300, 500, 8000], [False, True, True, False])
    days = np.array([0, 10, 20, 30])
    out = interpolate_block(values, clear, days, np.array([-5, 0, 5, 10, 15, 25, 30, 40]), NODATA)[:, 0, 0, 0]
    assert out.tolist() == [300, 300, 300, 300, 400, 500, 500, 500]


def test_gapfill_never_clear_pixel_is_nodata_and_others_are_not():
    values = np.full((3, 1, 2, 2), 1234, dtype=np.float32)
    clear = np.zeros((3, 1, 2), dtype=bool)
    clear[1, 0, 1] = True
    out = interpolate_block(values, clear, np.array([0, 10, 20]), np.array([0, 15, 30]), NODATA)
    assert out.dtype == np.int16
    assert np.all(out[:, 0, 0, :] == NODATA)
    assert np.all(out[:, 0, 1, :] == 1234)


def test_gapfill_matches_np_interp_per_pixel_on_random_series():
    rng = np.random.default_rng(4)
    n_acq, h, w, c = 25, 6, 5, 3
    days = np.sort(rng.choice(400, n_acq, replace=False)) - 20
    values = rng.integers(0, 8000, (n_acq, h, w, c)).astype(np.float32)
    clear = rng.random((n_acq, h, w)) < 0.3
    targets = np.arange(0, 365, 11)
    out = interpolate_block(values, clear, days, targets, NODATA)
    for i in range(h):
        for j in range(w):
            ok = clear[:, i, j]
            for b in range(c):
                if not ok.any():
                    expected = np.full(len(targets), NODATA)
                else:
                    expected = np.rint(np.interp(targets, days[ok], values[ok, i, j, b]))
                np.testing.assert_array_equal(out[:, i, j, b], expected)


def test_gapfill_filled_value_never_reads_as_nodata():
    values, clear = _series([-10000.2, -10000.0], [True, True])
    out = interpolate_block(values, clear, np.array([0, 1]), np.array([0, 1]), NODATA)
    assert np.all(out != NODATA)


def test_gapfill_default_date_grid_has_33_dates_every_11_days():
    dates = date_grid("20180101", "20181219", 11)
    assert len(dates) == 33 and dates[0] == "20180101" and dates[-1] == "20181219"
    assert set(np.diff(to_days(dates))) == {11}
    with pytest.raises(ConfigError):
        date_grid("20181231", "20180101", 11)
    with pytest.raises(ConfigError):
        date_grid("2018-01-01", "20181231", 11)
