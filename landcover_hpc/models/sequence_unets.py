"""U-Nets over short date sequences from two papers (SEED-MODELS.md sections 2 and 3), one builder each.

- ``unet_convlstm`` (the roads paper, SEED-MODELS.md 3): a U-Net applied to every date with shared weights,
  its per-date class-probability maps fed to two ConvLSTM layers, a 1x1 head; trained with the paper's joint
  loss ``alpha * H - (1 - alpha) * log J`` (``losses.CrossEntropyIoU``, declared in ``registry.TRAINING_LOSSES``).
- ``convlstm_unet_s2`` / ``_s1s2`` and ``convlstm_inception_unet_s2`` / ``_s1s2`` (Wenger et al. 2022, SEED-MODELS.md
  2): one ConvLSTM2D(32) per sensor over 4 monthly dates, optionally a naive Inception module on the first date,
  concatenated, then the VGG16 U-Net of ``segmentation_models`` (its library defaults, rebuilt here layer by layer).

Interface as every model of the registry: input ``(B, H, W, T*C' [+ T1*2])`` float32, date-major, the S2 stack
first and then, for the ``_s1s2`` models, the S1 stack (VV, VH per date); output ``(B, H, W, K)`` float32
probabilities (a linear ``logits`` layer, then a float32 ``probabilities`` softmax).

Sizes: these U-Nets pool 4 (roads) or 5 (VGG16) times, the registry's windows are multiples of 4 only. Both
pad their input inside the graph with zeros to the next multiple of 16 or 32 (``PadToMultiple``, split evenly
between the two sides) and crop the output back (``CropToReference``): any window works, and a window whose sides
are already multiples is unchanged. Dates: the Wenger models take 4 of the T dates (``names.SELECTED_DATE_COUNTS``),
chosen by the trainer (``models.dates``) and passed as ``date_indices`` (``s1_date_indices``); they receive the
whole stack and gather their dates in the graph (``SelectDates``), so sampling and prediction are unchanged.

Parameters for the demo's T=33, C=10, K=17 (T1=33 for S1; none of the papers gives a count): see the builders
(``tests/models/test_models_sequence_unets.py`` checks them).
"""

from __future__ import annotations

from typing import Sequence

import tensorflow as tf

from .architectures import BatchToTemporalGroups, DatesToSequence, TemporalGroupsToBatch, _policy, _validate
from .dates import builder_date_indices
from .layers import SelectDates, batch_normalization
from .names import S1_CHANNELS_PER_DATE, check_s1_dates

__all__ = ["build_unet_convlstm", "build_convlstm_unet_s2", "build_convlstm_inception_unet_s2",
           "build_convlstm_unet_s1s2", "build_convlstm_inception_unet_s1s2", "PadToMultiple",
           "CropToReference", "ROADS_UNET_FILTERS", "VGG16_BLOCKS", "VGG_DECODER_FILTERS"]

layers = tf.keras.layers

#: Encoder filters of the roads paper's U-Net ("half the filters" of Ronneberger's), bottleneck 512.
ROADS_UNET_FILTERS = (32, 64, 128, 256)
ROADS_BOTTLENECK = 512
#: Filters of the two ConvLSTM layers of the roads paper.
ROADS_CONVLSTM_FILTERS = (32, 32)
#: VGG16 without top: (filters, convolutions) per block, each block ending with a 2x2 max-pooling.
VGG16_BLOCKS = ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3))
#: segmentation_models' Unet defaults: centre 2 x Conv(512), decoder filters, skip layers of vgg16.
VGG_CENTRE_FILTERS = 512
VGG_DECODER_FILTERS = (256, 128, 64, 32, 16)
VGG_SKIPS = ("block5_conv3", "block4_conv3", "block3_conv3", "block2_conv2")
#: Wenger et al.: ConvLSTM2D filters per sensor; Inception filters per convolution (not stated: as the ConvLSTM).
WENGER_CONVLSTM_FILTERS = 32
WENGER_INCEPTION_FILTERS = 32


def _padding(size, multiple):
    """(before, after) zero rows that make ``size`` a multiple of ``multiple``, split evenly."""
    total = (-size) % multiple
    return total // 2, total - total // 2


