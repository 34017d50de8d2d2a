"""The model names and default builder arguments, known without importing TensorFlow.

Configs are validated long before a network is built (``landcover-train --print-config``, a typo in a YAML
file on a login node): they need the valid names, precisions and defaults, not Keras. So they live here, in a
module with no TensorFlow import, and :mod:`~landcover_hpc.models.registry` builds its table of builders over
these names and checks at import that both agree.
"""

from __future__ import annotations

from ..errors import ConfigError

__all__ = ["MODEL_NAMES", "TABLE2_MODELS", "PRECISIONS", "PRECISION_CHOICES", "GROUPED_MODELS", "S1_MODELS",
           "SELECTED_DATE_COUNTS", "PATCH_MODELS", "S1_CHANNELS_PER_DATE", "DEFAULT_N_GROUPS", "DEFAULT_DROPOUT",
           "DEFAULT_PRECISION", "DEFAULT_CENTRE_INPUT", "check_s1_dates"]

#: The paper's Table 2 comparison (Stoian et al. 2019), in its order: ``models.architectures``.
TABLE2_MODELS: tuple[str, ...] = ("fgunet", "unet", "mlp", "lstm", "tsfgunet")
#: Valid architecture names: Table 2, then the models of other papers (SEED-MODELS.md): the ResNets of Qiu et al.
#: 2019/2020 (``models.resnets``), the U-Net + ConvLSTM of the roads paper and the ConvLSTM(+Inception) U-Nets of
#: Wenger et al. 2022 (``models.sequence_unets``), TWINNS of Ienco et al. 2019 (``models.twinns``).
MODEL_NAMES: tuple[str, ...] = TABLE2_MODELS + (
    "res_ensemble4", "res_ensemble8", "st_resnet", "re_resnet",
    "unet_convlstm", "convlstm_unet_s2", "convlstm_inception_unet_s2", "convlstm_unet_s1s2",
    "convlstm_inception_unet_s1s2", "twinns_s2", "twinns")
#: Valid ``precision`` values: float32, or bfloat16 compute with float32 weights and softmax.
PRECISIONS: tuple[str, ...] = ("float32", "bfloat16")
#: What configs accept: a precision, or ``auto`` (bfloat16 where the CPU computes it natively, runtime.py).
PRECISION_CHOICES: tuple[str, ...] = PRECISIONS + ("auto",)
#: Models that split the dates into ``n_groups`` temporal groups (which must divide the dates).
GROUPED_MODELS: tuple[str, ...] = ("fgunet", "unet", "mlp")
#: Models that take Sentinel-1 beside Sentinel-2. Their input is the S2 stack followed by the S1 stack:
#: ``(B, H, W, T*C' + T1*2)``, the S1 part date-major (date 1: VV, VH; date 2: ...), normalised like the S2 part
#: with the store's own S1 percentiles. They are built with ``n_s1_dates=T1 > 0``; every other model with 0.
S1_MODELS: tuple[str, ...] = ("convlstm_unet_s1s2", "convlstm_inception_unet_s1s2", "twinns")
#: Models that use a selection of the dates (seasons, monthly dates): name -> number of S2 dates. Training picks
#: them from the store's dates (``models.dates.select_dates``, or ``model.dates`` of the config) and passes their
#: indices to the builder as ``date_indices`` (and ``s1_date_indices``, the S1 date closest to each, for the
#: models of :data:`S1_MODELS`); the model takes the whole stack and gathers its dates itself, so sampling and
#: prediction are the same as for any model, and the indices are saved with the model (``ModelSpec.options``).
SELECTED_DATE_COUNTS: dict[str, int] = {
    "res_ensemble4": 4, "res_ensemble8": 4, "st_resnet": 4, "re_resnet": 4,  # Qiu et al.: one image per season
    # Wenger et al. 2022: one date a month in Jul, Aug, Sep, Nov
    "convlstm_unet_s2": 4, "convlstm_inception_unet_s2": 4, "convlstm_unet_s1s2": 4, "convlstm_inception_unet_s1s2": 4}
#: Patch classifiers (Qiu et al.'s ResNets, ``models/resnets.py``): one class per P x P patch, broadcast to its
#: pixels in training; ``landcover-predict`` maps them with ``prediction.patches.PatchClassifier`` (a P x P
#: patch every ``patch_stride`` px) instead of dense windows, and training records the patch size P in their
#: spec (builder option ``patch_size``).
PATCH_MODELS: tuple[str, ...] = ("res_ensemble4", "res_ensemble8", "st_resnet", "re_resnet")
#: Channels per Sentinel-1 date: VV and VH backscatter (``data.tiles.S1_POLARISATIONS``; a test checks both agree).
S1_CHANNELS_PER_DATE = 2

#: Temporal groups G of the paper (33 dates, 11 groups of 3).
DEFAULT_N_GROUPS = 11
DEFAULT_DROPOUT = 0.2
DEFAULT_PRECISION = "float32"
#: The grouped models map their normalised input from [0, 1] to [-1, 1] (builder option ``centre_input``; False: the
#: paper's network). ``get_model`` records the value in the spec of every grouped model, and a spec saved without
#: it, before centring, is that of an uncentred network (``registry.ModelSpec.from_dict``).
DEFAULT_CENTRE_INPUT = True


def check_s1_dates(name: str, n_s1_dates: int) -> None:
    """Raise ConfigError unless model ``name`` gets Sentinel-1 dates exactly when it is one of :data:`S1_MODELS`."""
    if (name in S1_MODELS) != (n_s1_dates > 0):
        raise ConfigError(
            f"model {name!r} needs Sentinel-1 dates (n_s1_dates={n_s1_dates}): give every tile's input a stack_s1.tif"
            if name in S1_MODELS else f"model {name!r} takes Sentinel-2 only, not {n_s1_dates} Sentinel-1 dates; "
                                      f"Sentinel-1 models: {', '.join(S1_MODELS)}")
