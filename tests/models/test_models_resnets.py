"""Qiu et al.'s ResNet patch classifiers (models/resnets.py): structure, counts, season gather, voter loss, files."""

import numpy as np
import pytest
import tensorflow as tf

from landcover_hpc.errors import ConfigError
from landcover_hpc.models import ModelMetadata, get_model, load_model, model_spec, save_model
from landcover_hpc.models.names import PATCH_MODELS, SELECTED_DATE_COUNTS
from landcover_hpc.models.layers import SelectDates
from landcover_hpc.models.resnets import PatchToPixels, VoterFusion

# T=33, C=10, K=17 (the demo store), 4 seasons: count_params (BN statistics included), trainable parameters.
DEMO_PARAMETERS = {"res_ensemble4": (2_060_740, 2_049_092), "res_ensemble8": (2_082_312, 2_068_616),
                   "st_resnet": (519_505, 516_593), "re_resnet": (2_356_241, 2_344_593)}
T, C, K = 6, 3, 5
SEASONS = [0, 2, 3, 5]


def _trainable(model):
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


@pytest.mark.parametrize("name", sorted(DEMO_PARAMETERS))
def test_resnets_parameter_counts_at_the_demo_sizes(name):
    model = get_model(name, n_dates=33, n_bands=10, n_classes=17)
    assert (model.count_params(), _trainable(model)) == DEMO_PARAMETERS[name]
    assert model.input_shape == (None, None, None, 330)
    assert model.output_shape == (None, None, None, 17)


def test_resnets_are_patch_models_of_four_dates():
    assert set(PATCH_MODELS) == set(DEMO_PARAMETERS)
    assert all(SELECTED_DATE_COUNTS[name] == 4 for name in DEMO_PARAMETERS)


def _layers(model, kind):
    return [layer for layer in model.layers if type(layer) is kind]


@pytest.mark.parametrize("name, voters", [("res_ensemble4", 4), ("res_ensemble8", 8)])
def test_resnets_ensembles_have_four_unshared_streams_and_their_voters(name, voters):
    model = get_model(name, T, C, K, date_indices=SEASONS)
    dates = _layers(model, SelectDates)
    assert sorted(layer.indices for layer in dates) == [[i] for i in SEASONS]
    convs = _layers(model, tf.keras.layers.Conv2D)
    # per stream: stem, 3 convolutions x 4 blocks, 4 projection shortcuts; distinct variables (not shared)
    assert len(convs) == 4 * (1 + 12 + 4)
    stems = [model.get_layer(f"season{s}_stem") for s in range(1, 5)]
    assert len({id(stem.kernel) for stem in stems}) == 4 and all(stem.kernel.shape == (3, 3, C, 16) for stem in stems)
    heads = _layers(model, tf.keras.layers.Dense)
    assert len(heads) == voters and all(head.units == K for head in heads)
    assert sorted(head.kernel.shape[0] for head in heads) == ([512] * 4 if voters == 4 else [256] * 4 + [512] * 4)
    assert len(_layers(model, tf.keras.layers.Dropout)) == voters  # before each softmax Dense
    assert len(_layers(model, tf.keras.layers.Softmax)) == voters
    assert len(_layers(model, VoterFusion)) == 1 and len(_layers(model, PatchToPixels)) == 1


def test_resnets_baselines_stack_the_seasons_or_run_an_lstm_over_them():
    stacked = get_model("st_resnet", T, C, K, date_indices=SEASONS)
    (dates,) = _layers(stacked, SelectDates)
    assert dates.indices == SEASONS
    assert stacked.get_layer("stacked_stem").kernel.shape == (3, 3, 4 * C, 16)
    assert len(_layers(stacked, tf.keras.layers.Conv2D)) == 17 and len(_layers(stacked, tf.keras.layers.Dense)) == 1
    recurrent = get_model("re_resnet", T, C, K, date_indices=SEASONS)
    assert len(_layers(recurrent, SelectDates)) == 4 and len(_layers(recurrent, tf.keras.layers.Conv2D)) == 4 * 17
    (lstm,) = _layers(recurrent, tf.keras.layers.LSTM)
    assert lstm.units == 128 and not lstm.return_sequences
    assert lstm.input_shape == (None, 4, 512)  # one step per season, its block-4 GAP features


