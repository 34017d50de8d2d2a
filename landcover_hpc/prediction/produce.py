"""One driver that turns a tile into class and confidence maps, whatever classifies its pixels.

The CNN (:mod:`.predictor`) and the Random Forest baseline (:mod:`landcover_hpc.baseline.predict`) differ
only in how a window of pixels becomes class codes and confidences; everything else is here, once:

- the window plan (:mod:`.windows`) and reading a window, edge-padded past the tile's bottom/right edge
  (:func:`read_padded`), into one buffer reused from window to window by a background reader thread that
  prepares the next window while the classifier works on the current one;
- MPI: windows dealt round robin to the ranks; after each round rank 0 gathers the window cores (one
  ``Gatherv``) and is the only writer; an error opening the maps is raised on every rank together;
- ownership: the writer (rank 0) holds the lock of the tile's maps (:mod:`landcover_hpc.locks`) from before
  it looks at them to after they are final, so a second run on the same tile and folder fails at once
  instead of skipping, resuming or overwriting a map being written; the owner removes what killed runs left;
- the map files (:class:`landcover_hpc.maps.MapWriter`): signature and provenance tags, skipping a map that
  is up to date (unless ``force``) before anything is written, completing what a run killed while
  finalising left undone (class names, quicklook), resuming a killed job after its last checkpoint,
  cropping each window to its core, checking that every window is written before signing the maps,
  finalising, the quicklook; progress lines (rank 0) and the summary dict;
- a stop signal (inside :func:`landcover_hpc.interrupt.stop_signals`): after the round of windows it came
  in, every rank stops, rank 0 records the windows done and :class:`~landcover_hpc.interrupt.StopRequested`
  is raised; a rerun resumes after them to the same map.

A classifier is a small adapter object (:class:`WindowClassifier`): ``prepare`` runs in the reader thread
(e.g. normalisation), ``classify`` in the main thread (the model), and returns per-pixel class codes and
confidence over the whole window (:func:`maps_from_probabilities` turns class probabilities into them).

The driver lives in ``prediction`` rather than ``maps`` because it is built on the window plan and the
padded reader of this package; ``maps`` stays the product format (writer, quicklook), which knows nothing
of windows, models or MPI, and ``baseline`` already depends on ``prediction`` (never the reverse).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Any, Protocol, Sequence

import numpy as np

from .. import __version__
from ..data.store import TileStore
from ..errors import IncompleteOutputError, LandcoverError
from ..interrupt import StopRequested, received_signal_name, stop_requested
from ..io import file_sha256
from ..locks import lock_together
from ..maps import MapWriter, finish_files, map_paths, maps_complete, quicklook, remove_map_temporaries
from ..maps.geotiff import CONFIDENCE_NODATA
from ..nomenclature import Nomenclature, nomenclature_from_dict
from ..parallel import raise_together
from ..progress import Progress
from .windows import PredictionWindow, plan_windows

__all__ = ["MapOptions", "WindowClassifier", "produce_maps", "read_padded", "maps_from_probabilities",
           "map_signature"]

log = logging.getLogger(__name__)


class MapOptions(Protocol):
    """The options every map producer has (``PredictOptions``, ``RFPredictOptions``)."""

    window: int  # window side, px (multiple of 4)
    overlap: int  # px shared by neighbouring windows (multiple of 4)
    checkpoint_every: int  # rounds of windows between two resume points
    force: bool  # recompute a map that is up to date
    quicklook: bool  # draw <TILE>_quicklook.png


class WindowClassifier(Protocol):
    """A model seen by the driver: a window of pixels -> per-pixel (class codes, confidence).

    A classifier whose ``sentinel1`` attribute is True (a Sentinel-1 model) gets the window's Sentinel-1
    channels after its Sentinel-2 channels in ``prepare``'s ``stack``; without the attribute, or False,
    Sentinel-2 only.

    Attributes:
        architecture: the ``architecture`` tag of the maps (e.g. ``"fgunet"``, ``"random_forest"``).
        title: the quicklook title after the tile id (e.g. ``"fgunet"``, ``"RF"``).
        progress_label: what the progress lines say it does (``"predict"``, ``"rf predict"``).
        settings: options that change the maps besides window and overlap, part of the map signature.
        tags: provenance tags of the maps besides those the driver writes.
        nomenclature: the nomenclature saved with the model (``Nomenclature.to_dict()``), or empty to take
            the tile store's.
    """

    architecture: str
    title: str
    progress_label: str
    settings: dict[str, Any]
    tags: dict[str, Any]
    nomenclature: dict | None

    def prepare(self, stack: np.ndarray, valid: np.ndarray, slot: int) -> Any:
        """Run in the reader thread on ``stack`` (h, w, T*C) int16 and ``valid`` (h, w) bool of a window.

        ``stack`` is the reader's buffer, overwritten by the next window while ``classify`` runs: keep a copy
        of what ``classify`` needs. ``slot`` (0 or 1) alternates from window to window: a buffer of slot s
        may be reused two windows later (the window before has been classified by then).
        """

    def classify(self, prepared: Any) -> tuple[np.ndarray, np.ndarray]:
        """(h, w) uint8 class codes (0 = nodata, on invalid pixels only) and (h, w) uint8 confidence in percent
        (255 = nodata)."""


def read_padded(store: TileStore, window: PredictionWindow, buffer: np.ndarray | None = None,
                sentinel1: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(h, w, T*C) int16 stack and (h, w) bool validity of a window, edge-replicated past the tile.

    ``buffer``: a flat int16 array of at least h * w * T*C elements that the stack is read into (reused
    from window to window), or None for a new array. Pixels past the tile are invalid. ``sentinel1``: the
    stack is (h, w, T*C + T1*2), the window of the tile's Sentinel-1 stack after the Sentinel-2 channels.
    """
    channels = store.n_channels + (store.n_s1_channels if sentinel1 else 0)
    shape = (window.height, window.width, channels)
    stack = np.empty(shape, np.int16) if buffer is None else buffer[:np.prod(shape)].reshape(shape)
    h = min(window.height, store.height - window.row)
    w = min(window.width, store.width - window.col)
    if sentinel1:
        stack[:h, :w, :store.n_channels] = store.read_window(window.row, window.col, h, w)
        stack[:h, :w, store.n_channels:] = store.read_s1_window(window.row, window.col, h, w)
    else:
        store.read_window(window.row, window.col, h, w, out=stack)
    stack[h:, :w] = stack[h - 1:h, :w]  # edge replication, as np.pad(mode="edge")
    stack[:, w:] = stack[:, w - 1:w]
    valid = np.zeros(shape[:2], bool)
    valid[:h, :w] = store.read_valid(window.row, window.col, h, w)
    return stack, valid


