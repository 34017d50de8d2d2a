"""Per-rank patch transforms after the exchange: normalisation, spectral indices, augmentation.

Pure numpy functions on batches of patches in the stack's date-major channel layout (the C bands of date 1,
then date 2, ...). The sampler applies them in the paper's order: normalise, add indices, augment.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..errors import ConfigError

__all__ = ["INDEX_NAMES", "N_AUGMENTATIONS", "normalise", "spectral_indices", "append_per_date", "model_input",
           "draw_augmentations", "augment"]

#: Extra channels per date added by :func:`spectral_indices`, in this order.
INDEX_NAMES = ("NDVI", "NDWI", "brightness")
#: Augmentations: the 8 elements of the square's symmetry group (rotation k x 90 degrees, optional flip).
N_AUGMENTATIONS = 8


def normalise(patches: np.ndarray, percentiles: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Scale each channel to [0, 1] between its 3rd and 97th percentile (paper 3.3.1).

    ``p' = clip((p - q3) / (q97 - q3), 0, 1)``; a channel with ``q97 == q3`` maps to 0 or 1.

    Args:
        patches: (..., T*C) int16 reflectance x 1e4.
        percentiles: (2, T*C) float32, 3rd and 97th percentiles over the whole dataset.
        out: float32 array of the patches' shape to write into (a reused buffer), or None for a new one.
    Returns:
        (..., T*C) float32 in [0, 1].
    """
    q3, q97 = np.asarray(percentiles, dtype=np.float32)
    if q3.shape[-1] != patches.shape[-1]:
        raise ConfigError(f"percentiles for {q3.shape[-1]} channels: the patches have {patches.shape[-1]}")
    span = np.where(q97 > q3, q97 - q3, np.float32(1e-6)).astype(np.float32)
    out = np.subtract(patches, q3, out=out, dtype=np.float32)  # int16 -> float32 is exact
    out /= span
    return np.clip(out, 0.0, 1.0, out=out)


def spectral_indices(patches: np.ndarray, bands: Sequence[str], n_dates: int) -> np.ndarray:
    """NDVI (B4, B8), NDWI (B3, B8, McFeeters) and brightness per date, from raw reflectance.

    Computed on reflectance, not on percentile-normalised values, so that the indices keep their physical
    meaning; NDVI and NDWI are mapped from [-1, 1] to [0, 1] and brightness (the mean reflectance of the C
    bands) is clipped to [0, 1], so the extra channels share the range of the normalised bands. A pixel
    whose two bands sum to 0 (nodata) gets an index of 0.5 (i.e. 0).

    Args:
        patches: (..., T*C) int16 reflectance x 1e4, date-major.
        bands: the C band names of the store, e.g. ``("B2", "B3", ..., "B12")``.
        n_dates: T.
    Returns:
        (..., T, 3) float32 channels :data:`INDEX_NAMES`.
    """
    missing = [b for b in ("B3", "B4", "B8") if b not in bands]
    if missing:
        raise ConfigError(f"spectral indices need bands B3, B4, B8; the stores lack {missing} (bands: {list(bands)})")
    c = len(bands)
    if patches.shape[-1] != n_dates * c:
        raise ConfigError(f"{patches.shape[-1]} channels: expected {n_dates} dates x {c} bands")
    cube = patches.reshape(*patches.shape[:-1], n_dates, c).astype(np.float32) * np.float32(1e-4)
    b3, b4, b8 = (cube[..., bands.index(b)] for b in ("B3", "B4", "B8"))

    def normalised_difference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        total = a + b
        nd = np.divide(a - b, total, out=np.zeros_like(total), where=total != 0)
        return np.clip(nd, -1.0, 1.0) * 0.5 + 0.5

    brightness = np.clip(cube.mean(axis=-1), 0.0, 1.0)
    return np.stack([normalised_difference(b8, b4), normalised_difference(b3, b8), brightness], axis=-1)


