"""benchmarks/bench_label_objects.py at a small size: both methods run in their own processes and agree."""

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).parents[2] / "benchmarks" / "bench_label_objects.py"


def test_bench_label_objects_compares_the_methods_on_one_raster(tmp_path):
    done = subprocess.run([sys.executable, str(BENCH), "--sizes", "300", "--work", str(tmp_path)],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    row = done.stdout.strip().splitlines()[-1].split("|")
    assert row[1].strip() == "300 px" and int(row[2]) > 100  # 225 parcels, neighbours of one code joined
    assert (tmp_path / "labels_300.tif").is_file()
