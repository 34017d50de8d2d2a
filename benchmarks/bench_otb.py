"""Parity of the project's Random Forest with the real Orfeo ToolBox (issue 12): kappa, map agreement, times.

One run, side by side, on the same training samples:

1. a small synthetic dataset made with the project's tools (``landcover-synth``, ``landcover-prepare``);
2. the training pixels the project's RF uses (``baseline.samples.sample_training_pixels``), written as an
   OGR CSV table with one integer field per feature (``f0`` .. ``f{T*C-1}``, date-major, the stack's band
   order) and the class code (``code``): ``otbcli_TrainVectorClassifier`` learns from exactly these
   feature vectors, with no resampling of its own (``otbcli_TrainImagesClassifier`` would draw its own
   pixels from the polygons);
3. training: ``fit_forest`` (scikit-learn trees) and ``otbcli_TrainVectorClassifier -classifier rf``
   (OpenCV ``RTrees``) with the operational chain's parameters;
4. prediction of the whole tiles: the project's map path (``predict_tile_rf``, no regularisation, majority
   vote) and ``otbcli_ImageClassifier`` on the tile's ``stack.tif`` (the same int16 values as the store),
   with its confidence map;
5. kappa on the test polygons for both, their difference, the agreement of the two maps, the times and
   their ratios; and, as an exact check of ``baseline.regularize``, ``otbcli_ClassificationMapRegularization``
   (radius 1, ties keep their label) against ``majority_vote`` applied to the same OTB map.

Parameters (OTB name -> what the project uses):

- ``classifier.rf.nbtrees 100``, ``.max 20``: ``n_trees=100``, ``max_depth=20``;
- ``classifier.rf.min 10``: OpenCV does not split a node with ``n <= min_sample_count`` samples
  (``DTreesImpl::addNodeAndTrySplit``), scikit-learn does not split one with ``n < min_samples_split``:
  ``min 10`` is ``min_samples_split=11``, one more than the project's default 10;
- ``classifier.rf.var 0`` (``cvRound(sqrt(F))`` features drawn per node) is ``max_features="sqrt"``
  (``floor(sqrt(F))``): 18 of 330 for both;
- ``classifier.rf.acc``: OpenCV stops adding trees once the out-of-bag error falls below it (OTB default
  0.01, which on easy data leaves far fewer than 100 trees); sklearn has no such rule, so it is set to 0 and
  both grow all trees;
- ``classifier.rf.ra`` (regression accuracy) and ``.cat`` (categorical clustering) do not apply to a
  classification on continuous features; no priors, no surrogates, no cross-validation pruning in either;
- both draw a bootstrap sample per tree and split on the Gini impurity; their random numbers differ, so
  the two forests are different draws of the same model, not the same trees.

Usage::

    .venv/bin/python benchmarks/bench_otb.py [--work DIR] [--tiles T30TWT,T31UDQ] [--size 256]

Skips with a message (exit 0) when the ``otbcli_*`` tools are not on PATH (Debian: ``apt-get install
otb-bin``).
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

OTB_APPS = ("otbcli_TrainVectorClassifier", "otbcli_ImageClassifier", "otbcli_ClassificationMapRegularization")


def _otb(app: str, *args: str) -> float:
    """Run an OTB application, return its wall seconds; its log goes to stderr only on failure."""
    t0 = time.perf_counter()
    done = subprocess.run([app, *args], capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if done.returncode:
        sys.stderr.write(done.stdout[-4000:] + done.stderr[-4000:])
        raise RuntimeError(f"{app} failed (exit {done.returncode})")
    return seconds


def _write_samples(path: Path, features: np.ndarray, codes: np.ndarray) -> list[str]:
    """Training pixels as an OGR CSV table (``path`` .csv and its .csvt column types); returns the feature
    fields. No geometry: OTB only reads the fields (a GeoPackage written with fiona took 7 ms per row)."""
    names = [f"f{i}" for i in range(features.shape[1])]
    with open(path, "w") as dst:
        dst.write(",".join(["code", *names]) + "\n")
        np.savetxt(dst, np.column_stack([codes.astype(np.int64), features.astype(np.int64)]), fmt="%d", delimiter=",")
    path.with_suffix(".csvt").write_text(",".join(["Integer"] * (len(names) + 1)))
    return names


def _kappa(reference_idx: np.ndarray, predicted_codes: np.ndarray, codes: list[int]) -> tuple[float, float]:
    """Kappa and overall accuracy of class codes against reference indices 1..K into ``codes``."""
    from landcover_hpc.evaluation.metrics import confusion_matrix, scores_from_confusion

    to_index = np.zeros(256, dtype=np.int64)
    to_index[np.asarray(codes)] = np.arange(1, len(codes) + 1)
    scores = scores_from_confusion(confusion_matrix(reference_idx, to_index[predicted_codes], len(codes)))
    return scores["kappa"], scores["overall_accuracy"]


def _read(path: Path) -> np.ndarray:
    import rasterio

    with rasterio.open(path) as src:
        return src.read(1)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--work", default=None, help="work folder (kept; default: a temporary one, removed)")
    p.add_argument("--tiles", default="T30TWT,T31UDQ")
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--per-class", type=int, default=10_000)
    p.add_argument("--trees", type=int, default=100)
    p.add_argument("--min-samples-split", type=int, default=10,
                   help="the project's forest (default %(default)s, its own default; 11 is OpenCV's min 10)")
    args = p.parse_args(argv)

    missing = [a for a in OTB_APPS if shutil.which(a) is None]
    if missing:
        print(f"skipped: {', '.join(missing)} not on PATH; install the Orfeo ToolBox command-line tools "
              "(Debian/Ubuntu: apt-get install otb-bin) to compare with the real OTB")
        return 0

    from landcover_hpc.baseline import ForestParams, RFPredictOptions, fit_forest, majority_vote, save_forest
    from landcover_hpc.baseline.predict import predict_tile_rf
    from landcover_hpc.baseline.samples import sample_training_pixels
    from landcover_hpc.cli import prepare as prepare_cli, synth as synth_cli
    from landcover_hpc.data.store import open_stores

    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="bench_otb_"))
    work.mkdir(parents=True, exist_ok=True)
    tiles = args.tiles.split(",")
    if not all((work / "store" / f"{t}.h5").is_file() for t in tiles):
        if synth_cli.main(["--out", str(work / "tiles"), "--tiles", args.tiles, "--size", str(args.size),
                           "--seed", str(args.seed)]) or prepare_cli.main(
                ["--input", str(work / "tiles"), "--out", str(work / "store"), "--patch-size", "32", "--stride", "8"]):
            return 2  # the CLI said why on stderr

    stores = open_stores(work / "store", tiles)
    first = stores[0]
    pixels = sample_training_pixels(stores, args.per_class, seed=args.seed)
    codes = [int(c) for c in first.class_codes]  # store order: test labels hold indices 1..K into it
    test_idx = {s.tile_id: s.read_labels("test") for s in stores}  # class indices 1..K, 0 = not a test pixel
    meta = {"bands": list(first.bands), "dates": list(first.dates), "tiles": tiles,
            "nomenclature": first.nomenclature.to_dict()}
    for s in stores:
        s.close()

    # -- training on the same pixels ---------------------------------------------------------------------------
    samples = work / "samples.csv"
    fields = _write_samples(samples, pixels.features, pixels.codes)
    otb_model = work / "otb_rf.yml"
    otb_params = ["-classifier.rf.max", "20", "-classifier.rf.min", "10", "-classifier.rf.ra", "0",
                  "-classifier.rf.cat", "10", "-classifier.rf.var", "0", "-classifier.rf.nbtrees", str(args.trees),
                  "-classifier.rf.acc", "0"]
    t_otb_fit = _otb("otbcli_TrainVectorClassifier", "-io.vd", str(samples), "-io.out", str(otb_model),
                     "-feat", *fields, "-cfield", "code", "-classifier", "rf", *otb_params, "-rand", str(args.seed))
    otb_trees = int(re.search(r"ntrees:\s*(\d+)", otb_model.read_text()).group(1))

    params = ForestParams(n_trees=args.trees, min_samples_split=args.min_samples_split, seed=args.seed)
    t0 = time.perf_counter()
    model, _ = fit_forest(pixels.features, pixels.codes, params, meta)
    t_fit = time.perf_counter() - t0
    t0 = time.perf_counter()
    fit_forest(pixels.features, pixels.codes, replace(params, n_jobs=1), meta)
    t_fit_1 = time.perf_counter() - t0
    model_path = save_forest(model, work / "rf.h5")

    # -- prediction of whole tiles, maps on disk ---------------------------------------------------------------
    options = RFPredictOptions(radius=0, quicklook=False, force=True)  # decision: the model's, "vote"
    t_pred = t_otb_pred = 0.0
    ours, theirs, their_conf, our_conf, regular_same = {}, {}, {}, {}, []
    for tile in tiles:
        t0 = time.perf_counter()
        summary = predict_tile_rf(model, model_path, work / "store" / f"{tile}.h5", work / "maps", options)
        t_pred += time.perf_counter() - t0
        ours[tile], our_conf[tile] = _read(Path(summary["classes"])), _read(Path(summary["confidence"]))
        out, conf = work / "otb" / f"{tile}_classes.tif", work / "otb" / f"{tile}_confidence.tif"
        out.parent.mkdir(exist_ok=True)
        t_otb_pred += _otb("otbcli_ImageClassifier", "-in", str(work / "tiles" / tile / "stack.tif"),
                           "-model", str(otb_model), "-out", str(out), "uint8", "-confmap", str(conf), "float")
        theirs[tile], their_conf[tile] = _read(out), _read(conf)
        regular = work / "otb" / f"{tile}_regularized.tif"
        _otb("otbcli_ClassificationMapRegularization", "-io.in", str(out), "-io.out", str(regular), "uint8",
             "-ip.radius", "1", "-ip.suvbool", "0", "-ip.nodatalabel", "0")
        regular_same.append(float(np.mean(_read(regular) == majority_vote(theirs[tile], 1))))

    # -- scores --------------------------------------------------------------------------------------------------
    ref = np.concatenate([test_idx[t][test_idx[t] > 0] for t in tiles])
    k_ours, oa_ours = _kappa(ref, np.concatenate([ours[t][test_idx[t] > 0] for t in tiles]), codes)
    k_otb, oa_otb = _kappa(ref, np.concatenate([theirs[t][test_idx[t] > 0] for t in tiles]), codes)
    all_ours = np.concatenate([ours[t].ravel() for t in tiles])
    all_theirs = np.concatenate([theirs[t].ravel() for t in tiles])
    on_test = np.concatenate([(test_idx[t] > 0).ravel() for t in tiles])
    agree = float(np.mean(all_ours == all_theirs))
    agree_test = float(np.mean(all_ours[on_test] == all_theirs[on_test]))
    conf_ours = np.concatenate([our_conf[t].ravel() for t in tiles]) / 100.0
    conf_otb = np.concatenate([their_conf[t].ravel() for t in tiles])
    n_px = sum(v.size for v in ours.values())
    per_tile = {t: (_kappa(test_idx[t][test_idx[t] > 0], ours[t][test_idx[t] > 0], codes)[0],
                    _kappa(test_idx[t][test_idx[t] > 0], theirs[t][test_idx[t] > 0], codes)[0]) for t in tiles}

    import sklearn

    print(f"Random Forest, project (scikit-learn {sklearn.__version__} trees, numpy majority vote) vs Orfeo "
          f"ToolBox ({_otb_version()}, OpenCV RTrees); {len(tiles)} synthetic tiles {args.tiles} of {args.size} px, "
          f"{first.n_dates} dates x {first.n_bands} bands; {len(pixels.codes)} training pixels "
          f"({len(np.unique(pixels.codes))} classes), {len(ref)} test pixels; {os.cpu_count()} cores")
    print()
    print("| | project RF | OTB RF | difference / ratio |")
    print("|---|---|---|---|")
    print(f"| trees (depth 20, min split: project {args.min_samples_split}, OTB min 10) | {model.n_trees} | "
          f"{otb_trees} | |")
    print(f"| kappa, test polygons, {len(tiles)} tiles | {k_ours:.4f} | {k_otb:.4f} | {k_ours - k_otb:+.4f} "
          f"({'within' if abs(k_ours - k_otb) <= 0.01 else 'NOT within'} 0.01) |")
    for t, (a, b) in per_tile.items():
        print(f"| kappa, test polygons, {t} | {a:.4f} | {b:.4f} | {a - b:+.4f} |")
    print(f"| overall accuracy, test polygons | {oa_ours:.4f} | {oa_otb:.4f} | {oa_ours - oa_otb:+.4f} |")
    print(f"| agreement of the two maps, all {n_px} px / test px | | | {agree:.4f} / {agree_test:.4f} |")
    print(f"| mean confidence (vote fraction) | {conf_ours.mean():.3f} | {conf_otb.mean():.3f} | |")
    print(f"| training s ({len(pixels.codes)} px; project all cores) | {t_fit:.2f} | {t_otb_fit:.2f} | "
          f"{t_fit / t_otb_fit:.2f}x |")
    print(f"| training s (project 1 thread) | {t_fit_1:.2f} | {t_otb_fit:.2f} | {t_fit_1 / t_otb_fit:.2f}x |")
    print(f"| prediction s ({n_px} px, class + confidence maps) | {t_pred:.2f} | {t_otb_pred:.2f} | "
          f"{t_pred / t_otb_pred:.2f}x |")
    print(f"| regularisation: majority_vote vs ClassificationMapRegularization on the OTB map | | | "
          f"{min(regular_same):.4f} of px equal |")
    print()
    print("OTB training parameters: " + " ".join(otb_params))
    print("command: " + " ".join(shlex.quote(a) for a in [sys.executable, *sys.argv]))
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def _otb_version() -> str:
    done = subprocess.run(["otbcli_ImageClassifier", "-help"], capture_output=True, text=True)
    out = done.stdout + done.stderr
    found = re.search(r"version ([\d.]+)", out)
    return f"OTB {found.group(1)}" if found else "OTB"


if __name__ == "__main__":
    sys.exit(main())
