"""``landcover-mosaic``: assemble tile maps into a country mosaic (COG + VRT), overlaps by confidence."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..config.mosaic import MosaicConfig
from ._common import config_parser, run_config_command

PROG = "landcover-mosaic"


def build_parser() -> argparse.ArgumentParser:
    return config_parser(PROG, (
        "Assemble <TILE>_classes.tif maps (with their _confidence.tif) into OUT_classes.tif and "
        "OUT_confidence.tif (COGs) and OUT.vrt, in a target CRS; where tiles overlap, the more confident "
        "prediction wins."), MosaicConfig,
        positional=("maps", "<TILE>_classes.tif files, or folders holding them (key maps)"))


def main(argv: list[str] | None = None) -> int:
    return run_config_command(PROG, build_parser(), argv, MosaicConfig, _mosaic)


def _mosaic(config: MosaicConfig, _args: argparse.Namespace) -> int:
    from ..nomenclature import load_nomenclature
    from ..prediction.mosaic import mosaic_maps

    maps = []
    for item in map(Path, config.maps):
        maps.extend(sorted(item.glob("*_classes.tif")) if item.is_dir() else [item])
    summary = mosaic_maps(maps, config.out, load_nomenclature(config.nomenclature), crs=config.crs,
                          resolution=config.resolution)
    print(f"mosaic of {summary['tiles']} tiles, {summary['width']}x{summary['height']} px -> "
          f"{summary['classes']}, {summary['confidence']}, {summary['vrt']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
