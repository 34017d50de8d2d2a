import json
import subprocess

import numpy as np
import pytest
import rasterio

from landcover_hpc.data.tiles import S2_BANDS, open_stack
from landcover_hpc.synth import CLASS_NAMES, SynthOptions, synth_dates, synthesize_tile
from landcover_hpc.synth.generate import NODATA


def _read(tile_dir):
    with rasterio.open(tile_dir / "stack.tif") as src:
        stack = src.read()
    with rasterio.open(tile_dir / "truth.tif") as src:
        truth = src.read(1)
    return stack, truth


def test_same_seed_same_tile_other_seed_other_tile(tmp_path, nomenclature):
    opts = SynthOptions(size=96, seed=5)
    for name in ("a", "b"):
        synthesize_tile(tmp_path / name, "T30TWT", nomenclature, opts)
    synthesize_tile(tmp_path / "c", "T30TWT", nomenclature, SynthOptions(size=96, seed=6))
    a, b, c = (_read(tmp_path / n / "T30TWT") for n in "abc")
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[1], c[1])
    import fiona
    with fiona.open(tmp_path / "a" / "T30TWT" / "reference.gpkg") as fa, \
            fiona.open(tmp_path / "b" / "T30TWT" / "reference.gpkg") as fb:
        assert [f["properties"]["code"] for f in fa] == [f["properties"]["code"] for f in fb]


def test_stack_follows_the_input_format_and_gdal_reads_it(synth_root):
    tile = synth_root / "T31UDQ"
    info = open_stack(tile)  # the validator of the input format accepts it
    assert (info.n_dates, info.n_bands) == (33, 10)
    assert info.bands == S2_BANDS
    assert info.crs.to_epsg() == 32631
    assert info.transform.c == 400_000 and info.transform.f == 5_500_000 and info.transform.a == 10
    out = subprocess.run(["gdalinfo", "-json", str(tile / "stack.tif")], capture_output=True, text=True, check=True)
    meta = json.loads(out.stdout)
    assert len(meta["bands"]) == 330
    assert meta["bands"][0]["description"] == "20180105_B2"
    assert meta["bands"][-1]["description"] == f"{synth_dates(SynthOptions())[-1]:%Y%m%d}_B12"
    assert meta["bands"][0]["noDataValue"] == NODATA
    assert "32631" in json.dumps(meta["coordinateSystem"])


def test_reflectances_are_realistic(synth_root):
    stack, truth = _read(synth_root / "T31UDQ")
    valid = stack[0] != NODATA
    values = stack[:, valid]
    assert values.min() >= 0 and values.max() <= 12000  # reflectance x 1e4
    from scipy import ndimage
    open_water = ndimage.binary_erosion(truth == 51)[valid]  # border pixels mix with the bank
    assert open_water.sum() > 20
    nir = values[6::10].mean(axis=0)  # B8 over dates
    assert nir[open_water].mean() < 500 < nir[truth[valid] != 51].mean()  # water is dark in the near infrared


def _ndvi_profile(stack, mask):
    red, nir = stack[2::10][:, mask].astype(float), stack[6::10][:, mask].astype(float)
    return ((nir - red) / (nir + red)).mean(axis=1)


def test_phenology_separates_summer_and_winter_crops(tmp_path, nomenclature):
    synthesize_tile(tmp_path, "T31TCJ", nomenclature, SynthOptions(size=160, seed=1))  # agricultural tile
    stack, truth = _read(tmp_path / "T31TCJ")
    doy = np.array([d.timetuple().tm_yday for d in synth_dates(SynthOptions())])
    summer, winter = _ndvi_profile(stack, truth == 11), _ndvi_profile(stack, truth == 12)
    assert 170 <= doy[np.argmax(summer)] <= 250  # maize-like: peak in July-August
    assert 90 <= doy[np.argmax(winter)] <= 170  # wheat-like: peak in April-June
    assert summer[doy < 60].mean() < winter[doy < 60].mean()  # winter crops are green in winter


