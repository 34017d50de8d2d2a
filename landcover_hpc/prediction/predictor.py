"""Run a trained model over a tile, window by window, into class and confidence maps.

Memory is bounded by a few windows whatever the tile size: a window is read from the tile store, padded
by edge replication where it passes the tile's bottom/right edge (by less than 4 px), normalised with the
percentiles stored in the model, predicted, and only its core (see :mod:`.windows`) is kept. A background
thread reads and normalises the next window while the model runs.

Under ``mpirun`` the windows are dealt round robin to the ranks; after each round rank 0 gathers the cores
(one ``Gatherv`` per map) and is the only writer. Rank 0 records finished windows every few rounds, so a
killed job resumes after the last recorded window; a finished map whose inputs, model and options did not
change is not recomputed (``force`` recomputes it).
"""

from __future__ import annotations

import hashlib
import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .. import __version__
from ..data.store import TileStore
from ..errors import InputFormatError, InputNotFoundError, LandcoverError
from ..io import file_sha256
from ..maps import MapWriter, quicklook
from ..maps.geotiff import CONFIDENCE_NODATA
from ..nomenclature import nomenclature_from_dict
from ..parallel import raise_together
from ..progress import Progress
from ..sampling.transforms import model_input
from .windows import PredictionWindow, plan_windows

__all__ = ["PredictOptions", "predict_tile", "read_padded"]


@dataclass(frozen=True)
class PredictOptions:
    window: int = 512  # window side, px (multiple of 4)
    overlap: int = 16  # px shared by neighbouring windows (multiple of 4); each keeps its pixels >= overlap/2 px
                       # from its border (except on the tile's edges)
    precision: str | None = None  # "float32" | "bfloat16"; None: as the model was saved
    checkpoint_every: int = 4  # rounds of windows between two resume points
    force: bool = False
    quicklook: bool = True


def read_padded(store: TileStore, window: PredictionWindow, buffer: np.ndarray | None = None
                ) -> tuple[np.ndarray, np.ndarray]:
    """(h, w, T*C) int16 stack and (h, w) bool validity of a window, edge-replicated past the tile.

    ``buffer``: a flat int16 array of at least h * w * T*C elements that the stack is read into (reused
    from window to window), or None for a new array.
    """
    shape = (window.height, window.width, store.n_channels)
    stack = np.empty(shape, np.int16) if buffer is None else buffer[:np.prod(shape)].reshape(shape)
    h = min(window.height, store.height - window.row)
    w = min(window.width, store.width - window.col)
    store.read_window(window.row, window.col, h, w, out=stack)
    stack[h:, :w] = stack[h - 1:h, :w]  # edge replication, as np.pad(mode="edge")
    stack[:, w:] = stack[:, w - 1:w]
    valid = np.zeros(shape[:2], bool)
    valid[:h, :w] = store.read_valid(window.row, window.col, h, w)
    return stack, valid


def _check_compatible(store: TileStore, meta, model_path: Path) -> None:
    if tuple(store.bands) != tuple(meta.band_names):
        raise InputFormatError(f"{store.path}: bands {' '.join(store.bands)} differ from those the model {model_path} "
                               f"was trained on ({' '.join(meta.band_names)}): prepare the tile with the same bands")
    if store.n_channels != meta.percentiles.shape[1]:
        raise InputFormatError(f"{store.path}: {store.n_dates} dates x {store.n_bands} bands, the model {model_path} "
                               f"expects {meta.percentiles.shape[1] // len(meta.band_names)} dates: gap-fill the tile "
                               "onto the model's date grid")


