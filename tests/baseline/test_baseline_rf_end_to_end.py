"""``landcover-rf train | predict`` on the synthetic stores: georeferenced maps in the CNN's format."""

import numpy as np
import pytest
import rasterio

from landcover_hpc.baseline import RFPredictOptions, load_forest, majority_vote, predict_stores_rf
from landcover_hpc.baseline.forest import save_forest
from landcover_hpc.baseline.predict import classify_window
from landcover_hpc.cli.rf import main
from landcover_hpc.data.store import TileStore
from landcover_hpc.maps.geotiff import CONFIDENCE_NODATA


@pytest.fixture(scope="module")
def rf_run(tmp_path_factory, store_dir):
    out = tmp_path_factory.mktemp("rf")
    model = out / "rf.h5"
    assert main(["train", "--store", str(store_dir), "--out", str(model), "--trees", "8", "--per-class", "300",
                 "--jobs", "2"]) == 0
    assert main(["predict", "--model", str(model), "--store", str(store_dir), "--out", str(out / "maps"),
                 "--window", "64"]) == 0
    return out, model


def test_train_caps_pixels_per_class_and_records_inputs(rf_run, store_dir):
    _, model_path = rf_run
    model = load_forest(model_path)
    with TileStore(store_dir / "T31UDQ.h5") as store:
        assert model.metadata["dates"] == list(store.dates) and model.metadata["bands"] == list(store.bands)
        assert model.n_features == store.n_channels
    assert sorted(model.metadata["tiles"]) == ["T30TYN", "T31UDQ"]
    counts = model.metadata["pixels_per_class"]
    assert max(counts.values()) == 300 and set(map(int, counts)) == set(model.class_codes)
    # the class mix the sample was drawn from: every labelled, valid training pixel of the two tiles
    reference = {}
    for tile in ("T31UDQ", "T30TYN"):
        with TileStore(store_dir / f"{tile}.h5") as store:
            labels = store.read_labels("train")[store.read_valid(0, 0, store.height, store.width)]
            codes = np.array([0, *store.class_codes])[labels[labels > 0]]
        for code, n in zip(*np.unique(codes, return_counts=True)):
            reference[str(code)] = reference.get(str(code), 0) + int(n)
    assert model.metadata["reference_pixels_per_class"] == reference
    assert all(counts[c] == min(300, n) for c, n in reference.items())


def test_maps_are_georeferenced_and_regularised(rf_run, store_dir, nomenclature):
    out, model_path = rf_run
    model = load_forest(model_path)
    for tile in ("T31UDQ", "T30TYN"):
        with TileStore(store_dir / f"{tile}.h5") as store:
            stack = store.read_window(0, 0, store.height, store.width)
            valid = store.read_valid(0, 0, store.height, store.width)
            crs, transform = store.crs, store.transform
        with rasterio.open(out / "maps" / f"{tile}_classes.tif") as src:
            assert src.crs == crs and src.transform == transform and src.shape == valid.shape
            classes, tags = src.read(1), src.tags()
        with rasterio.open(out / "maps" / f"{tile}_confidence.tif") as src:
            confidence = src.read(1)
        expected, expected_conf = classify_window(model, stack, valid)
        # default rule of a model trained with defaults: the trees' majority vote, confidence = vote fraction
        votes = model.votes(stack[valid])
        assert tags["rf_decision"] == "vote"
        assert np.array_equal(confidence[valid], np.rint(100 * votes.max(axis=1) / model.n_trees))
        assert np.array_equal(expected[valid], np.asarray(model.class_codes)[np.argmax(votes, axis=1)])
        # windows of 64 px regularised one by one == the whole tile regularised at once
        assert np.array_equal(classes, majority_vote(expected))
        assert np.array_equal(confidence, expected_conf)
        assert np.all(classes[~valid] == 0) and np.all(confidence[~valid] == CONFIDENCE_NODATA)
        assert set(np.unique(classes[valid])) <= set(nomenclature.codes)
        assert confidence[valid].max() <= 100 and tags["architecture"] == "random_forest" and tags["signature"]


def test_predict_can_override_the_models_decision_rule(rf_run, store_dir):
    out, model_path = rf_run
    maps = out / "maps_proba"
    assert main(["predict", "--model", str(model_path), "--store", str(store_dir), "--tiles", "T31UDQ",
                 "--out", str(maps), "--window", "64", "--radius", "0", "--decision", "proba",
                 "--no-quicklook"]) == 0
    model = load_forest(model_path)
    with TileStore(store_dir / "T31UDQ.h5") as store:
        stack = store.read_window(0, 0, store.height, store.width)
        valid = store.read_valid(0, 0, store.height, store.width)
    with rasterio.open(maps / "T31UDQ_classes.tif") as src:
        classes, tags = src.read(1), src.tags()
    with rasterio.open(maps / "T31UDQ_confidence.tif") as src:
        confidence = src.read(1)
    proba = model.predict_proba(stack[valid])
    assert tags["rf_decision"] == "proba"
    assert np.array_equal(classes[valid], np.asarray(model.class_codes)[np.argmax(proba, axis=1)])
    assert np.array_equal(confidence[valid], np.rint(100 * proba.max(axis=1)))
    # the rule is part of the map signature: switching it recomputes an up-to-date map
    again = predict_stores_rf(model_path, store_dir, maps, ["T31UDQ"],
                              RFPredictOptions(window=64, radius=0, quicklook=False, decision="vote"))
    assert not again[0]["skipped"]


