"""What every command-line shell shares: errors become one line on stderr, log lines are set up
(``--log-level``, ``--log-file``: :mod:`landcover_hpc.logs`), and the config-driven commands' one way to
parse, load their config (file, flags, overrides), print it or run.

Exit codes (``--debug`` adds the traceback to any error line):
- 0 done;
- 2 (``EXIT_USER_ERROR``) a problem the user can fix: a bad input, config or path, a corrupt or foreign file,
  a read-only folder, a full disk (every ``LandcoverError`` and every ``OSError``);
- 3 (``EXIT_PARTIAL``, ``landcover-produce``) done in part: some tiles (or the mosaic) failed, the others are
  done, the manifest and report name the failures with their one-line errors;
- 70 (``EXIT_INTERNAL_ERROR``, sysexits' EX_SOFTWARE) a bug: any other exception, summarised on one line;
- 75 (``EXIT_BUSY``, EX_TEMPFAIL) another live run owns the output (:mod:`landcover_hpc.locks`): retry later;
- 99 (``EXIT_REQUEUE``) a stop signal stopped the job at a resume point: rerun it to continue;
- 130 interrupted;
- 143 (``EXIT_TERMINATED``) SIGTERM where the command has no resume point to stop at (synth, prepare, rf train,
  ...): the stack unwound, so no temporary is left (:func:`landcover_hpc.interrupt.unwind_on_sigterm`).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import shlex
import signal
import socket
import sys
import traceback
from typing import Callable

from ..config.flags import comma_list, name_value
from ..errors import LandcoverError, OutputBusyError
from ..interrupt import StopRequested, Terminated, unwind_on_sigterm
from ..io import describe_os_error

__all__ = ["run_cli", "config_parser", "run_config_command", "comma_list", "name_value", "config_from_args",
           "print_config", "error_line", "EXIT_USER_ERROR", "EXIT_PARTIAL", "EXIT_INTERNAL_ERROR", "EXIT_BUSY",
           "EXIT_REQUEUE"]

log = logging.getLogger(__name__)

EXIT_USER_ERROR = 2
# landcover-produce finished every tile it could, but some tiles (or the mosaic) failed: see its manifest
EXIT_PARTIAL = 3
EXIT_INTERNAL_ERROR = 70  # sysexits.h EX_SOFTWARE
EXIT_BUSY = 75  # sysexits.h EX_TEMPFAIL: another run is writing the same output, retry later
# A stop signal (SIGTERM, SIGUSR1: Slurm's time limit, preemption, #SBATCH --signal) stopped the job at a
# resume point: rerun it (with --resume for landcover-train) to continue; slurm/requeue.sh requeues the job
# on this code (and only on it: a busy output, 75, is not a reason to requeue).
EXIT_REQUEUE = 99
EXIT_TERMINATED = 143  # 128 + SIGTERM, what a shell reports for a process killed by it


def run_cli(prog: str, body: Callable[[], int | None], debug: bool = False, log_level: str = "INFO",
            log_file: str | None = None) -> int:
    """Run ``body`` with the command's log lines set up (:func:`landcover_hpc.logs.command_logging`:
    ``log_level``, ``log_file``); an error becomes ``prog: error: <one line>`` on stderr and the exit code of
    its kind (module docstring), a :class:`~landcover_hpc.interrupt.StopRequested` ``prog: <message>`` and
    ``EXIT_REQUEUE``; ``debug`` prints the traceback first. That last line is also logged to the log file
    (ERROR, with the exit code; WARNING for a stop).

    Under an MPI launcher, a rank whose error the other ranks did not raise with it (see
    :func:`landcover_hpc.parallel.raise_together`) aborts the job after its line: the others may wait for
    it in a collective call and would hang.
    """
    from ..logs import command_logging

    if hasattr(signal, "SIGXFSZ"):  # past the file size limit (ulimit -f), write() fails with EFBIG instead
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    to_file: Callable[..., None] = lambda *args, **kwargs: None  # noqa: E731: until the log file is open
    with contextlib.ExitStack() as logging_:
        try:
            to_file = logging_.enter_context(command_logging(prog, log_level, log_file))
            with unwind_on_sigterm():  # the finally blocks of atomic writes remove their temporaries
                return int(body() or 0)
        except StopRequested as exc:  # every rank agreed to stop at the same resume point
            print(f"{prog}: {exc}", file=sys.stderr)
            to_file(logging.WARNING, f"{exc} (exit code {EXIT_REQUEUE})")
            return EXIT_REQUEUE
        except KeyboardInterrupt:
            print(f"{prog}: interrupted", file=sys.stderr)
            to_file(logging.WARNING, "interrupted (exit code 130)")
            return 130
        except Terminated as exc:  # SIGTERM where the command records no stop signal: nothing to resume
            print(f"{prog}: terminated by {exc}", file=sys.stderr)
            to_file(logging.WARNING, f"terminated by {exc} (exit code {EXIT_TERMINATED})")
            return EXIT_TERMINATED
        except Exception as exc:  # noqa: BLE001: every error ends as one line, the traceback only with --debug
            if debug:
                traceback.print_exc()
            code, line = error_line(exc)
            print(f"{prog}: error: {line}", file=sys.stderr, flush=True)
            to_file(logging.ERROR, f"error: {line} (exit code {code})", exc if debug else None)
            _abort_other_ranks(exc, code)
            return code


def error_line(exc: BaseException) -> tuple[int, str]:
    """(exit code, one-line message) of an error that ended a command (see the module docstring)."""
    if isinstance(exc, LandcoverError):
        return EXIT_BUSY if isinstance(exc, OutputBusyError) else EXIT_USER_ERROR, " ".join(str(exc).split("\n"))
    if isinstance(exc, OSError):
        return EXIT_USER_ERROR, describe_os_error(exc)
    summary = (str(exc).strip().splitlines() or [""])[0]
    return EXIT_INTERNAL_ERROR, (f"internal error {type(exc).__name__}{': ' + summary if summary else ''} "
                                 f"(a bug: rerun with --debug for the traceback and report it)")


def _abort_other_ranks(exc: BaseException, code: int) -> None:
    from ..parallel import launched_by_mpi, world

    if not launched_by_mpi() or getattr(exc, "raised_by_all_ranks", False):
        return
    comm, _, size = world()
    if size > 1:
        comm.Abort(code)


def config_parser(prog: str, description: str, schema: type,
                  positional: tuple[str, str] | None = None) -> argparse.ArgumentParser:
    """The parser of a config-driven command: ``--config``, ``--print-config``, the ``section.key=value``
    overrides and one flag per top-level key of ``schema`` (generated, with the schema's help and defaults);
    ``positional`` = ``(key, help)`` of a list key that also takes the positional arguments (see
    :func:`landcover_hpc.config.add_config_options`)."""
    from ..config import add_config_options, add_schema_flags

    parser = argparse.ArgumentParser(prog=prog, description=description)
    add_config_options(parser, positional)
    add_schema_flags(parser, schema)
    return parser


def run_config_command(prog: str, parser: argparse.ArgumentParser, argv: list[str] | None, schema: type,
                       action: Callable[[object, argparse.Namespace], int | None]) -> int:
    """Parse ``argv``, load the ``schema`` config from them, and print it (``--print-config``) or run
    ``action(config, args)``; errors as :func:`run_cli` (one line; ``--debug``: with the traceback)."""
    try:  # the overrides (and a key's positional values) may follow options: landcover-train --resume a.b=c
        args = parser.parse_intermixed_args(argv)
    except TypeError:  # raised before parsing by a parser with sub-commands (landcover-rf train|predict)
        args = parser.parse_args(argv)

    def body() -> int | None:
        log.debug(f"started on {socket.gethostname()} (PID {os.getpid()}): "
                  f"{shlex.join([prog, *(sys.argv[1:] if argv is None else argv)])}")
        config = config_from_args(schema, args)
        return print_config(config) if args.print_config else action(config, args)

    return run_cli(prog, body, debug=args.debug, log_level=args.log_level, log_file=args.log_file)


def config_from_args(schema: type, args: argparse.Namespace):
    """The command's validated config: ``--config FILE``, then the flags generated from ``schema``, then the
    ``section.key=value`` overrides (options of :func:`landcover_hpc.config.add_config_options`)."""
    from ..config import flag_values, load_config

    values = flag_values(args)  # first: it takes a positional key's values out of args.overrides
    return load_config(schema, args.config, args.overrides, values)


def print_config(config) -> int:
    """``--print-config``: the effective config as YAML on stdout (it loads back to the same config); exit 0."""
    print(config.to_yaml(), end="")
    return 0
