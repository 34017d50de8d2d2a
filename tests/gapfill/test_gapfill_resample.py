"""Bicubic 20 m -> 10 m: smooth fields stay smooth and pixel centres land where they should."""

import numpy as np
import pytest

from landcover_hpc.gapfill.resample import HALO, keys_weights, pad_to_halo, upsample2x_bicubic, upsample2x_nearest


def _sample(field, n_rows, n_cols, step):
    """A field f(y, x) (coordinates in metres from the top-left corner) at pixel centres of a grid of ``step`` m."""
    y = (np.arange(n_rows) + 0.5) * step
    x = (np.arange(n_cols) + 0.5) * step
    return field(y[:, None], x[None, :])


def _upsample_tile(coarse):
    padded = pad_to_halo(coarse, (HALO, HALO), (HALO, HALO))
    return upsample2x_bicubic(padded, 2 * coarse.shape[0], 2 * coarse.shape[1])


def test_gapfill_keys_weights_sum_to_one_and_mirror():
    weights = keys_weights()
    np.testing.assert_allclose(weights.sum(axis=1), 1.0)
    np.testing.assert_allclose(weights[0], weights[1][::-1])


def test_gapfill_bicubic_is_exact_on_quadratic_fields_at_10m_pixel_centres():
    def field(y, x):
        return 1000 + 3.0 * x - 2.0 * y + 0.01 * x * y + 0.004 * x**2 - 0.003 * y**2

    coarse = _sample(field, 20, 24, 20.0)
    fine = _upsample_tile(coarse)
    expected = _sample(field, 40, 48, 10.0)
    # away from the edges (where the field is extended by repeating edge pixels) Keys' kernel is exact
    # for degree-2 polynomials, so any shift of the sampling positions shows up here
    np.testing.assert_allclose(fine[4:-4, 4:-4], expected[4:-4, 4:-4], rtol=0, atol=1e-2)


def test_gapfill_bicubic_georeferencing_is_centre_based_not_corner_based():
    def ramp(y, x):
        return 10.0 * x + 0.0 * y

    fine = _upsample_tile(_sample(ramp, 8, 8, 20.0))
    # 10 m pixel j has its centre at 10 j + 5 m: the ramp reads 100 j + 50 there (a corner-based resampler
    # would give 100 j + 100 or 100 j)
    np.testing.assert_allclose(fine[5, 4:12], 100 * np.arange(4, 12) + 50, atol=1e-3)


def test_gapfill_bicubic_keeps_a_smooth_field_smooth():
    def wave(y, x):
        return 2000 + 800 * np.sin(x / 97.0) * np.cos(y / 131.0)

    fine = _upsample_tile(_sample(wave, 32, 32, 20.0))
    expected = _sample(wave, 64, 64, 10.0)
    interior = (slice(4, -4), slice(4, -4))
    assert np.abs(fine - expected)[interior].max() < 1.0  # < 1e-4 reflectance
    # no ringing: second differences of the result stay those of the field
    assert np.abs(np.diff(fine, 2, axis=1)[interior]).max() < 1.5 * np.abs(np.diff(expected, 2, axis=1)).max() + 0.1


def test_gapfill_bicubic_agrees_with_gdal_cubic_inside_the_tile():
    rasterio = pytest.importorskip("rasterio")
    from rasterio.transform import from_origin
    from rasterio.warp import Resampling, reproject

    rng = np.random.default_rng(0)
    coarse = rng.uniform(0, 5000, (16, 16)).astype(np.float32)
    gdal = np.zeros((32, 32), dtype=np.float32)
    reproject(coarse, gdal, src_transform=from_origin(0, 320, 20, 20), dst_transform=from_origin(0, 320, 10, 10),
              src_crs="EPSG:32631", dst_crs="EPSG:32631", resampling=Resampling.cubic)
    ours = _upsample_tile(coarse)
    np.testing.assert_allclose(ours[4:-4, 4:-4], gdal[4:-4, 4:-4], atol=0.05)


def test_gapfill_mask_nearest_maps_each_20m_pixel_to_its_2x2_10m_pixels():
    mask = np.array([[1, 2, 3], [4, 5, 6]])
    up = upsample2x_nearest(mask, 4, 5)  # odd 10 m width: the last 20 m column is cut in half
    assert up.tolist() == [[1, 1, 2, 2, 3], [1, 1, 2, 2, 3], [4, 4, 5, 5, 6], [4, 4, 5, 5, 6]]
