"""Benchmark of the five models: forward and forward+backward time per 64x64 patch and per 512x512 window.

Sizes of the paper (T=33 dates, C=10 bands, K=17 classes, G=11 groups). For every model and precision
(float32, bfloat16 mixed precision):

- 64x64 patches, batch 8 (training size): forward, and forward+backward (loss + gradients of all weights,
  no optimizer update), time per patch;
- 512x512 windows, batch 1 (prediction size): the same, time per window.

FLOPs are counted analytically from the layers (``landcover_hpc.models.flops``: multiply-add = 2 FLOPs,
convolutions and ConvLSTM gate convolutions only); forward+backward is counted as 3x the forward FLOPs.
The achieved GFLOP/s is set against a 4096x4096 ``tf.matmul`` measured in the same run (the practical peak
of this machine for each dtype).

Each case is traced once on a tiny input (shape-generic ``tf.function``), run once untimed on its full input
when that is cheap, then timed: the median of up to ``--repeat`` runs, fewer when one run is long (then the
single timed run includes the one-off set-up of a new input shape). A case whose estimated time (from the
last measured rate of that model) exceeds its time cap (``CASES``, scaled by ``--cap-scale``), or that would
start after ``--budget-s``, is skipped and marked so in the table. Cases run in the order 64 fwd, 512 fwd,
64 fwd+bwd, 512 fwd+bwd over all models, so that the budget cuts the least telling ones.

Usage: python benchmarks/bench_models.py [--models mlp unet ...] [--precisions float32 bfloat16]
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import statistics
import sys
import time

from peaks import matmul_gflops  # benchmarks/peaks.py (this script's folder is on sys.path)

# (label, spatial size, batch, backward, time cap in s), in the order they run: the cheaper and more
# telling cases first, so that the time budget cuts the least important ones.
CASES = (
    ("64 fwd", 64, 8, False, 60.0),
    ("512 fwd", 512, 1, False, 30.0),
    ("64 fwd+bwd", 64, 8, True, 120.0),
    ("512 fwd+bwd", 512, 1, True, 30.0),
)
COLUMNS = ("64 fwd", "64 fwd+bwd", "512 fwd", "512 fwd+bwd")
# Cases not run by default: ConvLSTM backward keeps every gate of every step; at batch 8 x 64 x 64 the
# tsfgunet gradient needs well over 10 GiB (killed for memory on a 24 GiB machine), and the 512 x 512 ones
# take minutes on 2 cores.
DEFAULT_SKIPS = {
    # forward+backward keeps every ConvLSTM step's activations: more than this machine's 24 GiB (OOM-killed)
    ("lstm", "64 fwd+bwd"): "skipped (memory)",
    ("tsfgunet", "64 fwd+bwd"): "skipped (memory)",
    ("tsfgunet", "512 fwd+bwd"): "skipped (memory)",
    ("lstm", "512 fwd+bwd"): "skipped (memory)",
}
SIZES = dict(n_dates=33, n_bands=10, n_classes=17, n_groups=11)


def _step_functions(tf, model, channels):
    from landcover_hpc.models import weighted_sparse_crossentropy

    spec = tf.TensorSpec((None, None, None, channels), tf.float32)
    weights = tf.ones((SIZES["n_classes"],))

    @tf.function(input_signature=[spec])
    def forward(x):
        return model(x, training=False)

    @tf.function(input_signature=[spec, tf.TensorSpec((None, None, None), tf.int32)])
    def forward_backward(x, y):
        with tf.GradientTape() as tape:
            loss = weighted_sparse_crossentropy(y, model(x, training=True), weights)
        return tape.gradient(loss, model.trainable_variables)

    return forward, forward_backward


def _run_case(tf, functions, channels, size, batch, backward, repeat, cap_s, estimate):
    forward, forward_backward = functions
    rng = tf.random.Generator.from_seed(0)

    def inputs(s, b):
        x = rng.uniform((b, s, s, channels))
        y = rng.uniform((b, s, s), maxval=SIZES["n_classes"] + 1, dtype=tf.int32)
        return x, y

    def once(x, y):
        result = forward_backward(x, y) if backward else forward(x)
        tf.nest.map_structure(lambda t: t.numpy(), result)

    once(*inputs(8, 1))  # trace and initialise on a tiny input
    x, y = inputs(size, batch)
    if estimate < cap_s / 4:
        once(x, y)  # the first run at a new shape also sets up oneDNN primitives: untimed when affordable
    times = []
    while len(times) < repeat and sum(times) < cap_s / 2:
        start = time.perf_counter()
        once(x, y)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=["mlp", "unet", "fgunet", "lstm", "tsfgunet"])
    parser.add_argument("--precisions", nargs="+", default=["float32", "bfloat16"])
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per case (at most)")
    parser.add_argument("--cap-scale", type=float, default=1.0, help="multiply the per-case time caps")
    parser.add_argument("--run-all", action="store_true", help="also run the DEFAULT_SKIPS cases")
    parser.add_argument("--budget-s", type=float, default=540.0, help="start no case after this many seconds")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    import tensorflow as tf

    from landcover_hpc.models import flops_per_pixel, get_model

    started = time.perf_counter()
    peak = {"float32": matmul_gflops(tf, tf.float32), "bfloat16": matmul_gflops(tf, tf.bfloat16)}
    configs = {}
    for name in args.models:
        fwd_flops = flops_per_pixel(name, **SIZES)
        for precision in args.precisions:
            model = get_model(name, **SIZES, precision=precision)
            configs[name, precision] = dict(
                model=model,
                functions=_step_functions(tf, model, model.input_shape[-1]),
                fwd_flops=fwd_flops,
                rate={False: 0.5 * peak[precision] * 1e9},  # FLOP/s guesses, then measured (by backward)
                cells={},
            )
    for label, size, batch, backward, cap in CASES:
        cap *= args.cap_scale
        for (name, precision), config in configs.items():
            flops = config["fwd_flops"] * size * size * batch * (3 if backward else 1)
            # Without a measured forward+backward rate, assume backward runs at 0.7x the forward rate.
            rate = config["rate"].get(backward, 0.7 * config["rate"][False])
            estimate = flops / rate
            if (name, label) in DEFAULT_SKIPS and not args.run_all:
                config["cells"][label] = DEFAULT_SKIPS[name, label]
                continue
            if time.perf_counter() - started > args.budget_s:
                config["cells"][label] = "skipped (budget)"
                continue
            if estimate > cap:
                config["cells"][label] = f"skipped (est. {estimate:.0f} s)"
                continue
            model = config["model"]
            seconds = _run_case(
                tf,
                config["functions"],
                model.input_shape[-1],
                size,
                batch,
                backward,
                args.repeat,
                cap,
                estimate,
            )
            config["rate"][backward] = flops / seconds
            per_item = seconds / batch
            unit = f"{per_item * 1e3:.1f} ms" if per_item < 10 else f"{per_item:.1f} s"
            config["cells"][label] = f"{unit} ({flops / seconds / 1e9:.0f})"
            print(f"# {name} {precision} {label}: {seconds:.3f} s per batch of {batch} "
                  f"({flops / seconds / 1e9:.0f} GFLOP/s)", flush=True)  # kept even if a later case is killed

    command = "python " + " ".join(
        shlex.quote(a) for a in [sys.argv[0], *(argv if argv is not None else sys.argv[1:])]
    )
    print(f"Command: `{command}`  ")
    print(
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"TensorFlow {tf.__version__}; total {time.perf_counter() - started:.0f} s  "
    )
    print(
        f"4096x4096 tf.matmul: float32 {peak['float32']:.0f} GFLOP/s, "
        f"bfloat16 {peak['bfloat16']:.0f} GFLOP/s  "
    )
    print(
        "Cells: time per 64x64 patch (batch 8) or per 512x512 window (batch 1) (achieved GFLOP/s); "
        "FLOPs counted analytically, forward+backward = 3x forward.\n"
    )
    header = ["model", "precision", "parameters", "fwd MFLOP/px", *COLUMNS]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for (name, precision), config in configs.items():
        cells = " | ".join(config["cells"][label] for label in COLUMNS)
        params, mflops = config["model"].count_params(), config["fwd_flops"] / 1e6
        print(f"| {name} | {precision} | {params:,} | {mflops:.2f} | {cells} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
