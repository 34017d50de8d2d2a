"""20 m -> 10 m resampling on Sentinel-2 grids (pure numpy, no I/O).

Both grids share their top-left corner (true of Sentinel-2 tiles). Pixel *centres* are what is sampled:
the centre of 10 m pixel ``i`` lies at ``(i + 0.5) * 10`` m from the corner, i.e. at coordinate
``i / 2 - 0.25`` in 20 m pixel units whose centres are the integers. So even 10 m rows sample a quarter
pixel before a 20 m centre and odd rows a quarter after; each 10 m value comes from 4 x 4 20 m pixels.

Bicubic is Keys' cubic convolution with a = -0.5 (the kernel of GDAL's ``cubic``), exact for polynomials up
to degree 2. Beyond the tile edges the 20 m field is extended by repeating its edge pixels: the arrays given
here must already hold ``HALO`` extra 20 m pixels on each side (real neighbours inside the tile, repeated
edge pixels outside it; :func:`pad_to_halo` builds them), so that a block gives exactly the values of the
whole tile. Masks are upsampled by nearest neighbour: a 20 m pixel covers 2 x 2 10 m pixels.
"""

from __future__ import annotations

import numpy as np

__all__ = ["HALO", "keys_weights", "pad_to_halo", "upsample2x_bicubic", "upsample2x_nearest", "upsample2x_touches"]

HALO = 2  # 20 m pixels each side needed by the 4-tap kernel


def _keys(distance: np.ndarray, a: float = -0.5) -> np.ndarray:
    x = np.abs(distance)
    near = ((a + 2) * x - (a + 3)) * x * x + 1
    far = ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    return np.where(x <= 1, near, np.where(x < 2, far, 0.0))


def keys_weights() -> np.ndarray:
    """(2, 4) float64 weights of the 4 taps for even (row 0) and odd (row 1) 10 m pixels.

    Even pixel ``2k`` sits at 20 m coordinate ``k - 0.25``: taps ``k-2 .. k+1``; odd pixel ``2k + 1`` at
    ``k + 0.25``: taps ``k-1 .. k+2``.
    """
    even = _keys(np.array([-2, -1, 0, 1]) - (-0.25))
    odd = _keys(np.array([-1, 0, 1, 2]) - 0.25)
    return np.stack([even, odd])


_WEIGHTS = keys_weights().astype(np.float32)


def _tap_starts(n_out: int) -> np.ndarray:
    # in an array padded by HALO, output i = 2k + p has its first tap at padded index k + p
    out = np.arange(n_out)
    return out // 2 + out % 2


def _along(axis: int, ndim: int, index) -> tuple:
    return (slice(None),) * axis + (index,) + (slice(None),) * (ndim - axis - 1)


def _upsample_axis(field: np.ndarray, n_out: int, axis: int) -> np.ndarray:
    # even outputs 2k take padded[k .. k+3], odd outputs 2k+1 take padded[k+1 .. k+4]: plain slices
    n_even, n_odd = (n_out + 1) // 2, n_out // 2
    result = np.empty(field.shape[:axis] + (n_out,) + field.shape[axis + 1:], dtype=np.float32)
    for parity, n_parity in ((0, n_even), (1, n_odd)):
        acc = None
        for tap in range(4):
            first = parity + tap
            term = field[_along(axis, field.ndim, slice(first, first + n_parity))] * _WEIGHTS[parity, tap]
            acc = term if acc is None else acc + term
        result[_along(axis, field.ndim, slice(parity, None, 2))] = acc
    return result


def upsample2x_bicubic(padded: np.ndarray, height: int, width: int) -> np.ndarray:
    """Bicubic 2x upsampling of a 20 m field onto the 10 m grid.

    Args:
        padded: (..., h20 + 2 * HALO, w20 + 2 * HALO) the 20 m pixels covering the output block plus HALO
            on each side; its pixel ``HALO`` is 20 m pixel ``row0 / 2`` (the block starts on an even row
            and column).
        height, width: size of the 10 m output block (<= 2 * h20, 2 * w20).

    Returns:
        (..., height, width) float32.
    """
    rows = _upsample_axis(padded.astype(np.float32, copy=False), height, padded.ndim - 2)
    return _upsample_axis(rows, width, padded.ndim - 1)


def upsample2x_touches(padded: np.ndarray, height: int, width: int) -> np.ndarray:
    """(..., height, width) bool: True where any 20 m pixel of the bicubic support is True (same layout)."""
    result = np.zeros(padded.shape[:-2] + (height, width), dtype=bool)
    row_starts, col_starts = _tap_starts(height), _tap_starts(width)
    for i in range(4):
        rows = np.take(padded, row_starts + i, axis=-2)
        for j in range(4):
            result |= np.take(rows, col_starts + j, axis=-1)
    return result


def upsample2x_nearest(field: np.ndarray, height: int, width: int) -> np.ndarray:
    """(..., height, width): each 20 m pixel of ``field`` (no halo) repeated over its 2 x 2 10 m pixels."""
    return np.repeat(np.repeat(field, 2, axis=-2), 2, axis=-1)[..., :height, :width]


def pad_to_halo(read: np.ndarray, missing_before: tuple[int, int], missing_after: tuple[int, int]) -> np.ndarray:
    """Extend a window read inside the tile by repeating edge pixels where it was clipped at the tile edge.

    ``missing_before`` / ``missing_after``: (rows, cols) of the wanted window that lie outside the tile.
    """
    pad = [(0, 0)] * (read.ndim - 2) + [(missing_before[0], missing_after[0]), (missing_before[1], missing_after[1])]
    return np.pad(read, pad, mode="edge")
