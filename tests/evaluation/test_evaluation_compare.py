"""``landcover-compare`` and the demo report: figures and tables hold the evaluations' (and geometric
precision results') numbers."""

import numpy as np

from landcover_hpc.cli.compare import main
from landcover_hpc.evaluation import collect_geometry, evaluate_geometry, evaluate_map, write_report
from test_evaluation_evaluate import write_map
from test_evaluation_geometry import _chamfered, _rectangle, write_classes


def _evaluate(tmp_path, store_dir, method, seed, share):
    out = tmp_path / f"{method}_{seed}"
    results = {}
    for tile in ("T31UDQ", "T30TYN"):
        path = write_map(tmp_path / "maps" / f"{method}_{seed}", store_dir, tile, seed, share, method)
        results[tile] = evaluate_map(path, store_dir, tile, out, method)
    return out, results


def test_compare_with_repeats_gives_error_bars(tmp_path, store_dir, capsys):
    a1, ra1 = _evaluate(tmp_path, store_dir, "CNN", 1, 0.1)
    a2, ra2 = _evaluate(tmp_path, store_dir, "CNN", 2, 0.3)
    b, rb = _evaluate(tmp_path, store_dir, "RF", 3, 0.2)
    out = tmp_path / "cmp"
    assert main(["--eval", f"CNN={a1}", "--eval", f"CNN={a2}", "--eval", f"RF={b}", "--out", str(out),
                 "--fscore-tiles", "T31UDQ"]) == 0
    text = (out / "compare.md").read_text()
    kappas = [ra1["T31UDQ"]["kappa"], ra2["T31UDQ"]["kappa"]]
    assert f"| T31UDQ | {np.mean(kappas):.3f} ± {np.std(kappas, ddof=1):.3f} | {rb['T31UDQ']['kappa']:.3f} |" in text
    assert "CNN: 2 run(s)" in text and "## F-score per class, tile T31UDQ" in text
    assert (out / "kappa_per_tile.png").stat().st_size > 0 and (out / "fscore_T31UDQ.png").stat().st_size > 0
    assert not (out / "fscore_T30TYN.png").exists()


def test_compare_user_errors(tmp_path, capsys):
    assert main(["--eval", f"RF={tmp_path / 'missing'}", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "missing" in err


def test_report_with_two_methods_and_with_rf_only(tmp_path, store_dir, nomenclature):
    a, ra = _evaluate(tmp_path, store_dir, "FG-UNET", 1, 0.05)
    b, rb = _evaluate(tmp_path, store_dir, "RF", 2, 0.3)
    evaluations = {"FG-UNET": {t: a / f"{t}_eval.json" for t in ra}, "RF": {t: b / f"{t}_eval.json" for t in rb}}
    maps = {m: {t: r[t]["map"] for t in r} for m, r in (("FG-UNET", ra), ("RF", rb))}
    report = write_report(tmp_path / "report", evaluations, maps, nomenclature)
    text = report.read_text()
    assert f"{ra['T30TYN']['kappa']:.3f}" in text and f"{rb['T30TYN']['kappa']:.3f}" in text
    assert "FG-UNET has a higher kappa than RF on 2 of 2 tiles" in text
    assert "![T31UDQ RF](quicklook_RF_T31UDQ.png)" in text
    for png in ("kappa_per_tile.png", "fscore_T31UDQ.png", "quicklook_FG-UNET_T30TYN.png"):
        assert (tmp_path / "report" / png).stat().st_size > 0
    only_rf = write_report(tmp_path / "rf_only", {"RF": evaluations["RF"]}, {"RF": maps["RF"]}, nomenclature)
    assert "| T31UDQ | " + f"{rb['T31UDQ']['kappa']:.3f} |" in only_rf.read_text()


def _geometry(tmp_path):
    """landcover-geometry results of FG-UNET and RF on two tiles, 2 reference maps each -> their folder."""
    rect = _rectangle()
    a, b, c, d = (39.5, 29.5), (99.5, 29.5), (39.5, 69.5), (99.5, 69.5)
    out = tmp_path / "geometry"
    for tile, cut in (("T31UDQ", [a, b]), ("T30TYN", [a, b, c, d])):
        refs = [write_classes(tmp_path / "rf_ref0" / f"{tile}_classes.tif", rect),
                write_classes(tmp_path / "rf_ref1" / f"{tile}_classes.tif", _chamfered(rect, [c]))]
        cnn = write_classes(tmp_path / "fgunet" / f"{tile}_classes.tif", _chamfered(rect, cut))
        evaluate_geometry(tile, {"FG-UNET": cnn, "RF": refs[0]}, refs, out)
    return out


def test_compare_and_report_with_geometric_precision(tmp_path, store_dir, nomenclature):
    geometry_dir = _geometry(tmp_path)
    # Reference 0 has the 4 corners A-D, reference 1 five: A, B, D and the 2 of the chamfer at C. T31UDQ: FG-UNET
    # keeps 2 of 4 and 1 (D) of 5: 0.35 ± 0.21; T30TYN: 0 of 4 and the chamfer's 2 of 5: 0.2 ± 0.28; RF
    # (reference 0, measured against reference 1 only) keeps 3 of 5
    a, ra = _evaluate(tmp_path, store_dir, "FG-UNET", 1, 0.05)
    b, rb = _evaluate(tmp_path, store_dir, "RF", 2, 0.3)
    out = tmp_path / "cmp"
    assert main(["--eval", f"FG-UNET={a}", "--eval", f"RF={b}", "--out", str(out), "--fscore-tiles", "T31UDQ",
                 "--geometry", str(geometry_dir)]) == 0
    text = (out / "compare.md").read_text()
    assert "## Geometric precision" in text and "![geometric precision per tile](geometry_per_tile.png)" in text
    assert "| T31UDQ | 0.350 ± 0.212 | 0.600 | 2 |" in text
    assert "| T30TYN | 0.200 ± 0.283 | 0.600 | 2 |" in text and "| mean over tiles | 0.275 | 0.600 | |" in text
    assert "FG-UNET keeps 0.46 times the share of reference corners that RF keeps (0.275 vs 0.600)" in text
    assert (out / "geometry_per_tile.png").stat().st_size > 0
    evaluations = {"FG-UNET": {t: a / f"{t}_eval.json" for t in ra}, "RF": {t: b / f"{t}_eval.json" for t in rb}}
    report = write_report(tmp_path / "report", evaluations, {}, nomenclature, geometry=collect_geometry([geometry_dir]))
    assert "| T31UDQ | 0.350 ± 0.212 | 0.600 | 2 |" in report.read_text()
    assert (tmp_path / "report" / "geometry_per_tile.png").stat().st_size > 0


def test_compare_geometry_user_errors(tmp_path, store_dir, capsys):
    a, _ = _evaluate(tmp_path, store_dir, "RF", 1, 0.1)
    empty = tmp_path / "empty"
    empty.mkdir()
    for folder in (tmp_path / "no_such_geometry", empty):
        assert main(["--eval", f"RF={a}", "--out", str(tmp_path / "o"), "--geometry", str(folder)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and str(folder) in err and "landcover-geometry" in err
