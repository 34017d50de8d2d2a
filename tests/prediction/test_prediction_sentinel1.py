"""Prediction with a Sentinel-1 model (a tiny test-only model registered in this process only): the window's
S1 channels are read beside its S2 channels, normalised with the model's S1 percentiles and appended; a tile
without S1, or with other S1 dates than the model's, is one line (exit 2 from landcover-predict); S2-only
models ignore the S1 stack."""

import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio

from landcover_hpc.errors import InputFormatError

sys.path.insert(0, str(Path(__file__).parents[1] / "training"))
import s1_model  # noqa: E402  (the test-only model)
from store_metadata import stores_metadata  # noqa: E402  (tests/)


@pytest.fixture
def registered(monkeypatch):
    s1_model.register(monkeypatch.setattr, monkeypatch.setitem)


def _save_s1_model(store_dir, path, s1_dates=None):
    """An untrained test S1 model with the stores' percentiles (and ``s1_dates``, default the stores')."""
    from landcover_hpc.data import open_stores
    from landcover_hpc.models import get_model, save_model

    stores = open_stores(store_dir)
    store = stores[0]
    model = get_model(s1_model.NAME, store.n_dates, store.n_bands, len(store.class_codes),
                      n_s1_dates=len(store.s1_dates))
    meta = stores_metadata(stores, sentinel1=True, s1_dates=s1_dates or store.s1_dates)
    for s in stores:
        s.close()
    save_model(path, model, meta)
    return path


def test_window_input_is_s2_then_normalised_s1(s1_store, tmp_path, registered):
    from landcover_hpc.data import TileStore
    from landcover_hpc.models import load_model
    from landcover_hpc.prediction.predictor import KerasClassifier
    from landcover_hpc.prediction.produce import read_padded
    from landcover_hpc.prediction.windows import plan_windows
    from landcover_hpc.sampling.transforms import normalise

    model, meta = load_model(_save_s1_model(s1_store, tmp_path / "s1.h5"))
    classifier = KerasClassifier(model, meta)
    assert classifier.sentinel1
    with TileStore(s1_store / "T30TYN.h5") as store:
        TC = store.n_channels
        window = plan_windows(78, 78, 48, 8)[-1]  # the corner window of a 78 px plan on the 80 px tile
        stack, valid = read_padded(store, window, sentinel1=True)
        x, _ = classifier.prepare(stack, valid, 0)
        h, w = min(window.height, 80 - window.row), min(window.width, 80 - window.col)
        s2 = store.read_window(window.row, window.col, h, w)
        s1 = store.read_s1_window(window.row, window.col, h, w)
    assert x.shape == (window.height, window.width, TC + 2 * len(meta.s1_dates)) and x.shape[-1] == 46
    np.testing.assert_array_equal(x[:h, :w, :TC], normalise(s2, meta.percentiles))
    np.testing.assert_array_equal(x[:h, :w, TC:], normalise(s1, meta.s1_percentiles))
    assert classifier.classify((x, valid))[0].shape == valid.shape


@pytest.fixture(scope="module")
def store_without_s1(s1_store, tmp_path_factory, nomenclature):
    from landcover_hpc.data import PrepareOptions, prepare_dataset

    root = tmp_path_factory.mktemp("no_s1")
    shutil.copytree(s1_store.parent / "in" / "T31UDQ", root / "in" / "T31UDQ")
    (root / "in" / "T31UDQ" / "stack_s1.tif").unlink()
    prepare_dataset(root / "in", root / "store", nomenclature, PrepareOptions(patch_size=16, stride=8))
    return root / "store"


def test_tile_without_s1_is_one_line_exit_2(s1_store, store_without_s1, tmp_path, registered, capsys):
    from landcover_hpc.cli import predict

    model = _save_s1_model(s1_store, tmp_path / "s1.h5")
    code = predict.main(["--tiles", "T31UDQ", "--store", str(store_without_s1), "--model", str(model),
                         "--out", str(tmp_path / "maps"), "--window", "32", "--overlap", "8"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1, err
    assert f"{store_without_s1 / 'T31UDQ.h5'}: tile T31UDQ has no Sentinel-1 stack" in err
    assert f"the Sentinel-1 model {model}" in err and "add <TILE_ID>/stack_s1.tif" in err
    assert not (tmp_path / "maps" / "T31UDQ_classes.tif").exists()


def test_other_s1_dates_than_the_model_s_are_one_line(s1_store, tmp_path, registered):
    from landcover_hpc.prediction.predictor import PredictOptions, predict_tile

    model = _save_s1_model(s1_store, tmp_path / "s1.h5", s1_dates=("20180109", "20180121", "20180202"))
    with pytest.raises(InputFormatError) as caught:
        predict_tile(s1_store / "T31UDQ.h5", model, tmp_path / "maps", PredictOptions(window=32, overlap=8))
    message = str(caught.value)
    assert "\n" not in message and "Sentinel-1 dates 3 (20180108..20180201) differ from the 3" in message
    assert "(20180109..20180202)" in message and "re-run landcover-prepare" in message


def test_s2_models_ignore_the_s1_stack(s1_store, store_without_s1, tmp_path):
    """An S2-only model maps a tile with S1 exactly as the same tile without it."""
    from landcover_hpc.data import TileStore
    from landcover_hpc.models import ModelMetadata, get_model, save_model
    from landcover_hpc.prediction.predictor import PredictOptions, predict_tile

    with TileStore(s1_store / "T31UDQ.h5") as store:
        model = get_model("mlp", store.n_dates, store.n_bands, len(store.class_codes), n_groups=2)
        meta = ModelMetadata(store.bands, store.class_codes, store.percentiles, store.nomenclature.to_dict())
    save_model(tmp_path / "mlp.h5", model, meta)
    maps = []
    for name, folder in (("with", s1_store), ("without", store_without_s1)):
        summary = predict_tile(folder / "T31UDQ.h5", tmp_path / "mlp.h5", tmp_path / name,
                               PredictOptions(window=32, overlap=8, quicklook=False))
        with rasterio.open(summary["classes"]) as src:
            maps.append(src.read(1))
    assert len(np.unique(maps[0])) > 1
    np.testing.assert_array_equal(maps[0], maps[1])
