"""The gap-fill input: one folder per acquisition date, validated before anything is computed.

Layout of ``ACQ_DIR`` (one tile)::

    ACQ_DIR/
      YYYYMMDD/              one folder per acquisition date (exactly 8 digits, a valid date)
        B2.tif B3.tif B4.tif B8.tif              10 m bands
        B5.tif B6.tif B7.tif B8A.tif B11.tif B12.tif
                                                 20 m bands (or already on the 10 m grid: used as is)
        SCL.tif              Sen2Cor scene classification, 20 m or 10 m; or
        CLM.tif              MAJA/Theia cloud flags (CLM_R1 / CLM_R2), 10 m or 20 m (SCL wins if both)
      anything else          plain files (e.g. labels.tif) are ignored; other folders are an error

Every band is one single-band GeoTIFF of surface reflectance x 10 000 (int16 or uint16; for Sen2Cor
processing baseline >= 04.00 the BOA_ADD_OFFSET must already be applied). A band value equal to the
file's nodata value (0 when the file sets none) is not clear. The 10 m grid is the one of the first date's
B2.tif; every 10 m file must have exactly that grid, every 20 m file the same CRS and top-left corner with
twice the pixel size and ceil(H / 2) x ceil(W / 2) pixels. Which mask values count as clear: see
:mod:`.masks`.
"""

from __future__ import annotations

import math
import re
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
from rasterio.crs import CRS
from rasterio.transform import Affine
from rasterio.windows import Window

from ..data.tiles import S2_BANDS, open_raster
from ..errors import InputFormatError, InputNotFoundError
from .interpolate import to_days
from .masks import clm_clear, scl_clear
from .resample import HALO, pad_to_halo, upsample2x_bicubic, upsample2x_nearest, upsample2x_touches

__all__ = ["BANDS_10M", "BANDS_20M", "MASK_KINDS", "Grid", "Acquisition", "AcquisitionSet",
           "scan_acquisitions", "read_acquisition_block", "close_open_files"]

BANDS_10M = ("B2", "B3", "B4", "B8")
BANDS_20M = ("B5", "B6", "B7", "B8A", "B11", "B12")
MASK_KINDS = ("SCL", "CLM")  # in order of preference
_DATE_FOLDER = re.compile(r"^\d{8}$")


@dataclass(frozen=True)
class Grid:
    """The 10 m output grid of a tile."""

    crs: CRS
    transform: Affine
    height: int
    width: int


@dataclass(frozen=True)
class RasterFile:
    """One input file of an acquisition: ``scale`` 1 on the 10 m grid, 2 on the 20 m grid."""

    path: Path
    scale: int
    nodata: float | None


@dataclass(frozen=True)
class Acquisition:
    """One date: its bands in :data:`~landcover_hpc.data.tiles.S2_BANDS` order and its validity mask."""

    date: str  # YYYYMMDD
    bands: tuple[RasterFile, ...]
    mask: RasterFile
    mask_kind: str  # "SCL" or "CLM"


@dataclass(frozen=True)
class AcquisitionSet:
    """All acquisitions of a tile, sorted by date, on one validated grid."""

    folder: Path
    grid: Grid
    acquisitions: tuple[Acquisition, ...]

    @property
    def dates(self) -> tuple[str, ...]:
        return tuple(a.date for a in self.acquisitions)

    @property
    def days(self) -> np.ndarray:
        return to_days(self.dates)


def _date_folders(acq_dir: Path) -> list[Path]:
    if not acq_dir.is_dir():
        raise InputNotFoundError(f"acquisition folder {acq_dir} not found: pass --input ACQ_DIR holding "
                                 "one YYYYMMDD/ folder per date (see landcover_hpc.gapfill.acquisitions)")
    folders = sorted(p for p in acq_dir.iterdir() if p.is_dir() and not p.name.startswith("."))
    for folder in folders:
        valid = bool(_DATE_FOLDER.match(folder.name))
        if valid:
            try:
                to_days([folder.name])
            except ValueError:
                valid = False
        if not valid:
            raise InputFormatError(f"{folder}: folder name {folder.name!r} is not an acquisition date YYYYMMDD "
                                   f"(e.g. 20180105): rename it or move it out of {acq_dir}")
    if not folders:
        raise InputNotFoundError(f"{acq_dir}: no YYYYMMDD/ acquisition folder inside")
    return folders


