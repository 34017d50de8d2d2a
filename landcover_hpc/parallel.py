"""Where MPI is touched outside the sampler: who am I in the job, and how work is split.

Work is shaped as ``(split_index, num_splits)`` so one function serves a serial run, an MPI rank and a Slurm
array task alike. mpi4py is imported only when the process was started by an MPI launcher, so that plain
command-line use never initialises MPI.
"""

from __future__ import annotations

import os
from typing import Sequence, TypeVar

__all__ = ["available_cores", "launched_by_mpi", "launch_rank", "launch_environment", "world", "my_share",
           "raise_together"]

T = TypeVar("T")
_LAUNCHER_VARS = ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS")
_RANK_VARS = ("OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK")  # Open MPI, PMIx (srun --mpi=pmix), MPICH/Hydra


def available_cores() -> int:
    """Cores this process may run on: its CPU affinity (what Slurm or the MPI launcher bound it to), which
    ``os.cpu_count()`` ignores; the machine's count where affinity is unknown (macOS, Windows)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def launched_by_mpi() -> bool:
    return any(v in os.environ for v in _LAUNCHER_VARS)


def launch_rank() -> int:
    """This process's rank in its MPI job, read from what the launcher put in its environment (0 when no
    launcher started it): the rank :func:`world` gives, known before MPI starts and without importing mpi4py
    (the log lines are set up first, :mod:`landcover_hpc.logs`)."""
    for var in _RANK_VARS:
        value = os.environ.get(var, "")
        if value.isdigit():
            return int(value)
    return world()[1] if launched_by_mpi() else 0


def launch_environment(drop: Sequence[str] = ()) -> dict[str, str]:
    """This process's environment without its own MPI job's variables (Open MPI's, PMI's, PMIx's) and those
    starting with ``drop``: the environment to start another ``mpirun``/``srun`` job from this process, which
    would otherwise try to join this one."""
    prefixes = ("OMPI_", "PMIX_", "PMI_", *drop)
    return {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}


def world():
    """(comm, rank, size): ``MPI.COMM_WORLD`` under an MPI launcher, else ``(None, 0, 1)``.

    Raises:
        LaunchError: srun started several tasks without MPI (no PMI/PMIx in their environment): they would
            be as many independent runs writing the same outputs.
    """
    if not launched_by_mpi():
        tasks = os.environ.get("SLURM_STEP_NUM_TASKS", "1")
        if tasks.isdigit() and int(tasks) > 1:
            from .errors import LaunchError

            raise LaunchError(f"srun started {tasks} tasks without MPI (this srun gives them no PMI/PMIx, "
                              f"SLURM_MPI_TYPE={os.environ.get('SLURM_MPI_TYPE', 'unset')}): launch with "
                              "`srun --mpi=pmix` (or MpiDefault=pmix in slurm.conf), or with mpirun "
                              "(LAUNCHER=mpirun sbatch slurm/train.sh ...)")
        return None, 0, 1
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    return comm, comm.Get_rank(), comm.Get_size()


def my_share(items: Sequence[T], split_index: int, num_splits: int) -> list[T]:
    """The items of split ``split_index`` out of ``num_splits`` (round robin, order kept)."""
    return [item for i, item in enumerate(items) if i % num_splits == split_index]


def raise_together(comm, error: BaseException | None, what: str) -> None:
    """Raise on every rank of ``comm`` if any rank failed (collective: every rank must call it).

    The failing rank raises its own ``error``; the others raise an :class:`InputFormatError` saying that
    another rank failed while ``what`` (e.g. "preparing tiles/"). ``comm`` None: raise ``error`` if any.
    """
    if comm is not None:
        from mpi4py import MPI

        if comm.allreduce(int(error is None), op=MPI.MIN):
            return
    elif error is None:
        return
    if error is None:
        from .errors import InputFormatError

        error = InputFormatError(f"another rank failed while {what}: see its message")
    error.raised_by_all_ranks = True  # the command-line shell need not abort the job (cli._common.run_cli)
    raise error
