"""The machine's practical matmul peak, measured by the benchmarks in the same run as what they set against it."""

from __future__ import annotations

import time


def matmul_gflops(tf, dtype=None, n: int = 4096, repeat: int = 5) -> float:
    """GFLOP/s of the fastest of ``repeat`` n x n ``tf.matmul`` calls in ``dtype`` (default float32)."""
    dtype = dtype or tf.float32
    a = tf.cast(tf.random.uniform((n, n)), dtype)
    b = tf.cast(tf.random.uniform((n, n)), dtype)
    matmul = tf.function(lambda x, y: tf.matmul(x, y))
    matmul(a, b).numpy()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        matmul(a, b).numpy()
        times.append(time.perf_counter() - start)
    return 2 * n**3 / min(times) / 1e9
