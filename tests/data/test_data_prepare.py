import json
import subprocess
import sys

import h5py
import numpy as np
import rasterio

from landcover_hpc.cli import prepare as prepare_cli
from landcover_hpc.data import PrepareOptions, TileStore, open_stores, prepare_tile
from landcover_hpc.synth.generate import NODATA


def test_store_describes_the_tile(store_dir, synth_root, synth_tiles):
    for tile in synth_tiles:
        with TileStore(store_dir / f"{tile}.h5") as store, rasterio.open(synth_root / tile / "stack.tif") as src:
            assert store.stack.shape == (src.height, src.width, 330)
            assert store.crs == src.crs and store.transform == src.transform  # georeferencing round trip
            assert store.n_dates == 33 and store.bands[0] == "B2" and store.dates[0] == "20180105"
            window = src.read(window=rasterio.windows.Window(37, 21, 64, 48))
            assert np.array_equal(store.read_window(21, 37, 48, 64), np.moveaxis(window, 0, -1))
            valid = np.all(src.read() != NODATA, axis=0)
            assert np.array_equal(store.read_valid(0, 0, src.height, src.width), valid)


def test_split_puts_each_object_in_one_set(store_dir):
    for store in open_stores(store_dir):
        with store:
            train, val, test = (store.read_labels(s) for s in ("train", "val", "test"))
            assert not np.any(((train > 0).astype(int) + (val > 0) + (test > 0)) > 1)
            table = store.polygons
            assert set(np.unique(table[:, 2])) == {0, 1, 2}
            for cls in np.unique(table[:, 1]):  # stratified: 33 % of each class's objects test, 10 % validate
                rows = table[table[:, 1] == cls]
                n_train, n_val, n_test = np.bincount(rows[:, 2], minlength=3)
                assert n_train >= 1 and (len(rows) < 2 or n_test >= 1) and (len(rows) < 3 or n_val >= 1)
                assert abs(n_test - 0.33 * len(rows)) <= 1
                assert len(rows) < 10 or abs(n_val - 0.10 * len(rows)) <= 1
            for split, labels in (("train", train), ("val", val), ("test", test)):
                counts = np.bincount(labels[labels > 0], minlength=18)[1:]
                assert np.array_equal(counts, store.class_counts(split))
            assert not np.any(train[~store.read_valid(0, 0, store.height, store.width)])  # no label on nodata


def test_every_stored_position_holds_ten_percent_of_its_class(store_dir):
    checked = 0
    for store in open_stores(store_dir):
        with store:
            p = store.patch_size
            for split in ("train", "val", "test"):
                labels = store.read_labels(split)
                for k, code in enumerate(store.class_codes, start=1):
                    pos = store.positions(split, code)
                    for r, c in pos:
                        assert (labels[r:r + p, c:c + p] == k).sum() >= 0.1 * p * p
                        assert r % store.stride == 0 and c % store.stride == 0
                        assert r + p <= store.height and c + p <= store.width
                    checked += len(pos)
    assert checked > 30


def test_percentiles_match_exact_ones(tmp_path, synth_root, nomenclature):
    tile = synth_root / "T30TYN"
    with rasterio.open(tile / "stack.tif") as src:
        pixels = np.moveaxis(src.read(), 0, -1).reshape(-1, 330)
    pixels = pixels[np.all(pixels != NODATA, axis=1)]
    exact = np.percentile(pixels, [3, 97], axis=0)
    prepare_tile(tile, tmp_path / "full.h5", nomenclature, PrepareOptions(percentile_samples=10**7), show_progress=False)
    prepare_tile(tile, tmp_path / "sub.h5", nomenclature, PrepareOptions(percentile_samples=4000), show_progress=False)
    with TileStore(tmp_path / "full.h5") as full, TileStore(tmp_path / "sub.h5") as sub:
        assert np.allclose(full.percentiles, exact)  # every pixel sampled: exact
        # subsample of ~4000 px: the estimate's rank in the exact distribution is within 1.5 % of 3 % / 97 %
        # (its standard error is 0.27 %); ranks, not values, since the distributions are multimodal
        for level, estimate in zip((0.03, 0.97), sub.percentiles):
            below = (pixels < estimate).mean(axis=0)
            at_or_below = (pixels <= estimate).mean(axis=0)
            assert np.all(below <= level + 0.015) and np.all(at_or_below >= level - 0.015)


