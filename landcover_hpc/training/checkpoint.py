"""Training checkpoints: model weights, optimizer state, epoch and sampler state in one HDF5 file.

Written by rank 0 at the end of every epoch, and after the batch where a stop signal stopped the run, under
a temporary name and renamed (a killed job never leaves a half-written checkpoint); ``--resume`` reads it
on every rank. Arrays are HDF5 datasets, the state is a JSON attribute: no pickle. The state: ``step`` (the
next global step to run), ``epoch`` (the last completed epoch, 0-based; -1 before the first), ``best_kappa``,
``best_epoch``, ``sampler`` (its state dict) and, when ``step`` is inside an epoch, ``partial_epoch``
(``losses`` of that epoch's batches so far, ``seconds`` spent on them) for its history row.
"""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np

from ..artefact import open_artefact, write_header
from ..errors import InputFormatError
from ..io import atomic_path

__all__ = ["save_checkpoint", "load_checkpoint", "CHECKPOINT_FORMAT", "CHECKPOINT_FORMAT_VERSION"]

CHECKPOINT_FORMAT = "landcover_hpc.checkpoint"
CHECKPOINT_FORMAT_VERSION = 2
# version 0: checkpoints written before they carried a version; same layout, still resumable.
# version 1: end-of-epoch checkpoints only; version 2 may stop inside an epoch (state "partial_epoch").
_READABLE_VERSIONS = (0, 1, CHECKPOINT_FORMAT_VERSION)
_FIX = "delete it to restart the training from scratch"


def save_checkpoint(path: str | Path, model_weights: list[np.ndarray], optimizer_weights: list[np.ndarray],
                    state: dict) -> None:
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as h5:
        write_header(h5, CHECKPOINT_FORMAT, CHECKPOINT_FORMAT_VERSION)
        h5.attrs["state"] = json.dumps(state)
        for group, arrays in (("model", model_weights), ("optimizer", optimizer_weights)):
            g = h5.create_group(group)
            g.attrs["count"] = len(arrays)
            for i, a in enumerate(arrays):
                g.create_dataset(str(i), data=np.asarray(a))


def load_checkpoint(path: str | Path) -> tuple[list[np.ndarray], list[np.ndarray], dict]:
    """(model weights, optimizer weights, state) of a checkpoint."""
    path = Path(path)
    with open_artefact(path, CHECKPOINT_FORMAT, _READABLE_VERSIONS, _FIX, "landcover_hpc training checkpoint") as h5:
        try:
            arrays = [[h5[f"{g}/{i}"][...] for i in range(int(h5[g].attrs["count"]))] for g in ("model", "optimizer")]
            return arrays[0], arrays[1], json.loads(h5.attrs["state"])
        except (KeyError, ValueError, OSError) as exc:
            raise InputFormatError(f"{path}: incomplete training checkpoint ({exc}): {_FIX}") from None
