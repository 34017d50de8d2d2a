"""``landcover-produce``: the nightly job, from tile stacks to the country mosaic, its manifest and report."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..config.production import ProductionConfig
from ._common import EXIT_BUSY, EXIT_PARTIAL, EXIT_REQUEUE, config_parser, error_line, run_config_command

PROG = "landcover-produce"


def build_parser() -> argparse.ArgumentParser:
    parser = config_parser(PROG, (
        "Nightly production into one output root: for each tile gap-fill (when its acquisitions are newer than "
        "its stack), prepare, predict and evaluate (where it has test objects), each step skipped when up to "
        "date; then the mosaic in the target CRS, OUT/manifest.json and OUT/report.md. A second run with "
        "nothing changed does nothing. A failing tile does not stop the others: exit code "
        f"{EXIT_PARTIAL} then, the manifest and report naming it. Exit code {EXIT_BUSY}: another run owns OUT; "
        f"{EXIT_REQUEUE}: stopped by SIGTERM/SIGUSR1 during a prediction (rerun to resume). One process "
        "(not under mpirun -n N > 1)."), ProductionConfig)
    parser.add_argument("--list-tiles", action="store_true",
                        help="print the tile ids the run would produce, one per line, and exit (slurm/nightly.sh "
                             "sizes its array with it)")
    return parser


def main(argv: list[str] | None = None) -> int:
    return run_config_command(PROG, build_parser(), argv, ProductionConfig, _produce)


def _produce(config: ProductionConfig, args: argparse.Namespace) -> int:
    from ..errors import ConfigError
    from ..interrupt import stop_signals
    from ..nomenclature import load_nomenclature
    from ..parallel import world
    from ..production import ProductionJob, production_tiles, run_production

    tiles = production_tiles(config.tiles, config.tile_list, config.input)
    if args.list_tiles:
        print("".join(f"{tile}\n" for tile in tiles), end="")
        return 0
    if world()[2] > 1:
        error = ConfigError(f"{PROG} runs as one process: start it without mpirun (or with -n 1); the tiles' "
                            "windows are not shared among ranks")
        error.raised_by_all_ranks = True  # every rank stops here: no rank waits for another
        raise error
    input_files = {k: v for k, v in (("nomenclature", config.nomenclature), ("tile_list", config.tile_list))
                   if v is not None}
    settings = config.to_dict()
    for key in ("force", "threads"):  # they do not change the products
        settings.pop(key)
    job = ProductionJob(
        tiles=tiles, input_dir=Path(config.input), model=Path(config.model), out_dir=Path(config.out),
        nomenclature=load_nomenclature(config.nomenclature), prepare=config.prepare_options(),
        predict=config.predict_options(), gapfill=config.gapfill_options(),
        acquisitions=Path(config.acquisitions) if config.acquisitions else None, crs=config.crs,
        resolution=config.resolution, name=config.name, evaluate=config.evaluate, mosaic=config.mosaic,
        force=config.force, threads=config.threads, settings=settings, input_files=input_files)
    with stop_signals():  # SIGTERM/SIGUSR1: a prediction stops after its current window (exit code 99)
        manifest = run_production(job, describe_error=lambda exc: error_line(exc)[1])
    return EXIT_PARTIAL if manifest["result"] == "partial" else 0


if __name__ == "__main__":
    sys.exit(main())
