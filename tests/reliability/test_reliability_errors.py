"""Every error path ends as one line: user and environment problems (paths, permissions, a full disk, corrupt
or foreign files, a mismatched checkpoint) give ``prog: error: ...`` naming the file and the fix, exit code 2,
no traceback and no output file; a bug gives exit code 70 and one line pointing to ``--debug``.

Each command family runs at least once as a real subprocess of its CLI; the neighbouring cases call
``main([...])`` in the test process to stay fast.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
import rasterio

pytestmark = pytest.mark.reliability

REPO = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3", "TF_ENABLE_ONEDNN_OPTS": "0",
       "PYTHONDONTWRITEBYTECODE": "1"}
TILE = "T31UDQ"


# -- helpers ---------------------------------------------------------------------------------------------
def cli(module: str, *args: str, preexec_fn=None) -> subprocess.CompletedProcess:
    """Run ``python -m landcover_hpc.cli.<module> ARGS`` as a real process."""
    return subprocess.run([sys.executable, "-m", f"landcover_hpc.cli.{module}", *map(str, args)], env=ENV,
                          capture_output=True, text=True, timeout=300, preexec_fn=preexec_fn, cwd=REPO)


def assert_one_line(stderr: str, prog: str, *names: object) -> str:
    """The single stderr line: ``prog: error: ...`` naming every one of ``names``, no traceback."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith(f"{prog}: error: "), stderr
    assert "Traceback" not in stderr
    for name in names:
        assert str(name) in lines[0], (name, lines[0])
    return lines[0]


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) if folder.exists() else []


@contextlib.contextmanager
def mounted_tmpfs(folder: Path, options: str):
    """A tmpfs at ``folder`` (``ro`` or ``size=...``); the test is skipped where mounting is not allowed."""
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.decode().strip() or 'not root'})")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


@contextlib.contextmanager
def read_only_folder(folder: Path):
    """A folder the user cannot write: a read-only mount as root (root ignores permissions), else 0555."""
    if os.geteuid() == 0:
        with mounted_tmpfs(folder, "ro,size=1m"):
            yield folder
    else:
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o555)
        try:
            yield folder
        finally:
            folder.chmod(0o755)


def flip_payload_byte(path: Path, dataset: str, at: int = 0) -> None:
    """Change one byte of a dataset's stored data (contiguous or first chunk), behind HDF5's back."""
    with h5py.File(path, "r") as h5:
        ds = h5[dataset]
        offset = ds.id.get_offset() if ds.chunks is None else ds.id.get_chunk_info(0).byte_offset
    with open(path, "r+b") as f:
        f.seek(offset + at)
        byte = f.read(1)
        f.seek(offset + at)
        f.write(bytes([byte[0] ^ 0x5A]))


def write_raster(path: Path, store_path: Path, bands: np.ndarray, tags: dict | None = None) -> Path:
    """A GeoTIFF on the grid of a store: ``bands`` (count, H, W)."""
    from landcover_hpc.data.store import TileStore

    with TileStore(store_path) as store:
        crs, transform = store.crs, store.transform
    with rasterio.open(path, "w", driver="GTiff", width=bands.shape[2], height=bands.shape[1], count=len(bands),
                       dtype=bands.dtype, crs=crs, transform=transform) as dst:
        dst.write(bands)
        if tags:
            dst.update_tags(**tags)
    return path


@pytest.fixture()
def store(tmp_path, store_dir) -> Path:
    """A private copy of the prepared stores (tests damage it)."""
    return Path(shutil.copytree(store_dir, tmp_path / "store"))


@pytest.fixture()
def class_map(tmp_path, store) -> Path:
    """A class map of T31UDQ (its test labels' codes), written as the predictor tags it."""
    from landcover_hpc.data.store import TileStore

    with TileStore(store / f"{TILE}.h5") as s:
        codes = np.concatenate([[0], s.class_codes]).astype(np.uint8)[s.read_labels("test")]
    (tmp_path / "maps").mkdir()
    return write_raster(tmp_path / "maps" / f"{TILE}_classes.tif", store / f"{TILE}.h5", codes[None],
                        {"PRODUCT": "classes"})