def test_dataset_summary_and_idempotence(tmp_path, synth_root, synth_tiles, nomenclature, capsys):
    out = tmp_path / "store"
    assert prepare_cli.main(["--input", str(synth_root), "--out", str(out)]) == 0
    summary = json.loads((out / "dataset.json").read_text())
    assert [t["tile"] for t in summary["tiles"]] == sorted(synth_tiles)
    assert np.array(summary["percentiles"]).shape == (2, 330)
    printed = capsys.readouterr().out
    assert "T31UDQ" in printed and "class imbalance" in printed
    mtime = (out / "T31UDQ.h5").stat().st_mtime_ns
    assert prepare_cli.main(["--input", str(synth_root), "--out", str(out)]) == 0
    assert (out / "T31UDQ.h5").stat().st_mtime_ns == mtime  # unchanged inputs: not rewritten
    assert prepare_cli.main(["--input", str(synth_root), "--out", str(out), "--force"]) == 0
    assert (out / "T31UDQ.h5").stat().st_mtime_ns != mtime


def _label_raster_tile(folder, synth_root, labels_of):
    """Tile T31UDQ with a labels.tif reference: ``labels_of(truth)`` of its ground truth."""
    folder.mkdir()
    (folder / "stack.tif").symlink_to(synth_root / "T31UDQ" / "stack.tif")
    with rasterio.open(synth_root / "T31UDQ" / "truth.tif") as src:
        labels, profile = labels_of(src.read(1)).astype(np.uint8), src.profile
    with rasterio.open(folder / "labels.tif", "w", **profile) as dst:
        dst.write(labels, 1)
    return labels


def test_label_raster_reference(tmp_path, synth_root, nomenclature):
    """A labels.tif class raster works instead of reference.gpkg; objects are its connected components."""
    labels = _label_raster_tile(tmp_path / "T31UDQ", synth_root,  # sparse columns
                                lambda truth: np.where(np.arange(truth.shape[1])[None, :] % 3 == 0, truth, 0))
    prepare_tile(tmp_path / "T31UDQ", tmp_path / "t.h5", nomenclature, show_progress=False)
    with TileStore(tmp_path / "t.h5") as store:
        both = sum(store.read_labels(s) for s in ("train", "val", "test"))
        lut = nomenclature.code_to_index_lut()
        assert np.array_equal(both, lut[labels] * store.read_valid(0, 0, store.height, store.width))


def test_label_raster_store_does_not_depend_on_the_window(tmp_path, synth_root, nomenclature):
    """A labels.tif tile prepared in 16 px windows and in one window: the same objects, split and labels
    (its objects are found window by window, data/objects.py)."""
    _label_raster_tile(tmp_path / "T31UDQ", synth_root, lambda truth: truth)
    stores = []
    for window in (16, 512):
        stores.append(tmp_path / f"w{window}.h5")
        prepare_tile(tmp_path / "T31UDQ", stores[-1], nomenclature, PrepareOptions(window=window), show_progress=False)
    with h5py.File(stores[0], "r") as small, h5py.File(stores[1], "r") as whole:
        assert len(whole["polygons"]) > 50
        for name in ("polygons", "labels/train", "labels/val", "labels/test"):
            assert np.array_equal(small[name][()], whole[name][()]), name


def test_cli_help_runs():
    for module in ("landcover_hpc.cli.prepare", "landcover_hpc.cli.synth"):
        out = subprocess.run([sys.executable, "-m", module, "--help"], capture_output=True, text=True)
        assert out.returncode == 0 and "usage:" in out.stdout


