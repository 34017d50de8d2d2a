"""Per-rank transforms (pure): normalisation, spectral indices, augmentation."""

import numpy as np
import pytest

from landcover_hpc.errors import ConfigError
from landcover_hpc.sampling import (N_AUGMENTATIONS, append_per_date, augment, draw_augmentations, normalise,
                                    spectral_indices)

BANDS = ("B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B11", "B12")


def test_normalise_maps_percentiles_to_unit_range():
    percentiles = np.array([[100, 0], [1100, 4000]], dtype=np.float32)
    patches = np.array([[[50, 2000], [600, 5000], [1100, -3]]], dtype=np.int16)
    out = normalise(patches, percentiles)
    assert out.dtype == np.float32 and out.shape == patches.shape
    assert np.allclose(out, [[[0.0, 0.5], [0.5, 1.0], [1.0, 0.0]]])
    with pytest.raises(ConfigError, match="percentiles for 2 channels"):
        normalise(np.zeros((1, 3), np.int16), percentiles)


def test_spectral_indices_per_date_and_layout():
    n_dates = 2
    cube = np.full((1, 1, n_dates, len(BANDS)), 1000, dtype=np.int16)
    cube[..., 0, BANDS.index("B8")] = 3000  # date 0: vegetation, NDVI = (3000-1000)/4000 = 0.5
    cube[..., 1, BANDS.index("B3")] = 3000  # date 1: water-like, NDWI = 0.5
    patches = cube.reshape(1, 1, -1)
    extra = spectral_indices(patches, BANDS, n_dates)
    assert extra.shape == (1, 1, n_dates, 3) and extra.dtype == np.float32
    ndvi, ndwi, brightness = np.moveaxis(extra[0, 0], -1, 0)
    assert np.allclose((ndvi * 2 - 1), [0.5, 0.0]) and np.allclose(ndwi * 2 - 1, [-0.5, 0.5])
    assert np.allclose(brightness, [0.12, 0.12])
    joined = append_per_date(normalise(patches, np.array([[0] * 20, [10000] * 20], np.float32)), extra)
    assert joined.shape == (1, 1, n_dates * 13)
    assert np.allclose(joined[0, 0, 10:13], extra[0, 0, 0]) and np.allclose(joined[0, 0, 23:26], extra[0, 0, 1])
    assert np.allclose(joined[0, 0, 13:23], patches[0, 0, 10:20] / 10000)  # date 1's bands after date 0's indices


def test_spectral_indices_need_their_bands():
    with pytest.raises(ConfigError, match="lack \\['B8'\\]"):
        spectral_indices(np.zeros((1, 2), np.int16), ("B3", "B4"), 1)


def test_augmentation_keeps_images_and_labels_aligned():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 18, size=(N_AUGMENTATIONS, 8, 8)).astype(np.uint8)
    images = np.concatenate([labels[..., None] * 10.0, rng.random((N_AUGMENTATIONS, 8, 8, 2))], axis=-1)
    images = images.astype(np.float32)
    codes = np.arange(N_AUGMENTATIONS)
    out_images, out_labels = augment(images, labels, codes)
    assert out_images.shape == images.shape and out_labels.dtype == np.uint8
    assert np.array_equal(out_images[..., 0], out_labels * 10.0)  # the label channel moved with the labels
    variants = {augment(images[:1].repeat(8, 0), labels[:1].repeat(8, 0), codes)[1][i].tobytes() for i in codes}
    assert len(variants) == 8  # the 8 symmetries of one patch are distinct
    assert np.array_equal(out_labels[1], np.rot90(labels[1]))  # code 1: a quarter turn
    assert np.array_equal(out_labels[4], labels[4][:, ::-1])  # code 4: a horizontal flip
    assert np.array_equal(out_labels[6], labels[6][::-1, :])  # code 6: a vertical flip


def test_augmentation_codes_are_uniform():
    codes = draw_augmentations(np.random.default_rng(1), 8000)
    assert np.all(np.abs(np.bincount(codes, minlength=8) - 1000) < 120)
