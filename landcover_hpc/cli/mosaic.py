"""``landcover-mosaic``: assemble tile maps into a country mosaic (COG + VRT), overlaps by confidence."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..nomenclature import load_nomenclature
from ._common import run_cli

PROG = "landcover-mosaic"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description=(
        "Assemble <TILE>_classes.tif maps (with their _confidence.tif) into OUT_classes.tif and "
        "OUT_confidence.tif (COGs) and OUT.vrt, in a target CRS; where tiles overlap, the more confident "
        "prediction wins."))
    p.add_argument("maps", nargs="+", help="<TILE>_classes.tif files, or folders holding them")
    p.add_argument("--out", required=True, help="output prefix, e.g. maps/france_2018")
    p.add_argument("--crs", default=None, help="target CRS, e.g. EPSG:2154 (default: the first map's)")
    p.add_argument("--resolution", type=float, default=None, help="pixel size in CRS units (default: the maps')")
    p.add_argument("--nomenclature", default=None, help="nomenclature YAML (default configs/nomenclature.yaml)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    def body() -> int:
        from ..prediction.mosaic import mosaic_maps

        maps = []
        for item in map(Path, args.maps):
            maps.extend(sorted(item.glob("*_classes.tif")) if item.is_dir() else [item])
        summary = mosaic_maps(maps, args.out, load_nomenclature(args.nomenclature), crs=args.crs,
                              resolution=args.resolution)
        print(f"mosaic of {summary['tiles']} tiles, {summary['width']}x{summary['height']} px -> "
              f"{summary['classes']}, {summary['confidence']}, {summary['vrt']}")
        return 0

    return run_cli(PROG, body)


if __name__ == "__main__":
    sys.exit(main())
