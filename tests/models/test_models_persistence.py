import json

import h5py
import numpy as np
import pytest

from landcover_hpc import __version__
from landcover_hpc.artefact import seal
from landcover_hpc.errors import ConfigError, InputFormatError, InputNotFoundError
from landcover_hpc.models import ModelMetadata, get_model, load_model, model_spec, predict_window, save_model
from landcover_hpc.models.architectures import per_group_graph


def _metadata(rng, **changes):
    values = dict(
        band_names=("B2", "B3", "B4", "B8"),
        class_codes=(11, 12, 31, 41, 51),
        percentiles=np.stack([rng.random(24) * 100, 1000 + rng.random(24) * 100]),
        nomenclature={"name": "test", "classes": {"11": "CUF"}},
        spectral_indices=("ndvi", "ndwi"),
        dates=tuple(f"2018{m:02d}01" for m in range(1, 7)),
        extra={"epochs": 3},
    )
    return ModelMetadata(**(values | changes))


@pytest.mark.parametrize("name, options", [("fgunet", {}), ("fgunet", {"centre_input": True}), ("lstm", {})])
def test_models_save_load_round_trip_predicts_identically(name, options, tmp_path, rng, small):
    model = get_model(name, **small, extra_channels_per_date=2, dropout=0.3, **options)
    window = rng.random((16, 16, 36), dtype=np.float32)
    metadata = _metadata(rng)
    path = tmp_path / "models" / "model.h5"
    written = save_model(path, model, metadata)

    loaded, loaded_metadata = load_model(path)
    np.testing.assert_array_equal(predict_window(loaded, window), predict_window(model, window))
    assert model_spec(loaded) == model_spec(model) == loaded_metadata.spec
    assert loaded_metadata.software_version == __version__ == written.software_version
    np.testing.assert_array_equal(loaded_metadata.percentiles, metadata.percentiles)
    for key in ("band_names", "class_codes", "nomenclature", "spectral_indices", "dates", "extra"):
        assert getattr(loaded_metadata, key) == getattr(metadata, key)
    assert [p.name for p in path.parent.iterdir()] == ["model.h5"]  # no temporary file left

    mixed, _ = load_model(path, precision="bfloat16")
    assert model_spec(mixed).precision == "bfloat16"
    assert mixed.get_layer("logits").compute_dtype == "bfloat16"
    np.testing.assert_allclose(predict_window(mixed, window), predict_window(model, window), atol=0.05)


def test_models_save_rejects_metadata_that_does_not_fit(tmp_path, rng, small):
    model = get_model("mlp", **small, extra_channels_per_date=2)
    path = tmp_path / "model.h5"
    for changes, key in [
        (dict(band_names=("B2",)), "band_names"),
        (dict(class_codes=(1, 2)), "class_codes"),
        (dict(percentiles=np.zeros((2, 5))), "percentiles"),
        (dict(spectral_indices=()), "spectral_indices"),
        (dict(extra={"x": object()}), "JSON"),
    ]:
        with pytest.raises(ConfigError, match=key):
            save_model(path, model, _metadata(rng, **changes))
    assert list(tmp_path.iterdir()) == []


def test_models_load_errors(tmp_path, rng, small):
    with pytest.raises(InputNotFoundError):
        load_model(tmp_path / "missing.h5")
    (tmp_path / "text.h5").write_text("not hdf5")
    with pytest.raises(InputFormatError, match="not a readable HDF5"):
        load_model(tmp_path / "text.h5")
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f["x"] = 1
    with pytest.raises(InputFormatError, match="not a landcover_hpc model"):
        load_model(tmp_path / "other.h5")
    # Metadata that promises another network than the stored weights.
    path = tmp_path / "model.h5"
    save_model(path, get_model("mlp", **small, extra_channels_per_date=2), _metadata(rng))
    with h5py.File(path, "r+") as f:
        values = json.loads(f.attrs["metadata"])
        values["spec"]["architecture"] = "unet"
        f.attrs["metadata"] = json.dumps(values)
    with pytest.raises(InputFormatError, match="changed or damaged since it was written"):
        load_model(path)
    with h5py.File(path, "r+") as f:
        seal(f)  # a hand-made file with a matching checksum: the weights are still checked against the spec
    with pytest.raises(InputFormatError, match="do not fit"):
        load_model(path)


@pytest.mark.parametrize("name", ["mlp", "unet", "fgunet"])
def test_models_file_saved_before_input_centring_loads_uncentred(name, tmp_path, rng, small):
    """A grouped model's spec without centre_input (files written before it existed) is the uncentred network."""
    model = get_model(name, **small, extra_channels_per_date=2, centre_input=False)
    path = tmp_path / "model.h5"
    save_model(path, model, _metadata(rng))
    with h5py.File(path, "r+") as f:
        values = json.loads(f.attrs["metadata"])
        assert values["spec"]["options"].pop("centre_input") is False
        f.attrs["metadata"] = json.dumps(values)
        seal(f)
    loaded, metadata = load_model(path)
    assert metadata.spec.options == {"centre_input": False} and "centre" not in [layer.name for layer in loaded.layers]
    window = rng.random((16, 16, 36), dtype=np.float32)
    np.testing.assert_array_equal(predict_window(loaded, window), predict_window(model, window))


@pytest.mark.parametrize("name", ["mlp", "unet", "fgunet"])
def test_models_file_saved_from_per_group_graph_loads(name, tmp_path, rng, small):
    """Files written before issue 13 (group body called once per group) load into the one-call graph."""
    from landcover_hpc.models import registry

    source = get_model(name, **small, extra_channels_per_date=2)
    old = per_group_graph(source)
    object.__setattr__(old, registry._SPEC_ATTRIBUTE, model_spec(source))  # as get_model attached it then
    assert [w.name for w in old.weights] == [w.name for w in source.weights]
    save_model(tmp_path / "old.h5", old, _metadata(rng))
    loaded, _ = load_model(tmp_path / "old.h5")
    assert loaded.get_layer("group_body") is not source.get_layer("group_body")
    window = rng.random((2, 16, 12, 36), dtype=np.float32)
    assert np.abs(loaded(window, training=False) - old(window, training=False)).max() < 1e-5
