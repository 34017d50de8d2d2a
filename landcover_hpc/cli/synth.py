"""``landcover-synth``: write synthetic Sentinel-2 tiles in the tile input format."""

from __future__ import annotations

import argparse
import logging
import sys

from ..config.synth import SynthConfig
from ._common import config_parser, run_config_command

PROG = "landcover-synth"
log = logging.getLogger("landcover_hpc.cli.synth")  # not __name__: that is "__main__" under python -m


def build_parser() -> argparse.ArgumentParser:
    return config_parser(PROG, (
        "Write synthetic Sentinel-2 tiles (stack.tif, reference.gpkg, truth.tif; stack_s1.tif: Sentinel-1) under "
        "OUT/<TILE_ID>/, "
        "deterministic from the seed."), SynthConfig)


def main(argv: list[str] | None = None) -> int:
    return run_config_command(PROG, build_parser(), argv, SynthConfig, _synth)


def _synth(config: SynthConfig, _args: argparse.Namespace) -> int:
    from ..nomenclature import load_nomenclature
    from ..synth import synthesize_tile

    nomenclature, options = load_nomenclature(config.nomenclature), config.options()
    for tile in config.tiles:
        s = synthesize_tile(config.out, tile, nomenclature, options)
        present = sum(1 for v in s["annotated_pixels"].values() if v > 0)
        log.info(f"{s['tile']}: {s['profile']:<8} {s['size']}x{s['size']} px, EPSG:{s['epsg']}, "
                 f"{100 * s['valid_fraction']:.0f}% valid, {s['objects']} objects, {present} annotated classes "
                 f"-> {config.out}/{s['tile']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
