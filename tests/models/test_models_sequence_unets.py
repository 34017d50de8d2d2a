"""unet_convlstm (roads paper) and the ConvLSTM(+Inception) U-Nets of Wenger et al. 2022: structure, dates, S1."""

import numpy as np
import pytest
import tensorflow as tf

from landcover_hpc.errors import ConfigError
from landcover_hpc.models import ModelMetadata, get_model, load_model, model_spec, save_model
from landcover_hpc.models.losses import CrossEntropyIoU, soft_iou, weighted_sparse_crossentropy
from landcover_hpc.models.names import S1_MODELS, SELECTED_DATE_COUNTS
from landcover_hpc.models.registry import training_loss
from landcover_hpc.models.layers import SelectDates
from landcover_hpc.models.sequence_unets import PadToMultiple, build_convlstm_unet_s1s2
from landcover_hpc.models.twinns import build_twinns

WENGER = ("convlstm_unet_s2", "convlstm_inception_unet_s2", "convlstm_unet_s1s2", "convlstm_inception_unet_s1s2")
# T=33, C=10, K=17 (T1=33): the README's model table.
DEMO_PARAMETERS = {"unet_convlstm": 7_117_186, "convlstm_unet_s2": 23_819_809, "convlstm_inception_unet_s2": 23_892_161,
                   "convlstm_unet_s1s2": 23_877_537, "convlstm_inception_unet_s1s2": 23_953_281}


def _build(name, n_dates=6, n_bands=4, n_classes=5, n_s1_dates=5, **options):
    if name not in S1_MODELS:
        options.pop("s1_date_indices", None)
    return get_model(name, n_dates, n_bands, n_classes, n_s1_dates=n_s1_dates if name in S1_MODELS else 0, **options)


def _input(rng, name, height=20, width=12, n_dates=6, n_bands=4, n_s1_dates=5):
    channels = n_dates * n_bands + (2 * n_s1_dates if name in S1_MODELS else 0)
    return rng.random((2, height, width, channels), dtype=np.float32)


@pytest.mark.parametrize("name", sorted(DEMO_PARAMETERS))
def test_sequence_unets_parameter_counts_for_the_demo(name):
    model = get_model(name, 33, 10, 17, n_s1_dates=33 if name in S1_MODELS else 0)
    assert model.count_params() == DEMO_PARAMETERS[name]
    assert model.output_shape == (None, None, None, 17)


@pytest.mark.parametrize("name", sorted(DEMO_PARAMETERS))
def test_sequence_unets_any_window_of_multiples_of_4(name, rng):
    """Pooling 4 or 5 times, padded inside: any window the predictor cuts (multiples of 4) gives (B, H, W, K)."""
    model = _build(name)
    for height, width in ((20, 12), (32, 32), (4, 36)):
        out = model(_input(rng, name, height, width), training=False).numpy()
        assert out.shape == (2, height, width, 5) and out.dtype == np.float32
        np.testing.assert_allclose(out.sum(-1), 1.0, rtol=1e-5)


def test_unet_convlstm_structure():
    model = get_model("unet_convlstm", 33, 10, 17)
    fcn = model.get_layer("fcn")  # one U-Net shared by the 33 dates
    assert fcn.input_shape == (None, None, None, 10) and fcn.output_shape == (None, None, None, 17)
    convs = [l for l in fcn.layers if type(l) is tf.keras.layers.Conv2D]
    assert [l.filters for l in convs] == [32, 32, 64, 64, 128, 128, 256, 256, 512, 512, 256, 128, 64, 32, 17]
    assert sum(isinstance(l, tf.keras.layers.BatchNormalization) for l in fcn.layers) == 14
    assert [l.filters for l in fcn.layers if isinstance(l, tf.keras.layers.Conv2DTranspose)] == [256, 128, 64, 32]
    lstms = [l for l in model.layers if isinstance(l, tf.keras.layers.ConvLSTM2D)]
    assert [(l.filters, l.kernel_size, l.return_sequences) for l in lstms] == [(32, (3, 3), True), (32, (3, 3), False)]
    assert lstms[0].input_shape == (None, 33, None, None, 17)
    assert model.get_layer("logits").kernel_size == (1, 1)
    assert training_loss("unet_convlstm", np.ones(17)).__class__ is CrossEntropyIoU


