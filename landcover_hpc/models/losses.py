"""Label encoding, class weights and the weighted sparse categorical cross-entropy.

Label encoding (the same as the label rasters of the tile stores, see ``landcover_hpc.nomenclature``):
``y_true`` is the class *index*, shape ``(B, H, W)`` (or ``(B, H, W, 1)``), any integer dtype (floats holding
integers are accepted): 0 = unlabelled, k in 1..K = the k-th class of the nomenclature, predicted on output
channel ``k - 1`` of ``y_pred`` ``(B, H, W, K)``. No one-hot encoding is needed; feed the patch labels as they
are.

Loss (paper eq. 1-2, normalised as in the design notes):

    L = - 1 / max(1, N_lab) * sum_{labelled pixels i} w_{y_i} * log p_{i, y_i}

with N_lab the number of labelled pixels of the batch (of this rank, under Horovod). Unlabelled pixels
contribute nothing, gradient included. Probabilities are clipped to [1e-7, 1] before the log and the
computation is float32 whatever the model precision.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import tensorflow as tf

from ..errors import ConfigError

__all__ = ["class_weights", "weighted_sparse_crossentropy", "WeightedSparseCrossEntropy", "class_indices", "soft_iou",
           "CrossEntropyIoU"]

_EPSILON = 1e-7


def class_weights(counts: Sequence[int] | np.ndarray, normalize: bool = False) -> np.ndarray:
    """Class weights ``w_k = n_tot / n_k`` from labelled training pixel counts (paper eq. 2).

    Args:
        counts: ``(K,)`` labelled pixels per class, class index 1..K in order (no unlabelled entry).
        normalize: if True, scale the weights so that their mean over classes present (n_k > 0) is 1. This
            only rescales the loss (Adam is nearly invariant to it); the default keeps the paper's values.

    Returns:
        ``(K,)`` float32 weights; 0 for classes with no training pixel.

    Raises:
        ConfigError: counts is not 1-D, has a negative entry, or sums to 0.
    """
    counts = np.asarray(counts, dtype=np.float64)
    if counts.ndim != 1 or counts.size == 0:
        raise ConfigError(f"class counts must be a non-empty 1-D array (K,), got shape {counts.shape}")
    if (counts < 0).any():
        raise ConfigError(f"class counts must be >= 0, got {counts.tolist()}")
    total = counts.sum()
    if total == 0:
        raise ConfigError("class counts are all 0: no labelled training pixel")
    present = counts > 0
    weights = np.zeros_like(counts)
    weights[present] = total / counts[present]
    if normalize:
        weights[present] /= weights[present].mean()
    return weights.astype(np.float32)


def class_indices(y_true: tf.Tensor, y_pred_rank: int = 4) -> tf.Tensor:
    """Labels as int32 class indices ``(B, H, W)``, 0 = unlabelled (drops a trailing axis of size 1)."""
    y_true = tf.convert_to_tensor(y_true)
    if y_true.shape.rank == y_pred_rank:
        y_true = tf.squeeze(y_true, axis=-1)
    if y_true.dtype.is_floating:
        y_true = tf.round(y_true)
    return tf.cast(y_true, tf.int32)


def weighted_sparse_crossentropy(
    y_true: tf.Tensor, y_pred: tf.Tensor, class_weights: Sequence[float] | np.ndarray | tf.Tensor
) -> tf.Tensor:
    """Weighted cross-entropy averaged over the labelled pixels of the batch.

    Args:
        y_true: ``(B, H, W)`` or ``(B, H, W, 1)`` class indices 0..K, 0 = unlabelled.
        y_pred: ``(B, H, W, K)`` class probabilities (any float dtype; computed in float32).
        class_weights: ``(K,)`` weights, ``class_weights[k-1]`` for class index k.

    Returns:
        Scalar float32 loss; 0 when the batch holds no labelled pixel.
    """
    y_pred = tf.cast(y_pred, tf.float32)
    weights = tf.cast(tf.convert_to_tensor(class_weights), tf.float32)
    n_classes = y_pred.shape[-1]
    if n_classes is not None and weights.shape[0] is not None and weights.shape[0] != n_classes:
        raise ConfigError(f"got {weights.shape[0]} class weights for a model with {n_classes} classes")
    labels = class_indices(y_true, y_pred.shape.rank)
    tf.debugging.assert_less_equal(
        labels,
        tf.shape(y_pred, out_type=tf.int32)[-1],
        message="label index larger than the number of classes",
    )
    # Index 0 (unlabelled) -> one_hot(-1) = all zeros: no term, and exactly zero gradient.
    one_hot = tf.one_hot(labels - 1, depth=tf.shape(y_pred)[-1], dtype=tf.float32)
    log_p = tf.math.log(tf.clip_by_value(y_pred, _EPSILON, 1.0))
    per_pixel = -tf.reduce_sum(one_hot * weights * log_p, axis=-1)
    n_labelled = tf.reduce_sum(tf.cast(labels > 0, tf.float32))
    return tf.reduce_sum(per_pixel) / tf.maximum(n_labelled, 1.0)


class WeightedSparseCrossEntropy(tf.keras.losses.Loss):
    """Keras loss wrapping :func:`weighted_sparse_crossentropy` (``model.compile(loss=...)``).

    Args:
        class_weights: ``(K,)`` weights, e.g. from :func:`class_weights`.
        name: loss name in the training logs.
    """

    def __init__(self, class_weights: Sequence[float] | np.ndarray, name: str = "weighted_crossentropy"):
        # Reduction NONE: the loss already is a scalar normalised by the labelled pixels, Keras must not
        # divide it again by the batch size or the number of replicas.
        super().__init__(reduction=tf.keras.losses.Reduction.NONE, name=name)
        self.class_weights = np.asarray(class_weights, dtype=np.float32)

    def call(self, y_true, y_pred):
        return weighted_sparse_crossentropy(y_true, y_pred, self.class_weights)

    def get_config(self):
        return {"class_weights": self.class_weights.tolist(), "name": self.name}


def soft_iou(y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
    """Soft Jaccard index of Iglovikov et al. (the roads paper's J): ``mean(y * p / (y + p - y * p))``.

    The mean runs over the labelled pixels and the K classes of their one-hot labels ``y``; unlabelled pixels
    (index 0) take no part. A class channel where ``y = 0`` contributes 0, so for one-hot labels J is the mean
    probability of the true class divided by K (at most 1 / K; ``-log J`` differs from ``-log`` of that mean
    by the constant ``log K``). Returns 1 (``-log J = 0``) for a batch without labelled pixels.
    """
    y_pred = tf.clip_by_value(tf.cast(y_pred, tf.float32), _EPSILON, 1.0)
    labels = class_indices(y_true, y_pred.shape.rank)
    one_hot = tf.one_hot(labels - 1, depth=tf.shape(y_pred)[-1], dtype=tf.float32)
    labelled = tf.cast(labels > 0, tf.float32)[..., None]
    ratio = one_hot * y_pred / (one_hot + y_pred - one_hot * y_pred)
    count = tf.reduce_sum(labelled) * tf.cast(tf.shape(y_pred)[-1], tf.float32)
    return tf.where(count > 0, tf.reduce_sum(ratio * labelled) / tf.maximum(count, 1.0), 1.0)


class CrossEntropyIoU(WeightedSparseCrossEntropy):
    """The roads paper's joint loss ``L = alpha * H - (1 - alpha) * log J`` (``unet_convlstm``).

    H is :func:`weighted_sparse_crossentropy` (the class weights of the training config), J :func:`soft_iou`.
    alpha is not stated in the paper: 0.5 (SEED-MODELS.md 3.3). Under Horovod the trainer scales the loss of
    a rank like the cross-entropy (labelled pixels of the rank over those of the global batch): exact for H,
    for ``log J`` (not a sum over pixels) a weighting of the ranks' batches by their labelled pixels.

    Args:
        class_weights: ``(K,)`` weights of H.
        alpha: weight of H in [0, 1].
    """

    def __init__(self, class_weights: Sequence[float] | np.ndarray, alpha: float = 0.5,
                 name: str = "crossentropy_iou"):
        if not 0.0 <= alpha <= 1.0:
            raise ConfigError(f"alpha={alpha!r} is invalid; it must be in [0, 1]")
        super().__init__(class_weights, name=name)
        self.alpha = float(alpha)

    def call(self, y_true, y_pred):
        crossentropy = weighted_sparse_crossentropy(y_true, y_pred, self.class_weights)
        return self.alpha * crossentropy - (1.0 - self.alpha) * tf.math.log(soft_iou(y_true, y_pred))

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}
