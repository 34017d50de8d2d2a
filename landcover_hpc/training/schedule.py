"""Learning-rate schedule: linear warm-up from lr / N to lr (Goyal et al. 2017), then lr (the paper) or a cosine
decay from lr to 0 at the last epoch.

``lr(e) = lr / N * ((N - 1) / w * e + 1)`` for the fractional epoch ``e = step / steps_per_epoch < w``,
the formula of Horovod's ``LearningRateWarmupCallback``, evaluated per batch. After the warm-up, ``decay``
``"none"`` keeps ``lr`` (the paper); ``"cosine"`` gives ``lr / 2 * (1 + cos(pi * (e - w) / (E - w)))`` for a run of
at most ``E`` epochs (Loshchilov & Hutter 2017, without restarts), so that the last epochs take small steps
around the minimum the run has reached. A pure function of the global step, so a resumed run follows the
schedule of an uninterrupted one exactly.
"""

from __future__ import annotations

import math

from ..config.train import DECAYS

__all__ = ["learning_rate"]


def learning_rate(step: int, steps_per_epoch: int, base_lr: float, n_ranks: int, warmup_epochs: float,
                  decay: str = "none", epochs: int | None = None) -> float:
    """Learning rate of global step ``step`` (0-based); ``epochs`` (the run's at most) is needed by the cosine."""
    epoch = step / steps_per_epoch
    if warmup_epochs > 0 and epoch < warmup_epochs:
        return base_lr / n_ranks * ((n_ranks - 1) / warmup_epochs * epoch + 1)
    if decay == "none":
        return base_lr
    if decay != "cosine" or epochs is None:
        raise ValueError(f"learning-rate decay {decay!r} with epochs={epochs}: use one of {DECAYS} with the epochs")
    span = epochs - warmup_epochs
    progress = min(1.0, (epoch - warmup_epochs) / span) if span > 0 else 1.0
    return base_lr / 2 * (1 + math.cos(math.pi * progress))
