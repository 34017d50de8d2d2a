"""The Random Forest as a leave-one-tile-out method (``landcover-rf loto``)."""

from landcover_hpc.baseline import ForestParams, RFPredictOptions, load_forest, rf_train_and_predict
from landcover_hpc.evaluation import leave_one_tile_out


def test_rf_trains_without_the_held_out_tile(tmp_path, store_dir):
    run = rf_train_and_predict(store_dir, ForestParams(n_trees=4, n_jobs=2), per_class=200,
                               predict_options=RFPredictOptions(quicklook=False))
    results = leave_one_tile_out(store_dir, tmp_path, run, tiles=["T31UDQ", "T30TYN"])
    assert load_forest(tmp_path / "without_T31UDQ" / "rf.h5").metadata["tiles"] == ["T30TYN"]
    assert set(results) == {"T31UDQ", "T30TYN"} and all(-1 <= r["kappa"] < 1 for r in results.values())
