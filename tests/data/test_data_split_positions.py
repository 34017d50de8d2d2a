import numpy as np
import pytest

from landcover_hpc.data.positions import patch_class_counts, valid_positions
from landcover_hpc.data.split import split_objects


def test_split_is_per_class_and_keeps_every_set_populated():
    rng = np.random.default_rng(0)
    classes = np.array([1] * 30 + [2] * 2 + [3] * 1 + [4] * 7 + [5] * 3)
    split = split_objects(classes, 0.33, 0.10, rng)
    assert set(np.unique(split)) == {0, 1, 2}
    assert np.bincount(split[classes == 1], minlength=3).tolist() == [17, 3, 10]  # round(.1*30), round(.33*30)
    assert sorted(split[classes == 2]) == [0, 2]  # two objects: one trains, one tests, none validates
    assert split[classes == 3][0] == 0  # a lone object trains
    assert np.bincount(split[classes == 4], minlength=3).tolist() == [4, 1, 2]  # validation gets at least one
    assert sorted(split[classes == 5]) == [0, 1, 2]  # three objects: one in each set


def test_split_without_validation_is_the_papers_two_way_split():
    classes = np.repeat(np.arange(1, 4), 12)
    split = split_objects(classes, 0.33, 0.0, np.random.default_rng(0))
    assert set(np.unique(split)) == {0, 2}
    assert (split == 2).sum() == 3 * 4  # round(0.33 * 12) per class


def test_split_test_set_does_not_depend_on_the_validation_share():
    classes = np.repeat(np.arange(1, 6), 20)
    a = split_objects(classes, 0.33, 0.0, np.random.default_rng(7))
    b = split_objects(classes, 0.33, 0.2, np.random.default_rng(7))
    assert np.array_equal(a == 2, b == 2)  # validation is carved out of the training objects only
    assert np.all(a[b == 1] == 0)


@pytest.mark.parametrize("test_fraction, val_fraction", [(0.0, 0.1), (1.0, 0.0), (0.33, 0.67), (0.33, -0.1)])
def test_split_rejects_impossible_fractions(test_fraction, val_fraction):
    with pytest.raises(ValueError, match="fraction"):
        split_objects(np.array([1, 1, 1]), test_fraction, val_fraction, np.random.default_rng(0))


def test_split_is_deterministic_for_a_seed():
    classes = np.repeat(np.arange(1, 6), 11)
    a = split_objects(classes, 0.33, 0.1, np.random.default_rng(42))
    b = split_objects(classes, 0.33, 0.1, np.random.default_rng(42))
    c = split_objects(classes, 0.33, 0.1, np.random.default_rng(43))
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def _brute_force_counts(labels, cls, p, stride):
    rows = range(0, labels.shape[0] - p + 1, stride)
    cols = range(0, labels.shape[1] - p + 1, stride)
    return np.array([[(labels[r:r + p, c:c + p] == cls).sum() for c in cols] for r in rows])


@pytest.mark.parametrize("stride", [1, 3, 8])
def test_patch_counts_equal_brute_force(stride):
    labels = np.random.default_rng(1).integers(0, 4, (37, 45))
    for cls in (1, 3):
        assert np.array_equal(patch_class_counts(labels, cls, 8, stride), _brute_force_counts(labels, cls, 8, stride))


def test_positions_do_not_depend_on_strips():
    rng = np.random.default_rng(2)
    labels = np.zeros((150, 90), np.uint8)
    for _ in range(40):
        r, c = rng.integers(0, 140), rng.integers(0, 80)
        labels[r:r + rng.integers(2, 12), c:c + rng.integers(2, 12)] = rng.integers(1, 4)
    read = lambda a, b: labels[a:b]  # noqa: E731
    whole = valid_positions(read, 150, 90, [1, 2, 3], 16, 4, 0.1, strip_pixels=10**6)
    for strip_pixels in (1, 8 * 90, 8 * 90 + 89, 13 * 90):  # strips of 4 (at least the stride), 8, 8, 12 rows
        strips = valid_positions(read, 150, 90, [1, 2, 3], 16, 4, 0.1, strip_pixels=strip_pixels)
        for cls in (1, 2, 3):
            assert np.array_equal(whole[cls], strips[cls]), strip_pixels
    for cls in (1, 2, 3):
        expected = np.argwhere(_brute_force_counts(labels, cls, 16, 4) >= np.ceil(0.1 * 256)) * 4
        assert np.array_equal(whole[cls], expected)


def test_central_window_counts_equal_brute_force_and_give_thin_roads_positions():
    labels = np.random.default_rng(3).integers(0, 4, (37, 45))
    counts = patch_class_counts(labels, 2, 16, 8, window=8)
    rows, cols = range(0, 37 - 16 + 1, 8), range(0, 45 - 16 + 1, 8)
    expected = np.array([[(labels[r + 4:r + 12, c + 4:c + 12] == 2).sum() for c in cols] for r in rows])
    assert np.array_equal(counts, expected)

    road = np.zeros((96, 96), np.uint8)
    road[47, :] = 1  # a 1 px road across the tile: 32 px of a 32 px patch, under 10 % (103 px)
    read = lambda a, b: road[a:b]  # noqa: E731
    assert len(valid_positions(read, 96, 96, [1], 32, 8, 0.1)[1]) == 0  # the paper's rule: never drawn
    centred = valid_positions(read, 96, 96, [1], 32, 8, 0.1, window=8)[1]
    assert len(centred) == 9  # every top-left column 0, 8, ..., 64 of the one row whose central window holds it
    assert set(centred[:, 0].tolist()) == {32} and all(road[r + 12:r + 20, c + 12:c + 20].sum() == 8
                                                      for r, c in centred)


def test_positions_memory_does_not_grow_with_the_tile_width():
    """Strips are a number of pixels: 4x the width gives strips of 1/4 the rows, not 4x the memory."""
    import tracemalloc

    peaks = []
    for width in (1024, 4096):
        labels = np.zeros((300, width), np.uint8)
        labels[:, 0] = 1  # in every strip, so that every strip is counted, never enough for a position
        tracemalloc.start()
        found = valid_positions(lambda a, b: labels[a:b], 300, width, [1], 16, 4, 0.1, strip_pixels=2**16)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        assert len(found[1]) == 0
    assert peaks[1] < 2 * peaks[0], peaks
