"""Batch plans (pure): class-then-patch draws, tile assignment, the minimal transfer scheme."""

import numpy as np
import pytest
from scipy import stats

from landcover_hpc.errors import ConfigError, EmptyReferenceError
from landcover_hpc.sampling import (BatchPlan, assign_tiles, available_classes, covering_windows, draw_batch_plan,
                                   minimum_moves,
                                   plan_from_array, receive_order, send_order, transfer_scheme)


def skewed_positions(rng, n_tiles=4, n_classes=10):
    """Tile 0 holds most positions of most classes; other tiles hold few, some classes only in one tile."""
    positions = []
    for t in range(n_tiles):
        tile = {}
        for k in range(1, n_classes + 1):
            n = 2000 if t == 0 and k <= 7 else (5 if (k + t) % 3 == 0 else 0)
            if k == n_classes:  # a rare class only on the last tile
                n = 3 if t == n_tiles - 1 else 0
            if n:
                tile[k] = rng.integers(0, 500, size=(n, 2)).astype(np.int32)
        positions.append(tile)
    return positions


def test_assign_tiles_round_robin():
    assert assign_tiles(3, 3).tolist() == [0, 1, 2]
    assert assign_tiles(5, 2).tolist() == [0, 1, 0, 1, 0]
    assert assign_tiles(2, 4).tolist() == [0, 1]  # ranks 2 and 3 hold no tile and only receive
    with pytest.raises(ConfigError, match="0 tiles"):
        assign_tiles(0, 3)


@pytest.mark.parametrize("counts", [[8, 8, 8], [24, 0, 0], [0, 0, 24], [13, 3, 0, 16], [1, 2, 3, 4, 30]])
def test_transfer_scheme_is_minimal(counts):
    b = 8 if sum(counts) == 24 else sum(counts) // len(counts)
    scheme = transfer_scheme(np.array(counts), b)
    assert np.all(scheme >= 0)
    assert scheme.sum(axis=1).tolist() == counts  # every rank sends what it extracted
    assert scheme.sum(axis=0).tolist() == [b] * len(counts)  # every rank ends with b
    assert scheme.sum() - np.trace(scheme) == minimum_moves(counts, b) == sum(max(0, c - b) for c in counts)


def test_transfer_scheme_rejects_counts_that_do_not_fill_the_batch():
    with pytest.raises(ConfigError, match="sum to 2 ranks x 8"):
        transfer_scheme(np.array([3, 4]), 8)


def test_plan_gives_each_rank_b_valid_patches_with_minimal_moves():
    rng = np.random.default_rng(0)
    positions = skewed_positions(rng)
    for n_ranks, per_rank in [(1, 8), (3, 8), (4, 5), (6, 2)]:
        tile_ranks = assign_tiles(len(positions), n_ranks)
        plan = draw_batch_plan(positions, tile_ranks, n_ranks, per_rank, np.random.default_rng(n_ranks))
        assert plan.size == n_ranks * per_rank
        assert np.bincount(plan.destination, minlength=n_ranks).tolist() == [per_rank] * n_ranks
        assert np.array_equal(plan.source, tile_ranks[plan.tile])
        counts = np.bincount(plan.source, minlength=n_ranks)
        assert plan.moved == minimum_moves(counts, per_rank)
        assert np.sum(plan.source != plan.destination) == plan.moved
        for k, t, r, c in zip(plan.class_index, plan.tile, plan.row, plan.col):
            assert np.any(np.all(positions[t][k] == (r, c), axis=1))  # a valid position of its class
        for rank in range(n_ranks):  # send and receive orders partition the plan consistently
            sent = send_order(plan, rank)
            assert np.all(plan.source[sent] == rank) and np.all(np.diff(plan.destination[sent]) >= 0)
            received = receive_order(plan, rank)
            assert len(received) == per_rank and np.all(np.diff(plan.source[received]) >= 0)


