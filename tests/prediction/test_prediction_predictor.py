import json
import subprocess

import numpy as np
import rasterio

from landcover_hpc.cli import predict as predict_cli
from landcover_hpc.data import TileStore
from landcover_hpc.models import load_model, save_model
from landcover_hpc.prediction import PredictOptions, plan_windows, predict_tile
from landcover_hpc.prediction.predictor import read_padded
from landcover_hpc.prediction.windows import padded_length
from landcover_hpc.sampling.transforms import normalise

TILE = "T31UDQ"


def _whole_image_pass(store_dir, model_path, weights=1.0):
    """Reference: the model on the whole tile at once (edge-padded to a multiple of 4), its probabilities
    times ``weights`` (K,) before the argmax."""
    model, meta = load_model(model_path)
    with TileStore(store_dir / f"{TILE}.h5") as store:
        raw = store.read_window(0, 0, store.height, store.width)
        valid = store.read_valid(0, 0, store.height, store.width)
        h, w = padded_length(store.height), padded_length(store.width)
    raw = np.pad(raw, ((0, h - raw.shape[0]), (0, w - raw.shape[1]), (0, 0)), mode="edge")
    probs = model.predict_on_batch(normalise(raw, meta.percentiles)[None])[0][:valid.shape[0], :valid.shape[1]]
    codes = np.array([0] + list(meta.class_codes), np.uint8)[np.argmax(probs * weights, -1) + 1]
    return np.where(valid, codes, 0)


def _read(path):
    with rasterio.open(path) as src:
        return src.read(1)


def test_windows_read_into_one_reused_buffer_are_edge_padded_like_np_pad(tmp_path, nomenclature):
    """A 66 px tile (padded to 68): every window read into the same dirty buffer equals np.pad of the slice."""
    from landcover_hpc.data import PrepareOptions, prepare_dataset
    from landcover_hpc.synth import SynthOptions, synthesize_tile

    synthesize_tile(tmp_path / "in", TILE, nomenclature, SynthOptions(size=66, seed=1))
    prepare_dataset(tmp_path / "in", tmp_path / "store", nomenclature, PrepareOptions(patch_size=16, stride=8))
    with TileStore(tmp_path / "store" / f"{TILE}.h5") as store:
        whole = store.read_window(0, 0, 66, 66)
        whole_valid = store.read_valid(0, 0, 66, 66)
        buffer = np.full(32 * 32 * store.n_channels, 12345, np.int16)
        windows = plan_windows(66, 66, 32, 8)
        assert {(w.height, w.width) for w in windows} == {(32, 32), (32, 20), (20, 32), (20, 20)}
        for w in windows:
            stack, valid = read_padded(store, w, buffer)
            h, wd = min(w.height, 66 - w.row), min(w.width, 66 - w.col)
            pad = ((0, w.height - h), (0, w.width - wd))
            expected = np.pad(whole[w.row:w.row + h, w.col:w.col + wd], pad + ((0, 0),), mode="edge")
            np.testing.assert_array_equal(stack, expected)
            np.testing.assert_array_equal(valid, np.pad(whole_valid[w.row:w.row + h, w.col:w.col + wd], pad))
            assert np.shares_memory(stack, buffer)


def test_windowed_map_equals_whole_image_pass(tmp_path, store_dir, trained_model):
    reference = _whole_image_pass(store_dir, trained_model)
    for size, overlap in ((64, 16), (96, 16), (512, 16)):
        out = tmp_path / f"w{size}"
        summary = predict_tile(store_dir / f"{TILE}.h5", trained_model, out, PredictOptions(window=size, overlap=overlap))
        classes = _read(summary["classes"])
        agreement = (classes == reference).mean()
        assert agreement >= 0.999, (size, overlap, agreement)


def test_map_is_georeferenced_with_legend_nodata_and_tags(tmp_path, store_dir, synth_root, trained_model):
    summary = predict_tile(store_dir / "T30TYN.h5", trained_model, tmp_path, PredictOptions(window=64, overlap=8))
    with rasterio.open(synth_root / "T30TYN" / "stack.tif") as stack, rasterio.open(summary["classes"]) as cls, \
            rasterio.open(summary["confidence"]) as conf:
        assert cls.crs == stack.crs and cls.transform == stack.transform and cls.shape == stack.shape
        nodata = stack.read(1) == stack.nodata
        classes, confidence = cls.read(1), conf.read(1)
        assert np.all(classes[nodata] == 0) and np.all(classes[~nodata] > 0)  # nodata propagates
        assert np.all(confidence[nodata] == 255) and confidence[~nodata].max() <= 100
        assert cls.colormap(1)[11][:3] == (255, 85, 0)
        tags = cls.tags()
        assert tags["model"] == trained_model.name and len(tags["model_sha256"]) == 64
        assert tags["input_dates"].startswith("20180105,") and "landcover_hpc" in tags["software"]
    assert (tmp_path / "T30TYN_quicklook.png").is_file()
    info = subprocess.run(["gdalinfo", summary["classes"]], capture_output=True, text=True, check=True).stdout
    assert "LAYOUT=COG" in info


