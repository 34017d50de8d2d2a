"""Analytic FLOP count of a model's forward pass, per input pixel.

Counted from the layers of a copy of the network built with a fixed input size: a multiply-add is 2 FLOPs.

- Conv2D: ``2 * kh * kw * C_in * C_out`` per output pixel;
- ConvLSTM2D: ``2 * kh * kw * (C_in + F) * 4F`` per output pixel and time step (input and recurrent
  convolutions of the four gates);
- a sub-model counts once per sample it processes: the shared group body, called once on the G temporal
  groups stacked in the batch dimension (``TemporalGroupsToBatch``), counts G times per window;
- biases, activations, LSTM gate arithmetic, pooling, upsampling, concatenation and softmax are not counted
  (well under 1 % for these networks).

A backward pass costs about twice the forward one (gradients w.r.t. activations and weights).
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from .architectures import TemporalGroupsToBatch
from .registry import get_model

__all__ = ["flops_per_pixel", "model_flops"]


def _samples_per_window(layer: tf.keras.layers.Layer, node_index: int) -> int:
    """How many samples of its input the call ``node_index`` of ``layer`` sees per sample of the model."""
    inbound = layer.inbound_nodes[node_index].inbound_layers
    return inbound.n_groups if isinstance(inbound, TemporalGroupsToBatch) else 1


def _layer_flops(layer: tf.keras.layers.Layer, node_index: int) -> int:
    if isinstance(layer, tf.keras.Model):
        return model_flops(layer) * _samples_per_window(layer, node_index)
    if isinstance(layer, tf.keras.layers.ConvLSTM2D):
        kh, kw, c_in, gates = layer.cell.kernel.shape
        steps = layer.get_input_shape_at(node_index)[1]
        out = layer.get_output_shape_at(node_index)
        height, width = out[-3], out[-2]
        return 2 * kh * kw * (c_in + gates // 4) * gates * height * width * steps
    if isinstance(layer, tf.keras.layers.Conv2D):
        kh, kw, c_in, c_out = layer.kernel.shape
        out = layer.get_output_shape_at(node_index)
        return 2 * kh * kw * c_in * c_out * out[1] * out[2]
    return 0


def model_flops(model: tf.keras.Model) -> int:
    """Forward FLOPs of one sample of a model whose input shape is fully defined."""
    total = 0
    for layer in model.layers:
        for node_index in range(len(layer.inbound_nodes)):
            total += _layer_flops(layer, node_index)
    return int(total)


def flops_per_pixel(name: str, n_dates: int, n_bands: int, n_classes: int, n_groups: int = 11, *, size: int = 64,
                    **model_options: Any) -> float:
    """Forward FLOPs per input pixel of an architecture.

    Args:
        name, n_dates, n_bands, n_classes, n_groups: as ``get_model``.
        size: side of the square window counted (pooled levels make the count exact for multiples of 4).
        **model_options: further ``get_model`` arguments (``extra_channels_per_date``, builder options);
            dropout, which costs nothing at inference, is off.

    Returns:
        FLOPs per pixel of a forward pass (float).
    """
    model = get_model(name, n_dates, n_bands, n_classes, n_groups=n_groups,
                      **{**model_options, "dropout": 0.0, "spatial_shape": (size, size)})
    return model_flops(model) / float(size * size)
