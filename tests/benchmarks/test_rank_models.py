"""benchmarks/rank_models.py on a small benchmark folder: the ranking's order and figures (mean over tiles, then
mean +- sd over seeds; urban F-scores over the tiles that have the class; epochs and training px/s from
history.csv; parameters from the model file), the models without a run, and a real mapping speed per model."""

import json

import numpy as np
import pytest
from benchmark_scripts import load
from store_metadata import stores_metadata


@pytest.fixture(scope="module")
def rank_models():
    return load("rank_models")


def _evaluation(tile, kappa, fscores):
    """A landcover-evaluate result with the given kappa and {class name: (F-score, support)}."""
    return {"format": "landcover_hpc.evaluation", "tile": tile, "kappa": kappa,
            "classes": [{"name": name, "f_score": f, "support": support} for name, (f, support) in fscores.items()]}


def _write_run(bench, run, evaluations, history=None, model=None):
    (bench / "eval" / run).mkdir(parents=True)
    for e in evaluations:
        (bench / "eval" / run / f"{e['tile']}_eval.json").write_text(json.dumps(e))
    if history is not None:
        (bench / "runs" / run).mkdir(parents=True)
        rows = ["epoch,loss,lr,val_overall_accuracy,val_kappa,patches_per_second,seconds"]
        rows += [f"{i + 1},1.0,0.001,0.5,{kappa},{rate},3.0" for i, (kappa, rate) in enumerate(history)]
        (bench / "runs" / run / "history.csv").write_text("\n".join(rows) + "\n")
        (bench / "runs" / run / "best_model.h5").symlink_to(model)


@pytest.fixture(scope="module")
def bench_out(tmp_path_factory, store_dir, synth_root):
    """A benchmark folder: MLP on 2 seeds, U-Net on 1, the RF on 2 (real model files on the test store)."""
    from landcover_hpc.baseline import ForestParams, train_rf
    from landcover_hpc.data import open_stores
    from landcover_hpc.models import get_model, save_model

    bench = tmp_path_factory.mktemp("bench")
    (bench / "store").symlink_to(store_dir)
    (bench / "tiles").symlink_to(synth_root)
    stores = open_stores(store_dir)
    meta = stores_metadata(stores)
    models = {}
    for name in ("mlp", "unet"):
        models[name] = bench / f"{name}.h5"
        net = get_model(name, stores[0].n_dates, stores[0].n_bands, len(stores[0].class_codes))
        save_model(models[name], net, meta)
        models[f"{name}_parameters"] = net.count_params()
    for s in stores:
        s.close()
    _write_run(bench, "mlp_s0", [_evaluation("T31UDQ", 0.50, {"DUF": (0.2, 10), "CUF": (0.9, 0)}),
                                 _evaluation("T30TYN", 0.70, {"DUF": (0.4, 5), "CUF": (0.6, 3)})],
               [(0.1, 10.0), (0.3, 20.0), (0.2, 40.0)], models["mlp"])
    _write_run(bench, "mlp_s1", [_evaluation("T31UDQ", 0.60, {"DUF": (0.3, 10)}),
                                 _evaluation("T30TYN", 0.80, {"DUF": (0.5, 5)})],
               [(0.4, 30.0), (0.1, 30.0)], models["mlp"])
    _write_run(bench, "unet_s0", [_evaluation("T31UDQ", 0.90, {}), _evaluation("T30TYN", 0.80, {})],
               [(0.5, 5.0)], models["unet"])
    for seed, kappas in ((0, (0.20, 0.30)), (1, (0.40, 0.30))):
        train_rf(store_dir, bench / "runs" / f"rf_s{seed}" / "rf.h5", params=ForestParams(n_trees=3), per_class=100)
        _write_run(bench, f"rf_s{seed}", [_evaluation("T31UDQ", kappas[0], {}), _evaluation("T30TYN", kappas[1], {})])
    return bench, models