class PadToMultiple(layers.Layer):
    """Zero-pad H and W of ``(B, H, W, C)`` to the next multiples of ``multiple`` (half before, half after)."""

    def __init__(self, multiple: int, **kwargs):
        super().__init__(**kwargs)
        self.multiple = int(multiple)

    def call(self, inputs):
        shape = tf.shape(inputs)
        top, bottom = _padding(shape[1], self.multiple)
        left, right = _padding(shape[2], self.multiple)
        return tf.pad(inputs, [[0, 0], [top, bottom], [left, right], [0, 0]])

    def compute_output_shape(self, input_shape):
        b, h, w, c = tf.TensorShape(input_shape).as_list()
        grow = (lambda n: None if n is None else n + (-n) % self.multiple)
        return tf.TensorShape([b, grow(h), grow(w), c])

    def get_config(self):
        return {**super().get_config(), "multiple": self.multiple}


class CropToReference(PadToMultiple):
    """Inverse of :class:`PadToMultiple`: inputs ``[padded (B, H', W', K), reference (B, H, W, ...)]`` -> ``(B, H, W, K)``."""

    def call(self, inputs):
        padded, reference = inputs
        shape = tf.shape(reference)
        top, _ = _padding(shape[1], self.multiple)
        left, _ = _padding(shape[2], self.multiple)
        return padded[:, top:top + shape[1], left:left + shape[2], :]

    def compute_output_shape(self, input_shape):
        padded, reference = (tf.TensorShape(s).as_list() for s in input_shape)
        return tf.TensorShape([padded[0], reference[1], reference[2], padded[3]])


def _conv_bn_relu(x, filters, name, policy, kernel=3, initializer="glorot_uniform"):
    """Conv (no bias: the BatchNormalization's offset replaces it) -> BN -> ReLU."""
    x = layers.Conv2D(filters, kernel, padding="same", use_bias=False, kernel_initializer=initializer,
                      name=name, dtype=policy)(x)
    x = batch_normalization(f"{name}_bn", policy)(x)
    return layers.Activation("relu", name=f"{name}_relu", dtype=policy)(x)


def _head(features, n_classes, policy, kernel=1):
    logits = layers.Conv2D(n_classes, kernel, padding="same", name="logits", dtype=policy)(features)
    return layers.Softmax(axis=-1, name="probabilities", dtype="float32")(logits)


def _check_sizes(n_dates, n_bands, n_classes, n_groups, extra_channels_per_date, dropout):
    _validate(n_dates, n_bands, n_classes, n_groups, extra_channels_per_date, dropout, grouped=False)


def _roads_fcn(channels, n_classes, policy) -> tf.keras.Model:
    """The roads paper's FCN on one date: ``(B, H, W, C')`` -> per-date class probabilities ``(B, H, W, K)``."""
    image = tf.keras.Input((None, None, channels), name="date")
    x, skips = image, []
    for level, filters in enumerate(ROADS_UNET_FILTERS):
        x = _conv_bn_relu(x, filters, f"fcn_down{level}_a", policy)
        x = _conv_bn_relu(x, filters, f"fcn_down{level}_b", policy)
        skips.append(x)
        x = layers.MaxPooling2D(2, name=f"fcn_pool{level}", dtype=policy)(x)
    x = _conv_bn_relu(x, ROADS_BOTTLENECK, "fcn_bottleneck_a", policy)
    x = _conv_bn_relu(x, ROADS_BOTTLENECK, "fcn_bottleneck_b", policy)
    for level in reversed(range(len(ROADS_UNET_FILTERS))):
        filters = ROADS_UNET_FILTERS[level]
        x = layers.Conv2DTranspose(filters, 2, strides=2, name=f"fcn_up{level}", dtype=policy)(x)
        x = layers.Concatenate(name=f"fcn_skip{level}", dtype=policy)([x, skips[level]])
        x = _conv_bn_relu(x, filters, f"fcn_up{level}_conv", policy)
    logits = layers.Conv2D(n_classes, 1, name="fcn_logits", dtype=policy)(x)
    pmap = layers.Softmax(axis=-1, name="fcn_pmap", dtype="float32")(logits)
    return tf.keras.Model(image, pmap, name="fcn")