def small_model(store: Path, path: Path) -> Path:
    from landcover_hpc.data.store import TileStore
    from landcover_hpc.models import ModelMetadata, get_model, save_model

    with TileStore(store / f"{TILE}.h5") as s:
        model = get_model("mlp", s.n_dates, s.n_bands, len(s.class_codes))
        save_model(path, model, ModelMetadata(s.bands, s.class_codes, s.percentiles, dates=s.dates))
    return path


def small_forest(path: Path, depth: int = 3) -> Path:
    from landcover_hpc.baseline import ForestParams, fit_forest, save_forest

    rng = np.random.default_rng(0)
    model, _ = fit_forest(rng.random((200, 3)), rng.integers(1, 4, 200),
                          ForestParams(n_trees=3, max_depth=depth, n_jobs=1),
                          {"bands": ["B2"], "dates": ["20180101", "20180102", "20180103"]})
    return save_forest(model, path)


# -- output paths: read-only folder, a file in the way, disk full, file size limit --------------------------
def test_prepare_out_naming_a_file_is_one_line(tmp_path, synth_root):
    taken = tmp_path / "taken"
    taken.write_text("not a folder")
    done = cli("prepare", "--input", synth_root, "--out", taken, "--tiles", TILE)
    assert done.returncode == 2, done.stderr
    assert_one_line(done.stderr, "landcover-prepare", taken, "choose another")
    assert taken.read_text() == "not a folder" and files_under(tmp_path) == ["taken"]


def test_prepare_into_a_read_only_folder_is_one_line(tmp_path, synth_root, capsys):
    from landcover_hpc.cli.prepare import main

    with read_only_folder(tmp_path / "ro") as ro:
        assert main(["--input", str(synth_root), "--out", str(ro / "store"), "--tiles", TILE]) == 2
        assert_one_line(capsys.readouterr().err, "landcover-prepare", ro)
        assert files_under(ro) == []


def test_disk_full_is_one_line_and_leaves_nothing(tmp_path, synth_root, capsys):
    from landcover_hpc.cli.prepare import main

    with mounted_tmpfs(tmp_path / "full", "size=256k") as full:
        assert main(["--input", str(synth_root), "--out", str(full), "--tiles", TILE]) == 2
        line = assert_one_line(capsys.readouterr().err, "landcover-prepare", full / f"{TILE}.h5")
        assert "No space left on device" in line and "free space" in line
        assert files_under(full) == []


def test_file_size_limit_is_one_line_not_a_killed_process(tmp_path, synth_root):
    """RLIMIT_FSIZE (ulimit -f) sends SIGXFSZ, which would kill the process without a word."""
    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (256 * 1024, 256 * 1024))

    done = cli("prepare", "--input", synth_root, "--out", tmp_path / "out", "--tiles", TILE, preexec_fn=limit)
    assert done.returncode == 2, done.stderr
    line = assert_one_line(done.stderr, "landcover-prepare", tmp_path / "out" / f"{TILE}.h5")
    assert "File too large" in line and "ulimit -f" in line
    assert files_under(tmp_path / "out") == []


def test_predict_into_a_read_only_folder_is_one_line(tmp_path, store):
    model = small_model(store, tmp_path / "model.h5")
    with read_only_folder(tmp_path / "ro") as ro:
        done = cli("predict", "--store", store, "--model", model, "--out", ro, "--tiles", TILE)
        assert done.returncode == 2, done.stderr
        assert_one_line(done.stderr, "landcover-predict", ro)
        assert files_under(ro) == []


