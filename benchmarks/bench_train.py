"""FG-UNET training throughput per rank at N = 1, 2, 4 ranks, with the time split of a step.

    .venv/bin/python benchmarks/bench_train.py [--ranks 1 2 4] [--steps 6] [--patch 64]

The driver prepares 4 synthetic tiles (cached in /tmp/landcover_bench_train) and runs itself under
``mpirun -n N --oversubscribe`` for each N. Each rank trains FG-UNET with the trainer's own step
(``train_step``: Horovod DistributedOptimizer, b = 8 patches per rank) on the sampler's batches and times:
- sampling/exchange: ``next(sampler)`` (plan, extraction, Alltoallv, normalisation, augmentation);
- step: ``train_step`` (forward, backward, gradient allreduce, Adam update);
- allreduce: a separate Horovod allreduce of a buffer the size of the gradients (526k float32), so that
  compute ~ step - allreduce.
On one 2-core machine the N ranks share the 2 cores (1 thread each from N = 2 on): per-rank throughput
falls with N because the cores are shared, not because of communication; the split shows where time goes.

    .venv/bin/python benchmarks/bench_train.py --graphs [--steps 6] [--patches 64 32] [--batch 8] [--threads 2]
        [--variants NAME ...]

compares, in one process and side by side, FG-UNET training steps (``train_step``, same batches, same
initial weights) of these graphs (``--variants``, default all, in this order):
- float32, per group, Keras dropout: the group body called once per temporal group and Keras' ``Dropout``
  (the graph before issue 13, rebuilt here on the model's own layers);
- float32, one call, Keras dropout: the groups stacked in the batch, one body call;
- float32, one call, byte dropout: the library's graph (``ByteDropout``: 8 random bits per element);
- float32, per group, byte dropout: the per-group graph with the library's dropout;
- bfloat16, per group / one call, byte dropout (and one call, Keras dropout, not run by default): the same
  in ``model.precision: bfloat16``.
The variants take turns step by step, so that a load change on a shared machine hits all alike; the table
gives medians, the achieved GFLOP/s (forward + backward = 3x forward), the share of the matmul peak of the
variant's precision measured at the start of the same run, and the ratios to the first variant.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from landcover_hpc.parallel import launch_environment
from peaks import matmul_gflops  # benchmarks/peaks.py (this script's folder is on sys.path)

DATA = Path("/tmp/landcover_bench_train")
DEFAULT_VARIANTS = ["float32, per group, Keras dropout", "float32, one call, Keras dropout",
                    "float32, per group, byte dropout", "float32, one call, byte dropout",
                    "bfloat16, per group, byte dropout", "bfloat16, one call, byte dropout"]


def worker(args) -> None:
    from landcover_hpc.runtime import configure_tensorflow

    threads = configure_tensorflow(None)
    import horovod.tensorflow as hvd_tf
    import horovod.tensorflow.keras as hvd
    import tensorflow as tf
    from mpi4py import MPI

    from landcover_hpc.models import class_weights, get_model
    from landcover_hpc.sampling import PatchSampler, SamplerOptions
    from landcover_hpc.training.trainer import ScaledLoss, train_step

    hvd.init()
    comm = MPI.COMM_WORLD
    sampler = PatchSampler(DATA / f"store{args.patch}", comm, SamplerOptions(batch_size=8, seed=0))
    model = get_model("fgunet", sampler.n_dates, len(sampler.bands), len(sampler.class_codes))
    loss = ScaledLoss(class_weights(np.ones(len(sampler.class_codes))))
    model.compile(optimizer=hvd.DistributedOptimizer(tf.keras.optimizers.legacy.Adam(1e-3)), loss=loss)
    hvd_tf.broadcast_variables(model.variables, root_rank=0)
    grads = tf.zeros([model.count_params()])
    t_sample, t_step, t_reduce = [], [], []
    for step in range(args.steps + 1):  # step 0 compiles: not timed
        t0 = time.perf_counter()
        x, y = next(sampler)
        t1 = time.perf_counter()
        train_step(model, loss, x, y, comm, hvd.size())
        t2 = time.perf_counter()
        hvd.allreduce(grads, name=f"bench_{step}").numpy()
        t3 = time.perf_counter()
        if step:
            t_sample.append(t1 - t0), t_step.append(t2 - t1), t_reduce.append(t3 - t2)
    worst = lambda v: comm.allreduce(float(np.mean(v)), op=MPI.MAX)  # noqa: E731 - the slowest rank sets the pace
    result = {"ranks": hvd.size(), "threads": threads, "sample": worst(t_sample), "step": worst(t_step),
              "allreduce": worst(t_reduce)}
    sampler.close()
    if hvd.rank() == 0:
        print("RESULT " + json.dumps(result), flush=True)


@contextlib.contextmanager
def keras_dropout():
    """Models built inside use Keras' ``Dropout`` (32 random bits per element): the graph before
    :class:`~landcover_hpc.models.architectures.ByteDropout`."""
    import tensorflow as tf

    from landcover_hpc.models import architectures

    library = architectures.ByteDropout
    architectures.ByteDropout = tf.keras.layers.Dropout
    try:
        yield
    finally:
        architectures.ByteDropout = library


def graph_variants(sizes, names: list[str]) -> dict:
    """The FG-UNET graphs compared by ``--graphs``, by name, all with the same initial weights."""
    import tensorflow as tf

    from landcover_hpc.models import get_model
    from landcover_hpc.models.architectures import per_group_graph

    def build(precision="float32", dropout="byte", per_group=False):
        tf.keras.utils.set_random_seed(0)
        if dropout == "keras":
            with keras_dropout():
                model = get_model("fgunet", *sizes, precision=precision)
        else:
            model = get_model("fgunet", *sizes, precision=precision)
        return per_group_graph(model) if per_group else model

    builders = {
        "float32, per group, Keras dropout": lambda: build(dropout="keras", per_group=True),
        "float32, one call, Keras dropout": lambda: build(dropout="keras"),
        "float32, per group, byte dropout": lambda: build(per_group=True),
        "float32, one call, byte dropout": lambda: build(),
        "bfloat16, one call, Keras dropout": lambda: build("bfloat16", dropout="keras"),
        "bfloat16, per group, byte dropout": lambda: build("bfloat16", per_group=True),
        "bfloat16, one call, byte dropout": lambda: build("bfloat16"),
    }
    unknown = sorted(set(names) - set(builders))
    if unknown:
        raise SystemExit(f"bench_train.py: unknown --variants {unknown}: choose from {list(builders)}")
    return {name: builders[name]() for name in names}


def graphs_worker(args) -> tuple[list[dict], dict]:
    from landcover_hpc.runtime import configure_tensorflow

    threads = configure_tensorflow(args.threads)
    import horovod.tensorflow.keras as hvd
    import tensorflow as tf

    from landcover_hpc.models import class_weights, flops_per_pixel
    from landcover_hpc.sampling import PatchSampler, SamplerOptions
    from landcover_hpc.training.trainer import ScaledLoss, train_step

    hvd.init()
    peaks = {"float32": matmul_gflops(tf, tf.float32), "bfloat16": matmul_gflops(tf, tf.bfloat16)}
    rows = []
    for patch in args.patches:
        sampler = PatchSampler(DATA / f"store{patch}", None, SamplerOptions(batch_size=args.batch, seed=0))
        batches = [next(sampler) for _ in range(args.steps + 1)]
        sizes = sampler.n_dates, len(sampler.bands), len(sampler.class_codes)
        loss_weights = class_weights(np.ones(len(sampler.class_codes)))
        sampler.close()
        train_flops = 3 * flops_per_pixel("fgunet", *sizes, size=patch) * patch * patch * args.batch
        variants = graph_variants(sizes, args.variants)
        losses = {}
        for name, model in variants.items():
            losses[name] = ScaledLoss(loss_weights)
            model.compile(optimizer=hvd.DistributedOptimizer(tf.keras.optimizers.legacy.Adam(1e-3)),
                          loss=losses[name])
        times = {name: [] for name in variants}
        for step, (x, y) in enumerate(batches):  # step 0 compiles: not timed
            for name, model in variants.items():
                t0 = time.perf_counter()
                train_step(model, losses[name], x, y, None, 1)
                if step:
                    times[name].append(time.perf_counter() - t0)
        for name, values in times.items():
            median = float(np.median(values))
            rows.append({"patch": patch, "variant": name, "threads": threads, "median": median,
                         "min": float(np.min(values)), "max": float(np.max(values)),
                         "gflops": train_flops / median / 1e9})
    return rows, peaks


def prepare_store(patch: int) -> None:
    from landcover_hpc.data import PrepareOptions, prepare_dataset
    from landcover_hpc.nomenclature import load_nomenclature
    from landcover_hpc.synth import SynthOptions, synthesize_tile

    if (DATA / f"store{patch}" / "dataset.json").is_file():
        return
    nomenclature = load_nomenclature()
    for tile in ("T31UDQ", "T30TWT", "T30TYN", "T31TCJ"):
        if not (DATA / "tiles" / tile).is_dir():
            synthesize_tile(DATA / "tiles", tile, nomenclature, SynthOptions(size=256, seed=5))
    prepare_dataset(DATA / "tiles", DATA / f"store{patch}", nomenclature, PrepareOptions(patch_size=patch, stride=16))


def print_graphs(args, rows, peaks) -> None:
    print(f"\n`.venv/bin/python benchmarks/bench_train.py --graphs --steps {args.steps} --patches "
          f"{' '.join(map(str, args.patches))} --batch {args.batch} --threads {args.threads}` (FG-UNET, one process, "
          f"b = {args.batch} patches x 330 channels, {args.steps} steps per variant after a compiling one, variants "
          "interleaved step by step; GFLOP/s count forward + backward as 3x the forward FLOPs)\n")
    print(f"Matmul peaks measured in the same run (4096 x 4096, best of 5): float32 {peaks['float32']:.0f}, "
          f"bfloat16 {peaks['bfloat16']:.0f} GFLOP/s\n")
    print("| patch px | graph | threads | step ms, median (min-max) | patches/s | GFLOP/s | % of its precision's "
          "matmul peak | speed-up vs first row |")
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        base = next(r for r in rows if r["patch"] == row["patch"])["median"]
        peak = peaks["bfloat16" if row["variant"].startswith("bfloat16") else "float32"]
        print(f"| {row['patch']} | {row['variant']} | {row['threads']} | {1e3 * row['median']:.0f} "
              f"({1e3 * row['min']:.0f}-{1e3 * row['max']:.0f}) | {args.batch / row['median']:.2f} | "
              f"{row['gflops']:.0f} | {100 * row['gflops'] / peak:.0f} % | {base / row['median']:.2f} |")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--ranks", type=int, nargs="+", default=[1, 2, 4])
    p.add_argument("--steps", type=int, default=6)
    p.add_argument("--patch", type=int, default=64)
    p.add_argument("--worker", action="store_true")
    p.add_argument("--graphs", action="store_true", help="compare per-group / one-call / bfloat16 FG-UNET steps")
    p.add_argument("--patches", type=int, nargs="+", default=[64, 32], help="patch sizes of --graphs")
    p.add_argument("--threads", type=int, default=2, help="TensorFlow threads of --graphs")
    p.add_argument("--batch", type=int, default=8, help="patches per step of --graphs")
    p.add_argument("--variants", nargs="+", default=DEFAULT_VARIANTS, help="graphs of --graphs, in this order")
    args = p.parse_args()
    if args.worker:
        return worker(args)
    if args.graphs:
        for patch in args.patches:
            prepare_store(patch)
        return print_graphs(args, *graphs_worker(args))
    prepare_store(args.patch)
    env = launch_environment()
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    rows = []
    for n in args.ranks:
        cmd = ["mpirun", "--oversubscribe", "--allow-run-as-root", "--bind-to", "none", "-n", str(n), sys.executable,
               __file__, "--worker", "--steps", str(args.steps), "--patch", str(args.patch)]
        out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
        rows.append(json.loads(next(line for line in out.stdout.splitlines() if line.startswith("RESULT "))[7:]))
    print(f"\n`.venv/bin/python benchmarks/bench_train.py --ranks {' '.join(map(str, args.ranks))} --steps {args.steps}"
          f" --patch {args.patch}` (FG-UNET, b = 8 patches of {args.patch} px x 330 channels per rank, float32)\n")
    print("| ranks | threads/rank | patches/s per rank | patches/s total | sampling+exchange ms | step ms | "
          "of which allreduce ms (separate) | compute ms (step - allreduce) |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        per_rank = 8 / (r["sample"] + r["step"])
        print(f"| {r['ranks']} | {r['threads']} | {per_rank:.2f} | {per_rank * r['ranks']:.2f} | {1e3 * r['sample']:.0f} | "
              f"{1e3 * r['step']:.0f} | {1e3 * r['allreduce']:.0f} | {1e3 * (r['step'] - r['allreduce']):.0f} |")


if __name__ == "__main__":
    main()
