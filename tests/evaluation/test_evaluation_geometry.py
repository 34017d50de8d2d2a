"""Corners from line segments (paper 4.3, Figure 20) on shapes with known corners; ``landcover-geometry``."""

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from landcover_hpc.cli.geometry import main
from landcover_hpc.evaluation import CornerParams, geometric_precision, load_geometry, map_corners
from landcover_hpc.evaluation.geometry import find_corners, match_ratio


def _rectangle():
    m = np.full((120, 140), 11, dtype=np.uint8)
    m[30:70, 40:100] = 41  # 40 rows x 60 columns
    return m


def _chamfered(classes, corners, size=9):
    """``classes`` with 45-degree cuts of ``size`` px at the given (x, y) pixel-edge corners."""
    yy, xx = np.mgrid[:classes.shape[0], :classes.shape[1]]
    cut = classes.copy()
    for x, y in corners:
        cut[(np.abs(yy - y) + np.abs(xx - x)) < size] = 11
    return cut


def write_classes(path, classes, x0=600000.0):
    """A class map GeoTIFF (uint8 codes, nodata 0) on a 10 m UTM grid starting at ``x0``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with rasterio.open(path, "w", driver="GTiff", height=classes.shape[0], width=classes.shape[1], count=1,
                       dtype="uint8", crs="EPSG:32631", transform=from_origin(x0, 5400000.0, 10, 10),
                       nodata=0) as dst:
        dst.write(classes, 1)
    return path


def _assert_corners(found, expected, tol=1.6):
    assert len(found) == len(expected), found
    for x, y in expected:
        assert np.min(np.hypot(found[:, 0] - x, found[:, 1] - y)) <= tol, (x, y, found)


def test_rectangle_has_four_corners_at_its_vertices():
    # pixel-edge corners of rows 30..69, cols 40..99 in pixel-centre coordinates
    _assert_corners(map_corners(_rectangle()), [(39.5, 29.5), (99.5, 29.5), (39.5, 69.5), (99.5, 69.5)])


def test_l_shape_has_six_corners_and_nodata_is_not_a_class():
    m = np.zeros((120, 140), dtype=np.uint8)  # background nodata: only the shape's own mask
    m[20:100, 20:60] = 12
    m[60:100, 20:110] = 12
    expected = [(19.5, 19.5), (59.5, 19.5), (59.5, 59.5), (109.5, 59.5), (109.5, 99.5), (19.5, 99.5)]
    _assert_corners(map_corners(m), expected)


def test_straight_edge_and_obtuse_bend_have_no_corner():
    half = np.full((120, 140), 11, dtype=np.uint8)
    half[:, 70:] = 41
    assert len(map_corners(half)) == 0
    yy, xx = np.mgrid[:120, :140]
    bend = np.where(yy < 60 + np.maximum(0, xx - 70) * np.tan(np.radians(20)), 11, 41).astype(np.uint8)
    assert len(map_corners(bend)) == 0  # 160 degrees between the two edges: above max_angle = 150
    assert len(map_corners(bend, CornerParams(max_angle=170))) == 1


def test_precision_drops_when_corners_are_rounded():
    rect = _rectangle()
    assert geometric_precision(rect, [rect, rect])["mean"] == 1.0
    rounded = _chamfered(rect, [(39.5, 29.5), (99.5, 29.5), (39.5, 69.5), (99.5, 69.5)])
    result = geometric_precision(rounded, [rect])
    assert result["reference_corners"] == [4] and result["mean"] == 0.0
    shifted = np.roll(rect, 2, axis=1)  # within the 3 px radius
    assert geometric_precision(shifted, [rect])["mean"] == 1.0


def test_match_ratio_denominators():
    ref = np.array([[0.0, 0.0], [10.0, 0.0], [20.0, 0.0], [30.0, 0.0]])
    found = np.array([[1.0, 1.0], [50.0, 50.0]])
    assert match_ratio(found, ref, 3.0) == 0.25
    assert match_ratio(found, ref, 3.0, denominator="map") == 0.5
    assert np.isnan(match_ratio(found, ref[:0], 3.0))
    with pytest.raises(ValueError):
        CornerParams(min_angle=160, max_angle=150)


@pytest.mark.parametrize("background", [0, 11])
def test_strip_abutting_the_middle_of_an_edge_gives_the_two_corners_of_the_t(background):
    m = np.full((120, 140), background, dtype=np.uint8)
    m[20:60, 20:120] = 41  # a field
    m[60:100, 70:75] = 21  # a 5 px strip (road) abutting the middle of its lower edge
    # with nodata around, only the field's long lower edge is there for the strip's sides to meet: the old
    # end-to-end rule found the field's 4 corners and not the T's 2
    field = [(19.5, 19.5), (119.5, 19.5), (19.5, 59.5), (119.5, 59.5)]
    _assert_corners(map_corners(m), field + [(69.5, 59.5), (74.5, 59.5)])


def test_corner_needs_an_end_close_to_the_other_segment_at_a_large_enough_angle():
    edge = [0.0, 0.0, 100.0, 0.0]
    t_junction = np.array([edge, [50.0, 1.2, 50.0, 60.0]])
    assert np.allclose(find_corners(t_junction), [[50.0, 0.6]])
    too_far = np.array([edge, [50.0, 3.5, 50.0, 60.0]])
    shallow = np.array([edge, [50.0, 1.0, 50.0 + 60.0 / np.tan(np.radians(20)), 60.0]])  # 20 degrees
    continuation = np.array([edge, [101.5, 0.0, 150.0, 0.0]])
    overlap = np.array([edge, [90.0, 0.5, 150.0, 0.5]])  # two masks' views of one border
    for segments in (too_far, shallow, continuation, overlap):
        assert len(find_corners(segments)) == 0, segments
    l_shape = np.array([[1.2, 0.0, 100.0, 0.0], [0.0, 1.2, 0.0, 60.0]])
    assert np.allclose(find_corners(l_shape), [[0.6, 0.6]])  # both ends see the other: one merged corner
    stem_at_edge_end = np.array([edge, [100.0, 1.2, 130.0, 50.0]])  # 59 degrees to the edge, 121 to its ray
    assert len(find_corners(stem_at_edge_end)) == 1
    assert len(find_corners(stem_at_edge_end, CornerParams(max_angle=110))) == 0


def _tile_maps(tmp_path):
    """Two reference RF maps (the rectangle, and it 1 px lower), an RF map equal to the first and a CNN map
    with 2 of the 4 corners cut."""
    rect = _rectangle()
    refs = [write_classes(tmp_path / f"rf_ref{i}" / "T31UDQ_classes.tif", np.roll(rect, i, axis=0)) for i in (0, 1)]
    cnn = write_classes(tmp_path / "fgunet" / "T31UDQ_classes.tif", _chamfered(rect, [(39.5, 29.5), (99.5, 29.5)]))
    return refs, cnn


def test_cli_measures_each_map_against_the_references_and_an_rf_reference_against_the_others(tmp_path, capsys):
    refs, cnn = _tile_maps(tmp_path)
    out = tmp_path / "geometry"
    assert main(["--tile", "T31UDQ", "--map", f"FG-UNET={cnn}", "--map", f"RF={refs[0]}",
                 "--reference", *map(str, refs), "--out", str(out)]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("T31UDQ FG-UNET: corner ratio 0.500 ± 0.000 over 2 reference(s)")
    assert printed[1].startswith("T31UDQ RF: corner ratio 1.000 ± 0.000 over 1 reference(s), 4 corners")
    result = load_geometry(out / "T31UDQ_geometry.json")
    assert [r["corners"] for r in result["references"]] == [4, 4]
    assert result["maps"]["FG-UNET"]["ratios"] == [0.5, 0.5] and result["maps"]["RF"]["references_used"] == 1
    assert result["params"]["contact_distance"] == 3.0 and result["denominator"] == "reference"
    assert [p.name for p in out.iterdir()] == ["T31UDQ_geometry.json"]  # no temporary file left


@pytest.mark.parametrize("case", ["missing_map", "missing_reference", "not_a_raster", "other_grid", "bad_pair",
                                  "only_itself"])
def test_cli_user_errors_exit_2_with_one_line(tmp_path, capsys, case):
    refs, cnn = _tile_maps(tmp_path)
    maps, references, named = [f"FG-UNET={cnn}"], [str(p) for p in refs], None
    if case == "missing_map":
        maps, named = [f"FG-UNET={tmp_path / 'nope_classes.tif'}"], "nope_classes.tif"
    elif case == "missing_reference":
        references, named = references + [str(tmp_path / "rf_ref9" / "T31UDQ_classes.tif")], "rf_ref9"
    elif case == "not_a_raster":
        text = tmp_path / "notes_classes.tif"
        text.write_text("not a GeoTIFF")
        maps, named = [f"FG-UNET={text}"], "notes_classes.tif: not a readable raster"
    elif case == "other_grid":
        other = write_classes(tmp_path / "other" / "T30TYN_classes.tif", _rectangle(), x0=700000.0)
        maps, named = [f"FG-UNET={other}"], "T30TYN_classes.tif"
    elif case == "bad_pair":
        maps, named = [str(cnn)], "NAME=PATH"
    elif case == "only_itself":
        maps, references, named = [f"RF={refs[0]}"], [str(refs[0])], "only reference"
    code = None
    try:
        code = main(["--tile", "T31UDQ", *(a for m in maps for a in ("--map", m)), "--reference", *references,
                     "--out", str(tmp_path / "geometry")])
    except SystemExit as exc:  # argparse's own usage errors
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2 and named in err and "Traceback" not in err
    if case != "bad_pair":
        assert err.count("\n") == 1 and err.startswith("landcover-geometry: error:")
    assert not (tmp_path / "geometry" / "T31UDQ_geometry.json").exists()
