"""The safe model file: arrays of the fitted trees, numpy prediction identical to scikit-learn's."""

import pickle

import h5py
import numpy as np
import pytest

from landcover_hpc.artefact import seal
from landcover_hpc.baseline import ForestModel, ForestParams, RFPredictOptions, fit_forest, load_forest, save_forest
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
        assert np.array_equal(candidate.class_scores(x_new, "proba"), proba)
        assert np.array_equal(candidate.predict(x_new, decision="proba"), forest.predict(x_new))
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
    with pytest.raises(InputFormatError, match="changed or damaged since it was written"):
        load_forest(path)
    with h5py.File(path, "r+") as h5:
        seal(h5)  # a hand-made file with a matching checksum: the indices are still checked
    with pytest.raises(InputFormatError, match="corrupt.*child index out of its tree"):
        load_forest(path)


def _tiny_forest(decision=None):
    """Three hand-written trees over 2 features and classes 11, 12, 41 (columns in code order):

    - tree 0: x0 <= 0.5 -> [1, 0, 0] (11), else a leaf tied between 12 and 41, [0, .5, .5] (votes 12);
    - tree 1: x1 <= 0.5 -> [0, 1, 0] (12), else [0, 0, 1] (41);
    - tree 2: a single leaf [0, .45, .55] (41).
    """
    value = np.array([[1 / 3, 1 / 3, 1 / 3], [1, 0, 0], [0, .5, .5],
                      [0, .5, .5], [0, 1, 0], [0, 0, 1],
                      [0, .45, .55]])
    meta = {"class_codes": [11, 12, 41], "n_features": 2, "bands": ["B2"], "dates": ["20180101", "20180111"]}
    if decision:
        meta["decision"] = decision
    return ForestModel(
        tree_offsets=np.array([0, 3, 6, 7]), tree_depth=np.array([1, 1, 0], dtype=np.int32),
        children_left=np.array([1, -1, -1, 1, -1, -1, -1], dtype=np.int32),
        children_right=np.array([2, -1, -1, 2, -1, -1, -1], dtype=np.int32),
        feature=np.array([0, -2, -2, 1, -2, -2, -2], dtype=np.int32),
        threshold=np.array([.5, -2, -2, .5, -2, -2, -2]), value=value,
        n_node_samples=np.full(7, 10, dtype=np.int64), metadata=meta)


TINY_X = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], dtype=np.float32)


def test_majority_vote_matches_a_hand_count_and_breaks_ties_like_opencv(tmp_path):
    model = load_forest(save_forest(_tiny_forest(), tmp_path / "tiny.h5"))  # no decision stored: vote
    assert model.decision == "vote"
    # votes of trees 0, 1, 2 per sample, counted by hand
    # [0,0]: 11, 12, 41 -> three-way tie, the smallest code 11 wins with 1/3 (OpenCV: first maximum)
    # [1,0]: 12 (tree 0's tied leaf votes its smaller code), 12, 41 -> 12 with 2/3
    # [1,1]: 12, 41, 41 -> 41 with 2/3;  [0,1]: 11, 41, 41 -> 41 with 2/3
    assert model.votes(TINY_X).tolist() == [[1, 1, 1], [0, 2, 1], [0, 1, 2], [1, 0, 2]]
    codes, confidence = model.predict_with_confidence(TINY_X)
    assert codes.tolist() == [11, 12, 41, 41]
    assert np.allclose(confidence, [1 / 3, 2 / 3, 2 / 3, 2 / 3])
    # the probability rule differs where the trees' fractions outweigh their votes: [0,0] -> 12 (1.45 / 3)
    proba_codes, proba_conf = model.predict_with_confidence(TINY_X, "proba")
    assert proba_codes.tolist() == [12, 12, 41, 41] and np.isclose(proba_conf[0], 1.45 / 3)
    assert model.predict(TINY_X, decision="proba").tolist() == [12, 12, 41, 41]
    assert _tiny_forest("proba").predict(TINY_X).tolist() == [12, 12, 41, 41]  # the model's stored default


def test_votes_are_the_sklearn_trees_own_predictions(fitted):
    model, forest, _ = fitted
    x_new, _ = _data(1500, seed=2)
    per_tree = np.stack([np.argmax(e.predict_proba(x_new.astype(np.float32)), axis=1) for e in forest.estimators_], 1)
    expected = np.stack([(per_tree == k).sum(axis=1) for k in range(len(forest.classes_))], axis=1)
    votes = model.votes(x_new, n_jobs=2, chunk=200)
    assert np.array_equal(votes, expected) and np.all(votes.sum(axis=1) == model.n_trees)
    codes, confidence = model.predict_with_confidence(x_new)  # fitted with the default rule: vote
    assert model.decision == "vote" == model.metadata["params"]["decision"]
    assert np.array_equal(codes, forest.classes_[np.argmax(expected, axis=1)])
    assert np.array_equal(confidence, expected.max(axis=1) / model.n_trees)


def test_unknown_decision_rules_are_refused(tmp_path):
    with pytest.raises(ConfigError, match="decision = 'mean'.*vote, proba"):
        ForestParams(decision="mean")
    with pytest.raises(ConfigError, match="decision = 'median'"):
        RFPredictOptions(decision="median")
    with pytest.raises(ConfigError, match="decision = 'x'"):
        _tiny_forest().predict(TINY_X, decision="x")
    path = save_forest(_tiny_forest("majority"), tmp_path / "bad.h5")
    with pytest.raises(InputFormatError, match="corrupt.*decision 'majority'"):
        load_forest(path)
