"""The distributed sampler on 1, 3 and 4 ranks: exchange correctness, reproducibility, loaders, validation.

Every test runs on all ranks in the same order; checks are reduced over ranks (``check``) before asserting,
so a failure on one rank fails every rank at the same point instead of leaving the others in a collective.
"""

import json

import numpy as np
import pytest

from landcover_hpc.data import TileStore
from landcover_hpc.sampling import PatchSampler, SamplerOptions, minimum_moves, normalise

pytestmark = pytest.mark.mpi
B = 4  # patches per rank


def check(comm, ok) -> bool:
    """True when ``ok`` holds on every rank."""
    return bool(comm.allreduce(bool(ok), op=__import__("mpi4py").MPI.LAND))


def sampler(store, comm, **options):
    return PatchSampler(store, comm, SamplerOptions(**{"batch_size": B, "seed": 5, **options}))


def source_patch(store_dir, tile_id, split, row, col, size):
    with TileStore(store_dir / f"{tile_id}.h5") as store:
        return store.read_window(row, col, size, size), store.read_labels(split, row, col, size, size)


@pytest.mark.parametrize("n_tiles", [3, 2, 1])
def test_exchange_delivers_the_plan_byte_for_byte(comm, sampling_store, n_tiles):
    tiles = json.loads((sampling_store / "dataset.json").read_text())["tiles"]
    tile_ids = sorted(t["tile"] for t in tiles)[:n_tiles]  # fewer tiles than ranks: some ranks only receive
    with PatchSampler(sampling_store, comm, SamplerOptions(batch_size=B, seed=1), tiles=tile_ids) as s:
        ok = True
        for batch_index in range(3):
            plan = s.plan(batch_index)
            raw, labels, order = s.exchange(plan)
            ok &= raw.shape == (B, s.patch_size, s.patch_size, s.n_dates * len(s.bands)) and raw.dtype == np.int16
            ok &= labels.shape == (B, s.patch_size, s.patch_size) and len(order) == B
            ok &= plan.moved == minimum_moves(np.bincount(plan.source, minlength=comm.Get_size()), B)
            for patch, label, i in zip(raw, labels, order):
                want_patch, want_label = source_patch(sampling_store, s.tile_ids[plan.tile[i]], "train",
                                                      plan.row[i], plan.col[i], s.patch_size)
                ok &= np.array_equal(patch, want_patch) and np.array_equal(label, want_label)
                ok &= bool(np.any(label == plan.class_index[i]))  # the patch holds its drawn class
            everything = sorted(sum(comm.allgather(order.tolist()), []))
            ok &= everything == list(range(plan.size))  # the ranks together hold the plan, each patch once
    assert check(comm, ok)


def test_batches_are_normalised_and_reproducible(comm, sampling_store):
    with sampler(sampling_store, comm) as a, sampler(sampling_store, comm) as b, \
            sampler(sampling_store, comm, seed=6) as c:
        ok = True
        for _ in range(3):
            (xa, ya), (xb, yb), (xc, _) = next(a), next(b), next(c)
            ok &= xa.dtype == np.float32 and ya.dtype == np.uint8 and xa.shape == (B, 16, 16, a.n_channels)
            ok &= float(xa.min()) >= 0.0 and float(xa.max()) <= 1.0 and int(ya.max()) <= len(a.class_codes)
            ok &= np.array_equal(xa, xb) and np.array_equal(ya, yb)
        differs = not np.array_equal(xa, xc)
    assert check(comm, ok)
    assert comm.allreduce(differs, op=__import__("mpi4py").MPI.LOR)  # another seed draws other batches


def test_augmentation_moves_labels_with_images(comm, sampling_store):
    """Without augmentation a batch is the normalised source patch; with it, one of its 8 symmetries, and
    the labels underwent the same one."""
    with sampler(sampling_store, comm, augment=False) as plain, sampler(sampling_store, comm) as augmented:
        ok, turned = True, 0
        for _ in range(3):
            (x0, y0), (x1, y1) = next(plain), next(augmented)
            for i in range(B):
                candidates = [(np.rot90(x0[i], k)[:, ::-1] if f else np.rot90(x0[i], k),
                               np.rot90(y0[i], k)[:, ::-1] if f else np.rot90(y0[i], k))
                              for f in (0, 1) for k in range(4)]
                match = [np.array_equal(x1[i], cx) and np.array_equal(y1[i], cy) for cx, cy in candidates]
                ok &= any(match)
                turned += not match[0]
    assert check(comm, ok)
    assert comm.allreduce(turned) > 0


def test_state_restore_reproduces_the_batches(comm, sampling_store):
    with sampler(sampling_store, comm) as s:
        for _ in range(2):
            next(s)
        state = json.loads(json.dumps(s.state_dict()))  # plain JSON
        expected = [next(s) for _ in range(2)]
    with sampler(sampling_store, comm) as resumed:
        resumed.load_state_dict(state)
        got = [next(resumed) for _ in range(2)]
    ok = all(np.array_equal(x, gx) and np.array_equal(y, gy) for (x, y), (gx, gy) in zip(expected, got))
    assert check(comm, ok) and state["batch_index"] == 2


def test_state_from_another_configuration_is_refused(comm, sampling_store):
    from landcover_hpc.errors import ConfigError

    with sampler(sampling_store, comm) as s:
        state = {**s.state_dict(), "seed": 99}
        with pytest.raises(ConfigError, match="seed=99"):
            s.load_state_dict(state)


