"""Training recipes compared on validation alone, free of the selection's own bias.

A run's best validation kappa is the maximum over its epochs of a noisy curve: the noisier the curve, the more
that maximum overstates the model it picks. ``landcover-train`` (``training.validation: all_pixels``) also
scores every epoch on each half of the tiles (``history.csv``: ``val_kappa_half0``, ``val_kappa_half1``, every
other tile in name order). Here, for each run, the epoch is picked on one half and scored on the other, both ways;
the mean of the two is an estimate of the picked model's validation kappa that the picking did not see. Prints a
Markdown table of the runs ``BENCH_OUT/runs/RUN_sSEED`` of each RUN, with the best validation kappa beside it.

    python benchmarks/split_validation.py --bench-out benchmark_output --runs fgunet fgunet_cos150 --seeds 0,1,2
"""

from __future__ import annotations

import argparse
import csv
import math
import statistics
import sys
from pathlib import Path


def _first_best(values: list[float]) -> int:
    """Index of the largest value, the first one on ties (as ``landcover-train`` keeps its first best epoch)."""
    return max(range(len(values)), key=lambda e: (values[e], -e))


def split_estimate(history: list[dict]) -> dict[str, float]:
    """From ``history.csv`` rows: the best validation kappa and its epoch, and for each half h the kappa of the
    other half at the epoch half h picks (first epoch on ties), and their mean (``"held_out"``)."""
    kappas = [float(r["val_kappa"]) for r in history]
    halves = [[float(r[f"val_kappa_half{h}"]) for r in history] for h in (0, 1)]
    picked = [_first_best(halves[h]) for h in (0, 1)]
    held_out = [halves[1 - h][picked[h]] for h in (0, 1)]
    best = _first_best(kappas)
    return {"best": kappas[best], "best_epoch": best + 1, "picked_on_half0": picked[0] + 1,
            "picked_on_half1": picked[1] + 1, "half1_at_half0_pick": held_out[0], "half0_at_half1_pick": held_out[1],
            "held_out": (held_out[0] + held_out[1]) / 2}


def read_history(run_dir: Path) -> list[dict]:
    """The rows of ``run_dir/history.csv``; a one-line error and exit 2 if it is missing or has no half scores."""
    path = run_dir / "history.csv"
    rows = []
    if path.is_file():
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
    if not rows or not rows[0].get("val_kappa_half0") or math.isnan(float(rows[0]["val_kappa_half0"])):
        print(f"{path}: {'no val_kappa_half0/1' if path.is_file() else 'not found'}: train the run with this "
              "landcover-train and training.validation: all_pixels", file=sys.stderr)
        raise SystemExit(2)
    return rows


def markdown(results: dict[str, list[dict]]) -> str:
    lines = ["| run | seeds | epochs picked on half 0 / half 1 | held-out kappa per seed | held-out kappa, mean +- sd "
             "| best validation kappa, mean |", "|---|---|---|---|---|---|"]
    for run, per_seed in results.items():
        held = [r["held_out"] for r in per_seed]
        sd = statistics.stdev(held) if len(held) > 1 else 0.0
        lines.append(f"| {run} | {len(per_seed)} | "
                     + ", ".join(f"{r['picked_on_half0']} / {r['picked_on_half1']}" for r in per_seed)
                     + " | " + " / ".join(f"{h:.4f}" for h in held)
                     + f" | {statistics.mean(held):.4f} +- {sd:.4f}"
                     + f" | {statistics.mean(r['best'] for r in per_seed):.4f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bench-out", type=Path, default=Path("benchmark_output"))
    p.add_argument("--runs", nargs="+", required=True, help="run names without _sSEED, e.g. fgunet fgunet_cos150")
    p.add_argument("--seeds", default="0,1,2")
    args = p.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    results = {run: [split_estimate(read_history(args.bench_out / "runs" / f"{run}_s{s}")) for s in seeds]
               for run in args.runs}
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
