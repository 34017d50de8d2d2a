"""One run at a time owns an output, and no run leaves debris (issue 15, items 1 and 4).

Real processes and real signals on a 66 px synthetic tile: a second ``landcover-predict``, ``landcover-rf
predict`` or ``landcover-prepare`` on an output that a live run is writing fails at once with one line and
exit code 75 while the first one's output comes out whole; a SIGKILLed owner's lock goes with it; killed runs'
temporaries and half-finished finalisations are cleaned up or completed by the next run; a map that is
up to date is skipped without writing anything.

The first run is held at a known point while the second runs: frozen with SIGSTOP once it owns its lock
(the lock file holds its owner line), or stopped by a patched function that says "paused" and sleeps.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import rasterio

sys.path.insert(0, str(Path(__file__).parents[1] / "prediction"))
from reference_maps import CNN_OVERLAP, CNN_WINDOW, REFERENCE, TILE, build_cnn, build_store  # noqa: E402

from landcover_hpc.cli._common import EXIT_BUSY  # noqa: E402
from landcover_hpc.prediction.windows import plan_windows  # noqa: E402

pytestmark = pytest.mark.reliability

REPO = Path(__file__).parents[2]
ENV = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "2"}
MAP_FILES = {f"{TILE}_classes.tif", f"{TILE}_classes.tif.aux.xml", f"{TILE}_confidence.tif",
             f"{TILE}_quicklook.png", ".partial"}


def _cli(module: str, *args) -> list[str]:
    return [sys.executable, "-c", f"import sys; from landcover_hpc.cli.{module} import main; sys.exit(main())",
            *map(str, args)]


def _patched(setup: str, module: str, *args) -> list[str]:
    """A command-line run of ``module`` after the Python statements ``setup`` (patches)."""
    return [sys.executable, "-c", f"import os, signal, sys, time\n{setup}\nfrom landcover_hpc.cli.{module} import "
            "main\nsys.exit(main())", *map(str, args)]


def _run(cmd: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=300)


def _start(cmd: list[str]) -> subprocess.Popen:
    return subprocess.Popen(cmd, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_owner(lock: Path, proc: subprocess.Popen, timeout: float = 120) -> str:
    """The owner line of ``lock`` once ``proc`` has written it (it holds the lock then)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if lock.is_file() and lock.read_text().strip():
            return lock.read_text().strip()
        assert proc.poll() is None, f"the first run ended before taking {lock}: {proc.communicate()}"
        time.sleep(0.01)
    raise AssertionError(f"{lock} not taken in {timeout} s")


def _second_run_while_first_owns(cmd: list[str], lock: Path) -> tuple[subprocess.Popen, str,
                                                                         subprocess.CompletedProcess]:
    """(first run, its stderr, second run) of ``cmd``: the second runs while the first is frozen holding
    ``lock``; the first then goes on to its end."""
    first = _start(cmd)
    try:
        owner = _wait_for_owner(lock, first)
        first.send_signal(signal.SIGSTOP)
        second = _run(cmd)
    finally:
        first.send_signal(signal.SIGCONT)
    _, err = first.communicate(timeout=300)
    assert f"PID {first.pid}," in owner
    return first, err, second


def _assert_busy(second: subprocess.CompletedProcess, prog: str, target: Path, owner_pid: int) -> None:
    lines = second.stderr.strip().splitlines()
    assert second.returncode == EXIT_BUSY == 75, second.stderr
    assert len(lines) == 1 and lines[0].startswith(f"{prog}: error: "), second.stderr
    assert str(target) in lines[0] and f"host {socket.gethostname()}, PID {owner_pid}," in lines[0]


def _pixels(out: Path) -> tuple[np.ndarray, np.ndarray]:
    maps = []
    for kind in ("classes", "confidence"):
        with rasterio.open(out / f"{TILE}_{kind}.tif") as src:
            maps.append(src.read(1))
    return tuple(maps)


