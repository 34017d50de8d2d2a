"""Leave-one-tile-out transferability (paper 5.3): train on every tile but one, evaluate on the held-out one.

The evaluation side is generic: any method plugs in as a ``train_and_predict(train_tiles, test_tile,
work_dir) -> class map path`` callable (the Random Forest's is
:func:`landcover_hpc.baseline.loto.rf_train_and_predict`, the network's
:func:`landcover_hpc.training.loto.cnn_train_and_predict`): evaluation knows no method, so no method's
package needs to be imported here. Each held-out tile is an independent job, shaped as ``(split_index,
num_splits)`` so that Slurm array tasks or MPI ranks can share them. Evaluations go to
``<out_dir>/eval/<TILE>_eval.json``, ready for ``landcover-compare --eval "RF loto"=<out_dir>/eval``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

from ..errors import ConfigError
from ..parallel import my_share
from .evaluate import evaluate_map
from ..data.store import require_tiles

__all__ = ["TrainAndPredict", "leave_one_tile_out"]

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
    tiles = require_tiles(store_dir, tiles)
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
