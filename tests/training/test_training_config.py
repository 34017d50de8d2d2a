import pytest
import yaml

from landcover_hpc.cli import train as train_cli
from landcover_hpc.errors import ConfigError
from landcover_hpc.training import learning_rate, load_config


@pytest.mark.parametrize("name", ["fgunet", "unet", "mlp", "lstm", "tsfgunet", "demo"])
def test_shipped_configs_are_valid(name):
    config = load_config(f"configs/{name}.yaml")
    if name != "demo":
        assert config.model.name == name
        assert (config.training.epochs, config.training.batch_size, config.training.learning_rate,
                config.training.warmup_epochs) == (50, 8, 0.001, 5)


def test_overrides_change_values_with_their_types():
    config = load_config("configs/fgunet.yaml", ["training.epochs=3", "model.name=unet", "data.tiles=[T31UDQ]",
                                                 "training.learning_rate=2e-3", "threads=4"])
    assert (config.training.epochs, config.model.name, config.data.tiles) == (3, "unet", ["T31UDQ"])
    assert config.training.learning_rate == 0.002 and config.threads == 4


@pytest.mark.parametrize("override, message", [
    ("training.epoch=3", "training.epoch: unknown key; section training allows epochs,"),
    ("optimiser.lr=1", "optimiser: unknown key; the top level allows model, data"),
    ("training.epochs=three", "training.epochs: expected an integer, got 'three'"),
    ("training.epochs=0", "training.epochs: must be >= 1, got 0"),
    ("model.name=vgg16", "model.name: must be one of fgunet, unet, mlp, lstm, tsfgunet, res_ensemble4, res_ensemble8, st_resnet, "
                        "re_resnet, unet_convlstm, convlstm_unet_s2, "
                        "convlstm_inception_unet_s2, convlstm_unet_s1s2, convlstm_inception_unet_s1s2, twinns_s2 or twinns, "
                        "got 'vgg16'"),
    ("model.precision=float16", "model.precision: must be one of float32, bfloat16 or auto, got 'float16'"),
    ("data.augment=maybe", "data.augment: expected true or false, got 'maybe'"),
    ("training.batch_size", "expected section.key=value"),
    ("training.class_weights=median", "training.class_weights: must be one of inverse_frequency or none, got 'median'"),
    ("training.patience=0", "training.patience: must be >= 1 (or null), got 0"),
    ("data.balance=rare", "data.balance: must be one of classes or none, got 'rare'"),
])
def test_bad_configs_fail_with_one_clear_line(override, message, capsys):
    assert train_cli.main(["--config", "configs/demo.yaml", override]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err and "configs/demo.yaml" in err


@pytest.mark.parametrize("overrides, message", [
    (["training.selection=tile", "training.validation=patches"], "selection tile needs validation all_pixels"),
    (["training.selection=global", "model.name=res_ensemble4"],
     "res_ensemble4 is a patch classifier, whose maps take no prior correction"),
    (["training.selection=posterior"], "training.selection: must be one of none, global or tile, got 'posterior'"),
])
def test_selection_the_maps_cannot_follow_fails_with_one_line(overrides, message, capsys):
    assert train_cli.main(["--config", "configs/demo.yaml", *overrides]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err and "configs/demo.yaml" in err


def test_overrides_may_follow_the_options(capsys):
    """A requeue script appends its overrides after --resume: they are read, not rejected."""
    argv = ["--config", "configs/demo.yaml", "--resume", "training.epochs=7", "--print-config",
            "training.selection=global"]
    assert train_cli.main(argv) == 0
    printed = yaml.safe_load(capsys.readouterr().out)
    assert printed["training"]["epochs"] == 7 and printed["training"]["selection"] == "global"


def test_groups_must_divide_the_dates(store_dir):
    config = load_config("configs/demo.yaml", [f"data.store={store_dir}", "model.n_groups=7"])
    with pytest.raises(ConfigError, match=r"n_groups=7 does not divide the 33 dates .* use one of \[1, 3, 11, 33\]"):
        config.check_dates(33)


def test_missing_config_file(capsys):
    assert train_cli.main(["--config", "configs/nope.yaml"]) == 2
    assert "config configs/nope.yaml not found" in capsys.readouterr().err


def test_warmup_goes_from_lr_over_n_to_lr_like_horovod():
    n, lr, w, steps = 11, 1e-3, 5, 100
    assert learning_rate(0, steps, lr, n, w) == pytest.approx(lr / n)
    assert learning_rate(w * steps, steps, lr, n, w) == lr
    assert learning_rate(10 * steps, steps, lr, n, w) == lr
    for step in (1, 37, 250, 499):  # Horovod's LearningRateWarmupCallback: lr / N * (epoch * (N - 1) / w + 1)
        epoch = step / steps
        assert learning_rate(step, steps, lr, n, w) == pytest.approx(lr / n * (epoch * (n - 1) / w + 1))
    assert learning_rate(0, steps, lr, 1, w) == lr  # one rank: nothing to warm up


def test_cosine_decay_follows_the_warmup_and_reaches_zero_at_the_last_epoch():
    n, lr, w, steps, epochs = 4, 2e-3, 1, 12, 45

    def rate(step):
        return learning_rate(step, steps, lr, n, w, "cosine", epochs)

    assert rate(0) == pytest.approx(lr / n)  # the warm-up is the paper's
    assert rate(w * steps) == pytest.approx(lr)
    middle = (w + (epochs - w) / 2) * steps
    assert rate(middle) == pytest.approx(lr / 2)
    assert rate(epochs * steps) == pytest.approx(0.0, abs=1e-12)
    after = [rate(step) for step in range(w * steps, epochs * steps)]
    assert all(a > b for a, b in zip(after, after[1:]))  # strictly decreasing after the warm-up
    assert learning_rate(middle, steps, lr, n, w, "none", epochs) == lr
    assert load_config("configs/demo.yaml", ["training.lr_decay=cosine"]).training.lr_decay == "cosine"
    with pytest.raises(ConfigError, match="lr_decay"):
        load_config("configs/demo.yaml", ["training.lr_decay=linear"])


def test_effective_config_round_trips_through_yaml(tmp_path):
    config = load_config("configs/demo.yaml", ["training.epochs=2"])
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config.to_dict()))
    assert load_config(path).to_dict() == config.to_dict()
