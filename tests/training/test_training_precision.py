"""Mixed-precision training (``model.precision: bfloat16``): bfloat16 compute, float32 weights, files and loss."""

import csv
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from landcover_hpc.models import load_model
from landcover_hpc.models.names import TABLE2_MODELS

from test_training_distributed import clean_env  # noqa: E402 - the test folder is on sys.path

HERE = Path(__file__).parent


def run(cmd):
    out = subprocess.run(cmd, capture_output=True, text=True, env=clean_env(), timeout=900)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return out


@pytest.mark.slow
def test_bfloat16_step_of_every_model_follows_the_float32_one(tmp_path):
    run([sys.executable, str(HERE / "precision_step.py"), str(tmp_path), *TABLE2_MODELS])
    for name in TABLE2_MODELS:
        result = np.load(tmp_path / f"{name}.npz")
        assert result["compute_dtype"] == "bfloat16"
        assert list(result["weight_dtypes"]) == ["float32"]  # float32 master weights
        assert not result["loss_scaled"]  # bfloat16 has float32's exponent range: no loss scaling
        # same weights, same batch: the loss within bfloat16's rounding (8-bit mantissa) of float32's
        assert result["loss_bfloat16"] == pytest.approx(result["loss_float32"], rel=1e-2), name
        full, mixed = result["update_float32"], result["update_bfloat16"]
        assert np.linalg.norm(mixed - full) < 0.1 * np.linalg.norm(full), name  # the SGD step, -lr x gradient


def _steps(run_dir):
    with open(run_dir / "steps.csv", newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.slow
def test_bfloat16_training_run_writes_float32_files(tmp_path, train_store):
    common = [sys.executable, "-m", "landcover_hpc.cli.train", "--config", str(Path("configs") / "demo.yaml"),
              f"data.store={train_store}", "training.epochs=1", "training.batches_per_epoch=1",
              "training.batch_size=2", "training.validation_batches=1", "model.dropout=0"]
    for precision in ("float32", "bfloat16"):
        run(common + [f"model.precision={precision}", f"output.run_dir={tmp_path / precision}"])
    (full,), (mixed,) = _steps(tmp_path / "float32"), _steps(tmp_path / "bfloat16")
    assert mixed["batch_digest"] == full["batch_digest"]  # the same batch from the same initial weights
    assert float(mixed["loss"]) == pytest.approx(float(full["loss"]), rel=1e-2)
    with h5py.File(tmp_path / "bfloat16" / "checkpoint.h5", "r") as h5:
        for group in ("model", "optimizer"):
            assert {h5[group][key].dtype.name for key in h5[group]} <= {"float32", "int64"}
    with h5py.File(tmp_path / "bfloat16" / "final_model.h5", "r") as h5:
        assert {h5["weights"][key].dtype.name for key in h5["weights"]} == {"float32"}
    model, metadata = load_model(tmp_path / "bfloat16" / "final_model.h5")
    assert metadata.spec.precision == "bfloat16"
    assert all(w.dtype == np.float32 for w in model.get_weights())
