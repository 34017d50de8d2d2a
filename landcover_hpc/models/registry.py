"""Build a model by name: the one entry point that training, prediction and benchmarks use.

``get_model`` validates the name, calls the architecture's builder and attaches a :class:`ModelSpec` to the
model (``model_spec(model)``): everything needed to build the same network again, which is what
``persistence.save_model`` writes next to the weights. ``training_loss`` gives the loss a model is trained
with: the weighted cross-entropy, or the loss its paper states (``TRAINING_LOSSES``).
"""

from __future__ import annotations

import dataclasses
import inspect
from dataclasses import dataclass, field
from typing import Any, Callable

import tensorflow as tf

from ..errors import ConfigError
from .architectures import PRECISION_POLICIES, build_fgunet, build_lstm, build_mlp, build_tsfgunet, build_unet
from .losses import CrossEntropyIoU, WeightedSparseCrossEntropy
from .sequence_unets import (build_convlstm_inception_unet_s1s2, build_convlstm_inception_unet_s2,
                             build_convlstm_unet_s1s2, build_convlstm_unet_s2, build_unet_convlstm)
from .twinns import build_twinns, build_twinns_s2
from .names import (DEFAULT_CENTRE_INPUT, DEFAULT_DROPOUT, DEFAULT_N_GROUPS, DEFAULT_PRECISION, GROUPED_MODELS,
                    MODEL_NAMES, PRECISIONS, S1_CHANNELS_PER_DATE, S1_MODELS, check_s1_dates)
from .resnets import build_re_resnet, build_res_ensemble4, build_res_ensemble8, build_st_resnet

__all__ = ["MODEL_NAMES", "PRECISIONS", "ModelSpec", "get_model", "model_spec", "training_loss", "TRAINING_LOSSES"]

_BUILDERS: dict[str, Callable[..., tf.keras.Model]] = {
    "fgunet": build_fgunet,
    "unet": build_unet,
    "mlp": build_mlp,
    "lstm": build_lstm,
    "tsfgunet": build_tsfgunet,
    "res_ensemble4": build_res_ensemble4,
    "res_ensemble8": build_res_ensemble8,
    "st_resnet": build_st_resnet,
    "re_resnet": build_re_resnet,
    "unet_convlstm": build_unet_convlstm,
    "convlstm_unet_s2": build_convlstm_unet_s2,
    "convlstm_inception_unet_s2": build_convlstm_inception_unet_s2,
    "convlstm_unet_s1s2": build_convlstm_unet_s1s2,
    "convlstm_inception_unet_s1s2": build_convlstm_inception_unet_s1s2,
    "twinns_s2": build_twinns_s2,
    "twinns": build_twinns,
}
#: Models trained with another loss than the weighted cross-entropy: the joint cross-entropy + IoU of the roads
#: paper. (TWINNS' auxiliary terms are added by the model itself, ``twinns.AuxiliaryLossModel``.)
TRAINING_LOSSES: dict[str, type[WeightedSparseCrossEntropy]] = {"unet_convlstm": CrossEntropyIoU}
# The configs validate against models.names (no TensorFlow); a builder or policy added here must be named there.
assert tuple(_BUILDERS) == MODEL_NAMES, f"models.names.MODEL_NAMES {MODEL_NAMES} != builders {tuple(_BUILDERS)}"
assert tuple(PRECISION_POLICIES) == PRECISIONS, f"models.names.PRECISIONS {PRECISIONS} != {tuple(PRECISION_POLICIES)}"

_SPEC_ATTRIBUTE = "_landcover_spec"


@dataclass(frozen=True)
class ModelSpec:
    """Everything needed to rebuild a network: architecture name and builder arguments.

    Attributes:
        architecture: one of :data:`MODEL_NAMES`.
        n_dates: T. n_bands: C. n_classes: K. n_groups: G (unused by lstm/tsfgunet).
        extra_channels_per_date: E, channels after the C bands of each date (spectral indices).
        n_s1_dates: T1, Sentinel-1 dates after the S2 stack (models of ``names.S1_MODELS`` only; 0 otherwise).
        precision: ``"float32"`` or ``"bfloat16"``.
        dropout: dropout rate used in training.
        options: further builder keyword arguments (JSON-serialisable).
    """

    architecture: str
    n_dates: int
    n_bands: int
    n_classes: int
    n_groups: int = DEFAULT_N_GROUPS
    extra_channels_per_date: int = 0
    precision: str = DEFAULT_PRECISION
    dropout: float = DEFAULT_DROPOUT
    options: dict[str, Any] = field(default_factory=dict)
    n_s1_dates: int = 0

    @property
    def channels_per_date(self) -> int:
        """C' = C + E."""
        return self.n_bands + self.extra_channels_per_date

    @property
    def input_channels(self) -> int:
        """T * C' + T1 * 2, the channel count of the model input (S2 stack, then the S1 stack if any)."""
        return self.n_dates * self.channels_per_date + self.n_s1_dates * S1_CHANNELS_PER_DATE

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "ModelSpec":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"model spec has unknown keys {unknown}; allowed: {sorted(known)}")
        if values.get("architecture") in GROUPED_MODELS and "centre_input" not in values.get("options", {}):
            values = {**values, "options": {**values.get("options", {}), "centre_input": False}}  # saved before it
        return cls(**values)

    def build(self, **overrides: Any) -> tf.keras.Model:
        """Build this network (``overrides`` replace fields, e.g. ``precision="bfloat16"``)."""
        spec = dataclasses.replace(self, **overrides) if overrides else self
        return get_model(
            spec.architecture,
            spec.n_dates,
            spec.n_bands,
            spec.n_classes,
            n_groups=spec.n_groups,
            extra_channels_per_date=spec.extra_channels_per_date,
            precision=spec.precision,
            dropout=spec.dropout,
            n_s1_dates=spec.n_s1_dates,
            **spec.options,
        )


