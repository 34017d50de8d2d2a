"""``landcover-rf``: the Random Forest baseline: ``train`` a model, ``predict`` maps, ``loto`` (leave one
tile out)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys

from ..config import add_config_options, add_schema_flags
from ..config.rf import RFConfig
from ._common import comma_list, run_config_command

PROG = "landcover-rf"
#: predict keys that loto sets itself: its maps go to --out, it uses each fold's model and the --jobs of training
_LOTO_FIXED = ("model", "out", "jobs", "force", "decision", "checkpoint_every")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description=(
        "Pixel-wise Random Forest baseline of the operational chain (100 trees, depth 20, min 10 samples "
        "per node) on the T*C reflectances, with radius-1 majority-vote regularisation of the maps. One config "
        "file (configs/rf.yaml) serves every subcommand: store, tiles, a train and a predict section."))
    sub = p.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="sample training-polygon pixels and fit a forest (config section train)")
    _config_flags(t, "train")
    r = sub.add_parser("predict", help="class and confidence maps of tiles (config section predict)")
    _config_flags(r, "predict")
    lo = sub.add_parser("loto", help="leave one tile out: train on the other tiles, map and evaluate each tile")
    lo.add_argument("--held-out", type=comma_list, default=None,
                    help="tiles held out in turn, each against all the other --tiles (default: every tile)")
    lo.add_argument("--out", required=True, help="output folder (models, maps, eval/)")
    lo.add_argument("--split-index", type=int, default=None, help="this job's share (default: MPI rank or 0)")
    lo.add_argument("--num-splits", type=int, default=None, help="number of shares (default: MPI size or 1)")
    _config_flags(lo, "train", skip=("out",))
    add_schema_flags(lo, RFConfig, under=("predict",), skip=_LOTO_FIXED)
    return p


def _config_flags(parser: argparse.ArgumentParser, section: str, skip: tuple[str, ...] = ()) -> None:
    """--config, --print-config, overrides, the shared keys (store, tiles) and those of ``section``."""
    add_config_options(parser)
    add_schema_flags(parser, RFConfig)
    add_schema_flags(parser, RFConfig, under=(section,), skip=skip)


def main(argv: list[str] | None = None) -> int:
    return run_config_command(PROG, build_parser(), argv, RFConfig,
                              lambda config, args: _COMMANDS[args.command](config, args))


def _train(config: RFConfig, args) -> int:
    from ..baseline import train_rf
    from ..parallel import world

    summary = train_rf(config.store, config.train.out, config.tiles, config.train.params(), config.train.per_class,
                       config.train.subsample)
    if world()[1] == 0:
        print(f"model {summary['model']}: {summary['pixels']} training pixels from {len(summary['tiles'])} "
              f"tile(s), fitted in {summary['fit_seconds']:.1f} s; pixels per class code: "
              f"{json.dumps(summary['pixels_per_class'])}")
    return 0


def _predict(config: RFConfig, args) -> int:
    from ..baseline import predict_stores_rf
    from ..interrupt import stop_signals

    with stop_signals():  # SIGTERM/SIGUSR1: stop after the current window (exit code EXIT_REQUEUE)
        for s in predict_stores_rf(config.predict.model, config.store, config.predict.out, config.tiles,
                                   config.predict.options()):
            rate = "up to date" if s["skipped"] else f"{s['pixels_per_second']:.0f} px/s"
            print(f"{s['tile']}: {s['classes']} ({rate})")
    return 0


def _loto(config: RFConfig, args) -> int:
    from ..baseline import rf_train_and_predict
    from ..evaluation import leave_one_tile_out
    from ..parallel import world

    options = dataclasses.replace(config.predict.options(), n_jobs=config.train.jobs, force=False, decision=None)
    _, rank, size = world()
    results = leave_one_tile_out(
        config.store, args.out, rf_train_and_predict(config.store, config.train.params(), config.train.per_class,
                                                     options), config.tiles,
        "RF", rank if args.split_index is None else args.split_index,
        size if args.num_splits is None else args.num_splits, args.held_out)
    for tile, r in results.items():
        print(f"{tile} held out: kappa {r['kappa']:.3f}, OA {r['overall_accuracy']:.3f} -> {r['paths']['json']}")
    return 0


_COMMANDS = {"train": _train, "predict": _predict, "loto": _loto}


if __name__ == "__main__":
    sys.exit(main())