def test_evaluate_out_naming_a_file_is_one_line(tmp_path, store, class_map, capsys):
    from landcover_hpc.cli.evaluate import main

    taken = tmp_path / "taken"
    taken.write_text("x")
    assert main(["--map", str(class_map), "--tile", TILE, "--store", str(store), "--out", str(taken)]) == 2
    assert_one_line(capsys.readouterr().err, "landcover-evaluate", taken)
    assert taken.read_text() == "x"


def test_rf_train_into_a_read_only_folder_is_one_line(tmp_path, store, capsys):
    from landcover_hpc.cli.rf import main

    with read_only_folder(tmp_path / "ro") as ro:
        assert main(["train", "--store", str(store), "--out", str(ro / "rf.h5"), "--trees", "2",
                     "--per-class", "20", "--tiles", TILE]) == 2
        assert_one_line(capsys.readouterr().err, "landcover-rf", ro / "rf.h5")
        assert files_under(ro) == []


# -- inputs of the wrong kind, truncated or corrupt -------------------------------------------------------
def test_evaluate_refuses_a_confidence_raster(tmp_path, store, class_map):
    confidence = write_raster(tmp_path / f"{TILE}_confidence.tif", store / f"{TILE}.h5",
                              np.full((1, 160, 160), 80, np.uint8), {"PRODUCT": "confidence"})
    done = cli("evaluate", "--map", confidence, "--tile", TILE, "--store", store, "--out", tmp_path / "eval")
    assert done.returncode == 2, done.stderr
    assert_one_line(done.stderr, "landcover-evaluate", confidence, "a confidence map, not a class map")
    assert not (tmp_path / "eval").exists()


def test_evaluate_and_geometry_refuse_a_multiband_stack(tmp_path, store, class_map, capsys):
    from landcover_hpc.cli.evaluate import main as evaluate
    from landcover_hpc.cli.geometry import main as geometry

    stack = write_raster(tmp_path / "stack.tif", store / f"{TILE}.h5", np.ones((4, 160, 160), np.int16))
    assert evaluate(["--map", str(stack), "--tile", TILE, "--store", str(store), "--out", str(tmp_path / "e")]) == 2
    assert_one_line(capsys.readouterr().err, "landcover-evaluate", stack, "4 int16 band(s), not a class map")
    assert geometry(["--tile", TILE, "--map", f"A={class_map}", "--reference", str(stack),
                     "--out", str(tmp_path / "g")]) == 2
    assert_one_line(capsys.readouterr().err, "landcover-geometry", stack, "not a class map")
    assert not (tmp_path / "e").exists() and not (tmp_path / "g").exists()


def test_geometry_refuses_a_confidence_raster(tmp_path, store, class_map):
    confidence = write_raster(tmp_path / "conf.tif", store / f"{TILE}.h5", np.full((1, 160, 160), 80, np.uint8),
                              {"PRODUCT": "confidence"})
    done = cli("geometry", "--tile", TILE, "--map", f"A={confidence}", "--reference", class_map,
               "--out", tmp_path / "g")
    assert done.returncode == 2, done.stderr
    assert_one_line(done.stderr, "landcover-geometry", confidence, "confidence")
    assert not (tmp_path / "g").exists()


def test_compare_refuses_a_confidence_raster_among_the_maps(tmp_path, store, class_map, capsys):
    from landcover_hpc.cli.compare import main as compare
    from landcover_hpc.cli.evaluate import main as evaluate

    assert evaluate(["--map", str(class_map), "--tile", TILE, "--store", str(store), "--out",
                     str(tmp_path / "eval")]) == 0
    capsys.readouterr()
    (tmp_path / "bad").mkdir()
    write_raster(tmp_path / "bad" / f"{TILE}_classes.tif", store / f"{TILE}.h5",
                 np.full((1, 160, 160), 80, np.uint8), {"PRODUCT": "confidence"})
    done = cli("compare", "--eval", f"RF={tmp_path / 'eval'}", "--maps", f"RF={tmp_path / 'bad'}",
               "--out", tmp_path / "report")
    assert done.returncode == 2, done.stderr
    assert_one_line(done.stderr, "landcover-compare", tmp_path / "bad" / f"{TILE}_classes.tif", "confidence")
    assert files_under(tmp_path / "report") == []


