"""Qiu et al.'s multiseasonal ResNet patch classifiers (IEEE GRSL 17(10), 2020): Res_ensemble and two baselines.

Four builders, one ResNet-14 per season or one for the stacked seasons (``/work/shared/SEED-MODELS.md`` section 1):

- ``res_ensemble4``: one ResNet per season, weights NOT shared (paper, Fig. 1); in each, GAP of block 4 ->
  Dropout -> Dense(K) softmax; the output is the arithmetic mean of the 4 softmax vectors ("voters");
- ``res_ensemble8``: as ``res_ensemble4`` plus, in each stream, GAP of block 3 -> Dropout -> Dense(K) softmax:
  the mean of 8 voters;
- ``st_resnet`` (observation-level fusion): the 4 seasons stacked as channels ``(P, P, 4*C')`` into one ResNet;
- ``re_resnet`` (feature-level fusion, Qiu et al. 2019): 4 unshared ResNet branches, their GAP feature vectors
  as a sequence of 4 steps into an LSTM(128), its last hidden state -> Dropout -> Dense(K) softmax.

Stated by the paper and followed: four seasonal streams with unshared weights, four residual blocks per stream,
a shallow depth of 14, GAP then softmax, the mean of the softmax vectors built into the graph (no
post-processing), 8 voters = block-3 and block-4 heads of each stream, LSTM over the seasons in Re-ResNet.

Not stated, taken from SEED-MODELS.md (section 1):

- ResNet-14 = 3x3 stem convolution (16 filters), then 4 pre-activation bottleneck blocks (BN-ReLU before each
  of the 1x1, 3x3, 1x1 convolutions, He et al. 2016), then a final BN-ReLU, GAP and the softmax Dense:
  1 + 4 x 3 + 1 = 14 weighted layers. Widths 16/32/64/128, stride 2 in blocks 2-4 (32 -> 16 -> 8 -> 4 px).
  "Width" is the bottleneck width as in He et al.'s CIFAR bottleneck ResNets: the 1x1 and 3x3 convolutions
  have w filters, the block's last 1x1 (and its output) 4w, i.e. 64/128/256/512 output channels; a block
  whose output differs from its input in channels or resolution has a 1x1 projection shortcut (on the
  pre-activated input). Convolutions have no bias (the following BN has one). The block-3 head of
  Res_ensemble_8 also gets a BN-ReLU before its GAP: a pre-activation block's output is not normalised.
- Dropout before each softmax Dense. SEED-MODELS.md chooses 0.5: ``configs/res_ensemble*.yaml``,
  ``st_resnet.yaml`` and ``re_resnet.yaml`` set ``model.dropout: 0.5``; the builder takes the config's rate
  like every model of the registry (the registry's default, 0.2, otherwise).
- LSTM 128 units, last hidden state, branch weights not shared (Re-ResNet).
- Loss of the ensembles: each voter's own cross-entropy, with equal weights (the heads "predict
  independently" as voters), not the cross-entropy of the averaged probability. The framework has one
  per-pixel loss on one output, so :class:`VoterFusion` gives, in training only, the unnormalised geometric
  mean of the voters, ``exp(mean_v log p_v)``: the framework's ``-log q_y`` is then exactly
  ``mean_v (-log p_{v,y})``, the mean of the voters' cross-entropies (their sum / V: the same gradients up
  to the constant V, to which Adam is nearly invariant). At inference (validation, maps) the output is the
  paper's arithmetic mean. ``voter_loss="average"`` (builder option) trains on the averaged probability
  instead, the ablation SEED-MODELS.md names. The same rule serves both ensembles: the paper describes
  them as the same network with 4 or 8 voters.
- Seasons: the builder receives ``date_indices``, the 4 dates chosen by :func:`.dates.select_dates` (one near
  the middle of each quarter of the series' span) or by the config's ``model.dates``; the model takes the
  whole ``(B, H, W, T*C')`` stack and gathers its dates itself (:class:`SelectDates`, serialisable), so
  sampling and prediction are unchanged. The store's dates are a gap-filled regular grid, so a "season" is
  one interpolated date, not the paper's per-season median composite (no cloud mask survives gap-filling).
- Patch size P: 32 px (320 m, the LCZ42 patches) by default; training records the store's patch size as
  the option ``patch_size`` (what the map adapter slides).

Patch classifiers in a dense framework. The framework trains and maps models ``(B, H, W, T*C') -> (B, H, W,
K)`` with the per-pixel cross-entropy over the labelled pixels of P x P patches (:mod:`.losses`). These models
classify the whole patch, ``(B, K)`` (layer ``patch_probabilities``), and broadcast it to every pixel
(:class:`PatchToPixels`). The framework's loss ``-1/N sum_i w_{y_i} log q_{b(i), y_i}`` then equals, per
patch, ``n_b`` times the cross-entropy of q_b against the patch's label histogram: a patch's label is its
class distribution over its labelled pixels (a soft majority), weighted by its labelled pixel count; no
relabelling, and the sampler's class balance and the class weights keep their meaning. Validation takes the
argmax of the broadcast output per pixel, so its kappa compares the patch's one class with each labelled
pixel's class: the accuracy a map made of P x P blocks would have. Maps: :mod:`landcover_hpc.prediction.patches`
slides the patch classifier with a stride s and gives each s x s block the class of the patch centred on it
(``names.PATCH_MODELS`` selects it in ``landcover-predict``).

Parameter counts at the demo's T=33, C=10, K=17, 4 seasons (``count_params``, BN moving statistics included;
trainable in brackets; the tests assert them): res_ensemble4 2 060 740 (2 049 092), res_ensemble8 2 082 312
(2 068 616), st_resnet 519 505 (516 593), re_resnet 2 356 241 (2 344 593). The paper says Re-ResNet has "much
more trainable parameters" than Res_ensemble; with the LSTM(128) chosen here it has 14 % more: Re-ResNet's
layout in [8] is not in the letter, and this relative size is not reproduced.

All builders return ``(B, H, W, T*C')`` float32 -> ``(B, H, W, K)`` float32 probabilities; H and W are free
(GAP); precision as the other models (per-layer ``dtype``, softmax and fusion in float32).
"""

