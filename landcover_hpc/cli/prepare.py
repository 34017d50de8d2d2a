"""``landcover-prepare``: input tiles -> per-tile HDF5 stores and a dataset summary."""

from __future__ import annotations

import argparse
import sys

from ..config import add_config_options, add_schema_flags
from ..config.prepare import PrepareConfig
from ._common import config_from_args, print_config, run_cli

PROG = "landcover-prepare"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description=(
        "Turn input tiles (DATA_ROOT/<TILE_ID>/stack.tif + reference.gpkg or labels.tif) into per-tile HDF5 "
        "stores STORE/<TILE_ID>.h5 and STORE/dataset.json. Under mpirun, tiles are shared among ranks."))
    add_config_options(p)
    add_schema_flags(p, PrepareConfig)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    def body() -> int:
        config = config_from_args(PrepareConfig, args)
        if args.print_config:
            return print_config(config)
        from ..data.prepare import format_summary, prepare_dataset
        from ..nomenclature import load_nomenclature
        from ..parallel import world

        summary = prepare_dataset(config.input, config.out, load_nomenclature(config.nomenclature),
                                  config.options(), tiles=config.tiles, force=config.force)
        if world()[1] == 0:
            print(format_summary(summary))
            print(f"stores and dataset.json written to {config.out}")
        return 0

    return run_cli(PROG, body)


if __name__ == "__main__":
    sys.exit(main())
