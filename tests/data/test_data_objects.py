"""The objects of a labels.tif found window by window equal those of the whole raster, numbered alike."""

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin
from scipy import ndimage

from landcover_hpc.data.blocks import iter_blocks
from landcover_hpc.data.objects import LabelObjects
from landcover_hpc.errors import UnknownClassError


def _write_labels(path, codes):
    with rasterio.open(path, "w", driver="GTiff", height=codes.shape[0], width=codes.shape[1], count=1,
                       dtype="uint8", crs="EPSG:32631", transform=from_origin(600000, 5400000, 10, 10)) as dst:
        dst.write(codes.astype(np.uint8), 1)


def _whole_raster_objects(codes, nomenclature):
    """The oracle: scipy's labelling of the whole raster, code by code in ascending order."""
    ids, classes = np.zeros(codes.shape, np.int32), []
    for code in (int(c) for c in np.unique(codes) if c != 0):
        components, n = ndimage.label(codes == code)
        ids[components > 0] = components[components > 0] + len(classes)
        classes += [nomenclature.index_of(code)] * n
    return ids, np.asarray(classes, np.uint8)


def _windowed_objects(path, nomenclature, window):
    objects = LabelObjects(path, nomenclature, window)
    with rasterio.open(path) as src:
        ids = np.zeros((src.height, src.width), np.int32)
        for row, col, height, width in iter_blocks(src.height, src.width, window):
            ids[row:row + height, col:col + width] = objects.window(src, row, col, height, width)
    return ids, objects.classes


@pytest.mark.parametrize("seed", range(8))
def test_windows_find_the_whole_rasters_objects(tmp_path, nomenclature, seed):
    rng = np.random.default_rng(seed)
    height, width = rng.integers(1, 70, 2)
    scale = int(rng.integers(1, 7))  # blobs of scale x scale px: objects of every size, crossing the seams
    coarse = rng.choice([0, *nomenclature.codes[:4]], size=(height // scale + 1, width // scale + 1))
    codes = np.kron(coarse, np.ones((scale, scale), int))[:height, :width]
    _write_labels(tmp_path / "labels.tif", codes)
    expected_ids, expected_classes = _whole_raster_objects(codes, nomenclature)
    for window in (3, 7, 16, 100):
        ids, classes = _windowed_objects(tmp_path / "labels.tif", nomenclature, window)
        assert np.array_equal(ids, expected_ids), f"window {window}"
        assert np.array_equal(classes, expected_classes), f"window {window}"


def test_a_spiral_across_many_windows_is_one_object(tmp_path, nomenclature):
    """One object entering and leaving windows several times; another class beside it is not joined to it."""
    codes = np.zeros((40, 40), int)
    code, other = nomenclature.codes[:2]
    codes[2, 2:38] = codes[2:38, 37] = codes[37, 4:38] = codes[6:38, 4] = codes[6, 4:33] = code
    codes[7, 5:33] = other  # touches the spiral along its whole length
    _write_labels(tmp_path / "labels.tif", codes)
    ids, classes = _windowed_objects(tmp_path / "labels.tif", nomenclature, 5)
    assert len(classes) == 2 and len(np.unique(ids[codes == code])) == 1
    assert np.array_equal(ids, _whole_raster_objects(codes, nomenclature)[0])


def test_an_unknown_code_names_the_file_and_the_code(tmp_path, nomenclature):
    codes = np.zeros((20, 20), int)
    codes[15, 15] = 250
    _write_labels(tmp_path / "labels.tif", codes)
    with pytest.raises(UnknownClassError, match=r"labels\.tif.*250"):
        LabelObjects(tmp_path / "labels.tif", nomenclature, 16)