def predict_tile(store_path: str | Path, model_path: str | Path, out_dir: str | Path,
                 options: PredictOptions = PredictOptions(), comm=None, loaded=None) -> dict:
    """Predict one prepared tile into ``out_dir/<TILE>_classes.tif`` and ``_confidence.tif``.

    Args:
        store_path: the tile's ``<TILE>.h5`` store.
        model_path: a model saved by training (``landcover_hpc.models.save_model``).
        comm: mpi4py communicator to share the windows over, or None for one process.
        loaded: ``(model, metadata)`` already loaded from ``model_path`` with ``options.precision`` (when
            mapping several tiles with one model), else the model is loaded here.
    Returns:
        summary: paths, windows, pixels, seconds, pixels/s, whether it was skipped as up to date.
    """
    from ..models import load_model

    rank, size = (comm.Get_rank(), comm.Get_size()) if comm is not None else (0, 1)
    model_path, out_dir = Path(model_path), Path(out_dir)
    if not model_path.is_file():
        raise InputNotFoundError(f"model {model_path} not found: train one with landcover-train or pass --model")
    store = TileStore(store_path)
    try:
        model, meta = loaded if loaded is not None else load_model(model_path, precision=options.precision)
        _check_compatible(store, meta, model_path)
        nomenclature = nomenclature_from_dict(meta.nomenclature, str(model_path)) if meta.nomenclature \
            else store.nomenclature
        windows = plan_windows(store.height, store.width, options.window, options.overlap)
        model_sha256 = file_sha256(model_path)
        signature = hashlib.sha256(json.dumps([
            model_sha256, store.h5.attrs.get("input_signature", str(store.path)),
            {k: v for k, v in asdict(options).items() if k in ("window", "overlap", "precision")},
            [asdict(w) for w in windows],  # the plan itself: a map made with another plan is recomputed
        ]).encode()).hexdigest()
        tags = {
            "signature": signature, "model": model_path.name, "model_sha256": model_sha256,
            "architecture": meta.spec.architecture if meta.spec else "", "tile": store.tile_id,
            "input_dates": ",".join(store.dates), "software": f"landcover_hpc {__version__}",
            "precision": options.precision or (meta.spec.precision if meta.spec else "float32"),
            "window": options.window, "overlap": options.overlap,
        }
        return _run(store, model, meta, nomenclature, windows, tags, out_dir, options, comm, rank, size)
    finally:
        store.close()