from __future__ import annotations

from typing import Sequence

import tensorflow as tf

from ..errors import ConfigError
from .architectures import _input, _policy, _validate
from .dates import builder_date_indices
from .layers import SelectDates, batch_normalization

__all__ = ["build_res_ensemble4", "build_res_ensemble8", "build_st_resnet", "build_re_resnet",
           "PatchToPixels", "VoterFusion", "RESNET_WIDTHS", "STEM_FILTERS", "LSTM_UNITS", "SEASONS",
           "DEFAULT_PATCH_SIZE", "VOTER_LOSSES"]

#: Bottleneck widths of the 4 blocks (output channels: 4x).
RESNET_WIDTHS = (16, 32, 64, 128)
STEM_FILTERS = 16
BOTTLENECK_EXPANSION = 4
LSTM_UNITS = 128
#: Dates (seasons) the models take: one per meteorological season.
SEASONS = 4
DEFAULT_PATCH_SIZE = 32
#: ``voter_loss`` of the ensembles: each voter's cross-entropy (default) or that of the averaged probability.
VOTER_LOSSES = ("per_voter", "average")
_EPSILON = 1e-7  # the clip of losses.weighted_sparse_crossentropy

layers = tf.keras.layers


class PatchToPixels(layers.Layer):
    """Every pixel of a window gets its patch's probabilities: ``[(B, K), (B, H, W, c)]`` -> ``(B, H, W, K)``."""

    def call(self, inputs):
        probabilities, window = inputs
        shape = tf.shape(window)
        return tf.broadcast_to(probabilities[:, None, None, :],
                               tf.stack([shape[0], shape[1], shape[2], tf.shape(probabilities)[-1]]))

    def compute_output_shape(self, input_shape):
        probabilities, window = (tf.TensorShape(s).as_list() for s in input_shape)
        return tf.TensorShape([*window[:3], probabilities[-1]])


