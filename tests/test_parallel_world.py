"""parallel.world: who am I in the job, and the launch that cannot form one MPI job."""

import pytest

from landcover_hpc.errors import LaunchError, LandcoverError
from landcover_hpc.parallel import world


@pytest.fixture
def no_mpi_launcher(monkeypatch):
    for var in ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS", "SLURM_STEP_NUM_TASKS"):
        monkeypatch.delenv(var, raising=False)
    return monkeypatch


def test_a_process_without_launcher_is_rank_0_of_1(no_mpi_launcher):
    assert world() == (None, 0, 1)
    no_mpi_launcher.setenv("SLURM_STEP_NUM_TASKS", "1")  # `srun -n 1` or a batch step
    assert world() == (None, 0, 1)


def test_srun_tasks_without_mpi_are_refused(no_mpi_launcher):
    """srun with MpiDefault=none starts N independent copies that would write the same run folder."""
    no_mpi_launcher.setenv("SLURM_STEP_NUM_TASKS", "3")
    no_mpi_launcher.setenv("SLURM_MPI_TYPE", "none")
    with pytest.raises(LaunchError, match=r"srun started 3 tasks without MPI .*SLURM_MPI_TYPE=none.*--mpi=pmix") as exc:
        world()
    assert isinstance(exc.value, LandcoverError) and "\n" not in str(exc.value)
