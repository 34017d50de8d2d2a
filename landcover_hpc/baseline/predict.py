"""Random Forest maps of a tile: the forest's adapter to the map driver, in the CNN predictor's format.

:class:`ForestClassifier` classifies the valid pixels of a window with a decision rule (the model's default
unless :attr:`RFPredictOptions.decision` overrides it; see :mod:`landcover_hpc.baseline.forest`):
``"vote"``, class = the trees' majority vote, confidence = rint(100 x the fraction of trees voting for it), as
the Orfeo ToolBox; ``"proba"``, class = the most probable class, confidence = rint(100 x its mean
probability), as scikit-learn. The window's class map is regularised by majority vote and only its core
kept. Neighbouring windows share 4 px (the smallest overlap the window plan allows whose 2 px half covers the
radius-1 halo), so the windowed map equals the map regularised as a whole. The confidence map is the
forest's, before regularisation. Everything else (windows, reading, MPI sharing of windows, resume, skip
when up to date, the map files) is :func:`landcover_hpc.prediction.produce.produce_maps`'s;
:func:`predict_stores_rf` shares whole tiles among workers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from ..data.store import TileStore, open_stores, require_tiles
from ..errors import ConfigError, InputFormatError
from ..maps.geotiff import CONFIDENCE_NODATA
from ..parallel import my_share, world
from ..prediction.produce import produce_maps
from ..sampling.prior import check_prior_reference, prior_settings, tile_reference_prior
from .forest import ForestModel, check_decision, load_forest
from .regularize import majority_vote

__all__ = ["RFPredictOptions", "ForestClassifier", "predict_tile_rf", "predict_stores_rf", "classify_window"]


@dataclass(frozen=True)
class RFPredictOptions:
    window: int = 512  # window side, px (multiple of 4)
    radius: int = 1  # majority-vote radius; 0 = no regularisation
    n_jobs: int = -1  # threads of the tree traversal
    checkpoint_every: int = 4  # windows between two resume points
    force: bool = False
    quicklook: bool = True
    decision: str | None = None  # "vote" or "proba"; None = the model's default
    prior_correction: bool = False  # scores moved from the training sample's class mix to the training objects'
                                    # (ForestModel.prior_weights), before the winner is taken
    prior_reference: str = "global"  # the training objects of every training tile ("global", in the model file)
                                     # or of the tile being mapped ("tile", in its store)

    def __post_init__(self) -> None:
        if self.decision is not None:
            check_decision(self.decision)
        check_prior_reference(self.prior_reference)
        if self.radius < 0 or self.radius > 8:
            raise ConfigError(f"regularisation radius {self.radius}: must be in 0..8")
        if self.window % 4 or self.window < 4 * (self.radius + 2):
            raise ConfigError(f"window {self.window}: must be a multiple of 4 and at least {4 * (self.radius + 2)}")

    @property
    def overlap(self) -> int:
        # each window keeps its pixels >= overlap / 2 px from its border; the plan wants a multiple of 4
        return -(-2 * self.radius // 4) * 4


def classify_window(model: ForestModel, stack: np.ndarray, valid: np.ndarray, n_jobs: int = -1,
                    decision: str | None = None, prior_weights: np.ndarray | None = None
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Classify a window: (h, w) uint8 class codes (0 = nodata) and (h, w) uint8 confidence in percent
    (255 = nodata) of ``stack`` (h, w, T*C) int16 and ``valid`` (h, w) bool, by ``decision`` (default: the
    model's), its scores weighed by ``prior_weights`` if given."""
    h, w = valid.shape
    classes = np.zeros((h, w), dtype=np.uint8)
    confidence = np.full((h, w), CONFIDENCE_NODATA, dtype=np.uint8)
    if valid.any():
        codes, score = model.predict_with_confidence(stack[valid], decision, n_jobs, prior_weights)
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


class ForestClassifier:
    """A Random Forest as a :class:`landcover_hpc.prediction.produce.WindowClassifier`: ``decision`` rule
    (None: the model's), scores prior-corrected if asked (``model_path`` names the file in the error of a model
    without the class mixes; ``store``, the tile's, gives the mix of ``prior_reference: tile``), class map
    regularised by a majority vote of ``radius`` (0: none)."""

    architecture = "random_forest"
    title = "RF"
    progress_label = "rf predict"

    def __init__(self, model: ForestModel, options: RFPredictOptions, model_path: str | Path = "",
                 store: TileStore | None = None) -> None:
        self.model, self.n_jobs, self.radius = model, options.n_jobs, options.radius
        self.decision = model.decision if options.decision is None else options.decision
        self.prior_weights = None
        if options.prior_correction:
            tile = options.prior_reference == "tile"
            self.prior_weights = model.prior_weights(model_path, tile_reference_prior(store, model.class_codes)
                                                     if tile else None)
        self.settings = {"radius": options.radius, "decision": self.decision,
                         **prior_settings(options.prior_correction, options.prior_reference)}
        self.tags = {"method": "RF", "regularization_radius": options.radius,
                     "rf_params": json.dumps(model.metadata.get("params", {})), "rf_decision": self.decision}
        self.nomenclature = model.metadata.get("nomenclature")

    def prepare(self, stack: np.ndarray, valid: np.ndarray, slot: int) -> tuple[np.ndarray, np.ndarray]:
        return stack.copy(), valid  # the reader reuses its buffer for the next window while the trees run

    def classify(self, prepared: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        # pixels past the tile (edge padding) are invalid: nodata, which does not vote, as beyond the map
        classes, confidence = classify_window(self.model, *prepared, self.n_jobs, self.decision, self.prior_weights)
        if self.radius:
            classes = majority_vote(classes, self.radius)
        return classes, confidence


def predict_tile_rf(model: ForestModel, model_path: str | Path, store_path: str | Path, out_dir: str | Path,
                    options: RFPredictOptions = RFPredictOptions(), comm=None) -> dict:
    """Write ``<out_dir>/<TILE>_classes.tif`` and ``_confidence.tif`` for one tile store.

    Args:
        comm: mpi4py communicator whose ranks share the tile's windows (every rank calls this), or None:
            this process alone (tiles shared among ranks by :func:`predict_stores_rf`).
    Returns:
        summary: tile, paths, windows, pixels, seconds, pixels_per_second, skipped (up to date).
    """
    model_path = Path(model_path)
    store = TileStore(store_path)
    try:
        _check_compatible(store, model, model_path)
        show_progress = world()[1] == 0 if comm is None else None
        classifier = ForestClassifier(model, options, model_path, store)
        return produce_maps(store, classifier, model_path, out_dir, options, comm, show_progress)
    finally:
        store.close()


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