def test_on_demand_reads_equal_in_memory(comm, sampling_store):
    with sampler(sampling_store, comm, memory_budget=0) as on_demand, sampler(sampling_store, comm) as in_memory:
        ok = all(not t.in_memory for t in on_demand.local.values()) and all(
            t.in_memory for t in in_memory.local.values())
        for _ in range(3):
            (xa, ya), (xb, yb) = next(on_demand), next(in_memory)
            ok &= np.array_equal(xa, xb) and np.array_equal(ya, yb)
        ok &= np.array_equal(on_demand.exchange(on_demand.plan(7), "test")[0],
                             in_memory.exchange(in_memory.plan(7), "test")[0])
    assert check(comm, ok)


def test_validation_batches_are_fixed_unaugmented_validation_patches(comm, sampling_store):
    with sampler(sampling_store, comm, indices=True) as s:
        first = list(s.validation_batches(2))
        next(s)  # training in between changes nothing
        again = list(s.validation_batches(2))
        plan = s.plan(1, validation=True)
        raw, labels, order = s.exchange(plan, "val")
        ok = all(np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]) for a, b in zip(first, again))
        x, y = first[1]
        ok &= x.shape == (B, 16, 16, s.n_dates * (len(s.bands) + 3)) and np.array_equal(y, labels)
        c = len(s.bands)
        bands_only = x.reshape(B, 16, 16, s.n_dates, c + 3)[..., :c].reshape(B, 16, 16, -1)
        ok &= np.array_equal(bands_only, normalise(raw, s.percentiles))  # no augmentation
        for label, i in zip(labels, order):
            _, want = source_patch(sampling_store, s.tile_ids[plan.tile[i]], "val", plan.row[i], plan.col[i], 16)
            ok &= np.array_equal(label, want)
        ok &= s.batch_index == 1
    assert check(comm, ok)


def test_validation_windows_score_every_validation_pixel_once(comm, sampling_store):
    with sampler(sampling_store, comm, memory_budget=0) as on_demand, sampler(sampling_store, comm) as s:
        counts, ok = {}, True  # by tile id: every window's tile is named (training's per-tile prior correction)
        for (x, y, tile), (x2, y2, tile2) in zip(s.validation_windows(), on_demand.validation_windows()):
            ok &= x.shape == (B, 16, 16, s.n_channels) and y.shape == (B, 16, 16) and 0 <= x.min() and x.max() <= 1
            ok &= np.array_equal(x, x2) and np.array_equal(y, y2) and tile.tile_id == tile2.tile_id
            ok &= any(tile is local for local in s.local.values())
            counts[tile.tile_id] = counts.get(tile.tile_id, 0) + np.bincount(y.ravel(), minlength=256)
        n_batches = -(-s.n_validation_windows() // B)
        ok &= n_batches == len(list(s.validation_windows()))
        per_tile = {t: c for rank_counts in comm.allgather(counts) for t, c in rank_counts.items()}
        for tile in s.tile_ids:
            with TileStore(sampling_store / f"{tile}.h5") as store:
                want = store.class_counts("val")
            got = per_tile.get(tile, np.zeros(256, np.int64))[1:len(want) + 1]
            ok &= np.array_equal(got, want) and per_tile.get(tile, np.zeros(1))[len(want) + 1:].sum() == 0
        ok &= sum(c[1:].sum() for c in per_tile.values()) > 0
    assert check(comm, ok)


def test_percentiles_come_from_the_training_tiles_only(comm, sampling_store):
    """A tile left out of training (leave-one-tile-out) does not shape the normalisation."""
    from landcover_hpc.data import dataset_percentiles, open_stores

    meta = json.loads((sampling_store / "dataset.json").read_text())
    tile_ids = sorted(t["tile"] for t in meta["tiles"])
    with PatchSampler(sampling_store, comm, SamplerOptions(batch_size=B), tiles=tile_ids) as s:
        ok = np.array_equal(s.percentiles, np.asarray(meta["percentiles"], np.float32))
    stores = open_stores(sampling_store, tile_ids[:2])
    try:
        want = dataset_percentiles(stores)
    finally:
        for store in stores:
            store.close()
    with PatchSampler(sampling_store, comm, SamplerOptions(batch_size=B), tiles=tile_ids[:2]) as s:
        ok &= np.array_equal(s.percentiles, want) and not np.array_equal(want, meta["percentiles"])
    assert check(comm, ok)


@pytest.mark.parametrize("validation_balance", ["none", "classes"])
def test_validation_patches_are_drawn_at_the_validation_class_mix_unless_asked_otherwise(
        comm, sampling_store, validation_balance):
    """Default ``none``: validation classes as frequent as their validation positions, the mix the test
    evaluation scores; ``classes``: uniform over the classes; training batches keep their own balance."""
    from landcover_hpc.sampling import VALIDATION_STREAM, batch_rngs
    from landcover_hpc.sampling.plan import draw_batch_plan

    options = {} if validation_balance == "none" else {"validation_balance": "classes"}
    with sampler(sampling_store, comm, **options) as s:
        ok = s.options.validation_balance == validation_balance and s.options.balance == "classes"
        if comm.Get_rank() == 0:
            for batch_index in range(4):
                rng, _ = batch_rngs(s.options.seed, VALIDATION_STREAM, batch_index)
                want = draw_batch_plan(s._positions["val"], s.tile_ranks, s.size, B, rng, validation_balance)
                got = s.plan(batch_index, validation=True)
                ok &= np.array_equal(got.class_index, want.class_index) and np.array_equal(got.row, want.row)
        else:
            for batch_index in range(4):
                s.plan(batch_index, validation=True)
    assert check(comm, ok)
