"""Leave-one-tile-out: every tile held out once, any method through the same hook."""

import json

import pytest

from landcover_hpc.errors import ConfigError
from landcover_hpc.evaluation import leave_one_tile_out
from test_evaluation_evaluate import write_map


def test_hook_is_called_with_the_other_tiles(tmp_path, store_dir):
    calls = []

    def fake_method(train_tiles, test_tile, work_dir):
        calls.append((train_tiles, test_tile))
        return write_map(work_dir, store_dir, test_tile, share=0.0)

    results = leave_one_tile_out(store_dir, tmp_path, fake_method, method="CNN")
    assert sorted(calls) == [(["T30TYN"], "T31UDQ"), (["T31UDQ"], "T30TYN")]
    assert all(r["kappa"] == 1.0 for r in results.values())
    saved = json.loads((tmp_path / "eval" / "T30TYN_eval.json").read_text())
    assert saved["method"] == "CNN leave-one-tile-out"
    assert leave_one_tile_out(store_dir, tmp_path / "b", fake_method, split_index=1, num_splits=2).keys() == {"T31UDQ"}
    with pytest.raises(ConfigError):
        leave_one_tile_out(store_dir, tmp_path, fake_method, tiles=["T31UDQ"])
    calls.clear()
    assert leave_one_tile_out(store_dir, tmp_path / "c", fake_method, held_out=["T30TYN"]).keys() == {"T30TYN"}
    assert calls == [(["T31UDQ"], "T30TYN")]  # trained on every other tile, only the named one held out
    with pytest.raises(ConfigError, match="held-out tiles T32ULU: not among the tiles"):
        leave_one_tile_out(store_dir, tmp_path, fake_method, held_out=["T32ULU"])
