"""``landcover-synth``: write synthetic Sentinel-2 tiles in the tile input format.

Each tile folder holds ``stack.tif`` (T*C int16 bands, date-major, band descriptions ``YYYYMMDD_<band>``,
nodata -10000, the tile's UTM CRS), ``reference.gpkg`` (a sparse annotation: a fraction of the objects of
each class, eroded by one pixel except 1-2 px roads, one MultiPolygon per object with its class ``code``;
a few per cent of the objects carry a confusable wrong class, as photo-interpreted references do) and,
synthetic tiles only, ``truth.tif``: the true class code of every pixel (0 on nodata), for map checks;
and, unless ``sentinel1`` is off, ``stack_s1.tif``: Sentinel-1 VV and VH sigma0 in dB x 100 (int16, nodata
-32768, band descriptions ``YYYYMMDD_VV``, ``YYYYMMDD_VH``) on the same grid, one date every
``s1_date_step`` days from the third day after the first Sentinel-2 date (the same dates on every tile),
from the backscatter model of :mod:`.backscatter` with speckle. Its randomness comes from a generator of
its own, so the Sentinel-2 stack, reference and truth are byte for byte the same with and without it.

The stack is what a gap-filled L2A series looks like: the reflectance of each date is observed through
spatially coherent clouds, and cloudy dates are filled by linear interpolation in time between the
pixel's clear dates (:func:`landcover_hpc.gapfill.interpolate.interpolate_block`, the same code as the
real chain), leaving the real chain's interpolation residuals; a few cloud edges go undetected.
A tile folder is written under a temporary name and renamed when complete.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
from rasterio.features import shapes
from rasterio.transform import from_origin
from scipy import ndimage
from scipy.special import ndtri

from ..errors import ConfigError
from ..io import current_umask
from ..nomenclature import Nomenclature
from ..data.mgrs import parse_tile_id
from ..data.tiles import S1_NODATA, S1_POLARISATIONS, S1_STACK, S2_BANDS
from ..gapfill.interpolate import interpolate_block
from .backscatter import backscatter_db, speckle
from .landscape import CLASS_NAMES, CONFUSABLE, Landscape, make_landscape, profile_of
from .spectra import reflectance

__all__ = ["SynthOptions", "synth_dates", "synth_s1_dates", "synthesize_tile", "NODATA"]

NODATA = -10000
PIXEL_SIZE = 10.0


@dataclass(frozen=True)
class SynthOptions:
    size: int = 256  # tile side, px (10 m)
    n_dates: int = 33
    year: int = 2018
    date_step: int = 11  # days between dates of the regular grid
    seed: int = 0
    noise: float = 0.006  # sensor noise, reflectance (1 sigma)
    psf_sigma: float = 0.6  # point spread function, px
    swath_edge: bool = True  # let some tiles have a nodata corner (orbit swath edge)
    cloud_cover: float = 0.4  # mean share of cloudy pixel-dates, gap-filled afterwards
    mislabelled: float = 0.03  # share of reference objects given a confusable wrong class
    sentinel1: bool = True  # also write stack_s1.tif (Sentinel-1 VV, VH on the same grid)
    s1_date_step: int = 12  # days between Sentinel-1 dates (the repeat cycle of one satellite)
    s1_n_dates: int | None = None  # Sentinel-1 dates T1; None: as many as fit in the Sentinel-2 dates' span

    def validate(self) -> None:
        if self.size < 64:
            raise ConfigError(f"synth option size={self.size} (--size): synthetic tiles must be at least 64 px")
        if not 2 <= self.n_dates <= 120:
            raise ConfigError(f"synth option n_dates={self.n_dates} (--dates): must be in 2..120")
        if self.date_step < 1:
            raise ConfigError(f"synth option date_step={self.date_step} (--date-step): must be >= 1")
        if self.s1_date_step < 1:
            raise ConfigError(f"synth option s1_date_step={self.s1_date_step} (--s1-date-step): must be >= 1")
        if self.s1_n_dates is not None and not 1 <= self.s1_n_dates <= 200:
            raise ConfigError(f"synth option s1_n_dates={self.s1_n_dates} (--s1-dates): must be in 1..200, or "
                              "leave it out for the Sentinel-2 span")


def synth_dates(options: SynthOptions) -> list[dt.date]:
    start = dt.date(options.year, 1, 5)
    return [start + dt.timedelta(days=options.date_step * i) for i in range(options.n_dates)]


_S1_FIRST_DAY = 3  # the first Sentinel-1 date, days after the first Sentinel-2 date


def synth_s1_dates(options: SynthOptions) -> list[dt.date]:
    """The Sentinel-1 dates: every ``s1_date_step`` days from the third day after the first Sentinel-2 date,
    ``s1_n_dates`` of them or as many as end by the last Sentinel-2 date (at least one)."""
    s2 = synth_dates(options)
    start = s2[0] + dt.timedelta(days=_S1_FIRST_DAY)
    n = options.s1_n_dates
    if n is None:
        n = max(1, ((s2[-1] - start).days) // options.s1_date_step + 1)
    return [start + dt.timedelta(days=options.s1_date_step * i) for i in range(n)]


def _tile_rng(seed: int, tile_id: str, stream: int | None = None) -> np.random.Generator:
    """The generator of a tile: stream None for everything but Sentinel-1, 1 for Sentinel-1 (independent,
    so that turning Sentinel-1 on or off leaves the rest unchanged)."""
    key = [seed, zlib.crc32(tile_id.encode())]
    return np.random.default_rng(key if stream is None else key + [stream])


def _block_size(size: int) -> int:
    return 256 if size >= 256 else 16 * max(1, size // 16)


def synthesize_tile(out_root: str | Path, tile_id: str, nomenclature: Nomenclature,
                    options: SynthOptions = SynthOptions()) -> dict:
    """Write ``out_root/<tile_id>/`` and return a summary (profile, per-class pixels, annotated pixels)."""
    options.validate()
    tid = parse_tile_id(tile_id)
    tile_id = str(tid)
    missing = [n for n in CLASS_NAMES if n not in nomenclature.names]
    if missing:
        raise ConfigError(f"nomenclature {nomenclature.source} lacks the classes {missing} that synthetic "
                          "tiles use: leave the nomenclature out (the default, configs/nomenclature.yaml)")
    rng = _tile_rng(options.seed, tile_id)
    profile = profile_of(tile_id)
    size = options.size
    land = make_landscape(rng, (size, size), profile)
    name_to_code = {c.name: c.code for c in nomenclature.classes}
    code_of_class = np.array([0] + [name_to_code[n] for n in land.class_names], np.uint8)

    valid = _swath_mask(rng, size) if options.swath_edge and rng.random() < 0.35 else np.ones((size, size), bool)
    annotated = _annotation(rng, land, valid)
    reference_class = _reference_classes(rng, land.object_class, options.mislabelled)
    dates = synth_dates(options)
    x0, y0 = tid.square_origin
    transform = from_origin(x0, y0, PIXEL_SIZE, PIXEL_SIZE)
    crs = rasterio.crs.CRS.from_epsg(tid.epsg)

    out_root = Path(out_root)
    out_root.mkdir(parents=True, exist_ok=True)
    tmp_dir = Path(tempfile.mkdtemp(prefix=f".{tile_id}.", suffix=".tmp", dir=out_root))
    os.chmod(tmp_dir, 0o777 & ~current_umask())  # mkdtemp makes 0700
    try:
        tile_shift = _write_stack(tmp_dir / "stack.tif", rng, land, valid, dates, transform, crs, options)
        if options.sentinel1:
            _write_s1_stack(tmp_dir / S1_STACK, _tile_rng(options.seed, tile_id, stream=1), land, valid,
                            synth_s1_dates(options), tile_shift, transform, crs, options)
        _write_reference(tmp_dir / "reference.gpkg", annotated, reference_class, code_of_class, transform, crs)
        truth = np.where(valid, code_of_class[land.classes], 0).astype(np.uint8)
        _write_truth(tmp_dir / "truth.tif", truth, transform, crs, nomenclature)
        final = out_root / tile_id
        if final.exists():
            shutil.rmtree(final)
        tmp_dir.rename(final)
    finally:
        if tmp_dir.exists():
            shutil.rmtree(tmp_dir)

    counts = np.bincount(land.classes[valid], minlength=len(land.class_names) + 1)[1:]
    ann_counts = np.bincount(land.object_class[annotated[annotated > 0]], minlength=len(land.class_names) + 1)[1:]
    ann_objects = np.unique(annotated[annotated > 0])
    return {"tile": tile_id, "profile": profile, "size": size, "epsg": tid.epsg,
            "valid_fraction": float(valid.mean()), "objects": int(len(land.object_class) - 1),
            "mislabelled_objects": int(np.sum(reference_class[ann_objects] != land.object_class[ann_objects])),
            "annotated_objects": int(len(ann_objects)),
            "s1_dates": len(synth_s1_dates(options)) if options.sentinel1 else 0,
            "pixels": dict(zip(land.class_names, counts.tolist())),
            "annotated_pixels": dict(zip(land.class_names, ann_counts.tolist()))}


def _swath_mask(rng: np.random.Generator, size: int) -> np.ndarray:
    """Valid-data mask with one corner cut off diagonally, as at the edge of an orbit's swath."""
    yy, xx = np.mgrid[0:size, 0:size]
    corner = rng.integers(4)
    a = xx if corner in (0, 3) else size - 1 - xx
    b = yy if corner in (0, 1) else size - 1 - yy
    return (a + 0.8 * b) > size * rng.uniform(0.15, 0.3)


