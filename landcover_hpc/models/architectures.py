"""The five architectures of the paper (Stoian et al. 2019, Table 2), one builder each.

All builders share one signature and return an uncompiled ``tf.keras.Model``:

- input ``(B, H, W, T*C')`` float32, date-major (date 1: C bands then E extra channels, date 2, ...);
- output ``(B, H, W, K)`` float32 class probabilities: linear 1x1 logits, then a separate float32 softmax.

Grouped models (``mlp``, ``unet``, ``fgunet``) cut the input into G temporal groups of T/G consecutive dates
and apply ONE shared sub-model (layer name ``group_body``) to every group (late fusion), then concatenate the
G outputs in group order and classify them with a 1x1 convolution. Their input is first mapped from the
normalised [0, 1] to [-1, 1] (``centre_input``, a layer without weights; False: the paper's network). The
groups are stacked in the batch dimension so that the body is called once on ``(B*G, H, W, c)`` rather than G
times on ``(B, H, W, c)``: the same maths, with one large convolution per layer and step instead of G small
ones. Recurrent models (``lstm``, ``tsfgunet``) see the input as a sequence of T steps of C' channels; they do
not use groups.

With T=33, C=10, K=17, G=11 the parameter counts are those of the paper: mlp 40 717, lstm 324 024,
unet 485 297, fgunet 525 997, tsfgunet 4 137 272.

Dropout (rate ``dropout``) sits after the first convolution of each U-Net pair and between consecutive
layers of the 1x1 path (after the 200- and 100-filter layers); it is :class:`ByteDropout`, Keras' inverted
dropout with a mask drawn from 8 random bits per element (rate rounded to a multiple of 1/256). ConvLSTM layers use the Keras default tanh,
except the recurrent classification head, which is linear so that its output are unbounded logits.

Precision: ``"float32"`` or ``"bfloat16"`` (Keras ``mixed_bfloat16``: bfloat16 compute, float32 variables),
set per layer through ``dtype=`` so that building one model never changes the global policy or another
model. The softmax always runs in float32.
"""

from __future__ import annotations

from typing import Callable

import tensorflow as tf

from ..errors import ConfigError
from .names import DEFAULT_CENTRE_INPUT

__all__ = [
    "build_fgunet",
    "build_unet",
    "build_mlp",
    "build_lstm",
    "build_tsfgunet",
    "TemporalGroupsToBatch",
    "BatchToTemporalGroups",
    "DatesToSequence",
    "ByteDropout",
    "per_group_graph",
    "POINTWISE_FILTERS",
]

#: Filters of the 1x1 path ("MLP 3 layers").
POINTWISE_FILTERS = (200, 100, 50)
#: Filters of the U-Net levels 0, 1, 2 (two 3x3 convolutions each, two 2x2 max-poolings).
UNET_FILTERS = (32, 64, 128)

PRECISION_POLICIES = {"float32": "float32", "bfloat16": "mixed_bfloat16"}

layers = tf.keras.layers


class _TemporalGroupsLayer(layers.Layer):
    """A layer parametrised by the number G of temporal groups (serialised with the model config)."""

    def __init__(self, n_groups: int, **kwargs):
        super().__init__(**kwargs)
        self.n_groups = n_groups

    def get_config(self):
        return {**super().get_config(), "n_groups": self.n_groups}


