"""Horovod-Keras training (``landcover-train``): typed configs, the warm-up schedule, checkpoints, the loop.

The typed training config is :mod:`landcover_hpc.config.train`. ``schedule`` (learning rate per
step, pure), ``checkpoint`` (atomic HDF5 checkpoints), ``trainer`` (the distributed training loop).
"""

from ..config.train import Config, load_config
from .schedule import learning_rate

__all__ = ["Config", "load_config", "learning_rate", "train"]


def train(*args, **kwargs):
    """See :func:`landcover_hpc.training.trainer.train` (imported lazily: it loads TensorFlow)."""
    from .trainer import train as _train

    return _train(*args, **kwargs)
