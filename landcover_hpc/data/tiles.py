"""The tile input format: what users bring, validated before anything is written.

``<data_root>/<TILE_ID>/stack.tif``
    GeoTIFF, T*C int16 bands of surface reflectance x 10 000 in date-major order (all bands of date 1, then
    date 2, ...), band descriptions ``YYYYMMDD_<band>``, a nodata value, a projected CRS.
``<data_root>/<TILE_ID>/reference.gpkg``
    polygons with an integer class ``code`` field, in the CRS of the stack; or
``<data_root>/<TILE_ID>/labels.tif``
    a class-code raster on the stack's grid, 0 = unlabelled.
``<data_root>/<TILE_ID>/stack_s1.tif`` (optional)
    Sentinel-1 backscatter on exactly the grid of stack.tif (same CRS, transform, width and height): T1*2
    int16 bands, date-major (VV then VH of date 1, then date 2, ...), band descriptions ``YYYYMMDD_VV`` and
    ``YYYYMMDD_VH``; values are sigma0 in dB x 100 (-1523 = -15.23 dB; int16 holds -327.67..327.67 dB,
    0.01 dB steps, far finer than the speckle) and nodata :data:`S1_NODATA` (-32768, no backscatter value)
    where the radar saw nothing. The S1 dates need not be the S2 dates. Only the models of
    ``models.names.S1_MODELS`` read it; every other model ignores it.

T (dates) and C (bands) are read from the band descriptions, never assumed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
from rasterio.crs import CRS
from rasterio.transform import Affine

from ..errors import (BandLayoutError, CRSMismatchError, EmptyReferenceError, InputFormatError,
                      InputNotFoundError, UnknownClassError)
from ..nomenclature import Nomenclature

__all__ = [
    "S2_BANDS", "S1_POLARISATIONS", "S1_STACK", "S1_NODATA", "DateBandLayout", "StackInfo", "open_s1_stack", "ReferencePolygons", "find_tiles", "open_raster", "open_stack", "parse_band_descriptions",
    "read_reference", "tile_paths", "unknown_code_message", "open_class_map", "read_block",
]

S2_BANDS = ("B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B11", "B12")
#: Sentinel-1 channels per date of the optional S1 stack, in stack order (models.names.S1_CHANNELS_PER_DATE).
S1_POLARISATIONS = ("VV", "VH")
#: File name of the optional Sentinel-1 stack in a tile folder.
S1_STACK = "stack_s1.tif"
#: Nodata of stack_s1.tif written by this software (landcover-synth); a user's file may declare another.
S1_NODATA = -32768
_DESCRIPTION = re.compile(r"^(\d{8})_([A-Za-z0-9]+)$")


class DateBandLayout:
    """The date-major channel layout shared by an input stack and its store: ``dates`` (T) x ``bands`` (C),
    channel ``t * C + c`` holding band c of date t."""

    dates: tuple[str, ...]
    bands: tuple[str, ...]

    @property
    def n_dates(self) -> int:
        return len(self.dates)

    @property
    def n_bands(self) -> int:
        return len(self.bands)

    @property
    def n_channels(self) -> int:
        """T*C."""
        return self.n_dates * self.n_bands


@dataclass(frozen=True)
class StackInfo(DateBandLayout):
    """What the rest of the pipeline needs to know of a tile's stack.tif."""

    tile_id: str
    path: Path
    height: int
    width: int
    dates: tuple[str, ...]  # YYYYMMDD
    bands: tuple[str, ...]
    nodata: int
    crs: CRS
    transform: Affine


@dataclass(frozen=True)
class ReferencePolygons:
    """Reference objects of a tile: object ``i + 1`` is the feature ``fids[i]`` of the vector file, with its
    class index (1..K) and bounds. The geometries stay in the file: :meth:`touching` reads those of one window
    through the file's spatial index, so a polygon costs 41 bytes of memory whatever its geometry (a GeoPackage
    without an R-tree still works: OGR then scans every feature's envelope per window)."""

    path: Path
    fids: np.ndarray  # (n,) int64 feature ids
    class_indices: np.ndarray  # (n,) uint8
    bounds: np.ndarray  # (n, 4) float64: x0, y0, x1, y1

    def touching(self, x0: float, y0: float, x1: float, y1: float) -> list[tuple[object, int]]:
        """(geometry, object id) of the objects whose bounds overlap the box (edges touching do not count),
        in object id order (the order of the file, later objects drawn over earlier ones)."""
        import fiona

        b = self.bounds
        hit = np.flatnonzero((b[:, 2] > x0) & (b[:, 0] < x1) & (b[:, 3] > y0) & (b[:, 1] < y1))
        if len(hit) == 0:
            return []
        sorter = np.argsort(self.fids[hit])
        wanted = self.fids[hit][sorter]
        found: dict[int, object] = {}
        with fiona.open(self.path) as src:
            for feature in src.filter(bbox=(x0, y0, x1, y1)):
                fid = int(feature.id)
                at = np.searchsorted(wanted, fid)
                if at < len(wanted) and wanted[at] == fid:
                    found[int(hit[sorter[at]]) + 1] = feature["geometry"]
        return [(found[i], i) for i in sorted(found)]


