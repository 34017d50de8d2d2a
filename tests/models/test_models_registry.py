import pytest
import tensorflow as tf

from landcover_hpc.errors import ConfigError
from landcover_hpc.models import MODEL_NAMES, flops_per_pixel, get_model, model_spec
from landcover_hpc.models.names import TABLE2_MODELS

# Paper, Table 2 (T=33 dates, C=10 bands, K=17 classes, G=11 groups).
PAPER_PARAMETERS = {"mlp": 40_717, "lstm": 324_024, "unet": 485_297, "fgunet": 525_997, "tsfgunet": 4_137_272}


@pytest.mark.parametrize("name", sorted(PAPER_PARAMETERS))
def test_models_parameter_counts_match_paper(name):
    model = get_model(name, n_dates=33, n_bands=10, n_classes=17, n_groups=11)
    assert model.count_params() == PAPER_PARAMETERS[name]
    assert model.input_shape == (None, None, None, 330)
    assert model.output_shape == (None, None, None, 17)


def test_models_registry_lists_every_architecture():
    assert set(TABLE2_MODELS) == set(PAPER_PARAMETERS) and set(TABLE2_MODELS) < set(MODEL_NAMES)


def test_models_unknown_name_lists_valid_names():
    with pytest.raises(ConfigError, match="valid names: fgunet, unet, mlp, lstm, tsfgunet"):
        get_model("resnet", 6, 4, 5, n_groups=3)


@pytest.mark.parametrize("name", ["mlp", "unet", "fgunet"])
def test_models_groups_must_divide_dates(name):
    with pytest.raises(ConfigError, match=r"n_groups=4 does not divide n_dates=6; use one of \[1, 2, 3, 6\]"):
        get_model(name, n_dates=6, n_bands=4, n_classes=5, n_groups=4)


@pytest.mark.parametrize(
    "kwargs, key",
    [
        (dict(n_dates=0), "n_dates"),
        (dict(n_bands=-1), "n_bands"),
        (dict(n_classes=1), "n_classes"),
        (dict(extra_channels_per_date=-1), "extra_channels_per_date"),
        (dict(precision="float16"), "precision"),
        (dict(dropout=1.0), "dropout"),
    ],
)
def test_models_invalid_arguments_raise_config_error(kwargs, key):
    args = dict(n_dates=6, n_bands=4, n_classes=5, n_groups=3) | kwargs
    with pytest.raises(ConfigError, match=key):
        get_model("fgunet", **args)


def test_models_spec_records_builder_arguments():
    model = get_model("unet", 6, 4, 5, n_groups=2, extra_channels_per_date=3, dropout=0.1)
    spec = model_spec(model)
    assert (spec.architecture, spec.n_dates, spec.n_bands, spec.n_classes, spec.n_groups) == (
        "unet",
        6,
        4,
        5,
        2,
    )
    assert spec.extra_channels_per_date == 3 and spec.dropout == 0.1 and spec.input_channels == 42
    assert model.input_shape[-1] == 42
    rebuilt = spec.build()
    assert rebuilt.count_params() == model.count_params()


def test_models_spec_missing_on_foreign_model():
    foreign = tf.keras.Sequential([tf.keras.Input((4,)), tf.keras.layers.Dense(2)])
    with pytest.raises(ConfigError, match="get_model"):
        model_spec(foreign)


def test_models_flops_per_pixel_fgunet_by_hand():
    # Per group (30 input ch): U-Net 238 464 + 1x1 path 62 000 FLOPs/px; x 11 groups + head 2 * 902 * 17.
    unet = (
        18 * (30 * 32 + 32 * 32)
        + 18 * (32 * 64 + 64 * 64) / 4
        + 18 * (64 * 128 + 128 * 128) / 16
        + 18 * (192 * 64 + 64 * 64) / 4
        + 18 * (96 * 32 + 32 * 32)
    )
    pointwise = 2 * (30 * 200 + 200 * 100 + 100 * 50)
    expected = 11 * (unet + pointwise) + 2 * 902 * 17
    assert expected == 3_335_772
    assert flops_per_pixel("fgunet", 33, 10, 17, 11, size=64) == pytest.approx(expected)


def test_models_flops_per_pixel_lstm_by_hand():
    per_step = sum(2 * (c_in + f) * 4 * f for c_in, f in [(10, 200), (200, 100), (100, 50), (50, 17)])
    assert flops_per_pixel("lstm", 33, 10, 17, size=8) == pytest.approx(33 * per_step)


def test_models_registry_agrees_with_the_tensorflow_free_names():
    """Configs validate against models.names: the registry must build exactly those names and precisions."""
    import dataclasses

    from landcover_hpc.models import names, registry
    from landcover_hpc.models.architectures import PRECISION_POLICIES

    assert tuple(registry._BUILDERS) == names.MODEL_NAMES == MODEL_NAMES
    assert tuple(PRECISION_POLICIES) == names.PRECISIONS
    defaults = {f.name: f.default for f in dataclasses.fields(registry.ModelSpec)}
    assert (defaults["n_groups"], defaults["dropout"], defaults["precision"]) == (
        names.DEFAULT_N_GROUPS, names.DEFAULT_DROPOUT, names.DEFAULT_PRECISION)


# small builder arguments: 8 dates (the 4 selected ones fit), 2 groups; TWINNS narrow
_SMALL_BN = {"twinns_s2": dict(filters_s2=4, fusion_units=8), "twinns": dict(filters_s2=4, filters_s1=2, fusion_units=8)}


# one model per builder module (a BatchNormalization made elsewhere than models.layers shows in its family)
@pytest.mark.parametrize("name", ["fgunet", "lstm", "st_resnet", "unet_convlstm", "convlstm_inception_unet_s1s2",
                                  "twinns"])
def test_models_every_batch_normalisation_uses_the_shared_momentum(name):
    # Keras' 0.99 lags the weights over the short epochs of these trainings and made the validation kappa
    # that picks the best epoch jump between epochs (models.layers.BN_MOMENTUM)
    from landcover_hpc.models.layers import BN_MOMENTUM
    from landcover_hpc.models.names import S1_MODELS

    model = get_model(name, 8, 2, 3, n_groups=2,
                      n_s1_dates=4 if name in S1_MODELS else 0, **_SMALL_BN.get(name, {}))
    norms = [m for m in model.submodules if isinstance(m, tf.keras.layers.BatchNormalization)]
    assert bool(norms) == (name not in TABLE2_MODELS)  # the paper's Table 2 models have none
    assert {n.momentum for n in norms} <= {BN_MOMENTUM}
