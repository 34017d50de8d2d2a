"""The batch scripts: syntax, shellcheck, a real run of the training script outside Slurm, and the
stop-signal requeue of slurm/requeue.sh with stand-ins for srun and scontrol."""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from landcover_hpc.parallel import launch_environment

SCRIPTS = sorted(Path("slurm").glob("*.sh")) + sorted(Path("scripts").glob("*.sh"))


@pytest.mark.parametrize("script", SCRIPTS, ids=str)
def test_bash_syntax(script):
    subprocess.run(["bash", "-n", str(script)], check=True)


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck is installed by scripts/install.sh")
def test_shellcheck_is_clean():
    out = subprocess.run(["shellcheck", *map(str, SCRIPTS)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout


@pytest.mark.slow
def test_train_fgunet_script_runs_with_mpirun(tmp_path, train_store):
    """`sbatch slurm/train_fgunet.sh` as Slurm would run it (LAUNCHER=mpirun instead of srun), on 2 ranks."""
    env = launch_environment()
    env.update(LANDCOVER_HPC_HOME=str(Path.cwd()), LANDCOVER_VENV=sys.prefix, LAUNCHER="mpirun", SLURM_CPUS_PER_TASK="1",
               OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_rmaps_base_oversubscribe="1", PATH=f"{Path(sys.executable).parent}:{env['PATH']}")
    run_dir = tmp_path / "run"
    out = subprocess.run(["bash", "slurm/train_fgunet.sh", f"data.store={train_store}", f"output.run_dir={run_dir}",
                          "model.name=mlp", "training.epochs=1", "training.batches_per_epoch=2",
                          "training.batch_size=2", "training.validation_batches=1"],
                         capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert "validation OA" in out.stderr and (run_dir / "final_model.h5").is_file()


# Stand-in for srun: records its arguments; with FAKE_EXIT exits at once with that code, else waits for USR1
# (what srun forwards to landcover-train) and exits as landcover-train then does (99, EXIT_REQUEUE).
FAKE_SRUN = """#!/usr/bin/env bash
printf '%s\\n' "$@" > "$FAKE_DIR/srun.args"
if [ -n "${FAKE_EXIT:-}" ]; then exit "$FAKE_EXIT"; fi
trap 'echo USR1 > "$FAKE_DIR/srun.signal"; kill "$sleeper"; exit 99' USR1
sleep 60 &
sleeper=$!
touch "$FAKE_DIR/srun.started"
wait "$sleeper"
exit 1
"""
FAKE_SCONTROL = """#!/usr/bin/env bash
echo "$@" >> "$FAKE_DIR/scontrol.calls"
"""


def _fake_slurm(tmp_path, **env_extra):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in (("srun", FAKE_SRUN), ("scontrol", FAKE_SCONTROL)):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "FAKE_DIR": str(tmp_path),
           "LANDCOVER_HPC_HOME": str(Path.cwd()), "SLURM_JOB_ID": "4242", **env_extra}
    return env


def _wait_for(path, process, timeout=60):
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


@pytest.mark.reliability
@pytest.mark.parametrize("signum", [signal.SIGUSR1, signal.SIGTERM], ids=["USR1", "TERM"])
def test_stop_signal_to_the_batch_shell_requeues_the_job(tmp_path, signum):
    """Slurm's --signal=B:USR1 (or TERM on preemption) reaches the training as USR1; its exit code 99 requeues
    the job, which runs the same --resume command again."""
    from landcover_hpc.cli._common import EXIT_REQUEUE

    job = subprocess.Popen(["bash", "slurm/train_fgunet.sh", "training.epochs=3"], env=_fake_slurm(tmp_path),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for(tmp_path / "srun.started", job)
    job.send_signal(signum)
    out, err = job.communicate(timeout=60)
    assert job.returncode == EXIT_REQUEUE == 99, out + err
    assert (tmp_path / "srun.signal").read_text() == "USR1\n"
    assert (tmp_path / "scontrol.calls").read_text() == "requeue 4242\n"
    args = (tmp_path / "srun.args").read_text().split()
    assert args[-4:] == ["--config", "configs/fgunet.yaml", "--resume", "training.epochs=3"]
    assert "requeueing job 4242" in out


@pytest.mark.reliability
@pytest.mark.parametrize("code", [0, 2])
def test_other_exit_codes_do_not_requeue(tmp_path, code):
    out = subprocess.run(["bash", "slurm/train.sh", "configs/unet.yaml"], capture_output=True, text=True, timeout=60,
                         env=_fake_slurm(tmp_path, FAKE_EXIT=str(code)))
    assert out.returncode == code, out.stdout + out.stderr
    assert not (tmp_path / "scontrol.calls").exists()


def test_batch_scripts_ask_for_the_stop_signal_and_requeue():
    for script in ("slurm/train.sh", "slurm/train_fgunet.sh", "slurm/predict_tiles.sh", "slurm/produce.sh"):
        text = Path(script).read_text()
        for line in ("#SBATCH --requeue", "#SBATCH --open-mode=append", "#SBATCH --signal=B:USR1@"):
            assert line in text, (script, line)
    assert Path("slurm/train.sh").read_text().count("run_requeueable") == 2
    assert 'run_requeueable "$VENV/bin/landcover-predict"' in Path("slurm/predict_tiles.sh").read_text()
    assert 'run_requeueable "$VENV/bin/python" -m landcover_hpc.cli.produce' in Path("slurm/produce.sh").read_text()
