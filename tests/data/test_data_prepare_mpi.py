"""landcover-prepare under MPI: tiles are shared among ranks, the stores equal those of a serial run."""

import json

import numpy as np
import pytest

from landcover_hpc.data import PrepareOptions, TileStore, prepare_dataset, prepare_tile
from landcover_hpc.parallel import my_share
from landcover_hpc.synth import SynthOptions, synthesize_tile

pytestmark = pytest.mark.mpi


def test_my_share_partitions_items():
    items = list(range(11))
    for n in (1, 3, 4, 11, 13):
        shares = [my_share(items, i, n) for i in range(n)]
        assert sorted(sum(shares, [])) == items
        assert max(map(len, shares)) - min(map(len, shares)) <= 1


def test_prepare_with_several_ranks_equals_serial(comm, shared_tmp, nomenclature):
    rank, size = comm.Get_rank(), comm.Get_size()
    tiles = ["T31UDQ", "T30TWT", "T30TYN", "T30UVU", "T31TCJ"][: max(2, size + 1)]
    root = shared_tmp / f"mpi{size}"
    opts = PrepareOptions(patch_size=32, stride=8)
    for tile in my_share(tiles, rank, size):
        synthesize_tile(root / "in", tile, nomenclature, SynthOptions(size=64, n_dates=4, seed=7))
    comm.Barrier()
    summary = prepare_dataset(root / "in", root / "out", nomenclature, opts)
    comm.Barrier()
    assert [t["tile"] for t in summary["tiles"]] == sorted(tiles)
    if rank == 0:
        assert json.loads((root / "out" / "dataset.json").read_text())["train_pixels"] == summary["train_pixels"]
    tile = tiles[rank % len(tiles)]  # each rank checks one tile against a serial preparation
    prepare_tile(root / "in" / tile, root / f"serial_{rank}.h5", nomenclature, opts, show_progress=False)
    with TileStore(root / "out" / f"{tile}.h5") as a, TileStore(root / f"serial_{rank}.h5") as b:
        assert np.array_equal(a.stack[...], b.stack[...])
        assert np.array_equal(a.read_labels("train"), b.read_labels("train"))
        assert np.array_equal(a.percentiles, b.percentiles)
    comm.Barrier()


def test_raise_together_raises_on_every_rank_when_one_fails(comm):
    from landcover_hpc.errors import InputFormatError
    from landcover_hpc.parallel import raise_together

    raise_together(comm, None, "doing nothing")  # no rank failed: returns on every rank
    failing = comm.Get_size() - 1
    own = ValueError("this rank's own error")
    with pytest.raises((ValueError, InputFormatError)) as caught:
        raise_together(comm, own if comm.Get_rank() == failing else None, "reading T31UDQ.h5")
    if comm.Get_rank() == failing:
        assert caught.value is own
    else:
        assert "another rank failed while reading T31UDQ.h5" in str(caught.value)
