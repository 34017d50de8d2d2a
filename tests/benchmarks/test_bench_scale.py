"""benchmarks/bench_scale.py at a tiny size: every step runs in its own child process and is reported with its
peak memory, and the tiled inputs above the seed size are a tile prepare accepts."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).parents[2] / "benchmarks" / "bench_scale.py"

pytestmark = pytest.mark.slow


def test_bench_scale_runs_every_step_on_a_tiled_tile_and_reports_peak_memory(tmp_path):
    import rasterio

    out = tmp_path / "scale.json"
    done = subprocess.run([sys.executable, str(BENCH), "--sizes", "160", "--seed-size", "96", "--tiles", "1",
                           "--batches", "2", "--work", str(tmp_path / "work"), "--json", str(out), "--quiet"],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    rows = json.loads(out.read_text())["rows"]
    assert [r["step"] for r in rows] == ["synth", "prepare", "sample", "predict", "mosaic"]
    for r in rows:
        assert "error" not in r and r["peak_rss_mb"] > r["rss_after_imports_mb"] > 0 and r["px_per_s"] > 0
    assert rows[0]["method"] == "tiled copies of a 96 px synth tile, stack DEFLATE 1"
    with rasterio.open(tmp_path / "work" / "160px_T3" / "inputs" / "T30TYN" / "stack.tif") as src:
        stack = src.read()
    assert stack.shape == (30, 160, 160) and (stack[:, 96:, :64] == stack[:, :64, :64]).all()
    assert "| 160 | predict | 1 |" in done.stdout and "| predict | " in done.stdout.split("against the tile size")[1]
