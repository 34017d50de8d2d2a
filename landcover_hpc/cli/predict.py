"""``landcover-predict``: land-cover maps of prepared tiles with a trained model, tile after tile."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..config.predict import PredictConfig
from ..errors import ConfigError, InputNotFoundError
from ._common import EXIT_REQUEUE, config_parser, run_config_command

PROG = "landcover-predict"


def build_parser() -> argparse.ArgumentParser:
    return config_parser(PROG, (
        "Predict class and confidence maps (Cloud Optimized GeoTIFFs + PNG quicklook) of prepared tiles, "
        "window by window. Under mpirun the windows of a tile are shared among ranks (rank 0 writes). "
        "A finished map whose inputs did not change is skipped; a killed run resumes. SIGTERM or SIGUSR1 "
        "(Slurm's time limit, preemption) stops it after the current window with its resume record written, "
        f"exit code {EXIT_REQUEUE}: rerun the same command to finish the same map."), PredictConfig)


def main(argv: list[str] | None = None) -> int:
    return run_config_command(PROG, build_parser(), argv, PredictConfig, _predict)


def _predict(config: PredictConfig, _args: argparse.Namespace) -> int:
    from ..interrupt import stop_signals
    from ..models import load_model
    from ..parallel import world
    from ..prediction.predictor import predict_tile
    from ..prediction.windows import plan_windows
    from ..runtime import configure_tensorflow

    store, model_path = _store_and_model(config)
    comm, rank, _ = world()
    configure_tensorflow(config.threads)
    plan_windows(config.window, config.window, config.window, config.overlap)  # validate before loading
    if not Path(model_path).is_file():
        raise InputNotFoundError(f"model {model_path} not found: train one with landcover-train or pass --model")
    loaded = load_model(model_path, precision=config.precision)
    with stop_signals():  # SIGTERM/SIGUSR1: stop after the current window (exit code EXIT_REQUEUE)
        for tile in config.tiles:
            summary = predict_tile(Path(store) / f"{tile}.h5", model_path, config.out, config.options(), comm=comm,
                                   loaded=loaded)
            if rank == 0:
                if summary["skipped"]:
                    print(f"{tile}: up to date, skipped ({summary['classes']}); --force recomputes it")
                else:
                    print(f"{tile}: {summary['pixels']} px in {summary['seconds']:.1f} s "
                          f"({summary['pixels_per_second']:.0f} px/s) -> {summary['classes']}")
    return 0


def _store_and_model(config: PredictConfig) -> tuple[str, str]:
    """The store folder and model file: given, or else the training run's (``training_config``)."""
    store, model_path = config.store, config.model
    if config.training_config is not None:
        from ..config.train import load_config

        training = load_config(config.training_config)
        store = store or training.data.store
        model_path = model_path or str(Path(training.output.run_dir) / "best_model.h5")
    if store is None or model_path is None:
        raise ConfigError("give --store and --model, or --training-config CONFIG.yaml of the training run")
    return store, model_path


if __name__ == "__main__":
    sys.exit(main())