def build_unet_convlstm(
    n_dates: int,
    n_bands: int,
    n_classes: int,
    n_groups: int = 11,
    extra_channels_per_date: int = 0,
    precision: str = "float32",
    dropout: float = 0.2,
    spatial_shape: tuple[int | None, int | None] = (None, None),
) -> tf.keras.Model:
    """U-Net + ConvLSTM of the roads paper (SEED-MODELS.md 3), for any T x C'.

    1. The FCN (layer ``fcn``, one model shared by all dates; the dates are stacked in the batch like the
       temporal groups of ``architectures``): encoder 32, 64, 128, 256 filters, each level 2 x [Conv3x3 -> BN ->
       ReLU] then MaxPool 2x2, bottleneck 2 x Conv3x3(512); decoder Conv2DTranspose 2x2/2 halving the filters
       (linear, like U-Net's up-convolution) -> concat skip -> ONE Conv3x3 -> BN -> ReLU (stated); head
       Conv1x1(K) -> softmax: the per-date probability map (PMap). Paper: lc = 2 (road / not road); here K.
    2. ConvLSTM2D(32, 3x3) returning the sequence, ConvLSTM2D(32, 3x3) returning its last state (stated
       filters), Conv1x1(K) ``logits``, softmax. The paper's head is a sigmoid for its one road class.

    Deviations, all forced by the task or unstated: the paper's input is the 8-bit RGB TCI of 3 dates, here all
    C' normalised channels of all T dates; Keras' ConvLSTM2D has no peepholes (the paper's equations do); the
    paper trains in two stages (FCN on single dates, then the ConvLSTM on the frozen FCN's PMaps), here end to
    end in one stage with the paper's loss on the final output (the registry's trainer trains one model);
    convolutions followed by BN have no bias. No dropout in the paper: ``dropout`` is validated, not used.
    The input is zero-padded to a multiple of 16 inside the graph (module docstring).

    Parameters (T=33, C=10, K=17): 7 117 186 (7 112 258 trainable); they do not depend on T.

    Arguments as ``architectures.build_mlp`` (``n_groups`` unused). Returns ``(B, H, W, T*C')`` ->
    ``(B, H, W, K)`` probabilities.
    """
    _check_sizes(n_dates, n_bands, n_classes, n_groups, extra_channels_per_date, dropout)
    policy = _policy(precision)
    channels = n_bands + extra_channels_per_date
    window = tf.keras.Input((*spatial_shape, n_dates * channels), name="window")
    padded = PadToMultiple(16, name="pad_to_16", dtype=policy)(window)
    dates = TemporalGroupsToBatch(n_dates, name="dates_to_batch", dtype=policy)(padded)
    pmaps = _roads_fcn(channels, n_classes, policy)(dates)
    stacked = BatchToTemporalGroups(n_dates, name="batch_to_dates", dtype=policy)(pmaps)
    sequence = DatesToSequence(n_dates, name="pmap_sequence", dtype=policy)(stacked)
    first, last = ROADS_CONVLSTM_FILTERS
    x = layers.ConvLSTM2D(first, 3, padding="same", return_sequences=True, name="convlstm1", dtype=policy)(sequence)
    x = layers.ConvLSTM2D(last, 3, padding="same", return_sequences=False, name="convlstm2", dtype=policy)(x)
    x = CropToReference(16, name="crop", dtype=policy)([x, window])
    return tf.keras.Model(window, _head(x, n_classes, policy), name="unet_convlstm")


def _vgg16_unet(x, n_classes, policy):
    """segmentation_models ``Unet('vgg16', encoder_weights=None)`` on ``x``: logits then probabilities."""
    skips = {}
    for block, (filters, convs) in enumerate(VGG16_BLOCKS, start=1):
        for i in range(1, convs + 1):
            name = f"block{block}_conv{i}"
            x = layers.Conv2D(filters, 3, padding="same", activation="relu", name=name, dtype=policy)(x)
            skips[name] = x
        x = layers.MaxPooling2D(2, name=f"block{block}_pool", dtype=policy)(x)
    x = _conv_bn_relu(x, VGG_CENTRE_FILTERS, "center_block1", policy, initializer="he_uniform")
    x = _conv_bn_relu(x, VGG_CENTRE_FILTERS, "center_block2", policy, initializer="he_uniform")
    for stage, filters in enumerate(VGG_DECODER_FILTERS):
        x = layers.UpSampling2D(2, name=f"decoder_stage{stage}_upsampling", dtype=policy)(x)
        if stage < len(VGG_SKIPS):
            x = layers.Concatenate(name=f"decoder_stage{stage}_concat", dtype=policy)([x, skips[VGG_SKIPS[stage]]])
        x = _conv_bn_relu(x, filters, f"decoder_stage{stage}a", policy, initializer="he_uniform")
        x = _conv_bn_relu(x, filters, f"decoder_stage{stage}b", policy, initializer="he_uniform")
    return layers.Conv2D(n_classes, 3, padding="same", name="logits", dtype=policy)(x)