def _annotation(rng: np.random.Generator, land: Landscape, valid: np.ndarray) -> np.ndarray:
    """(H, W) int32 object ids of the annotated pixels: a fraction of the objects, eroded by one pixel."""
    n_classes = len(land.class_names)
    fraction = rng.uniform(0.35, 0.7, n_classes + 1)
    chosen = rng.random(len(land.object_class)) < fraction[land.object_class]
    chosen[0] = False
    obj = land.objects
    pad = np.pad(obj, 1, mode="edge")
    interior = ((pad[:-2, 1:-1] == obj) & (pad[2:, 1:-1] == obj) & (pad[1:-1, :-2] == obj) & (pad[1:-1, 2:] == obj))
    road = land.classes == (land.class_names.index("RSF") + 1)
    keep = chosen[obj] & (interior | road) & valid
    return np.where(keep, obj, 0).astype(np.int32)


def _reference_classes(rng: np.random.Generator, object_class: np.ndarray, share: float) -> np.ndarray:
    """(n + 1,) class of each object in the reference: the true one, or for a ``share`` of the objects a
    class that a photo-interpreter confuses with it (:data:`~landcover_hpc.synth.landscape.CONFUSABLE`)."""
    reference = object_class.copy()
    wrong = np.flatnonzero(rng.random(len(object_class)) < share)
    for obj in wrong[wrong > 0]:
        choices = CONFUSABLE[CLASS_NAMES[object_class[obj] - 1]]
        reference[obj] = CLASS_NAMES.index(choices[rng.integers(len(choices))]) + 1
    return reference


