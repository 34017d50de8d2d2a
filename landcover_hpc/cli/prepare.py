"""``landcover-prepare``: input tiles -> per-tile HDF5 stores and a dataset summary."""

from __future__ import annotations

import argparse
import sys

from ..data.prepare import PrepareOptions, format_summary, prepare_dataset
from ..nomenclature import load_nomenclature
from ..parallel import world
from ._common import comma_list, run_cli

PROG = "landcover-prepare"


def build_parser() -> argparse.ArgumentParser:
    d = PrepareOptions()
    p = argparse.ArgumentParser(prog=PROG, description=(
        "Turn input tiles (DATA_ROOT/<TILE_ID>/stack.tif + reference.gpkg or labels.tif) into per-tile HDF5 "
        "stores STORE/<TILE_ID>.h5 and STORE/dataset.json. Under mpirun, tiles are shared among ranks."))
    p.add_argument("--input", required=True, help="data root holding one folder per tile")
    p.add_argument("--out", required=True, help="store folder to write")
    p.add_argument("--tiles", type=comma_list, default=None, help="only these tiles (default: all under --input)")
    p.add_argument("--nomenclature", default=None, help="nomenclature YAML (default configs/nomenclature.yaml)")
    p.add_argument("--patch-size", type=int, default=d.patch_size, help="training patch side, px (default %(default)s)")
    p.add_argument("--stride", type=int, default=d.stride, help="step of candidate patch positions (default %(default)s)")
    p.add_argument("--min-fraction", type=float, default=d.min_fraction,
                   help="share of a patch's pixels of a class for a valid position (default %(default)s)")
    p.add_argument("--test-fraction", type=float, default=d.test_fraction,
                   help="share of reference objects for testing, per tile and class (default %(default)s)")
    p.add_argument("--val-fraction", type=float, default=d.val_fraction,
                   help="share of reference objects for validation (model selection), taken from the training "
                        "ones, per tile and class (default %(default)s)")
    p.add_argument("--split-seed", type=int, default=d.split_seed,
                   help="seed of the train/validation/test split (default %(default)s)")
    p.add_argument("--percentile-samples", type=int, default=d.percentile_samples,
                   help="pixels per tile sampled for the percentiles (default %(default)s)")
    p.add_argument("--window", type=int, default=d.window, help="processing window side, px (default %(default)s)")
    p.add_argument("--chunk", type=int, default=d.chunk, help="HDF5 chunk side, px (default %(default)s)")
    p.add_argument("--compression", choices=["none", "lzf", "gzip"], default="none",
                   help="HDF5 compression of the stack (default none: fastest random reads)")
    p.add_argument("--force", action="store_true", help="rewrite stores whose inputs did not change")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    def body() -> int:
        options = PrepareOptions(
            patch_size=args.patch_size, stride=args.stride, min_fraction=args.min_fraction,
            test_fraction=args.test_fraction, val_fraction=args.val_fraction, split_seed=args.split_seed,
            percentile_samples=args.percentile_samples, window=args.window, chunk=args.chunk,
            compression=None if args.compression == "none" else args.compression)
        summary = prepare_dataset(args.input, args.out, load_nomenclature(args.nomenclature), options,
                                  tiles=args.tiles, force=args.force)
        if world()[1] == 0:
            print(format_summary(summary))
            print(f"stores and dataset.json written to {args.out}")
        return 0

    return run_cli(PROG, body)


if __name__ == "__main__":
    sys.exit(main())
