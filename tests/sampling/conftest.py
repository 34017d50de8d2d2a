"""A small dataset for the sampler tests: 3 synthetic tiles of 80 x 80 px, 4 dates, 16 px patches.

Built once per session in the folder shared by all ranks: each rank synthesises its share of the tiles,
then ``prepare_dataset`` shares the preparation among ranks (a collective under mpirun).
"""

from __future__ import annotations

import pytest

SAMPLING_TILES = ("T31UDQ", "T30TYN", "T31TCJ")


@pytest.fixture(scope="session")
def sampling_store(comm, shared_tmp, nomenclature):
    from landcover_hpc.data import PrepareOptions, prepare_dataset
    from landcover_hpc.parallel import my_share
    from landcover_hpc.synth import SynthOptions, synthesize_tile

    root = shared_tmp / "sampling"
    for tile in my_share(SAMPLING_TILES, comm.Get_rank(), comm.Get_size()):
        synthesize_tile(root / "in", tile, nomenclature, SynthOptions(size=80, n_dates=4, seed=11, swath_edge=False))
    comm.Barrier()
    prepare_dataset(root / "in", root / "out", nomenclature, PrepareOptions(patch_size=16, stride=8))
    comm.Barrier()
    return root / "out"
