"""``landcover-rf``: the Random Forest baseline: ``train`` a model, ``predict`` maps, ``loto`` (leave one
tile out)."""

from __future__ import annotations

import argparse
import json
import sys

from ..parallel import world
from ._common import comma_list, run_cli

PROG = "landcover-rf"
DECISIONS = ("vote", "proba")  # baseline.forest.DECISIONS, not imported here to keep --help fast; checked there


def _forest_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--trees", type=int, default=100, help="trees in the forest (default %(default)s)")
    p.add_argument("--max-depth", type=int, default=20, help="maximum tree depth (default %(default)s)")
    p.add_argument("--min-samples-split", type=int, default=10,
                   help="samples a node needs to be split, OpenCV min_sample_count (default %(default)s)")
    p.add_argument("--per-class", type=int, default=10_000,
                   help="training pixels per class over all tiles, 0 = all (default %(default)s)")
    p.add_argument("--subsample", type=float, default=1.0,
                   help="fraction of training pixels drawn from, for distinct training subsets (default %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="seed of the pixel draw and the forest (default %(default)s)")
    p.add_argument("--jobs", type=int, default=-1, help="threads, -1 = all cores (default %(default)s)")
    p.add_argument("--decision", choices=DECISIONS, default="vote",
                   help="decision rule stored in the model as its default: vote = majority vote of the trees, "
                        "confidence = fraction of trees voting for the class (OpenCV / Orfeo ToolBox); proba = mean "
                        "class probability (scikit-learn) (default %(default)s)")


def _predict_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--window", type=int, default=512, help="prediction window side, px (default %(default)s)")
    p.add_argument("--radius", type=int, default=1,
                   help="majority-vote regularisation radius, 0 = none (default %(default)s)")
    p.add_argument("--no-quicklook", action="store_true", help="do not draw <TILE>_quicklook.png")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description=(
        "Pixel-wise Random Forest baseline of the operational chain (100 trees, depth 20, min 10 samples "
        "per node) on the T*C reflectances, with radius-1 majority-vote regularisation of the maps."))
    sub = p.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="sample training-polygon pixels and fit a forest")
    t.add_argument("--store", required=True, help="prepared store folder")
    t.add_argument("--tiles", type=comma_list, default=None, help="training tiles (default: all)")
    t.add_argument("--out", required=True, help="model file to write (.h5)")
    _forest_options(t)
    r = sub.add_parser("predict", help="class and confidence maps of tiles")
    r.add_argument("--model", required=True, help="model file written by landcover-rf train")
    r.add_argument("--store", required=True, help="prepared store folder")
    r.add_argument("--tiles", type=comma_list, default=None, help="tiles to map (default: all)")
    r.add_argument("--out", required=True, help="map folder")
    r.add_argument("--jobs", type=int, default=-1, help="threads, -1 = all cores (default %(default)s)")
    r.add_argument("--force", action="store_true", help="recompute maps that are up to date")
    r.add_argument("--decision", choices=DECISIONS, default=None,
                   help="decision rule, vote or proba (default: the one stored in the model by landcover-rf train)")
    _predict_options(r)
    lo = sub.add_parser("loto", help="leave one tile out: train on the other tiles, map and evaluate each tile")
    lo.add_argument("--store", required=True, help="prepared store folder")
    lo.add_argument("--tiles", type=comma_list, default=None, help="tiles (default: all)")
    lo.add_argument("--held-out", type=comma_list, default=None,
                    help="tiles held out in turn, each against all the other --tiles (default: every tile)")
    lo.add_argument("--out", required=True, help="output folder (models, maps, eval/)")
    lo.add_argument("--split-index", type=int, default=None, help="this job's share (default: MPI rank or 0)")
    lo.add_argument("--num-splits", type=int, default=None, help="number of shares (default: MPI size or 1)")
    _forest_options(lo)
    _predict_options(lo)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    def body() -> int:
        from ..baseline import ForestParams, RFPredictOptions, predict_stores_rf, rf_train_and_predict, train_rf
        from ..evaluation import leave_one_tile_out

        rank = world()[1]
        if args.command == "predict":
            options = RFPredictOptions(window=args.window, radius=args.radius, n_jobs=args.jobs, force=args.force,
                                       quicklook=not args.no_quicklook, decision=args.decision)
            for s in predict_stores_rf(args.model, args.store, args.out, args.tiles, options):
                rate = "up to date" if s["skipped"] else f"{s['pixels_per_second']:.0f} px/s"
                print(f"{s['tile']}: {s['classes']} ({rate})")
            return 0
        params = ForestParams(n_trees=args.trees, max_depth=args.max_depth, min_samples_split=args.min_samples_split,
                              seed=args.seed, n_jobs=args.jobs, decision=args.decision)
        if args.command == "train":
            summary = train_rf(args.store, args.out, args.tiles, params, args.per_class, args.subsample)
            if rank == 0:
                print(f"model {summary['model']}: {summary['pixels']} training pixels from {len(summary['tiles'])} "
                      f"tile(s), fitted in {summary['fit_seconds']:.1f} s; pixels per class code: "
                      f"{json.dumps(summary['pixels_per_class'])}")
            return 0
        options = RFPredictOptions(window=args.window, radius=args.radius, n_jobs=args.jobs,
                                   quicklook=not args.no_quicklook)
        _, rank, size = world()
        results = leave_one_tile_out(
            args.store, args.out, rf_train_and_predict(args.store, params, args.per_class, options), args.tiles,
            "RF", rank if args.split_index is None else args.split_index,
            size if args.num_splits is None else args.num_splits, args.held_out)
        for tile, r in results.items():
            print(f"{tile} held out: kappa {r['kappa']:.3f}, OA {r['overall_accuracy']:.3f} -> {r['paths']['json']}")
        return 0

    return run_cli(PROG, body)


if __name__ == "__main__":
    sys.exit(main())
