"""Both map producers (CNN and Random Forest) give, pixel for pixel, the maps recorded before they were
merged into one driver (see ``reference_maps.py``), on one rank and on several."""

import numpy as np
import pytest

from reference_maps import REFERENCE, build_cnn, build_forest, build_store, cnn_maps, forest_maps

pytestmark = pytest.mark.mpi


@pytest.fixture(scope="module")
def inputs(comm, shared_tmp):
    """(store folder, CNN model, forest model), built by rank 0 in the shared folder."""
    root = shared_tmp / "reference"
    store_dir = build_store(root, comm)
    if comm.Get_rank() == 0:
        build_cnn(store_dir, root / "cnn.h5")
        build_forest(store_dir, root / "rf.h5")
    comm.Barrier()
    return root / "store", root / "cnn.h5", root / "rf.h5"


def _assert_equal_to_reference(maps: dict) -> None:
    reference = np.load(REFERENCE)
    for name, array in maps.items():
        assert array.dtype == np.uint8 and array.shape == reference[name].shape, name
        assert np.array_equal(array, reference[name]), (name, int((array != reference[name]).sum()))


def test_cnn_maps_equal_the_reference(inputs, comm, shared_tmp):
    store_dir, cnn, _ = inputs
    out = shared_tmp / f"cnn_maps_{comm.Get_size()}"
    maps = cnn_maps(store_dir, cnn, out, comm=comm)
    if comm.Get_rank() == 0:
        assert set(maps) == {"cnn_classes", "cnn_confidence"}
        _assert_equal_to_reference(maps)
    comm.Barrier()


def test_forest_maps_equal_the_reference(inputs, comm, shared_tmp):
    store_dir, _, rf = inputs
    maps = forest_maps(store_dir, rf, shared_tmp / f"rf_maps_{comm.Get_size()}_{comm.Get_rank()}")
    _assert_equal_to_reference(maps)
    comm.Barrier()


def test_forest_maps_with_windows_shared_over_ranks_equal_the_reference(inputs, comm, shared_tmp):
    from landcover_hpc.baseline import RFPredictOptions, load_forest, predict_tile_rf
    from reference_maps import RF_RADIUS, RF_WINDOW, TILE, read_map

    store_dir, _, rf = inputs
    options = RFPredictOptions(window=RF_WINDOW, radius=RF_RADIUS, n_jobs=1, quicklook=False)
    out = shared_tmp / f"rf_shared_{comm.Get_size()}"
    summary = predict_tile_rf(load_forest(rf), rf, store_dir / f"{TILE}.h5", out, options, comm=comm)
    if comm.Get_rank() == 0:
        _assert_equal_to_reference({"rf_classes": read_map(summary["classes"]),
                                    "rf_confidence": read_map(summary["confidence"])})
    comm.Barrier()
