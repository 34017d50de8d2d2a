"""The batch scripts of slurm/ run for real under a single-node Slurm (``slurm_cluster``, tests/slurm/conftest.py):
training on 3 ranks started by srun, a prediction array over the test tiles, and a training job that a stop
signal stops and requeues and that resumes from its checkpoint.

The jobs are submitted from a temporary folder (their logs and relative paths land there) with the
repository and its Python given by LANDCOVER_HPC_HOME and LANDCOVER_VENV.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slurm, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
# One rank per task with one core each: the node has 16 configured CPUs, the machine may have 2
SMALL = ("--nodes=1", "--cpus-per-task=1", "--time=10")
TINY_TRAINING = ("model.name=mlp", "training.batch_size=2", "training.validation_batches=1")


@pytest.fixture(scope="module")
def slurm(slurm_cluster):
    """The cluster, with the environment its jobs inherit (sbatch exports it): this checkout and its Python."""
    slurm_cluster.env.update(LANDCOVER_HPC_HOME=str(REPO), LANDCOVER_VENV=sys.prefix,
                             PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    return slurm_cluster


def _job_log(submit_dir: Path, job_id: str) -> str:
    logs = list(submit_dir.glob(f"*-{job_id}*.out"))
    return "\n".join(log.read_text(errors="replace") for log in sorted(logs))


@pytest.fixture(scope="module")
def training_job(slurm, tmp_path_factory, train_store):
    """`sbatch slurm/train_fgunet.sh` on 1 node x 3 tasks (tiny MLP): (job id, submit folder, run folder)."""
    submit = tmp_path_factory.mktemp("train_job")
    out = slurm.sbatch(*SMALL, "--ntasks-per-node=3", str(REPO / "slurm/train_fgunet.sh"), f"data.store={train_store}",
                       "output.run_dir=run", *TINY_TRAINING, "training.epochs=1", "training.batches_per_epoch=3",
                       cwd=submit)
    job_id = out.stdout.strip().split(";")[0]
    assert out.returncode == 0, out.stderr + _job_log(submit, job_id) + slurm.log_tail()
    return job_id, submit, submit / "run"


def test_training_job_completes_on_three_ranks(slurm, training_job):
    job_id, submit, run_dir = training_job
    job = slurm.job(job_id)
    assert (job["JobState"], job["ExitCode"]) == ("COMPLETED", "0:0")
    log = _job_log(submit, job_id)
    assert "3 rank(s)" in log and "validation OA" in log, log  # one Horovod job of 3 ranks, not 3 singletons
    assert (run_dir / "final_model.h5").is_file()


def test_prediction_array_maps_every_tile(slurm, training_job, train_store, synth_tiles, tmp_path):
    _, _, run_dir = training_job
    (tmp_path / "tiles.txt").write_text("".join(f"{tile}\n" for tile in synth_tiles))
    out = slurm.sbatch(*SMALL, f"--array=1-{len(synth_tiles)}", str(REPO / "slurm/predict_tiles.sh"), "tiles.txt",
                       str(run_dir / "final_model.h5"), str(train_store), "maps", cwd=tmp_path)
    job_id = out.stdout.strip().split(";")[0]
    assert out.returncode == 0, out.stderr + _job_log(tmp_path, job_id) + slurm.log_tail()
    tasks = slurm.jobs(job_id)
    assert sorted(t["ArrayTaskId"] for t in tasks) == [str(i) for i in range(1, len(synth_tiles) + 1)]
    assert {(t["JobState"], t["ExitCode"]) for t in tasks} == {("COMPLETED", "0:0")}
    for tile in synth_tiles:
        assert (tmp_path / "maps" / f"{tile}_classes.tif").is_file(), sorted(os.listdir(tmp_path / "maps"))


def test_srun_without_mpi_plugin_fails_with_one_line_instead_of_independent_runs(slurm, train_store, tmp_path):
    """srun with no MPI plugin (SLURM_MPI_TYPE=none, as with MpiDefault=none) would start 2 unrelated
    trainings on the same run folder: each task stops with exit code 2 and the job is not requeued."""
    out = slurm.sbatch(*SMALL, "--ntasks-per-node=2", "--export=ALL,SLURM_MPI_TYPE=none", str(REPO / "slurm/train.sh"),
                       "configs/mlp.yaml", f"data.store={train_store}", "output.run_dir=run", *TINY_TRAINING,
                       cwd=tmp_path)
    job_id = out.stdout.strip().split(";")[0]
    log = _job_log(tmp_path, job_id)
    assert out.returncode == 2, out.stderr + log
    state = slurm.job(job_id)
    assert (state["JobState"], state["ExitCode"], state["Restarts"]) == ("FAILED", "2:0", "0"), state
    assert log.count("landcover-train: error: srun started 2 tasks without MPI") == 2, log
    assert "--mpi=pmix" in log and not (tmp_path / "run" / "checkpoint.h5").exists()


def test_stop_signal_requeues_the_training_job_which_resumes_from_its_checkpoint(slurm, train_store, tmp_path):
    """USR1 to the batch shell (what --signal=B:USR1@300 sends before the time limit): the ranks stop after a
    batch with a checkpoint, landcover-train exits 99, slurm/requeue.sh requeues the job, and the requeued
    job resumes from the checkpoint and completes."""
    job = subprocess.Popen(["sbatch", "--wait", "--parsable", *SMALL, "--ntasks-per-node=2",
                            str(REPO / "slurm/train.sh"), "configs/mlp.yaml", f"data.store={train_store}",
                            "output.run_dir=run", *TINY_TRAINING, "training.epochs=1",
                            "training.batches_per_epoch=60"],
                           cwd=tmp_path, env=slurm.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # the ranks catch stop signals from before this line on (landcover-train installs its handlers first)
        job_id = _wait_for_log(job, tmp_path, "starting from scratch")
        slurm.run("scancel", "--signal=USR1", "--batch", job_id)
        _, err = job.communicate(timeout=300)
    finally:
        if job.poll() is None:
            job.kill()
    log = _job_log(tmp_path, job_id)
    assert job.returncode == 0, err + log + slurm.log_tail()
    state = slurm.job(job_id)
    assert (state["JobState"], state["Restarts"]) == ("COMPLETED", "1"), state
    assert "stopped by SIGUSR1" in log and f"requeueing job {job_id}" in log, log
    assert "resuming from run/checkpoint.h5: epoch 1, step " in log, log
    assert (tmp_path / "run" / "final_model.h5").is_file()


def _wait_for_log(job: subprocess.Popen, submit: Path, text: str, timeout: float = 240) -> str:
    """Wait until the job's log shows ``text``; return the job id."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert job.poll() is None, job.communicate()
        logs = list(submit.glob("*.out"))
        if logs and text in logs[0].read_text(errors="replace"):
            return logs[0].stem.rsplit("-", 1)[1]
        time.sleep(0.2)
    raise AssertionError(f"no {text!r} in the job log after {timeout} s")


