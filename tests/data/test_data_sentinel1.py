"""Sentinel-1 beside Sentinel-2 in the input and the store: landcover-synth writes stack_s1.tif with
class-dependent backscatter without moving the Sentinel-2 stack, landcover-prepare stores it with its own
percentiles and dates, and a stack_s1.tif off the stack's grid is one line and exit 2."""

from __future__ import annotations

import json
import shutil

import fiona
import h5py
import numpy as np
import pytest
import rasterio

from landcover_hpc.cli import prepare as prepare_cli
from landcover_hpc.data import PrepareOptions, TileStore, prepare_dataset
from landcover_hpc.data.tiles import S1_NODATA, S1_STACK, open_s1_stack, open_stack
from landcover_hpc.errors import InputFormatError
from landcover_hpc.synth import SynthOptions, synthesize_tile
from landcover_hpc.synth.generate import synth_s1_dates

SMALL = dict(size=64, n_dates=4, seed=2, swath_edge=False)


@pytest.fixture(scope="module")
def small_root(tmp_path_factory, nomenclature):
    """Two 64 px tiles of 4 dates with Sentinel-1 (3 S1 dates)."""
    root = tmp_path_factory.mktemp("s1_in")
    for tile in ("T31UDQ", "T31TCJ"):
        synthesize_tile(root, tile, nomenclature, SynthOptions(**SMALL))
    return root


def _class_series(tile_dir, nomenclature, names):
    """(T1, 2) mean dB of the pixels of classes ``names`` per date, from stack_s1.tif and truth.tif."""
    with rasterio.open(tile_dir / S1_STACK) as src:
        s1 = src.read().astype(np.float64) / 100  # (T1*2, H, W) dB
    with rasterio.open(tile_dir / "truth.tif") as src:
        truth = src.read(1)
    codes = [c.code for c in nomenclature.classes if c.name in names]
    mask = np.isin(truth, codes)
    assert mask.sum() > 100, names
    return s1[:, mask].mean(axis=1).reshape(-1, 2)


def test_synth_writes_a_readable_s1_stack_with_class_dependent_backscatter(synth_root, nomenclature):
    tile = synth_root / "T31UDQ"  # urban profile: towns, a river, crops, forest
    stack = open_stack(tile)
    s1 = open_s1_stack(tile, stack)
    dates = synth_s1_dates(SynthOptions(size=160, seed=3))
    assert s1.dates == tuple(f"{d:%Y%m%d}" for d in dates) and len(dates) == 30  # every 12 days over 352 days
    with rasterio.open(tile / S1_STACK) as src:
        assert src.descriptions[:4] == (f"{dates[0]:%Y%m%d}_VV", f"{dates[0]:%Y%m%d}_VH",
                                        f"{dates[1]:%Y%m%d}_VV", f"{dates[1]:%Y%m%d}_VH")
        assert src.dtypes[0] == "int16" and src.nodata == S1_NODATA and src.crs == stack.crs
        assert src.transform == stack.transform and (src.height, src.width) == (stack.height, stack.width)
    water = _class_series(tile, nomenclature, ["WAT"])
    urban = _class_series(tile, nomenclature, ["CUF"])
    crops = _class_series(tile, nomenclature, ["ASC", "AWC"])
    forest = _class_series(tile, nomenclature, ["BLF", "COF"])
    assert water[:, 0].mean() < -15 and urban[:, 0].mean() > -8  # dark water, bright towns (VV, dB)
    assert urban[:, 0].mean() - water[:, 0].mean() > 8
    assert -10 < forest[:, 0].mean() < -6 and -16 < forest[:, 1].mean() < -12
    # crops' VH follows growth and harvest; forest and towns stay put
    assert crops[:, 1].std() > 2 * forest[:, 1].std() and crops[:, 1].std() > 5 * urban[:, 1].std()
    assert crops[:, 1].max() - crops[:, 1].min() > 2.5


def test_sentinel2_outputs_are_the_same_with_and_without_s1(tmp_path, nomenclature):
    for name, on in (("with", True), ("without", False)):
        synthesize_tile(tmp_path / name, "T30TYN", nomenclature, SynthOptions(**SMALL, sentinel1=on))
    with_s1, without = tmp_path / "with" / "T30TYN", tmp_path / "without" / "T30TYN"
    assert (with_s1 / S1_STACK).is_file() and not (without / S1_STACK).exists()
    for name in ("stack.tif", "truth.tif"):
        assert (with_s1 / name).read_bytes() == (without / name).read_bytes(), name
    features = []
    for tile in (with_s1, without):
        with fiona.open(tile / "reference.gpkg") as src:
            features.append([(dict(f["properties"]), f["geometry"]["coordinates"]) for f in src])
    assert features[0] == features[1]


