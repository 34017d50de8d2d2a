"""Real-data quality: FG-UNET vs the Random Forest on the two WorldCereal patches, split by parcel, several seeds.

For each patch of ``--data`` (64 x 64 px of Sentinel-2 L2A, Flanders; see its README.md), through the
console scripts only (the same chain as a user's):

1. ``landcover-worldcereal``: NetCDF -> acquisition folders, ``labels.tif`` and ``reference.gpkg`` (one polygon
   per parcel: connected component of equal LC and CT codes; LC alone merges neighbouring parcels);
2. ``landcover-gapfill``: 33 dates every 10 days from 1 January of the labels' year (1 Jan .. 17 Nov: the
   Flemish crop season, winter cereals green from January, maize harvested in October; inside the
   acquisitions of both patches), so that T = 33 and FG-UNET keeps the paper's 11 groups of 3 dates (30 days);
3. ``landcover-prepare``: split by parcel (the store's own object-level split), 32 px patches, stride 4,
   positions where a class covers >= 5 % of the patch (at 10 % the built-up class, 92 training pixels, has
   no position);
4. per seed: ``landcover-train`` (FG-UNET, config below, ``training.seed``) then ``landcover-predict`` with
   ``best_model.h5`` (the epoch of best kappa on the validation parcels, never the test ones), and with
   ``--prior-correction`` (mapped at the training parcels' class mix: sampling/prior.py) with
   ``best_model_global.h5`` (the epoch of best kappa of that corrected map on the validation parcels), and
   ``landcover-rf train --seed`` / ``predict``, without and with ``--prior-correction`` (the votes weighed from
   its sample's class mix to the training parcels'); ``landcover-evaluate`` scores every map on the test
   polygons only.

Prints a Markdown table (per patch and method: kappa and OA mean +- sd over seeds, F-score per class
mean +- sd) and writes it with a bar chart of the F-scores to ``--out`` (``quality.md``, ``quality_fscore.png``,
``quality.json``), atomically.

    python benchmarks/bench_quality.py --out bench_quality --seeds 0,1,2
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[1]
DATA = Path("/work/shared/data/worldcereal")
PATCHES = ("00002806639B424A", "0000280849BAC91C")
NOMENCLATURE = REPO / "configs" / "worldcereal_nomenclature.yaml"
METHODS = ("FG-UNET", "FG-UNET prior-corrected", "RF", "RF prior-corrected")

# FG-UNET on one 64 px tile: demo.yaml's model with the paper's lr and batch; single process (no warm-up)
FGUNET_CONFIG = {
    "model": {"name": "fgunet", "n_groups": 11, "dropout": 0.2, "precision": "float32"},
    "data": {"indices": False, "augment": True},
    "training": {"epochs": 8, "batches_per_epoch": 10, "batch_size": 8, "learning_rate": 0.001,
                 "warmup_epochs": 0, "optimizer": "adam", "validation_batches": 4},
    "output": {"log_every": 10},
}
PREPARE_OPTIONS = ["--patch-size", "32", "--stride", "4", "--min-fraction", "0.05"]
DATE_STEP = 10


def run(args: list[str], log: Path) -> float:
    """Run a console script (``python -m landcover_hpc.cli.X``) with its output appended to ``log``; seconds."""
    log.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with open(log, "a") as out:
        out.write(f"$ {shlex.join(args)}\n")
        out.flush()
        done = subprocess.run([sys.executable, "-m", *args], stdout=out, stderr=subprocess.STDOUT, check=False,
                              env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    if done.returncode:
        raise SystemExit(f"{args[0]} failed (exit {done.returncode}): see {log}")
    return time.perf_counter() - t0


def prepare_patch(patch_dir: Path, work: Path, log: Path) -> Path:
    """Convert, gap-fill and prepare one patch; returns its store folder ``work/store/<patch>``.

    Layout: ``work/acq/<patch>/`` acquisitions, ``work/tiles/<patch>/`` (stack.tif, labels.tif,
    reference.gpkg), ``work/store/<patch>/<patch>.h5``.
    """
    patch = patch_dir.name
    acq, tile, store = work / "acq" / patch, work / "tiles" / patch, work / "store" / patch
    run(["landcover_hpc.cli.worldcereal", "--input", str(patch_dir), "--out", str(acq),
         "--labels", str(tile / "labels.tif"), "--parcels", str(tile / "reference.gpkg"), "--quiet"], log)
    year = max(d.name for d in acq.iterdir() if d.is_dir())[:4]  # the labels' (LPIS) year ends the series
    run(["landcover_hpc.cli.gapfill", "--input", str(acq), "--out", str(tile), "--start", f"{year}0101",
         "--step", str(DATE_STEP), "--processes", "2", "--quiet"], log)
    run(["landcover_hpc.cli.prepare", "--input", str(work / "tiles"), "--out", str(store), "--tiles", patch,
         "--nomenclature", str(NOMENCLATURE), *PREPARE_OPTIONS], log)
    return store


def map_and_score(models: dict[str, list[str]], store: Path, patch: str, name: str, method: str, work: Path,
                  log: Path) -> dict[str, Path]:
    """Map ``patch`` as trained and prior-corrected (at the class mix of the training parcels), each with the
    console script and model arguments ``models`` gives for it ("as trained", "prior-corrected"), and score both
    maps on the test parcels; returns the evaluation JSON of each method ("METHOD", "METHOD prior-corrected")."""
    results = {}
    for setting, suffix, flag in (("as trained", "", "--no-prior-correction"),
                                  ("prior-corrected", "_prior", "--prior-correction")):
        label = method + (f" {setting}" if suffix else "")
        maps, evals = (work / kind / patch / f"{name}{suffix}" for kind in ("maps", "eval"))
        run([*models[setting], "--store", str(store), "--out", str(maps), "--no-quicklook", "--force", flag], log)
        run(["landcover_hpc.cli.evaluate", "--map", str(maps / f"{patch}_classes.tif"), "--tile", patch,
             "--store", str(store), "--out", str(evals), "--method", label], log)
        results[label] = evals / f"{patch}_eval.json"
    return results


def fgunet_run(store: Path, patch: str, seed: int, work: Path, log: Path, base_config: dict) -> dict[str, Path]:
    """Train (``base_config`` + store, seed, run dir) FG-UNET, map and evaluate it as trained (``best_model.h5``)
    and prior-corrected (``best_model_global.h5``: the epoch of best validation kappa of the corrected map, so
    that neither map's epoch is picked on the other's score); returns the evaluation JSON of each method."""
    run_dir = work / "runs" / patch / f"fgunet_s{seed}"
    config = copy.deepcopy(base_config)
    config["data"]["store"] = str(store)
    config["training"]["seed"] = seed
    config["output"]["run_dir"] = str(run_dir)
    config_path = run_dir.with_suffix(".yaml")
    config_path.parent.mkdir(parents=True, exist_ok=True)
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    run(["landcover_hpc.cli.train", "--config", str(config_path)], log)
    predict = ["landcover_hpc.cli.predict", "--tile", patch, "--model"]
    return map_and_score({"as trained": [*predict, str(run_dir / "best_model.h5")],
                          "prior-corrected": [*predict, str(run_dir / "best_model_global.h5")]},
                         store, patch, f"fgunet_s{seed}", "FG-UNET", work, log)


def rf_run(store: Path, patch: str, seed: int, work: Path, log: Path) -> dict[str, Path]:
    """Train the Random Forest with one seed, map and evaluate it as trained and prior-corrected (its votes
    weighed from the class mix of its sample to that of the training parcels); returns each evaluation JSON."""
    model = work / "runs" / patch / f"rf_s{seed}" / "rf.h5"
    run(["landcover_hpc.cli.rf", "train", "--store", str(store), "--out", str(model), "--seed", str(seed),
         "--jobs", "2"], log)
    predict = ["landcover_hpc.cli.rf", "predict", "--jobs", "2", "--model", str(model)]
    return map_and_score({"as trained": predict, "prior-corrected": predict}, store, patch, f"rf_s{seed}", "RF",
                         work, log)


def _mean_sd(values: list[float]) -> tuple[float, float]:
    values = np.asarray(values, dtype=float)
    return float(values.mean()), float(values.std(ddof=1)) if len(values) > 1 else 0.0


def summarise(evaluations: dict[tuple[str, str], list[dict]]) -> list[dict]:
    """One row per (patch, method): kappa, OA and per-class F-score mean and sd over seeds (sd: ddof 1)."""
    rows = []
    for (patch, method), runs in evaluations.items():
        row = {"patch": patch, "method": method, "seeds": len(runs), "test_pixels": runs[0]["n_pixels"],
               "kappa": _mean_sd([r["kappa"] for r in runs]),
               "overall_accuracy": _mean_sd([r["overall_accuracy"] for r in runs]), "f_score": {}}
        for k, cls in enumerate(runs[0]["classes"]):
            scores = [r["classes"][k]["f_score"] for r in runs]
            row["f_score"][cls["name"]] = (None if cls["support"] == 0 or None in scores
                                           else (*_mean_sd(scores), cls["support"]))
        rows.append(row)
    return rows


def markdown_table(rows: list[dict]) -> str:
    names = list(rows[0]["f_score"])
    lines = ["| patch | method | seeds | test px | kappa | OA | " + " | ".join(f"F {n}" for n in names) + " |",
             "|---|---|---:|---:|---|---|" + "---|" * len(names)]
    for r in rows:
        cells = [f"{m:.3f} +- {s:.3f} ({n} px)" if v is not None else "-"
                 for v in r["f_score"].values() for m, s, n in [v or (0, 0, 0)]]
        lines.append(f"| {r['patch']} | {r['method']} | {r['seeds']} | {r['test_pixels']} | "
                     f"{r['kappa'][0]:.3f} +- {r['kappa'][1]:.3f} | "
                     f"{r['overall_accuracy'][0]:.3f} +- {r['overall_accuracy'][1]:.3f} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot_fscores(rows: list[dict], path: Path) -> Path:
    """Grouped bars: F-score per (patch, class), one bar per method, sd over seeds as error bars."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from landcover_hpc.io import save_figure

    groups = [(p, n) for p in dict.fromkeys(r["patch"] for r in rows) for n in rows[0]["f_score"]
              if any(r["patch"] == p and r["f_score"][n] is not None for r in rows)]
    fig, ax = plt.subplots(figsize=(1.2 * len(groups) + 2, 4))
    width = 0.8 / len(METHODS)
    for i, method in enumerate(METHODS):
        by_group = {(r["patch"], n): v for r in rows if r["method"] == method for n, v in r["f_score"].items()}
        values = [by_group.get(g) or (np.nan, 0.0, 0) for g in groups]
        ax.bar(np.arange(len(groups)) + (i - (len(METHODS) - 1) / 2) * width, [v[0] for v in values], width,
               yerr=[v[1] for v in values], capsize=3, label=method)
    ax.set_xticks(np.arange(len(groups)), [f"{n}\n{p[-4:]}" for p, n in groups])
    ax.set_ylim(0, 1)
    ax.set_ylabel("F-score (test parcels)")
    ax.set_title("WorldCereal patches, split by parcel: mean +- sd over seeds")
    ax.legend(loc="lower right")
    ax.grid(axis="y", alpha=0.3)
    return save_figure(fig, path)