def append_per_date(channels: np.ndarray, extra: np.ndarray) -> np.ndarray:
    """Interleave per-date extra channels after each date's bands, keeping the date-major layout.

    Args:
        channels: (..., T*C) float32.
        extra: (..., T, E) float32.
    Returns:
        (..., T*(C+E)) float32: the C bands of date 1, its E extras, the C bands of date 2, ...
    """
    n_dates = extra.shape[-2]
    cube = channels.reshape(*channels.shape[:-1], n_dates, -1)
    joined = np.concatenate([cube, extra.astype(channels.dtype)], axis=-1)
    return joined.reshape(*channels.shape[:-1], -1)


def model_input(raw: np.ndarray, percentiles: np.ndarray, bands: Sequence[str], indices: bool,
                out: np.ndarray | None = None, s1_percentiles: np.ndarray | None = None) -> np.ndarray:
    """What a model is fed, in training and in prediction alike: normalised bands, then the indices, then
    (Sentinel-1 models) the normalised Sentinel-1 channels.

    Args:
        raw: (..., T*C) int16 reflectance x 1e4, date-major; with ``s1_percentiles``, (..., T*C + T1*2): the
            Sentinel-1 stack (dB x 100, date-major VV, VH) after the Sentinel-2 channels.
        percentiles: (2, T*C) normalisation percentiles (those stored with the model).
        bands: the C band names; indices: whether to append :data:`INDEX_NAMES` per date.
        out: float32 (..., T*C' [+ T1*2]) array to write into (a reused buffer), or None for a new one.
        s1_percentiles: (2, T1*2) percentiles of the Sentinel-1 channels, or None (or T1 = 0): no Sentinel-1.
    Returns:
        (..., T*C' + T1*2) float32, C' = C (+ 3 with indices), T1 = 0 without Sentinel-1.
    """
    n_s1 = 0 if s1_percentiles is None else np.shape(s1_percentiles)[-1]
    if n_s1:
        s2_raw, s1_raw = raw[..., :-n_s1], raw[..., -n_s1:]
        n_s2 = s2_raw.shape[-1] // len(bands) * (len(bands) + (len(INDEX_NAMES) if indices else 0))
        if out is None:
            out = np.empty((*raw.shape[:-1], n_s2 + n_s1), np.float32)
        model_input(s2_raw, percentiles, bands, indices, out=out[..., :n_s2])
        normalise(s1_raw, s1_percentiles, out=out[..., n_s2:])
        return out
    if not indices:
        return normalise(raw, percentiles, out=out)
    x = append_per_date(normalise(raw, percentiles),
                        spectral_indices(raw, list(bands), raw.shape[-1] // len(bands)))
    if out is None:
        return x
    out[...] = x
    return out


def draw_augmentations(rng: np.random.Generator, n_patches: int) -> np.ndarray:
    """(n,) int64 augmentation codes, uniform over the 8 symmetries: ``code % 4`` quarter turns, then a
    horizontal flip if ``code >= 4`` (rotation 90/180/270 and horizontal/vertical flips generate exactly
    these 8; a vertical flip is a horizontal flip after a half turn)."""
    return rng.integers(0, N_AUGMENTATIONS, size=n_patches)


def augment(images: np.ndarray, labels: np.ndarray, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rotate/flip each patch and its labels by the same symmetry.

    Args:
        images: (n, P, P, C') patches.
        labels: (n, P, P) class indices.
        codes: (n,) augmentation codes 0..7 (:func:`draw_augmentations`).
    Returns:
        (images, labels): new contiguous arrays, same shapes and dtypes.
    """
    images_out, labels_out = np.empty_like(images), np.empty_like(labels)
    for i, code in enumerate(np.asarray(codes)):
        turns, flip = int(code) % 4, int(code) >= 4
        image, label = np.rot90(images[i], turns, axes=(0, 1)), np.rot90(labels[i], turns, axes=(0, 1))
        if flip:
            image, label = image[:, ::-1], label[:, ::-1]
        images_out[i], labels_out[i] = image, label
    return images_out, labels_out
