"""The map driver with a stand-in classifier (no model): resume after a kill, skip when up to date, force,
tags, quicklook, progress on rank 0, and windows shared over MPI ranks giving the one-process maps."""

import logging
from dataclasses import dataclass

import numpy as np
import pytest

from landcover_hpc.data import TileStore
from landcover_hpc.maps import MapWriter, read_map_tags
from landcover_hpc.prediction.produce import maps_from_probabilities, produce_maps
from reference_maps import TILE, build_store, read_map


@dataclass(frozen=True)
class Options:
    window: int = 32
    overlap: int = 8
    checkpoint_every: int = 2
    force: bool = False
    quicklook: bool = False


class BrightnessClassifier:
    """Class 11 where the first channel is above its window's median, else 12; confidence from the value."""

    architecture = title = "brightness"
    progress_label = "test"
    settings = {"rule": "median"}
    tags = {"method": "test"}
    nomenclature = None

    def __init__(self):
        self.calls = 0

    def prepare(self, stack, valid, slot):
        return stack[..., 0].astype(np.float32), valid

    def classify(self, prepared):
        self.calls += 1
        band, valid = prepared
        high = (band > np.median(band)).astype(np.float32)
        return maps_from_probabilities(np.stack([high * 0.7 + 0.2, 0.8 - high * 0.7], -1), valid, (11, 12))


class Killed(Exception):
    pass


def _produce(store_dir, out, options=Options(), comm=None, classifier=None, **kwargs):
    with TileStore(store_dir / f"{TILE}.h5") as store:
        return produce_maps(store, classifier or BrightnessClassifier(), store_dir / f"{TILE}.h5", out, options,
                            comm, **kwargs)


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory):
    return build_store(tmp_path_factory.mktemp("produce"))


def test_killed_run_resumes_after_its_last_checkpoint(store_dir, tmp_path, monkeypatch):
    fresh = _produce(store_dir, tmp_path / "fresh")
    original = MapWriter.checkpoint

    def checkpoint_then_die(self):
        original(self)
        raise Killed

    monkeypatch.setattr(MapWriter, "checkpoint", checkpoint_then_die)
    with pytest.raises(Killed):
        _produce(store_dir, tmp_path / "resumed")
    monkeypatch.setattr(MapWriter, "checkpoint", original)
    assert not (tmp_path / "resumed" / f"{TILE}_classes.tif").exists()
    classifier = BrightnessClassifier()
    resumed = _produce(store_dir, tmp_path / "resumed", classifier=classifier)
    assert resumed["windows"] == fresh["windows"] - 2 == classifier.calls
    for kind in ("classes", "confidence"):
        assert np.array_equal(read_map(resumed[kind]), read_map(fresh[kind]))


def test_up_to_date_maps_are_skipped_unless_forced_and_carry_tags(store_dir, tmp_path):
    first = _produce(store_dir, tmp_path, Options(quicklook=True))
    assert not first["skipped"] and (tmp_path / f"{TILE}_quicklook.png").is_file()
    tags = read_map_tags(first["classes"])
    assert tags["architecture"] == "brightness" and tags["method"] == "test" and tags["tile"] == TILE
    assert tags["window"] == "32" and tags["overlap"] == "8" and len(tags["signature"]) == 64
    classifier = BrightnessClassifier()
    assert _produce(store_dir, tmp_path, classifier=classifier)["skipped"] and classifier.calls == 0
    forced = _produce(store_dir, tmp_path, Options(force=True))
    assert not forced["skipped"] and forced["windows"] == first["windows"]
    other = _produce(store_dir, tmp_path, Options(overlap=4))  # another plan: another signature
    assert not other["skipped"]


def test_progress_lines_only_when_asked(store_dir, tmp_path, monkeypatch, caplog):
    caplog.set_level(logging.INFO, logger="landcover_hpc")  # progress lines are INFO records
    monkeypatch.setattr("landcover_hpc.progress.time.perf_counter", iter(range(0, 10_000, 10)).__next__)
    _produce(store_dir, tmp_path / "quiet", show_progress=False)
    assert caplog.messages == []
    _produce(store_dir, tmp_path / "loud")
    assert any(m.startswith(f"test {TILE}: 100.0%") for m in caplog.messages), caplog.messages


@pytest.mark.mpi
def test_windows_shared_over_ranks_give_the_one_process_maps(comm, shared_tmp):
    root = shared_tmp / f"produce_{comm.Get_size()}"
    store_dir = build_store(root, comm)
    classifier = BrightnessClassifier()
    shared = _produce(store_dir, root / "shared", comm=comm, classifier=classifier)
    windows = shared["windows"]
    assert classifier.calls == len(range(comm.Get_rank(), windows, comm.Get_size()))
    assert _produce(store_dir, root / "shared", comm=comm)["skipped"]  # on every rank
    if comm.Get_rank() == 0:
        alone = _produce(store_dir, root / "alone")
        for kind in ("classes", "confidence"):
            assert np.array_equal(read_map(shared[kind]), read_map(alone[kind]))
    comm.Barrier()
