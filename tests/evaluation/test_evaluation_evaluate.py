"""``landcover-evaluate``: a map against its tile's test polygons, files and CLI errors."""

import json

import numpy as np
import pytest
import rasterio
from sklearn.metrics import cohen_kappa_score, f1_score

from landcover_hpc.cli.evaluate import main
from landcover_hpc.data.store import TileStore
from landcover_hpc.maps import MapWriter


def write_map(out_dir, store_dir, tile, perturb_seed=0, share=0.2, method="TEST"):
    """A map of the tile: the truth (test labels where labelled), a share of pixels replaced at random."""
    with TileStore(store_dir / f"{tile}.h5") as store:
        nom = store.nomenclature
        idx = np.maximum.reduce([store.read_labels(s) for s in ("train", "val", "test")])
        rng = np.random.default_rng(perturb_seed)
        idx = np.where(idx == 0, rng.integers(1, len(nom) + 1, idx.shape), idx)
        noise = rng.random(idx.shape) < share
        idx = np.where(noise, rng.integers(1, len(nom) + 1, idx.shape), idx).astype(np.uint8)
        codes = nom.index_to_code_lut()[idx]
        codes[:3, :] = 0  # nodata rows
        writer = MapWriter(out_dir, tile, store.crs, store.transform, store.height, store.width, nom,
                           {"signature": f"s{perturb_seed}", "method": method})
        writer.write(0, 0, 0, codes, np.full(codes.shape, 90, np.uint8))
        path = writer.finalize()["classes"]
        writer.close()
    return path


def test_numbers_agree_with_sklearn_on_test_pixels(tmp_path, store_dir, capsys):
    path = write_map(tmp_path / "maps", store_dir, "T31UDQ")
    assert main(["--map", str(path), "--tile", "T31UDQ", "--store", str(store_dir), "--out", str(tmp_path / "ev")]) == 0
    assert "kappa" in capsys.readouterr().out
    result = json.loads((tmp_path / "ev" / "T31UDQ_eval.json").read_text())
    with TileStore(store_dir / "T31UDQ.h5") as store:
        ref = store.read_labels("test")
        lut = store.nomenclature.code_to_index_lut()
    with rasterio.open(path) as src:
        pred = lut[src.read(1)]
    keep = (ref > 0) & (pred > 0)
    assert result["n_pixels"] == keep.sum() and result["unclassified_pixels"] == ((ref > 0) & (pred == 0)).sum() > 0
    assert np.isclose(result["kappa"], cohen_kappa_score(ref[keep], pred[keep]), atol=1e-12)
    assert 0.5 < result["kappa"] < 0.95  # the 20 % noise shows
    present = sorted(set(ref[keep]) | set(pred[keep]))
    f = f1_score(ref[keep], pred[keep], labels=present, average=None, zero_division=0)
    by_index = {i + 1: c for i, c in enumerate(result["classes"])}
    assert np.allclose([by_index[k]["f_score"] for k in present], f, atol=1e-12)
    assert result["method"] == "TEST" and np.array(result["confusion"]["matrix"]).sum() == keep.sum()
    for name in ("T31UDQ_eval_classes.csv", "T31UDQ_confusion.csv", "T31UDQ_confusion.png"):
        assert (tmp_path / "ev" / name).stat().st_size > 0
    rows = (tmp_path / "ev" / "T31UDQ_eval_classes.csv").read_text().splitlines()
    assert rows[0].startswith("code,name,precision") and len(rows) == 1 + len(result["classes"])


@pytest.mark.parametrize("split", ["val", "train"])
def test_split_scores_its_own_polygons_and_never_the_test_ones(tmp_path, store_dir, capsys, split):
    path = write_map(tmp_path / "maps", store_dir, "T31UDQ")
    assert main(["--map", str(path), "--tile", "T31UDQ", "--store", str(store_dir), "--out", str(tmp_path / "ev"),
                 "--split", split]) == 0
    assert f" {split} pixels, " in capsys.readouterr().out
    result = json.loads((tmp_path / "ev" / "T31UDQ_eval.json").read_text())
    with TileStore(store_dir / "T31UDQ.h5") as store:
        scored, test = store.read_labels(split), store.read_labels("test")
        lut = store.nomenclature.code_to_index_lut()
    with rasterio.open(path) as src:
        pred = lut[src.read(1)]
    keep = (scored > 0) & (pred > 0)
    assert result["split"] == split and result["n_pixels"] == keep.sum() > 0 and not (keep & (test > 0)).any()
    assert np.isclose(result["kappa"], cohen_kappa_score(scored[keep], pred[keep]), atol=1e-12)
    assert main(["--map", str(path), "--tile", "T31UDQ", "--store", str(store_dir), "--split", "all"]) == 2
    assert "split" in capsys.readouterr().err


def test_a_map_folder_is_evaluated_tile_by_tile(tmp_path, store_dir, capsys):
    for i, tile in enumerate(("T31UDQ", "T30TYN")):
        write_map(tmp_path / "maps", store_dir, tile, perturb_seed=i)
    assert main(["--maps", str(tmp_path / "maps"), "--store", str(store_dir), "--out", str(tmp_path / "ev")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in out] == ["T30TYN", "T31UDQ"]
    for tile in ("T31UDQ", "T30TYN"):
        assert json.loads((tmp_path / "ev" / f"{tile}_eval.json").read_text())["tile"] == tile


@pytest.mark.parametrize("case", ["missing_map", "tile_not_in_store", "map_of_other_tile", "map_without_tile",
                                  "empty_folder"])
def test_user_errors_exit_2_with_one_line(tmp_path, store_dir, capsys, case):
    path = write_map(tmp_path, store_dir, "T30TYN")
    args = {"missing_map": ["--map", str(tmp_path / "none.tif"), "--tile", "T31UDQ"],
            "tile_not_in_store": ["--map", str(path), "--tile", "T99ZZZ"],
            "map_of_other_tile": ["--map", str(path), "--tile", "T31UDQ"],
            "map_without_tile": ["--map", str(path)],
            "empty_folder": ["--maps", str(store_dir)]}[case]
    assert main([*args, "--store", str(store_dir)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("landcover-evaluate: error:") and err.count("\n") == 1
    assert {"missing_map": "none.tif not found", "tile_not_in_store": "T99ZZZ",
            "map_of_other_tile": "not on the grid", "map_without_tile": "also give --tile",
            "empty_folder": "no <TILE>_classes.tif in"}[case] in err
