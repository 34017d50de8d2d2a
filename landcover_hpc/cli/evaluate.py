"""``landcover-evaluate``: confusion matrix and scores of a class map on its tile's test polygons."""

from __future__ import annotations

import argparse
import sys

from ._common import run_cli

PROG = "landcover-evaluate"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description=(
        "Evaluate a class map (<TILE>_classes.tif) on the test-polygon pixels of its tile: confusion matrix, "
        "overall accuracy, Cohen's kappa, per-class precision/recall/F-score -> <TILE>_eval.json, "
        "<TILE>_eval_classes.csv, <TILE>_confusion.csv, <TILE>_confusion.png."))
    p.add_argument("--map", required=True, help="class map GeoTIFF (class codes, nodata 0)")
    p.add_argument("--tile", required=True, help="tile id of the map, e.g. T31UDQ")
    p.add_argument("--store", required=True, help="prepared store folder holding <TILE>.h5")
    p.add_argument("--out", default=None, help="output folder (default: the map's folder)")
    p.add_argument("--method", default=None, help="method name in the outputs (default: from the map's tags)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    def body() -> int:
        from ..evaluation import evaluate_map

        r = evaluate_map(args.map, args.store, args.tile, args.out, args.method)
        print(f"{r['tile']} {r['method']}: {r['n_pixels']} test pixels, OA {r['overall_accuracy']:.4f}, "
              f"kappa {r['kappa']:.4f}, mean F {r['macro_f_score']:.4f} -> {r['paths']['json']}")
        return 0

    return run_cli(PROG, body)


if __name__ == "__main__":
    sys.exit(main())
