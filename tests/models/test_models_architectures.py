import numpy as np
import pytest
import tensorflow as tf

from landcover_hpc.errors import ConfigError, InputFormatError
from landcover_hpc.models import check_window_size, forward_function, get_model, model_spec, predict_window
from landcover_hpc.models.architectures import ByteDropout, DatesToSequence, per_group_graph
from landcover_hpc.models.names import PATCH_MODELS, TABLE2_MODELS


@pytest.mark.parametrize("name", TABLE2_MODELS)
def test_models_output_is_per_pixel_probabilities(name, rng, small):
    model = get_model(name, **small, extra_channels_per_date=2)
    window = rng.random((2, 16, 8, 6 * (4 + 2)), dtype=np.float32)
    probabilities = model(window, training=False).numpy()
    assert probabilities.shape == (2, 16, 8, 5)
    assert probabilities.dtype == np.float32
    np.testing.assert_allclose(probabilities.sum(-1), 1.0, rtol=1e-5)


def _heads(model, prefix):
    """The layers named ``prefix`` or ``prefix_...`` (the ensembles have one logits/probabilities pair per voter)."""
    found = [layer for layer in model.layers if layer.name == prefix or layer.name.startswith(prefix + "_")]
    assert found, f"{model.name} has no {prefix} layer"
    return found


@pytest.mark.parametrize("name", TABLE2_MODELS + PATCH_MODELS)
def test_models_logits_are_linear_and_softmax_separate(name, small):
    model = get_model(name, **small)
    assert all(layer.activation is tf.keras.activations.linear for layer in _heads(model, "logits"))
    assert all(isinstance(layer, tf.keras.layers.Softmax) for layer in _heads(model, "probabilities"))


def test_models_same_model_predicts_patch_and_512_window(rng):
    model = get_model("fgunet", n_dates=2, n_bands=2, n_classes=3, n_groups=1)
    patch = rng.random((64, 64, 4), dtype=np.float32)
    window = rng.random((512, 512, 4), dtype=np.float32)
    window[:64, :64] = patch
    assert predict_window(model, patch).shape == (64, 64, 3)
    big = predict_window(model, window)
    assert big.shape == (512, 512, 3)
    # Fully convolutional: 32 px away from the patch's right/bottom border (more than the receptive field
    # radius), the window and the patch give the same probabilities.
    np.testing.assert_allclose(big[:32, :32], predict_window(model, patch)[:32, :32], atol=1e-5)


def test_forward_function_is_traced_once_for_every_window_shape(rng):
    """A tile's windows have up to four shapes: one trace serves them all, with the model's own outputs."""
    model = get_model("fgunet", n_dates=2, n_bands=2, n_classes=3, n_groups=1)
    forward = forward_function(model)
    for shape in ((1, 64, 64), (1, 64, 20), (1, 20, 64), (2, 20, 20)):
        x = rng.random((*shape, 4), dtype=np.float32)
        np.testing.assert_allclose(forward(x).numpy(), model(x, training=False).numpy(), atol=1e-6)
    assert forward.experimental_get_tracing_count() == 1
    assert forward_function(model) is forward


@pytest.mark.parametrize("size", [(30, 32), (32, 30), (0, 32), (-4, 8)])
def test_models_window_size_must_be_multiple_of_4(size):
    with pytest.raises(ConfigError, match="multiple of 4"):
        check_window_size(*size)


def test_models_predict_window_checks_size_and_channels(rng, small):
    model = get_model("mlp", **small)
    with pytest.raises(ConfigError, match="height=18"):
        predict_window(model, rng.random((18, 16, 24), dtype=np.float32))
    with pytest.raises(InputFormatError, match="expects 24"):
        predict_window(model, rng.random((16, 16, 20), dtype=np.float32))


@pytest.mark.parametrize("name", ["mlp", "unet", "fgunet"])
def test_models_group_body_weights_do_not_grow_with_groups(name):
    # Same dates per group (2), 1 vs 3 groups: one shared body, only the 1x1 classifier input widens.
    one = get_model(name, n_dates=2, n_bands=4, n_classes=5, n_groups=1)
    three = get_model(name, n_dates=6, n_bands=4, n_classes=5, n_groups=3)
    assert len(one.trainable_weights) == len(three.trainable_weights)
    body = three.get_layer("group_body")
    assert body.count_params() == one.get_layer("group_body").count_params()
    width = body.output_shape[-1]
    assert three.count_params() - one.count_params() == 2 * width * 5


