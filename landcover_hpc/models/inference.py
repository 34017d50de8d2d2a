"""Window-size rule and one-window prediction.

The models are fully convolutional but pool twice by 2, so H and W must be multiples of 4; Keras cannot
check that on ``(None, None)`` input shapes, so every entry point that takes a window calls
:func:`check_window_size`. Window offsets that are multiples of 4 keep predictions translation-consistent.

Inference goes through :func:`forward_function`, one ``tf.function`` per model traced once for every window
shape: Keras' ``predict_on_batch`` traces again for each new shape until it relaxes its signature, which
costs ~0.6 s per new shape with FG-UNET, and a tile's windows have up to four shapes.
"""

from __future__ import annotations

import weakref
from typing import Callable

import numpy as np
import tensorflow as tf

from ..errors import ConfigError, InputFormatError

__all__ = ["SIZE_MULTIPLE", "check_window_size", "forward_function", "predict_window"]

#: Spatial sizes (and, for consistent tiling, window offsets) must be multiples of this.
SIZE_MULTIPLE = 4


def check_window_size(height: int, width: int) -> None:
    """Raise unless ``height`` and ``width`` are positive multiples of :data:`SIZE_MULTIPLE`.

    Raises:
        ConfigError: naming the bad size and the rule.
    """
    for key, value in (("height", height), ("width", width)):
        if int(value) != value or value <= 0 or value % SIZE_MULTIPLE:
            raise ConfigError(
                f"window {key}={value} is invalid; it must be a positive multiple of {SIZE_MULTIPLE} "
                "(the models pool twice by 2)"
            )


_FORWARD: "weakref.WeakKeyDictionary[tf.keras.Model, Callable]" = weakref.WeakKeyDictionary()


def forward_function(model: tf.keras.Model) -> Callable[[np.ndarray], tf.Tensor]:
    """The model's inference pass ``(B, H, W, T*C') float32 -> (B, H, W, K) probabilities``, as one
    ``tf.function`` whose signature leaves B, H and W free: traced on its first call, never again."""
    forward = _FORWARD.get(model)
    if forward is None:
        spec = tf.TensorSpec((None, None, None, model.input_shape[-1]), tf.float32)
        forward = tf.function(lambda x: model(x, training=False), input_signature=[spec])
        _FORWARD[model] = forward
    return forward


def predict_window(model: tf.keras.Model, window: np.ndarray, batch_size: int = 1) -> np.ndarray:
    """Class probabilities of one normalised window, or of a batch of windows.

    Args:
        model: a model from ``get_model`` or ``load_model``.
        window: ``(H, W, T*C')`` or ``(B, H, W, T*C')`` float, normalised (and with extra channels) as in
            training, date-major; H and W multiples of 4.
        batch_size: windows per forward pass when a batch is given.

    Returns:
        ``(H, W, K)`` (or ``(B, H, W, K)``) float32 probabilities; channel k is class index k + 1.

    Raises:
        ConfigError: H or W is not a positive multiple of 4.
        InputFormatError: the window does not have the model's channel count or rank.
    """
    window = np.asarray(window)
    single = window.ndim == 3
    batch = window[None] if single else window
    if batch.ndim != 4:
        raise InputFormatError(f"window must be (H, W, T*C') or (B, H, W, T*C'), got shape {window.shape}")
    check_window_size(batch.shape[1], batch.shape[2])
    channels = model.input_shape[-1]
    if batch.shape[-1] != channels:
        raise InputFormatError(
            f"window has {batch.shape[-1]} channels, model {model.name!r} expects {channels} "
            "(T*C', date-major)"
        )
    batch = batch.astype(np.float32, copy=False)
    forward = forward_function(model)
    probabilities = np.concatenate(
        [forward(batch[i : i + batch_size]).numpy() for i in range(0, len(batch), batch_size)]
    )
    return probabilities[0] if single else probabilities
