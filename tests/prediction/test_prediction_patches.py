"""The map adapter of patch classifiers (prediction/patches.py) on a toy model whose class is the patch centre's."""

import numpy as np
import pytest
import tensorflow as tf

from landcover_hpc.errors import ConfigError
from landcover_hpc.models import ModelMetadata, ModelSpec
from landcover_hpc.models.resnets import PatchToPixels
from landcover_hpc.prediction.patches import PatchClassifier, patch_overlap

P, K, CODES = 16, 5, (11, 12, 13, 14, 15)


def _toy(channels):
    """(model, meta): a patch's class is the argmax of the first K channels at its centre pixel (P/2, P/2)."""
    window = tf.keras.Input((None, None, channels))
    centre = tf.keras.layers.Lambda(lambda x: 100.0 * x[:, P // 2, P // 2, :K])(window)
    patch = tf.keras.layers.Softmax(name="patch_probabilities")(centre)
    model = tf.keras.Model(window, PatchToPixels()([patch, window]))
    spec = ModelSpec("st_resnet", 1, channels, K, options={"date_indices": [0, 0, 0, 0], "patch_size": P})
    meta = ModelMetadata(band_names=[f"B{i}" for i in range(channels)], class_codes=CODES,
                         percentiles=np.stack([np.zeros(channels), np.ones(channels)]), spec=spec)
    return model, meta


@pytest.mark.parametrize("stride", [4, 8])
def test_patch_map_gives_each_block_the_class_of_the_patch_centred_on_it(stride):
    model, meta = _toy(6)
    x = np.random.default_rng(0).random((18, 26, 6), dtype=np.float32)  # not multiples of the stride
    valid = np.ones((18, 26), bool)
    valid[0, 0] = False
    classifier = PatchClassifier(model, meta, stride=stride, batch_size=5)  # batches cut across block rows
    classes, confidence = classifier.classify((x, valid))
    expected = np.zeros((18, 26), np.uint8)
    for row in range(0, 18, stride):
        for col in range(0, 26, stride):
            # the block's patch starts (P - s) / 2 px before it: its centre is the block's pixel (s/2, s/2),
            # edge-replicated past the window
            centre = x[min(row + stride // 2, 17), min(col + stride // 2, 25), :K]
            expected[row:row + stride, col:col + stride] = CODES[int(np.argmax(centre))]
    expected[0, 0] = 0  # nodata on invalid pixels
    np.testing.assert_array_equal(classes, expected)
    assert confidence[0, 0] == 255 and confidence[valid].min() > 0
    assert classifier.settings["patch_stride"] == stride
    assert classifier.tags["patch_size"] == P


def test_patch_map_overlap_and_stride_are_checked():
    assert patch_overlap(16, 32, 8) == 40  # a core pixel's whole patch inside its window: P + s - 2, to 4 px
    assert patch_overlap(64, 32, 8) == 64
    assert patch_overlap(0, 16, 4) == 20
    with pytest.raises(ConfigError, match="patch_stride=7: must be in 1..32 with the parity"):
        patch_overlap(16, 32, 7)
    model, meta = _toy(6)
    with pytest.raises(ConfigError, match="patch_stride=20"):
        PatchClassifier(model, meta, stride=20)
