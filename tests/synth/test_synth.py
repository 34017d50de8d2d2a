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
    water = (truth == 51)[valid]
    nir = values[6::10].mean(axis=0)  # B8 over dates
    assert nir[water].mean() < 500 < nir[~water].mean()  # water is dark in the near infrared


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


@pytest.mark.parametrize("bad, message", [({"size": 32}, "--size"), ({"n_dates": 1}, "--dates")])
def test_bad_options_are_config_errors(tmp_path, nomenclature, bad, message):
    from landcover_hpc.errors import ConfigError
    with pytest.raises(ConfigError, match=message):
        synthesize_tile(tmp_path, "T31UDQ", nomenclature, SynthOptions(**bad))
