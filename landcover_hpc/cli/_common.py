"""What every command-line shell shares: user errors become one line on stderr and exit code 2."""

from __future__ import annotations

import argparse
import sys
from typing import Callable

from ..errors import LandcoverError

__all__ = ["run_cli", "comma_list", "name_value", "EXIT_USER_ERROR"]

EXIT_USER_ERROR = 2


def run_cli(prog: str, body: Callable[[], int | None]) -> int:
    """Run ``body``; a LandcoverError becomes ``prog: error: <message>`` on stderr and exit code 2."""
    try:
        return int(body() or 0)
    except LandcoverError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130


def comma_list(text: str) -> list[str]:
    """argparse type for ``A,B,C`` lists."""
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items:
        raise argparse.ArgumentTypeError("expected a comma-separated list, e.g. T31UDQ,T30TWT")
    return items


def name_value(form: str, example: str) -> Callable[[str], tuple[str, str]]:
    """argparse type for ``NAME=VALUE`` pairs (``form`` e.g. ``"METHOD=DIR"``), both parts non-empty."""

    def parse(text: str) -> tuple[str, str]:
        name, sep, value = text.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise argparse.ArgumentTypeError(f"{text!r}: expected {form}, e.g. {example}")
        return name.strip(), value.strip()

    return parse
