"""Leave-one-tile-out transferability of a trained network (paper 5.3, Figure 19).

The network as a :data:`~landcover_hpc.evaluation.transfer.TrainAndPredict`: for each held-out tile, train
on the other tiles (the normalisation percentiles come from those tiles only: the held-out tile shapes
nothing), map the held-out tile with the fold's best model (validation objects of the training tiles), and
let :func:`~landcover_hpc.evaluation.transfer.leave_one_tile_out` evaluate it on its test objects. Under
mpirun all ranks train each fold together (Horovod) and share the held-out tile's windows.
"""

from __future__ import annotations

import copy
import logging
from pathlib import Path

from ..config.train import Config

__all__ = ["cnn_train_and_predict"]

log = logging.getLogger(__name__)


def cnn_train_and_predict(config: Config, comm=None):
    """Training with ``config`` as a TrainAndPredict: run ``<work_dir>/run``, maps in ``work_dir``.

    Each fold resumes from its own checkpoint, so a requeued job continues where it stopped.
    """
    from ..prediction.predictor import PredictOptions, predict_tile
    from .trainer import train

    store_dir = Path(config.data.store)

    def run(train_tiles: list[str], test_tile: str, work_dir: Path) -> Path:
        import tensorflow as tf

        fold = copy.deepcopy(config)
        fold.data.tiles = list(train_tiles)
        fold.output.run_dir = str(Path(work_dir) / "run")
        if comm is None or comm.Get_rank() == 0:
            log.info(f"== {test_tile} held out: training on {', '.join(train_tiles)}")
        train(fold, resume=True)
        predict_tile(store_dir / f"{test_tile}.h5", Path(fold.output.run_dir) / "best_model.h5", work_dir,
                     PredictOptions(precision=config.model.precision), comm=comm)
        tf.keras.backend.clear_session()  # the next fold builds its model from scratch
        return Path(work_dir) / f"{test_tile}_classes.tif"  # written by rank 0, complete after its barrier

    return run
