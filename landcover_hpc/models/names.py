"""The model names and default builder arguments, known without importing TensorFlow.

Configs are validated long before a network is built (``landcover-train --print-config``, a typo in a YAML
file on a login node): they need the valid names, precisions and defaults, not Keras. So they live here, in a
module with no TensorFlow import, and :mod:`~landcover_hpc.models.registry` builds its table of builders over
these names and checks at import that both agree.
"""

from __future__ import annotations

__all__ = ["MODEL_NAMES", "PRECISIONS", "GROUPED_MODELS", "DEFAULT_N_GROUPS", "DEFAULT_DROPOUT",
           "DEFAULT_PRECISION"]

#: Valid architecture names, in the order of the paper's Table 2 comparison.
MODEL_NAMES: tuple[str, ...] = ("fgunet", "unet", "mlp", "lstm", "tsfgunet")
#: Valid ``precision`` values: float32, or bfloat16 compute with float32 weights and softmax.
PRECISIONS: tuple[str, ...] = ("float32", "bfloat16")
#: Models that split the dates into ``n_groups`` temporal groups (which must divide the dates).
GROUPED_MODELS: tuple[str, ...] = ("fgunet", "unet", "mlp")

#: Temporal groups G of the paper (33 dates, 11 groups of 3).
DEFAULT_N_GROUPS = 11
DEFAULT_DROPOUT = 0.2
DEFAULT_PRECISION = "float32"