class VoterFusion(layers.Layer):
    """The voters' probabilities ``[(B, K)] * V`` -> ``(B, K)``: their arithmetic mean at inference.

    In training with ``voter_loss="per_voter"`` the output is ``exp(mean_v log clip(p_v, 1e-7, 1))``, not
    normalised, so that a cross-entropy ``-log q_y`` on it is the mean of the voters' own cross-entropies
    (see the module docstring); with ``"average"`` it is the arithmetic mean in training too.
    """

    def __init__(self, voter_loss: str = "per_voter", **kwargs):
        super().__init__(**kwargs)
        if voter_loss not in VOTER_LOSSES:
            raise ConfigError(f"voter_loss={voter_loss!r} is not supported; use one of {list(VOTER_LOSSES)}")
        self.voter_loss = voter_loss

    def call(self, inputs, training=None):
        stacked = tf.stack(inputs, axis=0)
        mean = tf.reduce_mean(stacked, axis=0)
        if self.voter_loss == "average":
            return mean
        if training is None:
            training = tf.keras.backend.learning_phase()
        geometric = lambda: tf.exp(tf.reduce_mean(tf.math.log(tf.clip_by_value(stacked, _EPSILON, 1.0)), axis=0))
        return tf.__internal__.smart_cond.smart_cond(training, geometric, lambda: mean)

    def compute_output_shape(self, input_shape):
        return tf.TensorShape(input_shape[0])

    def get_config(self):
        return {**super().get_config(), "voter_loss": self.voter_loss}


def _bn_relu(x, name, policy):
    x = batch_normalization(f"{name}_bn", policy)(x)
    return layers.ReLU(name=f"{name}_relu", dtype=policy)(x)


def _conv(x, filters, kernel, name, policy, strides=1):
    return layers.Conv2D(filters, kernel, strides=strides, padding="same", use_bias=False, name=name,
                         dtype=policy)(x)


def _bottleneck(x, width, strides, name, policy):
    """Pre-activation bottleneck: BN-ReLU-1x1(w), BN-ReLU-3x3(w, strides), BN-ReLU-1x1(4w), plus the shortcut."""
    out_channels = BOTTLENECK_EXPANSION * width
    pre = _bn_relu(x, f"{name}_pre", policy)
    if strides != 1 or x.shape[-1] != out_channels:
        shortcut = _conv(pre, out_channels, 1, f"{name}_shortcut", policy, strides)
    else:
        shortcut = x
    y = _conv(pre, width, 1, f"{name}_conv1", policy)
    y = _conv(_bn_relu(y, f"{name}_mid1", policy), width, 3, f"{name}_conv2", policy, strides)
    y = _conv(_bn_relu(y, f"{name}_mid2", policy), out_channels, 1, f"{name}_conv3", policy)
    return layers.Add(name=f"{name}_add", dtype=policy)([shortcut, y])


def _resnet14(x, name, policy) -> list[tf.Tensor]:
    """Stem and the 4 blocks of one stream; returns the 4 block outputs (pre-activation, not normalised)."""
    x = _conv(x, STEM_FILTERS, 3, f"{name}_stem", policy)
    outputs = []
    for block, width in enumerate(RESNET_WIDTHS):
        x = _bottleneck(x, width, 1 if block == 0 else 2, f"{name}_block{block + 1}", policy)
        outputs.append(x)
    return outputs


def _features(block_output, name, policy) -> tf.Tensor:
    """BN-ReLU then global average pooling: ``(B, h, w, c)`` -> ``(B, c)``."""
    return layers.GlobalAveragePooling2D(name=f"{name}_gap", dtype=policy)(_bn_relu(block_output, name, policy))


def _softmax_head(features, n_classes, dropout, suffix, policy) -> tf.Tensor:
    """Dropout, linear Dense ``logits<suffix>``, float32 softmax ``probabilities<suffix>``: ``(B, K)``."""
    if dropout > 0:
        features = layers.Dropout(dropout, name=f"dropout{suffix}", dtype=policy)(features)
    logits = layers.Dense(n_classes, name=f"logits{suffix}", dtype=policy)(features)
    return layers.Softmax(name=f"probabilities{suffix}", dtype="float32")(logits)


