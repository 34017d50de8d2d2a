"""TWINNS (Ienco et al. 2019, SEED-MODELS.md 4): per-sensor CNN and attentive ConvGRU branches, fused, with
auxiliary classifiers, as a dense model: ``twinns`` (Sentinel-1 + Sentinel-2) and ``twinns_s2`` (the paper's
TWINNS(S2) ablation).

The paper classifies the centre pixel of a 5 x 5 window. Every convolution of the window classifier is 'valid'
(5 -> 3 -> 1) and everything after them is per pixel, so the model runs fully convolutionally with the same
result: pad the window by 2 px (reflect), apply the convolutions 'valid' to the whole window, run the GRU and the
attention on each pixel's sequence (``(B, H, W)`` pixels reshaped to ``(B*H*W, T, d)``) and the dense heads as
1x1 convolutions. A pixel's output is the window classifier's on its 5 x 5 neighbourhood; at inference (BN
affine, no dropout) the two are identical (``tests/models/test_models_twinns.py``). Input ``(B, H, W, T*C' [+
T1*2])``, the S1 stack after the S2 one; output ``(B, H, W, K)`` probabilities.

Loss and output: the paper trains ``L = CE_fus + 0.5 * sum_4 CE_aux`` (stated, alpha = 0.5) and classifies with
``argmax(p_fus + 0.5 * sum_4 p_aux)`` (stated). The model's output is that score divided by ``1 + 0.5 * n_aux``
(a probability distribution, same argmax). :class:`AuxiliaryLossModel` overrides Keras' ``compute_loss``: it
applies the loss the model is compiled with (the trainer's weighted, globally normalised cross-entropy) to the
fusion head, and adds ``0.5 x`` the same loss on each auxiliary head as further terms of the total, so that
``train_on_batch`` (``training.trainer.train_step``) minimises and reports the paper's loss with no change to the
trainer.

Cost: at the paper's widths (S2 stream l = 512: CNN 512/1024/1024, ConvGRU convs 512/1024, GRU 1024 units; S1
l = 256) every pixel runs T GRU steps of 1024 units: see the builders for counts and the README for the measured
training cost per patch. ``filters_s2``, ``filters_s1`` and ``fusion_units`` make smaller variants (tests).
"""

from __future__ import annotations

import tensorflow as tf

from ..errors import ConfigError
from .architectures import ByteDropout, TemporalGroupsToBatch, _policy, _validate
from .names import S1_CHANNELS_PER_DATE, check_s1_dates
from .layers import SelectDates, batch_normalization

__all__ = ["build_twinns", "build_twinns_s2", "AuxiliaryLossModel", "InferenceScore", "TemporalAttention",
           "DatesToPixelSequences", "PixelsToMap", "ReflectPad", "AUXILIARY_WEIGHT", "TWINNS_DROPOUT"]

layers = tf.keras.layers

#: alpha of the loss and of the inference score (stated).
AUXILIARY_WEIGHT = 0.5
#: Dropout of the convolutions and of the GRU input (stated: 0.4).
TWINNS_DROPOUT = 0.4
#: Window of the paper's classifier: 5 x 5, so 2 px of context on each side.
CONTEXT = 2


class ReflectPad(layers.Layer):
    """Pad H and W of ``(B, H, W, C)`` by ``size`` px on each side, mirroring the border (needs H, W > size)."""

    def __init__(self, size: int, **kwargs):
        super().__init__(**kwargs)
        self.size = int(size)

    def call(self, inputs):
        s = self.size
        return tf.pad(inputs, [[0, 0], [s, s], [s, s], [0, 0]], mode="REFLECT")

    def get_config(self):
        return {**super().get_config(), "size": self.size}


