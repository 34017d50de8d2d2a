"""The gap-fill driver on synthetic acquisitions: output format, block independence, bad input."""

import shutil

import numpy as np
import pytest
import rasterio

from landcover_hpc.cli.gapfill import main as gapfill_main
from landcover_hpc.data.tiles import S2_BANDS, open_stack
from landcover_hpc.errors import ConfigError, InputFormatError, InputNotFoundError
from landcover_hpc.gapfill import GapfillOptions, gapfill_tile
from landcover_hpc.gapfill.synthetic import write_synthetic_acquisitions

HEIGHT, WIDTH = 50, 75  # not multiples of the block; odd width: the 20 m grid has ceil(75 / 2) columns


@pytest.fixture(scope="module")
def acq_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("acq") / "T00TEST"
    write_synthetic_acquisitions(path, HEIGHT, WIDTH, 24, seed=5, block=16)
    return path


@pytest.fixture(scope="module")
def one_block(acq_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("one") / "T00TEST"
    summary = gapfill_tile(acq_dir, out, GapfillOptions(block=80, processes=1), show_progress=False)
    return out, summary


def _read(path):
    with rasterio.open(path) as src:
        return src.read()


def test_gapfill_output_is_the_tile_input_format(one_block):
    out, summary = one_block
    stack = open_stack(out)  # the data layer's own validation
    assert (stack.height, stack.width) == (HEIGHT, WIDTH)
    assert stack.bands == S2_BANDS and stack.n_dates == 33 and stack.dates[0] == "20180101"
    assert stack.nodata == -10000 and stack.crs.to_epsg() == 32631
    with rasterio.open(out / "stack.tif") as src, rasterio.open(out / "validity.tif") as val:
        assert src.profile["tiled"] and src.compression.name.lower() == "deflate"
        assert src.descriptions[:11] == tuple(f"20180101_{b}" for b in S2_BANDS) + ("20180112_B2",)
        assert val.dtypes[0] == "uint16" and val.transform == src.transform
        counts = val.read(1)
    assert counts.min() >= 1 and counts.max() <= summary["acquisitions"]
    assert not list(out.glob("*.tmp"))


def test_gapfill_blocks_and_processes_give_exactly_the_one_block_result(acq_dir, one_block, tmp_path):
    out_one, _ = one_block
    out_blocks = tmp_path / "T00TEST"
    gapfill_tile(acq_dir, out_blocks, GapfillOptions(block=16, processes=2), show_progress=False)
    np.testing.assert_array_equal(_read(out_blocks / "stack.tif"), _read(out_one / "stack.tif"))
    np.testing.assert_array_equal(_read(out_blocks / "validity.tif"), _read(out_one / "validity.tif"))


def test_gapfill_values_follow_the_clear_acquisitions(acq_dir, one_block):
    """A pixel's filled B2 equals np.interp over its clear dates (B2 is 10 m: no resampling involved)."""
    from landcover_hpc.gapfill import scl_clear, to_days

    out, summary = one_block
    stack = _read(out / "stack.tif")
    dates = sorted(p.name for p in acq_dir.iterdir())
    row, col = 17, 40
    b2 = np.array([_read(acq_dir / d / "B2.tif")[0, row, col] for d in dates], dtype=float)
    clear = np.array([scl_clear(_read(acq_dir / d / "SCL.tif")[0, row // 2, col // 2]) for d in dates])
    assert 0 < clear.sum() < len(dates)
    expected = np.rint(np.interp(to_days(summary["dates"]), to_days(dates)[clear], b2[clear]))
    np.testing.assert_array_equal(stack[0::len(S2_BANDS), row, col], expected)
    assert _read(out / "validity.tif")[0, row, col] == clear.sum()


def test_gapfill_never_clear_pixels_are_nodata(tmp_path, acq_dir):
    acq = tmp_path / "acq"
    shutil.copytree(acq_dir, acq)
    for scl_path in acq.glob("*/SCL.tif"):
        with rasterio.open(scl_path, "r+") as dst:
            scl = dst.read(1)
            scl[:5, :8] = 9  # 20 m rows 0-4, cols 0-7: 10 m rows 0-9, cols 0-15 always cloudy
            dst.write(scl, 1)
    gapfill_tile(acq, tmp_path / "out", GapfillOptions(block=16, processes=1), show_progress=False)
    stack, counts = _read(tmp_path / "out" / "stack.tif"), _read(tmp_path / "out" / "validity.tif")[0]
    assert np.all(stack[:, :10, :16] == -10000) and np.all(counts[:10, :16] == 0)
    assert np.all(stack[:, 10:, :] != -10000) and np.all(counts[10:, :] > 0)


def test_gapfill_missing_band_file_is_input_not_found_and_cli_exit_2(tmp_path, acq_dir, capsys):
    acq = tmp_path / "acq"
    shutil.copytree(acq_dir, acq)
    victim = sorted(acq.iterdir())[3] / "B8A.tif"
    victim.unlink()
    with pytest.raises(InputNotFoundError, match="B8A.tif"):
        gapfill_tile(acq, tmp_path / "out", GapfillOptions(processes=1), show_progress=False)
    assert gapfill_main(["--input", str(acq), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "B8A.tif" in err[0] and "Traceback" not in err[0]
    assert not (tmp_path / "out" / "stack.tif").exists()


def test_gapfill_unparsable_date_folder_is_input_format_error(tmp_path, acq_dir):
    acq = tmp_path / "acq"
    shutil.copytree(acq_dir, acq)
    first = sorted(acq.iterdir())[0]
    for bad in ("2018-01-08", "20181332"):
        first = first.rename(acq / bad)
        with pytest.raises(InputFormatError, match=bad):
            gapfill_tile(acq, tmp_path / "out", GapfillOptions(processes=1), show_progress=False)


def test_gapfill_band_on_a_foreign_grid_is_input_format_error(tmp_path, acq_dir):
    acq = tmp_path / "acq"
    shutil.copytree(acq_dir, acq)
    band = sorted(acq.iterdir())[2] / "B11.tif"
    with rasterio.open(band) as src:
        data, profile = src.read(), src.profile
    profile["transform"] = profile["transform"] @ rasterio.Affine.translation(0.5, 0)  # half a pixel east
    with rasterio.open(band, "w", **profile) as dst:
        dst.write(data)
    with pytest.raises(InputFormatError, match="B11.tif"):
        gapfill_tile(acq, tmp_path / "out", GapfillOptions(processes=1), show_progress=False)


def test_gapfill_bad_options_are_config_errors(acq_dir, tmp_path):
    with pytest.raises(ConfigError, match="block"):
        gapfill_tile(acq_dir, tmp_path / "out", GapfillOptions(block=20), show_progress=False)
    assert gapfill_main(["--input", str(acq_dir), "--out", str(tmp_path / "out"), "--start", "2018XX01"]) == 2
