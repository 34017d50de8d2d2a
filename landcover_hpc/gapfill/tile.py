"""``landcover-gapfill`` driver: one tile's acquisitions -> ``stack.tif`` + ``validity.tif``, block by block.

The tile is cut into square blocks (``block`` px, 256 by default). A worker reads one block's whole time
series (20 m bands with a 2-pixel halo), upsamples, masks and interpolates it and hands back the block of
the output; the parent process is the only writer. Memory per worker is about
``N_acq x block^2 x C x 4`` bytes (100 acquisitions, 256 px blocks: 0.26 GB), whatever the tile size; the
parent holds at most ``2 x processes`` finished blocks. Blocks start on even rows and columns and the
halo makes every block exactly equal to the same pixels of a one-block run.

Outputs, in ``OUT_DIR`` (the tile input format of :mod:`landcover_hpc.data.tiles`):

``stack.tif``
    T*C int16 bands, reflectance x 1e4, date-major, descriptions ``YYYYMMDD_<band>``, nodata -10000
    (pixels never clear), tiled, DEFLATE-compressed (level 1, horizontal predictor), BigTIFF when needed.
``validity.tif``
    uint16, per pixel the number of clear acquisitions that were interpolated (0: the pixel is nodata).
"""

from __future__ import annotations

import logging
import math
import multiprocessing
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
from rasterio.windows import Window

from ..data.blocks import iter_blocks
from ..data.tiles import S2_BANDS
from ..errors import ConfigError
from ..io import atomic_path
from ..parallel import available_cores, world
from ..progress import Progress
from .acquisitions import AcquisitionSet, close_open_files, read_acquisition_block, scan_acquisitions
from .interpolate import date_grid, interpolate_block, to_days