class TemporalGroupsToBatch(_TemporalGroupsLayer):
    """Stack the G temporal groups of a date-major stack in the batch dimension.

    Input ``(B, H, W, G*c)``, group g being the channels ``[g*c, (g+1)*c)`` (dates ``g*T/G .. (g+1)*T/G - 1``);
    output ``(B*G, H, W, c)``, window-major: row ``b*G + g`` is group g of window b.
    """

    def call(self, inputs):
        if self.n_groups == 1:
            return inputs
        shape = tf.shape(inputs)
        channels = inputs.shape[-1] // self.n_groups
        groups = tf.reshape(inputs, tf.stack([shape[0], shape[1], shape[2], self.n_groups, channels]))
        groups = tf.transpose(groups, [0, 3, 1, 2, 4])
        return tf.reshape(groups, tf.stack([-1, shape[1], shape[2], channels]))

    def compute_output_shape(self, input_shape):
        b, h, w, c = tf.TensorShape(input_shape).as_list()
        return tf.TensorShape([None if b is None else b * self.n_groups, h, w, c // self.n_groups])


class BatchToTemporalGroups(_TemporalGroupsLayer):
    """Inverse of :class:`TemporalGroupsToBatch` on the body's features: concatenate each window's groups.

    Input ``(B*G, H, W, F)``, row ``b*G + g`` group g of window b; output ``(B, H, W, G*F)``, channels
    ``[g*F, (g+1)*F)`` from group g: the order of a concatenation of the G per-group outputs.
    """

    def call(self, inputs):
        if self.n_groups == 1:
            return inputs
        shape = tf.shape(inputs)
        features = inputs.shape[-1]
        groups = tf.reshape(inputs, tf.stack([-1, self.n_groups, shape[1], shape[2], features]))
        groups = tf.transpose(groups, [0, 2, 3, 1, 4])
        return tf.reshape(groups, tf.stack([-1, shape[1], shape[2], self.n_groups * features]))

    def compute_output_shape(self, input_shape):
        b, h, w, f = tf.TensorShape(input_shape).as_list()
        return tf.TensorShape([None if b is None else b // self.n_groups, h, w, f * self.n_groups])


class DatesToSequence(layers.Layer):
    """Turn a date-major stack into a time sequence for ConvLSTM layers.

    Input ``(B, H, W, T*C')``; output ``(B, T, H, W, C')``.
    """

    def __init__(self, n_dates: int, **kwargs):
        super().__init__(**kwargs)
        self.n_dates = n_dates

    def call(self, inputs):
        shape = tf.shape(inputs)
        channels = inputs.shape[-1] // self.n_dates
        sequence = tf.reshape(inputs, tf.stack([shape[0], shape[1], shape[2], self.n_dates, channels]))
        return tf.transpose(sequence, [0, 3, 1, 2, 4])

    def compute_output_shape(self, input_shape):
        b, h, w, c = tf.TensorShape(input_shape).as_list()
        return tf.TensorShape([b, self.n_dates, h, w, c // self.n_dates])

    def get_config(self):
        return {**super().get_config(), "n_dates": self.n_dates}


class ByteDropout(layers.Dropout):
    """Inverted dropout whose keep mask compares 8 random bits per element with ``round(256 * rate)``.

    Keras' ``Dropout`` draws one 32-bit random number per element; the feature maps of a grouped model's
    training step hold ~70 M elements at 32 px (the 200- and 100-filter 1x1 layers most of them), and drawing
    them took 29 % of a float32 FG-UNET step on 2 cores (benchmarks/README.md, "Dropout"). One 32-bit draw
    here gives the bits of 4 elements. The effective rate is ``round(256 * rate) / 256`` (0.2 -> 0.1992),
    and kept elements are scaled by ``1 / (1 - effective rate)``: the expectation is exact. The random
    numbers come from the layer's Keras random generator (the same seeding as ``Dropout``); at inference the
    layer is the identity. Falls back to ``Dropout`` when the last dimension is not a multiple of 4.
    """

    def call(self, inputs, training=None):
        if training is None:
            training = tf.keras.backend.learning_phase()
        if inputs.shape[-1] is None or inputs.shape[-1] % 4 or self.noise_shape is not None:
            return super().call(inputs, training=training)
        return tf.__internal__.smart_cond.smart_cond(training, lambda: self._drop(inputs),
                                                     lambda: tf.identity(inputs))

    def _drop(self, inputs):
        threshold = round(256 * self.rate)
        shape = tf.shape(inputs)
        words = self._random_generator.random_uniform(tf.concat([shape[:-1], [inputs.shape[-1] // 4]], 0),
                                                      minval=-(2**31), maxval=2**31 - 1, dtype=tf.int32)
        keep = tf.reshape(tf.bitcast(words, tf.uint8), shape) >= tf.constant(threshold, tf.uint8)
        # a multiply by the mask, whose gradient is one multiply (a tf.where and its gradient cost 2.2x more)
        return inputs * (tf.cast(keep, inputs.dtype) * tf.cast(256 / (256 - threshold), inputs.dtype))


def _policy(precision: str) -> tf.keras.mixed_precision.Policy:
    if precision not in PRECISION_POLICIES:
        raise ConfigError(
            f"precision={precision!r} is not supported; use one of {sorted(PRECISION_POLICIES)}"
        )
    return tf.keras.mixed_precision.Policy(PRECISION_POLICIES[precision])


def _validate(n_dates, n_bands, n_classes, n_groups, extra_channels_per_date, dropout, grouped) -> None:
    for key, value, minimum in (
        ("n_dates", n_dates, 1),
        ("n_bands", n_bands, 1),
        ("n_classes", n_classes, 2),
        ("n_groups", n_groups, 1),
        ("extra_channels_per_date", extra_channels_per_date, 0),
    ):
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            raise ConfigError(f"{key}={value!r} is invalid; it must be an integer >= {minimum}")
    if grouped and n_dates % n_groups:
        divisors = [g for g in range(1, n_dates + 1) if n_dates % g == 0]
        raise ConfigError(f"n_groups={n_groups} does not divide n_dates={n_dates}; use one of {divisors}")
    if not 0.0 <= dropout < 1.0:
        raise ConfigError(f"dropout={dropout!r} is invalid; it must be in [0, 1)")


def _input(n_dates, n_bands, extra_channels_per_date, spatial_shape) -> tf.Tensor:
    height, width = spatial_shape
    channels = n_dates * (n_bands + extra_channels_per_date)
    return tf.keras.Input((height, width, channels), name="window")


def _classifier(features, n_classes, policy) -> tf.Tensor:
    """Linear 1x1 logits ``(B, H, W, K)`` then a float32 softmax."""
    logits = layers.Conv2D(n_classes, 1, activation=None, name="logits", dtype=policy)(features)
    return layers.Softmax(axis=-1, name="probabilities", dtype="float32")(logits)


def _conv(x, filters, kernel, name, policy):
    return layers.Conv2D(filters, kernel, padding="same", activation="relu", name=name, dtype=policy)(x)


def _dropout(x, rate, name, policy):
    return ByteDropout(rate, name=name, dtype=policy)(x) if rate > 0 else x


def _unet_body(x, dropout, policy, conv: Callable, pool: Callable, up: Callable) -> tf.Tensor:
    """U-Net with 3 levels; ``conv(x, filters, kernel, name)``, ``pool``/``up`` wrap the 2x2 resampling."""
    skips = []
    for level, filters in enumerate(UNET_FILTERS):
        x = conv(x, filters, 3, f"unet_down{level}_a")
        x = _dropout(x, dropout, f"unet_down{level}_dropout", policy)
        x = conv(x, filters, 3, f"unet_down{level}_b")
        if level < len(UNET_FILTERS) - 1:
            skips.append(x)
            x = pool(x, f"unet_pool{level}")
    for level in reversed(range(len(UNET_FILTERS) - 1)):
        x = up(x, f"unet_up{level}")
        x = layers.Concatenate(axis=-1, name=f"unet_skip{level}", dtype=policy)([x, skips[level]])
        filters = UNET_FILTERS[level]
        x = conv(x, filters, 3, f"unet_up{level}_a")
        x = _dropout(x, dropout, f"unet_up{level}_dropout", policy)
        x = conv(x, filters, 3, f"unet_up{level}_b")
    return x


def _pointwise_path(x, dropout, policy, conv: Callable) -> tf.Tensor:
    """1x1 path 200 -> 100 -> 50, dropout between consecutive layers."""
    for i, filters in enumerate(POINTWISE_FILTERS):
        x = conv(x, filters, 1, f"pointwise{i}")
        if i < len(POINTWISE_FILTERS) - 1:
            x = _dropout(x, dropout, f"pointwise{i}_dropout", policy)
    return x


def _conv2d_parts(policy):
    def conv(x, filters, kernel, name):
        return _conv(x, filters, kernel, name, policy)

    def pool(x, name):
        return layers.MaxPooling2D(2, name=name, dtype=policy)(x)

    def up(x, name):
        return layers.UpSampling2D(2, name=name, dtype=policy)(x)

    return conv, pool, up


def _grouped_model(
    name,
    paths,
    n_dates,
    n_bands,
    n_classes,
    n_groups,
    extra_channels_per_date,
    precision,
    dropout,
    spatial_shape,
    centre_input,
) -> tf.keras.Model:
    """One shared group body (concatenated ``paths``) applied to the G groups in one call, then 1x1 logits;
    with ``centre_input``, the body sees the normalised input mapped from [0, 1] to [-1, 1]."""
    _validate(n_dates, n_bands, n_classes, n_groups, extra_channels_per_date, dropout, grouped=True)
    policy = _policy(precision)
    conv, pool, up = _conv2d_parts(policy)

    group_channels = (n_dates // n_groups) * (n_bands + extra_channels_per_date)
    group_input = tf.keras.Input((*spatial_shape, group_channels), name="group")
    outputs = []
    if "unet" in paths:
        outputs.append(_unet_body(group_input, dropout, policy, conv, pool, up))
    if "pointwise" in paths:
        outputs.append(_pointwise_path(group_input, dropout, policy, conv))
    features = outputs[0] if len(outputs) == 1 else layers.Concatenate(name="paths", dtype=policy)(outputs)
    group_body = tf.keras.Model(group_input, features, name="group_body")

    window = _input(n_dates, n_bands, extra_channels_per_date, spatial_shape)
    centred = (layers.Rescaling(2.0, offset=-1.0, name="centre", dtype=policy)(window) if centre_input
               else window)
    # One call on all groups; the model's weights (the body's, then the logits') and their order are those
    # of G calls followed by a Concatenate, so files saved from that graph load into this one.
    groups = TemporalGroupsToBatch(n_groups, name="temporal_groups", dtype=policy)(centred)
    features = group_body(groups)
    fused = BatchToTemporalGroups(n_groups, name="late_fusion", dtype=policy)(features)
    return tf.keras.Model(window, _classifier(fused, n_classes, policy), name=name)


def per_group_graph(model: tf.keras.Model) -> tf.keras.Model:
    """A grouped ``model``'s graph as before issue 13, on its own layers: its input centring if any, the group body
    called once per temporal group (a split of the date-major channels), the G outputs concatenated, then the
    classifier. The reference of the one-call graph (tests) and the earlier step (benchmarks/bench_train.py)."""
    window = tf.keras.Input(model.input_shape[1:])
    body = model.get_layer("group_body")
    has_centre = any(layer.name == "centre" for layer in model.layers)
    centred = model.get_layer("centre")(window) if has_centre else window
    groups = tf.split(centred, model.get_layer("temporal_groups").n_groups, axis=-1)
    features = layers.Concatenate(dtype=body.dtype_policy)([body(group) for group in groups])
    return tf.keras.Model(window, model.get_layer("probabilities")(model.get_layer("logits")(features)))


def build_mlp(
    n_dates: int,
    n_bands: int,
    n_classes: int,
    n_groups: int = 11,
    extra_channels_per_date: int = 0,
    precision: str = "float32",
    dropout: float = 0.2,
    spatial_shape: tuple[int | None, int | None] = (None, None),
    centre_input: bool = DEFAULT_CENTRE_INPUT,
) -> tf.keras.Model:
    """ "MLP 3 layers": the 1x1 path (200, 100, 50) shared over G temporal groups, then 1x1 logits.

    Args:
        n_dates: T, dates of the time series.
        n_bands: C, spectral bands per date.
        n_classes: K, classes of the nomenclature.
        n_groups: G, temporal groups; must divide T.
        extra_channels_per_date: E, channels appended after the bands of every date (spectral indices).
        precision: ``"float32"`` or ``"bfloat16"`` (mixed precision, float32 variables and softmax).
        dropout: dropout rate.
        spatial_shape: (H, W) of the input; ``(None, None)`` (any size) except for FLOP counting.
        centre_input: map the normalised input from [0, 1] to [-1, 1] before the first layer (default);
            False: the paper's network on [0, 1]. On inputs that are all positive every weight of a first-layer
            unit gets a gradient of one sign, so one Adam step moves its pre-activation on every pixel alike, by
            about the learning rate times the layer's fan-in (3 x 3 x 330 at one group): the first layer's
            ReLUs die, and with them FG-UNET's U-Net branch (benchmarks/README.md, "Centred inputs").

    Returns:
        Model mapping ``(B, H, W, T*(C+E))`` float32 to ``(B, H, W, K)`` float32 probabilities.

    Raises:
        ConfigError: a size is not a positive integer, G does not divide T, or precision is unknown.
    """
    return _grouped_model(
        "mlp",
        ("pointwise",),
        n_dates,
        n_bands,
        n_classes,
        n_groups,
        extra_channels_per_date,
        precision,
        dropout,
        spatial_shape,
        centre_input,
    )


def build_unet(
    n_dates: int,
    n_bands: int,
    n_classes: int,
    n_groups: int = 11,
    extra_channels_per_date: int = 0,
    precision: str = "float32",
    dropout: float = 0.2,
    spatial_shape: tuple[int | None, int | None] = (None, None),
    centre_input: bool = DEFAULT_CENTRE_INPUT,
) -> tf.keras.Model:
    """ "U-Net 3 steps": a 3-level U-Net (32, 64, 128) shared over G temporal groups, then 1x1 logits.

    Arguments, return value and errors as :func:`build_mlp`.
    """
    return _grouped_model(
        "unet",
        ("unet",),
        n_dates,
        n_bands,
        n_classes,
        n_groups,
        extra_channels_per_date,
        precision,
        dropout,
        spatial_shape,
        centre_input,
    )


def build_fgunet(
    n_dates: int,
    n_bands: int,
    n_classes: int,
    n_groups: int = 11,
    extra_channels_per_date: int = 0,
    precision: str = "float32",
    dropout: float = 0.2,
    spatial_shape: tuple[int | None, int | None] = (None, None),
    centre_input: bool = DEFAULT_CENTRE_INPUT,
) -> tf.keras.Model:
    """ "FG-UNET": per group concat(U-Net 32 ch, 1x1 path 50 ch), shared over G groups, then 1x1 logits.

    Arguments, return value and errors as :func:`build_mlp`.
    """
    return _grouped_model(
        "fgunet",
        ("unet", "pointwise"),
        n_dates,
        n_bands,
        n_classes,
        n_groups,
        extra_channels_per_date,
        precision,
        dropout,
        spatial_shape,
        centre_input,
    )


def _convlstm_parts(policy):
    def conv(x, filters, kernel, name):
        return layers.ConvLSTM2D(
            filters, kernel, padding="same", return_sequences=True, name=name, dtype=policy
        )(x)

    def pool(x, name):
        return layers.TimeDistributed(layers.MaxPooling2D(2, dtype=policy), name=name, dtype=policy)(x)

    def up(x, name):
        return layers.TimeDistributed(layers.UpSampling2D(2, dtype=policy), name=name, dtype=policy)(x)

    return conv, pool, up


def _recurrent_model(
    name,
    paths,
    n_dates,
    n_bands,
    n_classes,
    n_groups,
    extra_channels_per_date,
    precision,
    dropout,
    spatial_shape,
) -> tf.keras.Model:
    _validate(n_dates, n_bands, n_classes, n_groups, extra_channels_per_date, dropout, grouped=False)
    policy = _policy(precision)
    conv, pool, up = _convlstm_parts(policy)
    window = _input(n_dates, n_bands, extra_channels_per_date, spatial_shape)
    sequence = DatesToSequence(n_dates, name="dates_to_sequence")(window)
    outputs = []
    if "unet" in paths:
        outputs.append(_unet_body(sequence, dropout, policy, conv, pool, up))
    if "pointwise" in paths:
        outputs.append(_pointwise_path(sequence, dropout, policy, conv))
    features = outputs[0] if len(outputs) == 1 else layers.Concatenate(name="paths", dtype=policy)(outputs)
    # Linear recurrent head: its last state are the logits (tanh would bound them to [-1, 1]).
    logits = layers.ConvLSTM2D(
        n_classes, 1, padding="same", activation=None, return_sequences=False, name="logits", dtype=policy
    )(features)
    probabilities = layers.Softmax(axis=-1, name="probabilities", dtype="float32")(logits)
    return tf.keras.Model(window, probabilities, name=name)


def build_lstm(
    n_dates: int,
    n_bands: int,
    n_classes: int,
    n_groups: int = 11,
    extra_channels_per_date: int = 0,
    precision: str = "float32",
    dropout: float = 0.2,
    spatial_shape: tuple[int | None, int | None] = (None, None),
) -> tf.keras.Model:
    """ "LSTM 3 layers": T steps of C' channels; 1x1 ConvLSTM 200, 100, 50 (sequences), 1x1 ConvLSTM K (last).

    ``n_groups`` is accepted for a uniform signature and not used: every date is one time step.
    Other arguments, return value and errors as :func:`build_mlp`.
    """
    return _recurrent_model(
        "lstm",
        ("pointwise",),
        n_dates,
        n_bands,
        n_classes,
        n_groups,
        extra_channels_per_date,
        precision,
        dropout,
        spatial_shape,
    )


def build_tsfgunet(
    n_dates: int,
    n_bands: int,
    n_classes: int,
    n_groups: int = 11,
    extra_channels_per_date: int = 0,
    precision: str = "float32",
    dropout: float = 0.2,
    spatial_shape: tuple[int | None, int | None] = (None, None),
) -> tf.keras.Model:
    """ "TSFG-UNET": FG-UNET with every convolution replaced by a ConvLSTM2D of the same kernel and filters.

    T steps of C' channels; pooling and upsampling are time-distributed; the head is a linear 1x1 ConvLSTM
    with K filters on concat(50 + 32) returning its last state. ``n_groups`` is not used.
    Other arguments, return value and errors as :func:`build_mlp`.
    """
    return _recurrent_model(
        "tsfgunet",
        ("pointwise", "unet"),
        n_dates,
        n_bands,
        n_classes,
        n_groups,
        extra_channels_per_date,
        precision,
        dropout,
        spatial_shape,
    )
