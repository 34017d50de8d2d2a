"""benchmarks/bench_cores.py at a small size: its three runs, started together, give one table per workload."""

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).parents[2] / "benchmarks" / "bench_cores.py"


@pytest.mark.parametrize("workload", [["--workload", "matmul", "--n", "128"],
                                      ["--workload", "fgunet", "--patch", "8", "--batch", "1"]],
                         ids=["matmul", "fgunet"])
def test_bench_cores_reports_the_three_runs(workload):
    done = subprocess.run([sys.executable, str(BENCH), "--processes", "2", "--seconds", "0.2", *workload],
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    header = "FG-UNET float32 training step, 1 x 8 px" if "fgunet" in workload else "float32 matmul 128 x 128"
    assert header in done.stdout
    rows = [line.split("|")[1:-1] for line in done.stdout.splitlines()
            if line.startswith("| ") and "GFLOP" not in line]
    assert [r[0].strip() for r in rows] == ["1 process x 1 thread", "2 processes x 1 thread, at once",
                                            "1 process x 2 threads"]
    per_process = [len(r[1].split("/")) for r in rows]
    assert per_process == [1, 2, 1]
    assert float(rows[0][3]) == 1.0  # the reference is one core's worth
    assert all(float(r[2]) > 0 for r in rows)