def _cloud_masks(rng: np.random.Generator, shape: tuple[int, int], n_dates: int, cover: float) -> np.ndarray:
    """(T, H/8 + 2, W/8 + 2) float32 coarse cloud fields; a pixel-date is cloudy where the field, bilinearly
    interpolated to the pixel, exceeds 0. Cloud cover per date follows a U-shaped distribution of mean
    ``cover`` (most dates are clear or overcast)."""
    H, W = shape
    coarse = (H // 8 + 2, W // 8 + 2)
    fields = ndimage.gaussian_filter(rng.standard_normal((n_dates, *coarse)), (0, 2, 2), mode="wrap")
    fields /= fields.std(axis=(1, 2), keepdims=True) + 1e-12
    date_cover = rng.beta(0.6 * cover / (1 - cover), 0.6, n_dates) if 0 < cover < 1 else np.full(n_dates, cover)
    return (fields - ndtri(1 - np.clip(date_cover, 1e-4, 1 - 1e-4))[:, None, None]).astype(np.float32)


def _clear_block(cloud: np.ndarray, r0: int, r1: int, W: int) -> np.ndarray:
    """(T, r1 - r0, W) bool clear mask of rows r0..r1 from the coarse cloud fields."""
    yy, xx = np.mgrid[r0:r1, 0:W].astype(np.float32) / 8
    out = np.stack([ndimage.map_coordinates(c, [yy, xx], order=1, mode="nearest") for c in cloud]) <= 0
    return out


def _write_stack(path: Path, rng: np.random.Generator, land: Landscape, valid: np.ndarray, dates: list[dt.date],
                 transform, crs, options: SynthOptions) -> float:
    """Write the Sentinel-2 stack; returns the tile's phenology shift (days), which Sentinel-1 follows too."""
    H, W = land.classes.shape
    T, C = len(dates), len(S2_BANDS)
    doy = np.array([(d - dt.date(options.year, 1, 1)).days + 1 for d in dates], np.float32)
    tile_shift = rng.uniform(-12, 12)  # climate: earlier or later season on this tile
    band_gain = 1 + rng.normal(0, 0.03, C)
    date_gain = 1 + rng.normal(0, 0.015, T)  # residual atmospheric effects
    wet = np.clip(rng.beta(0.7, 2.0, T), 0, 1).astype(np.float32)  # soil wetness after rain
    cloud = _cloud_masks(rng, (H, W), T, options.cloud_cover)
    gain = (date_gain[:, None] * band_gain[None, :]).reshape(T * C).astype(np.float32)
    block = _block_size(H)
    profile = dict(driver="GTiff", dtype="int16", count=T * C, width=W, height=H, crs=crs, transform=transform,
                   nodata=NODATA, tiled=True, blockxsize=block, blockysize=block, compress="deflate", predictor=2,
                   interleave="pixel", BIGTIFF="IF_SAFER")
    halo = 3
    with rasterio.open(path, "w", **profile) as dst:
        for i, date in enumerate(dates):
            for j, band in enumerate(S2_BANDS):
                dst.set_band_description(i * C + j + 1, f"{date:%Y%m%d}_{band}")
        for r0 in range(0, H, block):
            r1 = min(H, r0 + block)
            a, b = max(0, r0 - halo), min(H, r1 + halo)
            sl = np.s_[a:b]
            flat = lambda x: x[sl].reshape(-1, *x.shape[2:])  # noqa: E731
            refl = reflectance(flat(land.material), doy, flat(land.shift) + tile_shift, flat(land.amp),
                               flat(land.bright), flat(land.tex), flat(land.elev), flat(land.mow),
                               variant=flat(land.variant), soil=flat(land.soil), urban=flat(land.urban), wet=wet,
                               vigour=flat(land.vigour))
            cube = _mix_neighbours(refl.reshape(b - a, W, T * C), land.mix_dir[sl], land.mix_fraction[sl]) * gain
            cube = ndimage.gaussian_filter(cube, sigma=(options.psf_sigma, options.psf_sigma, 0), mode="nearest")
            cube = cube[r0 - a:r0 - a + (r1 - r0)]
            cube += rng.normal(0, options.noise, cube.shape).astype(np.float32)
            clear = _clear_block(cloud, r0, r1, W)
            haze = ndimage.binary_dilation(~clear, structure=np.ones((1, 3, 3), bool)) & clear
            haze &= rng.random(haze.shape) < 0.3  # undetected cloud edges: brighter, bluer
            cube = cube.reshape(r1 - r0, W, T, C)
            cube += np.moveaxis(haze, 0, -1)[..., None] * np.linspace(0.04, 0.01, C, dtype=np.float32)
            clear[:, ~clear.any(axis=0)] = True  # every pixel is seen at least once
            filled = interpolate_block(np.moveaxis(cube * 10000, 2, 0), clear, doy, doy)  # (T, h, w, C)
            dn = np.clip(np.moveaxis(filled, 0, 2).reshape(r1 - r0, W, T * C), 1, 32000).astype(np.int16)
            dn[~valid[r0:r1]] = NODATA
            dst.write(np.moveaxis(dn, -1, 0), window=rasterio.windows.Window(0, r0, W, r1 - r0))
    return tile_shift


def _write_s1_stack(path: Path, rng: np.random.Generator, land: Landscape, valid: np.ndarray,
                    dates: list[dt.date], tile_shift: float, transform, crs, options: SynthOptions) -> None:
    """Write ``stack_s1.tif``: (T1*2) int16 bands of sigma0 in dB x 100, VV then VH per date, nodata where the
    Sentinel-2 stack has none (:mod:`.backscatter` for the model). ``rng`` is Sentinel-1's own generator."""
    H, W = land.classes.shape
    T1, P = len(dates), len(S1_POLARISATIONS)
    doy = np.array([(d - dt.date(options.year, 1, 1)).days + 1 for d in dates], np.float32)
    wet = np.clip(rng.beta(0.7, 2.0, T1), 0, 1).astype(np.float32)  # soil moisture of each acquisition
    wind = np.where(rng.random(T1) < 0.25, rng.uniform(2, 7, T1), 0).astype(np.float32)  # rough water
    built = np.isin(land.object_class, [CLASS_NAMES.index(n) + 1 for n in ("CUF", "DUF", "ICU")])
    # objects differ in roughness and moisture, buildings in their orientation to the radar
    offset = (rng.normal(0, 0.8, len(land.object_class)) + built * rng.normal(0, 1.5, len(land.object_class)))
    offset = offset.astype(np.float32)
    trend = np.linspace(0.75, -0.75, W, dtype=np.float32)  # incidence angle grows from near to far range
    block = _block_size(H)
    profile = dict(driver="GTiff", dtype="int16", count=T1 * P, width=W, height=H, crs=crs, transform=transform,
                   nodata=S1_NODATA, tiled=True, blockxsize=block, blockysize=block, compress="deflate",
                   predictor=2, interleave="pixel", BIGTIFF="IF_SAFER")
    halo = 1
    with rasterio.open(path, "w", **profile) as dst:
        for i, date in enumerate(dates):
            for j, pol in enumerate(S1_POLARISATIONS):
                dst.set_band_description(i * P + j + 1, f"{date:%Y%m%d}_{pol}")
        for r0 in range(0, H, block):
            r1 = min(H, r0 + block)
            a, b = max(0, r0 - halo), min(H, r1 + halo)
            sl = np.s_[a:b]
            flat = lambda x: x[sl].reshape(-1, *x.shape[2:])  # noqa: E731
            db = backscatter_db(flat(land.material), doy, flat(land.shift) + tile_shift, flat(land.amp),
                                flat(land.mow), flat(land.variant), flat(land.urban), wet, wind)
            db = db.reshape(b - a, W, T1 * P) + (offset[land.objects[sl]][..., None] + trend[None, :, None])
            linear = _mix_neighbours(np.power(10, db / 10), land.mix_dir[sl], land.mix_fraction[sl])
            db = speckle(rng, 10 * np.log10(linear[r0 - a:r0 - a + (r1 - r0)]))
            dn = np.clip(np.rint(db * 100), -6000, 3000).astype(np.int16)
            dn[~valid[r0:r1]] = S1_NODATA
            dst.write(np.moveaxis(dn, -1, 0), window=rasterio.windows.Window(0, r0, W, r1 - r0))


def _mix_neighbours(cube: np.ndarray, direction: np.ndarray, fraction: np.ndarray) -> np.ndarray:
    """Mix into each pixel of ``cube`` (h, w, K) the share ``fraction`` (h, w) of its neighbour
    ``direction`` (h, w): 0 none, 1 up, 2 down, 3 left, 4 right (the block's edge rows repeat)."""
    pad = np.pad(cube, ((1, 1), (1, 1), (0, 0)), mode="edge")
    out = cube.copy()
    for d, nb in enumerate((pad[:-2, 1:-1], pad[2:, 1:-1], pad[1:-1, :-2], pad[1:-1, 2:]), start=1):
        sel = direction == d
        f = fraction[sel][:, None]
        out[sel] = (1 - f) * cube[sel] + f * nb[sel]
    return out


def _write_reference(path: Path, annotated: np.ndarray, reference_class: np.ndarray, code_of_class: np.ndarray,
                     transform, crs) -> None:
    import fiona

    parts: dict[int, list] = {}
    for geom, value in shapes(annotated, mask=annotated > 0, transform=transform, connectivity=4):
        parts.setdefault(int(value), []).append(geom["coordinates"])
    schema = {"geometry": "MultiPolygon", "properties": {"code": "int", "object": "int"}}
    with fiona.open(path, "w", driver="GPKG", schema=schema, crs_wkt=crs.to_wkt(), layer="reference") as dst:
        dst.writerecords({
            "geometry": {"type": "MultiPolygon", "coordinates": polys},
            "properties": {"code": int(code_of_class[reference_class[obj]]), "object": obj},
        } for obj, polys in sorted(parts.items()))


def _write_truth(path: Path, truth: np.ndarray, transform, crs, nomenclature: Nomenclature) -> None:
    H, W = truth.shape
    block = _block_size(H)
    with rasterio.open(path, "w", driver="GTiff", dtype="uint8", count=1, width=W, height=H, crs=crs,
                       transform=transform, nodata=0, tiled=True, blockxsize=block, blockysize=block,
                       compress="deflate") as dst:
        dst.write(truth, 1)
        dst.write_colormap(1, nomenclature.colormap())
        dst.set_band_description(1, "synthetic ground truth: class code of every pixel")
