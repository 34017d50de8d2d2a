"""Every MPI call of the sampler: plan broadcast, the patch exchange, small metadata and error agreement.

Patches travel in one ``Alltoallv`` per batch, as contiguous int16 buffers of ``(P, P, T*C [+ T1*2] + 1)``
patches (the stack's channels, the Sentinel-1 channels of a Sentinel-1 model, one label channel), with a committed contiguous datatype of one patch so that
counts are in patches and never overflow MPI's 32-bit counts, whatever the patch size. ``comm`` may be None
(a serial run without MPI): every function then does the one-rank equivalent without importing mpi4py.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["rank_and_size", "duplicate", "ranks_on_node", "broadcast_object", "broadcast_plan",
           "exchange_patches", "free"]


def rank_and_size(comm) -> tuple[int, int]:
    return (0, 1) if comm is None else (comm.Get_rank(), comm.Get_size())


def duplicate(comm):
    """A private copy of ``comm`` (collective), so the sampler's collectives never match anybody else's."""
    return None if comm is None else comm.Dup()


def free(comm) -> None:
    if comm is not None:
        comm.Free()


def ranks_on_node(comm) -> int:
    """Number of ranks of ``comm`` sharing this node's memory (collective)."""
    if comm is None:
        return 1
    from mpi4py import MPI

    local = comm.Split_type(MPI.COMM_TYPE_SHARED)
    try:
        return local.Get_size()
    finally:
        local.Free()


def broadcast_object(comm, value: Any, root: int = 0) -> Any:
    """Small metadata (a few KB) from ``root`` to every rank."""
    return value if comm is None else comm.bcast(value, root=root)


def broadcast_plan(comm, table: np.ndarray | None, n_patches: int, n_fields: int) -> np.ndarray:
    """Rank 0's (B, F) int64 plan table on every rank (``table`` is ignored on the other ranks)."""
    if comm is None:
        return np.ascontiguousarray(table, dtype=np.int64)
    buffer = (np.ascontiguousarray(table, dtype=np.int64) if comm.Get_rank() == 0
              else np.empty((n_patches, n_fields), dtype=np.int64))
    from mpi4py import MPI

    comm.Bcast([buffer, MPI.INT64_T], root=0)
    return buffer


def exchange_patches(comm, send: np.ndarray, send_counts: np.ndarray, receive_counts: np.ndarray) -> np.ndarray:
    """One Alltoallv: rank i's ``send_counts[j]`` patches (consecutive in ``send``) go to rank j.

    Args:
        send: (n_send, P, P, L) int16 patches ordered by destination rank.
        send_counts: (N,) patches to each rank; ``send_counts.sum() == n_send``.
        receive_counts: (N,) patches from each rank.
    Returns:
        (receive_counts.sum(), P, P, L) int16, blocks in source-rank order.
    """
    receive = np.empty((int(receive_counts.sum()),) + send.shape[1:], dtype=np.int16)
    if comm is None:
        receive[...] = send
        return receive
    from mpi4py import MPI

    patch_type = MPI.INT16_T.Create_contiguous(int(np.prod(send.shape[1:]))).Commit()
    try:
        def spec(buffer: np.ndarray, counts: np.ndarray):
            counts = np.asarray(counts, dtype=np.int64)
            displacements = np.concatenate([[0], np.cumsum(counts)[:-1]])
            return [buffer, (counts.tolist(), displacements.tolist()), patch_type]

        comm.Alltoallv(spec(np.ascontiguousarray(send), send_counts), spec(receive, receive_counts))
    finally:
        patch_type.Free()
    return receive
