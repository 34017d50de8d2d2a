"""``landcover-geometry``: geometric precision (paper 4.3, Figure 20) of maps of a tile against pixel-based
reference maps."""

from __future__ import annotations

import argparse
import sys

from ..config.geometry import GeometryConfig
from ._common import config_parser, run_config_command

PROG = "landcover-geometry"


def build_parser() -> argparse.ArgumentParser:
    return config_parser(PROG, (
        "Geometric precision of class maps of a tile: the share of the corners of each pixel-based reference "
        "map (e.g. RF maps trained on different subsets: landcover-rf train --seed S --subsample 0.5) that a "
        "map keeps within --radius px, mean and standard deviation over the references -> "
        "<OUT>/<TILE>_geometry.json. A map that is also a reference is measured against the other "
        "references (the pixel-based level)."), GeometryConfig)


def main(argv: list[str] | None = None) -> int:
    return run_config_command(PROG, build_parser(), argv, GeometryConfig, _geometry)


def _geometry(config: GeometryConfig, _args: argparse.Namespace) -> int:
    from ..evaluation import evaluate_geometry

    result = evaluate_geometry(config.tile, config.maps, config.references, config.out, config.params(),
                               config.denominator)
    for name, m in result["maps"].items():
        print(f"{result['tile']} {name}: corner ratio {m['mean']:.3f} ± {m['std']:.3f} over "
              f"{m['references_used']} reference(s), {m['corners']} corners -> {result['paths']['json']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
