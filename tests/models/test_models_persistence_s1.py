"""Model files of format 3 carry the Sentinel-1 dates and percentiles; files of format 2 (before Sentinel-1)
still load, as S2-only models."""

import json

import h5py
import numpy as np
import pytest

from landcover_hpc.artefact import seal
from landcover_hpc.errors import ConfigError
from landcover_hpc.models import ModelMetadata, get_model, load_model, save_model
from landcover_hpc.models.persistence import FORMAT_VERSION


def _mlp_metadata(**kwargs):
    return ModelMetadata(("B2", "B3"), (1, 2), np.tile([[0.0], [1.0]], (1, 4)), **kwargs)


def test_s1_dates_and_percentiles_round_trip(tmp_path, monkeypatch):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parents[1] / "training"))
    import s1_model

    s1_model.register(monkeypatch.setattr, monkeypatch.setitem)
    model = get_model(s1_model.NAME, 2, 2, 2, n_s1_dates=3)
    s1_percentiles = np.array([[-2500, -3000] * 3, [-500, -1000] * 3], float)
    dates = ("20180108", "20180120", "20180201")
    save_model(tmp_path / "s1.h5", model, _mlp_metadata(s1_dates=dates, s1_percentiles=s1_percentiles))
    loaded, meta = load_model(tmp_path / "s1.h5")
    assert meta.s1_dates == dates and meta.spec.n_s1_dates == 3 and loaded.input_shape[-1] == 2 * 2 + 3 * 2
    np.testing.assert_array_equal(meta.s1_percentiles, s1_percentiles)
    with pytest.raises(ConfigError, match=r"metadata s1_dates has 2 entries, the s1_test_pixel model needs 3"):
        save_model(tmp_path / "bad.h5", model, _mlp_metadata(s1_dates=dates[:2], s1_percentiles=s1_percentiles))
    with pytest.raises(ConfigError, match=r"metadata s1_percentiles has shape \(2, 4\), expected \(2, 6\)"):
        save_model(tmp_path / "bad.h5", model, _mlp_metadata(s1_dates=dates, s1_percentiles=s1_percentiles[:, :4]))


def test_a_model_file_of_format_2_loads_as_s2_only(tmp_path):
    model = get_model("mlp", n_dates=2, n_bands=2, n_classes=2, n_groups=2)
    path = tmp_path / "model.h5"
    save_model(path, model, _mlp_metadata())
    with h5py.File(path, "r+") as f:  # what format 2 wrote: no S1 metadata, no s1_percentiles
        assert f.attrs["format_version"] == FORMAT_VERSION == 3
        values = json.loads(f.attrs["metadata"])
        del values["s1_dates"]
        f.attrs["metadata"] = json.dumps(values)
        del f["s1_percentiles"]
        f.attrs["format_version"] = 2
        seal(f)
    loaded, meta = load_model(path)
    assert meta.s1_dates == () and meta.s1_percentiles.shape == (2, 0) and meta.spec.n_s1_dates == 0
    x = np.random.default_rng(0).random((1, 4, 4, 4), np.float32)
    np.testing.assert_array_equal(loaded(x).numpy(), model(x).numpy())
