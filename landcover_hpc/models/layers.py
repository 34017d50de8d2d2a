"""Keras layers shared by the builders of several papers' models.

:class:`SelectDates` is how a model of ``names.SELECTED_DATE_COUNTS`` (or a Sentinel-1 model) takes its dates
from the whole input stack inside the graph, so that sampling and prediction stay those of every model.
"""

from __future__ import annotations

from typing import Sequence

import tensorflow as tf

__all__ = ["SelectDates"]

layers = tf.keras.layers


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
