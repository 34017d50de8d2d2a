"""The trainer's resettable random state does not leak into models built later in the same process."""

import numpy as np
import tensorflow as tf

from landcover_hpc.models import get_model
from landcover_hpc.training.rng import generator_rng, random_generators, reseed


def test_generator_rng_is_scoped_to_the_models_built_inside():
    experimental = tf.keras.backend.experimental
    assert not experimental.is_tf_random_generator_enabled()
    tf.keras.utils.set_random_seed(0)
    before = get_model("mlp", 6, 4, 5, n_groups=3, dropout=0.2).get_weights()
    with generator_rng():
        model = get_model("mlp", 6, 4, 5, n_groups=3, dropout=0.2)
    assert not experimental.is_tf_random_generator_enabled()
    generators = random_generators(model)
    assert len(generators) == 2  # the two dropout layers of the 1x1 path
    tf.keras.utils.set_random_seed(0)
    after = get_model("mlp", 6, 4, 5, n_groups=3, dropout=0.2).get_weights()
    for a, b in zip(before, after):  # a model built afterwards is initialised as if training never ran
        np.testing.assert_array_equal(a, b)
    x = np.ones((1, 4, 4, 24), np.float32)
    masks = []
    for _ in range(2):
        reseed(generators, seed=0, rank=0, step=7)
        masks.append(model(x, training=True).numpy())
    np.testing.assert_array_equal(masks[0], masks[1])  # the same step draws the same masks
