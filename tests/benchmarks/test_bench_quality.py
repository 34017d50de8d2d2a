"""The data part of benchmarks/bench_quality.py on one real WorldCereal patch: convert with parcels, gap-fill,
prepare. Its split must be by parcel (no parcel in two splits) and leave every class of the patch both
training and test pixels, or the benchmark's scores mean nothing."""

import json
from pathlib import Path

import numpy as np
import pytest
from benchmark_scripts import load

WORLDCEREAL = Path("/work/shared/data/worldcereal")
PATCH = "00002806639B424A"  # the one with all three classes (built-up has only 3 parcels)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (WORLDCEREAL / PATCH).is_dir(), reason=f"real data folder {WORLDCEREAL} not present"),
]


def _bench():
    return load("bench_quality")


def test_bench_quality_splits_the_real_patch_by_parcel_with_every_class_in_train_and_test(tmp_path):
    import fiona
    import h5py
    import rasterio
    from rasterio.features import rasterize

    store_dir = _bench().prepare_patch(WORLDCEREAL / PATCH, tmp_path, tmp_path / "log.txt")
    tile = tmp_path / "tiles" / PATCH
    with rasterio.open(tile / "labels.tif") as src:
        land_cover, transform = src.read(1), src.transform
    with fiona.open(tile / "reference.gpkg") as src:
        parcels = [(f["geometry"], f["properties"]["parcel"]) for f in src]
    parcel_ids = rasterize(parcels, out_shape=land_cover.shape, transform=transform, fill=0, dtype="int32")
    assert (parcel_ids > 0).sum() == (land_cover > 0).sum(), "the parcels cover exactly the labelled pixels"

    with h5py.File(store_dir / f"{PATCH}.h5", "r") as h5:
        splits = {name: h5["labels"][name][...] for name in h5["labels"]}  # train, test (and val if any)
        objects = h5["polygons"][...]
        codes = h5.attrs["class_codes"]
    assert {"train", "test"} <= set(splits)
    assert len(objects) == len(parcels), "prepare's objects are the parcels"
    for parcel in np.unique(parcel_ids[parcel_ids > 0]):
        inside = parcel_ids == parcel
        holding = [name for name, labels in splits.items() if (labels[inside] > 0).any()]
        assert len(holding) == 1, f"parcel {parcel} has pixels in {holding}"
    class_codes = np.array([0, *json.loads(codes)])
    for code in np.unique(land_cover[land_cover > 0]):
        for name in ("train", "test"):
            assert (class_codes[splits[name]] == code).any(), f"class {code} has no {name} pixel"