def tile_paths(tile_dir: Path) -> dict[str, Path]:
    return {name: tile_dir / f"{name}" for name in ("stack.tif", "reference.gpkg", "labels.tif", S1_STACK)}


def find_tiles(data_root: str | Path, tiles: list[str] | None = None) -> list[Path]:
    """Tile folders under ``data_root`` (those holding a stack.tif), or the named ones.

    Hidden folders are not tiles: ``.<TILE>.<random>.tmp`` is a tile that ``landcover-synth`` (or a copy) was
    writing when it was killed, possibly without its reference yet.
    """
    root = Path(data_root)
    if not root.is_dir():
        raise InputNotFoundError(f"input folder {root} not found: pass --input DATA_ROOT holding <TILE_ID>/stack.tif")
    if tiles:
        found = [root / t for t in tiles]
        for tile_dir in found:
            if not (tile_dir / "stack.tif").is_file():
                raise InputNotFoundError(f"{tile_dir / 'stack.tif'} not found: tile {tile_dir.name} is not in {root}")
        return found
    found = sorted(p.parent for p in root.glob("*/stack.tif") if not p.parent.name.startswith("."))
    if not found:
        raise InputNotFoundError(f"no <TILE_ID>/stack.tif under {root}: see the tile input format in README.md")
    return found


