"""Small sizes shared by the model tests: T=6 dates, C=4 bands, K=5 classes, G=3 groups; the per-group graph."""

import numpy as np
import pytest

SMALL = dict(n_dates=6, n_bands=4, n_classes=5, n_groups=3)


@pytest.fixture
def small():
    """Keyword arguments of get_model for the small behaviour tests."""
    return dict(SMALL)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture
def small_window(rng):
    """(2, 16, 16, T*C) float32 normalised window batch."""
    return rng.random((2, 16, 16, SMALL["n_dates"] * SMALL["n_bands"]), dtype=np.float32)


@pytest.fixture
def per_group_model():
    """``per_group_model(model, n_groups)``: the grouped graph before issue 13, on ``model``'s own layers: its
    input centring if any, the group body called once per temporal group (a split of the date-major channels),
    the G outputs concatenated, then the classifier."""
    import tensorflow as tf

    from landcover_hpc.models import model_spec

    def build(model, n_groups):
        window = tf.keras.Input(model.input_shape[1:])
        body = model.get_layer("group_body")
        centred = model.get_layer("centre")(window) if model_spec(model).options["centre_input"] else window
        groups = tf.split(centred, n_groups, axis=-1)
        features = tf.keras.layers.Concatenate(dtype=body.dtype_policy)([body(group) for group in groups])
        probabilities = model.get_layer("probabilities")(model.get_layer("logits")(features))
        return tf.keras.Model(window, probabilities)

    return build