def maps_from_probabilities(probs: np.ndarray, valid: np.ndarray, class_codes: Sequence[int]
                            ) -> tuple[np.ndarray, np.ndarray]:
    """(h, w) uint8 class codes of the most probable class and (h, w) uint8 rint(100 x its probability) of
    ``probs`` (h, w, K) float, channel k being ``class_codes[k]``; nodata where ``valid`` (h, w) is False."""
    code_lut = np.array([0, *class_codes], dtype=np.uint8)
    classes = np.where(valid, code_lut[np.argmax(probs, axis=-1) + 1], 0).astype(np.uint8)
    confidence = np.where(valid, np.rint(probs.max(axis=-1) * 100), CONFIDENCE_NODATA).astype(np.uint8)
    return classes, confidence


def map_signature(model_sha256: str, store: TileStore, settings: dict[str, Any],
                  windows: list[PredictionWindow]) -> str:
    """What identifies a map: model, input store, options and the window plan itself (a map made with
    another plan is recomputed)."""
    return hashlib.sha256(json.dumps([
        model_sha256, store.h5.attrs.get("input_signature", str(store.path)), settings,
        [asdict(w) for w in windows],
    ]).encode()).hexdigest()


def produce_maps(store: TileStore, classifier: WindowClassifier, model_path: str | Path, out_dir: str | Path,
                 options: MapOptions, comm=None, show_progress: bool | None = None) -> dict:
    """Write ``out_dir/<TILE>_classes.tif`` and ``_confidence.tif`` of ``store`` with ``classifier``.

    Args:
        model_path: the classifier's model file (its name and checksum go into the tags and signature).
        comm: mpi4py communicator to share the windows over (every rank calls this), or None for one process.
        show_progress: print progress lines; default: on rank 0 only.
    Returns:
        summary: tile, skipped (up to date), paths; when computed: windows, pixels, seconds, model_seconds
        (in ``classify``), and on rank 0 pixels_per_second.
    """
    rank = comm.Get_rank() if comm is not None else 0
    model_path, out_dir = Path(model_path), Path(out_dir)
    windows = plan_windows(store.height, store.width, options.window, options.overlap)
    tags = _map_tags(store, classifier, model_path, options, windows)
    nomenclature = nomenclature_from_dict(classifier.nomenclature, str(model_path)) if classifier.nomenclature \
        else store.nomenclature
    paths = {k: str(v) for k, v in map_paths(out_dir, store.tile_id).items() if k != "quicklook"}
    lock = lock_together(paths["classes"], f"the maps of tile {store.tile_id}", comm)
    writer = None
    try:
        writer, skip, done = _open_maps(store, nomenclature, tags, out_dir, options, classifier.title, comm)
        if skip:
            return {"tile": store.tile_id, "skipped": True, **paths}
        todo = [w for w in windows if w.index not in done]
        pixels = sum(w.core_height * w.core_width for w in todo)
        progress = Progress(f"{classifier.progress_label} {store.tile_id}", pixels, "px",
                            enabled=rank == 0 if show_progress is None else show_progress, logger=log)
        start = time.perf_counter()
        model_seconds = _predict_windows(store, classifier, windows, todo, writer, progress,
                                         options.checkpoint_every, comm)
        seconds = time.perf_counter() - start
        summary = {"tile": store.tile_id, "skipped": False, **paths, "windows": len(todo), "pixels": int(pixels),
                   "seconds": seconds, "model_seconds": model_seconds}
        if rank == 0:
            _finish(writer, store, windows, nomenclature, out_dir, options.quicklook, classifier.title)
            summary["pixels_per_second"] = pixels / seconds if seconds > 0 else 0.0
    finally:
        if writer is not None:
            writer.close()
        if lock is not None:
            lock.release()
    if comm is not None:
        comm.Barrier()
    return summary


