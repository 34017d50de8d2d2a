"""Training-setting parity on the demo data: validation kappa after the same steps, and speed, side by side.

    .venv/bin/python benchmarks/bench_parity.py [--store demo_output/store] [--precisions float32 bfloat16]
        [--seeds 0 1 2] [--epochs 6] [--ranks 4]

Trains FG-UNET with ``configs/demo.yaml`` (4 ranks of 4 patches, 32 px) for ``--epochs`` epochs without early
stopping, once per seed and precision, the precisions alternating inside each seed so that a load change on a
shared machine hits them alike; prints, per precision, the validation kappa after the last epoch (mean and
standard deviation over the seeds, validation objects only) and the patches/s of epochs 2 onwards (epoch 1
includes tracing). Needs the store of ``make demo``.
"""

from __future__ import annotations

import argparse
import csv
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from landcover_hpc.parallel import launch_environment

ROOT = Path(__file__).resolve().parents[1]


def train(store: Path, run_dir: Path, precision: str, seed: int, epochs: int, ranks: int) -> list[dict]:
    """history.csv rows of one demo training run."""
    env = launch_environment()
    env.update(TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1")
    command = ["mpirun", "--oversubscribe", "--allow-run-as-root", "--bind-to", "none", "-n", str(ranks),
               str(Path(sys.executable).parent / "landcover-train"), "--config", str(ROOT / "configs/demo.yaml"),
               f"data.store={store}", f"output.run_dir={run_dir}", f"model.precision={precision}",
               f"training.seed={seed}", f"training.epochs={epochs}", "training.patience=null"]
    print("$ " + shlex.join(command), flush=True)
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
    with open(run_dir / "history.csv", newline="") as f:
        return list(csv.DictReader(f))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--store", type=Path, default=ROOT / "demo_output/store")
    p.add_argument("--precisions", nargs="+", default=["float32", "bfloat16"])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--epochs", type=int, default=6)
    p.add_argument("--ranks", type=int, default=4)
    args = p.parse_args()
    if not (args.store / "dataset.json").is_file():
        raise SystemExit(f"bench_parity.py: {args.store / 'dataset.json'} not found: run `make demo` first or pass --store")
    kappas = {precision: [] for precision in args.precisions}
    speeds = {precision: [] for precision in args.precisions}
    with tempfile.TemporaryDirectory(prefix="landcover_parity_") as tmp:
        for seed in args.seeds:
            for precision in args.precisions:
                rows = train(args.store.resolve(), Path(tmp) / f"{precision}_{seed}", precision, seed, args.epochs,
                             args.ranks)
                kappas[precision].append(float(rows[-1]["val_kappa"]))
                speeds[precision] += [float(r["patches_per_second"]) for r in rows[1:]]
                print(f"seed {seed} {precision}: validation kappa {kappas[precision][-1]:.4f}", flush=True)
    print(f"\n`.venv/bin/python benchmarks/bench_parity.py --precisions {' '.join(args.precisions)} --seeds "
          f"{' '.join(map(str, args.seeds))} --epochs {args.epochs} --ranks {args.ranks}` (configs/demo.yaml, "
          f"{args.ranks} ranks, {args.epochs} epochs, no early stop)\n")
    print("| precision | validation kappa per seed | mean | sd | difference to the first | patches/s, epochs 2+ (mean) |")
    print("|---|---|---|---|---|---|")
    first = np.mean(kappas[args.precisions[0]])
    for precision in args.precisions:
        k = np.asarray(kappas[precision])
        print(f"| {precision} | {', '.join(f'{v:.4f}' for v in k)} | {k.mean():.4f} | {k.std(ddof=1) if len(k) > 1 else 0:.4f} | "
              f"{k.mean() - first:+.4f} | {np.mean(speeds[precision]):.2f} |")


if __name__ == "__main__":
    main()
