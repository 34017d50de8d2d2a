"""XLA (jit_compile) against the plain graph for FG-UNET inference, side by side, float32 and bfloat16.

    .venv/bin/python benchmarks/bench_xla.py [SIZE]

One SIZE x SIZE window (default 256), 2 threads, the model's forward pass as a ``tf.function`` with and
without ``jit_compile=True``, taking turns; median of 5 calls after 2 warm-up calls; prints the agreement of
the two outputs and the times. (The training step does not compile with XLA on CPU: benchmarks/README.md.)
"""

import os
import sys
import time

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main(size: int) -> None:
    import tensorflow as tf

    from landcover_hpc.models import get_model

    tf.config.threading.set_intra_op_parallelism_threads(2)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    x = np.random.default_rng(0).random((1, size, size, 330), np.float32)
    times = {}
    for precision in ("float32", "bfloat16"):
        tf.keras.utils.set_random_seed(0)
        model = get_model("fgunet", 33, 10, 17, n_groups=11, precision=precision, spatial_shape=(size, size))

        def forward(window):
            return model(window, training=False)

        functions = {"graph": tf.function(forward), "xla": tf.function(forward, jit_compile=True)}
        outputs = {name: [f(x).numpy(), f(x).numpy()][0] for name, f in functions.items()}
        for _ in range(5):
            for name, f in functions.items():
                start = time.perf_counter()
                f(x).numpy()
                times.setdefault((precision, name), []).append(time.perf_counter() - start)
        print(f"{precision}: max |xla - graph| probability {np.abs(outputs['xla'] - outputs['graph']).max():.2g}, "
              f"argmax equal {(outputs['xla'].argmax(-1) == outputs['graph'].argmax(-1)).mean():.2%}")
    for (precision, name), values in times.items():
        print(f"{precision:9s} {name:6s} {1000 * np.median(values):8.1f} ms {size * size / np.median(values):10.0f} px/s")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 256)