def _map_tags(store: TileStore, classifier: WindowClassifier, model_path: Path, options: MapOptions,
              windows: list[PredictionWindow]) -> dict[str, Any]:
    """Provenance written into both maps, the signature first."""
    model_sha256 = file_sha256(model_path)
    settings = {"window": options.window, "overlap": options.overlap, **classifier.settings}
    return {"signature": map_signature(model_sha256, store, settings, windows), "model": model_path.name,
            "model_sha256": model_sha256, "architecture": classifier.architecture, "tile": store.tile_id,
            "input_dates": ",".join(store.dates), "software": f"landcover_hpc {__version__}",
            "window": options.window, "overlap": options.overlap, **classifier.tags}


def _open_maps(store: TileStore, nomenclature: Nomenclature, tags: dict, out_dir: Path, options: MapOptions,
               title: str, comm) -> tuple[MapWriter | None, bool, set[int]]:
    """(writer on rank 0 else None, skip: the maps are up to date, windows already done), on every rank.

    Rank 0 owns the maps (holds their lock): it removes the temporaries of killed runs, and decides to skip
    before writing anything, completing what a run killed while finalising left undone.
    """
    writer, skip, done, error = None, False, set(), None
    if comm is None or comm.Get_rank() == 0:
        try:
            remove_map_temporaries(out_dir, store.tile_id)
            skip = not options.force and maps_complete(out_dir, store.tile_id, tags["signature"])
            if skip:
                finish_files(out_dir, store.tile_id, nomenclature)
                if options.quicklook and not map_paths(out_dir, store.tile_id)["quicklook"].is_file():
                    _draw_quicklook(store.tile_id, nomenclature, out_dir, title)
            else:
                writer = MapWriter(out_dir, store.tile_id, store.crs, store.transform, store.height, store.width,
                                   nomenclature, tags)
                if options.force:
                    writer.done = set()
                done = writer.done
        except LandcoverError as exc:
            error = exc
    raise_together(comm, error, f"opening the maps of {store.tile_id} in {out_dir}")
    if comm is not None:
        skip, done = comm.bcast((skip, done), root=0)
    return writer, skip, done


