"""Every command's config options: --config, generated flags, section.key=value overrides, --print-config."""

import pytest
import yaml

from landcover_hpc.cli import (compare, evaluate, gapfill, geometry, mosaic, predict, prepare, produce, rf, synth, train,
                               worldcereal)
from landcover_hpc.config import load_config
from landcover_hpc.config.compare import CompareConfig
from landcover_hpc.config.evaluate import EvaluateConfig
from landcover_hpc.config.gapfill import GapfillConfig
from landcover_hpc.config.geometry import GeometryConfig
from landcover_hpc.config.mosaic import MosaicConfig
from landcover_hpc.config.predict import PredictConfig
from landcover_hpc.config.prepare import PrepareConfig
from landcover_hpc.config.production import ProductionConfig
from landcover_hpc.config.rf import RFConfig
from landcover_hpc.config.synth import SynthConfig
from landcover_hpc.config.train import TrainConfig
from landcover_hpc.config.worldcereal import WorldCerealConfig

# command, its subcommand, schema, config file, a generated flag and a value differing from the file's, the
# key it sets, and an override of that key with a third value
COMMANDS = {
    "prepare": (prepare.main, [], PrepareConfig, "configs/prepare.yaml", ["--patch-size", "32"], "patch_size", 48),
    "train": (train.main, [], TrainConfig, "configs/demo.yaml", ["--training-epochs", "3"], "training.epochs", 4),
    "predict": (predict.main, [], PredictConfig, "configs/predict.yaml", ["--window", "256"], "window", 128),
    "rf train": (rf.main, ["train"], RFConfig, "configs/rf.yaml", ["--trees", "50"], "train.trees", 7),
    "rf predict": (rf.main, ["predict"], RFConfig, "configs/rf.yaml", ["--radius", "0"], "predict.radius", 2),
    "evaluate": (evaluate.main, [], EvaluateConfig, "configs/evaluate.yaml", ["--method", "RF"], "method", "X"),
    "synth": (synth.main, [], SynthConfig, "configs/synth.yaml", ["--dates", "12"], "n_dates", 20),
    "gapfill": (gapfill.main, [], GapfillConfig, "configs/gapfill.yaml", ["--step", "10"], "step", 5),
    "mosaic": (mosaic.main, [], MosaicConfig, "configs/mosaic.yaml", ["--crs", "EPSG:32631"], "crs", "EPSG:3035"),
    "geometry": (geometry.main, [], GeometryConfig, "configs/geometry.yaml", ["--radius", "2.0"], "radius", 1.5),
    "compare": (compare.main, [], CompareConfig, "configs/compare.yaml", ["--title", "T"], "title", "U"),
    "worldcereal": (worldcereal.main, [], WorldCerealConfig, "configs/worldcereal.yaml", ["--labels", "l.tif"],
                    "labels", "m.tif"),
    "produce": (produce.main, [], ProductionConfig, "configs/production.yaml", ["--crs", "EPSG:32631"], "crs",
                "EPSG:3035"),
}


def _value(config: dict, key: str):
    for part in key.split("."):
        config = config[part]
    return config


def _field(schema, key: str):
    *sections, name = key.split(".")
    for section in sections:
        schema = schema.model_fields[section].annotation
    return schema.model_fields[name]


def _printed(capsys, main, argv) -> dict:
    assert main(argv) == 0
    return yaml.safe_load(capsys.readouterr().out)


@pytest.mark.parametrize("command", COMMANDS)
def test_help_lists_the_flags_generated_from_the_schema(command, capsys):
    main, sub, schema, _, flag, _, _ = COMMANDS[command]
    with pytest.raises(SystemExit) as exit_:
        main([*sub, "--help"])
    out = capsys.readouterr().out
    assert exit_.value.code == 0
    assert "--config FILE" in out and "--print-config" in out and flag[0] in out
    field = _field(schema, COMMANDS[command][5])
    assert " ".join(field.description.split()[:3]) in " ".join(out.split())


@pytest.mark.parametrize("command", COMMANDS)
def test_flags_override_the_file_and_overrides_override_both(command, capsys):
    main, sub, _, path, flag, key, override = COMMANDS[command]
    from_file = _printed(capsys, main, [*sub, "--config", path, "--print-config"])
    flagged = _printed(capsys, main, [*sub, "--config", path, *flag, "--print-config"])
    both = _printed(capsys, main, [*sub, "--config", path, *flag, f"{key}={override}", "--print-config"])
    assert str(_value(flagged, key)) == flag[1] != str(_value(from_file, key))
    assert _value(both, key) == override
    assert {k: v for k, v in flagged.items() if k != key.split(".")[0]} == {
        k: v for k, v in from_file.items() if k != key.split(".")[0]}  # nothing else changed


@pytest.mark.parametrize("command", COMMANDS)
def test_printed_config_loads_back_to_the_same_config(command, capsys, tmp_path):
    main, sub, schema, path, flag, key, override = COMMANDS[command]
    printed = tmp_path / "effective.yaml"
    assert main([*sub, "--config", path, *flag, f"{key}={override}", "--print-config"]) == 0
    printed.write_text(capsys.readouterr().out)
    assert load_config(schema, printed) == load_config(schema, path, [f"{key}={override}"],
                                                       {key: flag[1]})


