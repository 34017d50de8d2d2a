"""Streaming training metrics on labelled pixels only: overall accuracy and unweighted Cohen's kappa.

Both accumulate a ``(K, K)`` confusion matrix (rows: reference class, columns: predicted class) over every
``update_state`` call of an epoch, so the epoch value is exact, not a mean of per-batch values. Labels use
the encoding of ``losses`` (class index 0..K, 0 = unlabelled and ignored).

Under Horovod, exact values over all ranks need the confusion matrices summed (``metric.confusion_matrix``);
averaging the per-rank results, as Horovod's MetricAverageCallback does, is only an approximation.
"""

from __future__ import annotations

import tensorflow as tf

from .losses import class_indices

__all__ = ["LabelledAccuracy", "CohenKappa"]


class _ConfusionMatrixMetric(tf.keras.metrics.Metric):
    def __init__(self, n_classes: int, name: str, **kwargs):
        super().__init__(name=name, **kwargs)
        self.n_classes = int(n_classes)
        self.confusion_matrix = self.add_weight(
            name="confusion_matrix",
            shape=(self.n_classes, self.n_classes),
            initializer="zeros",
            dtype=tf.float64,
        )

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Add a batch: ``y_true`` ``(B, H, W)`` indices 0..K, ``y_pred`` ``(B, H, W, K)`` probabilities."""
        y_pred = tf.convert_to_tensor(y_pred)
        labels = class_indices(y_true, y_pred.shape.rank)
        predicted = tf.argmax(y_pred, axis=-1, output_type=tf.int32)
        labelled = labels > 0
        batch = tf.math.confusion_matrix(
            tf.boolean_mask(labels - 1, labelled),
            tf.boolean_mask(predicted, labelled),
            num_classes=self.n_classes,
            dtype=tf.float64,
        )
        self.confusion_matrix.assign_add(batch)

    def reset_state(self):
        self.confusion_matrix.assign(tf.zeros_like(self.confusion_matrix))

    def get_config(self):
        return {**super().get_config(), "n_classes": self.n_classes}


class LabelledAccuracy(_ConfusionMatrixMetric):
    """Overall accuracy over labelled pixels (0 before any labelled pixel)."""

    def __init__(self, n_classes: int, name: str = "accuracy", **kwargs):
        super().__init__(n_classes, name=name, **kwargs)

    def result(self):
        cm = self.confusion_matrix
        return tf.cast(tf.math.divide_no_nan(tf.linalg.trace(cm), tf.reduce_sum(cm)), tf.float32)


class CohenKappa(_ConfusionMatrixMetric):
    """Unweighted Cohen's kappa over labelled pixels: (p_o - p_e) / (1 - p_e).

    0 before any labelled pixel and when p_e = 1 (a single class in reference and prediction), where the
    value is undefined (scikit-learn returns NaN there).
    """

    def __init__(self, n_classes: int, name: str = "kappa", **kwargs):
        super().__init__(n_classes, name=name, **kwargs)

    def result(self):
        cm = self.confusion_matrix
        total = tf.reduce_sum(cm)
        observed = tf.math.divide_no_nan(tf.linalg.trace(cm), total)
        expected = tf.math.divide_no_nan(
            tf.reduce_sum(tf.reduce_sum(cm, axis=0) * tf.reduce_sum(cm, axis=1)), total * total
        )
        return tf.cast(tf.math.divide_no_nan(observed - expected, 1.0 - expected), tf.float32)
