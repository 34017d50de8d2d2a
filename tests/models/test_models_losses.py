import numpy as np
import pytest
import tensorflow as tf

from landcover_hpc.errors import ConfigError
from landcover_hpc.models import (
    WeightedSparseCrossEntropy,
    class_weights,
    get_model,
    weighted_sparse_crossentropy,
)

# One image 1 x 3 pixels, K = 3 classes; labels 2, 0 (unlabelled), 3.
PROBABILITIES = np.array([[[[0.2, 0.7, 0.1], [0.5, 0.25, 0.25], [0.1, 0.3, 0.6]]]], dtype=np.float32)
LABELS = np.array([[[2, 0, 3]]], dtype=np.int64)
WEIGHTS = np.array([1.0, 2.0, 4.0], dtype=np.float32)


def test_models_loss_equals_hand_computation():
    expected = -(2.0 * np.log(0.7) + 4.0 * np.log(0.6)) / 2  # two labelled pixels
    loss = weighted_sparse_crossentropy(LABELS, PROBABILITIES, WEIGHTS)
    assert loss.dtype == tf.float32
    assert float(loss) == pytest.approx(expected, rel=1e-6)
    # Same through the Keras loss object, with labels (B, H, W, 1) and bfloat16 predictions.
    keras_loss = WeightedSparseCrossEntropy(WEIGHTS)
    assert float(keras_loss(LABELS[..., None], PROBABILITIES)) == pytest.approx(expected, rel=1e-6)
    approx = float(keras_loss(LABELS, tf.cast(PROBABILITIES, tf.bfloat16)))
    assert approx == pytest.approx(expected, rel=1e-2)


def test_models_loss_ignores_unlabelled_pixels_gradient_included():
    probabilities = tf.Variable(PROBABILITIES)
    with tf.GradientTape() as tape:
        loss = weighted_sparse_crossentropy(LABELS, probabilities, WEIGHTS)
    gradient = tape.gradient(loss, probabilities).numpy()
    np.testing.assert_array_equal(gradient[0, 0, 1], 0.0)
    assert np.abs(gradient[0, 0, 0]).sum() > 0 and np.abs(gradient[0, 0, 2]).sum() > 0
    # Any value in the unlabelled pixel leaves the loss unchanged.
    other = PROBABILITIES.copy()
    other[0, 0, 1] = [0.0, 0.0, 1.0]
    assert float(weighted_sparse_crossentropy(LABELS, other, WEIGHTS)) == pytest.approx(float(loss))


def test_models_loss_of_unlabelled_batch_is_zero_not_nan():
    labels = np.zeros((1, 1, 3), dtype=np.int32)
    probabilities = tf.Variable(PROBABILITIES)
    with tf.GradientTape() as tape:
        loss = weighted_sparse_crossentropy(labels, probabilities, WEIGHTS)
    assert float(loss) == 0.0
    np.testing.assert_array_equal(tape.gradient(loss, probabilities), 0.0)


def test_models_loss_rejects_wrong_number_of_weights():
    with pytest.raises(ConfigError, match="2 class weights for a model with 3 classes"):
        weighted_sparse_crossentropy(LABELS, PROBABILITIES, WEIGHTS[:2])


def test_models_class_weights_follow_paper_equation():
    np.testing.assert_allclose(class_weights([10, 30, 0, 60]), [10.0, 100 / 30, 0.0, 100 / 60], rtol=1e-6)
    normalized = class_weights([10, 30, 0, 60], normalize=True)
    assert normalized[2] == 0 and normalized[[0, 1, 3]].mean() == pytest.approx(1.0)
    np.testing.assert_allclose(normalized[0] / normalized[3], 6.0, rtol=1e-6)
    for bad in ([0, 0], [1, -1], [[1, 2]]):
        with pytest.raises(ConfigError):
            class_weights(bad)


def test_models_loss_trains_a_compiled_model(rng, small):
    model = get_model("mlp", **small)
    model.compile(
        optimizer=tf.keras.optimizers.Adam(1e-2),
        loss=WeightedSparseCrossEntropy(class_weights([5, 1, 1, 1, 1])),
    )
    x = rng.random((8, 8, 8, 24), dtype=np.float32)
    y = rng.integers(0, 6, size=(8, 8, 8)).astype(np.uint8)
    history = model.fit(x, y, batch_size=4, epochs=3, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
