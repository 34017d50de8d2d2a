"""Graceful stop of long jobs on SIGTERM and SIGUSR1, at a point from which a rerun resumes exactly.

Slurm sends SIGTERM at the time limit and on preemption (then SIGKILL after ``KillWait``), and the signal
asked for with ``#SBATCH --signal`` some minutes before the limit (the scripts in ``slurm/`` ask for
SIGUSR1). Inside :func:`stop_signals` the handler only records the signal; the job polls
:func:`stop_requested` at its safe points (training: after a batch; prediction: after a round of windows),
writes its resume record there and raises :class:`StopRequested`, which the command-line shells turn into
exit code ``EXIT_REQUEUE`` (99, see :mod:`landcover_hpc.cli._common`). Under MPI the ranks agree at each
safe point (one allreduce of an int), so every rank stops at the same step even when only one got the signal.
Outside such a block, :func:`unwind_on_sigterm` makes SIGTERM unwind the stack as Ctrl-C does
(:class:`Terminated`), so that the ``finally`` blocks of atomic writes remove their temporaries.
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Iterator

import numpy as np

__all__ = ["STOP_SIGNALS", "StopRequested", "Terminated", "stop_signals", "stop_requested", "received_signal_name",
           "unwind_on_sigterm"]

STOP_SIGNALS = (signal.SIGTERM, signal.SIGUSR1)
_received: list[int] = []  # signals recorded while stop_signals() is active (written by the handler only)


class StopRequested(Exception):
    """A stop signal was received: the job wrote its resume record and stopped; rerun it to continue."""


class Terminated(BaseException):
    """SIGTERM outside :func:`stop_signals`: raised where the process stands, like KeyboardInterrupt (not an
    Exception, so that no ``except Exception`` takes it for an error), instead of the default action, which
    kills the process before its ``finally`` blocks run."""


def _raise_terminated(signum: int, _frame) -> None:
    raise Terminated(signal.Signals(signum).name)


@contextmanager
def unwind_on_sigterm() -> Iterator[None]:
    """Turn SIGTERM into :class:`Terminated` for the duration of the block (a :func:`stop_signals` block inside
    it records the signal instead). Outside the main thread it does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _record(signum: int, _frame) -> None:
    _received.append(signum)  # nothing else: the job stops at its next safe point


@contextmanager
def stop_signals() -> Iterator[None]:
    """Record SIGTERM and SIGUSR1 instead of dying of them, for the duration of the block.

    Outside the main thread (where Python cannot install handlers) or when already active, it does nothing.
    """
    if threading.current_thread() is not threading.main_thread() or \
            signal.getsignal(signal.SIGTERM) is _record:
        yield
        return
    previous = {s: signal.signal(s, _record) for s in STOP_SIGNALS}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        _received.clear()


def stop_requested(comm=None) -> bool:
    """Whether a stop signal was received: by this process, or with ``comm`` by any of its ranks
    (collective: every rank of ``comm`` calls it at the same point)."""
    flag = np.array([1 if _received else 0], np.int32)
    if comm is not None:
        from mpi4py import MPI

        comm.Allreduce(MPI.IN_PLACE, flag, op=MPI.MAX)
    return bool(flag[0])


def received_signal_name() -> str:
    """``SIGTERM`` or ``SIGUSR1`` (the first received), or ``a stop signal`` on a rank that only agreed."""
    return signal.Signals(_received[0]).name if _received else "a stop signal"