def test_outputs_are_readable_by_the_team(store_dir, synth_root):
    """Atomic writes go through mkstemp/mkdtemp (0600/0700): the final files must get the umask's modes."""
    import os
    import stat

    umask = os.umask(0)
    os.umask(umask)
    for path in (store_dir / "T31UDQ.h5", store_dir / "dataset.json"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask
    assert stat.S_IMODE((synth_root / "T31UDQ").stat().st_mode) == 0o777 & ~umask


def _squares_gpkg(path, squares, spatial_index=True):
    """A GeoPackage of squares (x0, y0, side, code), in EPSG:32631, features in the given order."""
    import fiona

    schema = {"geometry": "Polygon", "properties": {"code": "int"}}
    with fiona.open(path, "w", driver="GPKG", schema=schema, crs="EPSG:32631",
                    SPATIAL_INDEX="YES" if spatial_index else "NO") as dst:
        for x0, y0, side, code in squares:
            ring = [(x0, y0), (x0 + side, y0), (x0 + side, y0 + side), (x0, y0 + side), (x0, y0)]
            dst.write({"geometry": {"type": "Polygon", "coordinates": [ring]}, "properties": {"code": code}})


def test_reference_polygons_are_read_window_by_window_in_file_order(tmp_path):
    """The reference keeps bounds and classes only; a window's polygons come from the file, in object order
    (a later polygon drawn over an earlier one), with or without the GeoPackage's spatial index."""
    from rasterio.transform import from_origin

    from landcover_hpc.data.tiles import ReferencePolygons, StackInfo, read_reference
    from landcover_hpc.nomenclature import load_nomenclature

    nomenclature = load_nomenclature()
    squares = [(400_000, 5_499_000, 500, 41), (400_200, 5_499_200, 100, 11),  # 2 inside 1
               (402_000, 5_499_000, 100, 11), (500_000, 5_000_000, 100, 11)]  # 3 elsewhere, 4 off the tile
    stack = StackInfo(tile_id="T31UDQ", path=tmp_path / "stack.tif", height=400, width=400,
                      dates=("20180115",), bands=("B2",), nodata=-10000, crs=rasterio.crs.CRS.from_epsg(32631),
                      transform=from_origin(399_000, 5_500_000, 10, 10))
    for spatial_index in (True, False):
        tile = tmp_path / f"index_{spatial_index}"
        tile.mkdir()
        _squares_gpkg(tile / "reference.gpkg", squares, spatial_index)
        reference = read_reference(tile, stack, nomenclature)
        assert isinstance(reference, ReferencePolygons) and not hasattr(reference, "geometries")
        assert reference.fids.tolist() == [1, 2, 3]  # the polygon off the tile is no object
        assert reference.class_indices.tolist() == [nomenclature.index_of(c) for c in (41, 11, 11)]
        np.testing.assert_array_equal(reference.bounds[1], [400_200, 5_499_200, 400_300, 5_499_300])
        assert [i for _, i in reference.touching(399_000, 5_498_000, 401_000, 5_500_000)] == [1, 2]
        assert [i for _, i in reference.touching(400_250, 5_499_050, 403_000, 5_499_260)] == [1, 2, 3]
        assert reference.touching(400_500, 5_499_500, 401_000, 5_500_000) == []  # edges touching only
        assert [i for _, i in reference.touching(401_000, 5_498_000, 403_000, 5_500_000)] == [3]


def test_gdal_block_cache_is_capped_unless_the_user_set_it(monkeypatch):
    from landcover_hpc.io import BLOCK_CACHE_BYTES, capped_block_cache

    monkeypatch.delenv("GDAL_CACHEMAX", raising=False)
    with capped_block_cache():
        assert rasterio.env.getenv()["GDAL_CACHEMAX"] == BLOCK_CACHE_BYTES
    monkeypatch.setenv("GDAL_CACHEMAX", "1000")
    with capped_block_cache():
        assert "GDAL_CACHEMAX" not in rasterio.env.getenv()