def main(argv: list[str] | None = None) -> int:
    from landcover_hpc.io import write_json_atomic, write_text_atomic

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=DATA, help="folder of WorldCereal patch folders (default %(default)s)")
    p.add_argument("--patches", default=",".join(PATCHES), help="comma-separated patch ids (default: both)")
    p.add_argument("--seeds", default="0,1,2", help="comma-separated seeds of FG-UNET and RF (default %(default)s)")
    p.add_argument("--epochs", type=int, default=FGUNET_CONFIG["training"]["epochs"],
                   help="FG-UNET epochs (default %(default)s)")
    p.add_argument("--batches-per-epoch", type=int, default=FGUNET_CONFIG["training"]["batches_per_epoch"],
                   help="FG-UNET batches per epoch (default %(default)s)")
    p.add_argument("--out", type=Path, default=Path("bench_quality"), help="work and output folder")
    args = p.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    config = copy.deepcopy(FGUNET_CONFIG)
    config["training"].update(epochs=args.epochs, batches_per_epoch=args.batches_per_epoch)
    log = args.out / "bench_quality.log"

    t_start = time.perf_counter()
    evaluations: dict[tuple[str, str], list[dict]] = {}
    seconds: dict[str, float] = {}
    for patch in args.patches.split(","):
        t0 = time.perf_counter()
        store = prepare_patch(args.data / patch, args.out, log)
        seconds[f"{patch} data"] = time.perf_counter() - t0
        for name, one_run in (("FG-UNET", lambda *a: fgunet_run(*a, config)), ("RF", rf_run)):
            t0 = time.perf_counter()
            for seed in seeds:
                for method, path in one_run(store, patch, seed, args.out, log).items():
                    result = json.loads(path.read_text())
                    evaluations.setdefault((patch, method), []).append(result)
                    print(f"{patch} {method} seed {seed}: kappa {result['kappa']:.3f}, OA "
                          f"{result['overall_accuracy']:.3f}", flush=True)
            seconds[f"{patch} {name}"] = time.perf_counter() - t0
    total = time.perf_counter() - t_start

    rows = summarise(evaluations)
    command = f"python {shlex.join([sys.argv[0]] + (argv if argv is not None else sys.argv[1:]))}"
    text = (f"command: {command}\nrun time: {total:.0f} s ("
            + ", ".join(f"{k} {v:.0f} s" for k, v in seconds.items()) + ")\n"
            f"FG-UNET: {config['training']['epochs']} epochs x {config['training']['batches_per_epoch']}"
            f" batches x {config['training']['batch_size']} patches of 32 px, best model (validation parcels); "
            f"RF: 100 trees, depth 20; seeds {seeds}; scores on test-parcel pixels, sd over seeds (ddof 1)\n\n"
            + markdown_table(rows))
    print("\n" + text)
    write_text_atomic(args.out / "quality.md", text)
    write_json_atomic(args.out / "quality.json", {"command": command, "seconds": seconds, "total_seconds": total,
                                                  "rows": rows})
    print(f"figure: {plot_fscores(rows, args.out / 'quality_fscore.png')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
