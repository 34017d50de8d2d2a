"""The Random Forest as plain arrays: fitting with scikit-learn, a safe HDF5 file, numpy prediction.

Parameters are those of the operational chain (Orfeo ToolBox 6.2, OpenCV ``RTrees``): 100 trees, maximum
depth 20, at least 10 samples in a node to split it. OpenCV's ``minSampleCount`` corresponds to
scikit-learn's ``min_samples_split`` (not ``min_samples_leaf``, which OpenCV does not have), off by one:
OpenCV leaves a node unsplit when it has ``n <= minSampleCount`` samples (``addNodeAndTrySplit``),
scikit-learn when ``n < min_samples_split``, so OTB's ``min 10`` is exactly ``min_samples_split=11``.
OpenCV's ``activeVarCount = 0`` (sqrt of the feature count tried per split) is ``max_features="sqrt"``;
both draw a bootstrap sample per tree and split on the Gini impurity. OpenCV also stops adding trees once
the out-of-bag error falls below its termination epsilon (OTB ``classifier.rf.acc``, default 0.01), which
scikit-learn does not do: this forest always has ``n_trees`` trees.

Model file (HDF5; no pickle, no serialised code, nothing is executed on load)::

    attributes  format = "landcover_hpc.rf_model", format_version = 2, payload_sha256 (checked on load),
                metadata = JSON: class_codes (output columns), bands, dates, n_features, params,
                training summary (tiles, pixels per class, seed), nomenclature, software_version
    /tree_offsets      (n_trees + 1,) int64: tree t owns nodes tree_offsets[t]:tree_offsets[t+1]
    /tree_depth        (n_trees,) int32
    /children_left     (N,) int32, node index inside its tree, -1 at leaves (sklearn tree_.children_left)
    /children_right    (N,) int32
    /feature           (N,) int32, feature index, -2 at leaves
    /threshold         (N,) float64: a sample goes left when x[feature] <= threshold
    /value             (N, K) float64: class fractions of the node's (bootstrap) samples, i.e. the tree's
                       predict_proba at a leaf (sklearn >= 1.4 tree_.value[:, 0, :])
    /n_node_samples    (N,) int64

Prediction walks all trees at once with numpy gathers (``tree_depth`` steps, leaves loop onto
themselves); ``load_forest`` checks the content's SHA-256, the metadata's types, resource bounds
(:data:`MAX_TREES`, :data:`MAX_NODES`, :data:`MAX_TREE_DEPTH`) and every index, and that each tree is a tree
of the depth it declares, so a corrupt or hostile file cannot make prediction read out of bounds, run for
hours or exhaust memory. Two decision rules (:data:`DECISIONS`):

- ``"vote"`` (default), the rule of OpenCV ``RTrees`` and so of the Orfeo ToolBox: every tree votes for
  its leaf's majority class, the class with the most votes wins and the confidence is the fraction of
  trees that voted for it (OTB ``CvRTreesWrapper::predict_confidence``: max votes / number of trees).
  Ties are broken as OpenCV does, towards the lowest class index, i.e. the smallest class code (OpenCV
  sorts the class labels ascending): ``DTreesImpl::predictTrees`` scans the vote counts with
  ``if (votes[best] < votes[i]) best = i``, so only a strictly larger count replaces the first maximum;
  and ``DTreesImpl::calcValue`` picks a leaf's class the same way (``if (max_val < val)``), so a leaf
  whose bootstrap samples tie between classes votes for the smallest code. ``np.argmax`` (first maximum)
  over columns sorted by code reproduces both.
- ``"proba"``, scikit-learn's rule: the mean over trees of the leaves' class fractions, accumulated in tree
  order, which reproduces ``RandomForestClassifier.predict_proba`` (with ``n_jobs=1``) bit for bit; the
  confidence is the largest mean probability.

The rule is applied at prediction time: the model file stores a default (metadata ``decision``, set from
:attr:`ForestParams.decision` at training; files without it use ``"vote"``) that prediction may override.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from .. import __version__
from ..artefact import damaged_error, open_artefact, seal, write_header
from ..errors import ConfigError, InputFormatError
from ..io import atomic_path, parse_json
from ..parallel import available_cores
from ..sampling.prior import prior_weights, reweigh

__all__ = ["ForestParams", "ForestModel", "fit_forest", "save_forest", "load_forest", "check_decision",
           "DECISIONS", "RF_FORMAT", "RF_FORMAT_VERSION", "MAX_TREES", "MAX_NODES", "MAX_TREE_DEPTH"]

RF_FORMAT = "landcover_hpc.rf_model"
RF_FORMAT_VERSION = 2  # 2: sealed (payload_sha256)
_FIX = "train one with landcover-rf train"
_WHAT = "landcover_hpc random forest model"
#: resource bounds of a model file (and of training): prediction costs trees x depth gathers per pixel
MAX_TREES = 10_000
MAX_NODES = 50_000_000  # all trees together; about 2.5 GB of arrays
MAX_TREE_DEPTH = 128
_ARRAYS = ("children_left", "children_right", "feature", "threshold", "value", "n_node_samples")
DECISIONS = ("vote", "proba")  # majority vote of the trees (OpenCV / OTB), mean class probability (sklearn)


def check_decision(decision: str, key: str = "decision") -> str:
    """Return ``decision`` if it is one of :data:`DECISIONS`, else raise :class:`ConfigError` naming ``key``."""
    if decision not in DECISIONS:
        raise ConfigError(f"random forest {key} = {decision!r}: allowed {', '.join(DECISIONS)}")
    return decision


@dataclass(frozen=True)
class ForestParams:
    """Random Forest hyper-parameters (defaults: the paper's operational chain)."""

    n_trees: int = 100
    max_depth: int = 20
    min_samples_split: int = 10  # OpenCV / OTB min_sample_count + 1 would be exact (see the module docstring)
    max_features: str = "sqrt"  # OpenCV activeVarCount = 0
    seed: int = 0
    n_jobs: int = -1
    decision: str = "vote"  # the model's default decision rule, stored in its file (see the module docstring)

    def __post_init__(self) -> None:
        check_decision(self.decision)
        for name, low, high in (("n_trees", 1, MAX_TREES), ("max_depth", 1, MAX_TREE_DEPTH),
                                ("min_samples_split", 2, None)):
            value = getattr(self, name)
            if not isinstance(value, int) or value < low or (high is not None and value > high):
                raise ConfigError(f"random forest {name} = {value!r}: must be an integer >= {low}"
                                  + (f" and <= {high}" if high is not None else ""))
        if self.max_features not in ("sqrt", "log2", "all"):
            raise ConfigError(f"random forest max_features = {self.max_features!r}: allowed sqrt, log2, all")


@dataclass
class ForestModel:
    """A fitted forest as arrays (see the module docstring for shapes) and its metadata."""

    tree_offsets: np.ndarray
    tree_depth: np.ndarray
    children_left: np.ndarray
    children_right: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    value: np.ndarray
    n_node_samples: np.ndarray
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def n_trees(self) -> int:
        return len(self.tree_depth)

    @property
    def class_codes(self) -> list[int]:
        return list(self.metadata["class_codes"])

    @property
    def n_features(self) -> int:
        return int(self.metadata["n_features"])

    @classmethod
    def from_sklearn(cls, forest, metadata: dict[str, Any]) -> "ForestModel":
        """Copy the arrays of a fitted ``RandomForestClassifier`` (single output)."""
        trees = [e.tree_ for e in forest.estimators_]
        n_classes = len(forest.classes_)
        offsets = np.cumsum([0] + [t.node_count for t in trees]).astype(np.int64)
        cat = lambda name, dtype: np.concatenate([getattr(t, name) for t in trees]).astype(dtype)  # noqa: E731
        value = np.concatenate([t.value[:, 0, :n_classes] for t in trees]).astype(np.float64)
        if _sklearn_stores_counts():  # scikit-learn < 1.4 keeps weighted counts; its predict_proba normalises
            total = value.sum(axis=1, keepdims=True)
            value = value / np.where(total == 0, 1.0, total)
        return cls(offsets, np.array([t.max_depth for t in trees], dtype=np.int32),
                   cat("children_left", np.int32), cat("children_right", np.int32), cat("feature", np.int32),
                   cat("threshold", np.float64), value, cat("n_node_samples", np.int64),
                   {**metadata, "n_features": int(forest.n_features_in_)})

    # -- prediction ------------------------------------------------------------------------------------
    def leaves(self, x: np.ndarray) -> np.ndarray:
        """(n, n_trees) int64 global leaf node of each sample in each tree; ``x`` (n, F) any real dtype."""
        x = np.ascontiguousarray(x, dtype=np.float32)  # sklearn compares float32 features with float64 thresholds
        if x.ndim != 2 or x.shape[1] != self.n_features:
            raise InputFormatError(f"random forest input has shape {x.shape}: expected (n, {self.n_features})")
        offsets = self.tree_offsets[:-1]
        is_leaf = self.children_left < 0
        glob = np.arange(len(self.feature))
        tree_of = np.repeat(np.arange(self.n_trees), np.diff(self.tree_offsets))
        left = np.where(is_leaf, glob, self.children_left + self.tree_offsets[tree_of])
        right = np.where(is_leaf, glob, self.children_right + self.tree_offsets[tree_of])
        feature = np.where(is_leaf, 0, self.feature)
        node = np.broadcast_to(offsets, (len(x), self.n_trees)).copy()
        rows = np.arange(len(x))[:, None]
        for _ in range(int(self.tree_depth.max(initial=0))):
            go_left = x[rows, feature[node]] <= self.threshold[node]
            node = np.where(go_left, left[node], right[node])
        return node

    @property
    def decision(self) -> str:
        """The model's default decision rule (metadata ``decision``; ``"vote"`` for files written without it)."""
        return str(self.metadata.get("decision", "vote"))

    def leaf_classes(self) -> np.ndarray:
        """(N,) int64 column of each node's majority class: its vote as a leaf (OpenCV ``Node::classIdx``).

        Ties go to the first column (smallest class code), as OpenCV's ``calcValue``. The fractions of a
        node share one denominator, so equal counts give equal floats and the tie is seen exactly.
        """
        return np.argmax(self.value, axis=1)

    def _over_chunks(self, x: np.ndarray, per_chunk, out: np.ndarray, n_jobs: int, chunk: int) -> np.ndarray:
        """Fill ``out[i:i + chunk] = per_chunk(self.leaves(x[i:i + chunk]))`` over chunks, in threads."""
        def run(start: int) -> None:
            out[start:start + chunk] = per_chunk(self.leaves(x[start:start + chunk]))

        workers = available_cores() if n_jobs in (-1, None) else max(1, n_jobs)
        starts = range(0, len(x), chunk)
        if workers == 1 or len(x) <= chunk:
            for s in starts:
                run(s)
        else:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                list(pool.map(run, starts))
        return out

    def predict_proba(self, x: np.ndarray, n_jobs: int = -1, chunk: int = 4096) -> np.ndarray:
        """(n, K) float64 mean over trees of the leaves' class fractions; columns follow ``class_codes``."""
        x = np.asarray(x)
        leaf_value = self.value

        def mean_fractions(node: np.ndarray) -> np.ndarray:
            acc = np.zeros((len(node), leaf_value.shape[1]), dtype=np.float64)
            for t in range(self.n_trees):  # tree order, as sklearn accumulates with one job
                acc += leaf_value[node[:, t]]
            return acc / self.n_trees

        out = np.zeros((len(x), leaf_value.shape[1]), dtype=np.float64)
        return self._over_chunks(x, mean_fractions, out, n_jobs, chunk)

    def votes(self, x: np.ndarray, n_jobs: int = -1, chunk: int = 4096) -> np.ndarray:
        """(n, K) int32 number of trees whose leaf votes for each class (OpenCV ``RTrees::getVotes``, without
        its header row); rows sum to ``n_trees``; columns follow ``class_codes``."""
        x = np.asarray(x)
        n_classes = self.value.shape[1]
        leaf_class = self.leaf_classes()

        def count(node: np.ndarray) -> np.ndarray:
            cell = np.arange(len(node))[:, None] * n_classes + leaf_class[node]
            return np.bincount(cell.ravel(), minlength=len(node) * n_classes).reshape(len(node), n_classes)

        out = np.zeros((len(x), n_classes), dtype=np.int32)
        return self._over_chunks(x, count, out, n_jobs, chunk)

    def class_scores(self, x: np.ndarray, decision: str | None = None, n_jobs: int = -1) -> np.ndarray:
        """(n, K) float64 per-class scores of a decision rule (default: the model's): the fraction of trees
        voting for each class (``"vote"``) or the mean class probability (``"proba"``)."""
        decision = check_decision(self.decision if decision is None else decision)
        if decision == "proba":
            return self.predict_proba(x, n_jobs)
        return self.votes(x, n_jobs) / float(self.n_trees)

    def predict_with_confidence(self, x: np.ndarray, decision: str | None = None, n_jobs: int = -1,
                                prior_weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(n,) uint8 class codes and (n,) float64 confidence in [0, 1] (the winner's score) of ``x`` (n, F).

        The winner is the first column with the highest score: on a tie, the smallest class code (OpenCV).
        ``prior_weights`` (K,), in the order of ``class_codes``: the scores are first weighed and renormalised
        (``sampling.prior.reweigh``; :meth:`prior_weights`).
        """
        scores = self.class_scores(x, decision, n_jobs)
        if prior_weights is not None:
            scores = reweigh(scores, np.asarray(prior_weights, np.float64))
        best = np.argmax(scores, axis=1)
        codes = np.asarray(self.class_codes, dtype=np.uint8)[best]
        return codes, scores[np.arange(len(best)), best]

    def prior_weights(self, path: str | Path, reference: np.ndarray | None = None) -> np.ndarray:
        """(K,) weights that move the scores from the training sample's class mix (the per-class cap of
        ``samples.sample_training_pixels`` keeps the rare classes whole and cuts the common ones) to the training
        objects' (``sampling.prior.prior_weights``), or to the class mix ``reference`` (K,) if given (a tile's,
        ``sampling.prior.tile_reference_prior``), in the order of ``class_codes``.

        Raises:
            InputFormatError: a model file written before the training objects' mix was stored.
        """
        counts = [self.metadata.get(key) for key in ("pixels_per_class", "reference_pixels_per_class")]
        if not all(isinstance(c, dict) for c in counts):
            raise InputFormatError(f"{path}: stores no class mix of its training objects (trained before "
                                   "landcover-rf train recorded it): retrain it, or predict without --prior-correction")
        try:
            sample, stored = (np.array([float(c.get(str(code), 0)) for code in self.class_codes]) for c in counts)
        except (TypeError, ValueError):
            raise _corrupt(Path(path), "pixels per class that are not numbers") from None
        if sample.sum() <= 0 or stored.sum() <= 0 or (sample < 0).any() or (stored < 0).any():
            raise _corrupt(Path(path), "pixels per class not positive")
        return prior_weights(sample / sample.sum(), stored / stored.sum() if reference is None else reference,
                             str(path))

    def predict(self, x: np.ndarray, n_jobs: int = -1, decision: str | None = None) -> np.ndarray:
        """(n,) class codes (uint8) chosen by the decision rule (default: the model's)."""
        return self.predict_with_confidence(x, decision, n_jobs)[0]


def _sklearn_stores_counts() -> bool:
    import sklearn

    major, minor = (int(p) for p in sklearn.__version__.split(".")[:2])
    return (major, minor) < (1, 4)


def fit_forest(features: np.ndarray, labels: np.ndarray, params: ForestParams, metadata: dict[str, Any],
               sample_weight: np.ndarray | None = None) -> tuple[ForestModel, Any]:
    """Fit a forest on ``features`` (n, T*C) and ``labels`` (n,) class codes.

    Returns:
        the array model (metadata completed with class codes and parameters) and the sklearn forest.
    """
    from sklearn.ensemble import RandomForestClassifier

    if len(features) == 0:
        raise InputFormatError("no training pixel: the training polygons of these tiles hold no valid pixel")
    forest = RandomForestClassifier(
        n_estimators=params.n_trees, max_depth=params.max_depth, min_samples_split=params.min_samples_split,
        max_features=None if params.max_features == "all" else params.max_features, bootstrap=True,
        criterion="gini", random_state=params.seed, n_jobs=params.n_jobs)
    forest.fit(features, labels, sample_weight=sample_weight)
    meta = {**metadata, "class_codes": [int(c) for c in forest.classes_], "params": asdict(params),
            "decision": params.decision, "software_version": __version__,
            "estimator": "sklearn.ensemble.RandomForestClassifier"}
    return ForestModel.from_sklearn(forest, meta), forest


def save_forest(model: ForestModel, path: str | Path) -> Path:
    """Write the model file atomically (gzip-compressed arrays, sealed)."""
    path = Path(path)
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as h5:
            write_header(h5, RF_FORMAT, RF_FORMAT_VERSION)
            h5.attrs["metadata"] = json.dumps(model.metadata)
            for name in ("tree_offsets", "tree_depth", *_ARRAYS):
                h5.create_dataset(name, data=getattr(model, name), compression="gzip", compression_opts=4)
            seal(h5)
    return path


def load_forest(path: str | Path) -> ForestModel:
    """Read and validate a model file written by :func:`save_forest`.

    Raises:
        InputNotFoundError: no such file.
        InputFormatError: not an RF model file, another format version, changed or damaged content,
            malformed metadata, over the resource bounds, or inconsistent arrays.
    """
    path = Path(path)
    with open_artefact(path, RF_FORMAT, (RF_FORMAT_VERSION,), _FIX, _WHAT) as h5:
        try:
            for name in ("tree_offsets", "tree_depth", *_ARRAYS):  # bounds before reading: no huge allocation
                if h5[name].ndim not in (1, 2) or h5[name].shape[0] > MAX_NODES + 1:
                    raise _corrupt(path, f"{name} of shape {h5[name].shape}, over {MAX_NODES} nodes")
            arrays = {name: h5[name][...] for name in ("tree_offsets", "tree_depth", *_ARRAYS)}
            metadata = parse_json(h5.attrs["metadata"], f"{path} (metadata)", _FIX)
        except OSError as exc:  # damaged compressed data, truncated file
            raise damaged_error(path, exc, _WHAT, _FIX) from None
        except KeyError as exc:
            raise InputFormatError(f"{path}: incomplete random forest model ({exc}): {_FIX}") from None
    _check_metadata(metadata, path)
    model = ForestModel(**arrays, metadata=metadata)
    _validate(model, path)
    return model


def _corrupt(path: Path, what: str) -> InputFormatError:
    return InputFormatError(f"{path}: corrupt random forest model ({what}): retrain with landcover-rf train")


def _check_metadata(metadata: Any, path: Path) -> None:
    """The metadata keys prediction reads, with their types and ranges (before anything uses them)."""
    if not isinstance(metadata, dict):
        raise _corrupt(path, f"metadata is a {type(metadata).__name__}, not an object")

    def is_int(v) -> bool:
        return isinstance(v, int) and not isinstance(v, bool)

    checks = {
        "class_codes": lambda v: isinstance(v, list) and 0 < len(v) <= 255 and all(is_int(c) and 1 <= c <= 255
                                                                                  for c in v) and len(set(v)) == len(v),
        "n_features": lambda v: is_int(v) and 0 < v <= 1_000_000,
        "bands": lambda v: isinstance(v, list) and all(isinstance(b, str) for b in v),
        "dates": lambda v: isinstance(v, list) and all(isinstance(d, str) for d in v),
    }
    if metadata.get("decision", "vote") not in DECISIONS:  # files written before it was stored use "vote"
        raise _corrupt(path, f"decision {str(metadata['decision'])[:60]!r} not in {', '.join(DECISIONS)}")
    for key, ok in checks.items():
        if key not in metadata:
            raise _corrupt(path, f"metadata key {key!r} missing")
        if not ok(metadata[key]):
            raise _corrupt(path, f"metadata {key} = {str(metadata[key])[:60]!r} of the wrong type or range")


def _validate(model: ForestModel, path: Path) -> None:
    def bad(what: str) -> InputFormatError:
        return _corrupt(path, what)

    n = len(model.feature)
    if any(len(getattr(model, a)) != n for a in _ARRAYS) or model.value.ndim != 2:
        raise bad("array lengths differ")
    if n > MAX_NODES or model.n_trees > MAX_TREES:
        raise bad(f"{model.n_trees} trees, {n} nodes: over the bounds of {MAX_TREES} trees, {MAX_NODES} nodes")
    for name in ("tree_offsets", "tree_depth", "children_left", "children_right", "feature", "n_node_samples"):
        if getattr(model, name).dtype.kind not in "iu":
            raise bad(f"{name} of type {getattr(model, name).dtype}, integers expected")
    off = model.tree_offsets
    if (off.ndim != 1 or len(off) != len(model.tree_depth) + 1 or off[0] != 0 or off[-1] != n
            or np.any(np.diff(off) < 1)):
        raise bad("tree offsets")
    if len(model.class_codes) != model.value.shape[1]:
        raise bad("class count")
    size = np.repeat(np.diff(off), np.diff(off))
    local = np.arange(n) - np.repeat(off[:-1], np.diff(off))
    leaf = model.children_left < 0
    for child in (model.children_left, model.children_right):
        # a child after its parent (as scikit-learn numbers nodes): no cycle, so prediction ends
        if np.any(~leaf & ((child <= local) | (child >= size))):
            raise bad("child index out of its tree or not after its parent")
    if np.any(~leaf & ((model.feature < 0) | (model.feature >= model.n_features))):
        raise bad("feature index")
    if not np.all(np.isfinite(model.value)) or not np.all(np.isfinite(model.threshold)):
        raise bad("non-finite values")
    depth = _node_depths(model, leaf)
    if depth is None:
        raise bad(f"not a tree (a node reached twice or never) or deeper than {MAX_TREE_DEPTH} levels")
    actual = np.maximum.reduceat(depth, off[:-1].astype(np.intp))
    if not np.array_equal(actual, model.tree_depth):
        raise bad("declared tree depths differ from the trees")


def _node_depths(model: ForestModel, leaf: np.ndarray) -> np.ndarray | None:
    """(N,) depth of every node, walking down from the roots level by level; None when a node is reached
    twice (not a tree) or the walk goes past :data:`MAX_TREE_DEPTH` levels."""
    tree_of = np.repeat(np.arange(model.n_trees), np.diff(model.tree_offsets))
    base = model.tree_offsets[tree_of]
    depth = np.full(len(leaf), -1, dtype=np.int64)
    frontier = model.tree_offsets[:-1].astype(np.int64)
    level = 0
    while frontier.size:
        if level > MAX_TREE_DEPTH or np.any(depth[frontier] >= 0) or len(np.unique(frontier)) != frontier.size:
            return None
        depth[frontier] = level
        inner = frontier[~leaf[frontier]]
        frontier = np.concatenate([model.children_left[inner] + base[inner], model.children_right[inner] + base[inner]])
        level += 1
    return depth if np.all(depth >= 0) else None
