"""Class and confidence maps of a tile as Cloud Optimized GeoTIFFs, written window by window.

Files of a tile in the output folder::

    <TILE>_classes.tif        uint8 class codes, nodata 0, embedded colour table, class names
                              (GDAL category names, in the .aux.xml beside it), overviews by mode
    <TILE>_confidence.tif     uint8 0..100, maximum class probability in percent, nodata 255
    .partial/<TILE>_*.tif     the maps while they are being computed (plain tiled GeoTIFFs) and
    .partial/<TILE>.json      which windows are done, for a killed job to resume

Both maps carry tags naming the producer (model, its checksum, software version, input dates...). They
become visible under their final names only once complete (COG copy to a temporary name, then rename). The
files that finalisation writes after them (class names, partial files removed) are checked again by the
next run (:func:`finish_files`), so a run killed while finalising leaves nothing missing for good.
"""

from __future__ import annotations

import json
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
import rasterio
import rasterio.shutil
from rasterio.windows import Window

from ..io import atomic_path, remove_temporaries, write_json_atomic, write_text_atomic
from ..nomenclature import Nomenclature

__all__ = ["MapWriter", "map_paths", "partial_paths", "maps_complete", "finish_files", "remove_map_temporaries",
           "read_map_tags", "CONFIDENCE_NODATA"]

CONFIDENCE_NODATA = 255
_BLOCK = 256


def map_paths(out_dir: str | Path, tile_id: str) -> dict[str, Path]:
    out_dir = Path(out_dir)
    return {"classes": out_dir / f"{tile_id}_classes.tif", "confidence": out_dir / f"{tile_id}_confidence.tif",
            "quicklook": out_dir / f"{tile_id}_quicklook.png"}


def partial_paths(out_dir: str | Path, tile_id: str) -> dict[str, Path]:
    """The files of a map being computed: the two partial rasters and the record of the windows done."""
    partial = Path(out_dir) / ".partial"
    return {"classes": partial / f"{tile_id}_classes.tif", "confidence": partial / f"{tile_id}_confidence.tif",
            "state": partial / f"{tile_id}.json"}


def maps_complete(out_dir: str | Path, tile_id: str, signature: str | None) -> bool:
    """True when both final maps of ``tile_id`` exist with this ``signature`` (nothing to recompute)."""
    paths = map_paths(out_dir, tile_id)
    if not all(paths[k].is_file() for k in ("classes", "confidence")):
        return False
    return all(read_map_tags(paths[k]).get("signature") == signature for k in ("classes", "confidence"))


def finish_files(out_dir: str | Path, tile_id: str, nomenclature: Nomenclature) -> None:
    """What finalisation writes and removes after the maps themselves, where a killed run left it undone:
    the class names (if missing) and the partial files. Only a run owning the maps calls it."""
    paths = map_paths(out_dir, tile_id)
    names = _names_path(paths["classes"])
    if not names.is_file():
        write_text_atomic(names, _category_names_xml(nomenclature))
    for p in partial_paths(out_dir, tile_id).values():
        p.unlink(missing_ok=True)


def remove_map_temporaries(out_dir: str | Path, tile_id: str) -> None:
    """Remove the temporaries that a killed run left beside a tile's files. Only a run owning the maps
    calls it."""
    paths = map_paths(out_dir, tile_id)
    for p in (*paths.values(), _names_path(paths["classes"]), partial_paths(out_dir, tile_id)["state"]):
        remove_temporaries(p)


def _names_path(classes_path: Path) -> Path:
    """The GDAL sidecar with the class names of a class map."""
    return classes_path.with_name(classes_path.name + ".aux.xml")


def read_map_tags(path: str | Path) -> dict[str, str]:
    with rasterio.open(path) as src:
        return src.tags()