def test_nightly_runs_a_task_per_tile_then_the_mosaic_and_report_despite_a_broken_tile(
        slurm, synth_root, synth_tiles, train_store, tmp_path):
    """slurm/nightly.sh: a tile array (one task per tile, its steps only) and, after it whatever its outcome
    (afterany), the run that mosaics and reports: the broken tile's task fails, the other completes, and the
    final job's manifest and report name the broken tile beside the mosaic of the other."""
    import shutil

    sys.path.insert(0, str(REPO / "tests" / "prediction"))
    from reference_maps import build_cnn

    good, broken = synth_tiles
    shutil.copytree(synth_root, tmp_path / "tiles")
    stack = tmp_path / "tiles" / broken / "stack.tif"
    os.truncate(stack, stack.stat().st_size // 2)
    model = build_cnn(train_store, tmp_path / "fgunet.h5")
    (tmp_path / "production.yaml").write_text(
        f"input: tiles\nmodel: {model}\nout: out\ncrs: EPSG:2154\n"
        "prepare: {patch_size: 32, stride: 16}\npredict: {window: 64, overlap: 8}\n")
    submit = subprocess.run([str(REPO / "slurm/nightly.sh"), "--sbatch=--cpus-per-task=1", "--sbatch=--time=10",
                             "--log-dir", "logs", "--config", "production.yaml"],
                            cwd=tmp_path, env=slurm.env, capture_output=True, text=True, timeout=120)
    assert submit.returncode == 0, submit.stderr
    ids = dict(line.rsplit(": ", 1) for line in submit.stdout.splitlines() if line.endswith(tuple("0123456789")))
    array_job, final_job = ids["tile array job"], ids["mosaic and report job"]
    assert slurm.job(final_job)["Dependency"].startswith((f"afterany:{array_job}", "(null)"))

    deadline = time.monotonic() + 400
    while slurm.job(final_job)["JobState"] in ("PENDING", "RUNNING", "CONFIGURING", "COMPLETING"):
        assert time.monotonic() < deadline, _job_log(tmp_path / "logs", array_job) + slurm.log_tail()
        time.sleep(1)
    logs = _job_log(tmp_path / "logs", array_job) + _job_log(tmp_path / "logs", final_job)
    listed = next((tmp_path / "logs").glob("nightly-*-tiles.txt")).read_text().split()  # task i: line i
    assert sorted(listed) == sorted(synth_tiles)
    tasks = {listed[int(t["ArrayTaskId"]) - 1]: (t["JobState"], t["ExitCode"]) for t in slurm.jobs(array_job)}
    assert tasks == {good: ("COMPLETED", "0:0"), broken: ("FAILED", "3:0")}, logs
    final = slurm.job(final_job)
    assert (final["JobState"], final["ExitCode"]) == ("FAILED", "3:0"), logs  # it ran: 3 = some tiles failed

    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["result"] == "partial" and manifest["failed"] == [broken], logs
    assert manifest["tiles"][good]["status"] == "skipped-up-to-date"  # made by its array task
    assert f"{broken}/stack.tif" in manifest["tiles"][broken]["error"]
    assert manifest["mosaic"]["status"] == "done" and manifest["mosaic"]["tiles"] == [good]
    assert (tmp_path / "out" / "mosaic" / "mosaic_classes.tif").is_file()
    report = (tmp_path / "out" / "report.md").read_text()
    assert f"| {broken} | failed |" in report and f"- {broken}: " in report
