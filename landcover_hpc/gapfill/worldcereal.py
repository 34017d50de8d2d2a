"""Converter: a WorldCereal test patch (NetCDF-4) -> the gap-fill acquisition layout + labels.tif.

A patch folder holds ``S2_L2A_10m_*.nc`` (B02 B03 B04 B08, T x H x W uint16), ``S2_L2A_20m_*.nc`` (B05 B06
B07 B8A B11 B12 and SCL, T x H/2 x W/2) and ``OUTPUT_POLY-110_10m_*.nc`` (LC land-cover codes), read with
h5py (NetCDF-4 is HDF5). Reflectance is ``DN * scale_factor + add_offset`` (both files use 1e-4, so that
reflectance x 1e4 is the DN itself); DN == ``_FillValue`` is no data, written as -10000. The grid comes from
the root attributes ``epsg`` and ``bounds`` (xmin, ymin, xmax, ymax) and is checked against the pixel-centre
coordinates ``x`` and ``y``. Dates are the UTC day of ``timestamp`` (CF ``seconds since ...``).

``labels.tif``: LC codes (11 cropland, 13 grassland, 60 built-up) on the 10 m grid, 99 (unlabelled) and
the fill value 0 written as 0.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio
from rasterio.crs import CRS
from rasterio.transform import from_origin

from ..errors import InputFormatError, InputNotFoundError
from ..io import atomic_path
from ..progress import Progress

__all__ = ["WORLDCEREAL_BANDS", "LC_UNLABELLED", "convert_patch"]

# gap-fill band name -> (file, variable)
WORLDCEREAL_BANDS = {
    "B2": ("10m", "B02"), "B3": ("10m", "B03"), "B4": ("10m", "B04"), "B8": ("10m", "B08"),
    "B5": ("20m", "B05"), "B6": ("20m", "B06"), "B7": ("20m", "B07"), "B8A": ("20m", "B8A"),
    "B11": ("20m", "B11"), "B12": ("20m", "B12"),
}
LC_UNLABELLED = 99
NODATA = -10000


def _one(patch_dir: Path, pattern: str) -> Path:
    found = sorted(patch_dir.glob(pattern))
    if len(found) != 1:
        raise InputNotFoundError(f"{patch_dir}: expected one {pattern} file, found {len(found)}: "
                                 "is this a WorldCereal patch folder?")
    return found[0]


def _text(value) -> str:
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.ndarray) and value.dtype.kind in "SO":
        return _text(value.ravel()[0])
    return str(value)


def _numbers(value) -> np.ndarray:
    if isinstance(value, (str, bytes, np.bytes_)):
        return np.array([float(v) for v in _text(value).strip("()[] ").split(",")])
    return np.atleast_1d(np.asarray(value, dtype=np.float64))


def _grid(h5, path: Path, resolution: float):
    try:
        epsg = int(float(_text(h5.attrs["epsg"])))
        xmin, ymin, xmax, ymax = _numbers(h5.attrs["bounds"])
    except (KeyError, ValueError) as exc:
        raise InputFormatError(f"{path}: missing or unreadable epsg/bounds attribute ({exc})") from None
    x, y = h5["x"][...], h5["y"][...]
    expected_x = xmin + resolution * (np.arange(len(x)) + 0.5)
    expected_y = ymax - resolution * (np.arange(len(y)) + 0.5)
    if not (np.allclose(x, expected_x, atol=1e-3) and np.allclose(y, expected_y, atol=1e-3)):
        raise InputFormatError(f"{path}: x/y pixel-centre coordinates do not match bounds {xmin, ymin, xmax, ymax} "
                               f"at {resolution} m")
    return CRS.from_epsg(epsg), from_origin(xmin, ymax, resolution, resolution)


def _dates(h5, path: Path) -> list[str]:
    units = _text(h5["timestamp"].attrs.get("units", ""))
    if not units.startswith("seconds since "):
        raise InputFormatError(f"{path}: timestamp units {units!r}, expected 'seconds since YYYY-MM-DD hh:mm:ss'")
    origin = np.datetime64(units[len("seconds since "):].strip().replace(" ", "T"), "s")
    times = origin + h5["timestamp"][...].astype("timedelta64[s]")
    return [str(t.astype("datetime64[D]")).replace("-", "") for t in times]


def _reflectance(dataset, path: Path) -> np.ndarray:
    """(T, h, w) int16 reflectance x 1e4, -10000 where the DN is the fill value."""
    dn = dataset[...]
    scale = float(_numbers(dataset.attrs.get("scale_factor", 1.0))[0])
    offset = float(_numbers(dataset.attrs.get("add_offset", 0.0))[0])
    fill = dataset.attrs.get("_FillValue")
    reflectance = np.rint((dn.astype(np.float64) * scale + offset) * 10000.0)
    if np.nanmax(reflectance) > 32767 or scale > 0.01:
        raise InputFormatError(f"{path}: {dataset.name} scale_factor {scale}, add_offset {offset} do not give "
                               "reflectance in [0, 3.2767]: not an L2A reflectance band")
    out = reflectance.astype(np.int16)
    if fill is not None:
        out[dn == _numbers(fill)[0]] = NODATA
    return out


def _write(path: Path, data: np.ndarray, crs: CRS, transform, nodata) -> None:
    profile = {"driver": "GTiff", "dtype": data.dtype.name, "count": 1, "height": data.shape[0],
               "width": data.shape[1], "crs": crs, "transform": transform, "nodata": nodata, "compress": "deflate"}
    with atomic_path(path) as tmp, rasterio.open(tmp, "w", **profile) as dst:
        dst.write(data, 1)


def convert_patch(patch_dir: str | Path, acq_dir: str | Path, labels_path: str | Path | None = None, *,
                  show_progress: bool = True) -> dict:
    """Write ``acq_dir/<YYYYMMDD>/{B2..B12,SCL}.tif`` and ``labels_path`` (default ``acq_dir/labels.tif``)."""
    import h5py

    patch_dir, acq_dir = Path(patch_dir), Path(acq_dir)
    if not patch_dir.is_dir():
        raise InputNotFoundError(f"WorldCereal patch folder {patch_dir} not found")
    labels_path = Path(labels_path) if labels_path is not None else acq_dir / "labels.tif"
    paths = {"10m": _one(patch_dir, "S2_L2A_10m_*.nc"), "20m": _one(patch_dir, "S2_L2A_20m_*.nc"),
             "labels": _one(patch_dir, "OUTPUT_POLY-*_10m_*.nc")}
    try:
        files = {key: h5py.File(path, "r") for key, path in paths.items()}
    except OSError as exc:
        raise InputFormatError(f"{patch_dir}: a NetCDF file is not readable as HDF5 ({exc})") from None
    try:
        grids = {"10m": _grid(files["10m"], paths["10m"], 10.0), "20m": _grid(files["20m"], paths["20m"], 20.0)}
        dates = _dates(files["10m"], paths["10m"])
        if _dates(files["20m"], paths["20m"]) != dates:
            raise InputFormatError(f"{paths['20m']}: acquisition dates differ from {paths['10m']}")
        if len(set(dates)) != len(dates):
            raise InputFormatError(f"{paths['10m']}: two acquisitions on one day: the layout has one folder per date")
        bands = {band: _reflectance(files[res][var], paths[res]) for band, (res, var) in WORLDCEREAL_BANDS.items()}
        scl = files["20m"]["SCL"][...].astype(np.uint8)
        land_cover = files["labels"]["LC"][...]
        label_crs, label_transform = _grid(files["labels"], paths["labels"], 10.0)
    except KeyError as exc:
        raise InputFormatError(f"{patch_dir}: variable or attribute {exc} missing from a NetCDF file") from None
    finally:
        for f in files.values():
            f.close()
    progress = Progress(f"worldcereal {patch_dir.name}", len(dates), "dates", enabled=show_progress)
    for t, date in enumerate(dates):
        for band, (res, _) in WORLDCEREAL_BANDS.items():
            _write(acq_dir / date / f"{band}.tif", bands[band][t], *grids[res], NODATA)
        _write(acq_dir / date / "SCL.tif", scl[t], *grids["20m"], 0)
        progress.update(1)
    labels = np.where(land_cover == LC_UNLABELLED, 0, land_cover).astype(np.uint8)
    _write(labels_path, labels, label_crs, label_transform, None)
    codes, counts = np.unique(labels, return_counts=True)
    return {"patch": patch_dir.name, "acquisitions": len(dates), "first": dates[0], "last": dates[-1],
            "acq_dir": str(acq_dir), "labels": str(labels_path),
            "label_pixels": {int(c): int(n) for c, n in zip(codes, counts) if c != 0}}
