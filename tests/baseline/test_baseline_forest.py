"""The safe model file: arrays of the fitted trees, numpy prediction identical to scikit-learn's."""

import pickle

import h5py
import numpy as np
import pytest

from landcover_hpc.baseline import ForestParams, fit_forest, load_forest, save_forest
from landcover_hpc.errors import ConfigError, InputFormatError, InputNotFoundError

META = {"bands": ["B2", "B3"], "dates": ["20180101", "20180111", "20180121"]}


def _data(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 10_000, (n, 6)).astype(np.int16)
    y = np.array([11, 12, 41, 51], dtype=np.uint8)[(x[:, 0] // 2600 + (x[:, 3] > 7000)) % 4]
    return x, y


@pytest.fixture(scope="module")
def fitted():
    x, y = _data()
    model, forest = fit_forest(x, y, ForestParams(n_trees=12, max_depth=12, n_jobs=1), META)
    return model, forest, x


def test_paper_parameters_reach_scikit_learn(fitted):
    d = ForestParams()
    assert (d.n_trees, d.max_depth, d.min_samples_split, d.max_features, d.n_jobs) == (100, 20, 10, "sqrt", -1)
    _, forest, _ = fitted
    assert forest.get_params()["min_samples_split"] == 10 and forest.get_params()["max_depth"] == 12
    assert all(e.tree_.max_depth <= 12 for e in forest.estimators_)
    with pytest.raises(ConfigError, match="min_samples_split"):
        ForestParams(min_samples_split=1)


def test_saved_model_predicts_exactly_like_sklearn(fitted, tmp_path):
    model, forest, x = fitted
    x_new, _ = _data(2000, seed=1)
    loaded = load_forest(save_forest(model, tmp_path / "rf.h5"))
    for candidate in (model, loaded):
        proba = candidate.predict_proba(x_new, n_jobs=2, chunk=300)
        assert np.array_equal(proba, forest.predict_proba(x_new))  # bit for bit (sklearn n_jobs=1)
        assert np.array_equal(candidate.predict(x_new), forest.predict(x_new))
    assert loaded.class_codes == [11, 12, 41, 51] and loaded.metadata["dates"] == META["dates"]
    assert loaded.metadata["params"]["n_trees"] == 12 and "software_version" in loaded.metadata


def test_model_file_holds_no_pickle_and_rejects_foreign_files(fitted, tmp_path):
    model, _, _ = fitted
    path = save_forest(model, tmp_path / "rf.h5")
    with h5py.File(path) as h5:
        assert all(h5[k].dtype.kind in "if" for k in h5)  # plain numeric arrays only
    evil = tmp_path / "evil.h5"
    evil.write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(InputFormatError, match="not a readable HDF5"):
        load_forest(evil)
    with pytest.raises(InputNotFoundError):
        load_forest(tmp_path / "missing.h5")
    with h5py.File(path, "r+") as h5:
        h5["children_left"][0] = 10**6  # a child outside its tree
    with pytest.raises(InputFormatError, match="corrupt"):
        load_forest(path)