@pytest.mark.parametrize("name", sorted(DEMO_PARAMETERS))
def test_resnets_give_every_pixel_its_patch_probabilities(name):
    model = get_model(name, T, C, K, extra_channels_per_date=1, date_indices=SEASONS)
    x = np.random.default_rng(0).random((3, 16, 24, T * (C + 1)), dtype=np.float32)
    out = model(x, training=False).numpy()
    assert out.shape == (3, 16, 24, K) and out.dtype == np.float32
    np.testing.assert_allclose(out.sum(-1), 1.0, rtol=1e-5)
    assert np.all(out == out[:, :1, :1])  # one distribution per patch
    assert not np.allclose(out[0, 0, 0], out[1, 0, 0])


@pytest.mark.parametrize("name", ["res_ensemble4", "st_resnet"])  # one date per stream; the 4 dates stacked
def test_resnets_see_only_their_four_dates(name):
    model = get_model(name, T, C, K, date_indices=SEASONS)
    x = np.random.default_rng(1).random((2, 16, 16, T * C), dtype=np.float32)
    reference = model(x, training=False).numpy()
    for date in range(T):
        changed = x.copy()
        changed[..., date * C:(date + 1) * C] += 5.0
        moved = np.abs(model(changed, training=False).numpy() - reference).max()
        assert (moved > 1e-4) == (date in SEASONS), date


def test_resnets_default_seasons_and_checked_dates():
    assert _layers(get_model("st_resnet", 33, C, K), SelectDates)[0].indices == [4, 12, 20, 28]
    assert model_spec(get_model("st_resnet", T, C, K, date_indices=SEASONS)).options["date_indices"] == SEASONS
    with pytest.raises(ConfigError, match=r"date_indices=\[0, 1, 6, 2\]: model res_ensemble4 takes 4 date indices in 0..5"):
        get_model("res_ensemble4", T, C, K, date_indices=[0, 1, 6, 2])
    with pytest.raises(ConfigError, match="takes 4 dates, the store has only 3"):
        get_model("re_resnet", 3, C, K)
    with pytest.raises(ConfigError, match="voter_loss='sum'"):
        get_model("res_ensemble8", T, C, K, voter_loss="sum")


@pytest.mark.parametrize("name", ["res_ensemble8"])  # res_ensemble4: the same fusion layer over 4 voters
def test_resnets_training_loss_is_the_mean_of_the_voters_cross_entropies(name):
    """In training the output's -log q_y is mean_v -log p_{v,y} (each voter trained on its own); at inference
    the output is the voters' arithmetic mean."""
    model = get_model(name, T, C, K, date_indices=SEASONS, dropout=0.0)
    voters = [layer.output for layer in model.layers if layer.name.startswith("probabilities_")]
    probe = tf.keras.Model(model.input, [model.output, *voters])
    x = np.random.default_rng(2).random((2, 8, 8, T * C), dtype=np.float32)
    for training in (True, False):
        out, *each = (t.numpy() for t in probe(x, training=training))
        each = np.stack(each)  # (V, B, K)
        expected = np.exp(np.log(each).mean(0)) if training else each.mean(0)
        np.testing.assert_allclose(out[:, 0, 0], expected, rtol=1e-5)
    average = get_model(name, T, C, K, date_indices=SEASONS, dropout=0.0, voter_loss="average")
    out = average(x, training=True).numpy()
    np.testing.assert_allclose(out.sum(-1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("name", ["res_ensemble8"])
def test_resnets_model_file_round_trip_gives_identical_outputs(name, tmp_path):
    model = get_model(name, T, C, K, date_indices=SEASONS, patch_size=16)
    x = np.random.default_rng(3).random((2, 16, 16, T * C), dtype=np.float32)
    model(x, training=True)  # moves the BN statistics away from their initial values
    meta = ModelMetadata(band_names=[f"B{i}" for i in range(C)], class_codes=list(range(1, K + 1)),
                         percentiles=np.stack([np.zeros(T * C), np.ones(T * C)]))
    save_model(tmp_path / "model.h5", model, meta)
    loaded, loaded_meta = load_model(tmp_path / "model.h5")
    assert loaded_meta.spec.options == {"date_indices": SEASONS, "patch_size": 16}
    np.testing.assert_array_equal(loaded(x, training=False).numpy(), model(x, training=False).numpy())


def test_resnets_build_in_bfloat16_with_float32_outputs():
    model = get_model("res_ensemble4", T, C, K, date_indices=SEASONS, precision="bfloat16")
    assert model.get_layer("season1_stem").compute_dtype == "bfloat16"
    out = model(np.random.default_rng(4).random((1, 8, 8, T * C), dtype=np.float32), training=False)
    assert out.dtype == tf.float32