def test_prior_correction_weighs_the_scores_by_the_training_objects_mix(rf_run, store_dir):
    """--prior-correction: vote fractions x (share of the training objects / share of the capped sample),
    renormalised, then the winner; the capped common classes win back the pixels the cap took from them."""
    out, model_path = rf_run
    maps = out / "maps_prior"
    assert main(["predict", "--model", str(model_path), "--store", str(store_dir), "--tiles", "T31UDQ",
                 "--out", str(maps), "--window", "64", "--radius", "0", "--prior-correction", "--no-quicklook"]) == 0
    model = load_forest(model_path)
    with TileStore(store_dir / "T31UDQ.h5") as store:
        stack = store.read_window(0, 0, store.height, store.width)
        valid = store.read_valid(0, 0, store.height, store.width)
    with rasterio.open(maps / "T31UDQ_classes.tif") as src:
        classes = src.read(1)
    with rasterio.open(maps / "T31UDQ_confidence.tif") as src:
        confidence = src.read(1)
    meta = model.metadata
    sample = np.array([meta["pixels_per_class"][str(c)] for c in model.class_codes], float)
    reference = np.array([meta["reference_pixels_per_class"][str(c)] for c in model.class_codes], float)
    scores = model.votes(stack[valid]) / model.n_trees * (reference / reference.sum()) / (sample / sample.sum())
    scores /= scores.sum(axis=1, keepdims=True)
    codes = np.asarray(model.class_codes)
    assert np.array_equal(classes[valid], codes[np.argmax(scores, axis=1)])
    assert np.array_equal(confidence[valid], np.rint(100 * scores.max(axis=1)))
    plain = codes[np.argmax(model.votes(stack[valid]), axis=1)]
    moved = classes[valid] != plain
    favoured = codes[reference / sample > 1]  # the classes the cap cut
    assert moved.any() and np.isin(classes[valid][moved], favoured).all()


def test_prior_reference_tile_weighs_by_the_mapped_tiles_training_objects(rf_run, store_dir):
    out, model_path = rf_run
    maps = out / "maps_prior_tile"
    assert main(["predict", "--model", str(model_path), "--store", str(store_dir), "--tiles", "T30TYN",
                 "--out", str(maps), "--window", "64", "--radius", "0", "--prior-correction",
                 "--prior-reference", "tile", "--no-quicklook"]) == 0
    model = load_forest(model_path)
    with TileStore(store_dir / "T30TYN.h5") as store:
        stack = store.read_window(0, 0, store.height, store.width)
        valid = store.read_valid(0, 0, store.height, store.width)
        table = store.polygons  # the tile's own training polygons' labelled pixels, by class code
        train = table[table[:, 2] == 0]
        by_code = dict(zip(store.class_codes, np.bincount(train[:, 1] - 1, weights=train[:, 3],
                                                           minlength=len(store.class_codes))))
    with rasterio.open(maps / "T30TYN_classes.tif") as src:
        classes = src.read(1)
    sample = np.array([model.metadata["pixels_per_class"][str(c)] for c in model.class_codes], float)
    tile = np.array([by_code.get(c, 0) for c in model.class_codes], float)
    votes = model.votes(stack[valid])
    scores = votes * (tile / tile.sum()) / (sample / sample.sum())
    kept = scores.sum(axis=1) == 0  # every tree voted for classes without training object on the tile: as voted
    codes = np.asarray(model.class_codes)
    assert np.array_equal(classes[valid], codes[np.argmax(np.where(kept[:, None], votes, scores), axis=1)])
    assert (tile == 0).any() and not np.isin(classes[valid][~kept], codes[tile == 0]).any()


def test_prior_correction_needs_a_model_that_stores_the_training_objects_mix(rf_run, store_dir, capsys):
    out, model_path = rf_run
    model = load_forest(model_path)
    del model.metadata["reference_pixels_per_class"]  # as a model file of an earlier version
    old = save_forest(model, out / "old_rf.h5")
    maps = out / "maps_old"
    assert main(["predict", "--model", str(old), "--store", str(store_dir), "--tiles", "T31UDQ",
                 "--out", str(maps), "--prior-correction"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{old}: stores no class mix of its training objects" in err
    assert "retrain it" in err and not list(maps.glob("*.tif"))


def test_rerun_is_skipped_unless_options_change(rf_run, store_dir):
    out, model_path = rf_run
    again = predict_stores_rf(model_path, store_dir, out / "maps", ["T31UDQ"], RFPredictOptions(window=64))
    assert again[0]["skipped"]
    changed = predict_stores_rf(model_path, store_dir, out / "maps", ["T31UDQ"],
                                RFPredictOptions(window=64, radius=0, quicklook=False))
    assert not changed[0]["skipped"]


def test_cli_user_errors_are_one_line_exit_2(rf_run, store_dir, capsys):
    out, model_path = rf_run
    assert main(["predict", "--model", str(model_path), "--store", str(store_dir), "--tiles", "T99XXX",
                 "--out", str(out / "x")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "T99XXX" in err and "not in store" in err
    assert main(["predict", "--model", str(out / "nope.h5"), "--store", str(store_dir), "--out", str(out / "x")]) == 2
    assert "nope.h5 not found" in capsys.readouterr().err
    assert main(["train", "--store", str(out / "no_store"), "--out", str(out / "m.h5")]) == 2
    assert capsys.readouterr().err.startswith("landcover-rf: error: store folder")
