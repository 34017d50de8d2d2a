"""Per-pixel linear interpolation in time onto a regular date grid (pure numpy, no I/O).

Rules, per pixel and band, with the pixel's *clear* acquisitions only:

- a target date between two clear acquisitions: linear interpolation between them (in days);
- a target date on a clear acquisition: its value;
- before the first / after the last clear acquisition: the value of the nearest (first / last) clear one
  (constant extrapolation, as ``np.interp``);
- a pixel with no clear acquisition at all: ``nodata`` on every date.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..errors import ConfigError

__all__ = ["to_days", "date_grid", "interpolate_block"]

_INT16_MIN, _INT16_MAX = int(np.iinfo(np.int16).min), int(np.iinfo(np.int16).max)


def to_days(dates: Sequence[str]) -> np.ndarray:
    """(n,) int64 days since 1970-01-01 of ``YYYYMMDD`` strings."""
    return np.array([np.datetime64(f"{d[:4]}-{d[4:6]}-{d[6:8]}", "D").astype(np.int64) for d in dates],
                    dtype=np.int64)


def _from_day(day: int) -> str:
    return str(np.datetime64(int(day), "D")).replace("-", "")


def date_grid(start: str, end: str, step: int) -> tuple[str, ...]:
    """Regular dates ``start, start + step, ...`` up to ``end`` included, as ``YYYYMMDD``.

    The default grid of the pipeline, ``date_grid("YYYY0101", "YYYY1231", 11)``, has 33 dates.
    """
    if step < 1:
        raise ConfigError(f"date step {step!r}: must be >= 1 day")
    try:
        first, last = to_days([start, end])
    except ValueError:
        raise ConfigError(f"date grid {start!r}..{end!r}: dates must be YYYYMMDD") from None
    if last < first:
        raise ConfigError(f"date grid end {end} is before its start {start}: swap them")
    return tuple(_from_day(d) for d in range(int(first), int(last) + 1, step))


def interpolate_block(values: np.ndarray, clear: np.ndarray, acquisition_days: np.ndarray,
                      target_days: np.ndarray, nodata: int = -10000) -> np.ndarray:
    """Gap-fill one block of a time series onto target dates.

    Args:
        values: (N, h, w, C) reflectance x 1e4 of N acquisitions (any real dtype; values under a
            non-clear flag are ignored, whatever they are).
        clear: (N, h, w) bool, True where the acquisition sees the ground.
        acquisition_days: (N,) increasing days of the acquisitions (any origin, same as target_days).
        target_days: (T,) days of the output dates.
        nodata: value of pixels never clear.

    Returns:
        (T, h, w, C) int16, rounded to the nearest integer and clipped to the int16 range; a filled value
        equal to ``nodata`` is moved by one so that only never-clear pixels read as nodata.
    """
    n_acq, h, w, n_bands = values.shape
    if clear.shape != (n_acq, h, w):
        raise ValueError(f"clear mask shape {clear.shape} does not match values {values.shape}")
    acquisition_days = np.asarray(acquisition_days, dtype=np.float64)
    target_days = np.asarray(target_days, dtype=np.float64)
    if np.any(np.diff(acquisition_days) < 0):
        raise ValueError("acquisition_days must be increasing")
    n_pix = h * w
    out = np.full((len(target_days), h, w, n_bands), nodata, dtype=np.int16)
    if n_acq == 0 or n_pix == 0:
        return out
    flat_values = values.reshape(n_acq, n_pix, n_bands)
    flat_clear = clear.reshape(n_acq, n_pix)
    index_dtype = np.int16 if n_acq < 2**15 - 1 else np.int32
    order = np.arange(n_acq, dtype=index_dtype)[:, None]
    # previous_clear[n, p]: the last clear acquisition <= n of pixel p (-1: none);
    # next_clear[n, p]: the first clear acquisition >= n (n_acq: none)
    previous_clear = np.maximum.accumulate(np.where(flat_clear, order, -1).astype(index_dtype), axis=0)
    next_clear = np.minimum.accumulate(np.where(flat_clear, order, n_acq).astype(index_dtype)[::-1], axis=0)[::-1]
    pixels = np.arange(n_pix)
    for t, day in enumerate(target_days):
        last_before = int(np.searchsorted(acquisition_days, day, side="right")) - 1
        first_after = int(np.searchsorted(acquisition_days, day, side="left"))
        prev = previous_clear[last_before] if last_before >= 0 else np.full(n_pix, -1, index_dtype)
        nxt = next_clear[first_after] if first_after < n_acq else np.full(n_pix, n_acq, index_dtype)
        has_prev, has_next = prev >= 0, nxt < n_acq
        prev_i = np.where(has_prev, prev, nxt).astype(np.intp)  # nearest clear one when one side is missing
        next_i = np.where(has_next, nxt, prev).astype(np.intp)
        known = has_prev | has_next
        prev_i[~known] = 0
        next_i[~known] = 0
        span = acquisition_days[next_i] - acquisition_days[prev_i]
        weight = np.divide(day - acquisition_days[prev_i], span, out=np.zeros(n_pix), where=span > 0)
        v_prev = flat_values[prev_i, pixels].astype(np.float32)
        v_next = flat_values[next_i, pixels].astype(np.float32)
        filled = v_prev + weight.astype(np.float32)[:, None] * (v_next - v_prev)
        filled = np.clip(np.rint(filled), _INT16_MIN, _INT16_MAX).astype(np.int16)
        filled[filled == nodata] = nodata + (1 if nodata < _INT16_MAX else -1)  # a filled value never reads as nodata
        filled[~known] = nodata
        out[t] = filled.reshape(h, w, n_bands)
    return out
