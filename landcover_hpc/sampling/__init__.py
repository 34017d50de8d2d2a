"""Sampling: distributed class-balanced training patches (paper 3.3.2-3.3.6).

- ``plan``: pure batch plans: class-then-patch draws, tile-to-rank assignment, the minimal transfer scheme;
- ``transforms``: pure per-patch normalisation, spectral indices and augmentation;
- ``tiles``: a rank's tiles, held in memory within a budget or read patch by patch from the HDF5 store;
- ``exchange``: every MPI call (plan broadcast, one Alltoallv of patches per batch);
- ``sampler``: ``PatchSampler``, the iterator training consumes.
"""

from .plan import (PLAN_FIELDS, BatchPlan, assign_destinations, assign_tiles, available_classes, covering_windows,
                   draw_batch_plan, draw_patches, minimum_moves, plan_from_array, receive_order, send_order,
                   transfer_scheme)
from .sampler import STATE_FORMAT, TRAIN_STREAM, VALIDATION_STREAM, PatchSampler, SamplerOptions, batch_rngs
from .tiles import TilePatches, choose_in_memory
from .transforms import (INDEX_NAMES, N_AUGMENTATIONS, append_per_date, augment, draw_augmentations, normalise,
                         spectral_indices)

__all__ = [
    "PLAN_FIELDS", "BatchPlan", "assign_destinations", "assign_tiles", "available_classes", "covering_windows",
    "draw_batch_plan", "draw_patches", "minimum_moves", "plan_from_array", "receive_order", "send_order",
    "transfer_scheme",
    "STATE_FORMAT", "TRAIN_STREAM", "VALIDATION_STREAM", "PatchSampler", "SamplerOptions", "batch_rngs",
    "TilePatches", "choose_in_memory",
    "INDEX_NAMES", "N_AUGMENTATIONS", "append_per_date", "augment", "draw_augmentations", "normalise",
    "spectral_indices",
]
