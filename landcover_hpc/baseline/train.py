"""Train the Random Forest baseline on a prepared dataset and save it as a safe model file."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Sequence

from ..data.store import open_stores
from ..io import remove_temporaries
from ..locks import locked_output
from .forest import ForestParams, fit_forest, save_forest
from .samples import sample_training_pixels

__all__ = ["train_rf"]


def train_rf(store_dir: str | Path, model_path: str | Path, tiles: Sequence[str] | None = None,
             params: ForestParams = ForestParams(), per_class: int = 10_000, subsample: float = 1.0,
             sample_seed: int | None = None) -> dict:
    """Sample training pixels of ``tiles`` (default all) of ``store_dir``, fit a forest, save it.

    Args:
        per_class: cap of training pixels per class over all tiles (0: no cap).
        subsample: fraction of labelled pixels drawn from before capping (distinct training subsets).
        sample_seed: seed of the pixel draw (default ``params.seed``).

    Raises:
        OutputBusyError: another run is writing ``model_path``.

    Returns:
        summary: model path, tiles, pixels per class code, sampling and fitting seconds.
    """
    model_path = Path(model_path)
    with locked_output(model_path, "the Random Forest model"):
        remove_temporaries(model_path)
        stores = open_stores(store_dir, tiles)
        try:
            t0 = time.perf_counter()
            pixels = sample_training_pixels(stores, per_class, params.seed if sample_seed is None else sample_seed,
                                            subsample)
            t1 = time.perf_counter()
            first = stores[0]
            metadata = {"bands": list(first.bands), "dates": list(first.dates), "tiles": pixels.tile_ids,
                        "pixels_per_class": {str(k): v for k, v in pixels.counts().items()},
                        "reference_pixels_per_class": {str(k): v for k, v in pixels.reference.items()},
                        "per_class_cap": per_class, "subsample": subsample,
                        "sample_seed": params.seed if sample_seed is None else sample_seed,
                        "nomenclature": first.nomenclature.to_dict(), "features": "T*C reflectance x 1e4, date-major"}
        finally:
            for s in stores:
                s.close()
        model, _ = fit_forest(pixels.features, pixels.codes, params, metadata)
        t2 = time.perf_counter()
        save_forest(model, model_path)
        return {"model": str(model_path), "tiles": pixels.tile_ids, "pixels": int(len(pixels.codes)),
                "pixels_per_class": pixels.counts(), "sample_seconds": t1 - t0, "fit_seconds": t2 - t1,
                "nodes": int(len(model.feature))}
