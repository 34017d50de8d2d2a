"""``landcover-mosaic``: the tile maps of a country assembled into one mosaic in a target CRS.

1. Each tile's class and confidence maps are reprojected (nearest neighbour) onto a common grid in the
   target CRS (default: the CRS of the first map; tiles of other UTM zones are warped), aligned on
   multiples of the resolution, into ``<OUT>_tiles/``.
2. The mosaic is assembled block by block (memory bounded by one block per tile and GDAL's block cache,
   capped: :func:`landcover_hpc.io.capped_block_cache`): where tiles overlap
   (adjacent Sentinel-2 tiles share about 10 km), each pixel takes the class of the tile whose prediction
   is the more confident there; ties go to the tile listed first.
3. Products: ``<OUT>_classes.tif`` and ``<OUT>_confidence.tif`` (Cloud Optimized GeoTIFFs, through the same
   writer as the tile maps: colour table, class names, tags) and ``<OUT>.vrt``, a virtual mosaic of the
   reprojected tile maps for browsing them one by one (there, overlaps show the most confident tile on
   average, not per pixel: use the COG for the product).
"""

from __future__ import annotations

import hashlib
import logging
import math
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
import rasterio
from rasterio.crs import CRS
from rasterio.enums import Resampling
from rasterio.transform import from_origin
from rasterio.warp import reproject, transform_bounds
from rasterio.windows import Window, from_bounds

from .. import __version__
from ..data.blocks import iter_blocks
from ..errors import InputFormatError, InputNotFoundError
from ..io import capped_block_cache, write_text_atomic
from ..maps import MapWriter
from ..maps.geotiff import CONFIDENCE_NODATA
from ..nomenclature import Nomenclature
from ..progress import Progress

__all__ = ["mosaic_maps", "confidence_path"]

log = logging.getLogger(__name__)

_BLOCK = 2048


def confidence_path(classes_path: Path) -> Path:
    return classes_path.with_name(classes_path.name.replace("_classes.tif", "_confidence.tif"))


def _check_inputs(class_maps: list[Path]) -> None:
    if not class_maps:
        raise InputNotFoundError("no *_classes.tif map to mosaic: pass the maps written by landcover-predict")
    for path in class_maps:
        for p in (path, confidence_path(path)):
            if not p.is_file():
                raise InputNotFoundError(f"{p} not found: every <TILE>_classes.tif needs its <TILE>_confidence.tif")


def _target_grid(class_maps: list[Path], crs: CRS, resolution: float) -> tuple[rasterio.Affine, int, int]:
    left = bottom = math.inf
    right = top = -math.inf
    for path in class_maps:
        with rasterio.open(path) as src:
            b = transform_bounds(src.crs, crs, *src.bounds, densify_pts=21)
        left, bottom, right, top = min(left, b[0]), min(bottom, b[1]), max(right, b[2]), max(top, b[3])
    left, top = math.floor(left / resolution) * resolution, math.ceil(top / resolution) * resolution
    width = math.ceil((right - left) / resolution)
    height = math.ceil((top - bottom) / resolution)
    return from_origin(left, top, resolution, resolution), height, width


def _warp_tile(path: Path, out_dir: Path, crs: CRS, grid) -> tuple[Path, Window]:
    """Reproject a tile's two maps onto its window of the common grid; return the classes path and window."""
    with rasterio.open(path) as src:
        bounds = transform_bounds(src.crs, crs, *src.bounds, densify_pts=21)
    window = from_bounds(*bounds, transform=grid).round_offsets(op="floor").round_lengths(op="ceil")
    transform = rasterio.windows.transform(window, grid)
    outputs = {}
    for kind, source, nodata in (("classes", path, 0), ("confidence", confidence_path(path), CONFIDENCE_NODATA)):
        out = out_dir / source.name
        with rasterio.open(source) as src:
            data = np.full((int(window.height), int(window.width)), nodata, np.uint8)
            reproject(rasterio.band(src, 1), data, src_nodata=nodata, dst_nodata=nodata, dst_transform=transform,
                      dst_crs=crs, resampling=Resampling.nearest)
            profile = dict(driver="GTiff", width=data.shape[1], height=data.shape[0], count=1, dtype="uint8",
                           crs=crs, transform=transform, nodata=nodata, tiled=True, blockxsize=256, blockysize=256,
                           compress="deflate")
            tmp = out.with_name(f".{out.name}.tmp")
            with rasterio.open(tmp, "w", **profile) as dst:
                dst.write(data, 1)
                if kind == "classes" and src.colormap(1):
                    dst.write_colormap(1, src.colormap(1))
            tmp.replace(out)
        outputs[kind] = out
    return outputs["classes"], window


