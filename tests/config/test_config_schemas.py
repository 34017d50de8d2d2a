"""The stage schemas: every shipped config validates, defaults are the library's, no TensorFlow import."""

import subprocess
import sys
from pathlib import Path

import pytest

from landcover_hpc.baseline import ForestParams, RFPredictOptions
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
from landcover_hpc.data.prepare import PrepareOptions
from landcover_hpc.evaluation import CornerParams
from landcover_hpc.gapfill import GapfillOptions
from landcover_hpc.errors import ConfigError
from landcover_hpc.nomenclature import load_nomenclature
from landcover_hpc.prediction.predictor import PredictOptions
from landcover_hpc.synth import SynthOptions

CONFIGS = sorted(Path("configs").glob("*.yaml"))
STAGE_FILES = {"prepare.yaml": PrepareConfig, "predict.yaml": PredictConfig, "rf.yaml": RFConfig,
               "evaluate.yaml": EvaluateConfig, "synth.yaml": SynthConfig, "gapfill.yaml": GapfillConfig,
               "mosaic.yaml": MosaicConfig, "geometry.yaml": GeometryConfig, "compare.yaml": CompareConfig,
               "worldcereal.yaml": WorldCerealConfig, "production.yaml": ProductionConfig}


@pytest.mark.parametrize("path", CONFIGS, ids=[p.name for p in CONFIGS])
def test_every_shipped_config_validates_against_its_schema(path):
    if "nomenclature" in path.name:
        assert load_nomenclature(path).classes
        return
    schema = STAGE_FILES.get(path.name, TrainConfig)  # every other file of configs/ is a training config
    config = load_config(schema, path)
    assert schema.model_validate(config.to_dict()) == config


def test_a_default_is_written_once_in_the_library_options():
    assert PrepareConfig(input="in", out="out").options() == PrepareOptions()
    assert PredictConfig(tiles=["T31UDQ"]).options() == PredictOptions()
    rf = RFConfig(store="store")
    assert rf.train.params() == ForestParams() and rf.predict.options() == RFPredictOptions()
    assert rf.predict.model == rf.train.out  # the predict section maps with the model train writes
    assert SynthConfig(out="o", tiles=["T31UDQ"]).options() == SynthOptions()
    assert GapfillConfig(input="i", out="o").options() == GapfillOptions()
    assert GeometryConfig(tile="T", maps={"A": "a"}, references=["r"], out="o").params() == CornerParams()
    production = ProductionConfig(input="i", model="m", out="o")  # the options of the three steps it runs
    assert (production.prepare_options(), production.predict_options(), production.gapfill_options()) == \
        (PrepareOptions(), PredictOptions(), GapfillOptions())
    assert production.mosaic  # the whole run; mosaic=false: the tiles' steps only (slurm/nightly.sh's tasks)


def test_every_command_has_its_example_config():
    assert {p.name for p in CONFIGS} >= set(STAGE_FILES)


def test_name_value_keys_take_repeated_pairs_and_say_which_name_is_repeated():
    compare = load_config(CompareConfig, values={"evals": [("RF", "a"), ("CNN", "b"), ("RF", "c")], "out": "o"})
    assert compare.evals == {"RF": ["a", "c"], "CNN": ["b"]}  # a repeated method is a repeated run
    assert load_config(CompareConfig, overrides=["evals={RF: a}", "out=o"]).evals == {"RF": ["a"]}
    with pytest.raises(ConfigError, match=r"^maps: RF given twice: give each its own NAME$"):
        load_config(GeometryConfig, overrides=["tile=T", "maps=[RF=a, RF=b]", "references=[r]", "out=o"])


@pytest.mark.parametrize("schema, overrides, message", [
    (PrepareConfig, ["input=a", "out=b", "patch_size=-1"], "prepare option patch_size=-1: must be a multiple of 4"),
    (PrepareConfig, ["input=a", "out=b", "compression=zip"], "compression: must be one of none, lzf or gzip, got 'zip'"),
    (PrepareConfig, ["input=a"], "out: missing"),
    (PredictConfig, ["tiles=[T31UDQ]", "window=big"], "window: expected an integer, got 'big'"),
    (PredictConfig, ["data.store=s"], "this is a training config: give it as training_config"),
    (RFConfig, ["store=s", "train.tree=5"], "train.tree: unknown key; section train allows out, trees,"),
    (RFConfig, ["store=s", "predict.radius=-1"], "predict.radius: must be >= 0, got -1"),
    (EvaluateConfig, ["store=s"], "give map (--map FILE, with --tile) or maps (--maps DIR)"),
    (TrainConfig, ["training.batch_size=-1"], "training.batch_size: must be >= 1, got -1"),
    (SynthConfig, ["out=o", "tiles=[T31UDQ]", "size=32"], "synth option size=32 (--size): synthetic tiles must be"),
    (GapfillConfig, ["input=i", "out=o", "block=20"], "gapfill option block=20: must be a multiple of 16"),
    (MosaicConfig, ["maps=[m]", "out=o", "resolution=0"], "resolution: must be > 0.0 (or null), got 0"),
    (GeometryConfig, ["tile=T", "maps=[a.tif]", "references=[r]", "out=o"], "maps: 'a.tif': expected NAME=VALUE"),
    (CompareConfig, ["out=o"], "evals: missing"),
    (WorldCerealConfig, ["input=i", "out=o", "quiet=maybe"], "quiet: expected true or false, got 'maybe'"),
    (ProductionConfig, ["input=i", "model=m", "out=o", "mosaic=tiles"], "mosaic: expected true or false, got 'tiles'"),
])
def test_errors_name_the_key_and_the_value(schema, overrides, message):
    with pytest.raises(ConfigError) as info:
        load_config(schema, overrides=overrides)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_errors_name_the_file(tmp_path):
    path = tmp_path / "rf.yaml"
    path.write_text("store: s\ntrain:\n  trees: 0\n")
    with pytest.raises(ConfigError, match=rf"^{path}: train.trees: must be >= 1, got 0$"):
        load_config(RFConfig, path)


def test_validating_configs_imports_no_tensorflow():
    """Configs are checked on login nodes and by --print-config: TensorFlow (seconds, GBs) must stay out."""
    code = ("import sys\n"
            "import landcover_hpc.training, landcover_hpc.config.train, landcover_hpc.models\n"
            "from landcover_hpc.config import load_config\n"
            "from landcover_hpc.cli import predict, prepare, rf, evaluate, train\n"
            "load_config(landcover_hpc.config.train.TrainConfig, 'configs/fgunet.yaml')\n"
            "assert train.main(['--config', 'configs/fgunet.yaml', '--print-config']) == 0\n"
            "assert predict.main(['--config', 'configs/predict.yaml', '--print-config']) == 0\n"
            "print('tensorflow' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "False"
