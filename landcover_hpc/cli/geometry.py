"""``landcover-geometry``: geometric precision (paper 4.3, Figure 20) of maps of a tile against pixel-based
reference maps."""

from __future__ import annotations

import argparse
import sys

from ._common import name_value, run_cli

PROG = "landcover-geometry"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description=(
        "Geometric precision of class maps of a tile: the share of the corners of each pixel-based reference "
        "map (e.g. RF maps trained on different subsets: landcover-rf train --seed S --subsample 0.5) that a "
        "map keeps within --radius px, mean and standard deviation over the references -> "
        "<OUT>/<TILE>_geometry.json. A map that is also a reference is measured against the other "
        "references (the pixel-based level)."))
    p.add_argument("--tile", required=True, help="tile id of the maps, e.g. T31UDQ")
    p.add_argument("--map", dest="maps", action="append", required=True, metavar="NAME=PATH",
                   type=name_value("NAME=PATH", "FG-UNET=maps/fgunet/T31UDQ_classes.tif"),
                   help="class map to measure (repeatable), e.g. FG-UNET=maps/fgunet/T31UDQ_classes.tif")
    p.add_argument("--reference", dest="references", nargs="+", action="extend", required=True, metavar="PATH",
                   help="reference class maps of the same tile (repeatable; the paper uses 10 RF maps)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--radius", type=float, default=3.0, help="matching radius in px (default 3)")
    p.add_argument("--denominator", choices=("reference", "map"), default="reference",
                   help="share of the reference's corners found (paper, default) or of the map's")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    def body() -> int:
        from ..errors import ConfigError
        from ..evaluation import CornerParams, evaluate_geometry

        names = [name for name, _ in args.maps]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ConfigError(f"--map {', '.join(twice)} given twice: give each map its own NAME")
        result = evaluate_geometry(args.tile, dict(args.maps), args.references, args.out,
                                   CornerParams(radius=args.radius), args.denominator)
        for name, m in result["maps"].items():
            print(f"{result['tile']} {name}: corner ratio {m['mean']:.3f} ± {m['std']:.3f} over "
                  f"{m['references_used']} reference(s), {m['corners']} corners -> {result['paths']['json']}")
        return 0

    return run_cli(PROG, body)


if __name__ == "__main__":
    sys.exit(main())
