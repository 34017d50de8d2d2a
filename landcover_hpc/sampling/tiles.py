"""The tiles a rank holds and patch extraction from them: whole stack in memory, or reads on demand.

At full scale a tile stack is 79.6 GB of int16; the paper's nodes (120 GB) load one whole tile, so a patch
is a memory copy. A rank whose memory budget does not fit its tile(s) reads each patch from the chunked
HDF5 store instead (slower, but it works on a small node). Labels of a split are loaded whole in memory
mode (1 byte per pixel) and read per patch otherwise.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np

from ..data.store import SPLITS, TileStore
from ..errors import ConfigError

__all__ = ["DEFAULT_MEMORY_FRACTION", "available_memory", "choose_in_memory", "TilePatches"]

#: Share of the node's available memory the ranks of a node may fill with tile stacks by default.
DEFAULT_MEMORY_FRACTION = 0.8


def available_memory() -> int:
    """Bytes of memory available to new allocations on this node (Linux MemAvailable, else free pages)."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def choose_in_memory(stack_bytes: Sequence[int], memory_budget: int) -> list[bool]:
    """Which of a rank's tiles to hold in memory: in tile order, while their stacks fit the budget.

    Args:
        stack_bytes: size of each tile's (H, W, T*C) int16 stack, bytes.
        memory_budget: bytes this rank may use for stacks; 0 reads every patch on demand.
    Returns:
        One flag per tile.
    """
    if memory_budget < 0:
        raise ConfigError(f"memory_budget {memory_budget}: must be >= 0 bytes")
    used, flags = 0, []
    for size in stack_bytes:
        fits = used + size <= memory_budget
        used += size if fits else 0
        flags.append(fits)
    return flags


class TilePatches:
    """Patch extraction from one tile, from memory or from its HDF5 store.

    Args:
        path: the tile's ``<TILE_ID>.h5`` store.
        in_memory: load the whole (H, W, T*C) int16 stack now (True) or read each patch on demand.
        cache_bytes: HDF5 chunk cache for on-demand reads.
        sentinel1: extract the (T1*2) Sentinel-1 channels too, after the T*C Sentinel-2 ones.

    Raises:
        InputFormatError: ``sentinel1`` and the tile has no Sentinel-1 stack.
    """

    def __init__(self, path: str | Path, in_memory: bool, cache_bytes: int = 64 * 2**20,
                 sentinel1: bool = False) -> None:
        self.store = TileStore(path, cache_bytes=cache_bytes)
        self.in_memory = in_memory
        self.sentinel1 = sentinel1
        if sentinel1:
            self.store.require_s1("sampling for a Sentinel-1 model (SamplerOptions.sentinel1)")
        self.stack: np.ndarray | None = (self.store.read_window(0, 0, self.store.height, self.store.width)
                                          if in_memory else None)
        self.stack_s1: np.ndarray | None = (self.store.read_s1_window(0, 0, self.store.height, self.store.width)
                                             if in_memory and sentinel1 else None)
        self._labels: dict[str, np.ndarray] = {}

    @property
    def tile_id(self) -> str:
        return self.store.tile_id

    def close(self) -> None:
        self.stack = self.stack_s1 = None
        self._labels.clear()
        self.store.close()

    def labels(self, split: str) -> np.ndarray | None:
        """(H, W) uint8 labels of a split when held in memory, else None."""
        if not self.in_memory:
            return None
        if split not in self._labels:
            self._labels[split] = self.store.read_labels(split)
        return self._labels[split]

    def extract(self, split: str, rows: np.ndarray, cols: np.ndarray, size: int, out: np.ndarray,
                slots: np.ndarray) -> None:
        """Copy patches and their labels into rows ``slots`` of ``out``.

        Args:
            split: a store split (``"train"``, ``"val"`` or ``"test"``) whose labels ride with the patches.
            rows, cols: (n,) top-left corners, px.
            size: P.
            out: (m, P, P, T*C [+ T1*2] + 1) int16; channels ``:T*C`` get the stack, then (``sentinel1``) the
                T1*2 Sentinel-1 channels, the last one the labels.
            slots: (n,) rows of ``out`` to fill.
        """
        if split not in SPLITS:
            raise ConfigError(f"split {split!r}: expected one of {SPLITS}")
        labels = self.labels(split)
        s2 = np.s_[:self.store.n_channels]
        s1 = np.s_[self.store.n_channels:self.store.n_channels + self.store.n_s1_channels]
        for slot, r, c in zip(slots.tolist(), rows.tolist(), cols.tolist()):
            if self.stack is not None and labels is not None:
                out[slot, :, :, s2] = self.stack[r:r + size, c:c + size]
                if self.sentinel1:
                    out[slot, :, :, s1] = self.stack_s1[r:r + size, c:c + size]
                out[slot, :, :, -1] = labels[r:r + size, c:c + size]
            else:
                out[slot, :, :, s2] = self.store.read_window(r, c, size, size)
                if self.sentinel1:
                    out[slot, :, :, s1] = self.store.read_s1_window(r, c, size, size)
                out[slot, :, :, -1] = self.store.read_labels(split, r, c, size, size)