def _wenger(name, n_dates, n_bands, n_classes, n_groups, extra_channels_per_date, precision, dropout,
            spatial_shape, date_indices, n_s1_dates, s1_date_indices, inception) -> tf.keras.Model:
    _check_sizes(n_dates, n_bands, n_classes, n_groups, extra_channels_per_date, dropout)
    policy = _policy(precision)
    channels = n_bands + extra_channels_per_date
    s2_dates = builder_date_indices(name, n_dates, date_indices)
    window = tf.keras.Input((*spatial_shape, n_dates * channels + n_s1_dates * S1_CHANNELS_PER_DATE), name="window")
    sensors = [("s2", s2_dates, channels, 0)]
    if n_s1_dates:
        s1_dates = builder_date_indices(name, n_s1_dates, s1_date_indices, "s1_date_indices")
        sensors.insert(0, ("s1", s1_dates, S1_CHANNELS_PER_DATE, n_dates * channels))
    features, first_dates = [], []
    for sensor, indices, per_date, offset in sensors:
        stack = SelectDates(indices, per_date, offset, name=f"dates_{sensor}", dtype=policy)(window)
        sequence = DatesToSequence(len(indices), name=f"sequence_{sensor}", dtype=policy)(stack)
        features.append(layers.ConvLSTM2D(WENGER_CONVLSTM_FILTERS, 3, padding="same", return_sequences=False,
                                          name=f"convlstm_{sensor}", dtype=policy)(sequence))
        first_dates.append(SelectDates(indices[:1], per_date, offset, name=f"first_date_{sensor}", dtype=policy)(window))
    if inception:  # naive Inception on the first date of both sensors (S2's bands, then S1's for _s1s2)
        image = first_dates[0] if len(first_dates) == 1 else layers.Concatenate(
            name="first_dates", dtype=policy)(first_dates[::-1])
        branches = [layers.Conv2D(WENGER_INCEPTION_FILTERS, k, padding="same", activation="relu",
                                  name=f"inception_{k}x{k}", dtype=policy)(image) for k in (1, 3, 5)]
        branches.append(layers.MaxPooling2D(3, strides=1, padding="same", name="inception_pool", dtype=policy)(image))
        features.append(layers.Concatenate(name="inception", dtype=policy)(branches))
    fused = features[0] if len(features) == 1 else layers.Concatenate(name="fusion", dtype=policy)(features)
    padded = PadToMultiple(32, name="pad_to_32", dtype=policy)(fused)
    logits = CropToReference(32, name="crop", dtype=policy)([_vgg16_unet(padded, n_classes, policy), window])
    probabilities = layers.Softmax(axis=-1, name="probabilities", dtype="float32")(logits)
    return tf.keras.Model(window, probabilities, name=name)


def build_convlstm_unet_s2(
    n_dates: int,
    n_bands: int,
    n_classes: int,
    n_groups: int = 11,
    extra_channels_per_date: int = 0,
    precision: str = "float32",
    dropout: float = 0.2,
    spatial_shape: tuple[int | None, int | None] = (None, None),
    date_indices: Sequence[int] | None = None,
) -> tf.keras.Model:
    """ConvLSTM-S2 U-Net (Wenger et al. 2022, SEED-MODELS.md 2.2): Sentinel-2 only, the paper's ConvLSTM-S2 column.

    ConvLSTM2D(32, 3x3, 'same') over the 4 chosen S2 dates, returning its last state (stated; Keras' ConvLSTM2D
    has no peepholes, the paper's equations do), then the VGG16 U-Net of ``segmentation_models``
    (``Unet('vgg16', encoder_weights=None, activation='softmax')``, the paper's library, with its defaults):
    VGG16 blocks 64/128/256/512/512 (2/2/3/3/3 Conv3x3 + ReLU, MaxPool 2x2), centre 2 x [Conv3x3(512) -> BN ->
    ReLU], 5 decoder stages 256/128/64/32/16 (UpSampling 2x -> concat block5_conv3 / block4_conv3 / block3_conv3 /
    block2_conv2, none at the 5th -> 2 x [Conv3x3 -> BN -> ReLU]), head Conv3x3(K) ``logits`` -> softmax. The
    fused features are zero-padded to a multiple of 32 in the graph (module docstring). No dropout in the
    paper: ``dropout`` is validated, not used.

    Parameters (T=33, C=10, K=17): 23 819 809 (they do not depend on T: 4 dates are used).

    Args:
        date_indices: the 4 S2 dates (indices into the T); default evenly spread over the index grid. Training
            passes ``models.dates.date_options``' choice (``model.dates`` of the config).
        others: as ``architectures.build_mlp`` (``n_groups`` unused).
    """
    return _wenger("convlstm_unet_s2", n_dates, n_bands, n_classes, n_groups, extra_channels_per_date, precision,
                   dropout, spatial_shape, date_indices, 0, None, inception=False)