def _patch_model(name, window, patch_probabilities) -> tf.keras.Model:
    """The model: the patch's ``(B, K)`` probabilities (layer ``patch_probabilities``) on every pixel."""
    patch = layers.Activation("linear", name="patch_probabilities", dtype="float32")(patch_probabilities)
    return tf.keras.Model(window, PatchToPixels(name="pixels", dtype="float32")([patch, window]), name=name)


def _prepare(name, n_dates, n_bands, n_classes, extra_channels_per_date, precision, dropout, date_indices,
             patch_size):
    _validate(n_dates, n_bands, n_classes, 1, extra_channels_per_date, dropout, grouped=False)
    if not isinstance(patch_size, int) or patch_size < 8:
        raise ConfigError(f"patch_size={patch_size!r} is invalid; it must be an integer >= 8 (3 stride-2 blocks)")
    return _policy(precision), builder_date_indices(name, n_dates, date_indices), n_bands + extra_channels_per_date


def _ensemble(name, heads_per_stream, n_dates, n_bands, n_classes, extra_channels_per_date, precision, dropout,
              spatial_shape, date_indices, patch_size, voter_loss) -> tf.keras.Model:
    policy, seasons, channels = _prepare(name, n_dates, n_bands, n_classes, extra_channels_per_date, precision,
                                         dropout, date_indices, patch_size)
    window = _input(n_dates, n_bands, extra_channels_per_date, spatial_shape)
    voters = []
    for season, index in enumerate(seasons):
        stream = f"season{season + 1}"
        x = SelectDates([index], channels, name=f"{stream}_date")(window)
        blocks = _resnet14(x, stream, policy)
        for block in range(len(RESNET_WIDTHS) - heads_per_stream, len(RESNET_WIDTHS)):
            head = f"{stream}_block{block + 1}_head"
            voters.append(_softmax_head(_features(blocks[block], head, policy), n_classes, dropout,
                                        f"_{stream}_block{block + 1}", policy))
    fused = VoterFusion(voter_loss, name="voters", dtype="float32")(voters)
    return _patch_model(name, window, fused)


_ARGS_DOC = """
    Args:
        n_dates: T, dates of the store's grid (the model gathers 4 of them).
        n_bands: C, spectral bands per date.
        n_classes: K, classes of the nomenclature.
        n_groups: accepted for the registry's uniform signature, not used.
        extra_channels_per_date: E, channels appended after the bands of every date (spectral indices).
        precision: ``"float32"`` or ``"bfloat16"`` (mixed precision, float32 variables, softmax and fusion).
        dropout: dropout rate before each softmax Dense (SEED-MODELS.md: 0.5, set by the model's config).
        spatial_shape: (H, W) of the input; ``(None, None)`` (any size) except for FLOP counting.
        date_indices: the 4 season dates (indices into the T dates); default :func:`.dates.select_dates` on a
            regular grid.
        patch_size: P, the training patch side the map adapter slides (recorded in the model's spec).

    Returns:
        Model mapping ``(B, H, W, T*(C+E))`` float32 to ``(B, H, W, K)`` float32 probabilities, the same for
        every pixel of a window (the window's class distribution).

    Raises:
        ConfigError: a size is not a positive integer, T < 4 or a date index out of range, unknown precision.
"""


def build_res_ensemble4(n_dates: int, n_bands: int, n_classes: int, n_groups: int = 1,
                        extra_channels_per_date: int = 0, precision: str = "float32", dropout: float = 0.5,
                        spatial_shape: tuple[int | None, int | None] = (None, None),
                        date_indices: Sequence[int] | None = None, patch_size: int = DEFAULT_PATCH_SIZE,
                        voter_loss: str = "per_voter") -> tf.keras.Model:
    return _ensemble("res_ensemble4", 1, n_dates, n_bands, n_classes, extra_channels_per_date, precision, dropout,
                     spatial_shape, date_indices, patch_size, voter_loss)