def _run(store, model, meta, nomenclature, windows, tags, out_dir, options, comm, rank, size) -> dict:
    from ..models import forward_function

    writer, skip, error = None, False, None
    if rank == 0:
        try:
            writer = MapWriter(out_dir, store.tile_id, store.crs, store.transform, store.height, store.width,
                               nomenclature, tags)
            skip = writer.is_complete() and not options.force
            if options.force and not skip:
                writer.done = set()
        except LandcoverError as exc:
            error = exc
    raise_together(comm, error, f"opening the maps of {store.tile_id} in {out_dir}")
    done = writer.done if rank == 0 else None
    if comm is not None:
        skip, done = comm.bcast((skip, done), root=0)
    paths = {"classes": out_dir / f"{store.tile_id}_classes.tif",
             "confidence": out_dir / f"{store.tile_id}_confidence.tif"}
    if skip:
        if writer is not None:
            writer.close()
        return {"tile": store.tile_id, "skipped": True, **{k: str(v) for k, v in paths.items()}}

    todo = [w for w in windows if w.index not in done]
    rounds = -(-len(todo) // size)
    mine = [todo[i * size + rank] if i * size + rank < len(todo) else None for i in range(rounds)]
    code_lut = np.array([0] + list(meta.class_codes), dtype=np.uint8)
    progress = Progress(f"predict {store.tile_id}", sum(w.core_height * w.core_width for w in todo), "px",
                        enabled=rank == 0)
    forward = forward_function(model)
    start = time.perf_counter()
    model_seconds = 0.0

    # Reused buffers (new 0.5 GB arrays per window cost more in page faults than the reading itself): one for
    # the int16 stack, used by the reader thread only, and two for the model input, round i filling input
    # buffer i % 2 while the model reads the other one (round i - 1's, finished before round i + 1 starts).
    largest = max((w.height * w.width for w in mine if w is not None), default=0)
    raw_buffer = np.empty(largest * store.n_channels, np.int16)
    n_inputs = model.input_shape[-1]
    input_buffers = [np.empty(largest * n_inputs, np.float32) for _ in range(2)]

    def load(i):
        if mine[i] is None:
            return None
        raw, valid = read_padded(store, mine[i], raw_buffer)
        out = input_buffers[i % 2][:valid.size * n_inputs].reshape(*valid.shape, n_inputs)
        return model_input(raw, meta.percentiles, meta.band_names, bool(meta.spectral_indices), out=out), valid

    with ThreadPoolExecutor(max_workers=1) as reader:
        pending = reader.submit(load, 0) if mine else None
        for i in range(rounds):
            loaded = pending.result()
            pending = reader.submit(load, i + 1) if i + 1 < rounds else None
            result = None
            if loaded is not None:
                x, valid = loaded
                t0 = time.perf_counter()
                probs = forward(x[None]).numpy()[0]
                model_seconds += time.perf_counter() - t0
                result = _core_maps(mine[i], probs, valid, code_lut)
            index = mine[i].index if mine[i] is not None else -1
            gathered = [(index, result)] if comm is None else _gather_cores(comm, index, result, windows)
            if rank == 0:
                for index, maps in gathered:
                    w = windows[index]
                    writer.write(index, w.core_row, w.core_col, *maps)
                    progress.update(w.core_height * w.core_width)
                if (i + 1) % options.checkpoint_every == 0:
                    writer.checkpoint()
    seconds = time.perf_counter() - start
    summary = {"tile": store.tile_id, "skipped": False, "windows": len(todo), "seconds": seconds,
               "pixels": int(sum(w.core_height * w.core_width for w in todo)), "model_seconds": model_seconds}
    if rank == 0:
        final = writer.finalize()
        if options.quicklook:
            quicklook(final["classes"], out_dir / f"{store.tile_id}_quicklook.png", nomenclature,
                      title=f"{store.tile_id} ({tags['architecture']})")
        summary.update({k: str(v) for k, v in final.items()})
        summary["pixels_per_second"] = summary["pixels"] / seconds if seconds > 0 else 0.0
    if comm is not None:
        comm.Barrier()
    return summary


def _gather_cores(comm, index: int, maps, windows: list[PredictionWindow]) -> list:
    """Rank 0 receives every rank's window core (class codes and confidence) in one Gatherv."""
    from mpi4py import MPI

    indices = comm.gather(index, root=0)  # small metadata; the maps go through a buffer call
    send = np.concatenate([m.ravel() for m in maps]) if maps is not None else np.zeros(0, np.uint8)
    counts = [2 * windows[j].core_height * windows[j].core_width if j >= 0 else 0 for j in indices] \
        if comm.Get_rank() == 0 else None
    receive = None
    if comm.Get_rank() == 0:
        receive = np.empty(sum(counts), np.uint8)
        displacements = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(int)
        comm.Gatherv(send, [receive, counts, displacements, MPI.UNSIGNED_CHAR], root=0)
    else:
        comm.Gatherv(send, None, root=0)
    if comm.Get_rank() != 0:
        return []
    out, offset = [], 0
    for j, n in zip(indices, counts):
        if j >= 0:
            h, w = windows[j].core_height, windows[j].core_width
            block = receive[offset:offset + n]
            out.append((j, (block[:h * w].reshape(h, w), block[h * w:].reshape(h, w))))
        offset += n
    return out


def _core_maps(window: PredictionWindow, probs: np.ndarray, valid: np.ndarray, code_lut: np.ndarray):
    """(class codes, confidence) uint8 of a window's core; nodata where the input is nodata."""
    rows, cols = window.crop
    core = probs[rows, cols]
    valid = valid[rows, cols]
    classes = np.where(valid, code_lut[np.argmax(core, axis=-1) + 1], 0).astype(np.uint8)
    confidence = np.where(valid, np.rint(core.max(axis=-1) * 100), CONFIDENCE_NODATA).astype(np.uint8)
    return classes, confidence
