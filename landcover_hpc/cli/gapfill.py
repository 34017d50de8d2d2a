"""``landcover-gapfill``: one tile's L2A acquisitions -> gap-filled ``stack.tif`` + ``validity.tif``."""

from __future__ import annotations

import argparse
import sys

from ..gapfill.tile import GapfillOptions, gapfill_tile
from ..parallel import world
from ._common import run_cli

PROG = "landcover-gapfill"


def build_parser() -> argparse.ArgumentParser:
    d = GapfillOptions()
    p = argparse.ArgumentParser(prog=PROG, description=(
        "Cloud-mask, resample 20 m bands to 10 m (bicubic) and linearly gap-fill one tile's Sentinel-2 L2A "
        "acquisitions (ACQ_DIR/YYYYMMDD/{B2,B3,B4,B5,B6,B7,B8,B8A,B11,B12}.tif + SCL.tif or CLM.tif) onto a "
        "regular date grid; writes OUT_DIR/stack.tif (the tile input format) and OUT_DIR/validity.tif "
        "(clear acquisitions per pixel)."))
    p.add_argument("--input", required=True, metavar="ACQ_DIR", help="folder with one YYYYMMDD/ folder per acquisition")
    p.add_argument("--out", required=True, metavar="OUT_DIR", help="tile folder to write (its name is the tile id)")
    p.add_argument("--year", type=int, default=None,
                   help="date grid from 1 January of this year (default: year of the median acquisition)")
    p.add_argument("--start", default=None, help="first date of the grid, YYYYMMDD (instead of --year)")
    p.add_argument("--end", default=None, help="last possible date of the grid, YYYYMMDD (default start + 32 x step: 33 dates)")
    p.add_argument("--step", type=int, default=d.step, help="days between grid dates (default %(default)s: 33 dates a year)")
    p.add_argument("--block", type=int, default=d.block, help="processing block side, px, multiple of 16 (default %(default)s)")
    p.add_argument("--processes", type=int, default=None, help="worker processes (default: all usable cores)")
    p.add_argument("--snow-invalid", action="store_true",
                   help="treat SCL snow (11) as not clear (default: snow is a clear observation)")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    def body() -> int:
        options = GapfillOptions(start=args.start, end=args.end, step=args.step, year=args.year, block=args.block,
                                 processes=args.processes, snow_is_clear=not args.snow_invalid)
        summary = gapfill_tile(args.input, args.out, options, show_progress=not args.quiet)
        if world()[1] == 0:
            print(f"{summary['stack']}: {summary['height']}x{summary['width']} px, {len(summary['dates'])} dates "
                  f"({summary['dates'][0]}..{summary['dates'][-1]}) x {len(summary['bands'])} bands from "
                  f"{summary['acquisitions']} acquisitions; {100 * summary['clear_fraction']:.1f}% of pixels "
                  f"clear at least once; {summary['validity']}")
        return 0

    return run_cli(PROG, body)


if __name__ == "__main__":
    sys.exit(main())
