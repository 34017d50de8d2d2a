"""Majority-vote regularisation (radius 1): ties keep the label, nodata neither votes nor changes, and a
windowed pass equals the whole-map pass."""

import numpy as np

from landcover_hpc.baseline import majority_vote
from landcover_hpc.prediction.windows import plan_windows

A, B, C = 11, 12, 41


def test_tie_keeps_own_label():
    m = np.array([[A, A, B], [A, C, B], [A, B, B]], dtype=np.uint8)  # C: 4 A and 4 B around it
    assert majority_vote(m)[1, 1] == C


def test_lone_pixel_takes_the_surrounding_class():
    m = np.full((5, 5), B, dtype=np.uint8)
    m[2, 2] = A
    out = majority_vote(m)
    assert out[2, 2] == B and np.all(out == B)


def test_own_label_counts_in_the_vote():
    m = np.array([[A, A, B], [A, A, B], [B, B, B]], dtype=np.uint8)  # centre A: A 4 (with itself), B 5
    assert majority_vote(m)[1, 1] == B
    m[2, 2] = C  # A 4, B 4, C 1: tie -> keeps A
    assert majority_vote(m)[1, 1] == A


def test_nodata_does_not_vote_and_stays():
    m = np.array([[0, 0, 0], [0, A, B], [0, 0, B]], dtype=np.uint8)  # A sees A 1, B 2
    out = majority_vote(m)
    assert out[1, 1] == B
    assert np.all(out[m == 0] == 0)
    corner = np.array([[0, 0], [0, A]], dtype=np.uint8)
    assert np.array_equal(majority_vote(corner), corner)


def test_windowed_equals_whole_map():
    rng = np.random.default_rng(0)
    m = rng.choice(np.array([0, A, B, C], dtype=np.uint8), (70, 90), p=[0.05, 0.4, 0.35, 0.2])
    whole = majority_vote(m)
    out = np.zeros_like(m)
    for w in plan_windows(*m.shape, size=24, overlap=4):
        h, wd = min(w.height, m.shape[0] - w.row), min(w.width, m.shape[1] - w.col)
        rows, cols = w.crop
        out[w.core_row:w.core_row + w.core_height, w.core_col:w.core_col + w.core_width] = \
            majority_vote(m[w.row:w.row + h, w.col:w.col + wd])[rows, cols]
    assert np.array_equal(out, whole)
    assert not np.array_equal(whole, m)  # the vote did change something
