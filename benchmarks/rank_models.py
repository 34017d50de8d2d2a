"""One table that ranks every model of the registry and the Random Forest on the benchmark's tiles.

Reads what ``scripts/ranking.sh`` (``make ranking``) and ``scripts/benchmark.sh`` leave in ``--bench-out``
(``runs/<model>_s<seed>/``: ``best_model.h5``, ``history.csv``; ``eval/<model>_s<seed>/``: the test-polygon
scores of the maps of ``best_model.h5``), measures each model's mapping speed side by side in this one run, and
writes ``--out``/``ranking.md`` (with ``ranking.json`` and the bar chart ``ranking.png``), sorted by mean kappa:

- kappa: per run the mean over the tiles of the test-polygon kappa, then the mean +- sd over the seeds; the
  same for the urban tile (``--urban-tile``, T31UDQ: Paris in the paper);
- F-scores of the context classes (CUF, DUF, ICU, RSF): per run the mean over the tiles where the class has
  test pixels, then mean +- sd over the seeds;
- parameters: the weights stored in ``best_model.h5`` (batch-normalisation statistics included, as the README);
- epochs: the epoch of ``best_model.h5`` (best validation kappa) and the epochs run (early stop at the plateau);
- training px/s: the median over epochs of the patches per second of all ranks together (validation excluded)
  x P^2, from ``history.csv``; measured when each training ran, so on a shared machine read it as an order of
  magnitude;
- mapping px/s: ``landcover-predict --force`` (the RF: ``landcover-rf predict``) of ``--cost-tile`` with
  the first seed's model, one after the other in this run, default threads: the ratios are comparable.

Under the table, where the synthetic tiles' ``truth.tif`` are there, the ceiling of the patch classifiers (Qiu et
al.'s ResNets, one class per P x P patch): the kappa of a perfect one, whose every s x s block of the map gets the
majority true class of the P x P patch centred on it (``--patch-stride``, the predictor's default 8 px).

A model with no run is listed under the table as not run. Usage::

    .venv/bin/python benchmarks/rank_models.py --bench-out benchmark_output --seeds 0,1,2 \\
        --models fgunet,unet,mlp,res_ensemble4,rf --out benchmark_output/report/ranking
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import h5py
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from landcover_hpc.data import open_stores  # noqa: E402
from landcover_hpc.evaluation.compare import mean_std  # noqa: E402
from landcover_hpc.evaluation.evaluate import load_evaluation  # noqa: E402
from landcover_hpc.evaluation.metrics import confusion_matrix, scores_from_confusion  # noqa: E402
from landcover_hpc.io import save_figure, write_text_atomic  # noqa: E402
from landcover_hpc.models.names import DEFAULT_CENTRE_INPUT  # noqa: E402

URBAN_CLASSES = ("CUF", "DUF", "ICU", "RSF")
#: Display name and paper of each method (README, "Models" and "Models of the other papers").
METHODS = {
    "fgunet": ("FG-UNET", "Stoian et al. 2019"), "unet": ("U-Net", "Stoian et al. 2019"),
    "mlp": ("MLP", "Stoian et al. 2019"), "lstm": ("LSTM", "Stoian et al. 2019"),
    "tsfgunet": ("TSFG-UNET", "Stoian et al. 2019"), "res_ensemble4": ("Res_ensemble4", "Qiu et al. 2020"),
    "res_ensemble8": ("Res_ensemble8", "Qiu et al. 2020"), "st_resnet": ("ST-ResNet", "Qiu et al. 2020"),
    "re_resnet": ("Re-ResNet", "Qiu et al. 2019/2020"), "unet_convlstm": ("U-Net+ConvLSTM", "roads paper"),
    "convlstm_unet_s2": ("ConvLSTM-S2", "Wenger et al. 2022"),
    "convlstm_inception_unet_s2": ("ConvLSTM-Inception-S2", "Wenger et al. 2022"),
    "convlstm_unet_s1s2": ("ConvLSTM-S1S2", "Wenger et al. 2022"),
    "convlstm_inception_unet_s1s2": ("ConvLSTM-Inception-S1S2", "Wenger et al. 2022"),
    "twinns_s2": ("TWINNS(S2)", "Ienco et al. 2019"), "twinns": ("TWINNS", "Ienco et al. 2019"),
    "rf": ("RF", "OTB-style baseline (Inglada et al. 2017)"),
}


def run_scores(eval_dir: Path, urban_tile: str) -> dict:
    """One run's scores from its ``<TILE>_eval.json`` files: mean kappa over tiles, the urban tile's kappa and
    the context classes' F-scores (mean over the tiles where the class has test pixels)."""
    evals = [load_evaluation(f) for f in sorted(eval_dir.glob("*_eval.json"))]
    fscores: dict[str, list[float]] = {c: [] for c in URBAN_CLASSES}
    for e in evals:
        for c in e["classes"]:
            if c["name"] in fscores and c["support"] > 0:
                fscores[c["name"]].append(c["f_score"])
    return {"tiles": len(evals), "kappa": float(np.mean([e["kappa"] for e in evals])),
            "urban_kappa": next((e["kappa"] for e in evals if e["tile"] == urban_tile), float("nan")),
            "f_score": {c: float(np.mean(v)) if v else float("nan") for c, v in fscores.items()}}


