"""The sampler with Sentinel-1 (SamplerOptions.sentinel1) on 1 and 3 ranks: each patch carries its tile's S1
channels after the S2 ones, exchanged in the same buffer, normalised with the S1 percentiles, augmented with
the S2 channels and labels; a tile without S1 is one line naming its store."""

import json
import shutil

import numpy as np
import pytest

from landcover_hpc.data import PrepareOptions, TileStore, prepare_dataset
from landcover_hpc.errors import InputFormatError
from landcover_hpc.sampling import PatchSampler, SamplerOptions, normalise

pytestmark = pytest.mark.mpi
B = 4


def check(comm, ok) -> bool:
    return bool(comm.allreduce(bool(ok), op=__import__("mpi4py").MPI.LAND))


def sampler(store, comm, **options):
    return PatchSampler(store, comm, SamplerOptions(**{"batch_size": B, "seed": 3, **options}))


def test_s1_channels_follow_s2_exactly_as_in_the_store(comm, sampling_store):
    meta = json.loads((sampling_store / "dataset.json").read_text())
    T1 = len(meta["s1_dates"])
    with sampler(sampling_store, comm, sentinel1=True, augment=False) as s:
        TC = s.n_dates * len(s.bands)
        ok = T1 > 0 and s.s1_dates == tuple(meta["s1_dates"]) and s.n_channels == TC + 2 * T1
        ok &= np.array_equal(s.s1_percentiles, np.asarray(meta["s1_percentiles"], np.float32))
        for batch_index in range(3):
            plan = s.plan(batch_index)
            raw, _, order = s.exchange(plan)
            x, y = s.batch(batch_index)
            ok &= raw.shape == (B, s.patch_size, s.patch_size, TC + 2 * T1) and x.shape == (B, 16, 16, TC + 2 * T1)
            for j, i in enumerate(order):
                with TileStore(sampling_store / f"{s.tile_ids[plan.tile[i]]}.h5") as store:
                    args = (plan.row[i], plan.col[i], s.patch_size, s.patch_size)
                    s2, s1, labels = store.read_window(*args), store.read_s1_window(*args), store.read_labels(
                        "train", *args)
                ok &= np.array_equal(raw[j, ..., TC:], s1) and np.array_equal(raw[j, ..., :TC], s2)
                ok &= np.array_equal(x[j, ..., :TC], normalise(s2, s.percentiles))
                ok &= np.array_equal(x[j, ..., TC:], normalise(s1, s.s1_percentiles)) and np.array_equal(y[j], labels)
    assert check(comm, ok)


def test_s1_channels_are_augmented_with_s2_and_labels(comm, sampling_store):
    """With augmentation, the S2 part and labels are those of the S2-only sampler (same seed), and the S1 part
    underwent the same symmetry as they did."""
    with sampler(sampling_store, comm, sentinel1=True) as both, sampler(sampling_store, comm) as s2_only, \
            sampler(sampling_store, comm, sentinel1=True, augment=False) as plain:
        TC, ok, turned = s2_only.n_channels, True, 0
        for _ in range(3):
            (x, y), (x2, y2), (x0, _) = next(both), next(s2_only), next(plain)
            ok &= np.array_equal(x[..., :TC], x2) and np.array_equal(y, y2)
            for i in range(B):
                symmetries = [(k, f) for f in (0, 1) for k in range(4)
                              if np.array_equal(_apply(x0[i, ..., :TC], k, f), x[i, ..., :TC])]
                ok &= len(symmetries) >= 1
                ok &= any(np.array_equal(_apply(x0[i, ..., TC:], k, f), x[i, ..., TC:]) for k, f in symmetries)
                turned += symmetries[0] != (0, 0) if symmetries else 0
    assert check(comm, ok)
    assert comm.allreduce(turned) > 0


def _apply(image, turns, flip):
    out = np.rot90(image, turns)
    return out[:, ::-1] if flip else out


def test_a_tile_without_s1_is_one_line_naming_its_store(comm, sampling_store, shared_tmp, nomenclature):
    root = shared_tmp / "sampling_no_s1"
    if comm.Get_rank() == 0:
        shutil.copytree(sampling_store.parent / "in" / "T31TCJ", root / "in" / "T31TCJ")
        (root / "in" / "T31TCJ" / "stack_s1.tif").unlink()
    comm.Barrier()
    prepare_dataset(root / "in", root / "out", nomenclature, PrepareOptions(patch_size=16, stride=8))
    with sampler(root / "out", comm) as s:  # S2-only models still sample it
        ok = next(s)[0].shape[-1] == s.n_channels
    with pytest.raises(InputFormatError) as caught:
        sampler(root / "out", comm, sentinel1=True)
    message = str(caught.value)
    ok &= "\n" not in message
    if comm.Get_rank() == 0:  # rank 0 reads the dataset; the others say another rank failed
        ok &= "T31TCJ.h5" in message and "no Sentinel-1 stack" in message
        ok &= "add <TILE_ID>/stack_s1.tif" in message and "re-run landcover-prepare" in message
    else:
        ok &= "another rank failed" in message
    assert check(comm, ok), message
