"""The whole chain on real Sentinel-2 L2A data: WorldCereal patch -> gap-fill -> prepare -> Random Forest.

Per patch (64 x 64 px, Flanders): convert, gap-fill onto 33 dates of the labels' year, prepare a store
with the LC labels as reference, train a Random Forest (the paper's operational baseline settings: 100
trees, depth 20, at least 10 samples to split a node) on the labelled pixels of the left half and
measure Cohen's kappa on the right half, pixel-wise, with the T*C int16 values as features.
"""

from pathlib import Path

import numpy as np
import pytest

WORLDCEREAL = Path("/work/shared/data/worldcereal")
PATCHES = ("00002806639B424A", "0000280849BAC91C")
NOMENCLATURE = Path(__file__).parents[2] / "configs" / "worldcereal_nomenclature.yaml"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not WORLDCEREAL.is_dir(), reason=f"real data folder {WORLDCEREAL} not present"),
]


@pytest.mark.parametrize("patch", PATCHES)
def test_gapfill_worldcereal_chain_gives_a_useful_random_forest(patch, tmp_path):
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.metrics import cohen_kappa_score

    from landcover_hpc.cli.gapfill import main as gapfill_main
    from landcover_hpc.cli.worldcereal import main as worldcereal_main
    from landcover_hpc.data.prepare import PrepareOptions, prepare_tile
    from landcover_hpc.data.store import TileStore
    from landcover_hpc.data.tiles import open_stack
    from landcover_hpc.nomenclature import load_nomenclature

    acq_dir, tile_dir = tmp_path / "acq" / patch, tmp_path / "tiles" / patch
    assert worldcereal_main(["--input", str(WORLDCEREAL / patch), "--out", str(acq_dir),
                             "--labels", str(tile_dir / "labels.tif"), "--quiet"]) == 0
    assert gapfill_main(["--input", str(acq_dir), "--out", str(tile_dir), "--processes", "2", "--quiet"]) == 0
    stack = open_stack(tile_dir)
    assert (stack.height, stack.width, stack.n_dates, stack.n_bands) == (64, 64, 33, 10)

    nomenclature = load_nomenclature(NOMENCLATURE)
    store_path = tmp_path / "store" / f"{patch}.h5"
    prepare_tile(tile_dir, store_path, nomenclature, PrepareOptions(patch_size=16, stride=4, window=64, chunk=16),
                 show_progress=False)
    with TileStore(store_path) as store:
        features = store.read_window(0, 0, 64, 64).astype(np.float32)  # (64, 64, T*C)
        labels = sum(store.read_labels(s) for s in ("train", "val", "test"))  # class index, 0 unlabelled
        valid = store.read_valid(0, 0, 64, 64)
    assert valid.all(), "every pixel of these patches is clear at least once"
    labelled = (labels > 0) & valid
    left = np.zeros_like(labelled)
    left[:, :32] = True
    train, test = labelled & left, labelled & ~left
    forest = RandomForestClassifier(n_estimators=100, max_depth=20, min_samples_split=10, n_jobs=2, random_state=0)
    forest.fit(features[train], labels[train])
    predicted = forest.predict(features[test])
    kappa = cohen_kappa_score(labels[test], predicted)
    accuracy = float(np.mean(predicted == labels[test]))
    print(f"\n{patch}: Random Forest on the gap-filled stack, train left half ({train.sum()} px), "
          f"test right half ({test.sum()} px): overall accuracy {accuracy:.3f}, Cohen's kappa {kappa:.3f}")
    assert kappa > 0.3