class MapWriter:
    """Writes one tile's maps; resumable.

    Args:
        out_dir: output folder.
        tile_id, crs, transform, height, width: the tile's grid (maps are on the input grid).
        nomenclature: classes, colours and names of the map.
        tags: provenance written into both maps; ``tags['signature']`` identifies the inputs: a partial
            map with another signature is discarded rather than resumed.
    """

    def __init__(self, out_dir: str | Path, tile_id: str, crs, transform, height: int, width: int,
                 nomenclature: Nomenclature, tags: dict[str, str]) -> None:
        self.out_dir = Path(out_dir)
        self.tile_id, self.height, self.width = tile_id, height, width
        self.nomenclature, self.tags = nomenclature, {k: str(v) for k, v in tags.items()}
        self.paths = map_paths(out_dir, tile_id)
        partial = partial_paths(out_dir, tile_id)
        self.partial = {k: partial[k] for k in ("classes", "confidence")}
        self.state_path = partial["state"]
        self.done: set[int] = set()
        self._profile = dict(driver="GTiff", width=width, height=height, count=1, dtype="uint8", crs=crs,
                             transform=transform, tiled=True, blockxsize=_BLOCK, blockysize=_BLOCK)
        self._open()

    # -- state -----------------------------------------------------------------------------------------
    def is_complete(self) -> bool:
        """True when both final maps exist with this writer's signature (nothing to recompute)."""
        return maps_complete(self.out_dir, self.tile_id, self.tags.get("signature"))

    def _open(self) -> None:
        partial_ok = self.state_path.is_file() and all(p.is_file() for p in self.partial.values())
        if partial_ok:
            state = json.loads(self.state_path.read_text())
            if state.get("signature") == self.tags.get("signature"):
                self.done = set(state["done"])
            else:
                partial_ok = False
        if not partial_ok:
            self.state_path.parent.mkdir(parents=True, exist_ok=True)
            for kind, nodata in (("classes", 0), ("confidence", CONFIDENCE_NODATA)):
                with rasterio.open(self.partial[kind], "w", nodata=nodata, **self._profile) as dst:
                    if kind == "classes":
                        dst.write_colormap(1, self.nomenclature.colormap())
            self.done = set()
            self._save_state()
        self._dst = {k: rasterio.open(p, "r+") for k, p in self.partial.items()}

    def _save_state(self) -> None:
        write_json_atomic(self.state_path, {"signature": self.tags.get("signature"), "done": sorted(self.done)})

    # -- writing ---------------------------------------------------------------------------------------
    def write(self, window_index: int, row: int, col: int, classes: np.ndarray, confidence: np.ndarray) -> None:
        """Write one window's core: (h, w) uint8 class codes and (h, w) uint8 confidence."""
        win = Window(col, row, classes.shape[1], classes.shape[0])
        self._dst["classes"].write(classes.astype(np.uint8), 1, window=win)
        self._dst["confidence"].write(confidence.astype(np.uint8), 1, window=win)
        self.done.add(window_index)

    def read(self, kind: str, row: int, col: int, height: int, width: int) -> np.ndarray:
        """(height, width) uint8 of the partial map ``kind`` ("classes" or "confidence") as written so far."""
        return self._dst[kind].read(1, window=Window(col, row, width, height))

    def checkpoint(self) -> None:
        """Make the windows written so far durable and recorded (a killed job resumes after them)."""
        for dst in self._dst.values():
            dst.close()
        self._save_state()
        self._dst = {k: rasterio.open(p, "r+") for k, p in self.partial.items()}

    def finalize(self) -> dict[str, Path]:
        """Turn the partial maps into the final COGs (atomically) and remove the partial files."""
        for dst in self._dst.values():
            dst.close()
        for kind, resampling in (("classes", "MODE"), ("confidence", "AVERAGE")):
            with rasterio.open(self.partial[kind], "r+") as src:
                src.update_tags(**self.tags, PRODUCT=kind)
                src.set_band_description(1, "class code" if kind == "classes" else "confidence, percent")
            with atomic_path(self.paths[kind]) as tmp:
                rasterio.shutil.copy(self.partial[kind], tmp, driver="COG", COMPRESS="DEFLATE", PREDICTOR="NO",
                                     OVERVIEW_RESAMPLING=resampling, BLOCKSIZE=str(_BLOCK), BIGTIFF="IF_SAFER")
        write_text_atomic(_names_path(self.paths["classes"]), _category_names_xml(self.nomenclature))
        finish_files(self.out_dir, self.tile_id, self.nomenclature)
        return {k: self.paths[k] for k in ("classes", "confidence")}

    def close(self) -> None:
        for dst in getattr(self, "_dst", {}).values():
            if not dst.closed:
                dst.close()


def _category_names_xml(nomenclature: Nomenclature) -> str:
    """GDAL PAM sidecar giving each class code its name (QGIS and gdalinfo show them as categories)."""
    names = [""] * 256
    for c in nomenclature.classes:
        names[c.code] = f"{c.name} {c.long_name}"
    categories = "\n".join(f"      <Category>{escape(n)}</Category>" for n in names[: max(nomenclature.codes) + 1])
    return ("<PAMDataset>\n  <PAMRasterBand band=\"1\">\n    <CategoryNames>\n"
            f"{categories}\n    </CategoryNames>\n  </PAMRasterBand>\n</PAMDataset>\n")
