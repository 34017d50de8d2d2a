"""What every command-line shell shares: user errors become one line on stderr and exit code 2, and the
config-driven commands' one way to parse, load their config (file, flags, overrides), print it or run."""

from __future__ import annotations

import argparse
import sys
from typing import Callable

from ..config.flags import comma_list, name_value
from ..errors import LandcoverError, OutputBusyError
from ..interrupt import StopRequested

__all__ = ["run_cli", "config_parser", "run_config_command", "comma_list", "name_value", "config_from_args",
           "print_config", "EXIT_USER_ERROR", "EXIT_BUSY", "EXIT_REQUEUE"]

EXIT_USER_ERROR = 2
EXIT_BUSY = 75  # sysexits.h EX_TEMPFAIL: another run is writing the same output, retry later
# A stop signal (SIGTERM, SIGUSR1: Slurm's time limit, preemption, #SBATCH --signal) stopped the job at a
# resume point: rerun it (with --resume for landcover-train) to continue; slurm/requeue.sh requeues the job
# on this code (and only on it: a busy output, 75, is not a reason to requeue).
EXIT_REQUEUE = 99


def run_cli(prog: str, body: Callable[[], int | None]) -> int:
    """Run ``body``; a LandcoverError becomes ``prog: error: <message>`` on stderr and exit code 2 (75 for
    an output that another run is writing), a :class:`~landcover_hpc.interrupt.StopRequested`
    ``prog: <message>`` and exit code ``EXIT_REQUEUE``."""
    try:
        return int(body() or 0)
    except LandcoverError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return EXIT_BUSY if isinstance(exc, OutputBusyError) else EXIT_USER_ERROR
    except StopRequested as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return EXIT_REQUEUE
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130


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
    ``action(config, args)``; errors as :func:`run_cli` (one line, exit code 2)."""
    from ..config.flags import takes_positional_values

    intermixed = takes_positional_values(parser)
    args = parser.parse_intermixed_args(argv) if intermixed else parser.parse_args(argv)

    def body() -> int | None:
        config = config_from_args(schema, args)
        return print_config(config) if args.print_config else action(config, args)

    return run_cli(prog, body)


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
