"""Every input error: one line on stderr naming the file and the fix, exit code 2, nothing written."""

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from landcover_hpc.cli import prepare as prepare_cli
from landcover_hpc.data.tiles import S2_BANDS

SIZE = 32
TRANSFORM = from_origin(400_000, 5_500_000, 10, 10)


def make_tile(root, descriptions=None, values=None, nodata=-10000, ref_crs="EPSG:32631", ref_code=41,
              ref_offset=0.0, n_dates=2):
    """A tiny valid input tile, with one element broken on request."""
    tile = root / "T31UDQ"
    tile.mkdir(parents=True)
    if descriptions is None:
        descriptions = [f"2018{m:02d}15_{b}" for m in range(1, n_dates + 1) for b in S2_BANDS]
    count = len(descriptions)
    if values is None:
        values = np.random.default_rng(0).integers(100, 5000, (count, SIZE, SIZE)).astype(np.int16)
    with rasterio.open(tile / "stack.tif", "w", driver="GTiff", width=SIZE, height=SIZE, count=count, dtype="int16",
                       crs="EPSG:32631", transform=TRANSFORM, nodata=nodata) as dst:
        dst.write(values)
        for i, d in enumerate(descriptions, start=1):
            dst.set_band_description(i, d)
    import fiona
    x0, y0 = 400_050 + ref_offset, 5_499_950
    square = [[(x0, y0), (x0 + 150, y0), (x0 + 150, y0 - 150), (x0, y0 - 150), (x0, y0)]]
    schema = {"geometry": "Polygon", "properties": {"code": "int"}}
    with fiona.open(tile / "reference.gpkg", "w", driver="GPKG", schema=schema, crs=ref_crs) as dst:
        dst.write({"geometry": {"type": "Polygon", "coordinates": square}, "properties": {"code": ref_code}})
    return tile


def run_prepare(root, out, capsys, extra=()):
    code = prepare_cli.main(["--input", str(root), "--out", str(out), "--patch-size", "16", "--stride", "4", *extra])
    err = capsys.readouterr().err.strip()
    return code, err


def test_valid_tiny_tile_prepares(tmp_path, capsys):
    make_tile(tmp_path / "in")
    code, err = run_prepare(tmp_path / "in", tmp_path / "out", capsys)
    assert code == 0, err
    assert (tmp_path / "out" / "T31UDQ.h5").is_file()


@pytest.mark.parametrize("breakage, expected", [
    (dict(descriptions=[f"201801{d:02d}_{b}" for d in (1, 2, 3) for b in S2_BANDS][:-1]), "29 bands is not T*C"),
    (dict(descriptions=["reflectance"] * 20), "does not parse as YYYYMMDD_<band>"),
    (dict(descriptions=[f"2018{m:02d}15_{b}" for m in (2, 1) for b in S2_BANDS]), "not in increasing order"),
    (dict(ref_crs="EPSG:4326"), "differs from the stack's EPSG:32631"),
    (dict(ref_offset=1e6), "no polygon lies inside tile T31UDQ"),
    (dict(ref_code=99), "class code 99 is not in the nomenclature"),
    (dict(values=np.full((20, SIZE, SIZE), -10000, np.int16)), "every pixel is nodata"),
    (dict(nodata=None), "no nodata value"),
])
def test_input_errors_are_one_line_exit_2_and_leave_nothing(tmp_path, capsys, breakage, expected):
    tile = make_tile(tmp_path / "in", **breakage)
    out = tmp_path / "out"
    code, err = run_prepare(tmp_path / "in", out, capsys)
    assert code == 2
    assert len(err.splitlines()) == 1 and err.startswith("landcover-prepare: error:")
    assert expected in err
    assert str(tile) in err  # names the file
    assert not out.exists() or not any(out.iterdir())  # nothing half-written


def test_missing_inputs(tmp_path, capsys):
    code, err = run_prepare(tmp_path / "nowhere", tmp_path / "out", capsys)
    assert code == 2 and "input folder" in err and "not found" in err
    (tmp_path / "empty").mkdir()
    code, err = run_prepare(tmp_path / "empty", tmp_path / "out", capsys)
    assert code == 2 and "no <TILE_ID>/stack.tif" in err
    make_tile(tmp_path / "in")
    code, err = run_prepare(tmp_path / "in", tmp_path / "out", capsys, ["--tiles", "T30TWT"])
    assert code == 2 and "T30TWT" in err
    (tmp_path / "in" / "T31UDQ" / "reference.gpkg").unlink()
    code, err = run_prepare(tmp_path / "in", tmp_path / "out", capsys)
    assert code == 2 and "no reference.gpkg or labels.tif" in err


def test_a_killed_writers_hidden_temporary_is_not_a_tile(tmp_path, capsys):
    """A landcover-synth killed while writing a tile leaves .<TILE>.<random>.tmp with a stack.tif and no reference
    yet: prepare reads the complete tiles beside it instead of failing on the temporary."""
    tile = make_tile(tmp_path / "in")
    partial = tmp_path / "in" / ".T32ULU.rlspt4za.tmp"
    partial.mkdir()
    (partial / "stack.tif").write_bytes((tile / "stack.tif").read_bytes())
    code, err = run_prepare(tmp_path / "in", tmp_path / "out", capsys)
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "out").glob("*.h5")) == ["T31UDQ.h5"]


def test_bad_option_is_a_config_error(tmp_path, capsys):
    make_tile(tmp_path / "in")
    code, err = run_prepare(tmp_path / "in", tmp_path / "out", capsys, ["--min-fraction", "1.5"])
    assert code == 2 and "min_fraction=1.5" in err


def test_store_of_another_format_version_names_it(tmp_path, capsys):
    import h5py

    from landcover_hpc.data.store import STORE_FORMAT_VERSION, TileStore
    from landcover_hpc.errors import InputFormatError

    make_tile(tmp_path / "in")
    assert run_prepare(tmp_path / "in", tmp_path / "out", capsys)[0] == 0
    path = tmp_path / "out" / "T31UDQ.h5"
    with h5py.File(path, "r+") as h5:
        h5.attrs["format_version"] = STORE_FORMAT_VERSION - 1
    with pytest.raises(InputFormatError, match=f"format version {STORE_FORMAT_VERSION - 1}, this software reads "
                                               f"{STORE_FORMAT_VERSION}: re-run landcover-prepare"):
        TileStore(path)
