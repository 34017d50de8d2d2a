"""The per-tile HDF5 store written by ``landcover-prepare`` and read by every later stage.

Layout of ``<store>/<TILE_ID>.h5`` (no pickle anywhere; strings are UTF-8 attributes or datasets)::

    /stack                    (H, W, T*C) int16, reflectance x 1e4, date-major channels,
                              chunked (chunk, chunk, T*C): a 64x64 patch or a 512x512 window reads whole
                              pixel spectra from few chunks
    /valid                    (H, W) bool, True where no band is nodata
    /labels/train, /labels/val, /labels/test
                              (H, W) uint8 class index 1..K of the nomenclature, 0 = unlabelled
    /positions/{train,val,test}/<CODE>
                              (n, 2) int32 (row, col) top-left corners of patch_size x patch_size patches
                              holding >= min_fraction pixels of class CODE (of their central
                              position_window x position_window pixels), on a grid of step `stride`
    /polygons                 (n, 4) int64 per reference object: id, class index, split (0 train, 1 val,
                              2 test),
                              labelled pixels
    /percentiles              (2, T*C) float32, 3rd and 97th percentile per channel of this tile
    /percentile_sample        (n, T*C) int16, the random pixel subsample the percentiles come from, kept so
                              that dataset-wide percentiles combine tiles exactly
    /stack_s1                 (H, W, T1*2) int16, Sentinel-1 sigma0 in dB x 100, date-major (VV, VH of date
                              1, then date 2, ...), chunked like /stack; only when the input tile had a
                              stack_s1.tif (attribute s1_dates not empty)
    /percentiles_s1           (2, T1*2) float32, 3rd and 97th percentile per S1 channel of this tile
    /percentile_sample_s1     (n', T1*2) int16, the S1 values of the percentile sample's pixels (those where
                              the S1 stack is not nodata)
    attributes                tile_id, crs (WKT), transform (GDAL order), dates, bands, nodata, class_codes,
                              nomenclature (JSON), patch_size, stride, min_fraction, position_window
                              (= patch_size: the whole patch; absent in older stores), split_seed,
                              test_fraction, val_fraction, source, valid_pixels, format, format_version,
                              software_version, s1_dates (JSON, [] without S1), s1_bands, s1_nodata

/valid is the Sentinel-2 validity only: S2-only models map exactly the pixels they mapped before S1 existed.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Sequence

import h5py
import numpy as np
from rasterio.crs import CRS
from rasterio.transform import Affine

from ..artefact import damaged_error, open_artefact
from ..errors import InputFormatError, InputNotFoundError
from ..io import read_json_file
from ..nomenclature import Nomenclature, nomenclature_from_dict
from .split import SPLITS
from .tiles import DateBandLayout

__all__ = ["STORE_FORMAT", "STORE_FORMAT_VERSION", "SPLITS", "TileStore", "list_tiles", "open_stores",
           "read_dataset_summary", "require_tiles", "store_path"]

STORE_FORMAT = "landcover_hpc.tile_store"
STORE_FORMAT_VERSION = 5  # 5: optional Sentinel-1 stack; 4: sealed attributes, checksummed chunks; 3: train / val /
# test split (2: train / test)
_FIX = "re-run landcover-prepare"
_WHAT = "landcover_hpc tile store"


def _checked_read(method):
    """A TileStore read whose HDF5 failure (a chunk failing its checksum, damaged compressed data, a
    truncated file) becomes one line naming the store."""
    @functools.wraps(method)
    def read(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except OSError as exc:
            raise damaged_error(self.path, exc, _WHAT, _FIX) from None

    return read


class TileStore(DateBandLayout):
    """Read access to one prepared tile (``n_dates``, ``n_bands``, ``n_channels`` from its dates and bands). Use as a context manager or call :meth:`close`.

    Args:
        path: the ``<TILE_ID>.h5`` file.
        cache_bytes: HDF5 chunk cache size; raise it for random patch reads on a large tile.
    """

    def __init__(self, path: str | Path, cache_bytes: int = 64 * 2**20) -> None:
        self.path = Path(path)
        self.h5 = open_artefact(self.path, STORE_FORMAT, (STORE_FORMAT_VERSION,), _FIX, _WHAT, sealed="attributes",
                                rdcc_nbytes=cache_bytes, rdcc_nslots=100_003)
        try:
            self._read_attributes()
        except (KeyError, ValueError, TypeError) as exc:
            self.h5.close()
            raise InputFormatError(f"{self.path}: {_WHAT} with missing or malformed attributes ({exc!r}): "
                                   f"{_FIX}") from None

    def _read_attributes(self) -> None:
        attrs = self.h5.attrs
        self.tile_id: str = str(attrs["tile_id"])
        self.dates: tuple[str, ...] = tuple(json.loads(attrs["dates"]))
        self.bands: tuple[str, ...] = tuple(json.loads(attrs["bands"]))
        self.nodata: int = int(attrs["nodata"])
        self.crs = CRS.from_wkt(str(attrs["crs"]))
        self.transform = Affine.from_gdal(*json.loads(attrs["transform"]))
        self.class_codes: tuple[int, ...] = tuple(json.loads(attrs["class_codes"]))
        self.nomenclature: Nomenclature = nomenclature_from_dict(json.loads(attrs["nomenclature"]), str(self.path))
        self.patch_size: int = int(attrs["patch_size"])
        self.stride: int = int(attrs["stride"])
        self.min_fraction: float = float(attrs["min_fraction"])
        self.s1_dates: tuple[str, ...] = tuple(json.loads(attrs["s1_dates"]))
        self.s1_bands: tuple[str, ...] = tuple(json.loads(attrs["s1_bands"]))
        self.s1_nodata: int = int(attrs["s1_nodata"])
        self.stack: h5py.Dataset = self.h5["stack"]
        self.stack_s1: h5py.Dataset | None = self.h5["stack_s1"] if self.s1_dates else None
        if self.stack_s1 is not None and self.stack_s1.shape != (*self.stack.shape[:2], self.n_s1_channels):
            raise ValueError(f"stack_s1 {self.stack_s1.shape} for {len(self.s1_dates)} dates x {self.s1_bands}")
        self.height, self.width, channels = self.stack.shape  # (H, W, T*C): channels follow dates x bands
        if channels != len(self.dates) * len(self.bands) or self.stack.dtype != np.int16:
            raise ValueError(f"stack {self.stack.shape} {self.stack.dtype} for {len(self.dates)} dates x "
                             f"{len(self.bands)} bands")

    @property
    def has_s1(self) -> bool:
        """Whether the tile has a Sentinel-1 stack."""
        return bool(self.s1_dates)

    @property
    def n_s1_channels(self) -> int:
        """T1*2, channels of the Sentinel-1 stack (0 without one)."""
        return len(self.s1_dates) * len(self.s1_bands)

    def require_s1(self, what: str) -> None:
        """Raise the one-line error of a tile without Sentinel-1 that ``what`` (e.g. "the model X") needs.

        Raises:
            InputFormatError: naming the store, what needs Sentinel-1 and the fix.
        """
        if not self.has_s1:
            raise InputFormatError(f"{self.path}: tile {self.tile_id} has no Sentinel-1 stack, which {what} needs: "
                                   f"add <TILE_ID>/stack_s1.tif to its input folder {self.h5.attrs.get('source', '')} "
                                   "and re-run landcover-prepare")

    # -- context manager -------------------------------------------------------------------------------
    def __enter__(self) -> "TileStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self.h5.id.valid:
            self.h5.close()

    def __repr__(self) -> str:
        return (f"TileStore({self.tile_id}, {self.height}x{self.width}, T={self.n_dates}, C={self.n_bands}, "
                f"K={len(self.class_codes)})")

    # -- description -----------------------------------------------------------------------------------
    @property
    @_checked_read
    def percentiles(self) -> np.ndarray:
        """(2, T*C) float32: 3rd and 97th percentiles per channel of this tile."""
        return self.h5["percentiles"][...]

    @property
    @_checked_read
    def percentile_sample(self) -> np.ndarray:
        """(n, T*C) int16 random valid pixels of this tile (the percentiles' sample)."""
        return self.h5["percentile_sample"][...]

    @property
    @_checked_read
    def s1_percentiles(self) -> np.ndarray:
        """(2, T1*2) float32: 3rd and 97th percentiles per Sentinel-1 channel of this tile."""
        self.require_s1("the Sentinel-1 percentiles")
        return self.h5["percentiles_s1"][...]

    @property
    @_checked_read
    def percentile_sample_s1(self) -> np.ndarray:
        """(n', T1*2) int16 Sentinel-1 values of the percentile sample's pixels."""
        self.require_s1("the Sentinel-1 percentiles")
        return self.h5["percentile_sample_s1"][...]

    @property
    @_checked_read
    def polygons(self) -> np.ndarray:
        """(n, 4) int64: object id, class index (1..K), split (index into SPLITS), labelled pixels."""
        return self.h5["polygons"][...]

    def class_counts(self, split: str = "train") -> np.ndarray:
        """(K,) int64 labelled pixels per class index 1..K in a split."""
        table = self.polygons
        counts = np.zeros(len(self.class_codes), dtype=np.int64)
        rows = table[table[:, 2] == SPLITS.index(split)]
        np.add.at(counts, rows[:, 1] - 1, rows[:, 3])
        return counts

    # -- reads -----------------------------------------------------------------------------------------
    @_checked_read
    def read_window(self, row: int, col: int, height: int, width: int, out: np.ndarray | None = None) -> np.ndarray:
        """(height, width, T*C) int16 block of the stack.

        ``out``: a C-contiguous int16 array to read into, of shape (H >= height, W >= width, T*C); the block
        lands in ``out[:height, :width]``, which is returned. Reading into a reused buffer saves the page
        faults of a new array (2/3 of the time of a 512 px window read).
        """
        if out is None:
            return self.stack[row:row + height, col:col + width, :]
        self.stack.read_direct(out, np.s_[row:row + height, col:col + width, :], np.s_[:height, :width, :])
        return out[:height, :width]

    @_checked_read
    def read_s1_window(self, row: int, col: int, height: int, width: int, out: np.ndarray | None = None
                       ) -> np.ndarray:
        """(height, width, T1*2) int16 block of the Sentinel-1 stack (dB x 100); ``out`` as in
        :meth:`read_window`, with T1*2 channels."""
        self.require_s1("reading Sentinel-1 windows")
        if out is None:
            return self.stack_s1[row:row + height, col:col + width, :]
        self.stack_s1.read_direct(out, np.s_[row:row + height, col:col + width, :], np.s_[:height, :width, :])
        return out[:height, :width]

    @_checked_read
    def read_valid(self, row: int, col: int, height: int, width: int) -> np.ndarray:
        return self.h5["valid"][row:row + height, col:col + width]

    @_checked_read
    def read_labels(self, split: str, row: int = 0, col: int = 0, height: int | None = None,
                    width: int | None = None) -> np.ndarray:
        """(h, w) uint8 class indices (0 = unlabelled) of a split, whole tile by default."""
        height = self.height if height is None else height
        width = self.width if width is None else width
        return self.h5[f"labels/{_check_split(split)}"][row:row + height, col:col + width]

    @_checked_read
    def positions(self, split: str, code: int) -> np.ndarray:
        """(n, 2) int32 top-left (row, col) of valid patches for class ``code`` (empty if none)."""
        group = self.h5[f"positions/{_check_split(split)}"]
        key = str(code)
        return group[key][...] if key in group else np.zeros((0, 2), dtype=np.int32)


def _check_split(split: str) -> str:
    if split not in SPLITS:
        raise ValueError(f"split {split!r}: expected one of {SPLITS}")
    return split


def store_path(store_dir: str | Path, tile: str) -> Path:
    """The store file ``<store_dir>/<tile>.h5`` of a tile."""
    return Path(store_dir) / f"{tile}.h5"


def _require_store_dir(store_dir: Path) -> None:
    if not store_dir.is_dir():
        raise InputNotFoundError(f"store folder {store_dir} not found: run landcover-prepare --out {store_dir}")


def list_tiles(store_dir: str | Path) -> list[str]:
    """The tile ids of a prepared store folder, sorted.

    ``dataset.json`` names the tiles of the last ``landcover-prepare`` run, which its dataset-wide
    percentiles describe; a folder without it (tiles prepared one by one) has every ``<TILE_ID>.h5``.

    Raises:
        InputNotFoundError: the folder does not exist or holds no tile.
    """
    store_dir = Path(store_dir)
    _require_store_dir(store_dir)
    meta = store_dir / "dataset.json"
    if meta.is_file():
        tiles = sorted(t["tile"] for t in read_dataset_summary(store_dir)["tiles"])
    else:
        tiles = sorted(p.stem for p in store_dir.glob("*.h5"))
    if not tiles:
        raise InputNotFoundError(f"no <TILE_ID>.h5 in {store_dir}: run landcover-prepare --out {store_dir}")
    return tiles


def read_dataset_summary(store_dir: str | Path) -> dict:
    """``<store_dir>/dataset.json`` (written by landcover-prepare) after checking the keys later stages read.

    Raises:
        InputNotFoundError: no such file. InputFormatError: not valid JSON, or a key missing or mistyped.
    """
    path = Path(store_dir) / "dataset.json"
    fix = f"re-run landcover-prepare --out {store_dir}"
    summary = read_json_file(path, "dataset summary", fix)
    kinds = {"tiles": list, "dates": list, "bands": list, "nomenclature": dict}
    wrong = [key for key, kind in kinds.items() if not isinstance(summary, dict) or not isinstance(summary.get(key), kind)]
    if not wrong and not all(isinstance(t, dict) and isinstance(t.get("tile"), str) for t in summary["tiles"]):
        wrong = ["tiles[].tile"]
    if wrong:
        raise InputFormatError(f"{path}: not a landcover-prepare dataset summary (key {', '.join(wrong)} missing "
                               f"or mistyped): {fix}")
    return summary


def require_tiles(store_dir: str | Path, tiles: Sequence[str] | None = None) -> list[str]:
    """The named ``tiles`` after checking each has its store in ``store_dir``; all tiles when None or empty.

    Raises:
        InputNotFoundError: naming the missing tile(s), the folder, the tiles it has and the fix.
    """
    store_dir = Path(store_dir)
    _require_store_dir(store_dir)
    if not tiles:
        return list_tiles(store_dir)
    missing = [t for t in tiles if not store_path(store_dir, t).is_file()]
    if missing:
        have = sorted(p.stem for p in store_dir.glob("*.h5"))
        raise InputNotFoundError(f"tile(s) {', '.join(missing)} not in store {store_dir} (it has: "
                                 f"{', '.join(have) or 'no tile'}): prepare them with landcover-prepare --out "
                                 f"{store_dir} or choose among these")
    return list(tiles)


def open_stores(store_dir: str | Path, tiles: Sequence[str] | None = None, **kwargs) -> list[TileStore]:
    """Open the tile stores of a prepared dataset folder (all of them, or the named tiles)."""
    return [TileStore(store_path(store_dir, t), **kwargs) for t in require_tiles(store_dir, tiles)]