class DatesToPixelSequences(layers.Layer):
    """``(B*T, H, W, F)`` (row ``b*T + t``: date t of window b) -> ``(B*H*W, T, F)``: one sequence per pixel."""

    def __init__(self, n_dates: int, **kwargs):
        super().__init__(**kwargs)
        self.n_dates = int(n_dates)

    def call(self, inputs):
        shape = tf.shape(inputs)
        features = inputs.shape[-1]
        dates = tf.reshape(inputs, tf.stack([-1, self.n_dates, shape[1], shape[2], features]))
        return tf.reshape(tf.transpose(dates, [0, 2, 3, 1, 4]), tf.stack([-1, self.n_dates, features]))

    def get_config(self):
        return {**super().get_config(), "n_dates": self.n_dates}


class PixelsToMap(layers.Layer):
    """Inputs ``[(B*H*W, F) per pixel, reference (B, H, W, ...)]`` -> ``(B, H, W, F)``."""

    def call(self, inputs):
        pixels, reference = inputs
        shape = tf.shape(reference)
        return tf.reshape(pixels, tf.stack([shape[0], shape[1], shape[2], pixels.shape[-1]]))


class TemporalAttention(layers.Layer):
    """The paper's attention over a GRU's states ``H (N, T, d)``: ``v = tanh(H W_a + b_a)``, ``w = softmax_T(v u_a)``,
    output ``sum_t w_t h_t`` ``(N, d)``."""

    def build(self, input_shape):
        width = int(input_shape[-1])
        self.kernel = self.add_weight("kernel", (width, width), initializer="glorot_uniform")
        self.bias = self.add_weight("bias", (width,), initializer="zeros")
        self.context = self.add_weight("context", (width,), initializer="glorot_uniform")
        super().build(input_shape)

    def call(self, states):
        v = tf.tanh(tf.tensordot(states, tf.cast(self.kernel, states.dtype), 1) + tf.cast(self.bias, states.dtype))
        scores = tf.tensordot(v, tf.cast(self.context, states.dtype), 1)
        weights = tf.nn.softmax(tf.cast(scores, tf.float32), axis=1)
        return tf.reduce_sum(tf.cast(weights[..., None], states.dtype) * states, axis=1)


class InferenceScore(layers.Layer):
    """``(p_fus + alpha * sum p_aux) / (1 + alpha * n_aux)`` of inputs ``[p_fus, p_aux_1, ...]`` (float32).

    Keeps its last inputs (``heads``) for :meth:`AuxiliaryLossModel.compute_loss`, which runs in the same trace
    right after the forward pass (Keras' ``train_step``).
    """

    def __init__(self, alpha: float = AUXILIARY_WEIGHT, **kwargs):
        super().__init__(**kwargs)
        self.alpha = float(alpha)
        self.heads = None

    def call(self, inputs):
        self.heads = list(inputs)
        fusion, *auxiliary = inputs
        return (fusion + self.alpha * tf.add_n(auxiliary)) / (1.0 + self.alpha * len(auxiliary))

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}


class AuxiliaryLossModel(tf.keras.Model):
    """A functional model ending in :class:`InferenceScore` (layer ``probabilities``), trained with the paper's
    ``L = loss(fusion head) + alpha * sum loss(auxiliary head)``, ``loss`` the one given to ``compile``."""

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None):
        score = self.get_layer("probabilities")
        fusion, *auxiliary = score.heads
        loss = tf.keras.losses.get(self.loss)
        extra = [score.alpha * loss(y, head) for head in auxiliary]
        return self.compiled_loss(y, fusion, sample_weight, regularization_losses=self.losses + extra)


def _dropout(x, name, policy):
    return ByteDropout(TWINNS_DROPOUT, name=name, dtype=policy)(x)


