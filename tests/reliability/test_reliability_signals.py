"""Stop signals (SIGTERM at Slurm's time limit or on preemption, SIGUSR1 from #SBATCH --signal): training and
prediction stop at a resume point with exit code 99, and the rerun ends exactly where an uninterrupted run
does (same weights, same logs, same map bytes).

The signal is a real one, sent by the process to itself from a hook at a fixed step or window (the wrapper
scripts below), so the test does not depend on the machine's speed.
"""

import csv
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from landcover_hpc.cli._common import EXIT_REQUEUE
from landcover_hpc.parallel import launch_environment

TILE = "T31UDQ"
MPIRUN = ["mpirun", "--oversubscribe", "--allow-run-as-root", "--bind-to", "none"]

# landcover-train whose rank STOP_RANK sends itself STOP_SIGNAL right after its STOP_AFTER_STEPS-th batch
TRAIN_SIGNALLED = """
import os, signal, sys
import landcover_hpc.training.trainer as t
after, on_rank = int(os.environ["STOP_AFTER_STEPS"]), int(os.environ.get("STOP_RANK", "0"))
rank = int(os.environ.get("OMPI_COMM_WORLD_RANK", "0"))
original, steps = t.train_step, []
def step_then_signal(*args, **kwargs):
    value = original(*args, **kwargs)
    steps.append(1)
    if len(steps) == after and rank == on_rank:
        os.kill(os.getpid(), getattr(signal, os.environ["STOP_SIGNAL"]))
    return value
t.train_step = step_then_signal
from landcover_hpc.cli.train import main
sys.exit(main(sys.argv[1:]))
"""

# landcover-predict that sends itself SIGTERM while it classifies its first window
PREDICT_SIGNALLED = """
import os, signal, sys
import landcover_hpc.prediction.predictor as p
original = p.KerasClassifier.classify
def classify_and_signal(self, prepared):
    os.kill(os.getpid(), signal.SIGTERM)
    return original(self, prepared)
p.KerasClassifier.classify = classify_and_signal
from landcover_hpc.cli.predict import main
sys.exit(main(sys.argv[1:]))
"""


