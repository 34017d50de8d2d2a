"""TWINNS (Ienco et al. 2019) as a dense model: structure, the 5 x 5 window equivalence, the auxiliary losses."""

import numpy as np
import pytest
import tensorflow as tf

from landcover_hpc.models import ModelMetadata, WeightedSparseCrossEntropy, get_model, load_model, save_model
from landcover_hpc.models.losses import weighted_sparse_crossentropy
from landcover_hpc.models.twinns import TemporalAttention
from landcover_hpc.training.trainer import ScaledLoss, train_step

SMALL = dict(n_dates=3, n_bands=2, n_classes=4, filters_s2=4, fusion_units=8)
S1 = dict(n_s1_dates=2, filters_s1=2)
HEADS = ["fusion_probabilities", "aux_s1_cnn_probabilities", "aux_s1_rnn_probabilities", "aux_s2_cnn_probabilities",
         "aux_s2_rnn_probabilities"]


def _twinns(name="twinns"):
    return get_model(name, **SMALL, **(S1 if name == "twinns" else {}))


def _input(rng, name="twinns", size=8):
    return rng.random((2, size, size, 3 * 2 + (2 * 2 if name == "twinns" else 0)), dtype=np.float32)


@pytest.mark.parametrize("name, count", [("twinns_s2", 22_618_163), ("twinns", 28_310_101)])
def test_twinns_paper_widths_and_demo_parameter_count(name, count):
    model = get_model(name, 33, 10, 17, n_s1_dates=33 if name == "twinns" else 0)
    assert model.count_params() == count
    streams = [("s1", 256), ("s2", 512)] if name == "twinns" else [("s2", 512)]
    for sensor, width in streams:
        assert [model.get_layer(f"{sensor}_cnn_conv{i}").filters for i in range(3)] == [width, 2 * width, 2 * width]
        assert [model.get_layer(f"{sensor}_cnn_conv{i}").kernel_size for i in range(3)] == [(3, 3), (3, 3), (1, 1)]
        assert [model.get_layer(f"{sensor}_rnn_conv{i}").filters for i in range(2)] == [width, 2 * width]
        gru = model.get_layer(f"{sensor}_gru")
        assert gru.units == 2 * width and not gru.reset_after and gru.input_shape[1] == 33
        assert all(model.get_layer(f"{sensor}_cnn_dropout{i}").rate == 0.4 for i in range(3))
    assert model.get_layer("fusion").output_shape[-1] == (3072 if name == "twinns" else 2048)
    assert [model.get_layer(f"fusion_dense{i}").filters for i in range(2)] == [1024, 1024]
    assert sum(layer.name.startswith("aux_") and layer.name.endswith("_logits") for layer in model.layers) == \
        2 * len(streams)
    assert model.get_layer("probabilities").alpha == 0.5


@pytest.mark.parametrize("name", ["twinns_s2", "twinns"])
def test_twinns_pixel_is_the_5x5_window_classifier(name, rng):
    """Dense output at a pixel = the output for its 5 x 5 window alone (the centre of a 5 x 5 input sees no pad)."""
    model = _twinns(name)
    x = _input(rng, name, size=12)
    dense = model(x, training=False).numpy()
    assert dense.shape == (2, 12, 12, 4)
    np.testing.assert_allclose(dense.sum(-1), 1.0, rtol=1e-5)
    for row, col in ((2, 2), (5, 7), (9, 3)):
        window = x[:, row - 2:row + 3, col - 2:col + 3]
        np.testing.assert_allclose(model(window, training=False).numpy()[:, 2, 2], dense[:, row, col], atol=1e-6)


def test_twinns_output_is_the_papers_inference_score(rng):
    """(p_fus + 0.5 sum p_aux) / 3: the paper's argmax(p_fus + 0.5 sum p_aux), as probabilities."""
    model = _twinns()
    x = _input(rng)
    heads = tf.keras.Model(model.input, [model.get_layer(h).output for h in HEADS])(x, training=False)
    expected = (heads[0] + 0.5 * tf.add_n(heads[1:])) / 3.0
    np.testing.assert_allclose(model(x, training=False).numpy(), expected.numpy(), atol=1e-6)