def build_res_ensemble8(n_dates: int, n_bands: int, n_classes: int, n_groups: int = 1,
                        extra_channels_per_date: int = 0, precision: str = "float32", dropout: float = 0.5,
                        spatial_shape: tuple[int | None, int | None] = (None, None),
                        date_indices: Sequence[int] | None = None, patch_size: int = DEFAULT_PATCH_SIZE,
                        voter_loss: str = "per_voter") -> tf.keras.Model:
    return _ensemble("res_ensemble8", 2, n_dates, n_bands, n_classes, extra_channels_per_date, precision, dropout,
                     spatial_shape, date_indices, patch_size, voter_loss)


def build_st_resnet(n_dates: int, n_bands: int, n_classes: int, n_groups: int = 1,
                    extra_channels_per_date: int = 0, precision: str = "float32", dropout: float = 0.5,
                    spatial_shape: tuple[int | None, int | None] = (None, None),
                    date_indices: Sequence[int] | None = None, patch_size: int = DEFAULT_PATCH_SIZE
                    ) -> tf.keras.Model:
    policy, seasons, channels = _prepare("st_resnet", n_dates, n_bands, n_classes, extra_channels_per_date, precision,
                                         dropout, date_indices, patch_size)
    window = _input(n_dates, n_bands, extra_channels_per_date, spatial_shape)
    stacked = SelectDates(seasons, channels, name="seasons")(window)
    blocks = _resnet14(stacked, "stacked", policy)
    head = _softmax_head(_features(blocks[-1], "stacked_head", policy), n_classes, dropout, "", policy)
    return _patch_model("st_resnet", window, head)


def build_re_resnet(n_dates: int, n_bands: int, n_classes: int, n_groups: int = 1,
                    extra_channels_per_date: int = 0, precision: str = "float32", dropout: float = 0.5,
                    spatial_shape: tuple[int | None, int | None] = (None, None),
                    date_indices: Sequence[int] | None = None, patch_size: int = DEFAULT_PATCH_SIZE
                    ) -> tf.keras.Model:
    policy, seasons, channels = _prepare("re_resnet", n_dates, n_bands, n_classes, extra_channels_per_date, precision,
                                         dropout, date_indices, patch_size)
    window = _input(n_dates, n_bands, extra_channels_per_date, spatial_shape)
    steps = []
    for season, index in enumerate(seasons):
        stream = f"season{season + 1}"
        x = SelectDates([index], channels, name=f"{stream}_date")(window)
        features = _features(_resnet14(x, stream, policy)[-1], f"{stream}_head", policy)
        steps.append(layers.Reshape((1, features.shape[-1]), name=f"{stream}_step", dtype=policy)(features))
    sequence = layers.Concatenate(axis=1, name="seasons_sequence", dtype=policy)(steps)
    state = layers.LSTM(LSTM_UNITS, name="lstm", dtype=policy)(sequence)
    return _patch_model("re_resnet", window, _softmax_head(state, n_classes, dropout, "", policy))


build_res_ensemble4.__doc__ = ("Res_ensemble_4: 4 unshared ResNet-14 streams (one per season), a block-4 GAP "
                               "softmax voter each, their mean.\n" + _ARGS_DOC +
                               "\n    voter_loss: ``per_voter`` (default) or ``average``, see :class:`VoterFusion`.\n")
build_res_ensemble8.__doc__ = ("Res_ensemble_8: as Res_ensemble_4 with a second voter per stream on block 3's GAP; "
                               "the mean of 8.\n" + _ARGS_DOC +
                               "\n    voter_loss: ``per_voter`` (default) or ``average``, see :class:`VoterFusion`.\n")
build_st_resnet.__doc__ = "st-ResNet: the 4 seasons stacked as channels into one ResNet-14.\n" + _ARGS_DOC
build_re_resnet.__doc__ = ("Re-ResNet: 4 unshared ResNet-14 branches, their GAP features as 4 steps of an "
                           "LSTM(128), its last state -> softmax.\n" + _ARGS_DOC)
