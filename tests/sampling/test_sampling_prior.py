"""The class priors of training: the sampler's expected patch label mix, and the weights that undo it."""

import numpy as np
import pytest

from landcover_hpc.errors import InputFormatError
from landcover_hpc.sampling import prior
from landcover_hpc.sampling.plan import draw_patches
from landcover_hpc.sampling.prior import patch_label_prior, prior_weights, reference_prior, reweigh

K, P = 4, 6


def _tiles(seed=0):
    """Two tiles of blocky labels 0..K (0 unlabelled) and, per class, the top-left corners of the patches
    holding >= 10 % of it (the paper's rule), as the store's positions."""
    rng = np.random.default_rng(seed)
    labels, positions = [], []
    for shape in ((30, 36), (24, 24)):
        blocks = rng.choice(K + 1, size=(shape[0] // 3, shape[1] // 3), p=[0.1, 0.5, 0.25, 0.1, 0.05])
        tile = np.kron(blocks, np.ones((3, 3), np.uint8)).astype(np.uint8)
        windows = np.lib.stride_tricks.sliding_window_view(tile, (P, P))
        table = {}
        for k in range(1, K + 1):
            share = (windows == k).mean(axis=(2, 3))
            rows, cols = np.nonzero(share >= 0.1)
            if len(rows):
                table[k] = np.stack([rows, cols], axis=1).astype(np.int32)
        labels.append(tile)
        positions.append(table)
    return labels, positions


def _drawn_mix(labels, positions, balance, n=60000):
    """The label mix of n patches drawn by the sampler's own draw (plan.draw_patches)."""
    _, tile, row, col = draw_patches(positions, n, np.random.default_rng(1), balance)
    counts = np.zeros(K + 1)
    for t in range(len(labels)):
        windows = np.lib.stride_tricks.sliding_window_view(labels[t], (P, P))
        counts += np.bincount(windows[row[tile == t], col[tile == t]].ravel(), minlength=K + 1)
    return counts[1:] / counts[1:].sum()


@pytest.mark.parametrize("balance", ["classes", "none"])
def test_patch_label_prior_is_the_label_mix_of_the_samplers_draws(balance):
    labels, positions = _tiles()
    expected = patch_label_prior(labels, positions, P, K, balance)
    assert expected.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(expected, _drawn_mix(labels, positions, balance), atol=0.006)


def test_class_balanced_patches_over_represent_the_rare_classes():
    labels, positions = _tiles()
    balanced = patch_label_prior(labels, positions, P, K, "classes")
    reference = reference_prior(np.bincount(np.concatenate([t.ravel() for t in labels]), minlength=K + 1)[1:])
    assert balanced[3] > 1.5 * reference[3] and balanced[0] < reference[0]  # rare class 4 (5 %), common class 1


def test_many_positions_are_averaged_over_an_even_subsample(monkeypatch):
    labels, positions = _tiles()
    exact = patch_label_prior(labels, positions, P, K)
    monkeypatch.setattr(prior, "MAX_POSITIONS", 40)
    np.testing.assert_allclose(patch_label_prior(labels, positions, P, K), exact, atol=0.03)


def test_prior_weights_undo_the_training_mix():
    weights = prior_weights([0.25, 0.25, 0.5, 0.0], [0.5, 0.0, 0.25, 0.25])
    np.testing.assert_allclose(weights, [2.0, 0.0, 0.5, 1.0])  # class 4 never shown: left as it is
    with pytest.raises(InputFormatError, match="m.h5: class priors of 2 and 3 values"):
        prior_weights([0.5, 0.5], [0.2, 0.3, 0.5], "m.h5")


def test_reweigh_renormalises_and_keeps_a_row_without_weighted_score():
    scores = np.array([[0.5, 0.3, 0.2], [0.0, 0.6, 0.4]])
    out = reweigh(scores, np.array([2.0, 0.0, 1.0]))
    np.testing.assert_allclose(out[0], [1.0 / 1.2, 0.0, 0.2 / 1.2])
    np.testing.assert_allclose(out[1], [0.0, 0.0, 1.0])
    np.testing.assert_allclose(reweigh(scores[1:], np.array([1.0, 0.0, 0.0])), scores[1:])  # nothing left: as is