def test_synth_s1_dates_are_configurable():
    assert len(synth_s1_dates(SynthOptions(n_dates=4))) == 3  # 33 days of S2: days 3, 15, 27
    assert [f"{d:%m%d}" for d in synth_s1_dates(SynthOptions(s1_n_dates=2, s1_date_step=6))] == ["0108", "0114"]


def test_prepare_stores_s1_with_its_percentiles_and_dates(small_root, tmp_path, nomenclature):
    out = tmp_path / "store"
    summary = prepare_dataset(small_root, out, nomenclature, PrepareOptions(patch_size=16, stride=8))
    dates = [f"{d:%Y%m%d}" for d in synth_s1_dates(SynthOptions(**SMALL))]
    meta = json.loads((out / "dataset.json").read_text())
    assert meta["s1_dates"] == summary["s1_dates"] == dates
    assert np.asarray(meta["s1_percentiles"]).shape == (2, 2 * len(dates))
    with TileStore(out / "T31UDQ.h5") as store, rasterio.open(small_root / "T31UDQ" / S1_STACK) as src:
        assert store.has_s1 and store.s1_dates == tuple(dates) and store.s1_bands == ("VV", "VH")
        np.testing.assert_array_equal(store.read_s1_window(0, 0, store.height, store.width),
                                      np.moveaxis(src.read(), 0, -1))
        np.testing.assert_array_equal(store.read_s1_window(5, 7, 9, 11), np.moveaxis(src.read()[:, 5:14, 7:18], 0, -1))
        q3, q97 = store.s1_percentiles
        assert np.all(q3 < q97) and -3500 < q3.min() and q97.max() < 0  # dB x 100
        assert store.percentile_sample_s1.shape[1] == 2 * len(dates)


def test_a_tile_without_s1_keeps_working_and_empties_the_dataset_s1_dates(small_root, tmp_path, nomenclature,
                                                                         capfd):
    root = tmp_path / "in"
    shutil.copytree(small_root, root)
    (root / "T31TCJ" / S1_STACK).unlink()
    prepare_dataset(root, tmp_path / "store", nomenclature, PrepareOptions(patch_size=16, stride=8))
    err = capfd.readouterr().err
    warning = [line for line in err.splitlines() if "Sentinel-1" in line]
    assert len(warning) == 1 and "T31TCJ" in warning[0] and "no Sentinel-1 stack" in warning[0]
    assert json.loads((tmp_path / "store" / "dataset.json").read_text())["s1_dates"] == []
    with TileStore(tmp_path / "store" / "T31TCJ.h5") as store:
        assert not store.has_s1 and store.n_s1_channels == 0
        with pytest.raises(InputFormatError, match=r"T31TCJ.h5: tile T31TCJ has no Sentinel-1 stack, which .* "
                                                   r"add <TILE_ID>/stack_s1.tif .* re-run landcover-prepare"):
            store.read_s1_window(0, 0, 4, 4)


def _rewrite_s1(path, **changes):
    with rasterio.open(path) as src:
        data, profile, descriptions = src.read(), src.profile, src.descriptions
    profile.update(changes)
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
        for i, d in enumerate(descriptions, start=1):
            dst.set_band_description(i, d)


@pytest.mark.parametrize("change, expected", [
    ("shifted", "grid 64x64 px"),
    ("crs", "CRS EPSG:32630 differs"),
    ("descriptions", "expected VV VH"),
])
def test_s1_stack_off_the_grid_or_format_is_one_line_exit_2(small_root, tmp_path, capsys, change, expected):
    root = tmp_path / "in"
    shutil.copytree(small_root, root)
    path = root / "T31UDQ" / S1_STACK
    with rasterio.open(path) as src:
        transform = src.transform
    if change == "shifted":
        _rewrite_s1(path, transform=transform * rasterio.Affine.translation(1, 0))
    elif change == "crs":
        _rewrite_s1(path, crs="EPSG:32630")
    else:
        with rasterio.open(path, "r+") as dst:
            for i, description in enumerate(dst.descriptions, start=1):
                dst.set_band_description(i, description.replace("VH", "HH"))
    code = prepare_cli.main(["--input", str(root), "--out", str(tmp_path / "out"), "--patch-size", "16"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1, err
    assert err.startswith("landcover-prepare: error: ") and str(path) in err and expected in err
    if change == "shifted":
        assert "warp it onto the grid of" in err
    assert not (tmp_path / "out" / "T31UDQ.h5").exists()


def test_store_of_format_version_4_asks_to_re_run_prepare(small_root, tmp_path, nomenclature):
    prepare_dataset(small_root, tmp_path / "store", nomenclature, PrepareOptions(patch_size=16, stride=8))
    path = tmp_path / "store" / "T31UDQ.h5"
    with h5py.File(path, "r+") as h5:
        h5.attrs["format_version"] = 4
    with pytest.raises(InputFormatError, match=r"format version 4, this software reads 5: re-run landcover-prepare"):
        TileStore(path)
