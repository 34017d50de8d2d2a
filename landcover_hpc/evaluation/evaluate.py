"""Evaluate a class map of a tile on its test-polygon pixels (polygons never used for training).

Outputs, in ``out_dir`` (default: the map's folder)::

    <TILE>_eval.json          the numbers (format "landcover_hpc.evaluation", see ``evaluate_map``)
    <TILE>_eval_classes.csv   per class: code, name, precision, recall, f_score, support, predicted
    <TILE>_confusion.csv      confusion matrix, rows = reference, columns = map, class names as headers
    <TILE>_confusion.png      the row-normalised confusion matrix (classes present in either)

Test pixels where the map is nodata (or holds a code outside the nomenclature) are not counted in the
metrics and are reported as ``unclassified_pixels``.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import numpy as np

from .. import __version__
from ..data.store import TileStore, require_tiles, store_path
from ..data.tiles import open_class_map
from ..errors import InputFormatError, InputNotFoundError
from ..io import read_json_file, save_figure, write_json_atomic, write_text_atomic
from ..nomenclature import Nomenclature
from .metrics import confusion_matrix, scores_from_confusion

__all__ = ["EVAL_FORMAT", "evaluate_map", "evaluation_paths", "load_evaluation", "plot_confusion"]

EVAL_FORMAT = "landcover_hpc.evaluation"
_REFERENCE_OF = {"test": "test polygons", "val": "validation polygons", "train": "training polygons"}  # by split


def evaluation_paths(out_dir: str | Path, tile: str) -> dict[str, Path]:
    out_dir = Path(out_dir)
    return {"json": out_dir / f"{tile}_eval.json", "classes_csv": out_dir / f"{tile}_eval_classes.csv",
            "confusion_csv": out_dir / f"{tile}_confusion.csv", "confusion_png": out_dir / f"{tile}_confusion.png"}


def _read_map_on_grid(map_path: Path, store: TileStore) -> tuple[np.ndarray, dict[str, str]]:
    if not map_path.is_file():
        raise InputNotFoundError(f"map {map_path} not found: pass the <TILE>_classes.tif written by the predictor")
    with open_class_map(map_path, "map") as src:
        if (src.height, src.width) != (store.height, store.width):
            raise InputFormatError(f"map {map_path} is {src.height}x{src.width} px, tile {store.tile_id} is "
                                   f"{store.height}x{store.width}: evaluate a map of this tile")
        if src.crs != store.crs or not src.transform.almost_equals(store.transform):
            raise InputFormatError(f"map {map_path} is not on the grid of tile {store.tile_id} (CRS/transform "
                                   f"differ): evaluate a map of this tile")
        return src.read(1), src.tags()


def evaluate_map(map_path: str | Path, store_dir: str | Path, tile: str, out_dir: str | Path | None = None,
                 method: str | None = None, write: bool = True, split: str = "test") -> dict:
    """Confusion matrix and scores of ``map_path`` (class codes) on the test pixels of ``tile`` (``split``
    ``"val"``: on its validation pixels, to choose a setting without touching the test objects; ``"train"``: on
    its training pixels, how well the model fits what it learnt from).

    Returns:
        The evaluation dict written as ``<TILE>_eval.json``: format, tile, method, map, n_pixels,
        unclassified_pixels, overall_accuracy, kappa, macro_f_score, classes (list of {code, name,
        precision, recall, f_score, support, predicted}), confusion ({codes, names, matrix}); plus
        ``paths`` of the files written.
    """
    map_path = Path(map_path)
    require_tiles(store_dir, [tile])
    with TileStore(store_path(store_dir, tile)) as store:
        codes, tags = _read_map_on_grid(map_path, store)
        reference = store.read_labels(split)
        nomenclature = store.nomenclature
    lut = nomenclature.code_to_index_lut()
    predicted = lut[codes]
    test = reference > 0
    cm = confusion_matrix(reference[test], predicted[test], len(nomenclature))
    scores = scores_from_confusion(cm)
    classes = [{"code": c.code, "name": c.name, "precision": scores["precision"][k], "recall": scores["recall"][k],
                "f_score": scores["f_score"][k], "support": scores["support"][k], "predicted": scores["predicted"][k]}
               for k, c in enumerate(nomenclature.classes)]
    result = {"format": EVAL_FORMAT, "software_version": __version__, "tile": tile,
              "method": method or tags.get("method") or tags.get("architecture") or map_path.stem,
              "map": str(map_path), "store": str(store_dir), "split": split, "n_pixels": scores["n_pixels"],
              "unclassified_pixels": int(np.count_nonzero(test & (predicted == 0))),
              "overall_accuracy": scores["overall_accuracy"], "kappa": scores["kappa"],
              "macro_f_score": scores["macro_f_score"], "classes": classes,
              "confusion": {"codes": nomenclature.codes, "names": nomenclature.names, "matrix": cm.tolist()}}
    if write:
        result["paths"] = {k: str(v) for k, v in write_evaluation(result, out_dir or map_path.parent,
                                                                   nomenclature).items()}
    return result


def write_evaluation(result: dict, out_dir: str | Path, nomenclature: Nomenclature) -> dict[str, Path]:
    paths = evaluation_paths(out_dir, result["tile"])
    write_json_atomic(paths["json"], _json_safe(result))
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["code", "name", "precision", "recall", "f_score", "support", "predicted"])
    for c in result["classes"]:
        writer.writerow([c["code"], c["name"], *("" if c[k] is None else f"{c[k]:.6f}"
                                                 for k in ("precision", "recall", "f_score")),
                         c["support"], c["predicted"]])
    write_text_atomic(paths["classes_csv"], buf.getvalue())
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    names = result["confusion"]["names"]
    writer.writerow(["reference \\ map", *names])
    for name, row in zip(names, result["confusion"]["matrix"]):
        writer.writerow([name, *row])
    write_text_atomic(paths["confusion_csv"], buf.getvalue())
    plot_confusion(np.array(result["confusion"]["matrix"]), names, paths["confusion_png"],
                   title=f"{result['tile']} {result['method']}: OA {result['overall_accuracy']:.3f}, "
                         f"kappa {result['kappa']:.3f}",
                   reference=_REFERENCE_OF.get(result.get("split"), "test polygons"))
    return paths


def plot_confusion(cm: np.ndarray, names: list[str], out_png: str | Path, title: str = "",
                   reference: str = "test polygons") -> Path:
    """PNG of the row-normalised confusion matrix, restricted to classes in the reference or the map."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keep = np.flatnonzero((cm.sum(axis=0) > 0) | (cm.sum(axis=1) > 0))
    sub = cm[np.ix_(keep, keep)].astype(np.float64)
    rows = sub.sum(axis=1, keepdims=True)
    norm = np.divide(sub, rows, out=np.zeros_like(sub), where=rows > 0)
    labels = [names[k] for k in keep]
    n = max(len(keep), 1)
    fig, ax = plt.subplots(figsize=(1.2 + 0.45 * n, 1.0 + 0.45 * n), dpi=110)
    image = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(keep)), labels, rotation=90, fontsize=8)
    ax.set_yticks(range(len(keep)), labels, fontsize=8)
    ax.set_xlabel("map")
    ax.set_ylabel(f"reference ({reference})")
    for i in range(len(keep)):
        for j in range(len(keep)):
            if norm[i, j] >= 0.005:
                ax.text(j, i, f"{100 * norm[i, j]:.0f}", ha="center", va="center", fontsize=6,
                        color="white" if norm[i, j] > 0.5 else "black")
    ax.set_title(title, fontsize=9)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="share of the reference class")
    fig.tight_layout()
    return save_figure(fig, out_png)


def load_result(path: str | Path, result_format: str, tool: str, what: str) -> dict:
    """Read a JSON result file of ``tool`` whose ``format`` must be ``result_format``; ``what`` names it in
    errors (e.g. "evaluation")."""
    path = Path(path)
    result = read_json_file(path, what, f"run {tool} first")
    if not isinstance(result, dict) or result.get("format") != result_format:
        raise InputFormatError(f"{path}: not a {tool} result (format {result_format!r} expected)")
    return result


def load_evaluation(path: str | Path) -> dict:
    """Read a ``<TILE>_eval.json``."""
    return load_result(path, EVAL_FORMAT, "landcover-evaluate", "evaluation")


def _json_safe(obj):
    """NaN (undefined kappa, empty evaluation) becomes null: strict JSON readers reject NaN."""
    if isinstance(obj, float) and math.isnan(obj):
        return None
    if isinstance(obj, dict):
        return {k: _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    return obj
