"""``landcover-train``: train a model with Horovod, as one process or under mpirun/srun."""

from __future__ import annotations

import argparse
import sys

from ..config import add_schema_flags
from ..config.train import TrainConfig
from ._common import EXIT_REQUEUE, comma_list, config_parser, run_config_command

PROG = "landcover-train"


def build_parser() -> argparse.ArgumentParser:
    p = config_parser(PROG, (
        "Train a land-cover model on prepared tile stores (Horovod data parallelism: run it under "
        "mpirun -n N or srun for N ranks). Every config value can be set by its flag or overridden as "
        "section.key=value, e.g. training.epochs=3 model.name=unet output.run_dir=runs/test. "
        "SIGTERM or SIGUSR1 (Slurm's time limit, preemption) stops every rank after the current batch, writes "
        f"RUN_DIR/checkpoint.h5 and exits with code {EXIT_REQUEUE}: rerun with --resume to continue, with the "
        "weights an uninterrupted run would have had."), TrainConfig)
    p.add_argument("--resume", action="store_true",
                   help="continue from RUN_DIR/checkpoint.h5 with the same schedule and batches")
    p.add_argument("--loto", metavar="OUT", default=None,
                   help="leave one tile out (paper 5.3): for each tile of data.tiles (default: all), train on the "
                        "others, map it and evaluate it on its test objects; folds, maps and OUT/eval/ go to OUT")
    p.add_argument("--held-out", type=comma_list, default=None,
                   help="with --loto: tiles held out in turn, each against all the other tiles (default: every tile)")
    for section in ("model", "data", "training", "output"):
        add_schema_flags(p.add_argument_group(f"{section} (config section)"), TrainConfig, under=(section,),
                         flag_prefix=f"{section}-")
    return p


def main(argv: list[str] | None = None) -> int:
    return run_config_command(PROG, build_parser(), argv, TrainConfig, _train)


def _train(config: TrainConfig, args: argparse.Namespace) -> int:
    from ..interrupt import stop_signals

    with stop_signals():  # SIGTERM/SIGUSR1: stop at the next batch with a checkpoint (exit code EXIT_REQUEUE)
        if args.loto is None:
            from ..training.trainer import train  # loads TensorFlow: a signal meanwhile is caught too

            train(config, resume=args.resume)
            return 0
        return _leave_one_tile_out(config, args.loto, args.held_out)


def _leave_one_tile_out(config, out_dir: str, held_out: list[str] | None) -> int:
    from ..evaluation import leave_one_tile_out
    from ..parallel import world
    from ..training.loto import cnn_train_and_predict

    comm, rank, _ = world()
    # every rank takes part in every fold (Horovod trains it together), so the folds are not shared out
    results = leave_one_tile_out(config.data.store, out_dir, cnn_train_and_predict(config, comm),
                                 config.data.tiles, config.model.name.upper() if config.model.name != "fgunet"
                                 else "FG-UNET", held_out=held_out)
    if rank == 0:  # the results, on stdout
        for tile, r in results.items():
            print(f"{tile} held out: kappa {r['kappa']:.3f}, OA {r['overall_accuracy']:.3f} -> "
                  f"{r['paths']['json']}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