def test_runs_are_identical_and_finished_maps_are_not_recomputed(tmp_path, store_dir, trained_model):
    opts = PredictOptions(window=64, overlap=8)
    first = predict_tile(store_dir / f"{TILE}.h5", trained_model, tmp_path / "a", opts)
    second = predict_tile(store_dir / f"{TILE}.h5", trained_model, tmp_path / "b", opts)
    assert np.array_equal(_read(first["classes"]), _read(second["classes"]))
    again = predict_tile(store_dir / f"{TILE}.h5", trained_model, tmp_path / "a", opts)
    assert again["skipped"]
    forced = predict_tile(store_dir / f"{TILE}.h5", trained_model, tmp_path / "a",
                          PredictOptions(window=64, overlap=8, force=True))
    assert not forced["skipped"] and forced["windows"] == first["windows"]


def test_killed_prediction_resumes_from_completed_windows(tmp_path, store_dir, trained_model):
    """Kill a CLI run after its first resume point (SIGKILL from a progress hook), then resume."""
    opts = ["--store", str(store_dir), "--model", str(trained_model), "--tile", TILE, "--out", str(tmp_path),
            "--window", "48", "--overlap", "8"]
    script = (
        "import os, signal, sys\n"
        "import landcover_hpc.maps.geotiff as g\n"
        "original = g.MapWriter.checkpoint\n"
        "def checkpoint(self):\n"
        "    original(self)\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
        "g.MapWriter.checkpoint = checkpoint\n"
        "from landcover_hpc.cli.predict import main\n"
        f"sys.exit(main({opts!r} + ['--checkpoint-every', '3']))\n"
    )
    killed = subprocess.run([__import__("sys").executable, "-c", script], capture_output=True, text=True)
    assert killed.returncode == -9
    state = json.loads((tmp_path / ".partial" / f"{TILE}.json").read_text())
    assert len(state["done"]) == 3 and not (tmp_path / f"{TILE}_classes.tif").exists()
    assert predict_cli.main(opts) == 0
    resumed = _read(tmp_path / f"{TILE}_classes.tif")
    fresh = predict_tile(store_dir / f"{TILE}.h5", trained_model, tmp_path / "fresh", PredictOptions(window=48, overlap=8))
    assert np.array_equal(resumed, _read(fresh["classes"]))
    assert fresh["windows"] > 3


def test_cli_errors(tmp_path, store_dir, trained_model, capsys):
    assert predict_cli.main(["--store", str(store_dir), "--model", str(tmp_path / "nope.h5"), "--tile", TILE]) == 2
    assert "nope.h5 not found" in capsys.readouterr().err
    assert predict_cli.main(["--store", str(store_dir), "--model", str(trained_model), "--tile", "T30TWT"]) == 2
    assert "T30TWT.h5 not found" in capsys.readouterr().err
    assert predict_cli.main(["--store", str(store_dir), "--model", str(trained_model), "--tile", TILE,
                             "--window", "50"]) == 2
    assert "window size 50" in capsys.readouterr().err


def test_several_ranks_give_the_single_rank_map(tmp_path, store_dir, trained_model):
    import sys

    from landcover_hpc.parallel import launch_environment

    env = launch_environment()
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    cmd = ["mpirun", "--oversubscribe", "--allow-run-as-root", "--bind-to", "none", "-n", "3", sys.executable, "-m",
           "landcover_hpc.cli.predict", "--store", str(store_dir), "--model", str(trained_model), "--tile", TILE,
           "--out", str(tmp_path / "mpi"), "--window", "48", "--overlap", "8", "--threads", "1"]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.count(f"{TILE}:") == 1  # rank 0 alone reports
    single = predict_tile(store_dir / f"{TILE}.h5", trained_model, tmp_path / "one", PredictOptions(window=48, overlap=8))
    assert np.array_equal(_read(tmp_path / "mpi" / f"{TILE}_classes.tif"), _read(single["classes"]))
    assert np.array_equal(_read(tmp_path / "mpi" / f"{TILE}_confidence.tif"), _read(single["confidence"]))


