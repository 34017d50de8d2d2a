"""Exclusive ownership of an output: one run at a time writes a tile's maps, a tile store, a model file or a
training run folder.

A run takes the lock of its output target before it decides anything about it (up to date, resume, write)
and holds it until the output is complete, so that a retried Slurm task beside a slow one can neither skip a
half-written output nor write into it. The lock is ``fcntl.flock`` on ``.<target name>.lock`` beside the
target, holding the owner's host, PID and start time for the message a second run prints. The kernel
releases it when its owner dies, however (SIGKILL, out of memory), so a crashed run never blocks the next;
the owner removes the lock file when it releases the lock (a killed owner's file is taken over by the next).

A second run does not wait: it fails at once with :class:`~landcover_hpc.errors.OutputBusyError` (exit code
75, EX_TEMPFAIL: retry later), naming the target and its owner. Only the owner removes the temporaries a
killed run left (:func:`landcover_hpc.io.remove_temporaries`), never those of a live run.

Under MPI the rank that writes (rank 0) takes the lock and shares the outcome (:func:`lock_together`), so every
rank fails or goes on together.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import socket
import time
from pathlib import Path
from typing import Iterator

from .errors import OutputBusyError
from .io import output_error

__all__ = ["OutputLock", "lock_together", "locked_output"]

log = logging.getLogger(__name__)

# file systems without locks (Lustre mounted without -o flock, NFS without lockd): run unlocked, say so
_NO_LOCKS = (errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOLCK)


class OutputLock:
    """The lock of one output ``target`` (a file or folder), described as ``what`` in messages
    (e.g. "the maps of T31UDQ")."""

    def __init__(self, target: str | Path, what: str) -> None:
        self.target, self.what = Path(target), what
        self.path = self.target.parent / f".{self.target.name}.lock"
        self._fd: int | None = None

    def acquire(self) -> "OutputLock":
        """Take the lock, or raise OutputBusyError naming the live run that holds it (OutputError naming the
        target when its folder cannot hold the lock file: read-only, a file in the way, disk full)."""
        while True:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
            except OSError as exc:
                raise output_error(exc, self.target) from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                owner = _read_owner(fd)
                os.close(fd)
                raise OutputBusyError(
                    f"{self.target} is locked by another run ({owner}) writing {self.what}: wait for it to end "
                    f"or retry later (its lock {self.path.name} goes when it ends, even if killed)") from None
            except OSError as exc:
                if exc.errno not in _NO_LOCKS:
                    os.close(fd)
                    raise
                log.warning(f"the file system of {self.path} has no locks: a concurrent run writing "
                            f"{self.target} would not be detected")
            # the previous owner removes the file as it releases it: make sure ours is the one at the path now
            with contextlib.suppress(FileNotFoundError):
                if os.path.samestat(os.fstat(fd), os.stat(self.path)):
                    break
            os.close(fd)
        os.ftruncate(fd, 0)
        os.write(fd, f"host {socket.gethostname()}, PID {os.getpid()}, since "
                     f"{time.strftime('%Y-%m-%d %H:%M:%S')}\n".encode())
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is None:
            return
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)  # still locked: no other run can hold this file now
        os.close(self._fd)
        self._fd = None


def _read_owner(fd: int) -> str:
    """The owner line of a held lock (the owner writes it just after locking: look twice)."""
    for attempt in range(2):
        text = os.pread(fd, 200, 0).decode(errors="replace").strip()
        if text:
            return text
        time.sleep(0.2)
    return "owner not yet recorded"


def lock_together(target: str | Path, what: str, comm=None) -> OutputLock | None:
    """Rank 0 of ``comm`` (or this process, ``comm`` None) takes the lock of ``target``; collective.

    Returns the held lock on rank 0, None on the other ranks. Raises OutputBusyError on every rank when
    another run holds it, or rank 0's error (the others saying that it failed) if locking failed otherwise.
    """
    from .parallel import raise_together

    lock, error = None, None
    if comm is None or comm.Get_rank() == 0:
        try:
            lock = OutputLock(target, what).acquire()
        except Exception as exc:  # noqa: BLE001 - every rank raises, below
            error = exc
    busy = str(error) if isinstance(error, OutputBusyError) else None
    if comm is not None:
        busy = comm.bcast(busy, root=0)
    if busy is not None:
        error = error if error is not None else OutputBusyError(busy)
        error.raised_by_all_ranks = True  # every rank raises it: the command-line shell need not abort the job
        raise error
    raise_together(comm, error, f"locking {target}")
    return lock


@contextlib.contextmanager
def locked_output(target: str | Path, what: str, comm=None) -> Iterator[OutputLock | None]:
    """Hold the lock of ``target`` (rank 0 of ``comm``) for the block: see :func:`lock_together`."""
    lock = lock_together(target, what, comm)
    try:
        yield lock
    finally:
        if lock is not None:
            lock.release()
