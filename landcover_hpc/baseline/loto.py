"""Leave-one-tile-out transferability of the Random Forest (paper 5.3).

The forest as a :data:`~landcover_hpc.evaluation.transfer.TrainAndPredict`: for each held-out tile, train on
the other tiles and map the held-out one; :func:`~landcover_hpc.evaluation.transfer.leave_one_tile_out`
evaluates it. It lives here, not in ``evaluation``, so that the baseline depends on evaluation and never
the other way round (``landcover-rf loto`` runs it).
"""

from __future__ import annotations

from pathlib import Path

from ..evaluation.transfer import TrainAndPredict
from .forest import ForestParams
from .predict import RFPredictOptions, predict_stores_rf
from .train import train_rf

__all__ = ["rf_train_and_predict"]


def rf_train_and_predict(store_dir: str | Path, params: ForestParams | None = None, per_class: int = 10_000,
                         predict_options: RFPredictOptions | None = None) -> TrainAndPredict:
    """The Random Forest as a :data:`TrainAndPredict`: model ``<work_dir>/rf.h5``, maps in ``work_dir``."""
    params = params or ForestParams()
    predict_options = predict_options or RFPredictOptions()

    def run(train_tiles: list[str], test_tile: str, work_dir: Path) -> Path:
        model = Path(work_dir) / "rf.h5"
        train_rf(store_dir, model, train_tiles, params, per_class)
        summary = predict_stores_rf(model, store_dir, work_dir, [test_tile], predict_options, 0, 1)
        return Path(summary[0]["classes"])

    return run
