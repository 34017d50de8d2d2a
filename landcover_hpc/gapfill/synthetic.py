"""Synthetic L2A acquisitions in the gap-fill layout, for tests and benchmarks (no real data needed).

Reflectance is a smooth field per band that varies with a seasonal cycle; clouds are random discs in the
SCL mask (values 8/9, shadow 3), the rest vegetation (4). Dates are irregular (a revisit of about
``365 / n_dates`` days with jitter), spread over one year from 1 January.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio
from rasterio.crs import CRS
from rasterio.transform import from_origin

from ..data.tiles import S2_BANDS
from .acquisitions import BANDS_10M

__all__ = ["write_synthetic_acquisitions", "SYNTHETIC_CRS", "SYNTHETIC_ORIGIN"]

SYNTHETIC_CRS = CRS.from_epsg(32631)
SYNTHETIC_ORIGIN = (500000.0, 5000000.0)  # top-left corner (x, y), m


def _write(path: Path, data: np.ndarray, resolution: float, nodata, block: int) -> None:
    profile = {"driver": "GTiff", "dtype": data.dtype.name, "count": 1, "height": data.shape[0],
               "width": data.shape[1], "crs": SYNTHETIC_CRS, "nodata": nodata,
               "transform": from_origin(*SYNTHETIC_ORIGIN, resolution, resolution)}
    if min(data.shape) >= block:
        profile.update(tiled=True, blockxsize=block, blockysize=block, compress="deflate")
    path.parent.mkdir(parents=True, exist_ok=True)
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data, 1)


def write_synthetic_acquisitions(acq_dir: str | Path, height: int, width: int, n_dates: int, *, year: int = 2018,
                                 cloud_fraction: float = 0.4, seed: int = 0, block: int = 256) -> tuple[str, ...]:
    """Write ``acq_dir/YYYYMMDD/{B2..B12,SCL}.tif`` (int16 reflectance x 1e4, nodata 0); return the dates."""
    rng = np.random.default_rng(seed)
    acq_dir = Path(acq_dir)
    h20, w20 = -(-height // 2), -(-width // 2)
    revisit = 365.0 / n_dates
    offsets = np.clip(np.round(np.arange(n_dates) * revisit + rng.uniform(0, revisit * 0.8, n_dates)), 0, 364)
    days = np.unique(offsets.astype(int))
    start = np.datetime64(f"{year:04d}-01-01", "D")
    dates = tuple(str(start + int(d)).replace("-", "") for d in days)
    grids = {20.0: np.mgrid[0:h20, 0:w20].astype(np.float32),
             # 10 m pixel centres in 20 m pixel units: both resolutions sample one continuous field
             10.0: np.mgrid[0:height, 0:width].astype(np.float32) / 2 - 0.25}
    yy, xx = grids[20.0]
    for day, date in zip(days, dates):
        season = np.sin(2 * np.pi * day / 365.0)
        for b, band in enumerate(S2_BANDS):
            resolution = 10.0 if band in BANDS_10M else 20.0
            y, x = grids[resolution]
            field = 1500 + 400 * b + 800 * season * np.sin(x / (7 + b)) * np.cos(y / 11) + 300 * np.cos((x + y) / 13)
            _write(acq_dir / date / f"{band}.tif", np.rint(field).astype(np.int16), resolution, 0, block)
        scl = np.full((h20, w20), 4, dtype=np.uint8)
        target = min(0.95, cloud_fraction * rng.uniform(0.0, 2.0))
        while np.mean(scl != 4) < target:
            cy, cx, r = rng.uniform(0, h20), rng.uniform(0, w20), rng.uniform(2, max(3.0, min(h20, w20) / 4))
            scl[(yy - cy) ** 2 + (xx - cx) ** 2 < r * r] = rng.choice([3, 8, 9])
        _write(acq_dir / date / "SCL.tif", scl, 20.0, None, block)
    return dates
