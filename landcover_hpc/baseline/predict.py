"""Random Forest maps of a tile, window by window, in the CNN predictor's GeoTIFF format.

Every window is read from the tile store, its valid pixels classified by the forest with a decision rule
(the model's default unless :attr:`RFPredictOptions.decision` overrides it; see
:mod:`landcover_hpc.baseline.forest`): ``"vote"``, class = the trees' majority vote, confidence =
rint(100 x the fraction of trees voting for it), as the Orfeo ToolBox; ``"proba"``, class = the most
probable class, confidence = rint(100 x its mean probability), as scikit-learn. The window's
class map regularised by majority vote and only its core kept. Neighbouring windows share 4 px (the smallest
overlap the window plan allows whose 2 px half covers the radius-1 halo), so the windowed map equals the map
regularised as a whole. The confidence map is the forest's, before regularisation. Maps are written by
:class:`landcover_hpc.maps.MapWriter` (resumable, atomic, COG with colour table); a map whose model, input
store and options did not change is not recomputed.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from .. import __version__
from ..data.store import TileStore, open_stores, require_tiles
from ..errors import ConfigError, InputFormatError
from ..io import file_sha256
from ..maps import MapWriter, quicklook
from ..maps.geotiff import CONFIDENCE_NODATA, map_paths
from ..nomenclature import nomenclature_from_dict
from ..parallel import my_share, world
from ..prediction.windows import PredictionWindow, plan_windows
from ..progress import Progress
from .forest import ForestModel, check_decision, load_forest
from .regularize import majority_vote

__all__ = ["RFPredictOptions", "predict_tile_rf", "predict_stores_rf", "classify_window"]


@dataclass(frozen=True)
class RFPredictOptions:
    window: int = 512  # window side, px (multiple of 4)
    radius: int = 1  # majority-vote radius; 0 = no regularisation
    n_jobs: int = -1  # threads of the tree traversal
    checkpoint_every: int = 4  # windows between two resume points
    force: bool = False
    quicklook: bool = True
    decision: str | None = None  # "vote" or "proba"; None = the model's default

    def __post_init__(self) -> None:
        if self.decision is not None:
            check_decision(self.decision)
        if self.radius < 0 or self.radius > 8:
            raise ConfigError(f"regularisation radius {self.radius}: must be in 0..8")
        if self.window % 4 or self.window < 4 * (self.radius + 2):
            raise ConfigError(f"window {self.window}: must be a multiple of 4 and at least {4 * (self.radius + 2)}")

    @property
    def overlap(self) -> int:
        # each window keeps its pixels >= overlap / 2 px from its border; the plan wants a multiple of 4
        return -(-2 * self.radius // 4) * 4


def classify_window(model: ForestModel, stack: np.ndarray, valid: np.ndarray, n_jobs: int = -1,
                    decision: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Classify a window: (h, w) uint8 class codes (0 = nodata) and (h, w) uint8 confidence in percent
    (255 = nodata) of ``stack`` (h, w, T*C) int16 and ``valid`` (h, w) bool, by ``decision`` (default: the
    model's)."""
    h, w = valid.shape
    classes = np.zeros((h, w), dtype=np.uint8)
    confidence = np.full((h, w), CONFIDENCE_NODATA, dtype=np.uint8)
    if valid.any():
        codes, score = model.predict_with_confidence(stack[valid], decision, n_jobs)
        classes[valid] = codes
        confidence[valid] = np.rint(score * 100).astype(np.uint8)
    return classes, confidence


def _check_compatible(store: TileStore, model: ForestModel, model_path: Path) -> None:
    meta = model.metadata
    if tuple(meta["bands"]) != store.bands or tuple(meta["dates"]) != store.dates:
        raise InputFormatError(f"tile {store.tile_id} ({store.path}): its dates/bands differ from those the model "
                               f"{model_path} was trained on: prepare the tile on the model's date grid and bands")
    unknown = set(model.class_codes) - set(store.nomenclature.codes)
    if unknown:
        raise InputFormatError(f"model {model_path} predicts class codes {sorted(unknown)} that the nomenclature of "
                               f"tile {store.tile_id} does not have: use stores prepared with the same nomenclature")