def test_ranking_orders_methods_by_mean_kappa_with_the_seeds_spread(rank_models, bench_out):
    bench, models = bench_out
    rows, missing = rank_models.rank(bench, ["mlp", "lstm", "rf", "unet"], [0, 1, 2], "T31UDQ", "T31UDQ")
    assert [r["model"] for r in rows] == ["unet", "mlp", "rf"]
    assert missing == ["lstm"]
    unet, mlp, rf = rows
    # per seed the mean over tiles (0.60, 0.70), then mean and sample sd over the seeds
    assert mlp["kappa"] == pytest.approx((0.65, np.std([0.6, 0.7], ddof=1), 2))
    assert mlp["urban_kappa"] == pytest.approx((0.55, np.std([0.5, 0.6], ddof=1), 2))
    # DUF: seed 0 (0.2 + 0.4) / 2, seed 1 (0.3 + 0.5) / 2; CUF only where it has test pixels: seed 0 alone
    assert mlp["f_score"]["DUF"] == pytest.approx((0.35, np.std([0.3, 0.4], ddof=1), 2))
    assert mlp["f_score"]["CUF"] == pytest.approx((0.6, 0.0, 1))
    assert np.isnan(mlp["f_score"]["RSF"][0]) and mlp["f_score"]["RSF"][2] == 0
    assert (mlp["best_epoch"], mlp["epochs"]) == (1.5, 2.5)  # seed 0: epoch 2 of 3; seed 1: epoch 1 of 2
    patch = json.loads((bench / "store" / "dataset.json").read_text())["options"]["patch_size"]
    assert mlp["train_px_s"] == pytest.approx((20.0 + 30.0) / 2 * patch ** 2)  # the median of each run's epochs
    assert mlp["parameters"] == models["mlp_parameters"] and unet["parameters"] == models["unet_parameters"]
    assert unet["kappa"] == pytest.approx((0.85, 0.0, 1))
    assert rf["kappa"] == pytest.approx((0.30, np.std([0.25, 0.35], ddof=1), 2))
    assert rf["parameters"] is None and rf["train_px_s"] is None
    assert all(r["map_px_s"] > 0 for r in rows)  # each model mapped the tile for real


def test_ranking_files_and_table(rank_models, bench_out, tmp_path):
    bench, _ = bench_out
    assert rank_models.main(["--bench-out", str(bench), "--models", "mlp,rf,lstm", "--seeds", "0,1",
                             "--out", str(tmp_path / "ranking")]) == 0
    table = (tmp_path / "ranking" / "ranking.md").read_text()
    lines = [line for line in table.splitlines() if line.startswith("| ")]
    assert lines[1].startswith("| 1 | MLP | Stoian et al. 2019 |") and "0.650 ± 0.071" in lines[1]
    assert lines[2].startswith("| 2 | RF |") and "| - | - |" in lines[2]
    assert "Not run: lstm." in table
    assert (tmp_path / "ranking" / "ranking.png").stat().st_size > 0
    saved = json.loads((tmp_path / "ranking" / "ranking.json").read_text())
    assert [r["model"] for r in saved["rows"]] == ["mlp", "rf"] and saved["not_run"] == ["lstm"]


def test_ranking_of_nothing_says_what_to_run(rank_models, bench_out, tmp_path):
    bench, _ = bench_out
    with pytest.raises(SystemExit, match="no evaluated run of lstm .*: run make ranking first"):
        rank_models.main(["--bench-out", str(bench), "--models", "lstm", "--out", str(tmp_path / "r")])


def test_patch_classifier_ceiling_from_the_ground_truth(rank_models, bench_out, tmp_path):
    import rasterio

    from landcover_hpc.data import open_stores
    from landcover_hpc.evaluation.metrics import confusion_matrix, scores_from_confusion

    bench, _ = bench_out
    kappas = []  # 1 px patches, one per px: the truth itself, scored on the test polygons
    for store in open_stores(bench / "store"):
        with rasterio.open(bench / "tiles" / store.path.stem / "truth.tif") as src:
            truth = src.read(1)
        index = {code: i + 1 for i, code in enumerate(store.class_codes)}
        truth = np.vectorize(lambda code: index.get(code, 0))(truth)
        kappas.append(scores_from_confusion(confusion_matrix(store.read_labels("test"), truth,
                                                             len(store.class_codes)))["kappa"])
        store.close()
    assert rank_models.patch_oracle_kappa(bench, 1, 1) == pytest.approx(np.mean(kappas))
    ceiling = rank_models.patch_oracle_kappa(bench, 32, 8)
    assert ceiling < np.mean(kappas) - 0.05  # objects smaller than the patch are lost
    (tmp_path / "store").symlink_to(bench / "store")  # real data: no truth.tif, no ceiling
    assert rank_models.patch_oracle_kappa(tmp_path, 32, 8) is None
