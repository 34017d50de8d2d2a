"""The random state of a training step as a pure function of (seed, rank, global step), for exact resume.

Dropout masks (and any other randomness inside the model) must not depend on how many steps this process
has run: a run resumed at step s has to draw what an uninterrupted run draws at step s. Keras' default
"legacy stateful" random ops keep their state inside TensorFlow kernels, out of reach of a checkpoint, so
:func:`generator_rng` switches Keras layers to ``tf.random.Generator`` objects (state in a variable),
and :func:`reseed` sets, before each step, the state of every generator of the model (found by
:func:`random_generators`, whatever the layer: Keras ``Dropout`` or a custom layer holding a generator)
from ``SeedSequence([seed, rank, step, i])``. Nothing random then needs saving in a checkpoint, and the
ranks' masks differ (rank in the seed) without any communication. (TensorFlow's global generator is not
used: under op determinism TensorFlow refuses it unless it was set explicitly.)
"""

from __future__ import annotations

import contextlib
from typing import Iterator

import numpy as np

__all__ = ["generator_rng", "random_generators", "reseed"]


@contextlib.contextmanager
def generator_rng() -> Iterator[None]:
    """Keras layers built inside the block draw from ``tf.random.Generator`` objects; Keras' process-wide
    switch is restored afterwards, so models built later elsewhere in the process (e.g. for prediction) are
    built as before."""
    import tensorflow as tf

    experimental = tf.keras.backend.experimental
    was_enabled = experimental.is_tf_random_generator_enabled()
    experimental.enable_tf_random_generator()
    try:
        yield
    finally:
        if not was_enabled:
            experimental.disable_tf_random_generator()


def random_generators(model) -> list:
    """Every ``tf.random.Generator`` held by ``model`` or its layers (directly or through a Keras
    ``RandomGenerator``), in layer order.

    Raises:
        RuntimeError: a layer draws from Keras' legacy stateful random ops, whose state cannot be reset (its
            model was built outside :func:`generator_rng`).
    """
    import tensorflow as tf

    generators, seen = [], set()
    for module in (model, *model.submodules):
        for value in vars(module).values():
            if getattr(value, "_rng_type", None) == "legacy_stateful":
                raise RuntimeError(f"layer {getattr(module, 'name', module)} draws from legacy stateful random "
                                   "ops: build the model inside generator_rng()")
            generator = value if isinstance(value, tf.random.Generator) else getattr(value, "_generator", None)
            if isinstance(generator, tf.random.Generator) and id(generator) not in seen:
                seen.add(id(generator))
                generators.append(generator)
    return generators


def reseed(generators: list, seed: int, rank: int, step: int) -> None:
    """Set generator ``i``'s whole state (key and counter) from ``SeedSequence([seed, rank, step, i])``."""
    for i, generator in enumerate(generators):
        words = np.random.SeedSequence([seed, rank, step, i]).generate_state(generator.state.shape[0], np.uint64)
        generator.reset(words.view(np.int64))
