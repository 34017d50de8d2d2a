"""How many cores' worth of float32 compute the node's cores give together, measured in one run.

    .venv/bin/python benchmarks/bench_cores.py [--processes 2] [--seconds 10] [--workload matmul|fgunet]

A virtual machine's "2 cores" may be two hyperthreads of one physical core, share a memory bandwidth that a
workload saturates, or be capped by its host: then ranks that oversubscribe them, or a second thread, add
little. Three loops of the workload, the processes of each started together once all of them have imported
TensorFlow and run a first call. The workload is a TensorFlow float32 matmul (``--n`` x ``--n``, the kernel
the models' convolutions and dense layers run on: compute-bound) or FG-UNET's float32 training step on the
demo's shapes (``--patch`` px, batch ``--batch``, 33 dates x 10 bands, 17 classes: what the demo's ranks run):

- one process with 1 thread (the reference: one core);
- ``--processes`` processes with 1 thread each, at the same time (ranks of ``mpirun``);
- one process with ``--processes`` threads (a rank with every core).

Reports GFLOP/s per process and in total, and the total as a multiple of the reference ("cores' worth"):
near ``--processes`` on real cores, near 1 where the cores share one core's units.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time


def _tensorflow(threads: int):
    """TensorFlow limited to ``threads`` intra-op threads and 1 inter-op thread (before its first op)."""
    os.environ["OMP_NUM_THREADS"] = str(threads)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    return tf


def _calls_per_second(call, seconds: float) -> float:
    """Calls of ``call`` per second over ``seconds``, from the moment the parent answers this process's
    "ready" line on stdout with a line on stdin (``call`` is traced and warm before: one untimed call)."""
    call()
    print("ready", flush=True)
    sys.stdin.readline()
    calls, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        call()
        calls += 1
    return calls / (time.perf_counter() - t0)


def matmul_child(threads: int, seconds: float, n: int) -> dict:
    """Sustained GFLOP/s of n x n float32 matmuls with ``threads`` threads over ``seconds``."""
    tf = _tensorflow(threads)
    a, b = tf.random.uniform((n, n)), tf.random.uniform((n, n))
    matmul = tf.function(lambda x, y: tf.matmul(x, y))
    rate = _calls_per_second(lambda: matmul(a, b).numpy(), seconds)
    return {"threads": threads, "gflops": 2 * n**3 * rate / 1e9}


def fgunet_child(threads: int, seconds: float, patch: int, batch: int) -> dict:
    """Sustained GFLOP/s of FG-UNET's float32 training step (forward, backward, Adam) on a random batch of the
    demo's shapes, ``threads`` threads, over ``seconds``."""
    tf = _tensorflow(threads)
    import numpy as np

    from landcover_hpc.models import flops_per_pixel, get_model

    sizes = (33, 10, 17)  # dates, bands, classes of the demo's nomenclature
    tf.keras.utils.set_random_seed(0)
    model = get_model("fgunet", *sizes, precision="float32")
    model.compile(optimizer=tf.keras.optimizers.legacy.Adam(1e-3), loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(batch, patch, patch, sizes[0] * sizes[1])).astype("float32")
    y = rng.integers(0, sizes[2], size=(batch, patch, patch)).astype("int32")
    rate = _calls_per_second(lambda: model.train_on_batch(x, y), seconds)
    flops = 3 * flops_per_pixel("fgunet", *sizes, size=patch) * patch * patch * batch
    return {"threads": threads, "gflops": flops * rate / 1e9}


def run(processes: int, threads: int, args: argparse.Namespace) -> list[float]:
    """GFLOP/s of each of ``processes`` children started together, ``threads`` threads each."""
    command = [sys.executable, __file__, "--child", "--threads", str(threads), "--seconds", str(args.seconds),
               "--n", str(args.n), "--workload", args.workload, "--patch", str(args.patch),
               "--batch", str(args.batch)]
    procs = [subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
             for _ in range(processes)]
    for proc in procs:
        if proc.stdout.readline().strip() != "ready":
            raise SystemExit(f"bench_cores: a child failed before its start (exit {proc.wait()})")
    for proc in procs:  # all ready: go
        proc.stdin.write("go\n")
        proc.stdin.flush()
    results = []
    for proc in procs:
        out, _ = proc.communicate()
        if proc.returncode != 0:
            raise SystemExit(f"bench_cores: a child failed (exit {proc.returncode})")
        results.append(json.loads(out.strip().splitlines()[-1])["gflops"])
    return results


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--processes", type=int, default=os.cpu_count() or 1)
    p.add_argument("--seconds", type=float, default=10.0, help="timed window of each measurement")
    p.add_argument("--workload", choices=("matmul", "fgunet"), default="matmul")
    p.add_argument("--n", type=int, default=2048, help="matrix size of the matmul workload")
    p.add_argument("--patch", type=int, default=32, help="patch side of the fgunet workload (px)")
    p.add_argument("--batch", type=int, default=4, help="patches per step of the fgunet workload")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        result = (matmul_child(args.threads, args.seconds, args.n) if args.workload == "matmul"
                  else fgunet_child(args.threads, args.seconds, args.patch, args.batch))
        print(json.dumps(result), flush=True)
        return 0
    k = args.processes
    rows = [("1 process x 1 thread", run(1, 1, args)),
            (f"{k} processes x 1 thread, at once", run(k, 1, args)),
            (f"1 process x {k} threads", run(1, k, args))]
    reference = rows[0][1][0]
    workload = (f"float32 matmul {args.n} x {args.n}" if args.workload == "matmul" else
                f"FG-UNET float32 training step, {args.batch} x {args.patch} px")
    print(f"\n`{' '.join(sys.argv)}` ({os.cpu_count()} cores seen; {workload}, {args.seconds:g} s each)\n")
    print("| run | GFLOP/s per process | GFLOP/s total | cores' worth (total / 1 process x 1 thread) |")
    print("|---|---|---|---|")
    for name, rates in rows:
        per = " / ".join(f"{r:.0f}" for r in rates)
        print(f"| {name} | {per} | {sum(rates):.0f} | {sum(rates) / reference:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