def test_class_presence_varies_and_imbalance_exceeds_1_to_100(tmp_path, nomenclature):
    tiles = ["T31UDQ", "T30TYN", "T30UVU", "T30TXQ"]
    totals = dict.fromkeys(CLASS_NAMES, 0)
    present = {}
    for tile in tiles:
        s = synthesize_tile(tmp_path, tile, nomenclature, SynthOptions(size=192, seed=0))
        present[tile] = {k for k, v in s["annotated_pixels"].items() if v > 0}
        for k, v in s["annotated_pixels"].items():
            totals[k] += v
        assert sum(s["annotated_pixels"].values()) < 0.8 * sum(s["pixels"].values())  # sparse annotation
    assert "GPS" in present["T30TYN"] and "GPS" not in present["T31UDQ"]  # glaciers in the mountains only
    assert "BDS" in present["T30UVU"] and "BDS" not in present["T30TYN"]  # beaches on the coast only
    assert {"CUF", "DUF", "ICU", "RSF"} <= present["T31UDQ"]
    counts = np.array([v for v in totals.values() if v > 0])
    assert len(counts) == 17  # every class somewhere
    assert counts.max() / counts.min() >= 100


def test_urban_classes_need_context_to_be_separated(synth_root):
    """The paper's main finding must be possible: CUF, DUF and ICU share their materials, so a pixel-wise
    Random Forest confuses them, and local texture (7 x 7 mean and standard deviation) separates them better."""
    from scipy import ndimage
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.metrics import cohen_kappa_score

    stack, truth = _read(synth_root / "T31UDQ")
    x = stack.astype(np.float32)
    urban = np.isin(truth, [41, 42, 43])
    left = np.arange(truth.shape[1])[None, :] < truth.shape[1] // 2
    train, test = (urban & left).ravel(), (urban & ~left).ravel()
    pixel = x.reshape(len(x), -1).T
    july = [x[b + 10 * 18] for b in (2, 6, 9)]  # B4, B8, B12 in July
    mean = [ndimage.uniform_filter(b, 7) for b in july]
    std = [np.sqrt(np.maximum(ndimage.uniform_filter(b * b, 7) - m * m, 0)) for b, m in zip(july, mean)]
    context = np.hstack([pixel, np.stack(mean + std).reshape(6, -1).T])
    kappa = {}
    for name, features in (("pixel", pixel), ("context", context)):
        rf = RandomForestClassifier(40, max_depth=20, n_jobs=2, random_state=0, class_weight="balanced")
        rf.fit(features[train], truth.ravel()[train])
        kappa[name] = cohen_kappa_score(truth.ravel()[test], rf.predict(features[test]))
    print(f"urban classes, pixel-wise RF kappa {kappa['pixel']:.3f}, with 7x7 texture {kappa['context']:.3f}")
    assert kappa["pixel"] < 0.85
    assert kappa["context"] > kappa["pixel"] + 0.05