def test_twinns_attention_is_the_papers():
    layer = TemporalAttention()
    states = tf.constant(np.random.default_rng(1).random((3, 5, 4), dtype=np.float32))
    out = layer(states).numpy()
    kernel, bias, context = (w.numpy() for w in layer.weights)
    v = np.tanh(states.numpy() @ kernel + bias)
    w = np.exp(v @ context)
    w /= w.sum(1, keepdims=True)
    np.testing.assert_allclose(out, (w[..., None] * states.numpy()).sum(1), rtol=1e-5)


def test_twinns_loss_is_fusion_plus_half_the_auxiliary_losses(rng):
    """Keras' loss of the compiled model (test_on_batch, the train step's compute_loss) is CE_fus + 0.5 sum CE_aux."""
    model = _twinns()
    weights = np.array([1.0, 2.0, 0.5, 1.0], np.float32)
    model.compile(optimizer=tf.keras.optimizers.legacy.SGD(0.0), loss=WeightedSparseCrossEntropy(weights))
    x, y = _input(rng), rng.integers(0, 5, (2, 8, 8))
    heads = tf.keras.Model(model.input, [model.get_layer(h).output for h in HEADS])(x, training=False)
    terms = [float(weighted_sparse_crossentropy(y, p, weights)) for p in heads]
    assert model.test_on_batch(x, y) == pytest.approx(terms[0] + 0.5 * sum(terms[1:]), rel=1e-5)


def test_twinns_training_step_trains_the_auxiliary_heads(rng):
    """The trainer's step (train_on_batch, globally scaled loss) includes the auxiliary terms: the auxiliary
    classifiers, which only they reach, move."""
    tf.keras.utils.set_random_seed(0)
    model = _twinns()
    loss = ScaledLoss(np.ones(4, np.float32), architecture="twinns")
    model.compile(optimizer=tf.keras.optimizers.legacy.SGD(0.1), loss=loss)
    before = {h: model.get_layer(h).get_weights()[0].copy() for h in ("aux_s1_rnn_logits", "aux_s2_cnn_logits")}
    value = train_step(model, loss, _input(rng), rng.integers(1, 5, (2, 8, 8)), None, 1)
    assert 2 * np.log(4) < value < 4 * np.log(4)  # 5 losses near log K at the start, weights 1 + 4 x 0.5
    for head, kernel in before.items():
        assert np.abs(model.get_layer(head).get_weights()[0] - kernel).max() > 0, head


def test_twinns_gradients_reach_every_branch_and_s1_matters(rng):
    model = _twinns()
    model.compile(loss=WeightedSparseCrossEntropy(np.ones(4, np.float32)))
    x, y = _input(rng), tf.constant(rng.integers(1, 5, (2, 8, 8)))
    with tf.GradientTape() as tape:
        loss = model.compute_loss(x, y, model(x, training=True))
    for weight, gradient in zip(model.trainable_weights, tape.gradient(loss, model.trainable_weights)):
        assert gradient is not None and np.abs(gradient.numpy()).max() > 0, weight.name
    s1 = x.copy()
    s1[..., 6:] = rng.random(s1[..., 6:].shape)
    assert np.abs(model(s1, training=False).numpy() - model(x, training=False).numpy()).max() > 1e-5


def test_twinns_save_load_round_trip(rng, tmp_path):
    model = _twinns()
    metadata = ModelMetadata(band_names=["B1", "B2"], class_codes=[1, 2, 3, 4],
                             percentiles=np.stack([np.zeros(6), np.ones(6)]), s1_dates=["20190101", "20190113"],
                             s1_percentiles=np.stack([np.zeros(4), np.ones(4)]))
    save_model(tmp_path / "twinns.h5", model, metadata)
    loaded, meta = load_model(tmp_path / "twinns.h5")
    assert meta.spec.n_s1_dates == 2 and meta.spec.options == {"filters_s2": 4, "filters_s1": 2, "fusion_units": 8}
    x = _input(rng)
    np.testing.assert_array_equal(loaded(x, training=False).numpy(), model(x, training=False).numpy())