def _assert_same_maps(out: Path, reference: Path) -> None:
    for got, expected in zip(_pixels(out), _pixels(reference)):
        assert np.array_equal(got, expected)


def _listing(out: Path) -> set[str]:
    """Every file and folder under ``out`` (relative paths), hidden ones included."""
    return {str(p.relative_to(out)) for p in out.rglob("*")}


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    return build_store(tmp_path_factory.mktemp("locks"))


@pytest.fixture(scope="module")
def rf_model(store) -> Path:
    from landcover_hpc.cli.rf import main

    model = store.parent / "rf.h5"
    assert main(["train", "--store", str(store), "--out", str(model), "--trees", "5", "--per-class", "200",
                 "--jobs", "1"]) == 0
    return model


def _rf_predict(rf_model: Path, store: Path, out: Path) -> list[str]:
    return ["predict", "--model", rf_model, "--store", store, "--out", out, "--tiles", TILE, "--window", "32",
            "--checkpoint-every", "1", "--jobs", "1"]


@pytest.fixture(scope="module")
def rf_reference(rf_model, store) -> Path:
    """The maps of one uninterrupted ``landcover-rf predict``."""
    out = store.parent / "rf_reference"
    result = _run(_cli("rf", *_rf_predict(rf_model, store, out)))
    assert result.returncode == 0, result.stderr
    return out


def test_concurrent_predict_second_run_is_refused_and_the_map_has_no_holes(store, tmp_path):
    """The probe: two landcover-predict on one tile and folder gave a map with holes signed as complete. The
    map must equal, pixel for pixel, that of a clean single run (tests/prediction/reference_maps.py)."""
    model = build_cnn(store, tmp_path / "fgunet.h5")
    args = ["--tile", TILE, "--store", store, "--model", model, "--window", CNN_WINDOW, "--overlap", CNN_OVERLAP,
            "--checkpoint-every", "1", "--threads", "1"]
    out = tmp_path / "maps"
    first, err, second = _second_run_while_first_owns(_cli("predict", *args, "--out", out),
                                                      out / f".{TILE}_classes.tif.lock")
    assert first.returncode == 0, err
    _assert_busy(second, "landcover-predict", out / f"{TILE}_classes.tif", first.pid)
    reference = np.load(REFERENCE)
    for got, kind in zip(_pixels(out), ("classes", "confidence")):
        assert np.array_equal(got, reference[f"cnn_{kind}"])
    assert _listing(out) == MAP_FILES  # no lock file, no partial file left


def test_concurrent_rf_predict_second_run_is_refused(rf_model, store, rf_reference, tmp_path):
    out = tmp_path / "maps"
    first, err, second = _second_run_while_first_owns(_cli("rf", *_rf_predict(rf_model, store, out)),
                                                      out / f".{TILE}_classes.tif.lock")
    assert first.returncode == 0, err
    _assert_busy(second, "landcover-rf", out / f"{TILE}_classes.tif", first.pid)
    _assert_same_maps(out, rf_reference)
    assert _listing(out) == MAP_FILES


def test_concurrent_prepare_second_run_is_refused(store, tmp_path):
    args = ["--input", store.parent / "in", "--out", tmp_path / "store", "--patch-size", "16", "--stride", "8"]
    first, err, second = _second_run_while_first_owns(_cli("prepare", *args), tmp_path / "store" / f".{TILE}.h5.lock")
    assert first.returncode == 0, err
    _assert_busy(second, "landcover-prepare", tmp_path / "store" / f"{TILE}.h5", first.pid)
    assert sorted(p.name for p in (tmp_path / "store").iterdir()) == [f"{TILE}.h5", "dataset.json"]


