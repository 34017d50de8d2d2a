"""Calibration of the synthetic benchmark against real L2A data and the project's Random Forest.

Three measurements, written to ``OUT/calibration.json`` and printed as Markdown tables:

1. real separability: the WorldCereal patches of ``--worldcereal`` (Flanders, 64 x 64 px) are converted and
   gap-filled onto 33 dates (``landcover-worldcereal``, ``landcover-gapfill``); a pixel Random Forest (100
   trees, depth 20, min 10 samples to split) separates annual cropland (LC 11) from grassland (LC 13),
   trained on one half of the patch and tested on the other (left/right/top/bottom: 4 splits per patch).
   Figure: Cohen's kappa, mean over the 8 splits;
2. the same figure on the synthetic tiles: 64 x 64 px windows of the demo tiles' ``truth.tif`` holding at
   least 15 % of each of cropland (ASC + AWC) and grassland (IGL), same forest, same 4 half splits;
   plus per-band medians and 5th/95th percentiles of the summer (July-August) reflectance of cropland and
   grassland pixels, real vs synthetic;
3. the demo benchmark: 11 tiles of 256 px, seed 0, ``landcover-prepare --patch-size 32 --stride 8``,
   ``landcover-rf train`` / ``predict`` (default settings), ``landcover-evaluate`` per tile. Figures: kappa
   per tile and mean, per-class F-score (from the confusion matrices summed over the tiles).

Usage (about 25 min on 2 busy cores, most of it the forest)::

    PYTHONPATH=$PWD .venv/bin/python benchmarks/calibrate_synth.py --out /tmp/calib [--skip-demo]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

TILES = "T31UDQ,T30TWT,T30TYN,T31TGK,T30TXQ,T30UXV,T31TCJ,T31UEQ,T30UVU,T31TEJ,T32ULU"
WORLDCEREAL_PATCHES = ("00002806639B424A", "0000280849BAC91C")
CROPLAND, GRASSLAND = "cropland", "grassland"


def _tool(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


def _run(*args: str) -> None:
    subprocess.run(list(args), check=True, stdout=subprocess.DEVNULL)


def _read(path: Path) -> np.ndarray:
    import rasterio
    with rasterio.open(path) as src:
        return src.read()


def half_split_kappas(stack: np.ndarray, labels: np.ndarray, classes: tuple[int, int], seed: int = 0) -> list[float]:
    """Kappa of a pixel forest separating two classes, trained on one half of a window, tested on the other.

    Args:
        stack: (T*C, h, w) features; labels: (h, w) class codes; classes: the two codes.
    Returns:
        4 kappas (train left, right, top, bottom); a split whose halves lack a class is skipped.
    """
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.metrics import cohen_kappa_score

    h, w = labels.shape
    yy, xx = np.mgrid[:h, :w]
    labelled = np.isin(labels, classes)
    kappas = []
    for half in (xx < w // 2, xx >= w // 2, yy < h // 2, yy >= h // 2):
        train, test = labelled & half, labelled & ~half
        if len(np.unique(labels[train])) < 2 or len(np.unique(labels[test])) < 2:
            continue
        forest = RandomForestClassifier(100, max_depth=20, min_samples_split=10, n_jobs=2, random_state=seed)
        forest.fit(stack[:, train].T, labels[train])
        kappas.append(float(cohen_kappa_score(labels[test], forest.predict(stack[:, test].T))))
    return kappas


def _summer_stats(stacks_and_masks, dates: list[int]) -> dict:
    """Per-band median, 5th and 95th percentiles of the pixels over the given date indices."""
    values = np.concatenate([s.reshape(-1, 10, *s.shape[1:])[dates][:, :, m].transpose(1, 0, 2).reshape(10, -1)
                             for s, m in stacks_and_masks], axis=1)
    return {q: np.percentile(values, p, axis=1).round().astype(int).tolist() for q, p in
            (("p5", 5), ("median", 50), ("p95", 95))}


def real_figures(worldcereal: Path, work: Path) -> dict:
    summer = list(range(16, 22))  # grid dates from early July to late August
    kappas, samples = {}, {CROPLAND: [], GRASSLAND: []}
    for patch in WORLDCEREAL_PATCHES:
        acq, tile = work / "acq" / patch, work / "tiles" / patch
        if not (tile / "stack.tif").exists():
            _run(_tool("landcover-worldcereal"), "--input", str(worldcereal / patch), "--out", str(acq),
                 "--labels", str(tile / "labels.tif"), "--quiet")
            _run(_tool("landcover-gapfill"), "--input", str(acq), "--out", str(tile), "--processes", "2", "--quiet")
        stack, labels = _read(tile / "stack.tif").astype(np.float32), _read(tile / "labels.tif")[0]
        kappas[patch] = half_split_kappas(stack, labels, (11, 13))
        samples[CROPLAND].append((stack, labels == 11))
        samples[GRASSLAND].append((stack, labels == 13))
    flat = [k for v in kappas.values() for k in v]
    return {"kappas": kappas, "mean_kappa": float(np.mean(flat)),
            "summer": {name: _summer_stats(s, summer) for name, s in samples.items()}}


def synthetic_figures(tiles_dir: Path, window: int = 64, min_share: float = 0.15) -> dict:
    summer = list(range(16, 22))
    kappas, samples = {}, {CROPLAND: [], GRASSLAND: []}
    for tile in sorted(p for p in tiles_dir.iterdir() if (p / "truth.tif").exists()):
        stack, truth = _read(tile / "stack.tif").astype(np.float32), _read(tile / "truth.tif")[0]
        labels = np.where(np.isin(truth, (11, 12)), 11, np.where(truth == 211, 13, 0))
        samples[CROPLAND].append((stack, labels == 11))
        samples[GRASSLAND].append((stack, labels == 13))
        H, W = labels.shape
        for r in range(0, H - window + 1, window):
            for c in range(0, W - window + 1, window):
                lab = labels[r:r + window, c:c + window]
                if min((lab == 11).mean(), (lab == 13).mean()) >= min_share:
                    kappas[f"{tile.name}_{r}_{c}"] = half_split_kappas(stack[:, r:r + window, c:c + window], lab,
                                                                      (11, 13))
    flat = [k for v in kappas.values() for k in v]
    return {"windows": len(kappas), "kappas": kappas, "mean_kappa": float(np.mean(flat)) if flat else None,
            "summer": {name: _summer_stats(s, summer) for name, s in samples.items()}}


def demo_figures(out: Path, tiles: str = TILES, size: int = 256, seed: int = 0) -> dict:
    timings = {}
    t0 = time.perf_counter()
    _run(_tool("landcover-synth"), "--out", str(out / "tiles"), "--tiles", tiles, "--size", str(size),
         "--seed", str(seed))
    timings["synth_s"] = time.perf_counter() - t0
    _run(_tool("landcover-prepare"), "--input", str(out / "tiles"), "--out", str(out / "store"),
         "--patch-size", "32", "--stride", "8")
    t0 = time.perf_counter()
    _run(_tool("landcover-rf"), "train", "--store", str(out / "store"), "--out", str(out / "rf.h5"))
    _run(_tool("landcover-rf"), "predict", "--model", str(out / "rf.h5"), "--store", str(out / "store"),
         "--out", str(out / "maps"))
    timings["rf_s"] = time.perf_counter() - t0
    kappas, confusion, names = {}, None, None
    for tile in tiles.split(","):
        _run(_tool("landcover-evaluate"), "--map", str(out / "maps" / f"{tile}_classes.tif"), "--tile", tile,
             "--store", str(out / "store"), "--out", str(out / "eval"))
        result = json.loads((out / "eval" / f"{tile}_eval.json").read_text())
        kappas[tile] = result["kappa"]
        matrix = np.asarray(result["confusion"]["matrix"], dtype=np.int64)
        names = result["confusion"]["names"]
        confusion = matrix if confusion is None else confusion + matrix
    diag = np.diag(confusion).astype(float)
    precision = np.divide(diag, confusion.sum(axis=0), out=np.zeros_like(diag), where=confusion.sum(axis=0) > 0)
    recall = np.divide(diag, confusion.sum(axis=1), out=np.zeros_like(diag), where=confusion.sum(axis=1) > 0)
    f_score = np.divide(2 * precision * recall, precision + recall, out=np.zeros_like(diag),
                        where=(precision + recall) > 0)
    support = confusion.sum(axis=1)
    return {"kappas": kappas, "mean_kappa": float(np.mean(list(kappas.values()))),
            "f_scores": {n: round(float(f), 3) for n, f, s in zip(names, f_score, support) if s > 0},
            "support": {n: int(s) for n, s in zip(names, support) if s > 0}, "timings": timings}


def _markdown(result: dict) -> str:
    lines = []
    real, synth = result["real"], result["synthetic"]
    lines += ["| cropland vs grassland, pixel RF, half splits | kappa (mean) | splits |", "|---|---|---|",
              f"| real WorldCereal L2A (gap-filled) | {real['mean_kappa']:.3f} | "
              f"{', '.join(f'{k:.2f}' for v in real['kappas'].values() for k in v)} |",
              f"| synthetic demo tiles ({synth['windows']} windows) | {synth['mean_kappa']:.3f} | "
              f"{sum(len(v) for v in synth['kappas'].values())} |", ""]
    lines += ["| summer reflectance x 1e4, median [p5, p95] | " + " | ".join(
        ("B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B11", "B12")) + " |", "|---" * 11 + "|"]
    for source, figures in (("real", real), ("synthetic", synth)):
        for name, s in figures["summer"].items():
            lines.append(f"| {source} {name} | " + " | ".join(
                f"{m} [{a}, {b}]" for m, a, b in zip(s["median"], s["p5"], s["p95"])) + " |")
    if "demo" in result:
        demo = result["demo"]
        lines += ["", "| tile | " + " | ".join(demo["kappas"]) + " | mean |", "|---" * (len(demo["kappas"]) + 2) + "|",
                  "| RF kappa | " + " | ".join(f"{k:.3f}" for k in demo["kappas"].values())
                  + f" | {demo['mean_kappa']:.3f} |", ""]
        order = sorted(demo["f_scores"], key=demo["f_scores"].get)
        lines += ["| class | " + " | ".join(order) + " |", "|---" * (len(order) + 1) + "|",
                  "| RF F-score | " + " | ".join(f"{demo['f_scores'][n]:.2f}" for n in order) + " |"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True, help="work folder (tiles, stores, maps, calibration.json)")
    p.add_argument("--worldcereal", default="/work/shared/data/worldcereal")
    p.add_argument("--skip-demo", action="store_true", help="only the separability figures (needs OUT/tiles)")
    args = p.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    result = {"real": real_figures(Path(args.worldcereal), out / "worldcereal")}
    if not args.skip_demo:
        result["demo"] = demo_figures(out)
    result["synthetic"] = synthetic_figures(out / "tiles")
    result["total_s"] = time.perf_counter() - t0
    (out / "calibration.json").write_text(json.dumps(result, indent=1))
    print(_markdown(result))
    print(f"\ntotal {result['total_s']:.0f} s; details in {out / 'calibration.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
