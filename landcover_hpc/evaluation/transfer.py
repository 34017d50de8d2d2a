"""Leave-one-tile-out transferability (paper 5.3): train on every tile but one, evaluate on the held-out one.

The evaluation side is generic: any method plugs in as a ``train_and_predict(train_tiles, test_tile,
work_dir) -> class map path`` callable (the Random Forest's is :func:`rf_train_and_predict`; the CNN
training code can pass its own). Each held-out tile is an independent job, shaped as ``(split_index,
num_splits)`` so that Slurm array tasks or MPI ranks can share them. Evaluations go to
``<out_dir>/eval/<TILE>_eval.json``, ready for ``landcover-compare --eval "RF loto"=<out_dir>/eval``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

from ..errors import ConfigError
from ..parallel import my_share
from .evaluate import evaluate_map
from .inputs import require_tiles

__all__ = ["TrainAndPredict", "leave_one_tile_out", "rf_train_and_predict"]

TrainAndPredict = Callable[[list[str], str, Path], Path]


def leave_one_tile_out(store_dir: str | Path, out_dir: str | Path, train_and_predict: TrainAndPredict,
                       tiles: Sequence[str] | None = None, method: str = "RF", split_index: int = 0,
                       num_splits: int = 1, held_out: Sequence[str] | None = None) -> dict[str, dict]:
    """For each tile of ``held_out`` (default: all of ``tiles``, default all in ``store_dir``) held out in
    turn (this split's share), call ``train_and_predict(the other tiles, tile, <out_dir>/without_<tile>)`` and
    evaluate the returned map.

    Returns:
        ``{tile: evaluation dict}`` of this split's tiles.
    """
    store_dir, out_dir = Path(store_dir), Path(out_dir)
    require_tiles(store_dir, tiles)
    tiles = list(tiles) if tiles else sorted(p.stem for p in store_dir.glob("*.h5"))
    if len(tiles) < 2:
        raise ConfigError(f"leave-one-tile-out needs at least 2 tiles, got {tiles}")
    held_out = list(held_out) if held_out else tiles
    unknown = sorted(set(held_out) - set(tiles))
    if unknown:
        raise ConfigError(f"held-out tiles {', '.join(unknown)}: not among the tiles {', '.join(tiles)}")
    results = {}
    for tile in my_share(held_out, split_index, num_splits):
        train_tiles = [t for t in tiles if t != tile]
        map_path = Path(train_and_predict(train_tiles, tile, out_dir / f"without_{tile}"))
        results[tile] = evaluate_map(map_path, store_dir, tile, out_dir / "eval", method=f"{method} leave-one-tile-out")
    return results


def rf_train_and_predict(store_dir: str | Path, params=None, per_class: int = 10_000, predict_options=None
                         ) -> TrainAndPredict:
    """The Random Forest as a :data:`TrainAndPredict`: model ``<work_dir>/rf.h5``, maps in ``work_dir``."""
    from ..baseline import ForestParams, RFPredictOptions, predict_stores_rf, train_rf

    params = params or ForestParams()
    predict_options = predict_options or RFPredictOptions()

    def run(train_tiles: list[str], test_tile: str, work_dir: Path) -> Path:
        model = Path(work_dir) / "rf.h5"
        train_rf(store_dir, model, train_tiles, params, per_class)
        summary = predict_stores_rf(model, store_dir, work_dir, [test_tile], predict_options, 0, 1)
        return Path(summary[0]["classes"])

    return run