def test_model_and_store_from_a_training_config(tmp_path, store_dir, trained_model, capsys):
    import shutil

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    shutil.copy(trained_model, run_dir / "best_model.h5")
    config = tmp_path / "train.yaml"
    config.write_text(f"data:\n  store: {store_dir}\noutput:\n  run_dir: {run_dir}\n")
    assert predict_cli.main(["--tile", TILE, "--training-config", str(config), "--out", str(tmp_path / "maps"),
                             "--window", "96"]) == 0
    assert (tmp_path / "maps" / f"{TILE}_classes.tif").is_file()
    assert predict_cli.main(["--tile", TILE, "--out", str(tmp_path / "m2")]) == 2
    assert "give --store and --model, or --training-config" in capsys.readouterr().err


def test_prior_correction_maps_the_most_probable_class_at_the_references_mix(tmp_path, store_dir, trained_model):
    """Weights of a model file's class priors (sampling/prior.py) applied before the argmax: a class the
    reference holds 20x more often than the training patches takes the pixels where it is a close second."""
    import dataclasses

    model, meta = load_model(trained_model)
    k = len(meta.class_codes)
    train_mix, reference = np.full(k, 1 / k), np.full(k, 1 / k)
    favoured = 1  # class index 2 (its code is meta.class_codes[1])
    reference[favoured] *= 20
    corrected_model = tmp_path / "with_priors.h5"
    save_model(corrected_model, model, dataclasses.replace(meta, extra={
        "class_priors": {"training_patches": train_mix.tolist(), "reference": (reference / reference.sum()).tolist()}}))
    opts = PredictOptions(window=64, overlap=8)
    plain = _read(predict_tile(store_dir / f"{TILE}.h5", corrected_model, tmp_path, opts)["classes"])
    summary = predict_tile(store_dir / f"{TILE}.h5", corrected_model, tmp_path,
                           dataclasses.replace(opts, prior_correction=True))
    assert not summary["skipped"]  # another map than the uncorrected one in the same folder
    corrected = _read(summary["classes"])
    expected = _whole_image_pass(store_dir, corrected_model, weights=reference / train_mix)
    assert (corrected == expected).mean() >= 0.999
    code = meta.class_codes[favoured]
    assert (corrected == code).sum() > (plain == code).sum()
    assert np.all((corrected == code) | (corrected == plain))  # pixels only move to the favoured class


def test_prior_reference_tile_maps_at_the_mapped_tiles_own_class_mix(tmp_path, store_dir, trained_model):
    """prior_reference tile: the reference mix is the labelled pixels of the tile's own training objects, read
    from its store (a class without training object there is never mapped), not the one the model stores."""
    import dataclasses

    model, meta = load_model(trained_model)
    k = len(meta.class_codes)
    train_mix = np.full(k, 1 / k)
    stored = np.zeros(k)
    stored[0] = 1.0  # a global mix that would map everything as the first class
    with_priors = tmp_path / "with_priors.h5"
    save_model(with_priors, model, dataclasses.replace(meta, extra={
        "class_priors": {"training_patches": train_mix.tolist(), "reference": stored.tolist()}}))
    with TileStore(store_dir / f"{TILE}.h5") as store:  # oracle: the tile's training polygons' labelled pixels
        table = store.polygons
        train = table[table[:, 2] == 0]
        pixels = np.bincount(train[:, 1] - 1, weights=train[:, 3], minlength=k)
        tile_mix = pixels / pixels.sum()
    assert (tile_mix > 0).sum() > 1 and not np.allclose(tile_mix, train_mix)
    summary = predict_tile(store_dir / f"{TILE}.h5", with_priors, tmp_path, PredictOptions(
        window=64, overlap=8, prior_correction=True, prior_reference="tile"))
    corrected = _read(summary["classes"])
    expected = _whole_image_pass(store_dir, with_priors, weights=tile_mix / train_mix)
    assert (corrected == expected).mean() >= 0.999
    absent = [code for code, share in zip(meta.class_codes, tile_mix) if share == 0]
    assert not np.isin(corrected, absent).any()
    assert len(np.unique(corrected[corrected > 0])) > 1


def test_prior_correction_needs_a_model_that_stores_the_priors(store_dir, trained_model, capsys):
    assert predict_cli.main(["--store", str(store_dir), "--model", str(trained_model), "--tile", TILE,
                             "--prior-correction"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert f"{trained_model}: stores no class priors" in err and "retrain it" in err
