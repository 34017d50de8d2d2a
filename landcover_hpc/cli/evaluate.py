"""``landcover-evaluate``: confusion matrix and scores of a class map on its tile's test polygons."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import ConfigError, InputNotFoundError
from ._common import run_cli

PROG = "landcover-evaluate"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description=(
        "Evaluate a class map (<TILE>_classes.tif) on the test-polygon pixels of its tile: confusion matrix, "
        "overall accuracy, Cohen's kappa, per-class precision/recall/F-score -> <TILE>_eval.json, "
        "<TILE>_eval_classes.csv, <TILE>_confusion.csv, <TILE>_confusion.png."))
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--map", help="class map GeoTIFF (class codes, nodata 0); needs --tile")
    what.add_argument("--maps", metavar="DIR", help="evaluate every <TILE>_classes.tif of a map folder")
    p.add_argument("--tile", default=None, help="tile id of --map, e.g. T31UDQ")
    p.add_argument("--store", required=True, help="prepared store folder holding <TILE>.h5")
    p.add_argument("--out", default=None, help="output folder (default: the map's folder)")
    p.add_argument("--method", default=None, help="method name in the outputs (default: from the map's tags)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    def body() -> int:
        from ..evaluation import evaluate_map

        for tile, map_path in _maps(args):
            r = evaluate_map(map_path, args.store, tile, args.out, args.method)
            print(f"{r['tile']} {r['method']}: {r['n_pixels']} test pixels, OA {r['overall_accuracy']:.4f}, "
                  f"kappa {r['kappa']:.4f}, mean F {r['macro_f_score']:.4f} -> {r['paths']['json']}")
        return 0

    return run_cli(PROG, body)


def _maps(args) -> list[tuple[str, Path]]:
    """(tile, class map) pairs to evaluate: --map with --tile, or every <TILE>_classes.tif of --maps."""
    if args.map is not None:
        if args.tile is None:
            raise ConfigError(f"--map {args.map}: also give --tile (the map's tile id), or use --maps DIR")
        return [(args.tile, Path(args.map))]
    folder = Path(args.maps)
    if not folder.is_dir():
        raise InputNotFoundError(f"map folder {folder} not found: run landcover-predict or landcover-rf predict first")
    found = sorted(folder.glob("*_classes.tif"))
    if not found:
        raise InputNotFoundError(f"no <TILE>_classes.tif in {folder}: run landcover-predict or landcover-rf predict")
    return [(p.name[:-len("_classes.tif")], p) for p in found if args.tile in (None, p.name[:-len("_classes.tif")])]


if __name__ == "__main__":
    sys.exit(main())
