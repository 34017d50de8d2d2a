"""Window plan of the tiled predictor: overlapping windows and the core each one contributes.

Along each axis of length L, windows of ``size`` px start every ``size - overlap`` px, so that neighbouring
windows share ``overlap`` px, as in the paper (3.4: 512 px patches "extracted with an overlap of 16 pixels").
Starts are multiples of ``align``, the model's total down-sampling, so that every window sees the same
pooling grid as a whole-image pass. Each output pixel is taken from the window where it is farthest from the
border: two neighbours split their shared strip in the middle, so a kept pixel is at least ``overlap / 2``
px away from its window's border, except along the tile's own edges, where no window can do better. The
last window of an axis is shortened to end at the tile's edge rounded up to ``align`` (rather than moved
back over its neighbour, which on a 10 980 px tile would compute 1.15 px per map pixel instead of 1.065);
the few pixels beyond the tile are padded by replicating the edge, exactly as a whole-image pass does.
A tile thus has at most four window shapes (interior, right column, bottom row, corner).

The overlap trades speed for exactness: interior windows compute (size / (size - overlap))^2 px per map
pixel, 1.065 for 512 px windows sharing 16 px. With FG-UNET, sharing 8 px (4 px margins) gives 99.998 % of
the pixels of a whole-image pass and sharing 16 px 100.000 % (rounded; benchmarks/README.md, "Prediction").
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ConfigError

__all__ = ["PredictionWindow", "axis_plan", "plan_windows", "padded_length"]


@dataclass(frozen=True)
class PredictionWindow:
    """A window to predict and the part of it that goes to the map (all in tile pixel coordinates).

    ``row, col, height, width``: the window read (may extend up to ``align - 1`` px beyond the tile's
    bottom/right edge, which is padded); ``core_*``: the output rectangle taken from it.
    """

    index: int
    row: int
    col: int
    height: int
    width: int
    core_row: int
    core_col: int
    core_height: int
    core_width: int

    @property
    def crop(self) -> tuple[slice, slice]:
        """Slices of the window's prediction that hold the core."""
        r, c = self.core_row - self.row, self.core_col - self.col
        return slice(r, r + self.core_height), slice(c, c + self.core_width)


def padded_length(length: int, align: int = 4) -> int:
    return -(-length // align) * align


def axis_plan(length: int, size: int, overlap: int, align: int = 4) -> list[tuple[int, int, int, int]]:
    """Windows along one axis: (start, window length, core start, core end), cores tiling [0, length).

    Raises:
        ConfigError: window size not a multiple of ``align`` or too small for the overlap.
    """
    if size % align or size <= 0:
        raise ConfigError(f"window size {size}: must be a positive multiple of {align}")
    if overlap < 0 or overlap % align or size - overlap < align:
        raise ConfigError(f"overlap {overlap}: must be >= 0, a multiple of {align} and at most {size - align} "
                          f"in a {size} px window")
    total = padded_length(length, align)
    if total <= size:
        return [(0, total, 0, length)]
    step = size - overlap
    starts = list(range(0, total - size, step))
    starts.append(starts[-1] + step)  # the last window, shortened to end at the (padded) tile edge
    lengths = [min(size, total - s) for s in starts]
    # neighbours split their shared strip [start_i, start_{i-1} + size) in the middle (both ends multiples of 4)
    bounds = [0] + [(s + prev + size) // 2 for prev, s in zip(starts, starts[1:])] + [length]
    return [(s, n, bounds[i], bounds[i + 1]) for i, (s, n) in enumerate(zip(starts, lengths))]


def plan_windows(height: int, width: int, size: int = 512, overlap: int = 16, align: int = 4) -> list[PredictionWindow]:
    """Every window of a tile, row-major; their cores partition the tile exactly."""
    rows = axis_plan(height, size, overlap, align)
    cols = axis_plan(width, size, overlap, align)
    windows = []
    for r, h, cr0, cr1 in rows:
        for c, w, cc0, cc1 in cols:
            windows.append(PredictionWindow(len(windows), r, c, h, w, cr0, cc0, cr1 - cr0, cc1 - cc0))
    return windows
