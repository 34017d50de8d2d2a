"""``landcover-gapfill``: one tile's L2A acquisitions -> gap-filled ``stack.tif`` + ``validity.tif``."""

from __future__ import annotations

import argparse
import sys

from ..config.gapfill import GapfillConfig
from ._common import config_parser, run_config_command

PROG = "landcover-gapfill"


def build_parser() -> argparse.ArgumentParser:
    return config_parser(PROG, (
        "Cloud-mask, resample 20 m bands to 10 m (bicubic) and linearly gap-fill one tile's Sentinel-2 L2A "
        "acquisitions (ACQ_DIR/YYYYMMDD/{B2,B3,B4,B5,B6,B7,B8,B8A,B11,B12}.tif + SCL.tif or CLM.tif) onto a "
        "regular date grid; writes OUT_DIR/stack.tif (the tile input format) and OUT_DIR/validity.tif "
        "(clear acquisitions per pixel)."), GapfillConfig)


def main(argv: list[str] | None = None) -> int:
    return run_config_command(PROG, build_parser(), argv, GapfillConfig, _gapfill)


def _gapfill(config: GapfillConfig, _args: argparse.Namespace) -> int:
    from ..gapfill.tile import gapfill_tile
    from ..parallel import world

    summary = gapfill_tile(config.input, config.out, config.options(), show_progress=not config.quiet)
    if world()[1] == 0:
        print(f"{summary['stack']}: {summary['height']}x{summary['width']} px, {len(summary['dates'])} dates "
              f"({summary['dates'][0]}..{summary['dates'][-1]}) x {len(summary['bands'])} bands from "
              f"{summary['acquisitions']} acquisitions; {100 * summary['clear_fraction']:.1f}% of pixels "
              f"clear at least once; {summary['validity']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
