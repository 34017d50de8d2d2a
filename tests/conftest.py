"""Shared fixtures: small synthetic tiles and their stores, and the MPI communicator.

Tests that need several ranks are marked ``mpi``; they take the ``comm`` fixture, so the same test runs on
one rank in plain pytest and on ``mpirun -n 3`` / ``-n 4`` from ``make test`` (scripts/test_mpi.sh).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from landcover_hpc.nomenclature import load_nomenclature  # noqa: E402

TEST_TILES = ("T31UDQ", "T30TYN")
TEST_SIZE = 160


@pytest.fixture(scope="session")
def nomenclature():
    return load_nomenclature()


@pytest.fixture(scope="session")
def comm():
    """MPI.COMM_WORLD: one rank in plain pytest, several under mpirun."""
    from mpi4py import MPI

    return MPI.COMM_WORLD


@pytest.fixture(scope="session")
def shared_tmp(tmp_path_factory, comm):
    """A temporary folder shared by all ranks (rank 0 creates it)."""
    path = str(tmp_path_factory.mktemp("shared")) if comm.Get_rank() == 0 else None
    return Path(comm.bcast(path, root=0))


@pytest.fixture(scope="session")
def synth_tiles():
    """Tile ids of ``synth_root``, in order."""
    return TEST_TILES


@pytest.fixture(scope="session")
def synth_root(tmp_path_factory, nomenclature):
    """Two synthetic input tiles (urban and mountain profiles), 160 x 160 px, 33 dates."""
    from landcover_hpc.synth import SynthOptions, synthesize_tile

    root = tmp_path_factory.mktemp("synth")
    for tile in TEST_TILES:
        synthesize_tile(root, tile, nomenclature, SynthOptions(size=TEST_SIZE, seed=3))
    return root


@pytest.fixture(scope="session")
def store_dir(tmp_path_factory, synth_root, nomenclature):
    """The prepared stores of ``synth_root`` (default options, 64 px patches, stride 16)."""
    from landcover_hpc.data import PrepareOptions, prepare_dataset

    out = tmp_path_factory.mktemp("store")
    prepare_dataset(synth_root, out, nomenclature, PrepareOptions())
    return out


@pytest.fixture(scope="session")
def train_store(tmp_path_factory, synth_root, nomenclature):
    """The stores of ``synth_root`` with the demo's 32 px patches (stride 8), for training runs: validation
    objects, 10 % of the reference, hold few 64 px patch positions on 160 px tiles, but enough 32 px ones."""
    from landcover_hpc.data import PrepareOptions, prepare_dataset

    out = tmp_path_factory.mktemp("train_store")
    prepare_dataset(synth_root, out, nomenclature, PrepareOptions(patch_size=32, stride=8))
    return out


@pytest.fixture(scope="session")
def s1_store(tmp_path_factory, nomenclature):
    """Stores of 3 small synthetic tiles with Sentinel-1 (80 x 80 px, 4 S2 dates, 3 S1 dates, 16 px patches),
    for the Sentinel-1 training and prediction tests (one process: not for tests marked ``mpi``)."""
    from landcover_hpc.data import PrepareOptions, prepare_dataset
    from landcover_hpc.synth import SynthOptions, synthesize_tile

    root = tmp_path_factory.mktemp("s1")
    for tile in ("T31UDQ", "T30TYN", "T31TCJ"):
        synthesize_tile(root / "in", tile, nomenclature, SynthOptions(size=80, n_dates=4, seed=11, swath_edge=False))
    prepare_dataset(root / "in", root / "store", nomenclature, PrepareOptions(patch_size=16, stride=8))
    return root / "store"