def test_class_frequencies_are_uniform_although_one_tile_dominates():
    positions = skewed_positions(np.random.default_rng(1))
    classes = available_classes(positions)
    tile_ranks = assign_tiles(len(positions), 4)
    rng = np.random.default_rng(2)
    drawn = np.concatenate([draw_batch_plan(positions, tile_ranks, 4, 8, rng).class_index for _ in range(500)])
    counts = np.array([(drawn == k).sum() for k in classes])
    assert stats.chisquare(counts).pvalue > 1e-3  # 16 000 draws over 10 classes: uniform
    assert counts.min() > 0.85 * len(drawn) / len(classes)  # the rare class (3 positions) is not starved


def test_unbalanced_draws_follow_the_classes_positions():
    positions = skewed_positions(np.random.default_rng(1))
    classes = available_classes(positions)
    totals = np.array([sum(len(t.get(int(k), ())) for t in positions) for k in classes])
    rng = np.random.default_rng(2)
    drawn = np.concatenate([draw_batch_plan(positions, assign_tiles(len(positions), 4), 4, 8, rng,
                                            balance="none").class_index for _ in range(500)])
    counts = np.array([(drawn == k).sum() for k in classes])
    assert stats.chisquare(counts, totals / totals.sum() * len(drawn)).pvalue > 1e-3
    assert counts[-1] < 10  # the rare class (3 of ~14 000 positions) is seldom drawn: no balancing


def test_unknown_balance_is_a_config_error():
    with pytest.raises(ConfigError, match="balance 'rare'"):
        draw_batch_plan(skewed_positions(np.random.default_rng(1)), assign_tiles(4, 4), 4, 8,
                        np.random.default_rng(0), balance="rare")


def test_tile_is_chosen_in_proportion_to_its_positions_of_the_class():
    positions = [{1: np.zeros((900, 2), np.int32)}, {1: np.ones((100, 2), np.int32)}]
    plan = draw_batch_plan(positions, assign_tiles(2, 2), 2, 5000, np.random.default_rng(3))
    share = np.mean(plan.tile == 1)
    assert abs(share - 0.1) < 0.015  # every position of the class equally likely, whatever its tile


def test_same_seed_same_plan_and_broadcast_form_round_trips():
    positions = skewed_positions(np.random.default_rng(4))
    tile_ranks = assign_tiles(4, 3)
    a = draw_batch_plan(positions, tile_ranks, 3, 8, np.random.default_rng(7))
    b = draw_batch_plan(positions, tile_ranks, 3, 8, np.random.default_rng(7))
    c = draw_batch_plan(positions, tile_ranks, 3, 8, np.random.default_rng(8))
    assert np.array_equal(a.to_array(), b.to_array()) and not np.array_equal(a.to_array(), c.to_array())
    back = plan_from_array(a.to_array(), tile_ranks, 3, 8)
    assert isinstance(back, BatchPlan) and np.array_equal(back.scheme, a.scheme)
    assert np.array_equal(back.source, a.source) and np.array_equal(back.destination, a.destination)


def test_plan_without_positions_is_an_error():
    with pytest.raises(EmptyReferenceError, match="no tile has any valid patch position"):
        draw_batch_plan([{}, {3: np.zeros((0, 2), np.int32)}], assign_tiles(2, 2), 2, 4, np.random.default_rng())


@pytest.mark.parametrize("shape", [(64, 64), (70, 45), (16, 16)])
def test_covering_windows_hold_every_marked_pixel_once(shape):
    mask = np.random.default_rng(5).random(shape) < 0.02
    mask[-1, -1] = True  # a moved cell in both directions (unless the size divides the side)
    windows = covering_windows(mask, 16)
    covered = np.zeros(shape, np.int64)
    for row, col, own_row, own_col in windows.tolist():
        assert 0 <= row <= shape[0] - 16 and 0 <= col <= shape[1] - 16
        covered[row + own_row:row + 16, col + own_col:col + 16] += 1
    np.testing.assert_array_equal(covered[mask], 1)
    assert covered.max() == 1  # the own parts tile the tile without overlap
    cells = {(r // 16, c // 16) for r, c in zip(*np.nonzero(mask))}
    assert len(windows) == len(cells)  # empty cells are skipped


def test_covering_windows_refuse_a_mask_smaller_than_the_window():
    with pytest.raises(ConfigError, match="a 8 x 20 mask has no 16 x 16 window"):
        covering_windows(np.ones((8, 20), bool), 16)