def test_truncated_stack_is_one_line(tmp_path, synth_root, capsys):
    from landcover_hpc.cli.prepare import main

    tile = Path(shutil.copytree(synth_root / TILE, tmp_path / "in" / TILE))
    data = (tile / "stack.tif").read_bytes()
    (tile / "stack.tif").write_bytes(data[:len(data) // 2])
    assert main(["--input", str(tmp_path / "in"), "--out", str(tmp_path / "out")]) == 2
    assert_one_line(capsys.readouterr().err, "landcover-prepare", tile / "stack.tif", "truncated or damaged")
    assert files_under(tmp_path / "out") == []


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", '{"tiles": 3}', "[" * 100_000 + "]" * 100_000])
def test_corrupt_dataset_json_is_one_line(tmp_path, store, content, capsys):
    from landcover_hpc.cli.rf import main

    (store / "dataset.json").write_text(content)
    assert main(["train", "--store", str(store), "--out", str(tmp_path / "rf.h5"), "--trees", "2"]) == 2
    assert_one_line(capsys.readouterr().err, "landcover-rf", store / "dataset.json", "re-run landcover-prepare")
    assert not (tmp_path / "rf.h5").exists()


# -- artefact integrity: changed bytes, old versions, hostile metadata --------------------------------------
def test_store_with_a_changed_chunk_is_one_line(tmp_path, store, class_map):
    from landcover_hpc.data.store import TileStore
    from landcover_hpc.errors import InputFormatError

    path = store / f"{TILE}.h5"
    flip_payload_byte(path, "labels/test", at=0)
    flip_payload_byte(path, "stack", at=100)
    done = cli("evaluate", "--map", class_map, "--tile", TILE, "--store", store, "--out", tmp_path / "eval")
    assert done.returncode == 2, done.stderr
    assert_one_line(done.stderr, "landcover-evaluate", path, "damaged landcover_hpc tile store", "re-run landcover-prepare")
    assert not (tmp_path / "eval").exists()
    with TileStore(path) as s, pytest.raises(InputFormatError, match="damaged landcover_hpc tile store"):
        s.read_window(0, 0, 64, 64)


def test_store_with_a_changed_attribute_is_refused(store):
    from landcover_hpc.data.store import TileStore
    from landcover_hpc.errors import InputFormatError

    path = store / f"{TILE}.h5"
    with h5py.File(path, "r+") as h5:
        h5.attrs["nodata"] = 7
    with pytest.raises(InputFormatError, match="changed or damaged since it was written.*re-run landcover-prepare"):
        TileStore(path)


def test_prepare_rewrites_a_store_of_an_older_format(tmp_path, synth_root, nomenclature):
    from landcover_hpc.data import PrepareOptions, prepare_dataset
    from landcover_hpc.data.store import STORE_FORMAT_VERSION, TileStore

    prepare_dataset(synth_root, tmp_path, nomenclature, PrepareOptions(), tiles=[TILE])
    with h5py.File(tmp_path / f"{TILE}.h5", "r+") as h5:
        h5.attrs["format_version"] = STORE_FORMAT_VERSION - 1
    summary = prepare_dataset(synth_root, tmp_path, nomenclature, PrepareOptions(), tiles=[TILE])
    assert not summary["tiles"][0].get("skipped")
    TileStore(tmp_path / f"{TILE}.h5").close()


def test_changed_model_file_is_refused(tmp_path, store, capsys):
    from landcover_hpc.cli.predict import main

    model = small_model(store, tmp_path / "model.h5")
    with h5py.File(model, "r") as h5:
        first = sorted(h5["weights"])[0]
    flip_payload_byte(model, f"weights/{first}", at=3)
    assert main(["--store", str(store), "--model", str(model), "--out", str(tmp_path / "maps"), "--tiles", TILE]) == 2
    assert_one_line(capsys.readouterr().err, "landcover-predict", model, "changed or damaged", "landcover-train")
    assert not (tmp_path / "maps").exists()


def test_old_model_file_says_to_retrain(tmp_path, store):
    from landcover_hpc.errors import InputFormatError
    from landcover_hpc.models import load_model

    model = small_model(store, tmp_path / "model.h5")
    with h5py.File(model, "r+") as h5:
        h5.attrs["format_version"] = 1
        del h5.attrs["payload_sha256"]
    with pytest.raises(InputFormatError, match="format version 1, this software reads 2, 3: train one with landcover-train"):
        load_model(model)


def test_rf_model_with_damaged_compressed_data_is_one_line(tmp_path, store):
    model = small_forest(tmp_path / "rf.h5")
    flip_payload_byte(model, "threshold", at=10)
    done = cli("rf", "predict", "--model", model, "--store", store, "--out", tmp_path / "maps", "--tiles", TILE)
    assert done.returncode == 2, done.stderr
    assert_one_line(done.stderr, "landcover-rf", model, "landcover-rf train")
    assert not (tmp_path / "maps").exists()


def _reseal(path: Path, edit) -> None:
    """Edit an artefact and record its new checksum: a hostile or hand-made file that passes the seal."""
    from landcover_hpc.artefact import seal

    with h5py.File(path, "r+") as h5:
        edit(h5)
        seal(h5)


def _set_metadata(**changes):
    def edit(h5):
        h5.attrs["metadata"] = json.dumps({**json.loads(h5.attrs["metadata"]), **changes})
    return edit


def _replace(name, transform):
    def edit(h5):
        data = transform(h5[name][...])
        del h5[name]
        h5.create_dataset(name, data=data)
    return edit


def _both_children_the_same(h5):
    """Every split sends both ways to one node: a graph whose walk doubles at every level."""
    right = h5["children_right"][...]
    del h5["children_left"]
    h5.create_dataset("children_left", data=right)


@pytest.mark.parametrize("edit, expected", [
    (_set_metadata(class_codes="abc"), "metadata class_codes = 'abc' of the wrong type"),
    (_set_metadata(n_features=[3]), "metadata n_features"),
    (_set_metadata(bands=None), "metadata bands"),
    (_set_metadata(class_codes=[1, 2, 300]), "metadata class_codes"),
    (_replace("tree_depth", lambda d: d * 0 + 1_000_000), "declared tree depths differ"),
    (_replace("tree_depth", lambda d: d - 1), "declared tree depths differ"),
    (_both_children_the_same, "not a tree (a node reached twice or never)"),
    (_replace("feature", lambda f: f.astype(np.float64)), "integers expected"),
])
def test_rf_model_with_hostile_content_is_one_line(tmp_path, store, edit, expected, capsys):
    from landcover_hpc.cli.rf import main

    model = small_forest(tmp_path / "rf.h5")
    _reseal(model, edit)
    assert main(["predict", "--model", str(model), "--store", str(store), "--out", str(tmp_path / "maps"),
                 "--tiles", TILE]) == 2
    assert_one_line(capsys.readouterr().err, "landcover-rf", model, expected, "landcover-rf train")
    assert not (tmp_path / "maps").exists()


def test_rf_depth_bound_holds_for_training_too():
    from landcover_hpc.baseline import ForestParams
    from landcover_hpc.baseline.forest import MAX_TREE_DEPTH
    from landcover_hpc.errors import ConfigError

    with pytest.raises(ConfigError, match=f"max_depth = {MAX_TREE_DEPTH + 1}: must be an integer >= 1 and <= "):
        ForestParams(max_depth=MAX_TREE_DEPTH + 1)


def _train_args(store: Path, run_dir: Path, model: str) -> list[str]:
    return ["--config", str(REPO / "configs" / "mlp.yaml"), f"data.store={store}", f"output.run_dir={run_dir}",
            f"model.name={model}", "training.epochs=1", "training.batches_per_epoch=1", "training.batch_size=2",
            "training.validation_batches=1", "data.augment=false"]


def test_resume_with_another_models_checkpoint_is_one_line(tmp_path, train_store, capsys):
    from landcover_hpc.cli.train import main
    from landcover_hpc.data.store import TileStore
    from landcover_hpc.models import get_model
    from landcover_hpc.training.checkpoint import save_checkpoint

    with TileStore(train_store / f"{TILE}.h5") as s:
        other = get_model("unet", s.n_dates, s.n_bands, len(s.class_codes))
    run_dir = tmp_path / "run"
    save_checkpoint(run_dir / "checkpoint.h5", other.get_weights(), [], {"epoch": 0, "best_kappa": 0.0,
                                                                          "sampler": {}})
    before = (run_dir / "checkpoint.h5").read_bytes()
    assert main(_train_args(train_store, run_dir, "mlp") + ["--resume"]) == 2
    assert_one_line(capsys.readouterr().err, "landcover-train", run_dir / "checkpoint.h5", "mlp model of this config",
                    "another run's checkpoint")
    assert (run_dir / "checkpoint.h5").read_bytes() == before
    assert not (run_dir / "best_model.h5").exists()


def test_resume_with_another_network_of_the_same_shapes_is_one_line(tmp_path, train_store, capsys):
    """The checkpoint's spec is checked, not only its weight shapes: the same weights on uncentred inputs are
    another network."""
    from landcover_hpc.cli.train import main

    run_dir = tmp_path / "run"
    assert main(_train_args(train_store, run_dir, "mlp")) == 0
    capsys.readouterr()
    before = (run_dir / "checkpoint.h5").read_bytes()
    uncentred = ["training.epochs=2", "model.options={centre_input: false}", "--resume"]
    assert main(_train_args(train_store, run_dir, "mlp") + uncentred) == 2
    assert_one_line(capsys.readouterr().err, "landcover-train", run_dir / "checkpoint.h5", "mlp model of this config",
                    "options {'centre_input': True} there, {'centre_input': False} here", "resume with that run's config")
    assert (run_dir / "checkpoint.h5").read_bytes() == before


def test_damaged_checkpoint_is_one_line(tmp_path):
    from landcover_hpc.errors import InputFormatError
    from landcover_hpc.training.checkpoint import load_checkpoint, save_checkpoint

    path = tmp_path / "checkpoint.h5"
    save_checkpoint(path, [np.arange(100.0)], [np.zeros(4)], {"epoch": 1})
    flip_payload_byte(path, "model/0", at=17)
    with pytest.raises(InputFormatError) as caught:
        load_checkpoint(path)
    assert "\n" not in str(caught.value) and str(path) in str(caught.value)
    assert "changed or damaged" in str(caught.value) and "restart the training from scratch" in str(caught.value)


# -- bugs: exit 70, one line, the traceback only with --debug ------------------------------------------------
def test_internal_error_is_one_line_exit_70_and_debug_shows_the_traceback(tmp_path, store, class_map, monkeypatch,
                                                                           capsys):
    import landcover_hpc.evaluation as evaluation
    from landcover_hpc.cli.evaluate import main

    def broken(*args, **kwargs):
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(evaluation, "evaluate_map", broken)
    args = ["--map", str(class_map), "--tile", TILE, "--store", str(store), "--out", str(tmp_path / "e")]
    assert main(args) == 70
    line = assert_one_line(capsys.readouterr().err, "landcover-evaluate", "internal error RuntimeError: boom",
                           "rerun with --debug")
    assert "second line" not in line
    assert main(args + ["--debug"]) == 70
    err = capsys.readouterr().err
    assert "Traceback" in err and err.rstrip().splitlines()[-1].startswith("landcover-evaluate: error: internal error")
