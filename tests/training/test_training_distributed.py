"""Distributed maths and resume, with real Horovod ranks launched by mpirun from the test."""

import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from landcover_hpc.parallel import launch_environment

HERE = Path(__file__).parent
MPIRUN = ["mpirun", "--oversubscribe", "--allow-run-as-root", "--bind-to", "none"]


def clean_env():
    """The environment without this process's own MPI singleton variables (a fresh mpirun sets its own)."""
    env = launch_environment()
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
def test_killed_run_resumes_with_the_same_rates_and_batches(tmp_path, train_store):
    common = ["--config", str(Path("configs") / "demo.yaml"), f"data.store={train_store}", "model.name=mlp",
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
    assert "resuming from" in out.stderr  # a log line (landcover_hpc.logs)
    full, resumed = _rows(tmp_path / "full" / "steps.csv"), _rows(tmp_path / "resumed" / "steps.csv")
    assert len(full) == len(resumed) == 6
    assert [r["lr"] for r in full] == [r["lr"] for r in resumed]
    assert [r["batch_digest"] for r in full] == [r["batch_digest"] for r in resumed]
    lrs = [float(r["lr"]) for r in full]
    assert lrs[0] == pytest.approx(0.002 / 2) and lrs[-1] == pytest.approx(0.002) and lrs == sorted(lrs)  # warm-up
    assert len(_rows(tmp_path / "resumed" / "history.csv")) == 3
    assert (tmp_path / "resumed" / "best_model.h5").is_file() and (tmp_path / "resumed" / "final_model.h5").is_file()


def _weights(path):
    import h5py

    arrays = []
    with h5py.File(path, "r") as h5:
        h5.visititems(lambda name, obj: arrays.append((name, obj[...])) if isinstance(obj, h5py.Dataset) else None)
    return arrays


@pytest.mark.slow
def test_two_trainings_with_one_seed_give_identical_weights(tmp_path, train_store):
    """Op determinism, fixed seeds and threads: the same config trains the same FG-UNET bit for bit."""
    common = ["--config", str(Path("configs") / "demo.yaml"), f"data.store={train_store}", "training.epochs=2",
              "training.batches_per_epoch=2", "training.batch_size=2", "training.validation_batches=1", "threads=2"]
    train = [sys.executable, "-m", "landcover_hpc.cli.train"]
    for name in ("a", "b"):
        run(train + common + [f"output.run_dir={tmp_path / name}"])
    a, b = _weights(tmp_path / "a" / "final_model.h5"), _weights(tmp_path / "b" / "final_model.h5")
    assert len(a) > 10 and [n for n, _ in a] == [n for n, _ in b]
    assert all(np.array_equal(x, y) for (_, x), (_, y) in zip(a, b))
    history = [[(r["loss"], r["val_kappa"]) for r in _rows(tmp_path / n / "history.csv")] for n in ("a", "b")]
    assert history[0] == history[1] and len(history[0]) == 2
    assert [r["loss"] for r in _rows(tmp_path / "a" / "steps.csv")] == [r["loss"] for r in _rows(tmp_path / "b" / "steps.csv")]


@pytest.mark.slow
def test_all_pixels_validation_scores_every_validation_pixel_once(tmp_path, train_store):
    """The per-pixel MLP's validation kappas on 2 ranks equal those of the model applied to every validation
    pixel of every tile in one process: no pixel missed or counted twice, whatever rank holds its tile. The
    three maps are scored (as trained, prior-corrected at the training objects' mix and at each tile's own, as
    landcover-predict --prior-correction makes them) and ``training.selection`` picks best_model.h5 by its own."""
    from landcover_hpc.data import TileStore, list_tiles
    from landcover_hpc.evaluation.metrics import confusion_matrix, scores_from_confusion
    from landcover_hpc.models import load_model
    from landcover_hpc.sampling.transforms import model_input

    train = [sys.executable, "-m", "landcover_hpc.cli.train", "--config", "configs/demo.yaml"]
    out = run(MPIRUN + ["-n", "2"] + train + [
        f"data.store={train_store}", "model.name=mlp", "model.n_groups=11", "model.precision=float32",  # the MLP
        "training.epochs=3",  # of the paper's 11 groups learns within 3 short epochs; the demo's 1 group does not
        "training.batches_per_epoch=8", "training.batch_size=4", "training.warmup_epochs=0",
        "training.learning_rate=0.01", "training.validation=all_pixels", "training.selection=tile", "threads=1",
        f"output.run_dir={tmp_path}"])
    assert "validation: every validation pixel, " in out.stderr and "(prior-corrected, tile)" in out.stderr
    model, meta = load_model(tmp_path / "final_model.h5")
    priors = meta.extra["class_priors"]
    cms = {"val_kappa": 0, "val_kappa_prior": 0, "val_kappa_prior_tile": 0}
    halves = [0, 0]  # the selected map (the tile's prior) on every other tile in name order
    for i, tile in enumerate(sorted(list_tiles(train_store))):
        with TileStore(train_store / f"{tile}.h5") as store:
            x = model_input(store.read_window(0, 0, store.height, store.width), meta.percentiles, meta.band_names,
                            False)
            probabilities = model.predict(x[None], verbose=0)[0]
            counts = store.class_counts("train")
            weights = {"val_kappa": np.ones(len(counts)),  # independent of sampling.prior: ref / train, by hand
                       "val_kappa_prior": _by_hand_weights(priors["training_patches"], priors["reference"]),
                       "val_kappa_prior_tile": _by_hand_weights(priors["training_patches"], counts / counts.sum())}
            for key, w in weights.items():
                predicted = np.argmax(probabilities * w, axis=-1) + 1  # argmax ignores the renormalisation
                cm = confusion_matrix(store.read_labels("val"), predicted, len(store.class_codes))
                cms[key] = cms[key] + cm
                if key == "val_kappa_prior_tile":
                    halves[i % 2] = halves[i % 2] + cm
    rows = _rows(tmp_path / "history.csv")
    want = {key: scores_from_confusion(cm) for key, cm in cms.items()}
    assert want["val_kappa"]["n_pixels"] > 500 and want["val_kappa"]["kappa"] > 0.1  # it tells classes apart
    assert abs(float(rows[-1]["val_overall_accuracy"]) - want["val_kappa_prior_tile"]["overall_accuracy"]) < 1e-4
    for key, scores in want.items():  # final_model.h5 is the last epoch's
        assert abs(float(rows[-1][key]) - scores["kappa"]) < 1e-4, key
    assert len({round(float(rows[-1][key]), 6) for key in want}) == 3  # three maps, not one scored thrice
    for h, cm in enumerate(halves):  # each half of the tiles scored on its own, for selection-free estimates
        assert abs(float(rows[-1][f"val_kappa_half{h}"]) - scores_from_confusion(cm)["kappa"]) < 1e-4
    assert rows[-1]["val_kappa_half0"] != rows[-1]["val_kappa_half1"] != rows[-1]["val_kappa_prior_tile"]
    for name, setting in [("best_model.h5", "tile"), ("best_model_none.h5", "none"),
                          ("best_model_global.h5", "global")]:  # the other maps' best epochs are kept too
        kappas = [float(r[{"none": "val_kappa", "global": "val_kappa_prior", "tile": "val_kappa_prior_tile"}[setting]])
                  for r in rows]
        _, best_meta = load_model(tmp_path / name)
        assert best_meta.extra["epoch"] == 1 + int(np.argmax(kappas)) and best_meta.extra["selection"] == setting
        assert best_meta.extra["val_kappa"] == pytest.approx(max(kappas), abs=1e-6)
    assert not (tmp_path / "best_model_tile.h5").exists()  # best_model.h5 is the tile map's
    _assert_model_stores_the_class_priors(meta, train_store)


def _by_hand_weights(train, reference):
    """ref / train; 1 for a class the patches never showed, 0 for one the reference lacks."""
    train, reference = np.asarray(train, np.float64), np.asarray(reference, np.float64)
    weights = np.divide(reference, train, out=np.ones_like(reference), where=train > 0)
    return np.where(reference > 0, weights, 0.0)


def _assert_model_stores_the_class_priors(meta, store_dir):
    """What landcover-predict --prior-correction needs: the training patches' expected label mix (the
    sampler's, over every tile's positions) and the training objects' mix, both over the whole dataset."""
    from landcover_hpc.data import open_stores
    from landcover_hpc.sampling.prior import patch_label_prior

    stores = open_stores(store_dir)
    codes = stores[0].class_codes
    positions = [{k: p for k, c in enumerate(codes, 1) if len(p := s.positions("train", c))} for s in stores]
    mix = patch_label_prior([s.read_labels("train") for s in stores], positions, stores[0].patch_size, len(codes))
    counts = np.sum([s.class_counts("train") for s in stores], axis=0)
    for s in stores:
        s.close()
    priors = meta.extra["class_priors"]
    np.testing.assert_allclose(priors["training_patches"], mix, rtol=1e-9)
    np.testing.assert_allclose(priors["reference"], counts / counts.sum(), rtol=1e-9)
    assert not np.allclose(mix, counts / counts.sum(), atol=0.01)  # the balanced draw is another mix


@pytest.mark.slow
def test_training_stops_at_the_validation_plateau(tmp_path, train_store):
    """With patience 1 and a learning rate of 0 the kappa never improves after epoch 1: stop at epoch 2."""
    cmd = [sys.executable, "-m", "landcover_hpc.cli.train", "--config", str(Path("configs") / "demo.yaml"),
           f"data.store={train_store}", "model.name=mlp", "training.epochs=5", "training.batches_per_epoch=1",
           "training.batch_size=2", "training.validation=patches", "training.validation_batches=1",
           "training.learning_rate=1e-12",
           "training.warmup_epochs=0", "training.patience=1", f"output.run_dir={tmp_path}"]
    out = run(cmd)
    assert "has not improved for 1 epochs: stopping at epoch 2 (best: epoch 1" in out.stderr
    assert len(_rows(tmp_path / "history.csv")) == 2
    assert (tmp_path / "final_model.h5").is_file() and (tmp_path / "best_model.h5").is_file()
    final = (tmp_path / "final_model.h5").stat().st_mtime_ns
    again = run(cmd + ["--resume"])  # a requeued job: nothing more to train
    assert "already stopped at its validation plateau (epoch 2)" in again.stderr
    assert len(_rows(tmp_path / "history.csv")) == 2 and (tmp_path / "final_model.h5").stat().st_mtime_ns == final
    other = subprocess.run(cmd + ["training.selection=global", "--resume"], capture_output=True, text=True,
                           env=clean_env(), timeout=600)  # its best kappa is another map's: not comparable
    assert other.returncode == 2 and len(other.stderr.strip().splitlines()) == 1, other.stderr
    assert "picks its best epoch with training.selection none, not global" in other.stderr
