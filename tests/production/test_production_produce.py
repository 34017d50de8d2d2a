"""``landcover-produce``, the nightly job (issue 14), on three 66 px synthetic tiles and an untrained FG-UNET.

A full run makes the stores, maps, evaluations, the mosaic in the target CRS, the manifest and the report; a
second run with nothing changed writes nothing and says so in one line; a tile whose stack is truncated fails
alone (exit code 3, named with its one-line error in the manifest and the report) while the others are
produced; a second run on an output root that a live run owns fails at once with exit code 75.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import rasterio

from landcover_hpc.cli._common import EXIT_BUSY, EXIT_PARTIAL
from landcover_hpc.cli.produce import main

sys.path.insert(0, str(Path(__file__).parents[1] / "prediction"))
from reference_maps import build_cnn  # noqa: E402

REPO = Path(__file__).parents[2]
TILES = ("T31UDQ", "T31UEQ", "T31UFQ")  # neighbours of one UTM zone: a small mosaic


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, nomenclature) -> tuple[Path, Path]:
    """(tiles folder, model file): three 66 px tiles with 11 dates, an untrained FG-UNET fitted to them."""
    from landcover_hpc.data import PrepareOptions, prepare_dataset
    from landcover_hpc.synth import SynthOptions, synthesize_tile

    root = tmp_path_factory.mktemp("production")
    for seed, tile in enumerate(TILES):
        synthesize_tile(root / "tiles", tile, nomenclature, SynthOptions(size=66, n_dates=11, seed=seed))
    prepare_dataset(root / "tiles", root / "model_store", nomenclature, PrepareOptions(patch_size=16, stride=8))
    return root / "tiles", build_cnn(root / "model_store", root / "fgunet.h5")


def _args(tiles: Path, model: Path, out: Path, *extra: str) -> list[str]:
    return ["--config", str(REPO / "configs" / "production.yaml"), "--input", str(tiles), "--model", str(model),
            "--out", str(out), *extra, "prepare.patch_size=16", "predict.window=32", "predict.overlap=8"]


def _mtimes(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}


def test_full_run_then_a_second_run_does_nothing(inputs, tmp_path, capsys):
    tiles, model = inputs
    out = tmp_path / "out"
    assert main(_args(tiles, model, out)) == 0
    err = capsys.readouterr().err
    assert "complete: 3 tiles done, 0 up to date, 0 failed" in err and " INFO " in err  # timestamped log lines

    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["result"] == "complete" and manifest["failed"] == []
    assert {t: r["status"] for t, r in manifest["tiles"].items()} == dict.fromkeys(TILES, "done")
    for record in manifest["tiles"].values():
        assert set(record["steps"]) == {"prepare", "predict", "evaluate"}
        assert all(s["status"] == "done" and s["seconds"] >= 0 for s in record["steps"].values())
        assert -1 <= record["kappa"] <= 1
    model_input = manifest["inputs"]["model"]
    assert model_input["size"] == model.stat().st_size and len(model_input["sha256"]) == 64
    stack = next(f for f in manifest["inputs"]["tiles"]["T31UEQ"] if f["path"].endswith("stack.tif"))
    assert stack["size"] == (tiles / "T31UEQ" / "stack.tif").stat().st_size and stack["mtime_ns"] > 0
    software = manifest["software"]
    assert all(software[k] for k in ("tensorflow", "numpy", "rasterio", "gdal", "h5py", "hdf5", "landcover_hpc"))
    assert "horovod" in software and manifest["peak_memory_mib"]["process"] > 100

    with rasterio.open(out / "mosaic" / "mosaic_classes.tif") as src:
        assert src.crs.to_epsg() == 2154 and src.read(1).any()
    report = (out / "report.md").read_text()
    assert "![mosaic](report/mosaic_quicklook.png)" in report and (out / "report" / "mosaic_quicklook.png").stat().st_size
    assert "| T31UDQ | done | " in report and "Legend" in report

    before = _mtimes(out)
    assert main(_args(tiles, model, out)) == 0
    captured = capsys.readouterr()
    lines = (captured.out + captured.err).strip().splitlines()
    assert len(lines) == 1 and "up to date, nothing to do" in lines[0], lines
    assert _mtimes(out) == before  # nothing rewritten


def test_a_broken_tile_fails_alone_with_exit_code_3(inputs, tmp_path, capsys):
    tiles, model = inputs
    broken_tiles = tmp_path / "tiles"
    shutil.copytree(tiles, broken_tiles)
    stack = broken_tiles / "T31UEQ" / "stack.tif"
    os.truncate(stack, stack.stat().st_size // 2)
    out = tmp_path / "out"
    assert main(_args(broken_tiles, model, out)) == EXIT_PARTIAL == 3
    err = capsys.readouterr().err
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["result"] == "partial" and manifest["failed"] == ["T31UEQ"]
    record = manifest["tiles"]["T31UEQ"]
    assert record["status"] == "failed" and str(stack) in record["error"] and "\n" not in record["error"]
    assert {manifest["tiles"][t]["status"] for t in ("T31UDQ", "T31UFQ")} == {"done"}
    assert manifest["mosaic"]["status"] == "done" and manifest["mosaic"]["tiles"] == ["T31UDQ", "T31UFQ"]
    report = (out / "report.md").read_text()
    assert f"- T31UEQ: {record['error']}" in report and "| T31UEQ | failed |" in report
    assert "1 failed (T31UEQ)" in err and record["error"] in err


def test_list_tiles_prints_the_tiles_of_the_run_and_writes_nothing(inputs, tmp_path, capsys):
    tiles, model = inputs
    assert main(_args(tiles, model, tmp_path / "out", "--list-tiles")) == 0
    assert capsys.readouterr().out == "".join(f"{tile}\n" for tile in TILES)
    assert main(_args(tiles, model, tmp_path / "out", "--list-tiles", "tiles=[T31UFQ, T31UDQ]")) == 0
    assert capsys.readouterr().out == "T31UFQ\nT31UDQ\n" and not (tmp_path / "out").exists()


def test_a_tiles_only_run_makes_its_tile_beside_a_run_that_owns_the_output_root(inputs, tmp_path, capsys):
    """mosaic=false (a task of slurm/nightly.sh's array): the tile's steps, no lock of OUT (a run holding it
    does not stop the task), no mosaic, manifest or report."""
    from landcover_hpc.locks import locked_output

    tiles, model = inputs
    out = tmp_path / "out"
    with locked_output(out / "manifest.json", "the production run"):
        assert main(_args(tiles, model, out, "--tiles", "T31UDQ", "mosaic=false")) == 0
    assert "complete (tiles only): T31UDQ done" in capsys.readouterr().err
    assert (out / "store" / "T31UDQ.h5").is_file() and (out / "maps" / "T31UDQ_classes.tif").is_file()
    assert (out / "eval" / "T31UDQ_eval.json").is_file()
    assert not any((out / name).exists() for name in ("manifest.json", "report.md", "mosaic", "report"))


def test_a_second_run_on_a_busy_output_root_exits_75(inputs, tmp_path, capsys):
    tiles, model = inputs
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "2"}
    first = subprocess.Popen([sys.executable, "-m", "landcover_hpc.cli.produce", *_args(tiles, model, out)],
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lock = out / ".manifest.json.lock"
    try:
        deadline = time.monotonic() + 60
        while not (lock.is_file() and lock.read_text().strip()):
            assert first.poll() is None and time.monotonic() < deadline, first.communicate()
            time.sleep(0.01)
        first.send_signal(signal.SIGSTOP)  # the first run holds the lock, frozen
        assert main(_args(tiles, model, out)) == EXIT_BUSY == 75
        line = capsys.readouterr().err.strip()
        assert line.startswith("landcover-produce: error: ") and f"PID {first.pid}," in line
        assert "\n" not in line
    finally:
        first.kill()
        first.communicate()


def test_a_tile_is_gap_filled_when_its_acquisitions_are_newer_than_its_stack(tmp_path, capsys):
    import numpy as np

    from landcover_hpc.data import PrepareOptions, prepare_dataset
    from landcover_hpc.gapfill.synthetic import write_synthetic_acquisitions
    from landcover_hpc.gapfill.tile import GapfillOptions, gapfill_tile
    from landcover_hpc.nomenclature import load_nomenclature

    tile, acquisitions, tiles = "T31TFJ", tmp_path / "acq", tmp_path / "tiles"
    write_synthetic_acquisitions(acquisitions / tile, 32, 32, 12, seed=5, block=16)
    gapfill_tile(acquisitions / tile, tiles / tile, GapfillOptions(processes=1, block=16), show_progress=False)
    with rasterio.open(tiles / tile / "stack.tif") as src:
        profile = {**src.profile, "count": 1, "dtype": "uint8", "nodata": 0}
    blocks = np.add.outer(np.arange(4), np.arange(4)) % 4  # 4 x 4 blocks of 8 px, 4 objects of each class
    labels = np.array([11, 12, 31, 51], np.uint8)[np.kron(blocks, np.ones((8, 8), int))]
    with rasterio.open(tiles / tile / "labels.tif", "w", **profile) as dst:
        dst.write(labels, 1)
    prepare_dataset(tiles, tmp_path / "model_store", load_nomenclature(), PrepareOptions(patch_size=16, stride=8))
    model = build_cnn(tmp_path / "model_store", tmp_path / "fgunet.h5")
    out = tmp_path / "out"
    args = _args(tiles, model, out, "--acquisitions", str(acquisitions), "gapfill.processes=1", "gapfill.block=16",
                 "crs=EPSG:32631")

    assert main(args) == 0  # the stack is newer than the acquisitions: no gap-filling
    steps = json.loads((out / "manifest.json").read_text())["tiles"][tile]["steps"]
    assert steps["gapfill"]["status"] == "skipped-up-to-date" and steps["prepare"]["status"] == "done"
    newest = time.time() + 5
    os.utime(acquisitions / tile / sorted(os.listdir(acquisitions / tile))[-1] / "B2.tif", (newest, newest))
    capsys.readouterr()
    assert main(args) == 0  # an acquisition newer than the stack: gap-filled again, then the tile re-made
    manifest = json.loads((out / "manifest.json").read_text())
    assert {k: v["status"] for k, v in manifest["tiles"][tile]["steps"].items()} == dict.fromkeys(
        ("gapfill", "prepare", "predict", "evaluate"), "done")
    assert manifest["inputs"]["acquisitions"][tile]["files"] == 12 * 11  # 10 bands + SCL... per date
