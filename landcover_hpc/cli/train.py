"""``landcover-train``: train a model with Horovod, as one process or under mpirun/srun."""

from __future__ import annotations

import argparse
import sys

from ._common import run_cli

PROG = "landcover-train"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description=(
        "Train a land-cover model on prepared tile stores (Horovod data parallelism: run it under "
        "mpirun -n N or srun for N ranks). Every config value can be overridden as section.key=value, "
        "e.g. training.epochs=3 model.name=unet output.run_dir=runs/test."))
    p.add_argument("--config", default=None, help="YAML config (see configs/); default: built-in defaults")
    p.add_argument("--resume", action="store_true",
                   help="continue from RUN_DIR/checkpoint.h5 with the same schedule and batches")
    p.add_argument("overrides", nargs="*", metavar="section.key=value", help="config overrides")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    def body() -> int:
        from ..training.config import load_config
        from ..training.trainer import train

        config = load_config(args.config, args.overrides)
        train(config, resume=args.resume, log=lambda line: print(line, flush=True))
        return 0

    return run_cli(PROG, body)


if __name__ == "__main__":
    sys.exit(main())