def test_a_sigkilled_owner_leaves_its_lock_to_the_next_run(rf_model, store, rf_reference, tmp_path):
    out = tmp_path / "maps"
    pause_after_first_checkpoint = (
        "from landcover_hpc.maps import geotiff\n"
        "original = geotiff.MapWriter.checkpoint\n"
        "def checkpoint(self):\n"
        "    original(self)\n"
        "    print('paused', flush=True)\n"
        "    time.sleep(600)\n"
        "geotiff.MapWriter.checkpoint = checkpoint")
    first = _start(_patched(pause_after_first_checkpoint, "rf", *_rf_predict(rf_model, store, out)))
    assert first.stdout.readline().strip() == "paused"
    first.kill()
    first.communicate(timeout=60)
    lock = out / f".{TILE}_classes.tif.lock"
    assert f"PID {first.pid}," in lock.read_text()  # the dead owner's lock file is still there
    rerun = _run(_cli("rf", *_rf_predict(rf_model, store, out)))
    assert rerun.returncode == 0, rerun.stderr
    _assert_same_maps(out, rf_reference)
    assert _listing(out) == MAP_FILES


def test_prepare_temporary_of_a_killed_run_is_removed_by_the_rerun(store, tmp_path):
    args = ["--input", store.parent / "in", "--out", tmp_path / "store", "--patch-size", "16", "--stride", "8"]
    pause_after_first_block = (
        "from landcover_hpc.data import prepare\n"
        "original = prepare.iter_blocks\n"
        "def iter_blocks(*a):\n"
        "    for i, block in enumerate(original(*a)):\n"
        "        if i == 1:\n"
        "            print('paused', flush=True)\n"
        "            time.sleep(600)\n"
        "        yield block\n"
        "prepare.iter_blocks = iter_blocks")
    first = _start(_patched(pause_after_first_block, "prepare", *args, "--window", "16"))
    assert first.stdout.readline().strip() == "paused"
    first.kill()
    first.communicate(timeout=60)
    left = {p.name for p in (tmp_path / "store").iterdir()} - {f".{TILE}.h5.lock"}  # the dead owner's lock
    assert len(left) == 1 and next(iter(left)).startswith(f".{TILE}.h5.") and next(iter(left)).endswith(".tmp")
    rerun = _run(_cli("prepare", *args))
    assert rerun.returncode == 0, rerun.stderr
    assert sorted(p.name for p in (tmp_path / "store").iterdir()) == [f"{TILE}.h5", "dataset.json"]


def test_a_skipped_map_writes_nothing(rf_model, store, rf_reference, tmp_path):
    out = tmp_path / "maps"
    assert _run(_cli("rf", *_rf_predict(rf_model, store, out))).returncode == 0
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*")}
    rerun = _run(_cli("rf", *_rf_predict(rf_model, store, out)))
    assert rerun.returncode == 0 and "up to date" in rerun.stdout, rerun.stderr
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*")} == before  # no .partial raster, no lock file
    assert _listing(out) == MAP_FILES


def test_a_run_killed_while_finalising_is_completed_by_the_next(rf_model, store, rf_reference, tmp_path):
    """Killed after renaming the maps, before their class names, partial files cleanup and quicklook: the
    next run skips the map (up to date) and completes it instead of skipping it for ever as it was."""
    out = tmp_path / "maps"
    die_before_class_names = (
        "from landcover_hpc.maps import geotiff\n"
        "original = geotiff.write_text_atomic\n"
        "def write_text_atomic(path, text):\n"
        "    if str(path).endswith('.aux.xml'):\n"
        "        os.kill(os.getpid(), signal.SIGKILL)\n"
        "    original(path, text)\n"
        "geotiff.write_text_atomic = write_text_atomic")
    killed = _run(_patched(die_before_class_names, "rf", *_rf_predict(rf_model, store, out)))
    assert killed.returncode == -signal.SIGKILL
    assert {f"{TILE}_classes.tif", f"{TILE}_confidence.tif"} <= _listing(out)
    assert f"{TILE}_quicklook.png" not in _listing(out) and f".partial/{TILE}.json" in _listing(out)
    rerun = _run(_cli("rf", *_rf_predict(rf_model, store, out)))
    assert rerun.returncode == 0 and "up to date" in rerun.stdout, rerun.stderr
    assert _listing(out) == MAP_FILES
    _assert_same_maps(out, rf_reference)
    assert (out / f"{TILE}_classes.tif.aux.xml").read_text() == \
        (rf_reference / f"{TILE}_classes.tif.aux.xml").read_text()


