"""TensorFlow runtime settings of a rank: threads from the allocation, precision, log level.

Threads: each rank uses the cores it was given and no more, so that ranks sharing a node do not
oversubscribe it. In order of precedence, the cores of a rank are ``--threads``, ``SLURM_CPUS_PER_TASK``,
``OMP_NUM_THREADS``, else the cores this process may run on divided by the ranks on its node
(``OMPI_COMM_WORLD_LOCAL_SIZE`` / ``SLURM_NTASKS_PER_NODE``). TensorFlow gets that many intra-op threads and
2 inter-op threads (the graphs of these models are chains: little to run in parallel), and OpenMP/oneDNN the
same count. Must run before TensorFlow executes anything.

Precision ``auto``: bfloat16 where the CPU computes it natively (x86 flags ``amx_bf16`` or ``avx512_bf16``),
float32 elsewhere. Without those units TensorFlow emulates bfloat16 (Eigen's generic kernels for the
convolutions' gradients): a training step is about 9x slower than in float32 on an AVX2 CPU
(benchmarks/README.md, "bfloat16 without bfloat16 units"), where with AMX it is 2x faster.
"""

from __future__ import annotations

import os
from pathlib import Path

from .parallel import available_cores

__all__ = ["cores_per_rank", "configure_tensorflow", "configure_horovod", "native_bfloat16", "resolve_precision"]

#: Horovod's cycle time (ms) unless the user sets ``HOROVOD_CYCLE_TIME``: see :func:`configure_horovod`.
HOROVOD_CYCLE_TIME_MS = 20

#: CPU flags (``/proc/cpuinfo``) of units that compute bfloat16 natively.
BFLOAT16_FLAGS = ("amx_bf16", "avx512_bf16")


def cores_per_rank(threads: int | None = None) -> int:
    """Cores this rank should use (see the module docstring for the order of precedence)."""
    if threads:
        return max(1, int(threads))
    for var in ("SLURM_CPUS_PER_TASK", "OMP_NUM_THREADS"):
        if os.environ.get(var, "").isdigit() and int(os.environ[var]) > 0:
            return int(os.environ[var])
    local = next((int(os.environ[v]) for v in ("OMPI_COMM_WORLD_LOCAL_SIZE", "SLURM_NTASKS_PER_NODE", "MPI_LOCALNRANKS")
                  if os.environ.get(v, "").isdigit()), 1)
    return max(1, available_cores() // max(local, 1))


def configure_tensorflow(threads: int | None = None) -> int:
    """Set TensorFlow's and OpenMP's thread counts for this rank; return the intra-op thread count."""
    n = cores_per_rank(threads)
    os.environ.setdefault("OMP_NUM_THREADS", str(n))
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(n)
        tf.config.threading.set_inter_op_parallelism_threads(2)
    except RuntimeError:  # TensorFlow already initialised (e.g. in a test session): keep its settings
        pass
    return n


def configure_horovod() -> None:
    """Horovod's background thread wakes every cycle to negotiate which tensors are ready (Horovod's default: 1 ms);
    on nodes whose cores are all given to the ranks, those wake-ups take CPU from the compute. 20 ms: the demo's
    2-rank epochs 1.5x faster on a 2-core AVX2 node, the same weights (benchmarks/README.md, "Horovod's cycle
    time"); at most 20 ms more per allreduce, under 2 % of a CPU step. ``HOROVOD_CYCLE_TIME`` overrides it.
    Must run before ``hvd.init()``."""
    os.environ.setdefault("HOROVOD_CYCLE_TIME", str(HOROVOD_CYCLE_TIME_MS))


def native_bfloat16(cpuinfo: str | Path = "/proc/cpuinfo") -> bool:
    """Whether this CPU computes bfloat16 natively (one of :data:`BFLOAT16_FLAGS`); False where unknown."""
    try:
        text = Path(cpuinfo).read_text()
    except OSError:
        return False
    flags = {flag for line in text.splitlines() if line.startswith("flags") for flag in line.split(":", 1)[1].split()}
    return any(flag in flags for flag in BFLOAT16_FLAGS)


def resolve_precision(precision: str | None) -> str | None:
    """``auto`` -> ``bfloat16`` where :func:`native_bfloat16`, else ``float32``; any other value unchanged."""
    if precision != "auto":
        return precision
    return "bfloat16" if native_bfloat16() else "float32"
