"""``landcover-prepare``: input tiles -> per-tile HDF5 stores and a dataset summary."""

from __future__ import annotations

import argparse
import sys

from ..config.prepare import PrepareConfig
from ._common import config_parser, run_config_command

PROG = "landcover-prepare"


def build_parser() -> argparse.ArgumentParser:
    return config_parser(PROG, (
        "Turn input tiles (DATA_ROOT/<TILE_ID>/stack.tif + reference.gpkg or labels.tif) into per-tile HDF5 "
        "stores STORE/<TILE_ID>.h5 and STORE/dataset.json. Under mpirun, tiles are shared among ranks."), PrepareConfig)


def main(argv: list[str] | None = None) -> int:
    return run_config_command(PROG, build_parser(), argv, PrepareConfig, _prepare)


def _prepare(config: PrepareConfig, _args: argparse.Namespace) -> int:
    from ..data.prepare import format_summary, prepare_dataset
    from ..nomenclature import load_nomenclature
    from ..parallel import world

    summary = prepare_dataset(config.input, config.out, load_nomenclature(config.nomenclature),
                              config.options(), tiles=config.tiles, force=config.force)
    if world()[1] == 0:
        print(format_summary(summary))
        print(f"stores and dataset.json written to {config.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
