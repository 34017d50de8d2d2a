"""Benchmark of the distributed patch sampler: plan, extraction and exchange time per batch on N ranks,
against one FG-UNET training step on the same batch.

Paper sizes: b = 8 patches per rank, 64 x 64 px x 330 channels (33 dates x 10 bands) int16, one synthetic
256 x 256 px tile per rank, held in memory. Per N, after 2 warm-up batches, each of ``--batches`` batches is
timed per phase on every rank; the table shows the mean over batches of the slowest rank:

- plan: rank 0 draws the plan, Bcast to all (includes waiting for rank 0);
- extract: copying this rank's patches (and labels) into the send buffer;
- exchange: the one Alltoallv;
- transform: normalisation and augmentation (no spectral indices);
- moved: patches that change rank and their MB (each patch is 64*64*331*2 bytes with its label channel).

The training step (forward + backward + Adam update of FG-UNET, weighted sparse cross-entropy, b = 8,
64x64x330 float32) is timed in the driver process alone (TF on all cores), and the ratio is the sampler's
per-batch time over the training step's.

Usage (driver: prepares the data once, runs ``mpirun -n N`` for each N, times the training step, prints a
Markdown table)::

    .venv/bin/python benchmarks/bench_sampler.py --ranks 2 3 4 6 8 11

One N by hand (what the driver runs; prints one JSON line on rank 0)::

    mpirun --oversubscribe --allow-run-as-root -n 4 .venv/bin/python benchmarks/bench_sampler.py --worker

On a machine with fewer cores than ranks (``--oversubscribe``) the ranks share cores and every collective
waits for descheduled ranks: the timings are inflated, increasingly with N.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

TILES = ("T31UDQ", "T30TYN", "T31TCJ", "T30TWT", "T30UVU", "T31UEQ", "T31TDJ", "T30TXN", "T30UWU", "T31UCQ",
         "T30TYP")
SIZE, N_DATES, PATCH, STRIDE, BATCH = 256, 33, 64, 16, 8
MPIRUN = "mpirun --oversubscribe --allow-run-as-root --bind-to none"


def prepare_data(data_dir: Path, n_tiles: int) -> None:
    """Synthesise and prepare ``n_tiles`` tiles (kept between runs)."""
    from landcover_hpc.data import PrepareOptions, prepare_dataset
    from landcover_hpc.nomenclature import load_nomenclature
    from landcover_hpc.synth import SynthOptions, synthesize_tile

    nomenclature = load_nomenclature()
    for tile in TILES[:n_tiles]:
        if not (data_dir / "in" / tile).is_dir():
            synthesize_tile(data_dir / "in", tile, nomenclature, SynthOptions(size=SIZE, n_dates=N_DATES, seed=1))
    prepare_dataset(data_dir / "in", data_dir / "out", nomenclature, PrepareOptions(patch_size=PATCH, stride=STRIDE),
                    tiles=list(TILES[:n_tiles]))


def worker(data_dir: Path, n_batches: int) -> None:
    """One N: every rank samples; rank 0 prints the per-phase times (max over ranks, mean over batches)."""
    import numpy as np
    from mpi4py import MPI

    from landcover_hpc.sampling import PatchSampler, SamplerOptions

    comm = MPI.COMM_WORLD
    rank, size = comm.Get_rank(), comm.Get_size()
    phases = ("plan", "extract", "exchange", "transform", "total")
    rows, moved = [], []
    with PatchSampler(data_dir / "out", comm, SamplerOptions(batch_size=BATCH, seed=0),
                      tiles=list(TILES[:size])) as sampler:
        in_memory = comm.allreduce(all(t.in_memory for t in sampler.local.values()), op=MPI.LAND)
        patch_bytes = PATCH * PATCH * (sampler.n_dates * len(sampler.bands) + 1) * 2
        for i in range(n_batches + 2):
            comm.Barrier()
            start = time.perf_counter()
            sampler.batch(i)
            total = time.perf_counter() - start
            if i >= 2:
                rows.append([sampler.timings[p] for p in phases[:-1]] + [total])
                moved.append(sampler.plan(i).moved)  # untimed: the same plan again
    rows = np.array(rows, dtype=np.float64)
    slowest = np.empty_like(rows)
    comm.Reduce(rows, slowest, op=MPI.MAX, root=0)
    if rank == 0:
        means = slowest.mean(axis=0)
        print(json.dumps({"ranks": size, "batches": n_batches, "in_memory": bool(in_memory),
                          **{p: float(m) for p, m in zip(phases, means)},
                          "moved_patches": float(np.mean(moved)), "moved_mb": float(np.mean(moved)) * patch_bytes / 1e6,
                          "batch_mb": size * BATCH * patch_bytes / 1e6}), flush=True)


def training_step_seconds(data_dir: Path, repeat: int) -> float:
    """Median time of one FG-UNET forward+backward+Adam step on a sampler batch of b = 8 (this process)."""
    import numpy as np
    import tensorflow as tf

    from landcover_hpc.models import get_model, weighted_sparse_crossentropy
    from landcover_hpc.sampling import PatchSampler, SamplerOptions

    with PatchSampler(data_dir / "out", None, SamplerOptions(batch_size=BATCH), tiles=list(TILES[:1])) as sampler:
        x, y = next(sampler)
        model = get_model("fgunet", sampler.n_dates, len(sampler.bands), len(sampler.class_codes))
    optimizer = tf.keras.optimizers.Adam(1e-3)
    weights = np.ones(model.output_shape[-1], np.float32)

    @tf.function
    def step(x, y):
        with tf.GradientTape() as tape:
            loss = weighted_sparse_crossentropy(y, model(x, training=True), weights)
        optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
        return loss

    x, y = tf.constant(x), tf.constant(y)
    for _ in range(2):
        step(x, y).numpy()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        step(x, y).numpy()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ranks", type=int, nargs="+", default=[2, 3, 4, 6, 8, 11])
    parser.add_argument("--batches", type=int, default=10, help="timed batches per N (after 2 warm-up)")
    parser.add_argument("--steps", type=int, default=5, help="timed training steps")
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "landcover_bench_sampler")
    parser.add_argument("--worker", action="store_true", help="run one N (under mpirun)")
    parser.add_argument("--python", default=sys.executable)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.data, args.batches)
        return 0
    if max(args.ranks) > len(TILES):
        parser.error(f"--ranks up to {len(TILES)} (one synthetic tile per rank)")

    start = time.perf_counter()
    prepare_data(args.data, max(args.ranks))
    print(f"data: {max(args.ranks)} tiles {SIZE}x{SIZE} px, {N_DATES} dates in {args.data} "
          f"({time.perf_counter() - start:.0f} s)", file=sys.stderr)
    results = []
    for n in args.ranks:
        command = (f"{MPIRUN} -n {n} {shlex.quote(args.python)} {shlex.quote(__file__)} --worker "
                   f"--data {shlex.quote(str(args.data))} --batches {args.batches}")
        print(f"$ {command}", file=sys.stderr)
        done = subprocess.run(shlex.split(command), capture_output=True, text=True, check=False)
        if done.returncode != 0:
            print(done.stdout[-2000:], done.stderr[-4000:], file=sys.stderr)
            return 1
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    step = training_step_seconds(args.data, args.steps)

    print(f"\nSampler per batch (b={BATCH}, {PATCH}x{PATCH}x{N_DATES * 10} int16, one {SIZE} px tile per rank in "
          f"memory; mean of {args.batches} batches of the slowest rank; {os.cpu_count()} cores, ranks "
          f"oversubscribed, which inflates the timings) vs one FG-UNET training step (b={BATCH}, fwd+bwd+Adam, "
          f"float32, one process): {step * 1e3:.0f} ms\n")
    print("| N | plan ms | extract ms | exchange ms | transform ms | sampler total ms | moved patches | "
          "moved MB | batch MB | sampler / train step |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['ranks']} | {r['plan'] * 1e3:.2f} | {r['extract'] * 1e3:.2f} | {r['exchange'] * 1e3:.2f} | "
              f"{r['transform'] * 1e3:.2f} | {r['total'] * 1e3:.2f} | {r['moved_patches']:.1f} | "
              f"{r['moved_mb']:.1f} | {r['batch_mb']:.1f} | {r['total'] / step:.3f} |")
    print(f"\ncommand: {shlex.quote(args.python)} {' '.join(map(shlex.quote, sys.argv))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
