"""Throughput of the gap-filling: megapixels of the output grid per second, per core.

Synthetic acquisitions (landcover_hpc.gapfill.synthetic: irregular dates over a year, ~40 % cloudy
pixel-dates, 10 m and 20 m bands as tiled DEFLATE GeoTIFFs) are generated once in a temporary folder, then
``gapfill_tile`` runs with each number of processes. Prints a Markdown table and the command used.

    python benchmarks/bench_gapfill.py --size 1024 --dates 60 --processes 1,2
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import sys
import tempfile
import time
from pathlib import Path

from landcover_hpc.gapfill import GapfillOptions, gapfill_tile
from landcover_hpc.gapfill.synthetic import write_synthetic_acquisitions


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=1024, help="tile side, px at 10 m (default %(default)s)")
    p.add_argument("--dates", type=int, default=60, help="acquisitions (default %(default)s)")
    p.add_argument("--processes", default="1,2", help="comma-separated process counts (default %(default)s)")
    p.add_argument("--block", type=int, default=256, help="processing block side, px (default %(default)s)")
    p.add_argument("--repeat", type=int, default=1, help="runs per setting, best kept (default %(default)s)")
    args = p.parse_args(argv)
    counts = [int(n) for n in args.processes.split(",")]

    with tempfile.TemporaryDirectory(prefix="bench_gapfill_") as tmp:
        acq_dir = Path(tmp) / "acq"
        t0 = time.perf_counter()
        dates = write_synthetic_acquisitions(acq_dir, args.size, args.size, args.dates, seed=0)
        generate_s = time.perf_counter() - t0
        megapixels = args.size * args.size / 1e6
        rows = []
        for n in counts:
            best = float("inf")
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                summary = gapfill_tile(acq_dir, Path(tmp) / f"out{n}" / "T00BENCH",
                                       GapfillOptions(block=args.block, processes=n), show_progress=False)
                best = min(best, time.perf_counter() - t0)
            rows.append((n, best, megapixels / best, megapixels / best / n, len(summary["dates"])))

    print(f"command: python {shlex.join([sys.argv[0]] + (argv if argv is not None else sys.argv[1:]))}")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores visible; "
          f"synthetic input {args.size}x{args.size} px, {len(dates)} acquisitions x 10 bands + SCL "
          f"(generated in {generate_s:.1f} s), block {args.block} px, output {rows[0][4]} dates\n")
    print("| processes | wall time (s) | Mpx/s | Mpx/s per core | speed-up |")
    print("|---:|---:|---:|---:|---:|")
    for n, seconds, rate, per_core, _ in rows:
        print(f"| {n} | {seconds:.2f} | {rate:.3f} | {per_core:.3f} | {rows[0][1] / seconds:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
