"""Distributed maths and resume, with real Horovod ranks launched by mpirun from the test."""

import csv
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).parent
MPIRUN = ["mpirun", "--oversubscribe", "--allow-run-as-root", "--bind-to", "none"]


def clean_env():
    """The environment without this process's own MPI singleton variables (a fresh mpirun sets its own)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OMPI_", "PMIX_", "PMI_"))}
    env.update(TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1")
    return env


def run(cmd, **kwargs):
    out = subprocess.run(cmd, capture_output=True, text=True, env=clean_env(), timeout=600, **kwargs)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return out


@pytest.mark.slow
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_two_ranks_of_4_patches_equal_one_rank_of_8(tmp_path, optimizer):
    script = str(HERE / "distributed_step.py")
    run([sys.executable, script, str(tmp_path / "one.npz"), optimizer])
    run(MPIRUN + ["-n", "2", sys.executable, script, str(tmp_path / "two.npz"), optimizer])
    one, two = np.load(tmp_path / "one.npz"), np.load(tmp_path / "two.npz")
    assert np.isclose(one["loss"], two["loss"], rtol=1e-5)  # the global batch's loss on both
    weights = [k for k in one.files if k.startswith("arr_")]
    assert len(weights) > 10
    # Adam's first step is about lr * g / |g|: for gradients near 0 the summation order's round-off can move a
    # weight by a fraction of lr (0.01), so its tolerance is relative to the step; SGD's is tight
    atol = 1e-5 if optimizer == "adam" else 1e-6
    for k in weights:
        np.testing.assert_allclose(one[k], two[k], rtol=2e-5, atol=atol)


def _rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


KILL_AFTER_FIRST_CHECKPOINT = """
import os, signal, sys
import landcover_hpc.training.trainer as t
original = t.save_checkpoint
def save_then_die(*args, **kwargs):
    original(*args, **kwargs)
    os.kill(os.getpid(), signal.SIGKILL)
t.save_checkpoint = save_then_die
from landcover_hpc.cli.train import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.slow
def test_killed_run_resumes_with_the_same_rates_and_batches(tmp_path, store_dir):
    common = ["--config", str(Path("configs") / "demo.yaml"), f"data.store={store_dir}", "model.name=mlp",
              "training.epochs=3", "training.batches_per_epoch=2", "training.batch_size=2",
              "training.warmup_epochs=2", "training.validation_batches=1"]
    train = [sys.executable, "-m", "landcover_hpc.cli.train"]
    run(MPIRUN + ["-n", "2"] + train + common + [f"output.run_dir={tmp_path / 'full'}"])
    killed = subprocess.run(MPIRUN + ["-n", "2", sys.executable, "-c", KILL_AFTER_FIRST_CHECKPOINT] + common
                            + [f"output.run_dir={tmp_path / 'resumed'}"], capture_output=True, text=True,
                            env=clean_env(), timeout=600)
    assert killed.returncode != 0
    assert len(_rows(tmp_path / "resumed" / "history.csv")) == 1  # died right after epoch 1's checkpoint
    out = run(MPIRUN + ["-n", "2"] + train + common + [f"output.run_dir={tmp_path / 'resumed'}", "--resume"])
    assert "resuming from" in out.stdout
    full, resumed = _rows(tmp_path / "full" / "steps.csv"), _rows(tmp_path / "resumed" / "steps.csv")
    assert len(full) == len(resumed) == 6
    assert [r["lr"] for r in full] == [r["lr"] for r in resumed]
    assert [r["batch_digest"] for r in full] == [r["batch_digest"] for r in resumed]
    lrs = [float(r["lr"]) for r in full]
    assert lrs[0] == pytest.approx(0.002 / 2) and lrs[-1] == pytest.approx(0.002) and lrs == sorted(lrs)  # warm-up
    assert len(_rows(tmp_path / "resumed" / "history.csv")) == 3
    assert (tmp_path / "resumed" / "best_model.h5").is_file() and (tmp_path / "resumed" / "final_model.h5").is_file()
