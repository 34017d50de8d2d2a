import subprocess

import numpy as np
import rasterio
from rasterio.transform import from_origin
from rasterio.warp import transform as transform_points

from landcover_hpc.cli import mosaic as mosaic_cli
from landcover_hpc.maps import MapWriter


def _tile_map(out, tile, crs, x0, y0, classes, confidence, nomenclature):
    writer = MapWriter(out, tile, crs, from_origin(x0, y0, 10, 10), *classes.shape, nomenclature, {"signature": tile})
    writer.write(0, 0, 0, classes, confidence)
    return writer.finalize()["classes"]


def _value_at(path, x, y, crs_of_point=None):
    with rasterio.open(path) as src:
        if crs_of_point is not None and crs_of_point != src.crs:
            (x,), (y,) = transform_points(crs_of_point, src.crs, [x], [y])
        row, col = src.index(x, y)
        return src.read(1)[row, col]


def test_mosaic_of_two_overlapping_tiles_and_one_of_another_zone(tmp_path, nomenclature):
    maps = tmp_path / "maps"
    a = _tile_map(maps, "T31UDQ", "EPSG:32631", 400_000, 5_500_000, np.full((100, 100), 11, np.uint8),
                  np.full((100, 100), 60, np.uint8), nomenclature)
    conf_b = np.full((100, 100), 50, np.uint8)
    conf_b[50:] = 90
    b = _tile_map(maps, "T31UEQ", "EPSG:32631", 400_600, 5_500_000, np.full((100, 100), 12, np.uint8), conf_b,
                  nomenclature)
    # a tile of UTM zone 30 next to zone 31's western edge (0 degrees east)
    (x30,), (y30,) = transform_points("EPSG:4326", "EPSG:32630", [-0.01], [49.6])
    c = _tile_map(maps, "T30UYV", "EPSG:32630", round(x30, -1), round(y30, -1), np.full((60, 60), 51, np.uint8),
                  np.full((60, 60), 70, np.uint8), nomenclature)
    assert mosaic_cli.main([str(a), str(b), str(c), "--out", str(tmp_path / "out" / "country"),
                            "--crs", "EPSG:32631"]) == 0
    mosaic = tmp_path / "out" / "country_classes.tif"
    y_top, y_bottom = 5_500_000 - 250, 5_500_000 - 750  # rows 25 and 75 of both tiles
    assert _value_at(mosaic, 400_300, y_top) == 11  # A only
    assert _value_at(mosaic, 400_800, y_top) == 11  # overlap, A more confident (60 > 50)
    assert _value_at(mosaic, 400_800, y_bottom) == 12  # overlap, B more confident (90 > 60)
    assert _value_at(mosaic, 401_300, y_bottom) == 12  # B only
    centre_c = (round(x30, -1) + 300, round(y30, -1) - 300)
    assert _value_at(mosaic, *centre_c, crs_of_point="EPSG:32630") == 51  # reprojected from zone 30
    with rasterio.open(mosaic) as src:
        assert src.crs.to_epsg() == 32631 and src.res == (10.0, 10.0)
        assert src.colormap(1)[12][:3] == (255, 255, 127)
    with rasterio.open(tmp_path / "out" / "country_confidence.tif") as src:
        conf = src.read(1)
        assert conf[conf != 255].max() == 90 and src.nodata == 255
    info = subprocess.run(["gdalinfo", str(tmp_path / "out" / "country.vrt")], capture_output=True, text=True,
                          check=True).stdout
    assert "Color Table" in info and info.count("country_tiles/") == 3
    assert _value_at(tmp_path / "out" / "country.vrt", 400_300, y_top) == 11


def test_mosaic_warps_and_writes_with_gdal_block_cache_capped(tmp_path, nomenclature, monkeypatch):
    from landcover_hpc.io import BLOCK_CACHE_BYTES
    from landcover_hpc.prediction import mosaic

    monkeypatch.delenv("GDAL_CACHEMAX", raising=False)
    seen = []
    for name in ("_warp_tile", "_mosaic_block"):
        def spy(*args, _real=getattr(mosaic, name), _name=name):
            seen.append((_name, rasterio.env.getenv().get("GDAL_CACHEMAX")))
            return _real(*args)
        monkeypatch.setattr(mosaic, name, spy)
    a = _tile_map(tmp_path / "maps", "T31UDQ", "EPSG:32631", 400_000, 5_500_000,
                  np.full((40, 40), 11, np.uint8), np.full((40, 40), 60, np.uint8), nomenclature)
    mosaic.mosaic_maps([a], tmp_path / "out" / "country", nomenclature, show_progress=False)
    assert {name for name, _ in seen} == {"_warp_tile", "_mosaic_block"}
    assert all(cache == BLOCK_CACHE_BYTES for _, cache in seen), seen


def test_mosaic_needs_confidence_maps(tmp_path, nomenclature, capsys):
    a = _tile_map(tmp_path, "T31UDQ", "EPSG:32631", 400_000, 5_500_000, np.full((8, 8), 11, np.uint8),
                  np.full((8, 8), 60, np.uint8), nomenclature)
    (tmp_path / "T31UDQ_confidence.tif").unlink()
    assert mosaic_cli.main([str(a), "--out", str(tmp_path / "m")]) == 2
    assert "T31UDQ_confidence.tif not found" in capsys.readouterr().err