def _describe(path: Path, grid: Grid | None) -> tuple[RasterFile, Grid]:
    if not path.is_file():
        raise InputNotFoundError(f"{path} not found: every acquisition folder needs "
                                 f"{' '.join(b + '.tif' for b in S2_BANDS)} and SCL.tif or CLM.tif")
    with open_raster(path) as src:
        if src.count != 1:
            raise InputFormatError(f"{path}: {src.count} bands, expected 1 (one file per band)")
        if src.crs is None:
            raise InputFormatError(f"{path}: no CRS: set the tile's projected CRS (e.g. gdal_edit.py -a_srs)")
        if grid is None:
            grid = Grid(src.crs, src.transform, src.height, src.width)
        t, g = src.transform, grid.transform
        if src.crs != grid.crs:
            raise InputFormatError(f"{path}: CRS {src.crs} differs from the tile's {grid.crs} (first B2.tif)")
        same_corner = math.isclose(t.c, g.c, abs_tol=1e-6 * abs(g.a)) and math.isclose(t.f, g.f, abs_tol=1e-6 * abs(g.a))
        scale = None
        for s in (1, 2):
            if (same_corner and t.b == 0 and t.d == 0 and math.isclose(t.a, s * g.a) and math.isclose(t.e, s * g.e)
                    and (src.height, src.width) == (-(-grid.height // s), -(-grid.width // s))):
                scale = s
        if scale is None:
            raise InputFormatError(
                f"{path}: grid {src.width}x{src.height} {tuple(t)[:6]} is neither the tile's 10 m grid "
                f"{grid.width}x{grid.height} {tuple(g)[:6]} nor the 20 m grid with the same top-left corner")
        return RasterFile(path, scale, src.nodata), grid


def scan_acquisitions(acq_dir: str | Path) -> AcquisitionSet:
    """List and validate every acquisition of ``acq_dir`` (opens each file once, reads no pixel)."""
    acq_dir = Path(acq_dir)
    grid: Grid | None = None
    acquisitions = []
    for folder in _date_folders(acq_dir):
        bands = []
        for band in S2_BANDS:
            described, grid = _describe(folder / f"{band}.tif", grid)
            bands.append(described)
        kind = next((k for k in MASK_KINDS if (folder / f"{k}.tif").is_file()), None)
        if kind is None:
            raise InputNotFoundError(f"{folder}: no SCL.tif or CLM.tif: every acquisition needs a validity mask")
        mask, grid = _describe(folder / f"{kind}.tif", grid)
        acquisitions.append(Acquisition(folder.name, tuple(bands), mask, kind))
    assert grid is not None
    return AcquisitionSet(acq_dir, grid, tuple(acquisitions))


# Open input files, kept between blocks of one process: opening a GeoTIFF costs about 1 ms, and a block reads
# every file of the tile (11 per acquisition). Bounded by the process's file-descriptor limit.
_OPEN: OrderedDict = OrderedDict()


def _max_open_files() -> int:
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft != resource.RLIM_INFINITY and (hard == resource.RLIM_INFINITY or hard > soft):
            wanted = 65536 if hard == resource.RLIM_INFINITY else min(hard, 65536)
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
        return max(16, min(int(soft), 65536) // 2 - 64)
    except (ImportError, ValueError, OSError):
        return 256


_CAPACITY: list[int] = []


def _open(path: Path):
    src = _OPEN.get(path)
    if src is not None:
        _OPEN.move_to_end(path)
        return src
    if not _CAPACITY:
        _CAPACITY.append(_max_open_files())
    while len(_OPEN) >= _CAPACITY[0]:
        _OPEN.popitem(last=False)[1].close()
    src = _OPEN[path] = rasterio.open(path)
    return src


def close_open_files() -> None:
    """Close the input files this process keeps open between blocks."""
    while _OPEN:
        _OPEN.popitem()[1].close()


def _read_clipped(src, row0: int, col0: int, row1: int, col1: int) -> np.ndarray:
    """Rows/cols [row0, row1) x [col0, col1) of band 1, edge pixels repeated where outside the raster."""
    r0, c0 = max(row0, 0), max(col0, 0)
    r1, c1 = min(row1, src.height), min(col1, src.width)
    data = src.read(1, window=Window(c0, r0, c1 - c0, r1 - r0))
    return pad_to_halo(data, (r0 - row0, c0 - col0), (row1 - r1, col1 - c1))


def read_acquisition_block(acquisition: Acquisition, row0: int, col0: int, height: int, width: int,
                           snow_is_clear: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """One date of one 10 m block: (height, width, C) float32 reflectance x 1e4 and (height, width) clear.

    ``row0`` and ``col0`` must be even (blocks start on 20 m pixel boundaries). 20 m bands are read with a
    halo of HALO pixels so that the bicubic values equal those of a whole-tile run.
    """
    values = np.empty((height, width, len(acquisition.bands)), dtype=np.float32)
    has_data = np.ones((height, width), dtype=bool)
    for c, band in enumerate(acquisition.bands):
        nodata = 0 if band.nodata is None else band.nodata
        src = _open(band.path)
        if band.scale == 1:
            data = src.read(1, window=Window(col0, row0, width, height))
            values[..., c] = data
            has_data &= data != nodata
        else:
            r20, c20 = row0 // 2 - HALO, col0 // 2 - HALO
            padded = _read_clipped(src, r20, c20, (row0 + height + 1) // 2 + HALO, (col0 + width + 1) // 2 + HALO)
            values[..., c] = upsample2x_bicubic(padded, height, width)
            has_data &= ~upsample2x_touches(padded == nodata, height, width)
    src = _open(acquisition.mask.path)
    if acquisition.mask.scale == 1:
        flags = src.read(1, window=Window(col0, row0, width, height))
    else:
        flags = src.read(1, window=Window(col0 // 2, row0 // 2, (width + 1) // 2, (height + 1) // 2))
        flags = upsample2x_nearest(flags, height, width)
    clear = scl_clear(flags, snow_is_clear) if acquisition.mask_kind == "SCL" else clm_clear(flags)
    return values, clear & has_data