@pytest.mark.parametrize("name", WENGER)
def test_wenger_structure(name):
    model = get_model(name, 33, 10, 17, n_s1_dates=33 if name in S1_MODELS else 0)
    lstms = {l.name: l for l in model.layers if isinstance(l, tf.keras.layers.ConvLSTM2D)}
    sensors = ["s1", "s2"] if name in S1_MODELS else ["s2"]
    assert sorted(lstms) == [f"convlstm_{s}" for s in sensors]
    assert all(l.filters == 32 and l.kernel_size == (3, 3) and not l.return_sequences for l in lstms.values())
    assert lstms["convlstm_s2"].input_shape == (None, 4, None, None, 10)
    if "s1" in sensors:
        assert lstms["convlstm_s1"].input_shape == (None, 4, None, None, 2)
    inception = 96 + 10 + (2 if "s1" in sensors else 0) if "inception" in name else 0
    assert model.get_layer("block1_conv1").input_shape[-1] == 32 * len(sensors) + inception  # 172 for the paper's
    vgg = [model.get_layer(f"block{b}_conv{i}").filters for b, n in enumerate((2, 2, 3, 3, 3), 1) for i in range(1, n + 1)]
    assert vgg == [64] * 2 + [128] * 2 + [256] * 3 + [512] * 6
    assert [model.get_layer(f"decoder_stage{s}a").filters for s in range(5)] == [256, 128, 64, 32, 16]
    assert model.get_layer("decoder_stage4a").input_shape[-1] == 32  # no skip at the 5th stage
    assert model.get_layer("logits").kernel_size == (3, 3)


@pytest.mark.parametrize("name", ["convlstm_unet_s2", "convlstm_inception_unet_s1s2"])
def test_wenger_sees_only_its_dates(name, rng):
    """Changing a date outside date_indices (and s1_date_indices) leaves the output unchanged; inside, not."""
    model = _build(name, date_indices=[0, 2, 3, 5], s1_date_indices=[0, 1, 2, 4])
    x = _input(rng, name)
    base = model(x, training=False).numpy()
    other = x.copy()
    other[..., 4:8] += 1.0  # S2 date 1
    if name in S1_MODELS:
        other[..., 24 + 3 * 2:24 + 4 * 2] += 1.0  # S1 date 3
    np.testing.assert_array_equal(model(other, training=False).numpy(), base)
    chosen = x.copy()
    chosen[..., 20:24] += 1.0  # S2 date 5
    assert np.abs(model(chosen, training=False).numpy() - base).max() > 1e-4


@pytest.mark.parametrize("name", ["convlstm_unet_s1s2", "convlstm_inception_unet_s1s2"])
def test_wenger_s1_part_of_the_input_changes_the_output(name, rng):
    model = _build(name)
    x = _input(rng, name)
    s1 = x.copy()
    s1[..., 24:] = rng.random(s1[..., 24:].shape)
    assert np.abs(model(s1, training=False).numpy() - model(x, training=False).numpy()).max() > 1e-4


@pytest.mark.parametrize("name", ["unet_convlstm", "convlstm_inception_unet_s2", "convlstm_inception_unet_s1s2"])
def test_sequence_unets_gradients_reach_every_branch(name, rng):
    model = _build(name)
    x = _input(rng, name, 16, 16)
    y = rng.integers(1, 6, (2, 16, 16))
    with tf.GradientTape() as tape:
        loss = training_loss(name, np.ones(5))(y, model(x, training=True))
    gradients = tape.gradient(loss, model.trainable_weights)
    for weight, gradient in zip(model.trainable_weights, gradients):
        assert gradient is not None and np.abs(gradient.numpy()).max() > 0, weight.name