def parse_band_descriptions(descriptions: list[str | None], path: Path) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(dates, bands) from ``YYYYMMDD_<band>`` descriptions in date-major order."""
    parsed = []
    for i, desc in enumerate(descriptions, start=1):
        match = _DESCRIPTION.match(desc or "")
        if not match:
            raise BandLayoutError(
                f"{path}: band {i} description {desc!r} does not parse as YYYYMMDD_<band> (e.g. 20180105_B8A): "
                "set the descriptions with rasterio's set_band_description or gdal_edit"
            )
        parsed.append(match.groups())
    dates = list(dict.fromkeys(d for d, _ in parsed))
    n_dates = len(dates)
    if len(parsed) % n_dates:
        raise BandLayoutError(f"{path}: {len(parsed)} bands is not T*C for the {n_dates} dates described: "
                              "every date needs the same bands")
    n_bands = len(parsed) // n_dates
    bands = [b for _, b in parsed[:n_bands]]
    for t, date in enumerate(dates):
        block = parsed[t * n_bands:(t + 1) * n_bands]
        if [d for d, _ in block] != [date] * n_bands or [b for _, b in block] != bands:
            raise BandLayoutError(
                f"{path}: bands {t * n_bands + 1}..{(t + 1) * n_bands} should be date {date} with bands "
                f"{' '.join(bands)} (date-major order: all bands of date 1, then date 2, ...); "
                f"found {' '.join('_'.join(x) for x in block)}"
            )
    if dates != sorted(dates):
        raise BandLayoutError(f"{path}: dates are not in increasing order ({dates[0]} .. {dates[-1]}): "
                              "sort the stack by date")
    for date in dates:
        try:
            np.datetime64(f"{date[:4]}-{date[4:6]}-{date[6:]}")
        except ValueError:
            raise BandLayoutError(f"{path}: {date} is not a valid date (YYYYMMDD)") from None
    return tuple(dates), tuple(bands)


def open_raster(path: str | Path, what: str | None = None):
    """Open a raster for reading (a rasterio dataset; the caller closes it).

    Raises:
        InputFormatError: GDAL cannot read it; the message names ``what`` (e.g. "class map") and the file.
    """
    try:
        return rasterio.open(path)
    except rasterio.errors.RasterioIOError as exc:
        raise InputFormatError(f"{f'{what} ' if what else ''}{path}: not a readable raster ({exc})") from None


def open_class_map(path: str | Path, what: str = "class map"):
    """Open a class map for reading after checking it is one: one band of integer class codes, not a map of
    another product (the ``PRODUCT`` tag of the maps this software writes, e.g. ``confidence``).

    Raises:
        InputFormatError: not readable, or another kind of raster (a confidence map, a multi-band stack).
    """
    src = open_raster(path, what)
    product = src.tags().get("PRODUCT")
    if src.count != 1 or np.dtype(src.dtypes[0]).kind not in "iu" or product not in (None, "classes"):
        found = f"a {product} map" if product not in (None, "classes") else f"{src.count} {src.dtypes[0]} band(s)"
        src.close()
        raise InputFormatError(f"{what} {path}: {found}, not a class map (one band of integer class codes): pass "
                               "the <TILE>_classes.tif written by landcover-predict or landcover-rf predict")
    return src


def read_block(src, window, path: str | Path) -> np.ndarray:
    """``src.read(window=window)``, or one line naming ``path`` when GDAL fails (a truncated or damaged file)."""
    try:
        return src.read(window=window)
    except rasterio.errors.RasterioIOError as exc:
        reason = (str(exc).strip().splitlines() or ["read failed"])[0]
        raise InputFormatError(f"{path}: cannot read rows {window.row_off}..{window.row_off + window.height} "
                               f"({reason}): the file is truncated or damaged: write or copy it again") from None


def open_stack(tile_dir: str | Path) -> StackInfo:
    """Validate ``<tile_dir>/stack.tif`` against the input format and describe it."""
    tile_dir = Path(tile_dir)
    path = tile_dir / "stack.tif"
    if not path.is_file():
        raise InputNotFoundError(f"{path} not found: every tile folder needs a stack.tif (see README.md)")
    with open_raster(path) as src:
        if any(dt != "int16" for dt in src.dtypes):
            raise InputFormatError(f"{path}: bands are {src.dtypes[0]}, expected int16 reflectance x 10000")
        dates, bands = parse_band_descriptions(list(src.descriptions), path)
        if src.nodata is None:
            raise InputFormatError(f"{path}: no nodata value: set one, e.g. gdal_edit.py -a_nodata -10000 {path}")
        if src.crs is None or not src.crs.is_projected:
            raise InputFormatError(f"{path}: CRS {src.crs} is not a projected CRS: reproject the stack (e.g. to UTM)")
        return StackInfo(tile_dir.name, path, src.height, src.width, dates, bands, int(src.nodata),
                         src.crs, src.transform)


def open_s1_stack(tile_dir: str | Path, stack: StackInfo) -> StackInfo | None:
    """Validate the optional ``<tile_dir>/stack_s1.tif`` against the input format and ``stack``'s grid.

    Returns:
        Its description (``bands`` = :data:`S1_POLARISATIONS`, ``dates`` its T1 dates), or None when the tile
        has no Sentinel-1 stack.

    Raises:
        InputFormatError: not int16, descriptions not ``YYYYMMDD_VV``/``YYYYMMDD_VH`` date-major, no nodata, or
            another CRS, transform or size than stack.tif (:class:`CRSMismatchError` for the CRS).
    """
    path = Path(tile_dir) / S1_STACK
    if not path.is_file():
        return None
    with open_raster(path, "Sentinel-1 stack") as src:
        if any(dt != "int16" for dt in src.dtypes):
            raise InputFormatError(f"{path}: bands are {src.dtypes[0]}, expected int16 sigma0 in dB x 100 "
                                   "(e.g. -1523 for -15.23 dB)")
        dates, bands = parse_band_descriptions(list(src.descriptions), path)
        if bands != S1_POLARISATIONS:
            raise BandLayoutError(f"{path}: bands {' '.join(bands)} per date, expected {' '.join(S1_POLARISATIONS)} "
                                  "(descriptions YYYYMMDD_VV, YYYYMMDD_VH, date by date)")
        if src.nodata is None:
            raise InputFormatError(f"{path}: no nodata value: set one, e.g. gdal_edit.py -a_nodata {S1_NODATA} {path}")
        if src.crs != stack.crs:
            raise CRSMismatchError(f"{path}: CRS {src.crs} differs from {stack.path.name}'s {stack.crs}: warp it "
                                   f"onto the grid of {stack.path}")
        if (src.height, src.width) != (stack.height, stack.width) or not src.transform.almost_equals(stack.transform):
            raise InputFormatError(f"{path}: grid {src.width}x{src.height} px {tuple(src.transform)[:6]} differs "
                                   f"from {stack.path.name}'s {stack.width}x{stack.height} px "
                                   f"{tuple(stack.transform)[:6]}: warp it onto the grid of {stack.path} (e.g. "
                                   f"gdalwarp -te_srs, -te and -ts of that stack)")
        return StackInfo(stack.tile_id, path, src.height, src.width, dates, bands, int(src.nodata), src.crs,
                         src.transform)


def read_reference(tile_dir: str | Path, stack: StackInfo, nomenclature: Nomenclature) -> ReferencePolygons | Path:
    """The tile's reference: polygons from reference.gpkg, else the path of labels.tif (validated)."""
    tile_dir = Path(tile_dir)
    gpkg, labels = tile_dir / "reference.gpkg", tile_dir / "labels.tif"
    if gpkg.is_file():
        return _read_polygons(gpkg, stack, nomenclature)
    if labels.is_file():
        _check_label_raster(labels, stack, nomenclature)
        return labels
    raise InputNotFoundError(f"{tile_dir}: no reference.gpkg or labels.tif: every tile needs reference data")


