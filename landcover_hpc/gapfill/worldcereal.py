"""Converter: a WorldCereal test patch (NetCDF-4) -> the gap-fill acquisition layout + labels.tif.

A patch folder holds ``S2_L2A_10m_*.nc`` (B02 B03 B04 B08, T x H x W uint16), ``S2_L2A_20m_*.nc`` (B05 B06
B07 B8A B11 B12 and SCL, T x H/2 x W/2) and ``OUTPUT_POLY-110_10m_*.nc`` (LC land-cover codes), read with
h5py (NetCDF-4 is HDF5). Reflectance is ``DN * scale_factor + add_offset`` (both files use 1e-4, so that
reflectance x 1e4 is the DN itself); DN == ``_FillValue`` is no data, written as -10000. The grid comes from
the root attributes ``epsg`` and ``bounds`` (xmin, ymin, xmax, ymax) and is checked against the pixel-centre
coordinates ``x`` and ``y``. Dates are the UTC day of ``timestamp`` (CF ``seconds since ...``).

``labels.tif``: LC codes (11 cropland, 13 grassland, 60 built-up) on the 10 m grid, 99 (unlabelled) and
the fill value 0 written as 0. Its objects (connected components of one LC code) merge neighbouring parcels
of one class: in patch 0000280849BAC91C one cropland component covers 45 % of the patch. The optional
``reference.gpkg`` (``parcels_path``) separates them with the crop type CT: one polygon per connected
component (4-connectivity) of pixels sharing both LC and CT, field ``code`` = LC, ``crop_type`` = CT. The
patches carry no parcel id, so neighbouring parcels of one crop type still form one object.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import rasterio
from rasterio.crs import CRS
from rasterio.transform import from_origin

from ..errors import InputFormatError, InputNotFoundError
from ..io import atomic_path
from ..progress import Progress

__all__ = ["WORLDCEREAL_BANDS", "LC_UNLABELLED", "convert_patch", "parcel_objects"]

log = logging.getLogger(__name__)

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


def parcel_objects(land_cover: np.ndarray, crop_type: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Parcels of a patch: connected components (4-connectivity) of pixels sharing both LC and CT codes.

    Args:
        land_cover: (H, W) LC codes; 0 (fill) and 99 (unlabelled) belong to no parcel.
        crop_type: (H, W) CT codes on the same grid.

    Returns:
        (H, W) int32 parcel ids (1..n, 0 = none), (n,) LC code and (n,) CT code of each parcel.
    """
    from scipy import ndimage

    labelled = (land_cover != 0) & (land_cover != LC_UNLABELLED)
    ids = np.zeros(land_cover.shape, dtype=np.int32)
    lc_codes: list[int] = []
    ct_codes: list[int] = []
    pairs = np.unique(np.stack([land_cover[labelled], crop_type[labelled]], axis=1), axis=0)
    for lc, ct in pairs:
        components, n = ndimage.label(labelled & (land_cover == lc) & (crop_type == ct))
        ids[components > 0] = components[components > 0] + len(lc_codes)
        lc_codes.extend([int(lc)] * n)
        ct_codes.extend([int(ct)] * n)
    return ids, np.asarray(lc_codes, dtype=np.int64), np.asarray(ct_codes, dtype=np.int64)


def _write_parcels(path: Path, parcel_ids: np.ndarray, lc_codes: np.ndarray, ct_codes: np.ndarray,
                   crs: CRS, transform) -> None:
    import fiona
    from rasterio.features import shapes

    parts: dict[int, list] = {}
    for geometry, value in shapes(parcel_ids, mask=parcel_ids > 0, transform=transform, connectivity=4):
        parts.setdefault(int(value), []).append(geometry["coordinates"])
    schema = {"geometry": "MultiPolygon", "properties": {"code": "int", "crop_type": "int", "parcel": "int"}}
    with atomic_path(path) as tmp:
        tmp.unlink()  # the GPKG driver refuses to open an existing empty file
        with fiona.open(tmp, "w", driver="GPKG", schema=schema, crs_wkt=crs.to_wkt(), layer="reference") as dst:
            dst.writerecords({
                "geometry": {"type": "MultiPolygon", "coordinates": polygons},
                "properties": {"code": int(lc_codes[i - 1]), "crop_type": int(ct_codes[i - 1]), "parcel": i},
            } for i, polygons in sorted(parts.items()))


def convert_patch(patch_dir: str | Path, acq_dir: str | Path, labels_path: str | Path | None = None, *,
                  parcels_path: str | Path | None = None, show_progress: bool = True) -> dict:
    """Write ``acq_dir/<YYYYMMDD>/{B2..B12,SCL}.tif``, ``labels_path`` (default ``acq_dir/labels.tif``) and,
    if ``parcels_path`` is given, the parcels as polygons (see :func:`parcel_objects`) in a GeoPackage."""
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
        crop_type = files["labels"]["CT"][...] if parcels_path is not None else None
        label_crs, label_transform = _grid(files["labels"], paths["labels"], 10.0)
    except KeyError as exc:
        raise InputFormatError(f"{patch_dir}: variable or attribute {exc} missing from a NetCDF file") from None
    finally:
        for f in files.values():
            f.close()
    progress = Progress(f"worldcereal {patch_dir.name}", len(dates), "dates", enabled=show_progress,
                        logger=log)
    for t, date in enumerate(dates):
        for band, (res, _) in WORLDCEREAL_BANDS.items():
            _write(acq_dir / date / f"{band}.tif", bands[band][t], *grids[res], NODATA)
        _write(acq_dir / date / "SCL.tif", scl[t], *grids["20m"], 0)
        progress.update(1)
    labels = np.where(land_cover == LC_UNLABELLED, 0, land_cover).astype(np.uint8)
    _write(labels_path, labels, label_crs, label_transform, None)
    codes, counts = np.unique(labels, return_counts=True)
    summary = {"patch": patch_dir.name, "acquisitions": len(dates), "first": dates[0], "last": dates[-1],
               "acq_dir": str(acq_dir), "labels": str(labels_path),
               "label_pixels": {int(c): int(n) for c, n in zip(codes, counts) if c != 0}}
    if parcels_path is not None:
        parcel_ids, lc_codes, ct_codes = parcel_objects(land_cover, crop_type)
        _write_parcels(Path(parcels_path), parcel_ids, lc_codes, ct_codes, label_crs, label_transform)
        summary["parcels"] = str(parcels_path)
        summary["parcels_per_code"] = {int(c): int(n) for c, n in zip(*np.unique(lc_codes, return_counts=True))}
    return summary
