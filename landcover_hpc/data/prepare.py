"""``landcover-prepare``: input tiles -> per-tile HDF5 stores (see :mod:`landcover_hpc.data.store`).

Each tile is processed window by window, so memory is bounded by one window of the stack, GDAL's block cache
(capped, :func:`landcover_hpc.io.capped_block_cache`) and the reference: a reference.gpkg's bounds (polygons
are read window by window through the GeoPackage's spatial index), or a labels.tif's seams and a few numbers
per object (its objects are found window by window, :mod:`landcover_hpc.data.objects`). One tile's store is
written under a temporary name and renamed when complete. A store whose inputs and options did not change
since it was written is kept (``force`` rewrites it). A run owns the store while it decides and writes
(:mod:`landcover_hpc.locks`): a second run on it fails at once, and the owner removes the temporary that a
killed run left.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sys
from dataclasses import asdict, dataclass
import logging
from pathlib import Path

import h5py
import numpy as np
import rasterio
from rasterio.features import rasterize
from rasterio.windows import Window
from rasterio.windows import transform as window_transform

from .. import __version__
from ..artefact import CHECKSUMMED, seal, write_header
from ..errors import EmptyReferenceError, InputFormatError, NoDataTileError
from ..io import atomic_path, capped_block_cache, remove_temporaries, write_json_atomic
from ..locks import locked_output
from ..nomenclature import Nomenclature
from ..parallel import my_share, raise_together, world
from ..progress import Progress
from .blocks import iter_blocks
from .objects import LabelObjects
from .positions import valid_positions
from .split import SPLITS, split_objects
from .store import STORE_FORMAT, STORE_FORMAT_VERSION, TileStore
from .tiles import (ReferencePolygons, StackInfo, find_tiles, open_s1_stack, open_stack, read_block,
                    read_reference)

__all__ = ["PrepareOptions", "prepare_tile", "prepare_dataset", "dataset_percentiles", "shared_s1_dates"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PrepareOptions:
    """Options of ``landcover-prepare`` (defaults: the paper's)."""

    patch_size: int = 64  # side of training patches, px
    stride: int = 16  # step of the grid of candidate patch positions, px
    min_fraction: float = 0.10  # share of a patch's pixels that must be of a class
    position_window: int | None = None  # measure min_fraction over the patch's central window of this side (None:
    # the whole patch, the paper; the stride: every pixel of a thin object centres some position, data/positions.py)
    test_fraction: float = 0.33  # share of reference objects in the test set, per tile and class (paper)
    val_fraction: float = 0.10  # share of reference objects for validation, carved out of the training ones
    split_seed: int = 0
    percentile_samples: int = 20_000  # expected pixels per tile in the percentile subsample
    window: int = 512  # side of the windows the tile is processed in, px
    chunk: int = 64  # HDF5 chunk side, px (chunks hold all T*C channels)
    compression: str | None = None  # None, "lzf" or "gzip": none is fastest for random patch reads

    def validate(self) -> None:
        from ..errors import ConfigError

        checks = [
            (self.patch_size >= 4 and self.patch_size % 4 == 0, "patch_size", "a multiple of 4, >= 4"),
            (self.stride >= 1, "stride", ">= 1"),
            (0.0 < self.min_fraction <= 1.0, "min_fraction", "in (0, 1]"),
            (self.position_window is None or (1 <= self.position_window <= self.patch_size
                                              and (self.patch_size - self.position_window) % 2 == 0),
             "position_window", "null, or from 1 to patch_size with patch_size - position_window even"),
            (0.0 < self.test_fraction < 1.0, "test_fraction", "in (0, 1)"),
            (0.0 <= self.val_fraction < 1.0 - self.test_fraction, "val_fraction", "in [0, 1 - test_fraction)"),
            (self.percentile_samples >= 100, "percentile_samples", ">= 100"),
            (self.window >= 16, "window", ">= 16"),
            (self.chunk >= 8, "chunk", ">= 8"),
            (self.compression in (None, "lzf", "gzip"), "compression", "none, lzf or gzip"),
        ]
        for ok, key, allowed in checks:
            if not ok:
                raise ConfigError(f"prepare option {key}={getattr(self, key)!r}: must be {allowed}")


def _file_signature(path: Path) -> dict:
    stat = path.stat()
    return {"path": str(path.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _input_signature(stack: StackInfo, reference: ReferencePolygons | Path, nomenclature: Nomenclature,
                     options: PrepareOptions, s1: StackInfo | None) -> str:
    ref_path = reference.path if isinstance(reference, ReferencePolygons) else reference
    blob = json.dumps([_file_signature(stack.path), _file_signature(ref_path), nomenclature.to_dict(),
                       asdict(options), STORE_FORMAT_VERSION, s1 and _file_signature(s1.path)], sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def prepare_tile(tile_dir: str | Path, out_path: str | Path, nomenclature: Nomenclature,
                 options: PrepareOptions = PrepareOptions(), *, force: bool = False,
                 show_progress: bool = True) -> dict:
    """Validate one input tile and write its HDF5 store; return a summary of it.

    Raises:
        LandcoverError subclasses for every input problem, before or while writing (nothing is left);
        OutputBusyError if another run is writing ``out_path``.
    """
    options.validate()
    tile_dir, out_path = Path(tile_dir), Path(out_path)
    with locked_output(out_path, f"the store of tile {tile_dir.name}"):
        remove_temporaries(out_path)
        return _prepare_tile(tile_dir, out_path, nomenclature, options, force, show_progress)


def _prepare_tile(tile_dir: Path, out_path: Path, nomenclature: Nomenclature, options: PrepareOptions,
                  force: bool, show_progress: bool) -> dict:
    """:func:`prepare_tile` once this run owns ``out_path``."""
    stack = open_stack(tile_dir)
    s1 = open_s1_stack(tile_dir, stack)
    reference = read_reference(tile_dir, stack, nomenclature)
    signature = _input_signature(stack, reference, nomenclature, options, s1)
    if not force and out_path.is_file():
        try:
            with h5py.File(out_path, "r") as existing:
                same_inputs = existing.attrs.get("input_signature") == signature
            if same_inputs:
                with TileStore(out_path) as store:
                    return _summary(store, skipped=True)
        except (OSError, InputFormatError):
            pass  # unreadable, damaged or of an older format version: rewrite it

    if isinstance(reference, ReferencePolygons):
        label_objects, object_classes = None, reference.class_indices
    else:
        with capped_block_cache():
            label_objects = LabelObjects(reference, nomenclature, options.window)
        object_classes = label_objects.classes
    n_objects = len(object_classes)
    rng = np.random.default_rng([options.split_seed, int.from_bytes(stack.tile_id.encode(), "little")])
    object_split = split_objects(object_classes, options.test_fraction, options.val_fraction, rng)
    # lookup tables indexed by object id (1..n; 0 = no object)
    class_of = np.concatenate([[0], object_classes]).astype(np.uint8)
    split_of = np.concatenate([[255], object_split]).astype(np.uint8)
    pixels_of = np.zeros(n_objects + 1, dtype=np.int64)

    H, W, TC = stack.height, stack.width, stack.n_channels
    chunk = (min(options.chunk, H), min(options.chunk, W), TC)
    sample_rate = min(1.0, options.percentile_samples / (H * W))
    samples: list[np.ndarray] = []
    s1_samples: list[np.ndarray] = []
    n_valid = 0
    progress = Progress(f"prepare {stack.tile_id}", H * W, "px", enabled=show_progress, logger=log)

    with capped_block_cache(), atomic_path(out_path) as tmp, h5py.File(tmp, "w") as h5, \
            rasterio.open(stack.path) as src, \
            (rasterio.open(s1.path) if s1 else contextlib.nullcontext()) as s1_src, \
            (rasterio.open(label_objects.path) if label_objects else contextlib.nullcontext()) as labels_src:
        ds_stack = h5.create_dataset("stack", (H, W, TC), dtype="int16", chunks=chunk,
                                     compression=options.compression, shuffle=options.compression is not None,
                                     **CHECKSUMMED)
        ds_s1 = None if s1 is None else h5.create_dataset(
            "stack_s1", (H, W, s1.n_channels), dtype="int16", chunks=chunk[:2] + (s1.n_channels,),
            compression=options.compression, shuffle=options.compression is not None, **CHECKSUMMED)
        ds_valid = h5.create_dataset("valid", (H, W), dtype=bool, chunks=chunk[:2], compression="gzip", **CHECKSUMMED)
        ds_labels = {s: h5.create_dataset(f"labels/{s}", (H, W), dtype="uint8", chunks=chunk[:2], compression="gzip",
                                          **CHECKSUMMED)
                     for s in SPLITS}
        for r0, c0, h, w in iter_blocks(H, W, options.window):
            win = Window(c0, r0, w, h)
            block = np.moveaxis(read_block(src, win, stack.path), 0, -1)  # (h, w, T*C)
            valid = np.all(block != stack.nodata, axis=-1)
            n_valid += int(valid.sum())
            ds_stack[r0:r0 + h, c0:c0 + w, :] = block
            ds_valid[r0:r0 + h, c0:c0 + w] = valid
            pick = valid & (rng.random(valid.shape) < sample_rate)
            samples.append(block[pick])
            if ds_s1 is not None:  # the same pixels, where the radar saw them (no draw: the S2 store is unchanged)
                s1_block = np.moveaxis(read_block(s1_src, win, s1.path), 0, -1)  # (h, w, T1*2)
                ds_s1[r0:r0 + h, c0:c0 + w, :] = s1_block
                s1_samples.append(s1_block[pick & np.all(s1_block != s1.nodata, axis=-1)])

            if label_objects is not None:
                ids = label_objects.window(labels_src, r0, c0, h, w)
            else:
                ids = _rasterize_window(reference, src.transform, win)
            ids = np.where(valid, ids, 0)
            pixels_of += np.bincount(ids.ravel(), minlength=n_objects + 1)
            for s_index, s in enumerate(SPLITS):
                ds_labels[s][r0:r0 + h, c0:c0 + w] = np.where(split_of[ids] == s_index, class_of[ids], 0)
            progress.update(h * w)

        if n_valid == 0:
            raise NoDataTileError(f"{stack.path}: every pixel is nodata ({stack.nodata}): wrong file or nodata value?")
        if pixels_of[1:].sum() == 0:
            ref = reference.path if isinstance(reference, ReferencePolygons) else reference
            raise EmptyReferenceError(f"{ref}: no labelled pixel on valid data of tile {stack.tile_id}: "
                                      "check the reference covers the tile")
        sample = np.concatenate(samples)
        h5.create_dataset("percentile_sample", data=sample, compression="gzip", **CHECKSUMMED)
        h5.create_dataset("percentiles", data=np.percentile(sample, [3, 97], axis=0).astype(np.float32),
                          **CHECKSUMMED)
        if s1 is not None:
            s1_sample = np.concatenate(s1_samples)
            if len(s1_sample) == 0:
                raise NoDataTileError(f"{s1.path}: nodata ({s1.nodata}) wherever {stack.path.name} has data: wrong "
                                      "file or nodata value?")
            h5.create_dataset("percentile_sample_s1", data=s1_sample, compression="gzip", **CHECKSUMMED)
            h5.create_dataset("percentiles_s1", data=np.percentile(s1_sample, [3, 97], axis=0).astype(np.float32),
                              **CHECKSUMMED)
        polygons = np.stack([np.arange(1, n_objects + 1), object_classes, object_split, pixels_of[1:]], axis=1)
        h5.create_dataset("polygons", data=polygons.astype(np.int64), **CHECKSUMMED)

        classes = list(range(1, len(nomenclature) + 1))
        for s in SPLITS:
            group = h5.create_group(f"positions/{s}")
            found = valid_positions(lambda a, b, s=s: ds_labels[s][a:b, :], H, W, classes,
                                    options.patch_size, options.stride, options.min_fraction,
                                    window=options.position_window)
            for cls, pos in found.items():
                if len(pos):
                    group.create_dataset(str(nomenclature.codes[cls - 1]), data=pos, **CHECKSUMMED)

        write_header(h5, STORE_FORMAT, STORE_FORMAT_VERSION)
        h5.attrs.update({
            "software_version": __version__,
            "tile_id": stack.tile_id, "crs": stack.crs.to_wkt(), "transform": json.dumps(stack.transform.to_gdal()),
            "dates": json.dumps(stack.dates), "bands": json.dumps(stack.bands), "nodata": stack.nodata,
            "s1_dates": json.dumps(s1.dates if s1 else []), "s1_bands": json.dumps(s1.bands if s1 else []),
            "s1_nodata": s1.nodata if s1 else 0,
            "class_codes": json.dumps(nomenclature.codes), "nomenclature": json.dumps(nomenclature.to_dict()),
            "patch_size": options.patch_size, "stride": options.stride, "min_fraction": options.min_fraction,
            "position_window": options.position_window or options.patch_size,
            "split_seed": options.split_seed, "test_fraction": options.test_fraction,
            "val_fraction": options.val_fraction,
            "source": str(tile_dir.resolve()), "input_signature": signature, "valid_pixels": n_valid,
        })
        seal(h5, datasets=False)  # the datasets are checksummed chunk by chunk (CHECKSUMMED)
    with TileStore(out_path) as store:
        return _summary(store, skipped=False)


def _rasterize_window(reference: ReferencePolygons, transform, win: Window) -> np.ndarray:
    """(h, w) int32 object ids (1-based, 0 = none) of the polygons touching a window."""
    wt = window_transform(win, transform)
    x0, y1 = wt * (0, 0)
    x1, y0 = wt * (win.width, win.height)
    shapes = reference.touching(x0, y0, x1, y1)
    if not shapes:
        return np.zeros((win.height, win.width), dtype=np.int32)
    return rasterize(shapes, out_shape=(win.height, win.width), transform=wt, fill=0, dtype="int32")


def _summary(store: TileStore, skipped: bool) -> dict:
    return {
        "tile": store.tile_id, "path": str(store.path), "height": store.height, "width": store.width,
        "n_dates": store.n_dates, "n_bands": store.n_bands, "s1_dates": len(store.s1_dates), "skipped": skipped,
        "valid_fraction": int(store.h5.attrs["valid_pixels"]) / (store.height * store.width),
        "objects": int(len(store.polygons)),
        **{f"{s}_pixels": store.class_counts(s).tolist() for s in SPLITS},
        "train_positions": [len(store.positions("train", c)) for c in store.class_codes],
    }


def dataset_percentiles(stores: list[TileStore], sentinel1: bool = False) -> np.ndarray:
    """(2, T*C) float32 3rd/97th percentiles over the union of the tiles' pixel subsamples; with
    ``sentinel1``, (2, T1*2) of their Sentinel-1 stacks (every store must have one, with the same dates)."""
    samples = [s.percentile_sample_s1 if sentinel1 else s.percentile_sample for s in stores]
    return np.percentile(np.concatenate(samples), [3, 97], axis=0).astype(np.float32)


def shared_s1_dates(stores: list[TileStore], warn: bool = True) -> tuple[str, ...]:
    """The Sentinel-1 dates all ``stores`` share; () when a store has none or the dates differ, then (when
    some store has Sentinel-1 and ``warn``) with a one-line warning on stderr naming the store: S2-only models
    still work, Sentinel-1 models need the dates."""
    first = stores[0]
    for s in stores:
        if not s.s1_dates or s.s1_dates != first.s1_dates:
            why = ("has no Sentinel-1 stack (no stack_s1.tif in its input)" if not s.s1_dates else
                   f"has {len(s.s1_dates)} Sentinel-1 dates {s.s1_dates[0]}..{s.s1_dates[-1]}, {first.tile_id} "
                   f"{len(first.s1_dates)} {first.s1_dates[0]}..{first.s1_dates[-1]}")
            if warn and any(t.s1_dates for t in stores):
                print(f"warning: {s.path}: tile {s.tile_id} {why}: the dataset has no Sentinel-1 dates "
                      "(s1_dates: []); Sentinel-1 models cannot train on it", file=sys.stderr)
            return ()
    return first.s1_dates


def prepare_dataset(input_dir: str | Path, out_dir: str | Path, nomenclature: Nomenclature,
                    options: PrepareOptions = PrepareOptions(), tiles: list[str] | None = None,
                    force: bool = False) -> dict:
    """Prepare every tile of ``input_dir`` into ``out_dir/<TILE_ID>.h5`` and write ``out_dir/dataset.json``.

    Under ``mpirun`` the tiles are shared among ranks; rank 0 writes dataset.json. Returns the dataset
    summary (on every rank).
    """
    comm, rank, size = world()
    out_dir = Path(out_dir)
    tile_dirs = find_tiles(input_dir, tiles)
    error = None
    try:
        for tile_dir in my_share(tile_dirs, rank, size):
            prepare_tile(tile_dir, out_dir / f"{tile_dir.name}.h5", nomenclature, options, force=force,
                         show_progress=(rank == 0))
    except Exception as exc:  # noqa: BLE001 - re-raised after the other ranks know
        error = exc
    raise_together(comm, error, f"preparing {input_dir}")

    stores = [TileStore(out_dir / f"{d.name}.h5") for d in tile_dirs]
    try:
        _check_consistent(stores)
        s1_dates = shared_s1_dates(stores, warn=rank == 0)
        summary = {
            "format": "landcover_hpc.dataset", "software_version": __version__,
            "nomenclature": nomenclature.to_dict(), "options": asdict(options),
            "dates": list(stores[0].dates), "bands": list(stores[0].bands),
            "tiles": [_summary(s, skipped=False) for s in stores],
            **{f"{split}_pixels": np.sum([s.class_counts(split) for s in stores], axis=0).tolist() for split in SPLITS},
            "percentiles": dataset_percentiles(stores).tolist(),
            "s1_dates": list(s1_dates),
            "s1_percentiles": dataset_percentiles(stores, sentinel1=True).tolist() if s1_dates else [],
        }
    finally:
        for s in stores:
            s.close()
    if rank == 0:
        write_json_atomic(out_dir / "dataset.json", summary)
    return summary


def _check_consistent(stores: list[TileStore]) -> None:
    ref = stores[0]
    for s in stores[1:]:
        if s.bands != ref.bands or s.n_dates != ref.n_dates:
            raise InputFormatError(
                f"{s.path}: tile {s.tile_id} has {s.n_dates} dates x bands {' '.join(s.bands)}, but {ref.tile_id} "
                f"has {ref.n_dates} x {' '.join(ref.bands)}: all tiles of a dataset need the same date grid and bands"
            )
        if s.class_codes != ref.class_codes:
            raise InputFormatError(f"{s.path}: prepared with another nomenclature than {ref.path}: re-run with --force")


def format_summary(summary: dict) -> str:
    """A text table of a dataset summary: per tile and class, labelled training pixels."""
    names = [c["name"] for c in summary["nomenclature"]["classes"]]
    header = f"{'tile':<8}{'size':>10}{'valid':>7}{'objects':>8}  " + "".join(f"{n:>7}" for n in names)
    lines = [f"dataset: {len(summary['tiles'])} tiles, T={len(summary['dates'])} dates "
             f"({summary['dates'][0]}..{summary['dates'][-1]}), C={len(summary['bands'])} bands "
             f"({' '.join(summary['bands'])}), K={len(names)} classes",
             "training pixels per tile and class (then all tiles' training, validation and test pixels):", header]
    for t in summary["tiles"]:
        lines.append(f"{t['tile']:<8}{t['height']:>5}x{t['width']:<4}{100 * t['valid_fraction']:>6.1f}%"
                     f"{t['objects']:>8}  " + "".join(f"{n:>7}" for n in t["train_pixels"]))
    for split in SPLITS:
        lines.append(f"{split:<8}{'':>10}{'':>7}{'':>8}  " + "".join(f"{n:>7}" for n in summary[f"{split}_pixels"]))
    counts = np.array(summary["train_pixels"], dtype=float)
    present = counts[counts > 0]
    if len(present):
        lines.append(f"class imbalance (most / least frequent training class): 1:{present.max() / present.min():.0f}")
    return "\n".join(lines)