def predict_tile_rf(model: ForestModel, model_path: str | Path, store_path: str | Path, out_dir: str | Path,
                    options: RFPredictOptions = RFPredictOptions()) -> dict:
    """Write ``<out_dir>/<TILE>_classes.tif`` and ``_confidence.tif`` for one tile store.

    Returns:
        summary: tile, paths, windows, pixels, seconds, pixels_per_second, skipped (up to date).
    """
    model_path, out_dir = Path(model_path), Path(out_dir)
    store = TileStore(store_path)
    try:
        _check_compatible(store, model, model_path)
        nomenclature = (nomenclature_from_dict(model.metadata["nomenclature"], str(model_path))
                        if model.metadata.get("nomenclature") else store.nomenclature)
        windows = plan_windows(store.height, store.width, options.window, options.overlap)
        decision = model.decision if options.decision is None else options.decision
        model_sha = file_sha256(model_path)
        signature = hashlib.sha256(json.dumps([
            model_sha, store.h5.attrs.get("input_signature", str(store.path.resolve())),
            {"window": options.window, "overlap": options.overlap, "radius": options.radius, "decision": decision},
        ]).encode()).hexdigest()
        tags = {"signature": signature, "model": model_path.name, "model_sha256": model_sha,
                "architecture": "random_forest", "method": "RF", "tile": store.tile_id,
                "input_dates": ",".join(store.dates), "software": f"landcover_hpc {__version__}",
                "regularization_radius": options.radius, "window": options.window, "overlap": options.overlap,
                "rf_params": json.dumps(model.metadata.get("params", {})), "rf_decision": decision}
        writer = MapWriter(out_dir, store.tile_id, store.crs, store.transform, store.height, store.width,
                           nomenclature, tags)
        paths = map_paths(out_dir, store.tile_id)
        try:
            if writer.is_complete() and not options.force:
                return {"tile": store.tile_id, "skipped": True, "classes": str(paths["classes"]),
                        "confidence": str(paths["confidence"])}
            if options.force:
                writer.done = set()
            summary = _run(store, model, windows, writer, options, decision)
        finally:
            writer.close()
        if options.quicklook:
            quicklook(paths["classes"], paths["quicklook"], nomenclature, title=f"{store.tile_id} (RF)")
        return {"tile": store.tile_id, "skipped": False, "classes": str(paths["classes"]),
                "confidence": str(paths["confidence"]), **summary}
    finally:
        store.close()


def _run(store: TileStore, model: ForestModel, windows: list[PredictionWindow], writer: MapWriter,
         options: RFPredictOptions, decision: str) -> dict:
    todo = [w for w in windows if w.index not in writer.done]
    progress = Progress(f"rf predict {store.tile_id}", sum(w.core_height * w.core_width for w in todo), "px",
                        enabled=world()[1] == 0)
    start = time.perf_counter()
    for i, window in enumerate(todo):
        h, w = min(window.height, store.height - window.row), min(window.width, store.width - window.col)
        stack = store.read_window(window.row, window.col, h, w)
        valid = store.read_valid(window.row, window.col, h, w)
        classes, confidence = classify_window(model, stack, valid, options.n_jobs, decision)
        if options.radius:
            classes = majority_vote(classes, options.radius)
        rows, cols = window.crop
        writer.write(window.index, window.core_row, window.core_col, classes[rows, cols], confidence[rows, cols])
        progress.update(window.core_height * window.core_width)
        if (i + 1) % options.checkpoint_every == 0:
            writer.checkpoint()
    seconds = time.perf_counter() - start
    writer.finalize()
    pixels = int(sum(w.core_height * w.core_width for w in todo))
    return {"windows": len(todo), "pixels": pixels, "seconds": seconds,
            "pixels_per_second": pixels / seconds if seconds > 0 else 0.0}


def predict_stores_rf(model_path: str | Path, store_dir: str | Path, out_dir: str | Path,
                      tiles: Sequence[str] | None = None, options: RFPredictOptions = RFPredictOptions(),
                      split_index: int | None = None, num_splits: int | None = None) -> list[dict]:
    """Predict the maps of all (or the named) tiles of a store folder.

    Tiles are shared round robin among ``num_splits`` workers (default: the MPI ranks, else one).
    """
    model_path = Path(model_path)
    require_tiles(store_dir, tiles)
    model = load_forest(model_path)
    _, rank, size = world()
    split_index = rank if split_index is None else split_index
    num_splits = size if num_splits is None else num_splits
    stores = open_stores(store_dir, list(tiles) if tiles else None)
    paths = [s.path for s in stores]
    for s in stores:
        s.close()
    return [predict_tile_rf(model, model_path, p, out_dir, options) for p in my_share(paths, split_index, num_splits)]