def build_convlstm_inception_unet_s2(
    n_dates: int,
    n_bands: int,
    n_classes: int,
    n_groups: int = 11,
    extra_channels_per_date: int = 0,
    precision: str = "float32",
    dropout: float = 0.2,
    spatial_shape: tuple[int | None, int | None] = (None, None),
    date_indices: Sequence[int] | None = None,
) -> tf.keras.Model:
    """ConvLSTM+Inception U-Net on Sentinel-2 only: :func:`build_convlstm_unet_s2` plus a naive Inception module.

    The module (SEED-MODELS.md 2.2) runs on the first chosen date (the paper's July image): Conv 1x1, 3x3 and
    5x5 of 32 filters each + ReLU (32 not stated: the ConvLSTM's width) and MaxPool 3x3 stride 1 'same',
    concatenated (96 + C' channels) after the ConvLSTM's 32, then the same U-Net. The paper's tables show the
    Inception model with S1+S2 only; this S2-only variant completes the ablation.

    Parameters (T=33, C=10, K=17): 23 892 161.
    """
    return _wenger("convlstm_inception_unet_s2", n_dates, n_bands, n_classes, n_groups, extra_channels_per_date,
                   precision, dropout, spatial_shape, date_indices, 0, None, inception=True)


def build_convlstm_unet_s1s2(
    n_dates: int,
    n_bands: int,
    n_classes: int,
    n_groups: int = 11,
    extra_channels_per_date: int = 0,
    precision: str = "float32",
    dropout: float = 0.2,
    spatial_shape: tuple[int | None, int | None] = (None, None),
    date_indices: Sequence[int] | None = None,
    n_s1_dates: int = 0,
    s1_date_indices: Sequence[int] | None = None,
) -> tf.keras.Model:
    """ConvLSTM-S1S2 U-Net (Wenger et al. 2022): one ConvLSTM2D(32) per sensor (separate weights), concatenated
    (S1, S2: 64 channels), then the U-Net of :func:`build_convlstm_unet_s2`.

    Input ``(B, H, W, T*C' + T1*2)``: the S2 stack, then the S1 stack (VV, VH per date).

    Parameters (T=33, C=10, K=17, T1=33): 23 877 537.

    Args:
        n_s1_dates: T1 >= 1, the Sentinel-1 dates of the input.
        s1_date_indices: the 4 S1 dates (indices into the T1); default evenly spread. Training passes the S1
            date closest to each chosen S2 date.
        others: as :func:`build_convlstm_unet_s2`.
    """
    check_s1_dates("convlstm_unet_s1s2", n_s1_dates)
    return _wenger("convlstm_unet_s1s2", n_dates, n_bands, n_classes, n_groups, extra_channels_per_date, precision,
                   dropout, spatial_shape, date_indices, n_s1_dates, s1_date_indices, inception=False)


def build_convlstm_inception_unet_s1s2(
    n_dates: int,
    n_bands: int,
    n_classes: int,
    n_groups: int = 11,
    extra_channels_per_date: int = 0,
    precision: str = "float32",
    dropout: float = 0.2,
    spatial_shape: tuple[int | None, int | None] = (None, None),
    date_indices: Sequence[int] | None = None,
    n_s1_dates: int = 0,
    s1_date_indices: Sequence[int] | None = None,
) -> tf.keras.Model:
    """ConvLSTM+Inception-S1S2 U-Net (Wenger et al. 2022, their best model): :func:`build_convlstm_unet_s1s2`
    plus the naive Inception module of :func:`build_convlstm_inception_unet_s2` on the first date of both
    sensors (C' + 2 channels: 10 + 2 = 12 in the paper), concatenated after the two ConvLSTMs (32 + 32 + 96 + 12
    = 172 channels into the U-Net for C' = 10).

    Parameters (T=33, C=10, K=17, T1=33): 23 953 281.
    """
    check_s1_dates("convlstm_inception_unet_s1s2", n_s1_dates)
    return _wenger("convlstm_inception_unet_s1s2", n_dates, n_bands, n_classes, n_groups, extra_channels_per_date,
                   precision, dropout, spatial_shape, date_indices, n_s1_dates, s1_date_indices, inception=True)