def get_model(
    name: str,
    n_dates: int,
    n_bands: int,
    n_classes: int,
    n_groups: int = DEFAULT_N_GROUPS,
    extra_channels_per_date: int = 0,
    precision: str = DEFAULT_PRECISION,
    dropout: float = DEFAULT_DROPOUT,
    n_s1_dates: int = 0,
    **options: Any,
) -> tf.keras.Model:
    """Build an uncompiled model by architecture name.

    Args:
        name: one of :data:`MODEL_NAMES` (``fgunet``, ``unet``, ``mlp``, ``lstm``, ``tsfgunet``, and the models of
            other papers, e.g. ``res_ensemble4``).
        n_dates: T, dates of the regular date grid.
        n_bands: C, spectral bands per date.
        n_classes: K, classes of the nomenclature.
        n_groups: G, temporal groups of the grouped models; must divide T (ignored by lstm, tsfgunet).
        extra_channels_per_date: E, channels appended after the bands of every date (spectral indices).
        precision: ``"float32"`` or ``"bfloat16"`` (mixed: bfloat16 compute, float32 weights and softmax).
        dropout: dropout rate.
        n_s1_dates: T1, Sentinel-1 dates whose VV, VH channels follow the S2 stack in the input; required (> 0)
            by the models of ``names.S1_MODELS``, 0 for every other model.
        **options: further builder arguments (``spatial_shape=(H, W)`` fixes the input size, for FLOP
            counting and summaries).

    Returns:
        Model mapping ``(B, H, W, T*(C+E) + T1*2)`` float32, date-major, H and W multiples of 4, to
        ``(B, H, W, K)`` float32 probabilities. ``model_spec(model)`` gives its :class:`ModelSpec`.

    Raises:
        ConfigError: unknown name or precision, invalid size, or G not dividing T.
    """
    if name not in _BUILDERS:
        raise ConfigError(f"unknown model {name!r}; valid names: {', '.join(MODEL_NAMES)}")
    check_s1_dates(name, n_s1_dates)
    if name in S1_MODELS:
        options = {**options, "n_s1_dates": n_s1_dates}
    allowed = set(inspect.signature(_BUILDERS[name]).parameters) - set(inspect.signature(get_model).parameters)
    unknown = sorted(set(options) - allowed - {"n_s1_dates"})
    if unknown:
        raise ConfigError(f"model {name!r} has no option {unknown}; its options: {sorted(allowed) or 'none'}")
    model = _BUILDERS[name](
        n_dates,
        n_bands,
        n_classes,
        n_groups=n_groups,
        extra_channels_per_date=extra_channels_per_date,
        precision=precision,
        dropout=dropout,
        **options,
    )
    spec_options = {k: v for k, v in options.items() if k not in ("spatial_shape", "n_s1_dates")}
    if name in GROUPED_MODELS:  # recorded, so that a file keeps its network if the default changes
        spec_options = {"centre_input": DEFAULT_CENTRE_INPUT, **spec_options}
    spec = ModelSpec(
        name,
        n_dates,
        n_bands,
        n_classes,
        n_groups,
        extra_channels_per_date,
        precision,
        float(dropout),
        spec_options,
        n_s1_dates,
    )
    # Plain attribute on purpose: Keras tracks lists/dicts set on models, not frozen dataclasses.
    object.__setattr__(model, _SPEC_ATTRIBUTE, spec)
    return model


def model_spec(model: tf.keras.Model) -> ModelSpec:
    """The :class:`ModelSpec` of a model built by :func:`get_model`.

    Raises:
        ConfigError: the model was not built by :func:`get_model`.
    """
    spec = getattr(model, _SPEC_ATTRIBUTE, None)
    if spec is None:
        raise ConfigError(
            f"model {model.name!r} has no landcover_hpc spec; build it with landcover_hpc.models.get_model"
        )
    return spec


def training_loss(name: str, class_weights) -> WeightedSparseCrossEntropy:
    """The loss model ``name`` is trained with, on ``(K,)`` class weights: ``TRAINING_LOSSES[name]`` or the
    weighted sparse cross-entropy."""
    return TRAINING_LOSSES.get(name, WeightedSparseCrossEntropy)(class_weights)
