"""``landcover-evaluate``: confusion matrix and scores of a class map on its tile's test polygons."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..config.evaluate import EvaluateConfig
from ..errors import InputNotFoundError
from ._common import config_parser, run_config_command

PROG = "landcover-evaluate"


def build_parser() -> argparse.ArgumentParser:
    return config_parser(PROG, (
        "Evaluate a class map (<TILE>_classes.tif) on the test-polygon pixels of its tile: confusion matrix, "
        "overall accuracy, Cohen's kappa, per-class precision/recall/F-score -> <TILE>_eval.json, "
        "<TILE>_eval_classes.csv, <TILE>_confusion.csv, <TILE>_confusion.png. Give --map with --tile, or --maps; "
        "--split val scores the validation polygons instead, --split train the training ones (a fit diagnostic)."),
        EvaluateConfig)


def main(argv: list[str] | None = None) -> int:
    return run_config_command(PROG, build_parser(), argv, EvaluateConfig, _evaluate)


def _evaluate(config: EvaluateConfig, _args: argparse.Namespace) -> int:
    from ..evaluation import evaluate_map

    for tile, map_path in _maps(config):
        r = evaluate_map(map_path, config.store, tile, config.out, config.method, split=config.split)
        print(f"{r['tile']} {r['method']}: {r['n_pixels']} {config.split} pixels, OA {r['overall_accuracy']:.4f}, "
              f"kappa {r['kappa']:.4f}, mean F {r['macro_f_score']:.4f} -> {r['paths']['json']}")
    return 0


def _maps(config: EvaluateConfig) -> list[tuple[str, Path]]:
    """(tile, class map) pairs to evaluate: map with its tile, or every <TILE>_classes.tif of maps."""
    if config.map is not None:  # the schema made sure a tile comes with it
        return [(config.tile, Path(config.map))]
    folder = Path(config.maps)
    if not folder.is_dir():
        raise InputNotFoundError(f"map folder {folder} not found: run landcover-predict or landcover-rf predict first")
    found = sorted(folder.glob("*_classes.tif"))
    if not found:
        raise InputNotFoundError(f"no <TILE>_classes.tif in {folder}: run landcover-predict or landcover-rf predict")
    tiles = [(p.name[:-len("_classes.tif")], p) for p in found]
    return [(tile, path) for tile, path in tiles if config.tile in (None, tile)]


if __name__ == "__main__":
    sys.exit(main())
