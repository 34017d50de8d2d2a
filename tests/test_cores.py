"""One core count for TensorFlow threads, gap-filling processes and the forest's threads."""

import os

from landcover_hpc.gapfill.tile import GapfillOptions
from landcover_hpc.parallel import available_cores
from landcover_hpc.runtime import cores_per_rank


def test_the_cores_a_process_may_use_are_its_affinity(monkeypatch):
    assert available_cores() == len(os.sched_getaffinity(0))
    monkeypatch.setattr("landcover_hpc.parallel.os.sched_getaffinity", lambda pid: {0, 1, 2, 3, 4, 5})
    for var in ("SLURM_CPUS_PER_TASK", "OMP_NUM_THREADS", "OMPI_COMM_WORLD_LOCAL_SIZE", "SLURM_NTASKS_PER_NODE",
                "MPI_LOCALNRANKS"):
        monkeypatch.delenv(var, raising=False)
    assert available_cores() == 6 == GapfillOptions().n_processes()
    monkeypatch.setenv("OMPI_COMM_WORLD_LOCAL_SIZE", "3")
    assert cores_per_rank() == 2  # the node's cores shared by its ranks
    assert GapfillOptions(processes=2).n_processes() == 2


def test_horovods_cycle_time_defaults_to_20_ms_unless_set(monkeypatch):
    from landcover_hpc.runtime import configure_horovod

    monkeypatch.delenv("HOROVOD_CYCLE_TIME", raising=False)
    configure_horovod()
    assert os.environ["HOROVOD_CYCLE_TIME"] == "20"
    monkeypatch.setenv("HOROVOD_CYCLE_TIME", "5")
    configure_horovod()
    assert os.environ["HOROVOD_CYCLE_TIME"] == "5"