def mosaic_maps(class_maps: list[str | Path], out_prefix: str | Path, nomenclature: Nomenclature,
                crs: str | None = None, resolution: float | None = None, show_progress: bool = True) -> dict:
    """Mosaic tile maps (``<TILE>_classes.tif`` with their ``_confidence.tif``) into ``<out_prefix>_*``."""
    class_maps = [Path(p) for p in class_maps]
    _check_inputs(class_maps)
    with rasterio.open(class_maps[0]) as first:
        target_crs = CRS.from_user_input(crs) if crs else first.crs
        resolution = float(resolution or first.res[0])
    if not target_crs.is_projected:
        raise InputFormatError(f"target CRS {target_crs}: use a projected CRS (metres), e.g. EPSG:2154")
    out_prefix = Path(out_prefix)
    tiles_dir = out_prefix.parent / f"{out_prefix.name}_tiles"
    tiles_dir.mkdir(parents=True, exist_ok=True)
    grid, height, width = _target_grid(class_maps, target_crs, resolution)
    tags = {"signature": hashlib.sha256("".join(str(p.resolve()) for p in class_maps).encode()).hexdigest(),
            "product": "mosaic", "tiles": ",".join(p.name.replace("_classes.tif", "") for p in class_maps),
            "software": f"landcover_hpc {__version__}", "crs": target_crs.to_string()}
    with capped_block_cache():  # every block is written once: GDAL's default cache only holds memory
        warped = [_warp_tile(p, tiles_dir, target_crs, grid) for p in class_maps]
        writer = MapWriter(out_prefix.parent, out_prefix.name, target_crs, grid, height, width, nomenclature,
                           tags)
        writer.done = set()
        progress = Progress("mosaic", height * width, "px", enabled=show_progress, logger=log)
        for index, (row, col, h, w) in enumerate(iter_blocks(height, width, _BLOCK)):
            classes, confidence = _mosaic_block(warped, row, col, h, w)
            writer.write(index, row, col, classes, confidence)
            progress.update(h * w)
        products = writer.finalize()
    vrt = out_prefix.parent / f"{out_prefix.name}.vrt"
    write_text_atomic(vrt, _vrt_xml(warped, grid, height, width, target_crs, nomenclature, vrt.parent))
    return {"classes": str(products["classes"]), "confidence": str(products["confidence"]), "vrt": str(vrt),
            "height": height, "width": width, "tiles": len(class_maps)}


def _mosaic_block(warped: list[tuple[Path, Window]], row: int, col: int, h: int, w: int
                  ) -> tuple[np.ndarray, np.ndarray]:
    """(h, w) uint8 classes and confidence of one mosaic block: per pixel, the most confident tile's."""
    classes = np.zeros((h, w), np.uint8)
    best = np.full((h, w), -1, np.int16)
    for path, window in warped:
        r0, c0 = int(window.row_off), int(window.col_off)
        rr0, cc0 = max(row, r0), max(col, c0)
        rr1, cc1 = min(row + h, r0 + int(window.height)), min(col + w, c0 + int(window.width))
        if rr0 >= rr1 or cc0 >= cc1:
            continue
        src_win = Window(cc0 - c0, rr0 - r0, cc1 - cc0, rr1 - rr0)
        with rasterio.open(path) as src, rasterio.open(confidence_path(path)) as conf:
            tile_classes, tile_conf = src.read(1, window=src_win), conf.read(1, window=src_win)
        sl = np.s_[rr0 - row:rr1 - row, cc0 - col:cc1 - col]
        better = (tile_classes > 0) & (tile_conf != CONFIDENCE_NODATA) & (tile_conf.astype(np.int16) > best[sl])
        classes[sl] = np.where(better, tile_classes, classes[sl])
        best[sl] = np.where(better, tile_conf, best[sl])
    confidence = np.where(best >= 0, best, CONFIDENCE_NODATA).astype(np.uint8)
    return classes, confidence


def _vrt_xml(warped, grid, height, width, crs: CRS, nomenclature: Nomenclature, vrt_dir: Path) -> str:
    def mean_confidence(path: Path) -> float:
        with rasterio.open(confidence_path(path)) as src:
            data = src.read(1, out_shape=(64, 64), resampling=Resampling.nearest)
        valid = data != CONFIDENCE_NODATA
        return float(data[valid].mean()) if valid.any() else 0.0

    colors = nomenclature.colormap()
    entries = "".join(f'<Entry c1="{c[0]}" c2="{c[1]}" c3="{c[2]}" c4="{c[3]}"/>'
                      for c in (colors.get(i, (0, 0, 0, 0)) for i in range(256)))
    sources = []
    for path, window in sorted(warped, key=lambda item: mean_confidence(item[0])):  # most confident on top
        w, h = int(window.width), int(window.height)
        sources.append(
            f'    <ComplexSource><SourceFilename relativeToVRT="1">{escape(str(path.relative_to(vrt_dir)))}'
            f'</SourceFilename><SourceBand>1</SourceBand><SrcRect xOff="0" yOff="0" xSize="{w}" ySize="{h}"/>'
            f'<DstRect xOff="{int(window.col_off)}" yOff="{int(window.row_off)}" xSize="{w}" ySize="{h}"/>'
            f"<NODATA>0</NODATA></ComplexSource>")
    gt = ", ".join(repr(v) for v in grid.to_gdal())
    return (f'<VRTDataset rasterXSize="{width}" rasterYSize="{height}">\n  <SRS>{escape(crs.to_wkt())}</SRS>\n'
            f"  <GeoTransform>{gt}</GeoTransform>\n"
            '  <VRTRasterBand dataType="Byte" band="1">\n    <NoDataValue>0</NoDataValue>\n'
            f"    <ColorInterp>Palette</ColorInterp>\n    <ColorTable>{entries}</ColorTable>\n"
            + "\n".join(sources) + "\n  </VRTRasterBand>\n</VRTDataset>\n")