@pytest.mark.parametrize("name", ["mlp", "unet", "fgunet"])
@pytest.mark.parametrize("n_groups", [1, 3])
def test_models_one_body_call_equals_one_call_per_group(name, n_groups, rng):
    """Groups stacked in the batch: same outputs as G calls for any B, H, W, (almost) bitwise in float32."""
    model = get_model(name, n_dates=6, n_bands=4, n_classes=5, n_groups=n_groups)
    reference = per_group_graph(model)
    assert model.input_shape == reference.input_shape == (None, None, None, 24)
    assert model.count_params() == reference.count_params()
    for shape in ((3, 16, 12), (1, 8, 20)):
        window = rng.random((*shape, 24), dtype=np.float32)
        difference = np.abs(model(window, training=False) - reference(window, training=False)).max()
        assert difference < 1e-5
    forward = forward_function(model)  # one trace for any B, H, W
    window = rng.random((2, 12, 8, 24), dtype=np.float32)
    assert np.abs(forward(window) - reference(window, training=False)).max() < 1e-5


@pytest.mark.parametrize("name", ["mlp", "unet", "fgunet"])
def test_models_centre_input_is_the_same_network_on_inputs_mapped_to_minus_one_one(name, rng, small):
    """centre_input (the default) adds no weight: with the same weights it is the uncentred model on 2 x - 1."""
    plain = get_model(name, **small, centre_input=False)
    centred = get_model(name, **small)
    assert model_spec(centred).options == {"centre_input": True}
    assert model_spec(plain).options == {"centre_input": False}
    assert [w.shape for w in centred.weights] == [w.shape for w in plain.weights]
    centred.set_weights(plain.get_weights())
    window = rng.random((2, 16, 12, 24), dtype=np.float32)
    np.testing.assert_allclose(centred(window, training=False), plain(2 * window - 1, training=False), atol=1e-6)
    assert np.abs(centred(window, training=False) - plain(window, training=False)).max() > 1e-3


@pytest.mark.parametrize("name", ["mlp", "fgunet"])
def test_models_one_body_call_in_bfloat16(name, rng, small):
    mixed = get_model(name, **small, precision="bfloat16")
    for layer in ("temporal_groups", "late_fusion"):
        assert mixed.get_layer(layer).compute_dtype == "bfloat16"
    window = rng.random((2, 16, 12, 24), dtype=np.float32)
    out = mixed(window, training=False)
    assert out.dtype == tf.float32
    reference = per_group_graph(mixed)(window, training=False)
    # bfloat16 keeps 8 bits of mantissa: only the kernels' summation order may differ between the two graphs
    np.testing.assert_allclose(out, reference, atol=2e-2)


@pytest.mark.parametrize("name", ["mlp", "fgunet"])
def test_models_one_shared_body_applied_to_each_date_major_group(name, small_window, small):
    """Recompute the model by hand: the SAME body on channels [g*8, (g+1)*8) of each group, then the head."""
    model = get_model(name, **small)
    body = model.get_layer("group_body")
    group_channels = 2 * 4  # T/G dates x C bands, consecutive in date-major order
    centred = 2 * small_window - 1  # centre_input
    features = [
        body(centred[..., g * group_channels : (g + 1) * group_channels], training=False)
        for g in range(3)
    ]
    logits = model.get_layer("logits")(tf.concat(features, axis=-1))
    np.testing.assert_allclose(model(small_window, training=False), tf.nn.softmax(logits), atol=1e-5)
    # Changing group 2's input changes the output exactly as the shared body says.
    changed = small_window.copy()
    changed[..., 16:24] = changed[..., 0:8]
    features[2] = features[0]
    logits = model.get_layer("logits")(tf.concat(features, axis=-1))
    np.testing.assert_allclose(model(changed, training=False), tf.nn.softmax(logits), atol=1e-5)


@pytest.mark.parametrize("name", ["mlp", "lstm"])
def test_models_pixelwise_models_see_one_pixel(name, small_window, small):
    model = get_model(name, **small)
    changed = small_window.copy()
    changed[0, 5, 7] += 1.0
    diff = np.abs(model(changed, training=False) - model(small_window, training=False)).sum(-1)
    assert diff[0, 5, 7] > 0
    diff[0, 5, 7] = 0
    assert diff.max() == 0


