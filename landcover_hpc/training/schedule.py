"""Learning-rate schedule of the paper: linear warm-up from lr / N to lr (Goyal et al. 2017), then lr.

``lr(e) = lr / N * ((N - 1) / w * e + 1)`` for the fractional epoch ``e = step / steps_per_epoch < w``,
the formula of Horovod's ``LearningRateWarmupCallback``, evaluated per batch. A pure function of the
global step, so a resumed run follows the schedule of an uninterrupted one exactly.
"""

from __future__ import annotations

__all__ = ["learning_rate"]


def learning_rate(step: int, steps_per_epoch: int, base_lr: float, n_ranks: int, warmup_epochs: float) -> float:
    """Learning rate of global step ``step`` (0-based)."""
    epoch = step / steps_per_epoch
    if warmup_epochs <= 0 or epoch >= warmup_epochs:
        return base_lr
    return base_lr / n_ranks * ((n_ranks - 1) / warmup_epochs * epoch + 1)
