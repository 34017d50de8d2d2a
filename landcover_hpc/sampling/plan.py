"""Batch plans: which patches a batch holds, which rank extracts each one and which rank receives it.

Pure functions of position counts and a ``np.random.Generator``; no MPI. Rank 0 calls
:func:`draw_batch_plan`, the exchange (``landcover_hpc.sampling.exchange``) broadcasts and executes it.

A batch of ``B = N x b`` patches is drawn as in the paper (section 3.3.6):

1. B classes uniformly among the classes that have at least one valid position in some tile;
2. for each, one position uniformly among *all* valid positions of that class over all tiles. The tile is
   therefore chosen with probability proportional to its number of positions of the class. This is the
   paper's "first randomly choose a class before choosing a random patch for this class" (3.3.4): every
   candidate patch of a class is equally likely, whatever tile it lies on. Choosing the tile uniformly
   first would draw the few patches of a tile with a handful of positions hundreds of times more often
   than those of a tile with thousands, i.e. overfit a few patches;
3. rank ``i`` holds the tiles ``tile_ranks == i`` and so must extract ``c_i`` patches; the transfer scheme
   ``t_ij`` (patches extracted by ``i`` that end on ``j``) keeps ``min(c_i, b)`` patches where they are and
   moves the others from ranks with ``c_i > b`` to ranks with ``c_i < b``: every rank ends with exactly
   ``b`` and ``sum_i max(0, c_i - b)`` patches move, the minimum.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from ..errors import ConfigError, EmptyReferenceError

__all__ = [
    "PLAN_FIELDS",
    "covering_windows",
    "BatchPlan",
    "assign_tiles",
    "available_classes",
    "draw_patches",
    "transfer_scheme",
    "assign_destinations",
    "draw_batch_plan",
    "plan_from_array",
    "send_order",
    "receive_order",
    "minimum_moves",
]

#: Columns of :meth:`BatchPlan.to_array` (the broadcast form of a plan).
PLAN_FIELDS = ("class_index", "tile", "row", "col", "destination")

PositionTable = Sequence[Mapping[int, np.ndarray]]
"""Per tile (in tile order), class index (1..K) -> (n, 2) int32 top-left (row, col) of valid patches."""


@dataclass(frozen=True)
class BatchPlan:
    """One batch of ``B = n_ranks x per_rank`` patches, in draw order.

    Attributes:
        class_index: (B,) int64 class drawn for each patch, 1..K.
        tile: (B,) int64 index of the tile the patch is read from (position in the dataset's tile list).
        row, col: (B,) int64 top-left corner of the patch in its tile, px.
        source: (B,) int64 rank that holds the tile and extracts the patch.
        destination: (B,) int64 rank that receives the patch.
        scheme: (N, N) int64 transfer scheme, ``scheme[i, j]`` patches extracted by rank i end on rank j
            (the diagonal: patches that stay).
        per_rank: b.
    """

    class_index: np.ndarray
    tile: np.ndarray
    row: np.ndarray
    col: np.ndarray
    source: np.ndarray
    destination: np.ndarray
    scheme: np.ndarray
    per_rank: int

    @property
    def n_ranks(self) -> int:
        return int(self.scheme.shape[0])

    @property
    def size(self) -> int:
        return int(self.class_index.shape[0])

    @property
    def moved(self) -> int:
        """Patches that change rank (off-diagonal sum of the scheme)."""
        return int(self.scheme.sum() - np.trace(self.scheme))

    def to_array(self) -> np.ndarray:
        """(B, 5) int64 columns :data:`PLAN_FIELDS`: what rank 0 broadcasts (sources follow from tiles)."""
        return np.stack([self.class_index, self.tile, self.row, self.col, self.destination], axis=1).astype(np.int64)


def assign_tiles(n_tiles: int, n_ranks: int) -> np.ndarray:
    """Rank holding each tile: round robin, tile ``t`` on rank ``t % n_ranks``.

    One tile per rank when ``n_tiles == n_ranks`` (the paper's set-up); with more tiles than ranks a rank
    holds ``ceil`` or ``floor(n_tiles / n_ranks)`` tiles; with more ranks than tiles ranks
    ``n_tiles..n_ranks-1`` hold none and only receive patches.

    Returns:
        (n_tiles,) int64 ranks.
    """
    if n_tiles < 1:
        raise ConfigError(f"{n_tiles} tiles: a sampler needs at least 1 tile")
    if n_ranks < 1:
        raise ConfigError(f"{n_ranks} ranks: must be >= 1")
    return np.arange(n_tiles, dtype=np.int64) % n_ranks


def available_classes(positions: PositionTable) -> np.ndarray:
    """(k,) int64 sorted class indices that have at least one valid position in some tile."""
    present = {int(cls) for tile in positions for cls, pos in tile.items() if len(pos)}
    return np.array(sorted(present), dtype=np.int64)


BALANCES = ("classes", "none")


def draw_patches(positions: PositionTable, n_patches: int, rng: np.random.Generator,
                 balance: str = "classes") -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Draw classes, then one position uniformly among all positions of each class.

    Args:
        positions: per tile, class index -> (n, 2) top-left (row, col).
        n_patches: B.
        rng: consumed in a fixed order (classes, then positions), so equal states give equal draws.
        balance: ``"classes"``: each class equally likely (paper 3.3.6, the class-balanced sampler);
            ``"none"``: a class as likely as its share of all (class, position) pairs, i.e. patches about as
            frequent as they are in the reference (to compare with the paper's setting).
    Returns:
        class_index, tile, row, col: each (B,) int64.
    Raises:
        EmptyReferenceError: no class has any valid position.
    """
    classes = available_classes(positions)
    if len(classes) == 0:
        raise EmptyReferenceError("no tile has any valid patch position: check the reference data and patch_size")
    if balance == "classes":
        class_index = classes[rng.integers(0, len(classes), size=n_patches)]
    elif balance == "none":
        counts = np.array([sum(len(t.get(int(c), ())) for t in positions) for c in classes], dtype=np.float64)
        class_index = classes[rng.choice(len(classes), size=n_patches, p=counts / counts.sum())]
    else:
        raise ConfigError(f"balance {balance!r}: expected one of {', '.join(BALANCES)}")
    pick = rng.random(n_patches)  # one uniform per patch, mapped into the pooled positions of its class
    tile = np.empty(n_patches, dtype=np.int64)
    row = np.empty(n_patches, dtype=np.int64)
    col = np.empty(n_patches, dtype=np.int64)
    for cls in np.unique(class_index):
        where = np.flatnonzero(class_index == cls)
        per_tile = np.array([len(t.get(int(cls), ())) for t in positions], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(per_tile)])
        flat = np.minimum((pick[where] * offsets[-1]).astype(np.int64), offsets[-1] - 1)
        tiles = np.searchsorted(offsets, flat, side="right") - 1
        for t in np.unique(tiles):
            sel = where[tiles == t]
            pos = np.asarray(positions[t][int(cls)])[flat[tiles == t] - offsets[t]]
            tile[sel], row[sel], col[sel] = t, pos[:, 0], pos[:, 1]
    return class_index, tile, row, col


def transfer_scheme(counts: np.ndarray, per_rank: int) -> np.ndarray:
    """The transfer scheme that gives every rank ``per_rank`` patches with the fewest moves.

    Args:
        counts: (N,) patches each rank extracts, c_i; they must sum to ``N * per_rank``.
        per_rank: b.
    Returns:
        (N, N) int64 ``t`` with ``t[i, j]`` patches going from rank i to rank j; rows sum to ``counts``,
        columns to ``per_rank``; ``t[i, i] = min(c_i, b)``, so the off-diagonal sum is
        ``sum_i max(0, c_i - b)``, the minimum.
    """
    counts = np.asarray(counts, dtype=np.int64)
    n = len(counts)
    if counts.sum() != n * per_rank or np.any(counts < 0):
        raise ConfigError(f"patch counts {counts.tolist()}: must be >= 0 and sum to {n} ranks x {per_rank}")
    scheme = np.diag(np.minimum(counts, per_rank))
    surplus = np.maximum(counts - per_rank, 0)
    deficit = np.maximum(per_rank - counts, 0)
    senders, receivers = list(np.flatnonzero(surplus)), list(np.flatnonzero(deficit))
    i = j = 0
    while i < len(senders) and j < len(receivers):  # greedy matching: each step empties a sender or fills a receiver
        s, r = senders[i], receivers[j]
        moved = min(surplus[s], deficit[r])
        scheme[s, r] += moved
        surplus[s] -= moved
        deficit[r] -= moved
        i += surplus[s] == 0
        j += deficit[r] == 0
    return scheme


def assign_destinations(source: np.ndarray, scheme: np.ndarray) -> np.ndarray:
    """Destination of each patch: per source rank, in draw order, the first ``scheme[i, i]`` stay and the
    next ones go to the other ranks in increasing rank order.

    Args:
        source: (B,) int64 source rank per patch.
        scheme: (N, N) transfer scheme whose rows sum to the patches per source.
    Returns:
        (B,) int64 destination ranks.
    """
    destination = np.empty_like(source)
    for i in range(scheme.shape[0]):
        mine = np.flatnonzero(source == i)
        order = [i] + [j for j in range(scheme.shape[0]) if j != i]
        destination[mine] = np.repeat(order, scheme[i, order])
    return destination


def draw_batch_plan(positions: PositionTable, tile_ranks: np.ndarray, n_ranks: int, per_rank: int,
                    rng: np.random.Generator, balance: str = "classes") -> BatchPlan:
    """Draw one batch (paper 3.3.6): classes, positions, then the minimal transfer scheme.

    Args:
        positions: per tile, class index -> (n, 2) top-left positions.
        tile_ranks: (n_tiles,) rank holding each tile (:func:`assign_tiles`).
        n_ranks: N.
        per_rank: b, patches each rank ends with.
        rng: the batch's generator.
        balance: how classes are drawn (:func:`draw_patches`).
    Returns:
        The plan of ``N * b`` patches.
    """
    if per_rank < 1:
        raise ConfigError(f"batch_size {per_rank}: must be >= 1 patch per rank")
    tile_ranks = np.asarray(tile_ranks, dtype=np.int64)
    if len(tile_ranks) != len(positions):
        raise ConfigError(f"{len(tile_ranks)} tile ranks for {len(positions)} tiles: need one rank per tile")
    class_index, tile, row, col = draw_patches(positions, n_ranks * per_rank, rng, balance)
    source = tile_ranks[tile]
    scheme = transfer_scheme(np.bincount(source, minlength=n_ranks), per_rank)
    return BatchPlan(class_index, tile, row, col, source, assign_destinations(source, scheme), scheme, per_rank)


def plan_from_array(table: np.ndarray, tile_ranks: np.ndarray, n_ranks: int, per_rank: int) -> BatchPlan:
    """Rebuild a :class:`BatchPlan` from its broadcast form :meth:`BatchPlan.to_array` (B, 5) int64."""
    tile_ranks = np.asarray(tile_ranks, dtype=np.int64)
    class_index, tile, row, col, destination = (np.ascontiguousarray(c) for c in np.asarray(table, np.int64).T)
    source = tile_ranks[tile]
    scheme = np.bincount(source * n_ranks + destination, minlength=n_ranks * n_ranks).reshape(n_ranks, n_ranks)
    return BatchPlan(class_index, tile, row, col, source, destination, scheme, per_rank)


def send_order(plan: BatchPlan, rank: int) -> np.ndarray:
    """Plan indices rank ``rank`` extracts, in send-buffer order: by destination, then draw order."""
    mine = np.flatnonzero(plan.source == rank)
    return mine[np.argsort(plan.destination[mine], kind="stable")]


def receive_order(plan: BatchPlan, rank: int) -> np.ndarray:
    """Plan indices rank ``rank`` receives, in receive-buffer order: by source rank, then draw order.

    This is the order of the patches in the rank's batch (Alltoallv lays blocks out by source rank).
    """
    mine = np.flatnonzero(plan.destination == rank)
    return mine[np.argsort(plan.source[mine], kind="stable")]


def minimum_moves(counts: np.ndarray, per_rank: int) -> int:
    """``sum_i max(0, c_i - b)``: the fewest patches that must change rank."""
    return int(np.maximum(np.asarray(counts, dtype=np.int64) - per_rank, 0).sum())


def covering_windows(mask: np.ndarray, size: int) -> np.ndarray:
    """The size x size windows that hold every True pixel of ``mask`` exactly once.

    The cells of the grid of step ``size`` that hold a True pixel; a cell of the last row or column that would
    cross the edge is moved inside, and the part it then shares with its neighbour is not its own.

    Args:
        mask: (H, W) bool, H and W >= size.
        size: P.

    Returns:
        (n, 4) int64: top-left row and column of each window, then the first row and column of the window
        that are its own (0 but for the moved cells), row-major.
    """
    height, width = mask.shape
    if height < size or width < size:
        raise ConfigError(f"a {height} x {width} mask has no {size} x {size} window")
    windows = []
    for r in range(0, height, size):
        for c in range(0, width, size):
            if mask[r:r + size, c:c + size].any():
                row, col = min(r, height - size), min(c, width - size)
                windows.append((row, col, r - row, c - col))
    return np.array(windows, dtype=np.int64).reshape(-1, 4)
