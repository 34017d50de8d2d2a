"""Keras layers shared by the builders of several papers' models.

:class:`SelectDates` is how a model of ``names.SELECTED_DATE_COUNTS`` (or a Sentinel-1 model) takes its dates
from the whole input stack inside the graph, so that sampling and prediction stay those of every model.
:func:`batch_normalization` is the one BatchNormalization of every builder that has one.
"""

from __future__ import annotations

from typing import Sequence

import tensorflow as tf

__all__ = ["SelectDates", "batch_normalization", "BN_MOMENTUM"]

layers = tf.keras.layers

#: Momentum of the moving mean and variance that batch normalisation uses at inference (validation, maps).
#: Keras' default 0.99 averages over about 100 steps and starts from mean 0, variance 1: with the short epochs of
#: these trainings (the demo: 12 steps) the statistics still lag the weights after 10 epochs, so the validation
#: kappa that picks the best epoch jumps from one epoch to the next (Res_ensemble4 on the benchmark: 0.22, 0.00,
#: 0.13, 0.00) and the early stop fires on noise. 0.9 (PyTorch's default, momentum 0.1 there) follows within
#: about 10 steps. The papers do not state it; it changes no weight, so model files are unaffected.
BN_MOMENTUM = 0.9


def batch_normalization(name: str, policy) -> layers.BatchNormalization:
    """A BatchNormalization layer over the last axis with :data:`BN_MOMENTUM`, in the model's dtype policy."""
    return layers.BatchNormalization(momentum=BN_MOMENTUM, name=name, dtype=policy)


class SelectDates(layers.Layer):
    """Gather some dates of a date-major stack: ``(B, H, W, ...)`` -> ``(B, H, W, len(indices) * channels_per_date)``.

    Args:
        indices: the dates to keep, in output order (0-based within the stack).
        channels_per_date: channels of one date.
        offset: first channel of the stack in the input (the S1 stack follows the S2 one).
    """

    def __init__(self, indices: Sequence[int], channels_per_date: int, offset: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.indices = [int(i) for i in indices]
        self.channels_per_date = int(channels_per_date)
        self.offset = int(offset)
        self._channels = [self.offset + i * self.channels_per_date + c for i in self.indices
                          for c in range(self.channels_per_date)]

    def call(self, inputs):
        return tf.gather(inputs, self._channels, axis=-1)

    def compute_output_shape(self, input_shape):
        return tf.TensorShape(tf.TensorShape(input_shape).as_list()[:-1] + [len(self._channels)])

    def get_config(self):
        return {**super().get_config(), "indices": self.indices, "channels_per_date": self.channels_per_date,
                "offset": self.offset}
