import subprocess

import numpy as np
import rasterio
from rasterio.transform import from_origin

from landcover_hpc.maps import MapWriter, quicklook
from landcover_hpc.maps.geotiff import CONFIDENCE_NODATA

TRANSFORM = from_origin(400_000, 5_500_000, 10, 10)


def _writer(out, nomenclature, signature="a", size=(300, 520)):
    return MapWriter(out, "T31UDQ", "EPSG:32631", TRANSFORM, *size, nomenclature,
                     {"signature": signature, "model": "fgunet"})


def _fill(writer, codes, conf, windows):
    for i, (r, c, h, w) in enumerate(windows):
        writer.write(i, r, c, codes[r:r + h, c:c + w], conf[r:r + h, c:c + w])


def test_maps_are_georeferenced_cogs_with_legend(tmp_path, nomenclature):
    rng = np.random.default_rng(0)
    codes = rng.choice(nomenclature.codes, (300, 520)).astype(np.uint8)
    codes[:10, :] = 0
    conf = rng.integers(0, 101, (300, 520)).astype(np.uint8)
    writer = _writer(tmp_path, nomenclature)
    _fill(writer, codes, conf, [(0, 0, 300, 260), (0, 260, 300, 260)])
    paths = writer.finalize()
    with rasterio.open(paths["classes"]) as src:
        assert src.crs.to_epsg() == 32631 and src.transform == TRANSFORM
        assert np.array_equal(src.read(1), codes) and src.nodata == 0
        assert src.colormap(1)[41][:3] == nomenclature.classes[0].rgb
        assert src.tags()["model"] == "fgunet" and src.overviews(1)
    with rasterio.open(paths["confidence"]) as src:
        assert np.array_equal(src.read(1), conf) and src.nodata == CONFIDENCE_NODATA
    info = subprocess.run(["gdalinfo", str(paths["classes"])], capture_output=True, text=True, check=True).stdout
    assert "LAYOUT=COG" in info and "Color Table" in info and "CUF Continuous urban fabric" in info
    assert not (tmp_path / ".partial" / "T31UDQ_classes.tif").exists()
    assert _writer(tmp_path, nomenclature).is_complete()
    assert not _writer(tmp_path, nomenclature, signature="b").is_complete()
    png = quicklook(paths["classes"], tmp_path / "q.png", nomenclature)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_partial_maps_resume_only_with_the_same_signature(tmp_path, nomenclature):
    codes = np.full((300, 520), 11, np.uint8)
    conf = np.full((300, 520), 80, np.uint8)
    writer = _writer(tmp_path, nomenclature)
    _fill(writer, codes, conf, [(0, 0, 150, 520)])
    writer.checkpoint()
    writer.close()  # the job dies here
    resumed = _writer(tmp_path, nomenclature)
    assert resumed.done == {0}
    resumed.write(1, 150, 0, codes[150:] + 1, conf[150:])
    paths = resumed.finalize()
    with rasterio.open(paths["classes"]) as src:
        out = src.read(1)
    assert np.all(out[:150] == 11) and np.all(out[150:] == 12)  # the first half came from the killed run
    writer = _writer(tmp_path, nomenclature, signature="a")
    _fill(writer, codes, conf, [(0, 0, 150, 520)])
    writer.checkpoint()
    writer.close()
    assert _writer(tmp_path, nomenclature, signature="changed-model").done == set()