def _stream(padded, window, sensor, n_dates, per_date, offset, width, policy):
    """One sensor's CNN and attentive ConvGRU branches: two ``(B, H, W, 2*width)`` feature maps."""
    stack = SelectDates(range(n_dates), per_date, offset, name=f"{sensor}_stack", dtype=policy)(padded)
    # CNN branch on the dates stacked on channels: Conv3x3(l) valid, Conv3x3(2l) valid, Conv1x1(2l).
    x = stack
    for i, (filters, kernel) in enumerate(((width, 3), (2 * width, 3), (2 * width, 1))):
        x = layers.Conv2D(filters, kernel, padding="valid", activation="relu", name=f"{sensor}_cnn_conv{i}",
                          dtype=policy)(x)
        x = batch_normalization(f"{sensor}_cnn_bn{i}", policy)(x)
        x = _dropout(x, f"{sensor}_cnn_dropout{i}", policy)
    cnn = x
    # ConvGRU branch: per date (weights shared over time) Conv3x3(l) valid, Conv3x3(2l) valid, then the GRU.
    x = TemporalGroupsToBatch(n_dates, name=f"{sensor}_dates_to_batch", dtype=policy)(stack)
    for i, filters in enumerate((width, 2 * width)):
        x = layers.Conv2D(filters, 3, padding="valid", activation="relu", name=f"{sensor}_rnn_conv{i}",
                          dtype=policy)(x)
        x = batch_normalization(f"{sensor}_rnn_bn{i}", policy)(x)
    sequences = DatesToPixelSequences(n_dates, name=f"{sensor}_pixel_sequences", dtype=policy)(x)
    # The GRU's input dropout as a layer before it: one mask per pixel sequence, shared over time like Keras'
    # GRU(dropout=), whose cell's mask cache cannot be traversed by training.rng (tf.Module._flatten fails).
    sequences = layers.Dropout(TWINNS_DROPOUT, noise_shape=(None, 1, 2 * width), name=f"{sensor}_gru_dropout",
                               dtype=policy)(sequences)
    states = layers.GRU(2 * width, return_sequences=True, reset_after=False, name=f"{sensor}_gru",
                        dtype=policy)(sequences)
    attended = TemporalAttention(name=f"{sensor}_attention", dtype=policy)(states)
    rnn = PixelsToMap(name=f"{sensor}_rnn_map", dtype=policy)([attended, window])
    return [(f"{sensor}_cnn", cnn), (f"{sensor}_rnn", rnn)]