def training_figures(run_dir: Path, patch_size: int) -> dict:
    """Parameters and options of ``best_model.h5``, best and last epoch and median training px/s of a run."""
    with h5py.File(run_dir / "best_model.h5", "r") as f:
        parameters = int(sum(d.size for d in f["weights"].values()))
        spec = json.loads(f.attrs["metadata"]).get("spec", {})
    with open(run_dir / "history.csv", newline="") as f:
        history = list(csv.DictReader(f))
    kappas = [float(r["val_kappa"]) for r in history]
    return {"parameters": parameters, "options": spec.get("options", {}),
            "best_epoch": int(np.argmax(kappas)) + 1, "epochs": len(history),
            "train_px_s": float(np.median([float(r["patches_per_second"]) for r in history])) * patch_size ** 2}


def mapping_speed(model: str, model_path: Path, store: Path, tile: str) -> float:
    """Pixels per second of mapping ``tile`` with ``model_path`` (forced, into a temporary folder)."""
    bin_dir = Path(sys.executable).parent
    with tempfile.TemporaryDirectory(prefix="rank_models_") as out:
        args = ([str(bin_dir / "landcover-rf"), "predict", "--tiles", tile] if model == "rf"
                else [str(bin_dir / "landcover-predict"), "--tile", tile])
        args += ["--model", str(model_path), "--store", str(store), "--out", out, "--force", "--no-quicklook"]
        done = subprocess.run(args, capture_output=True, text=True, check=False,
                              env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    rate = re.search(r"\(([0-9.]+) px/s\)", done.stdout)
    if done.returncode or not rate:
        raise SystemExit(f"mapping {tile} with {model_path} failed (exit {done.returncode}): "
                         f"{(done.stderr or done.stdout).strip().splitlines()[-1:]}")
    return float(rate.group(1))


def store_patch_size(bench_out: Path) -> int:
    """The patch size P of the benchmark's store (``landcover-prepare --patch-size``)."""
    return json.loads((bench_out / "store" / "dataset.json").read_text())["options"]["patch_size"]


def patch_oracle_kappa(bench_out: Path, patch_size: int, stride: int) -> float | None:
    """Mean over tiles of the test-polygon kappa of a perfect patch classifier (module docstring), from
    ``tiles/<TILE>/truth.tif``; None where a tile has no truth (real data)."""
    import rasterio

    kappas = []
    for store in open_stores(bench_out / "store"):
        truth_path = bench_out / "tiles" / store.path.stem / "truth.tif"
        if not truth_path.is_file():
            return None
        with rasterio.open(truth_path) as src:
            truth = src.read(1)
        index = np.zeros(256, np.int64)  # class code -> class index 1..K, 0 for a code outside the nomenclature
        index[list(store.class_codes)] = np.arange(1, len(store.class_codes) + 1)
        counts = np.eye(len(store.class_codes) + 1, dtype=np.int32)[index[truth]][..., 1:]
        summed = np.pad(counts.cumsum(0).cumsum(1), ((1, 0), (1, 0), (0, 0)))  # summed-area table per class
        height, width = truth.shape
        patch = min(patch_size, height, width)
        oracle = np.zeros(truth.shape, np.int64)
        for row in range(0, height, stride):
            for col in range(0, width, stride):  # the patch centred on the block, moved inside at the edges
                r = min(max(row + stride // 2 - patch // 2, 0), height - patch)
                c = min(max(col + stride // 2 - patch // 2, 0), width - patch)
                histogram = summed[r + patch, c + patch] - summed[r, c + patch] - summed[r + patch, c] + summed[r, c]
                oracle[row:row + stride, col:col + stride] = histogram.argmax() + 1
        test = store.read_labels("test")
        kappas.append(scores_from_confusion(confusion_matrix(test, oracle, len(store.class_codes)))["kappa"])
        store.close()
    return float(np.mean(kappas))


def rank(bench_out: Path, models: list[str], seeds: list[int], urban_tile: str, cost_tile: str) -> tuple[list, list]:
    """Rows of the ranking (sorted by mean kappa, best first) and the models without any run."""
    patch_size = store_patch_size(bench_out)
    rows, missing = [], []
    for model in models:
        runs = [s for s in seeds if (bench_out / "eval" / f"{model}_s{s}").is_dir()]
        if not runs:
            missing.append(model)
            continue
        scores = [run_scores(bench_out / "eval" / f"{model}_s{s}", urban_tile) for s in runs]
        row = {"model": model, "name": METHODS[model][0], "paper": METHODS[model][1], "seeds": runs,
               "tiles": scores[0]["tiles"], "kappa": mean_std([s["kappa"] for s in scores]),
               "urban_kappa": mean_std([s["urban_kappa"] for s in scores]),
               "f_score": {c: mean_std([s["f_score"][c] for s in scores]) for c in URBAN_CLASSES}}
        first = bench_out / "runs" / f"{model}_s{runs[0]}"
        if model == "rf":
            model_path = first / "rf.h5"
            row.update(parameters=None, options={}, best_epoch=None, epochs=None, train_px_s=None)
        else:
            model_path = first / "best_model.h5"
            figures = [training_figures(bench_out / "runs" / f"{model}_s{s}", patch_size) for s in runs]
            row.update(parameters=figures[0]["parameters"], options=figures[0]["options"],
                       best_epoch=float(np.mean([f["best_epoch"] for f in figures])),
                       epochs=float(np.mean([f["epochs"] for f in figures])),
                       train_px_s=float(np.mean([f["train_px_s"] for f in figures])))
        print(f"{row['name']}: mapping {cost_tile} ...", flush=True)
        row["map_px_s"] = mapping_speed(model, model_path, bench_out / "store", cost_tile)
        rows.append(row)
    rows.sort(key=lambda r: -r["kappa"][0])
    return rows, missing


def _fmt(value: tuple[float, float, int], digits: int = 3) -> str:
    mean, sd, n = value
    if not n:
        return "-"
    return f"{mean:.{digits}f} ± {sd:.{digits}f}" if n > 1 else f"{mean:.{digits}f}"


def _options(options: dict) -> str:
    """The builder options that make a run differ from the project's model (TWINNS' widths, uncentred inputs);
    dates are not."""
    shown = {k: v for k, v in options.items() if k not in ("date_indices", "s1_date_indices", "patch_size")
             and (k, v) != ("centre_input", DEFAULT_CENTRE_INPUT)}
    return " (" + ", ".join(f"{k}={v}" for k, v in shown.items()) + ")" if shown else ""


def markdown(rows: list[dict], missing: list[str], urban_tile: str, cost_tile: str,
             oracle: tuple[float, int, int] | None = None) -> str:
    lines = [f"| rank | method | paper | parameters | best / run epochs | kappa (tiles) | kappa {urban_tile} | "
             + " | ".join(f"F {c}" for c in URBAN_CLASSES) + " | train px/s | map px/s | seeds |",
             "|---|---|---|---|---|---|---|" + "---|" * len(URBAN_CLASSES) + "---|---|---|"]
    for i, r in enumerate(rows, 1):
        epochs = "-" if r["epochs"] is None else f"{r['best_epoch']:.0f} / {r['epochs']:.0f}"
        parameters = "-" if r["parameters"] is None else f"{r['parameters']:,}"
        train = "-" if r["train_px_s"] is None else f"{r['train_px_s']:,.0f}"
        lines.append(f"| {i} | {r['name']}{_options(r['options'])} | {r['paper']} | {parameters} | {epochs} | "
                     f"{_fmt(r['kappa'])} | {_fmt(r['urban_kappa'])} | "
                     + " | ".join(_fmt(r["f_score"][c], 2) for c in URBAN_CLASSES)
                     + f" | {train} | {r['map_px_s']:,.0f} | {len(r['seeds'])} |")
    if missing:
        lines += ["", "Not run: " + ", ".join(missing) + "."]
    if oracle is not None:
        kappa, patch, stride = oracle
        lines += ["", f"Ceiling of the patch classifiers: a perfect one (each {stride} x {stride} px block of the map "
                  f"gets the majority true class of the {patch} px patch centred on it, from the tiles' truth.tif) "
                  f"scores a mean kappa of {kappa:.3f} on the same test polygons."]
    lines += ["", f"kappa: mean over the {rows[0]['tiles'] if rows else 0} tiles of the test-polygon kappa, then mean ± "
              f"sd over the seeds; F: mean over the tiles where the class has test pixels. map px/s: {cost_tile}, "
              "measured one model after the other in this run; train px/s: all ranks together, from each run's "
              "history.csv (median over epochs, validation excluded)."]
    return "\n".join(lines)


def plot(rows: list[dict], urban_tile: str, out_png: Path, ceiling: float | None = None) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [r["name"] for r in rows][::-1]
    y = np.arange(len(rows))
    fig, ax = plt.subplots(figsize=(7.5, 0.42 * len(rows) + 1.4), dpi=110)
    for offset, key, label in ((0.2, "kappa", "mean over tiles"), (-0.2, "urban_kappa", urban_tile)):
        mean = np.array([r[key][0] for r in rows][::-1])
        sd = np.array([r[key][1] for r in rows][::-1])
        ax.barh(y + offset, np.nan_to_num(mean), 0.4, xerr=sd, capsize=2, label=label)
    if ceiling is not None:
        ax.axvline(ceiling, color="grey", linestyle="--", label="ceiling of the patch classifiers")
    ax.set_yticks(y, names)
    ax.set_xlim(0, 1)
    ax.set_xlabel("Cohen's kappa on the test polygons (mean ± sd over seeds)")
    ax.set_title("Models ranked by mean kappa")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return save_figure(fig, out_png)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bench-out", type=Path, default=Path("benchmark_output"))
    parser.add_argument("--models", default=",".join(METHODS), help="comma-separated, 'rf' for the Random Forest")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--urban-tile", default="T31UDQ")
    parser.add_argument("--cost-tile", default="T31UDQ", help="the tile mapped to measure px/s")
    parser.add_argument("--patch-stride", type=int, default=8, help="of the patch classifiers' ceiling")
    parser.add_argument("--out", type=Path, help="default: BENCH_OUT/report/ranking")
    args = parser.parse_args(argv)
    models = [m for m in args.models.replace(" ", ",").split(",") if m]
    unknown = [m for m in models if m not in METHODS]
    if unknown:
        parser.error(f"--models {','.join(unknown)}: unknown; known: {','.join(METHODS)}")
    out = args.out or args.bench_out / "report" / "ranking"
    rows, missing = rank(args.bench_out, models, [int(s) for s in args.seeds.replace(" ", ",").split(",") if s],
                         args.urban_tile, args.cost_tile)
    if not rows:
        raise SystemExit(f"no evaluated run of {', '.join(models)} in {args.bench_out}/eval: run make ranking first")
    patch_size = store_patch_size(args.bench_out)
    oracle = patch_oracle_kappa(args.bench_out, patch_size, args.patch_stride)
    table = markdown(rows, missing, args.urban_tile, args.cost_tile,
                     None if oracle is None else (oracle, patch_size, args.patch_stride))
    out.mkdir(parents=True, exist_ok=True)
    plot(rows, args.urban_tile, out / "ranking.png", oracle)
    write_text_atomic(out / "ranking.json", json.dumps({"rows": rows, "not_run": missing,
                                                        "patch_classifier_ceiling": oracle}, indent=1) + "\n")
    write_text_atomic(out / "ranking.md", f"# Models ranked on the benchmark tiles\n\n![ranking](ranking.png)\n\n{table}\n")
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