def test_a_map_with_an_unwritten_window_is_not_signed(rf_model, store, rf_reference, tmp_path):
    """A record of done windows that the partial raster does not hold (what a second writer recreating the
    partial files did): the map is not finalised, the windows go back to the to-do list, the next run
    computes them."""
    out = tmp_path / "maps"
    stop_after_first_checkpoint = (
        "from landcover_hpc.maps import geotiff\n"
        "original = geotiff.MapWriter.checkpoint\n"
        "def checkpoint(self):\n"
        "    original(self)\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
        "geotiff.MapWriter.checkpoint = checkpoint")
    assert _run(_patched(stop_after_first_checkpoint, "rf", *_rf_predict(rf_model, store, out))).returncode < 0
    state_path = out / ".partial" / f"{TILE}.json"
    state = json.loads(state_path.read_text())
    assert len(state["done"]) == 1
    n_windows = len(plan_windows(66, 66, 32, 4))  # the tile, the window, the overlap of radius 1
    state["done"] = list(range(n_windows))
    state_path.write_text(json.dumps(state))
    lying = _run(_cli("rf", *_rf_predict(rf_model, store, out)))
    assert lying.returncode == 2, lying.stderr  # one line, a user-visible state to rerun, not a bug (70)
    assert f"windows {list(range(1, n_windows))} of {n_windows} are not written" in lying.stderr
    assert not (out / f"{TILE}_classes.tif").exists()
    assert json.loads(state_path.read_text())["done"] == [0]
    rerun = _run(_cli("rf", *_rf_predict(rf_model, store, out)))
    assert rerun.returncode == 0, rerun.stderr
    _assert_same_maps(out, rf_reference)
    assert _listing(out) == MAP_FILES


def test_a_training_run_folder_has_one_owner(store, tmp_path):
    """landcover-train on a run folder that another live run owns is refused before it writes anything."""
    from landcover_hpc.config.train import load_config
    from landcover_hpc.errors import OutputBusyError
    from landcover_hpc.locks import OutputLock
    from landcover_hpc.training.trainer import train

    run_dir = tmp_path / "run"
    config = load_config(None, [f"output.run_dir={run_dir}", f"data.store={store}"])
    owner = OutputLock(run_dir, "a training run").acquire()  # an own file description: another run to flock
    try:
        with pytest.raises(OutputBusyError, match=f"{run_dir} is locked by another run .host "
                                                  f"{socket.gethostname()}, PID {os.getpid()},"):
            train(config)
    finally:
        owner.release()
    assert not run_dir.exists() and not (tmp_path / ".run.lock").exists()


def test_a_training_run_folder_owner_removes_a_killed_runs_temporaries(store, tmp_path, monkeypatch):
    """What a killed run's atomic writes left in the run folder goes when the next run owns it; nothing else."""
    from landcover_hpc.config.train import load_config
    from landcover_hpc.training import trainer

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    debris = [run_dir / ".checkpoint.h5.k2x9_a0b.tmp", run_dir / ".history.csv.abcdefgh.tmp"]
    kept = [run_dir / "checkpoint.h5", run_dir / ".notes.txt.abcdefgh.tmp"]  # not a run file's temporary
    for path in debris + kept:
        path.write_text("x")
    monkeypatch.setattr(trainer, "_train", lambda config, resume: {"ran": True})
    config = load_config(None, [f"output.run_dir={run_dir}", f"data.store={store}"])
    assert trainer.train(config) == {"ran": True}
    assert not any(path.exists() for path in debris)
    assert all(path.exists() for path in kept)