def _twinns(name, n_dates, n_bands, n_classes, n_groups, extra_channels_per_date, precision, dropout, spatial_shape,
            n_s1_dates, filters_s2, filters_s1, fusion_units) -> tf.keras.Model:
    _validate(n_dates, n_bands, n_classes, n_groups, extra_channels_per_date, dropout, grouped=False)
    for key, value in (("filters_s2", filters_s2), ("filters_s1", filters_s1), ("fusion_units", fusion_units)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ConfigError(f"{key}={value!r} is invalid; it must be an integer >= 1")
    policy = _policy(precision)
    channels = n_bands + extra_channels_per_date
    window = tf.keras.Input((*spatial_shape, n_dates * channels + n_s1_dates * S1_CHANNELS_PER_DATE), name="window")
    padded = ReflectPad(CONTEXT, name="context_pad", dtype=policy)(window)
    features = []
    if n_s1_dates:
        features += _stream(padded, window, "s1", n_s1_dates, S1_CHANNELS_PER_DATE, n_dates * channels, filters_s1,
                            policy)
    features += _stream(padded, window, "s2", n_dates, channels, 0, filters_s2, policy)
    x = layers.Concatenate(name="fusion", dtype=policy)([f for _, f in features])
    for i in range(2):
        x = layers.Conv2D(fusion_units, 1, activation="relu", name=f"fusion_dense{i}", dtype=policy)(x)
    heads = [layers.Softmax(name="fusion_probabilities", dtype="float32")(
        layers.Conv2D(n_classes, 1, name="logits", dtype=policy)(x))]
    for branch, f in features:
        logits = layers.Conv2D(n_classes, 1, name=f"aux_{branch}_logits", dtype=policy)(f)
        heads.append(layers.Softmax(name=f"aux_{branch}_probabilities", dtype="float32")(logits))
    score = InferenceScore(AUXILIARY_WEIGHT, name="probabilities", dtype="float32")(heads)
    return AuxiliaryLossModel(window, score, name=name)


def build_twinns(
    n_dates: int,
    n_bands: int,
    n_classes: int,
    n_groups: int = 11,
    extra_channels_per_date: int = 0,
    precision: str = "float32",
    dropout: float = 0.2,
    spatial_shape: tuple[int | None, int | None] = (None, None),
    n_s1_dates: int = 0,
    filters_s2: int = 512,
    filters_s1: int = 256,
    fusion_units: int = 1024,
) -> tf.keras.Model:
    """TWINNS, Sentinel-1 + Sentinel-2, dense (module docstring), all dates of both sensors.

    Per sensor (widths l = 256 for S1, 512 for S2, stated):

    - CNN branch on the dates stacked on channels (not stated: SEED-MODELS.md's choice): Conv3x3(l) valid,
      Conv3x3(2l) valid, Conv1x1(2l), each ReLU -> BatchNorm -> Dropout(0.4) -> ``cnn`` feature (2l);
    - attentive ConvGRU branch: per date, weights shared over time, Conv3x3(l) valid and Conv3x3(2l) valid, each
      ReLU -> BatchNorm; GRU(2l, ``reset_after=False``: the paper's equations; input dropout 0.4, one mask per
      pixel sequence), attention over
      the T states -> ``rnn`` feature (2l).

    Fusion: concat (S1 cnn, S1 rnn, S2 cnn, S2 rnn: 3072 for the paper's widths, stated) -> Dense(1024, ReLU) x 2
    -> Dense(K) softmax (dense layers as 1x1 convolutions); one linear Dense(K) softmax auxiliary head per
    feature; output and loss: module docstring (alpha = 0.5). Deviations: the paper's 16 features per S2 date (10
    bands and 6 indices) and 8-bit rescaled S1 dB are the store's C' channels and percentile-normalised S1 here;
    ``dropout`` (config) is validated, not used: the paper's 0.4 is.

    Parameters (T=33, C=10, K=17, T1=33, paper widths): 28 310 101 (they grow with T and T1 through the CNN
    branch's first convolution: 9 x T x C' x l). Training cost: README.

    Args:
        n_s1_dates: T1 >= 1, the Sentinel-1 dates after the S2 stack in the input.
        filters_s2, filters_s1: l of each stream (paper 512, 256); smaller values only for tests and trials.
        fusion_units: units of the two fusion dense layers (paper 1024).
        others: as ``architectures.build_mlp`` (``n_groups`` unused).
    """
    check_s1_dates("twinns", n_s1_dates)
    return _twinns("twinns", n_dates, n_bands, n_classes, n_groups, extra_channels_per_date, precision, dropout,
                   spatial_shape, n_s1_dates, filters_s2, filters_s1, fusion_units)


def build_twinns_s2(
    n_dates: int,
    n_bands: int,
    n_classes: int,
    n_groups: int = 11,
    extra_channels_per_date: int = 0,
    precision: str = "float32",
    dropout: float = 0.2,
    spatial_shape: tuple[int | None, int | None] = (None, None),
    filters_s2: int = 512,
    fusion_units: int = 1024,
) -> tf.keras.Model:
    """TWINNS(S2), the paper's single-stream ablation: :func:`build_twinns` with the S2 stream only (2 auxiliary
    heads, output ``(p_fus + 0.5 (p_cnn + p_rnn)) / 2``).

    Parameters (T=33, C=10, K=17, paper widths): 22 618 163.
    """
    return _twinns("twinns_s2", n_dates, n_bands, n_classes, n_groups, extra_channels_per_date, precision, dropout,
                   spatial_shape, 0, filters_s2, 1, fusion_units)
