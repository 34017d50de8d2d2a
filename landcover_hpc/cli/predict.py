"""``landcover-predict``: land-cover maps of prepared tiles with a trained model, tile after tile."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..parallel import world
from ..prediction.predictor import PredictOptions
from ._common import comma_list, run_cli

PROG = "landcover-predict"


def build_parser() -> argparse.ArgumentParser:
    d = PredictOptions()
    p = argparse.ArgumentParser(prog=PROG, description=(
        "Predict class and confidence maps (Cloud Optimized GeoTIFFs + PNG quicklook) of prepared tiles, "
        "window by window. Under mpirun the windows of a tile are shared among ranks (rank 0 writes). "
        "A finished map whose inputs did not change is skipped; a killed run resumes."))
    p.add_argument("--tile", required=True, type=comma_list, help="tile id(s), e.g. T31UDQ or T31UDQ,T30TWT")
    p.add_argument("--model", default=None,
                   help="trained model file (default with --config: RUN_DIR/best_model.h5 of the training run)")
    p.add_argument("--store", default=None, help="folder of the prepared tile stores (default with --config: data.store)")
    p.add_argument("--config", default=None, help="training config YAML whose data.store and run_dir to use")
    p.add_argument("--out", default="maps", help="output folder (default %(default)s)")
    p.add_argument("--precision", choices=["float32", "bfloat16"], default=None,
                   help="compute precision (default: the model's)")
    p.add_argument("--window", type=int, default=d.window, help="window side, px (default %(default)s)")
    p.add_argument("--overlap", type=int, default=d.overlap,
                   help="px shared by neighbouring windows, a multiple of 4; each window keeps its pixels >= "
                   "OVERLAP/2 px from its border (default %(default)s)")
    p.add_argument("--checkpoint-every", type=int, default=d.checkpoint_every,
                   help="rounds of windows between resume points (default %(default)s)")
    p.add_argument("--threads", type=int, default=None, help="threads per rank (default: from the allocation)")
    p.add_argument("--force", action="store_true", help="recompute maps that are up to date")
    p.add_argument("--no-quicklook", action="store_true", help="do not draw the PNG quicklook")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    def body() -> int:
        from ..errors import ConfigError
        from ..prediction.predictor import predict_tile
        from ..runtime import configure_tensorflow

        if args.checkpoint_every < 1:
            raise ConfigError(f"--checkpoint-every {args.checkpoint_every}: must be >= 1")
        store, model_path = args.store, args.model
        if args.config is not None:
            from ..training.config import load_config

            config = load_config(args.config)
            store = store or config.data.store
            model_path = model_path or str(Path(config.output.run_dir) / "best_model.h5")
        if store is None or model_path is None:
            raise ConfigError("give --store and --model, or --config CONFIG.yaml of the training run")
        comm, rank, _ = world()
        configure_tensorflow(args.threads)
        options = PredictOptions(window=args.window, overlap=args.overlap, precision=args.precision,
                                 checkpoint_every=args.checkpoint_every, force=args.force,
                                 quicklook=not args.no_quicklook)
        from ..prediction.windows import plan_windows

        plan_windows(args.window, args.window, args.window, args.overlap)  # validate before loading anything
        from ..errors import InputNotFoundError
        from ..models import load_model

        if not Path(model_path).is_file():
            raise InputNotFoundError(f"model {model_path} not found: train one with landcover-train or pass --model")
        loaded = load_model(model_path, precision=args.precision)
        for tile in args.tile:
            summary = predict_tile(Path(store) / f"{tile}.h5", model_path, args.out, options, comm=comm,
                                   loaded=loaded)
            if rank == 0:
                if summary["skipped"]:
                    print(f"{tile}: up to date, skipped ({summary['classes']}); --force recomputes it")
                else:
                    print(f"{tile}: {summary['pixels']} px in {summary['seconds']:.1f} s "
                          f"({summary['pixels_per_second']:.0f} px/s) -> {summary['classes']}")
        return 0

    return run_cli(PROG, body)


if __name__ == "__main__":
    sys.exit(main())
