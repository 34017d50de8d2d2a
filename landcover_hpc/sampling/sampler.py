"""The distributed class-balanced patch sampler (paper 3.3.2 and 3.3.6), as a Python iterator.

Every rank holds its tiles (:func:`~landcover_hpc.sampling.plan.assign_tiles`: round robin); for each batch,
rank 0 draws the plan from the positions of all tiles and broadcasts it, each rank extracts the patches of
its tiles, one ``Alltoallv`` gives every rank its ``b`` patches, and each rank normalises, adds indices and
augments them. With ``sentinel1`` a patch also carries the tile's Sentinel-1 channels, in the same buffer as
its Sentinel-2 channels and labels (still one ``Alltoallv``), normalised with their own percentiles and
appended after the Sentinel-2 channels (and indices), then augmented with them. Every call that draws a batch is collective: all ranks of ``comm`` must make it, in the same
order.

Randomness: batch ``i`` of a stream depends only on ``(seed, stream, i)`` through
``np.random.SeedSequence([seed, stream, i])`` (two children: plan, augmentation), so the sampler's state is
its batch counter and a resumed run draws exactly the batches an uninterrupted one would have drawn.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from ..data.store import TileStore, read_dataset_summary, require_tiles, store_path
from ..data.prepare import dataset_percentiles
from ..errors import ConfigError, InputFormatError, LandcoverError
from ..parallel import raise_together
from . import exchange
from .plan import (BALANCES, PLAN_FIELDS, BatchPlan, assign_tiles, available_classes, covering_windows, draw_batch_plan,
                   plan_from_array, receive_order, send_order)
from .prior import patch_label_prior
from .tiles import DEFAULT_MEMORY_FRACTION, TilePatches, available_memory, choose_in_memory
from .transforms import INDEX_NAMES, augment, draw_augmentations, model_input

__all__ = ["TRAIN_STREAM", "VALIDATION_STREAM", "VALIDATION_SPLIT", "STATE_FORMAT", "SamplerOptions", "PatchSampler", "batch_rngs"]

TRAIN_STREAM = 0
VALIDATION_STREAM = 1
VALIDATION_SPLIT = "val"  # the store split validation batches come from; the test split is evaluation's alone
STATE_FORMAT = "landcover_hpc.sampler_state"


@dataclass(frozen=True)
class SamplerOptions:
    """Options of the patch sampler (defaults: the paper's).

    Attributes:
        batch_size: b, patches per rank and batch (global batch B = N x b).
        seed: root of all the sampler's randomness.
        augment: random rotation/flip of training patches (never of validation patches).
        indices: append NDVI, NDWI and brightness after each date's bands (C + 3 channels per date).
        balance: ``"classes"`` (paper: each patch's class drawn uniformly) or ``"none"`` (classes as frequent
            as their patch positions) for training batches.
        validation_balance: the same choice for validation batches. ``"none"`` (default): the validation
            patches' classes come as often as in the validation objects, so the validation kappa that picks
            ``best_model.h5`` and stops the training scores the class mix the test evaluation scores;
            ``"classes"`` scores each class equally, as the training batches see them.
        memory_budget: bytes of tile stacks a rank may hold in memory; tiles that do not fit are read patch
            by patch from their HDF5 store. None: 80 % of the node's available memory shared equally by the
            ranks of the node. 0: always read on demand.
        sentinel1: append each patch's T1*2 Sentinel-1 channels (VV, VH per date, normalised with the
            Sentinel-1 percentiles) after its Sentinel-2 channels: the input of the models of
            ``models.names.S1_MODELS``. Every tile needs a Sentinel-1 stack with the same dates.
    """

    batch_size: int = 8
    seed: int = 0
    augment: bool = True
    indices: bool = False
    memory_budget: int | None = None
    balance: str = "classes"
    validation_balance: str = "none"
    sentinel1: bool = False

    def validate(self) -> None:
        checks = [
            (isinstance(self.batch_size, int) and self.batch_size >= 1, "batch_size", "an integer >= 1"),
            (isinstance(self.seed, int) and self.seed >= 0, "seed", "an integer >= 0"),
            (self.memory_budget is None or self.memory_budget >= 0, "memory_budget", "None or >= 0 bytes"),
            (self.balance in BALANCES, "balance", " or ".join(BALANCES)),
            (self.validation_balance in BALANCES, "validation_balance", " or ".join(BALANCES)),
        ]
        for ok, key, allowed in checks:
            if not ok:
                raise ConfigError(f"sampler option {key}={getattr(self, key)!r}: must be {allowed}")


def batch_rngs(seed: int, stream: int, batch_index: int) -> tuple[np.random.Generator, np.random.Generator]:
    """(plan, augmentation) generators of one batch, from ``SeedSequence([seed, stream, batch_index])``."""
    plan_seed, augmentation_seed = np.random.SeedSequence([seed, stream, batch_index]).spawn(2)
    return np.random.default_rng(plan_seed), np.random.default_rng(augmentation_seed)


class PatchSampler:
    """Class-balanced patches of a prepared dataset, distributed over the ranks of ``comm``.

    Iterating yields training batches forever; each ``next()`` is collective. Use as a context manager or
    call :meth:`close` (collective).

    Args:
        store_dir: a ``landcover-prepare`` output folder (``<TILE_ID>.h5`` files and ``dataset.json``).
        comm: an mpi4py communicator (the sampler works on a private duplicate) or None for one process.
        options: :class:`SamplerOptions`.
        tiles: tile ids to use (default: every tile of the dataset), in the order ranks are assigned.
        percentiles: (2, T*C) normalisation percentiles; default: ``dataset.json``'s dataset-wide ones.

    Attributes:
        tile_ids: the dataset's tiles; ``tile_ranks[t]`` is the rank that holds tile t.
        local: this rank's :class:`TilePatches`, by tile index (empty on ranks with no tile).
        patch_size, n_dates, bands, class_codes: of the dataset; ``n_channels`` is T*C' (+ T1*2 with
            ``sentinel1``) of a yielded x.
        s1_dates: the T1 Sentinel-1 dates (``sentinel1``; else empty); s1_percentiles: (2, T1*2) float32
            their normalisation percentiles ((2, 0) without Sentinel-1).
        label_prior: (K,) float64 expected label mix of a training patch (``prior.patch_label_prior``).
        batch_index: the next training batch ``next()`` draws (the sampler's whole state).
        timings: seconds spent in the last batch: plan, extract, exchange, transform.
    """

    def __init__(self, store_dir: str | Path, comm=None, options: SamplerOptions = SamplerOptions(), *,
                 tiles: list[str] | None = None, percentiles: np.ndarray | None = None) -> None:
        options.validate()
        self.options = options
        self.store_dir = Path(store_dir)
        self.comm = exchange.duplicate(comm)
        self.rank, self.size = exchange.rank_and_size(self.comm)
        self.batch_index = 0
        self.timings: dict[str, float] = {}
        self.local: dict[int, TilePatches] = {}
        self._positions: dict[str, list[dict[int, np.ndarray]]] = {}
        self._validation_windows: dict[int, np.ndarray] = {}  # by local tile index, computed at first use

        error, meta = None, None
        try:
            self.tile_ids = require_tiles(self.store_dir, tiles)
            if self.rank == 0:
                meta = self._read_dataset(percentiles)
        except LandcoverError as exc:
            error = exc
        raise_together(self.comm, error, f"reading {self.store_dir}")
        meta = exchange.broadcast_object(self.comm, meta)
        self.patch_size, self.n_dates = meta["patch_size"], meta["n_dates"]
        self.bands, self.class_codes = tuple(meta["bands"]), tuple(meta["class_codes"])
        self.percentiles = np.asarray(meta["percentiles"], dtype=np.float32)
        self.s1_dates = tuple(meta["s1_dates"])
        self.s1_percentiles = np.asarray(meta["s1_percentiles"], dtype=np.float32).reshape(2, -1)
        self.n_s1_channels = self.s1_percentiles.shape[1]
        self.label_prior = np.asarray(meta["label_prior"])
        self._n_raw_channels = self.n_dates * len(self.bands) + self.n_s1_channels  # of a stored patch, int16
        self.n_channels = (self.n_dates * (len(self.bands) + (len(INDEX_NAMES) if options.indices else 0))
                           + self.n_s1_channels)
        self.tile_ranks = assign_tiles(len(self.tile_ids), self.size)

        budget = options.memory_budget
        if budget is None:
            budget = int(DEFAULT_MEMORY_FRACTION * available_memory() / exchange.ranks_on_node(self.comm))
        error = None
        try:
            mine = np.flatnonzero(self.tile_ranks == self.rank)
            stack_bytes = [2 * meta["n_pixels"][t] * self._n_raw_channels for t in mine]
            for t, in_memory in zip(mine, choose_in_memory(stack_bytes, budget)):
                self.local[int(t)] = TilePatches(store_path(self.store_dir, self.tile_ids[t]), in_memory,
                                                 sentinel1=options.sentinel1)
        except LandcoverError as exc:
            error = exc
        raise_together(self.comm, error, f"loading tiles of {self.store_dir}")

    # -- set-up (rank 0) -------------------------------------------------------------------------------
    def _read_dataset(self, percentiles: np.ndarray | None) -> dict[str, Any]:
        """Positions of every tile and split, and the dataset description, read on rank 0."""
        stores = [TileStore(store_path(self.store_dir, t)) for t in self.tile_ids]
        try:
            first = stores[0]
            for s in stores[1:]:
                if (s.bands, s.n_dates, s.patch_size, s.class_codes) != (first.bands, first.n_dates,
                                                                         first.patch_size, first.class_codes):
                    raise InputFormatError(
                        f"{s.path}: tile {s.tile_id} has {s.n_dates} dates, bands {list(s.bands)}, patch_size "
                        f"{s.patch_size}; {first.tile_id} has {first.n_dates}, {list(first.bands)}, "
                        f"{first.patch_size}: prepare all tiles with the same options")
            for split in ("train", VALIDATION_SPLIT):
                self._positions[split] = [
                    {k: pos for k, code in enumerate(s.class_codes, start=1) if len(pos := s.positions(split, code))}
                    for s in stores]
            if len(available_classes(self._positions["train"])) == 0:
                raise InputFormatError(f"{self.store_dir}: no training patch position in any tile: check the "
                                       f"reference data or prepare with a smaller patch_size than {first.patch_size}")
            if percentiles is None:
                percentiles = self._training_tiles_percentiles(stores)
            percentiles = np.asarray(percentiles, dtype=np.float32)
            if percentiles.shape != (2, first.n_channels):
                raise ConfigError(f"percentiles of shape {percentiles.shape}: expected (2, {first.n_channels})")
            label_prior = patch_label_prior((s.read_labels("train") for s in stores), self._positions["train"],
                                            first.patch_size, len(first.class_codes), self.options.balance)
            s1_dates, s1_percentiles = (), np.zeros((2, 0), np.float32)
            if self.options.sentinel1:
                s1_dates, s1_percentiles = first.s1_dates, self._training_tiles_percentiles(stores, sentinel1=True)
            return {"patch_size": first.patch_size, "n_dates": first.n_dates, "bands": list(first.bands),
                    "class_codes": list(first.class_codes), "percentiles": percentiles.tolist(),
                    "n_pixels": [s.height * s.width for s in stores], "s1_dates": list(s1_dates),
                    "s1_percentiles": s1_percentiles.tolist(), "label_prior": label_prior.tolist()}
        finally:
            for s in stores:
                s.close()

    def _training_tiles_percentiles(self, stores: list[TileStore], sentinel1: bool = False) -> np.ndarray:
        """3rd/97th percentiles of the tiles trained on only (a held-out tile must not shape the
        normalisation): dataset.json's when they are all its tiles, else from these tiles' pixel samples.
        With ``sentinel1``, those of the Sentinel-1 channels, after checking every tile has them, with the
        same dates."""
        if sentinel1:
            for s in stores:
                s.require_s1("sampling for a Sentinel-1 model (SamplerOptions.sentinel1)")
                if s.s1_dates != stores[0].s1_dates:
                    raise InputFormatError(
                        f"{s.path}: tile {s.tile_id} has {len(s.s1_dates)} Sentinel-1 dates ({s.s1_dates[0]}.."
                        f"{s.s1_dates[-1]}), {stores[0].tile_id} has {len(stores[0].s1_dates)} "
                        f"({stores[0].s1_dates[0]}..{stores[0].s1_dates[-1]}): give every tile's stack_s1.tif "
                        "the same dates and re-run landcover-prepare")
        key = "s1_percentiles" if sentinel1 else "percentiles"
        meta_path = self.store_dir / "dataset.json"
        if meta_path.is_file():
            meta = read_dataset_summary(self.store_dir)
            if sorted(t["tile"] for t in meta["tiles"]) == sorted(self.tile_ids) and meta.get(key):
                return np.asarray(meta[key], dtype=np.float32)
        return dataset_percentiles(stores, sentinel1=sentinel1)

    # -- batches ---------------------------------------------------------------------------------------
    def plan(self, batch_index: int, validation: bool = False) -> BatchPlan:
        """The plan of a batch, drawn on rank 0 and broadcast (collective)."""
        split, stream = (VALIDATION_SPLIT, VALIDATION_STREAM) if validation else ("train", TRAIN_STREAM)
        n_patches = self.size * self.options.batch_size
        table = None
        if self.rank == 0:
            if len(available_classes(self._positions[split])) == 0 and validation:
                table = np.full((n_patches, len(PLAN_FIELDS)), -1, dtype=np.int64)  # no validation position anywhere
            else:
                rng, _ = batch_rngs(self.options.seed, stream, batch_index)
                balance = self.options.validation_balance if validation else self.options.balance
                table = draw_batch_plan(self._positions[split], self.tile_ranks, self.size,
                                        self.options.batch_size, rng, balance).to_array()
        table = exchange.broadcast_plan(self.comm, table, n_patches, len(PLAN_FIELDS))
        if table[0, 0] < 0:
            raise InputFormatError(f"{self.store_dir}: no validation patch position in any tile: validation is "
                                   "impossible; prepare with a larger --val-fraction or a smaller --patch-size")
        return plan_from_array(table, self.tile_ranks, self.size, self.options.batch_size)

    def exchange(self, plan: BatchPlan, split: str = "train") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Extract this rank's patches of ``plan`` and exchange them (collective).

        Returns:
            raw (b, P, P, T*C [+ T1*2]) int16 patches of this rank (with ``sentinel1`` their Sentinel-1
            channels after the Sentinel-2 ones), labels (b, P, P) uint8 class indices 0..K, and (b,) int64
            their indices in the plan (:func:`~landcover_hpc.sampling.plan.receive_order`).
        """
        P, channels = self.patch_size, self._n_raw_channels
        start = time.perf_counter()
        order = send_order(plan, self.rank)
        send = np.empty((len(order), P, P, channels + 1), dtype=np.int16)
        for t, tile in self.local.items():
            slots = np.flatnonzero(plan.tile[order] == t)
            tile.extract(split, plan.row[order[slots]], plan.col[order[slots]], P, send, slots)
        extracted = time.perf_counter()
        received = exchange.exchange_patches(self.comm, send, plan.scheme[self.rank], plan.scheme[:, self.rank])
        self.timings.update(extract=extracted - start, exchange=time.perf_counter() - extracted)
        labels = received[..., -1].astype(np.uint8)
        return received[..., :-1], labels, receive_order(plan, self.rank)

    def batch(self, batch_index: int, validation: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Batch ``batch_index`` of the training stream, or of the validation stream (collective).

        Validation batches come from the validation objects' positions and labels (never the test objects:
        model selection must not see them), are never augmented, and depend only on
        ``(seed, batch_index)``: every evaluation sees the same patches.

        Returns:
            x (b, P, P, T*C' [+ T1*2]) float32 in [0, 1], date-major (C' = C, or C + 3 with indices; the
            Sentinel-1 channels last, with ``sentinel1``);
            y (b, P, P) uint8 class indices 0..K (0 = unlabelled).
        """
        start = time.perf_counter()
        plan = self.plan(batch_index, validation)
        planned = time.perf_counter()
        raw, labels, order = self.exchange(plan, VALIDATION_SPLIT if validation else "train")
        exchanged = time.perf_counter()
        x = self._model_input(raw)
        if self.options.augment and not validation:
            _, rng = batch_rngs(self.options.seed, TRAIN_STREAM, batch_index)
            x, labels = augment(x, labels, draw_augmentations(rng, plan.size)[order])
        self.timings.update(plan=planned - start, transform=time.perf_counter() - exchanged)
        return x, labels

    def _model_input(self, raw: np.ndarray) -> np.ndarray:
        """Normalised bands (+ indices, + Sentinel-1 channels) of raw int16 patches: what the model is fed."""
        return model_input(raw, self.percentiles, self.bands, self.options.indices,
                           s1_percentiles=self.s1_percentiles if self.options.sentinel1 else None)

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        return self

    def __next__(self) -> tuple[np.ndarray, np.ndarray]:
        batch = self.batch(self.batch_index)
        self.batch_index += 1
        return batch

    def validation_batches(self, n_batches: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """The first ``n_batches`` validation batches (collective per batch); the same at every call."""
        for i in range(n_batches):
            yield self.batch(i, validation=True)

    def validation_windows(self) -> Iterator[tuple[np.ndarray, np.ndarray, TilePatches]]:
        """Every validation pixel of this rank's tiles, once, as the test evaluation scores every test pixel.

        The P x P windows of :func:`~landcover_hpc.sampling.plan.covering_windows` over each local tile's
        validation labels, in batches of b (the last one padded with unlabelled windows), normalised and never
        augmented. Not collective: each rank reads its own tiles; ranks with more validation pixels yield more
        batches.

        Yields:
            x (b, P, P, T*C' [+ T1*2]) float32, y (b, P, P) uint8 class indices 0..K (0: not a validation
            pixel, or one of another window), and the tile they come from.
        """
        P, b = self.patch_size, self.options.batch_size
        for t, tile in self.local.items():
            windows = self._tile_validation_windows(t)
            for start in range(0, len(windows), b):
                chunk = windows[start:start + b]
                raw = np.zeros((b, P, P, self._n_raw_channels + 1), dtype=np.int16)
                tile.extract(VALIDATION_SPLIT, chunk[:, 0], chunk[:, 1], P, raw, np.arange(len(chunk)))
                y = raw[..., -1].astype(np.uint8)
                for slot, (own_row, own_col) in enumerate(chunk[:, 2:].tolist()):
                    y[slot, :own_row] = 0
                    y[slot, :, :own_col] = 0
                yield self._model_input(raw[..., :-1]), y, tile

    def n_validation_windows(self) -> int:
        """How many windows :meth:`validation_windows` reads on this rank (not collective)."""
        return sum(len(self._tile_validation_windows(t)) for t in self.local)

    def _tile_validation_windows(self, t: int) -> np.ndarray:
        if t not in self._validation_windows:
            labels = self.local[t].labels(VALIDATION_SPLIT)
            labels = self.local[t].store.read_labels(VALIDATION_SPLIT) if labels is None else labels
            self._validation_windows[t] = covering_windows(labels > 0, self.patch_size)
        return self._validation_windows[t]

    # -- state -----------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable state: with the same dataset, seed, b and N, :meth:`load_state_dict`
        makes the next batches those an uninterrupted run would draw."""
        return {"format": STATE_FORMAT, "version": 1, "batch_index": self.batch_index, "seed": self.options.seed,
                "batch_size": self.options.batch_size, "n_ranks": self.size, "tiles": list(self.tile_ids)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("format") != STATE_FORMAT:
            raise ConfigError(f"sampler state format {state.get('format')!r}: expected {STATE_FORMAT!r}")
        mine = self.state_dict()
        for key in ("seed", "batch_size", "n_ranks", "tiles"):
            if state.get(key) != mine[key]:
                raise ConfigError(f"sampler state {key}={state.get(key)!r}, this run has {mine[key]!r}: resume "
                                  f"with the same {key} to draw the same batches")
        self.seek(int(state["batch_index"]))

    def seek(self, batch_index: int) -> None:
        """Make ``next()`` draw batch ``batch_index`` (e.g. the optimizer's step count on resume)."""
        if batch_index < 0:
            raise ConfigError(f"batch_index {batch_index}: must be >= 0")
        self.batch_index = batch_index

    # -- life cycle ------------------------------------------------------------------------------------
    def close(self) -> None:
        """Release tiles and the private communicator (collective)."""
        for tile in self.local.values():
            tile.close()
        self.local.clear()
        if self.comm is not None:
            exchange.free(self.comm)
            self.comm = None

    def __enter__(self) -> "PatchSampler":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"PatchSampler(rank {self.rank}/{self.size}, tiles {[self.tile_ids[t] for t in self.local]}, "
                f"b={self.options.batch_size}, P={self.patch_size}, batch_index={self.batch_index})")