@pytest.mark.parametrize("name", ["unet_convlstm", "convlstm_inception_unet_s1s2"])
def test_sequence_unets_save_load_round_trip(name, rng, tmp_path):
    model = _build(name, **({"date_indices": [1, 2, 3, 4], "s1_date_indices": [0, 1, 3, 4]} if name in WENGER else {}))
    s1 = {"s1_dates": [f"2019010{d}" for d in range(1, 6)], "s1_percentiles": np.stack([np.zeros(10), np.ones(10)])}
    metadata = ModelMetadata(band_names=["B1", "B2", "B3", "B4"], class_codes=[1, 2, 3, 4, 5],
                             percentiles=np.stack([np.zeros(24), np.ones(24)]), **(s1 if name in S1_MODELS else {}))
    save_model(tmp_path / "model.h5", model, metadata)
    loaded, meta = load_model(tmp_path / "model.h5")
    assert meta.spec.options == model_spec(model).options
    assert meta.spec.options.get("s1_date_indices") == ([0, 1, 3, 4] if name in WENGER else None)
    x = _input(rng, name)
    np.testing.assert_array_equal(loaded(x, training=False).numpy(), model(x, training=False).numpy())


def test_wenger_date_indices_are_checked():
    assert SELECTED_DATE_COUNTS["convlstm_unet_s2"] == 4
    with pytest.raises(ConfigError, match=r"date_indices=\[0, 1, 9, 2\]: model convlstm_unet_s2 takes 4 date indices in 0..5"):
        _build("convlstm_unet_s2", date_indices=[0, 1, 9, 2])
    with pytest.raises(ConfigError, match="needs Sentinel-1"):
        get_model("convlstm_unet_s1s2", 6, 4, 5)


@pytest.mark.parametrize("builder", [build_convlstm_unet_s1s2, build_twinns])
def test_s1_builders_called_without_s1_dates_say_so(builder):
    with pytest.raises(ConfigError, match=r"needs Sentinel-1 dates \(n_s1_dates=0\): give every tile's input a stack_s1"):
        builder(6, 4, 5)


def test_select_dates_and_pad_layers(rng):
    x = tf.constant(rng.random((1, 4, 4, 3 * 2 + 2 * 2), dtype=np.float32))
    np.testing.assert_array_equal(SelectDates([2, 0], 2)(x).numpy(), tf.gather(x, [4, 5, 0, 1], axis=-1).numpy())
    np.testing.assert_array_equal(SelectDates([1], 2, offset=6)(x).numpy(), x.numpy()[..., 8:10])
    padded = PadToMultiple(16)(tf.zeros((1, 20, 4, 1)) + 1.0)
    assert padded.shape == (1, 32, 16, 1) and float(tf.reduce_sum(padded)) == 80.0
    assert float(tf.reduce_sum(padded[:, :6])) == 0.0 and float(tf.reduce_sum(padded[:, 6:26])) == 80.0


def test_crossentropy_iou_is_the_roads_papers_joint_loss():
    """L = alpha H - (1 - alpha) log J, J = mean over labelled pixels and classes of y p / (y + p - y p)."""
    y = np.array([[[1, 2], [0, 3]]])
    p = np.array([[[[0.7, 0.2, 0.1], [0.1, 0.6, 0.3]], [[0.3, 0.3, 0.4], [0.2, 0.2, 0.6]]]], np.float32)
    j = (0.7 + 0.6 + 0.6) / (3 * 3)  # one-hot y: y p / (y + p - y p) = p on the true class, 0 elsewhere
    assert float(soft_iou(y, p)) == pytest.approx(j)
    h = float(weighted_sparse_crossentropy(y, p, np.ones(3)))
    assert h == pytest.approx(-(np.log(0.7) + np.log(0.6) + np.log(0.6)) / 3)
    assert float(CrossEntropyIoU(np.ones(3))(y, p)) == pytest.approx(0.5 * h - 0.5 * np.log(j), rel=1e-6)
    assert float(CrossEntropyIoU(np.ones(3), alpha=1.0)(y, p)) == pytest.approx(h, rel=1e-6)
    assert float(CrossEntropyIoU(np.ones(3))(np.zeros((1, 2, 2)), p)) == 0.0  # no labelled pixel
