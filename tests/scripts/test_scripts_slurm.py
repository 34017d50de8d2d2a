"""The batch scripts: syntax, shellcheck, and a real run of the training script outside Slurm."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

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
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OMPI_", "PMIX_", "PMI_"))}
    env.update(LANDCOVER_HPC_HOME=str(Path.cwd()), LAUNCHER="mpirun", SLURM_CPUS_PER_TASK="1",
               OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_rmaps_base_oversubscribe="1", PATH=f"{Path(sys.executable).parent}:{env['PATH']}")
    run_dir = tmp_path / "run"
    out = subprocess.run(["bash", "slurm/train_fgunet.sh", f"data.store={train_store}", f"output.run_dir={run_dir}",
                          "model.name=mlp", "training.epochs=1", "training.batches_per_epoch=2",
                          "training.batch_size=2", "training.validation_batches=1"],
                         capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert "validation OA" in out.stdout and (run_dir / "final_model.h5").is_file()