__all__ = ["GapfillOptions", "gapfill_tile", "resolve_dates", "gapfill_block"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GapfillOptions:
    """Options of ``landcover-gapfill``.

    The date grid runs from ``start`` to ``end`` (both ``YYYYMMDD``, ``end`` included if on the grid) every
    ``step`` days. Without ``start``: 1 January of ``year``, itself by default the year of the median
    acquisition date; without ``end``: ``start + 32 * step`` days, i.e. 33 dates (the paper's), which with
    the default step of 11 days span 1 January .. 19 December.
    """

    start: str | None = None
    end: str | None = None
    step: int = 11
    year: int | None = None
    block: int = 256  # side of processing blocks, px (a multiple of 16)
    processes: int | None = None  # None: every core this process may use
    snow_is_clear: bool = True
    nodata: int = -10000

    def validate(self) -> None:
        checks = [
            (self.step >= 1, "step", ">= 1 day"),
            (self.block >= 16 and self.block % 16 == 0, "block", "a multiple of 16, >= 16"),
            (self.processes is None or self.processes >= 1, "processes", ">= 1"),
            (self.year is None or 1 <= self.year <= 9999, "year", "a year such as 2018"),
            (-32768 <= self.nodata <= 32767, "nodata", "an int16 value"),
        ]
        for ok, key, allowed in checks:
            if not ok:
                raise ConfigError(f"gapfill option {key}={getattr(self, key)!r}: must be {allowed}")
        if self.year is not None and self.start is not None:
            raise ConfigError(f"gapfill options year={self.year} and start={self.start}: give one of them")

    def n_processes(self) -> int:
        if self.processes is not None:
            return self.processes
        return available_cores()


def resolve_dates(options: GapfillOptions, acquisition_dates: tuple[str, ...]) -> tuple[str, ...]:
    """The output date grid (``YYYYMMDD``) of a tile."""
    start = options.start
    if start is None:
        year = options.year if options.year is not None else int(acquisition_dates[len(acquisition_dates) // 2][:4])
        start = f"{year:04d}0101"
    end = options.end
    if end is None:
        try:
            end = str(np.datetime64(f"{start[:4]}-{start[4:6]}-{start[6:8]}", "D") + 32 * options.step).replace("-", "")
        except ValueError:
            raise ConfigError(f"gapfill option start={start!r}: must be a date YYYYMMDD") from None
    return date_grid(start, end, options.step)


def gapfill_block(acquisitions: AcquisitionSet, target_days: np.ndarray, window: tuple[int, int, int, int],
                  snow_is_clear: bool = True, nodata: int = -10000) -> tuple[np.ndarray, np.ndarray]:
    """One block: (T*C, h, w) int16 stack bands (date-major) and (h, w) uint16 clear-acquisition counts."""
    row, col, h, w = window
    n_acq, n_bands = len(acquisitions.acquisitions), len(S2_BANDS)
    values = np.empty((n_acq, h, w, n_bands), dtype=np.float32)
    clear = np.empty((n_acq, h, w), dtype=bool)
    for i, acquisition in enumerate(acquisitions.acquisitions):
        values[i], clear[i] = read_acquisition_block(acquisition, row, col, h, w, snow_is_clear)
    filled = interpolate_block(values, clear, acquisitions.days, target_days, nodata)  # (T, h, w, C)
    stack = np.ascontiguousarray(filled.transpose(0, 3, 1, 2)).reshape(-1, h, w)
    counts = np.minimum(clear.sum(axis=0), np.iinfo(np.uint16).max).astype(np.uint16)
    return stack, counts


# per-worker state, set once by the pool initializer (spawned workers share nothing with the parent)
_WORKER: dict = {}


def _init_worker(acquisitions: AcquisitionSet, target_days: np.ndarray, snow_is_clear: bool, nodata: int) -> None:
    _WORKER.update(acquisitions=acquisitions, target_days=target_days, snow_is_clear=snow_is_clear, nodata=nodata)


def _work(window: tuple[int, int, int, int]):
    return window, gapfill_block(_WORKER["acquisitions"], _WORKER["target_days"], window,
                                 _WORKER["snow_is_clear"], _WORKER["nodata"])


def _profile(acquisitions: AcquisitionSet, count: int, dtype: str, block: int, nodata: int | None) -> dict:
    grid = acquisitions.grid
    tiff_block = math.gcd(block, 256)
    return {
        "driver": "GTiff", "dtype": dtype, "count": count, "height": grid.height, "width": grid.width,
        "crs": grid.crs, "transform": grid.transform, "nodata": nodata,
        "tiled": True, "blockxsize": tiff_block, "blockysize": tiff_block,
        # DEFLATE level 1: 8x faster than the default level 6 on these stacks, files about 25 % larger
        "compress": "deflate", "zlevel": 1, "predictor": 2, "interleave": "band", "BIGTIFF": "IF_SAFER",
    }


def gapfill_tile(acq_dir: str | Path, out_dir: str | Path, options: GapfillOptions = GapfillOptions(), *,
                 show_progress: bool = True) -> dict:
    """Gap-fill one tile's acquisitions into ``out_dir/stack.tif`` and ``out_dir/validity.tif``.

    Returns a summary (dates, sizes, clear fraction). Raises LandcoverError subclasses for bad input or
    options; nothing is left in ``out_dir`` then.
    """
    options.validate()
    acquisitions = scan_acquisitions(acq_dir)
    dates = resolve_dates(options, acquisitions.dates)
    target_days = to_days(dates)
    grid = acquisitions.grid
    out_dir = Path(out_dir)
    windows = list(iter_blocks(grid.height, grid.width, options.block))
    n_processes = min(options.n_processes(), len(windows))
    _, rank, _ = world()
    progress = Progress(f"gapfill {out_dir.name}", grid.height * grid.width, "px",
                        enabled=show_progress and rank == 0, logger=log)
    n_bands = len(S2_BANDS)
    stack_profile = _profile(acquisitions, len(dates) * n_bands, "int16", options.block, options.nodata)
    validity_profile = _profile(acquisitions, 1, "uint16", options.block, None)
    pool = None
    if n_processes > 1:
        # spawn, not fork: the parent may hold GDAL handles or threads (TensorFlow) that fork would copy
        pool = multiprocessing.get_context("spawn").Pool(
            n_processes, initializer=_init_worker,
            initargs=(acquisitions, target_days, options.snow_is_clear, options.nodata))
    clear_pixels = 0
    try:
        with atomic_path(out_dir / "stack.tif") as stack_tmp, atomic_path(out_dir / "validity.tif") as validity_tmp:
            with rasterio.open(stack_tmp, "w", **stack_profile) as stack_dst, \
                    rasterio.open(validity_tmp, "w", **validity_profile) as validity_dst:
                stack_dst.descriptions = tuple(f"{d}_{b}" for d in dates for b in S2_BANDS)
                stack_dst.update_tags(gapfill_source=str(Path(acq_dir).resolve()),
                                      gapfill_acquisitions=",".join(acquisitions.dates),
                                      gapfill_masks=",".join(sorted({a.mask_kind for a in acquisitions.acquisitions})),
                                      gapfill_snow_is_clear=str(options.snow_is_clear))
                validity_dst.set_band_description(1, "clear_acquisitions")
                for window, (stack, counts) in _results(pool, windows, acquisitions, target_days, options, n_processes):
                    row, col, h, w = window
                    target = Window(col, row, w, h)
                    stack_dst.write(stack, window=target)
                    validity_dst.write(counts, 1, window=target)
                    clear_pixels += int(np.count_nonzero(counts))
                    progress.update(h * w)
    finally:
        close_open_files()
        if pool is not None:
            pool.terminate()
            pool.join()
    return {
        "tile": out_dir.name, "stack": str(out_dir / "stack.tif"), "validity": str(out_dir / "validity.tif"),
        "height": grid.height, "width": grid.width, "acquisitions": len(acquisitions.acquisitions),
        "dates": list(dates), "bands": list(S2_BANDS), "processes": n_processes,
        "clear_fraction": clear_pixels / (grid.height * grid.width),
    }


def _results(pool, windows, acquisitions, target_days, options, n_processes):
    """Finished blocks in order; at most 2 x processes of them computed ahead of the writer."""
    if pool is None:
        for window in windows:
            yield window, gapfill_block(acquisitions, target_days, window, options.snow_is_clear, options.nodata)
        return
    pending: deque = deque()
    queue = iter(windows)
    for window in queue:
        pending.append(pool.apply_async(_work, (window,)))
        if len(pending) >= 2 * n_processes:
            break
    while pending:
        yield pending.popleft().get()
        nxt = next(queue, None)
        if nxt is not None:
            pending.append(pool.apply_async(_work, (nxt,)))
