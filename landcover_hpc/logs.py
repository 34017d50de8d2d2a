"""The log lines of every ``landcover-*`` command: one setup, through :mod:`logging`.

The library logs through one logger per module (``logging.getLogger(__name__)``, under ``landcover_hpc``);
progress lines (:mod:`landcover_hpc.progress`) are INFO records. A command (``cli._common.run_cli``) wraps
its run in :func:`command_logging`, which gives each line an ISO 8601 timestamp, the level, the MPI rank and
the command, on stderr and, with ``--log-file``, appended to a file::

    2024-06-01T03:12:45.123+02:00 INFO rank 0 landcover-predict: predict T31UDQ:  42.0% (1.2M/2.9M px) ...

Under an MPI launcher only rank 0 logs INFO (and DEBUG when asked); the other ranks log warnings and errors
only, as their progress lines are rank 0's. A log file is per rank, so that ranks on several nodes never
write into one file: rank 0 writes ``--log-file`` itself, rank N ``<stem>.rankN<suffix>`` beside it,
created at its first line (a rank with nothing to say leaves no file). Files are appended to: a requeued or
rerun job adds to its log.

Results that a command prints for users or machines (JSON, tables, ``--print-config``) stay on stdout; they
are not log lines.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from datetime import datetime
from pathlib import Path
from typing import Callable, Iterator

from .parallel import launch_rank

__all__ = ["LEVELS", "command_logging", "rank_log_file"]

#: the levels of ``--log-level``
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
_PACKAGE = "landcover_hpc"
_CONSOLE = "landcover_console"  # a record attribute: False keeps the record off stderr (file only)


class _Formatter(logging.Formatter):
    """``<ISO time> <LEVEL> rank <r> <prog>: <message>``."""

    def __init__(self, prog: str, rank: int) -> None:
        super().__init__(f"%(asctime)s %(levelname)s rank {rank} {prog.replace('%', '%%')}: %(message)s")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        return datetime.fromtimestamp(record.created).astimezone().isoformat(timespec="milliseconds")


def rank_log_file(log_file: str | Path, rank: int) -> Path:
    """The log file of ``rank``: ``log_file`` for rank 0, ``<stem>.rank<rank><suffix>`` beside it for the
    others (``produce.log`` -> ``produce.rank2.log``)."""
    path = Path(log_file)
    return path if rank == 0 else path.with_name(f"{path.stem}.rank{rank}{path.suffix}")


@contextlib.contextmanager
def command_logging(prog: str, level: str = "INFO",
                    log_file: str | Path | None = None) -> Iterator[Callable[..., None]]:
    """Log the package's records as the lines of command ``prog`` while the block runs (module docstring),
    then restore the logging set-up as it was.

    Args:
        level: one of :data:`LEVELS`; ranks other than 0 of an MPI job log WARNING and above whatever it is.
        log_file: also append the lines to this file (its folder is made), rank 0's; see :func:`rank_log_file`.

    Yields:
        ``to_file(level, message, exc_info=None)``: log a record to the log file only, not to stderr (the
        command's final error line, which :func:`~landcover_hpc.cli._common.run_cli` prints on stderr itself).

    Raises:
        OSError: the log file (of rank 0) cannot be opened for appending.
    """
    if level not in LEVELS:
        raise ValueError(f"log level {level!r}: expected one of {', '.join(LEVELS)}")
    rank = launch_rank()
    logger = logging.getLogger(_PACKAGE)
    saved = logger.level, logger.propagate, list(logger.handlers)
    console = logging.StreamHandler(sys.stderr)
    console.addFilter(lambda record: getattr(record, _CONSOLE, True))
    handlers: list[logging.Handler] = [console]
    if log_file is not None:
        path = rank_log_file(log_file, rank)
        path.parent.mkdir(parents=True, exist_ok=True)
        # the other ranks open theirs at their first line: most have nothing to say
        handlers.append(logging.FileHandler(path, encoding="utf-8", delay=rank != 0))
    formatter = _Formatter(prog, rank)
    for handler in handlers:
        handler.setFormatter(formatter)
    logger.handlers = handlers
    logger.setLevel(level if rank == 0 else max(logging.getLevelName(level), logging.WARNING))
    logger.propagate = False  # a handler that TensorFlow/absl put on the root logger would repeat each line

    def to_file(record_level: int, message: str, exc_info: BaseException | None = None) -> None:
        logger.log(record_level, message, exc_info=exc_info, extra={_CONSOLE: False})

    try:
        yield to_file
    finally:
        for handler in handlers:
            handler.close()
        logger.handlers = saved[2]
        logger.setLevel(saved[0])
        logger.propagate = saved[1]