def test_models_dates_to_sequence_is_date_major():
    n_dates, channels = 3, 4
    values = np.array([100 * t + c for t in range(n_dates) for c in range(channels)], dtype=np.float32)
    window = np.broadcast_to(values, (1, 4, 4, n_dates * channels))
    sequence = DatesToSequence(n_dates)(window).numpy()
    assert sequence.shape == (1, n_dates, 4, 4, channels)
    np.testing.assert_array_equal(sequence[0, 2, 1, 3], [200, 201, 202, 203])


def test_models_dropout_only_in_training(small_window, small):
    model = get_model("fgunet", **small, dropout=0.5)
    inference = [model(small_window, training=False).numpy() for _ in range(2)]
    np.testing.assert_array_equal(inference[0], inference[1])
    assert not np.allclose(model(small_window, training=True), inference[0])
    dropouts = [
        layer for layer in model.get_layer("group_body").layers if isinstance(layer, tf.keras.layers.Dropout)
    ]
    assert len(dropouts) == 5 + 2  # one per U-Net pair, two in the 1x1 path


def test_models_dropout_layers_are_byte_dropout(small):
    for name in ("fgunet", "tsfgunet"):
        model = get_model(name, **small, dropout=0.2)
        layers = [layer for layer in _all_layers(model) if isinstance(layer, tf.keras.layers.Dropout)]
        assert layers and all(isinstance(layer, ByteDropout) for layer in layers), name


def _all_layers(model):
    for layer in model.layers:
        yield layer
        if isinstance(layer, tf.keras.Model):
            yield from _all_layers(layer)


@pytest.mark.parametrize("rate", [0.2, 0.5])
def test_byte_dropout_rate_scale_and_gradient(rate):
    tf.keras.utils.set_random_seed(0)
    layer = ByteDropout(rate)
    x = tf.ones((16, 32, 32, 200))
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x, training=True)
    kept = y.numpy() != 0
    effective = round(256 * rate) / 256
    assert abs(kept.mean() - (1 - effective)) < 0.002  # 3.3 M draws: the standard error is ~2e-4
    np.testing.assert_allclose(np.unique(y.numpy()[kept]), 1 / (1 - effective), rtol=1e-6)
    np.testing.assert_array_equal(tape.gradient(y, x).numpy() != 0, kept)  # the gradient flows where kept
    assert abs(kept[..., 0].mean() - kept[..., 3].mean()) < 0.01  # each of the 4 bytes of a draw is used alike
    assert not np.array_equal(layer(x, training=True).numpy() != 0, kept)  # a new mask per call


def test_byte_dropout_is_seeded_and_identity_at_inference():
    x = tf.ones((2, 8, 8, 64))
    masks = []
    for _ in range(2):
        tf.keras.utils.set_random_seed(7)
        masks.append(ByteDropout(0.2)(x, training=True).numpy())
    np.testing.assert_array_equal(masks[0], masks[1])
    np.testing.assert_array_equal(ByteDropout(0.2)(x, training=False).numpy(), x.numpy())
    odd = tf.ones((2, 8, 8, 3))  # not a multiple of 4 channels: Keras' Dropout
    assert ByteDropout(0.5)(odd, training=True).shape == odd.shape


@pytest.mark.parametrize("name", TABLE2_MODELS)
def test_models_bfloat16_per_layer_without_global_policy(name, small_window, small):
    before = tf.keras.mixed_precision.global_policy().name
    mixed = get_model(name, **small, precision="bfloat16")
    plain = get_model(name, **small)
    assert tf.keras.mixed_precision.global_policy().name == before == "float32"
    assert {layer.compute_dtype for layer in _heads(mixed, "logits")} == {"bfloat16"}
    assert {layer.compute_dtype for layer in _heads(mixed, "probabilities")} == {"float32"}
    assert all(w.dtype == tf.float32 for w in mixed.weights)
    assert {layer.compute_dtype for layer in _heads(plain, "logits")} == {"float32"}
    assert mixed.count_params() == plain.count_params()
    mixed.set_weights(plain.get_weights())
    out = mixed(small_window, training=False)
    assert out.dtype == tf.float32
    np.testing.assert_allclose(out, plain(small_window, training=False), atol=0.05)