def test_pixel_wise_problem_is_hard_but_learnable(synth_root):
    """Like real pixel-based maps (kappa 0.8-0.9): a pixel-wise forest trained on one half of a tile and
    tested on the other half is useful but far from perfect, and the urban classes are among its worst."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.metrics import cohen_kappa_score, f1_score

    stack, truth = _read(synth_root / "T31UDQ")
    pixel, labels = stack.reshape(len(stack), -1).T.astype(np.float32), truth.ravel()
    left = (np.arange(truth.shape[1])[None, :] < truth.shape[1] // 2).repeat(truth.shape[0], 0).ravel()
    train, test = left & (labels > 0), ~left & (labels > 0)
    rf = RandomForestClassifier(40, max_depth=20, min_samples_split=10, n_jobs=2, random_state=0)
    predicted = rf.fit(pixel[train], labels[train]).predict(pixel[test])
    kappa = cohen_kappa_score(labels[test], predicted)
    codes = [c for c in np.unique(labels[test])  # classes well present in both halves
             if min((labels[test] == c).sum(), (labels[train] == c).sum()) >= 200]
    f_score = dict(zip(codes, f1_score(labels[test], predicted, labels=codes, average=None)))
    print(f"pixel-wise RF kappa {kappa:.3f}, F-scores {({int(c): round(f, 2) for c, f in f_score.items()})}")
    assert 0.5 < kappa < 0.9
    urban = [f for c, f in f_score.items() if c in (41, 42, 43)]
    assert min(urban) <= sorted(f_score.values())[2]  # an urban class is among the three worst


def test_discontinuous_urban_pixels_range_from_roof_to_garden():
    from landcover_hpc.synth import make_landscape
    from landcover_hpc.synth.spectra import URBAN_PARTS

    land = make_landscape(np.random.default_rng(0), (128, 128), "urban")
    garden = land.urban[..., URBAN_PARTS.index("garden")] / 16.0
    duf, cuf = garden[land.classes == 2], garden[land.classes == 1]
    assert duf.size > 500 and cuf.size > 100
    assert np.mean(duf < 0.1) > 0.02 and np.mean(duf > 0.9) > 0.05  # pure roof ... pure garden
    assert np.mean((duf > 0.2) & (duf < 0.8)) > 0.3  # most are mixed
    assert cuf.mean() < 0.3 < duf.mean()  # dense fabric: mostly roofs


def test_cloudy_dates_are_gap_filled_linearly(tmp_path, nomenclature):
    """Cloudy dates are linear interpolations between a pixel's clear dates (residuals of the real chain);
    without clouds no date is."""
    def interpolated_share(cloud_cover):
        synthesize_tile(tmp_path / str(cloud_cover), "T30TWT", nomenclature,
                        SynthOptions(size=64, seed=2, cloud_cover=cloud_cover, swath_edge=False))
        stack, _ = _read(tmp_path / str(cloud_cover) / "T30TWT")
        series = stack.reshape(-1, 10, *stack.shape[1:]).astype(np.int32)  # (T, C, H, W)
        second = np.abs(series[:-2] - 2 * series[1:-1] + series[2:]).max(axis=1)  # over bands
        return np.mean(second <= 2)
    cloudy, clear = interpolated_share(0.4), interpolated_share(0.0)
    print(f"share of pixel-dates lying on a line between their neighbours: {cloudy:.3f} (clouds), {clear:.3f}")
    assert 0.1 < cloudy < 0.6
    assert clear < 0.05 and cloudy > 10 * clear  # flat series (water, rock) lie on a line by themselves


def test_reference_has_a_few_percent_confusable_mislabels(tmp_path, nomenclature):
    import fiona
    from rasterio.features import rasterize

    from landcover_hpc.synth.landscape import CONFUSABLE

    summary = synthesize_tile(tmp_path, "T31TCJ", nomenclature, SynthOptions(size=192, seed=4))
    _, truth = _read(tmp_path / "T31TCJ")
    with rasterio.open(tmp_path / "T31TCJ" / "truth.tif") as src:
        transform = src.transform
    name_of = {c.code: c.name for c in nomenclature.classes}
    wrong, total = 0, 0
    with fiona.open(tmp_path / "T31TCJ" / "reference.gpkg") as src:
        for feature in src:
            mask = rasterize([feature["geometry"]], out_shape=truth.shape, transform=transform) > 0
            true_code = np.bincount(truth[mask]).argmax()
            total += 1
            if feature["properties"]["code"] != true_code:
                wrong += 1
                assert name_of[feature["properties"]["code"]] in CONFUSABLE[name_of[true_code]]
    assert wrong == summary["mislabelled_objects"] and total == summary["annotated_objects"]
    assert 0.005 < wrong / total < 0.08


@pytest.mark.parametrize("bad, message", [({"size": 32}, "--size"), ({"n_dates": 1}, "--dates")])
def test_bad_options_are_config_errors(tmp_path, nomenclature, bad, message):
    from landcover_hpc.errors import ConfigError
    with pytest.raises(ConfigError, match=message):
        synthesize_tile(tmp_path, "T31UDQ", nomenclature, SynthOptions(**bad))
