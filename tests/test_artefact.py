"""The one HDF5 artefact header: each of the four file formats refuses another kind of file and a version
it does not read, with one line naming the file, what it found and what to do."""

from __future__ import annotations

import shutil

import h5py
import numpy as np
import pytest

from landcover_hpc.artefact import check_header, open_artefact, write_header
from landcover_hpc.errors import InputFormatError, InputNotFoundError


def _store(tmp_path, store_dir):
    from landcover_hpc.data.store import STORE_FORMAT, STORE_FORMAT_VERSION, TileStore

    path = shutil.copy(store_dir / "T31UDQ.h5", tmp_path / "T31UDQ.h5")
    return path, TileStore, STORE_FORMAT, STORE_FORMAT_VERSION, "re-run landcover-prepare"


def _model(tmp_path, store_dir):
    from landcover_hpc.models import ModelMetadata, get_model, load_model, save_model
    from landcover_hpc.models.persistence import FORMAT, FORMAT_VERSION

    model = get_model("mlp", n_dates=2, n_bands=2, n_classes=2, n_groups=2)
    path = tmp_path / "model.h5"
    save_model(path, model, ModelMetadata(("B2", "B3"), (1, 2), np.tile([[0.0], [1.0]], (1, 4))))
    return path, load_model, FORMAT, FORMAT_VERSION, "train one with landcover-train"


def _forest(tmp_path, store_dir):
    from landcover_hpc.baseline import ForestParams, fit_forest, load_forest, save_forest
    from landcover_hpc.baseline.forest import RF_FORMAT, RF_FORMAT_VERSION

    rng = np.random.default_rng(0)
    model, _ = fit_forest(rng.random((40, 3)), rng.integers(1, 3, 40), ForestParams(n_trees=2, n_jobs=1),
                          {"bands": ["B2"], "dates": ["20180101", "20180102", "20180103"]})
    path = save_forest(model, tmp_path / "rf.h5")
    return path, load_forest, RF_FORMAT, RF_FORMAT_VERSION, "train one with landcover-rf train"


def _checkpoint(tmp_path, store_dir):
    from landcover_hpc.training.checkpoint import (CHECKPOINT_FORMAT, CHECKPOINT_FORMAT_VERSION, load_checkpoint,
                                                   save_checkpoint)

    path = tmp_path / "checkpoint.h5"
    save_checkpoint(path, [np.ones(3)], [np.zeros(2)], {"epoch": 4})
    return path, load_checkpoint, CHECKPOINT_FORMAT, CHECKPOINT_FORMAT_VERSION, "restart the training from scratch"


FORMATS = {"tile store": _store, "model": _model, "random forest": _forest, "checkpoint": _checkpoint}


@pytest.mark.parametrize("name", FORMATS)
def test_each_format_reads_its_own_file_and_refuses_others(name, tmp_path, store_dir):
    path, load, kind, version, fix = FORMATS[name](tmp_path, store_dir)
    loaded = load(path)  # the file as written by the current code reads back
    if hasattr(loaded, "close"):
        loaded.close()
    for attribute, value, expected in [
        ("format_version", version + 1, f"{path}: {kind} format version {version + 1}, this software reads"),
        ("format_version", -1, f"format version -1, this software reads"),
        ("format", "landcover_hpc.something_else", f"{path}: not a landcover_hpc"),
    ]:
        bad = tmp_path / f"bad_{path.name}"
        shutil.copy(path, bad)
        with h5py.File(bad, "r+") as h5:
            h5.attrs[attribute] = value
        with pytest.raises(InputFormatError) as caught:
            load(bad)
        message = str(caught.value)
        assert "\n" not in message and str(bad) in message and expected.replace(str(path), str(bad)) in message
        assert fix in message


def test_checkpoint_written_before_seals_is_refused_with_the_fix(tmp_path):
    """Checkpoints of format versions 0 (no version) to 2 carry no content checksum or no mid-epoch state, those
    of version 3 no model spec: one line, restart."""
    from landcover_hpc.training.checkpoint import CHECKPOINT_FORMAT_VERSION, load_checkpoint, save_checkpoint

    assert CHECKPOINT_FORMAT_VERSION == 4
    path = tmp_path / "checkpoint.h5"
    for version in (None, 3):
        save_checkpoint(path, [np.ones(3)], [np.zeros(2)], {"epoch": 4})
        assert load_checkpoint(path)[2] == {"epoch": 4}
        with h5py.File(path, "r+") as h5:
            if version is None:
                del h5.attrs["format_version"]
            else:
                h5.attrs["format_version"] = version
        with pytest.raises(InputFormatError, match=rf"format version {version or 0}, this software reads 4: delete it "
                                                   "to restart"):
            load_checkpoint(path)


def test_header_round_trip_and_plain_errors(tmp_path):
    path = tmp_path / "a.h5"
    with h5py.File(path, "w") as h5:
        write_header(h5, "landcover_hpc.test", 2)
    with h5py.File(path, "r") as h5:
        assert check_header(h5, path, "landcover_hpc.test", (1, 2), "redo it") == 2
        with pytest.raises(InputFormatError, match=r"format version 2, this software reads 1, 3: redo it"):
            check_header(h5, path, "landcover_hpc.test", (3, 1), "redo it")
    with pytest.raises(InputNotFoundError, match="test file .*missing.h5 not found: redo it"):
        open_artefact(tmp_path / "missing.h5", "landcover_hpc.test", (2,), "redo it", "test file")
    (tmp_path / "text.h5").write_text("not HDF5")
    with pytest.raises(InputFormatError, match="not a readable HDF5 file .*: redo it"):
        open_artefact(tmp_path / "text.h5", "landcover_hpc.test", (2,), "redo it", "test file")