@pytest.mark.parametrize("command, args, message", [
    ("rf train", ["--trees", "x"], "configs/rf.yaml: train.trees: expected an integer, got 'x'"),
    ("rf train", ["--trees", "0"], "configs/rf.yaml: train.trees: must be >= 1, got 0"),
    ("rf predict", ["predict.radiuss=2"], "configs/rf.yaml: predict.radiuss: unknown key; section predict allows"),
    ("prepare", ["--min-fraction", "2"], "configs/prepare.yaml: prepare option min_fraction=2.0: must be in (0, 1]"),
    ("prepare", ["--position-window", "7"], "configs/prepare.yaml: prepare option position_window=7: must be null, "
                                            "or from 1 to patch_size with patch_size - position_window even"),
    ("predict", ["--checkpoint-every", "0"], "configs/predict.yaml: checkpoint_every: must be >= 1, got 0"),
    ("evaluate", ["maps=null"], "configs/evaluate.yaml: give map (--map FILE, with --tile) or maps"),
    ("train", ["--training-batch-size", "-1"], "configs/demo.yaml: training.batch_size: must be >= 1, got -1"),
    ("synth", ["--dates", "1"], "configs/synth.yaml: synth option n_dates=1 (--dates): must be in 2..120"),
    ("gapfill", ["--step", "0"], "configs/gapfill.yaml: gapfill option step=0: must be >= 1 day"),
    ("mosaic", ["--resolution", "-10"], "configs/mosaic.yaml: resolution: must be > 0.0 (or null), got -10"),
    ("geometry", ["--denominator", "both"], "configs/geometry.yaml: denominator: must be one of reference or map"),
    ("geometry", ["--map", "RF=a.tif", "--map", "RF=b.tif"], "configs/geometry.yaml: maps: RF given twice"),
    ("compare", ["evals.RF=7"], "configs/compare.yaml: evals: expected a list, got 7"),
    ("worldcereal", ["quiet=maybe"], "configs/worldcereal.yaml: quiet: expected true or false, got 'maybe'"),
    ("produce", ["prepare.patch_size=6"], "configs/production.yaml: prepare: prepare option patch_size=6: must be"),
    ("produce", ["predict.tiles=[A]"], "configs/production.yaml: predict.tiles: unknown key; section predict allows"),
])
def test_bad_values_give_one_line_naming_the_file_and_the_key(command, args, message, capsys):
    main, sub, _, path, _, _, _ = COMMANDS[command]
    assert main([*sub, "--config", path, *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"landcover-{command.split()[0]}: error: ") and message in err


def test_old_training_config_option_of_predict_says_what_to_do(capsys):
    assert predict.main(["--config", "configs/demo.yaml", "--tile", "T31UDQ"]) == 2
    assert "this is a training config: give it as training_config (--training-config FILE)" in capsys.readouterr().err


def test_rf_runs_from_a_config_file_alone(tmp_path, store_dir, capsys):
    config = tmp_path / "rf.yaml"
    config.write_text(yaml.safe_dump({
        "store": str(store_dir), "tiles": ["T31UDQ"],
        "train": {"out": str(tmp_path / "rf.h5"), "trees": 4, "per_class": 200},
        "predict": {"out": str(tmp_path / "maps"), "window": 96, "quicklook": False}}))
    assert rf.main(["train", "--config", str(config)]) == 0
    assert rf.main(["predict", "--config", str(config)]) == 0
    assert (tmp_path / "maps" / "T31UDQ_classes.tif").is_file()
    assert not (tmp_path / "maps" / "T31UDQ_quicklook.png").exists()


@pytest.mark.parametrize("argv, expected", [
    # the command lines of scripts/demo.sh, scripts/benchmark.sh and README.md keep their meaning
    (["--eval", "FG-UNET=e/f0", "--eval", "RF=e/r0", "--eval", "FG-UNET=e/f1", "--maps", "RF=m/rf", "--geometry",
      "g1", "--geometry", "g2", "--fscore-tiles", "T30TWT,T31UDQ", "--out", "r"],
     {"evals": {"FG-UNET": ["e/f0", "e/f1"], "RF": ["e/r0"]}, "maps": {"RF": "m/rf"}, "geometry": ["g1", "g2"],
      "fscore_tiles": ["T30TWT", "T31UDQ"]}),
    (["--tile", "T31UDQ", "--map", "FG-UNET=a.tif", "--map", "RF=b.tif", "--reference", "r0", "r1", "--out", "g"],
     {"maps": {"FG-UNET": "a.tif", "RF": "b.tif"}, "references": ["r0", "r1"], "radius": 3.0}),
    (["maps/", "x_classes.tif", "--out", "maps/france_2018", "--crs", "EPSG:2154", "resolution=20"],
     {"maps": ["maps/", "x_classes.tif"], "crs": "EPSG:2154", "resolution": 20.0}),
    (["--out", "t", "--tiles", "T31UDQ,T30TWT", "--size", "256", "--seed", "0"],
     {"tiles": ["T31UDQ", "T30TWT"], "size": 256}),
    (["--input", "a", "--out", "t", "--start", "20180101", "--step", "10", "--processes", "2", "--quiet",
      "--snow-invalid"], {"start": "20180101", "step": 10, "processes": 2, "quiet": True, "snow_invalid": True}),
    (["--input", "p", "--out", "a", "--labels", "l.tif", "--parcels", "r.gpkg", "--quiet"],
     {"labels": "l.tif", "parcels": "r.gpkg", "quiet": True}),
], ids=["compare", "geometry", "mosaic", "synth", "gapfill", "worldcereal"])
def test_the_documented_command_lines_keep_working_without_a_config(argv, expected, capsys, request):
    main = {"compare": compare, "geometry": geometry, "mosaic": mosaic, "synth": synth, "gapfill": gapfill,
            "worldcereal": worldcereal}[request.node.callspec.id].main
    printed = _printed(capsys, main, [*argv, "--print-config"])
    assert {key: printed[key] for key in expected} == expected