def _read_polygons(path: Path, stack: StackInfo, nomenclature: Nomenclature) -> ReferencePolygons:
    import fiona
    from rasterio.features import bounds as geometry_bounds

    try:
        src = fiona.open(path)
    except Exception as exc:  # fiona raises DriverError and friends
        raise InputFormatError(f"{path}: not a readable vector file ({exc})") from None
    with src:
        if "code" not in src.schema["properties"]:
            raise InputFormatError(f"{path}: no 'code' field (fields: {', '.join(src.schema['properties'])}): "
                                   "add an integer class code field named 'code'")
        ref_crs = CRS.from_wkt(src.crs_wkt) if src.crs_wkt else None
        if ref_crs is None or ref_crs != stack.crs:
            raise CRSMismatchError(
                f"{path}: CRS {ref_crs.to_string() if ref_crs else 'undefined'} differs from the stack's "
                f"{stack.crs.to_string()}: reproject it, e.g. ogr2ogr -t_srs {stack.crs.to_string()} out.gpkg {path}"
            )
        lut = {code: i + 1 for i, code in enumerate(nomenclature.codes)}
        left, top = stack.transform.c, stack.transform.f
        right = left + stack.width * stack.transform.a
        bottom = top + stack.height * stack.transform.e
        fids, indices, boxes = [], [], []
        for feature in src:
            code = feature["properties"]["code"]
            if code is None:
                continue
            if int(code) not in lut:
                raise UnknownClassError(f"{path}: {unknown_code_message(int(code), nomenclature)}")
            geometry = feature["geometry"]
            x0, y0, x1, y1 = geometry_bounds(geometry)
            if x1 <= left or x0 >= right or y1 <= bottom or y0 >= top:
                continue
            fids.append(int(feature.id))
            indices.append(lut[int(code)])
            boxes.append((x0, y0, x1, y1))
    if not fids:
        raise EmptyReferenceError(f"{path}: no polygon lies inside tile {stack.tile_id} "
                                  f"(bounds {left:.0f}, {bottom:.0f}, {right:.0f}, {top:.0f}): wrong tile or CRS?")
    return ReferencePolygons(path, np.asarray(fids, dtype=np.int64), np.asarray(indices, dtype=np.uint8),
                             np.asarray(boxes, dtype=np.float64).reshape(-1, 4))


def unknown_code_message(code: int, nomenclature: Nomenclature) -> str:
    return (f"class code {code} is not in the nomenclature {nomenclature.source} (valid codes: "
            f"{', '.join(map(str, nomenclature.codes))}): fix the reference data or add the class")


def _check_label_raster(path: Path, stack: StackInfo, nomenclature: Nomenclature) -> None:
    with rasterio.open(path) as src:
        if src.crs != stack.crs:
            raise CRSMismatchError(f"{path}: CRS {src.crs} differs from the stack's {stack.crs}: "
                                   "reproject it onto the stack's grid")
        if (src.height, src.width) != (stack.height, stack.width) or not src.transform.almost_equals(stack.transform):
            raise InputFormatError(f"{path}: grid {src.width}x{src.height} {tuple(src.transform)[:6]} differs from "
                                   f"the stack's {stack.width}x{stack.height} {tuple(stack.transform)[:6]}: "
                                   "resample it onto the stack's grid")
        if src.count != 1 or np.dtype(src.dtypes[0]).kind not in "iu":
            raise InputFormatError(f"{path}: expected one integer band of class codes, found {src.count} "
                                   f"{src.dtypes[0]} band(s)")