def _deal(todo: list[PredictionWindow], rank: int, size: int) -> list[PredictionWindow | None]:
    """This rank's window of each round (round robin), None where the last round has none for it."""
    rounds = -(-len(todo) // size)
    return [todo[i * size + rank] if i * size + rank < len(todo) else None for i in range(rounds)]


def _predict_windows(store: TileStore, classifier: WindowClassifier, windows: list[PredictionWindow],
                     todo: list[PredictionWindow], writer: MapWriter | None, progress: Progress,
                     checkpoint_every: int, comm) -> float:
    """Classify this rank's windows, round by round, and write every rank's cores on rank 0; returns the
    seconds spent in ``classify``."""
    rank, size = (comm.Get_rank(), comm.Get_size()) if comm is not None else (0, 1)
    mine = _deal(todo, rank, size)
    # one reused buffer for the int16 stack, used by the reader thread only (new 0.5 GB arrays per window cost
    # more in page faults than the reading itself)
    largest = max((w.height * w.width for w in mine if w is not None), default=0)
    sentinel1 = bool(getattr(classifier, "sentinel1", False))
    raw_buffer = np.empty(largest * (store.n_channels + (store.n_s1_channels if sentinel1 else 0)), np.int16)

    def load(i: int):
        if mine[i] is None:
            return None
        stack, valid = read_padded(store, mine[i], raw_buffer, sentinel1)
        return classifier.prepare(stack, valid, i % 2)

    model_seconds = 0.0
    with ThreadPoolExecutor(max_workers=1) as reader:
        pending = reader.submit(load, 0) if mine else None
        for i, window in enumerate(mine):
            prepared = pending.result()
            pending = reader.submit(load, i + 1) if i + 1 < len(mine) else None
            core = None
            if window is not None:
                t0 = time.perf_counter()
                core = _crop_core(window, classifier.classify(prepared))
                model_seconds += time.perf_counter() - t0
            gathered = _gather_round(comm, window, core, windows)
            stop = i + 1 < len(mine) and stop_requested(comm)  # collective: every rank stops after this round
            if writer is not None:
                _write_cores(writer, gathered, windows, progress)
                if (i + 1) % checkpoint_every == 0 or stop:
                    writer.checkpoint()
            if stop:
                if comm is not None:
                    comm.Barrier()  # rank 0's resume record is complete before any rank exits
                raise StopRequested(f"stopped by {received_signal_name()} after {i + 1} of {len(mine)} rounds of "
                                    f"windows of {store.tile_id}, recorded: rerun the same command to resume")
    return model_seconds


def _crop_core(window: PredictionWindow, maps: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    rows, cols = window.crop
    return tuple(m[rows, cols] for m in maps)


def _gather_round(comm, window: PredictionWindow | None, core, windows: list[PredictionWindow]) -> list:
    """[(window index, (classes, confidence) of its core)] of this round: every rank's on rank 0, else []."""
    if comm is None:
        return [(window.index, core)] if window is not None else []
    return _gather_cores(comm, window.index if window is not None else -1, core, windows)


def _gather_cores(comm, index: int, maps, windows: list[PredictionWindow]) -> list:
    """Rank 0 receives every rank's window core (class codes and confidence) in one Gatherv."""
    from mpi4py import MPI

    indices = comm.gather(index, root=0)  # small metadata; the maps go through a buffer call
    send = np.concatenate([m.ravel() for m in maps]) if maps is not None else np.zeros(0, np.uint8)
    if comm.Get_rank() != 0:
        comm.Gatherv(send, None, root=0)
        return []
    counts = [2 * windows[j].core_height * windows[j].core_width if j >= 0 else 0 for j in indices]
    receive = np.empty(sum(counts), np.uint8)
    displacements = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(int)
    comm.Gatherv(send, [receive, counts, displacements, MPI.UNSIGNED_CHAR], root=0)
    out, offset = [], 0
    for j, n in zip(indices, counts):
        if j >= 0:
            h, w = windows[j].core_height, windows[j].core_width
            block = receive[offset:offset + n]
            out.append((j, (block[:h * w].reshape(h, w), block[h * w:].reshape(h, w))))
        offset += n
    return out


def _write_cores(writer: MapWriter, gathered: list, windows: list[PredictionWindow], progress: Progress) -> None:
    for index, (classes, confidence) in gathered:
        w = windows[index]
        writer.write(index, w.core_row, w.core_col, classes, confidence)
        progress.update(w.core_height * w.core_width)


def _finish(writer: MapWriter, store: TileStore, windows: list[PredictionWindow], nomenclature: Nomenclature,
            out_dir: Path, draw_quicklook: bool, title: str) -> None:
    """Final COGs from the partial maps once every window is written, and the quicklook."""
    _check_written(writer, store, windows)
    # an older quicklook goes first: a run killed before drawing the new one leaves none, which the next draws
    map_paths(out_dir, store.tile_id)["quicklook"].unlink(missing_ok=True)
    writer.finalize()
    if draw_quicklook:
        _draw_quicklook(store.tile_id, nomenclature, out_dir, title)


def _draw_quicklook(tile_id: str, nomenclature: Nomenclature, out_dir: Path, title: str) -> None:
    paths = map_paths(out_dir, tile_id)
    quicklook(paths["classes"], paths["quicklook"], nomenclature, title=f"{tile_id} ({title})")


def _check_written(writer: MapWriter, store: TileStore, windows: list[PredictionWindow]) -> None:
    """Refuse to sign a map with holes: every window must be recorded done, and every valid pixel of its
    core must have a class in the partial map (a classifier gives nodata only to invalid pixels). Windows
    failing this are taken off the record, for the next run to compute them."""
    missing = {w.index for w in windows} - writer.done
    for w in windows:
        if w.index not in missing:
            classes = writer.read("classes", w.core_row, w.core_col, w.core_height, w.core_width)
            valid = store.read_valid(w.core_row, w.core_col, w.core_height, w.core_width)
            if np.any(valid & (classes == 0)):
                missing.add(w.index)
    if missing:
        writer.done -= missing
        writer.checkpoint()
        raise IncompleteOutputError(f"{writer.paths['classes']}: windows {sorted(missing)} of {len(windows)} are "
                                    "not written: the maps are not finalised; rerun to compute these windows")