def _env(**extra):
    env = launch_environment()
    env.update(TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1", PYTHONPATH=str(Path.cwd()), **extra)
    return env


def _run(cmd, **env):
    return subprocess.run(cmd, capture_output=True, text=True, env=_env(**env), timeout=600)


def _train_args(store, run_dir):
    # mlp: the smallest model with dropout (0.2 by default); 4 batches per epoch, so step 2 is mid-epoch
    return ["--config", "configs/demo.yaml", f"data.store={store}", f"output.run_dir={run_dir}", "model.name=mlp",
            "training.epochs=2", "training.batches_per_epoch=4", "training.batch_size=2", "training.warmup_epochs=1",
            "training.validation_batches=1", "output.log_every=1", "threads=1"]


def _weights(path):
    with h5py.File(path, "r") as h5:
        return [h5["weights"][k][...] for k in sorted(h5["weights"])]


def _rows(path, timing=("seconds", "patches_per_second")):
    with open(path, newline="") as f:
        return [{k: v for k, v in row.items() if k not in timing} for row in csv.DictReader(f)]


@pytest.fixture(scope="module")
def training(tmp_path_factory, train_store):
    """An uninterrupted run and a run that got SIGTERM after its 2nd batch (side by side: one thread each)."""
    root = tmp_path_factory.mktemp("signals")
    runs = {"uninterrupted": subprocess.Popen([sys.executable, "-m", "landcover_hpc.cli.train",
                                               *_train_args(train_store, root / "uninterrupted")], env=_env(),
                                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True),
            "stopped": subprocess.Popen([sys.executable, "-c", TRAIN_SIGNALLED,
                                         *_train_args(train_store, root / "stopped")], env=_env(
                                            STOP_AFTER_STEPS="2", STOP_SIGNAL="SIGTERM"),
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)}
    outputs = {name: (run.communicate(timeout=600), run.returncode) for name, run in runs.items()}
    (out, err), code = outputs["uninterrupted"]
    assert code == 0, out[-2000:] + err[-2000:]
    return root, outputs["stopped"]


@pytest.fixture(scope="module")
def uninterrupted(training):
    return training[0] / "uninterrupted"


@pytest.mark.reliability
@pytest.mark.slow
def test_sigterm_stops_training_after_a_batch_and_resume_gives_the_uninterrupted_weights(train_store, training,
                                                                                      uninterrupted):
    run_dir = training[0] / "stopped"
    (stdout, stderr), code = training[1]
    assert code == EXIT_REQUEUE == 99, stdout[-2000:] + stderr[-2000:]
    assert stderr.strip().splitlines()[-1] == (
        f"landcover-train: stopped by SIGTERM after step 2 (epoch 1, batch 2/4): {run_dir / 'checkpoint.h5'} "
        "written; rerun with --resume")
    with h5py.File(run_dir / "checkpoint.h5", "r") as h5:
        state = json.loads(h5.attrs["state"])
    assert state["step"] == 2 and state["sampler"]["batch_index"] == 2 and len(state["partial_epoch"]["losses"]) == 2
    assert len(_rows(run_dir / "steps.csv")) == 2
    assert not (run_dir / "history.csv").exists() and not (run_dir / "final_model.h5").exists()

    resumed = _run([sys.executable, "-m", "landcover_hpc.cli.train", *_train_args(train_store, run_dir), "--resume"])
    assert resumed.returncode == 0, resumed.stdout[-2000:] + resumed.stderr[-2000:]
    assert "epoch 1, step 2" in resumed.stderr  # a log line (landcover_hpc.logs)
    expected, got = _weights(uninterrupted / "final_model.h5"), _weights(run_dir / "final_model.h5")
    assert len(expected) == len(got) > 4
    assert all(np.array_equal(a, b) for a, b in zip(expected, got))  # exactly: dropout masks included
    for log in ("history.csv", "steps.csv"):
        assert _rows(run_dir / log) == _rows(uninterrupted / log), log
    assert len(_rows(run_dir / "history.csv")) == 2 and len(_rows(run_dir / "steps.csv")) == 8


@pytest.mark.reliability
@pytest.mark.slow
def test_sigterm_stops_prediction_after_a_window_and_the_rerun_gives_the_same_bytes(tmp_path, train_store,
                                                                                    uninterrupted):
    from landcover_hpc.cli import predict as predict_cli

    def args(out):
        return ["--store", str(train_store), "--model", str(uninterrupted / "final_model.h5"), "--tile", TILE,
                "--out", str(out), "--window", "64", "--overlap", "16", "--checkpoint-every", "4", "--threads", "1"]

    stopped = _run([sys.executable, "-c", PREDICT_SIGNALLED, *args(tmp_path / "stopped")])
    assert stopped.returncode == EXIT_REQUEUE, stopped.stdout[-2000:] + stopped.stderr[-2000:]
    assert stopped.stderr.strip().splitlines()[-1] == (
        f"landcover-predict: stopped by SIGTERM after 1 of 9 rounds of windows of {TILE}, recorded: rerun the "
        "same command to resume")
    state = json.loads((tmp_path / "stopped" / ".partial" / f"{TILE}.json").read_text())
    assert state["done"] == [0]  # the window it was classifying, recorded although checkpoint_every is 4
    assert not (tmp_path / "stopped" / f"{TILE}_classes.tif").exists()

    assert predict_cli.main(args(tmp_path / "stopped")) == 0
    assert predict_cli.main(args(tmp_path / "clean")) == 0
    finished = sorted(p.name for p in (tmp_path / "clean").iterdir() if p.is_file())
    assert f"{TILE}_classes.tif" in finished and f"{TILE}_confidence.tif" in finished
    assert sorted(p.name for p in (tmp_path / "stopped").iterdir() if p.is_file()) == finished
    for name in finished:
        assert (tmp_path / "stopped" / name).read_bytes() == (tmp_path / "clean" / name).read_bytes(), name
    assert not (tmp_path / "stopped" / ".partial" / f"{TILE}.json").exists()


@pytest.mark.reliability
@pytest.mark.mpi
def test_a_signal_on_one_rank_stops_every_rank(comm):
    """The ranks agree: the last rank alone gets SIGUSR1, every rank sees the stop (plain pytest: one rank)."""
    from landcover_hpc.interrupt import received_signal_name, stop_requested, stop_signals

    before = signal.getsignal(signal.SIGTERM)
    with stop_signals():
        assert not stop_requested(comm)
        if comm.Get_rank() == comm.Get_size() - 1:
            os.kill(os.getpid(), signal.SIGUSR1)
            assert received_signal_name() == "SIGUSR1"
        assert stop_requested(comm)
    assert signal.getsignal(signal.SIGTERM) is before and not stop_requested(None)


@pytest.mark.reliability
@pytest.mark.slow
def test_sigusr1_on_one_of_two_training_ranks_stops_both_at_the_same_step(tmp_path, train_store):
    """Only rank 1 gets the signal; rank 0 (which writes the checkpoint) stops after the same batch."""
    run_dir = tmp_path / "run"
    stopped = subprocess.run(MPIRUN + ["-n", "2", "-x", "STOP_AFTER_STEPS", "-x", "STOP_RANK", "-x", "STOP_SIGNAL",
                                       sys.executable, "-c", TRAIN_SIGNALLED, *_train_args(train_store, run_dir)],
                             capture_output=True, text=True, timeout=600,
                             env=_env(STOP_AFTER_STEPS="3", STOP_RANK="1", STOP_SIGNAL="SIGUSR1"))
    assert stopped.returncode == EXIT_REQUEUE, stopped.stdout[-2000:] + stopped.stderr[-2000:]
    assert "landcover-train: stopped by SIGUSR1 after step 3 (epoch 1, batch 3/4)" in stopped.stderr  # rank 1
    assert "landcover-train: stopped by a stop signal after step 3 (epoch 1, batch 3/4)" in stopped.stderr  # rank 0
    with h5py.File(run_dir / "checkpoint.h5", "r") as h5:
        assert json.loads(h5.attrs["state"])["step"] == 3
    assert len(_rows(run_dir / "steps.csv")) == 3


# landcover-synth that sends itself SIGTERM once its tile's stack is written to the temporary folder
SYNTH_SIGNALLED = """
import os, signal, sys
import landcover_hpc.synth.generate as g
def signal_instead(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGTERM)
    raise AssertionError("SIGTERM did not stop landcover-synth")
g._write_reference = signal_instead
from landcover_hpc.cli.synth import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.reliability
def test_sigterm_to_synth_leaves_no_temporary(tmp_path):
    """A command with no resume point (here landcover-synth, mid-tile) unwinds on SIGTERM: exit 143, one line,
    and its atomic write's hidden temporary folder is removed (before: the default action killed it where it
    stood and left the folder)."""
    out = tmp_path / "tiles"
    done = _run([sys.executable, "-c", SYNTH_SIGNALLED, "--out", str(out), "--tiles", TILE, "--size", "64",
                 "--dates", "2"])
    assert done.returncode == 143, done.stderr
    assert done.stderr.splitlines()[-1] == "landcover-synth: terminated by SIGTERM"
    assert sorted(p.name for p in out.iterdir()) == []  # neither the tile nor its .T31UDQ.xxxxxxxx.tmp
