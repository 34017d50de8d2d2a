"""``landcover-synth``: write synthetic Sentinel-2 tiles in the tile input format."""

from __future__ import annotations

import argparse
import sys

from ..nomenclature import load_nomenclature
from ..synth import SynthOptions, synthesize_tile
from ._common import comma_list, run_cli

PROG = "landcover-synth"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description=(
        "Write synthetic Sentinel-2 tiles (stack.tif, reference.gpkg, truth.tif) under OUT/<TILE_ID>/, "
        "deterministic from the seed."))
    p.add_argument("--out", required=True, help="output data root (one folder per tile is written in it)")
    p.add_argument("--tiles", required=True, type=comma_list, help="comma-separated tile ids, e.g. T31UDQ,T30TWT")
    p.add_argument("--size", type=int, default=SynthOptions.size, help="tile side in 10 m pixels (default %(default)s)")
    p.add_argument("--seed", type=int, default=SynthOptions.seed, help="random seed (default %(default)s)")
    p.add_argument("--dates", type=int, default=SynthOptions.n_dates, help="number of dates (default %(default)s)")
    p.add_argument("--date-step", type=int, default=SynthOptions.date_step, help="days between dates (default %(default)s)")
    p.add_argument("--year", type=int, default=SynthOptions.year, help="year of the dates (default %(default)s)")
    p.add_argument("--nomenclature", default=None, help="nomenclature YAML (default configs/nomenclature.yaml)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    def body() -> int:
        nomenclature = load_nomenclature(args.nomenclature)
        options = SynthOptions(size=args.size, n_dates=args.dates, year=args.year, date_step=args.date_step,
                               seed=args.seed)
        for tile in args.tiles:
            s = synthesize_tile(args.out, tile, nomenclature, options)
            present = sum(1 for v in s["annotated_pixels"].values() if v > 0)
            print(f"{s['tile']}: {s['profile']:<8} {s['size']}x{s['size']} px, EPSG:{s['epsg']}, "
                  f"{100 * s['valid_fraction']:.0f}% valid, {s['objects']} objects, {present} annotated classes "
                  f"-> {args.out}/{s['tile']}", file=sys.stderr)
        return 0

    return run_cli(PROG, body)


if __name__ == "__main__":
    sys.exit(main())
