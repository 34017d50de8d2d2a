"""Training checkpoints: model weights, optimizer state, epoch and sampler state in one HDF5 file.

Written by rank 0 at the end of every epoch under a temporary name and renamed (a killed job never leaves
a half-written checkpoint); ``--resume`` reads it on every rank. Arrays are HDF5 datasets, the state is a
JSON attribute: no pickle.
"""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np

from ..errors import InputFormatError
from ..io import atomic_path

__all__ = ["save_checkpoint", "load_checkpoint", "CHECKPOINT_FORMAT"]

CHECKPOINT_FORMAT = "landcover_hpc.checkpoint"


def save_checkpoint(path: str | Path, model_weights: list[np.ndarray], optimizer_weights: list[np.ndarray],
                    state: dict) -> None:
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as h5:
        h5.attrs.update({"format": CHECKPOINT_FORMAT, "state": json.dumps(state)})
        for group, arrays in (("model", model_weights), ("optimizer", optimizer_weights)):
            g = h5.create_group(group)
            g.attrs["count"] = len(arrays)
            for i, a in enumerate(arrays):
                g.create_dataset(str(i), data=np.asarray(a))


def load_checkpoint(path: str | Path) -> tuple[list[np.ndarray], list[np.ndarray], dict]:
    """(model weights, optimizer weights, state) of a checkpoint."""
    path = Path(path)
    try:
        with h5py.File(path, "r") as h5:
            if h5.attrs.get("format") != CHECKPOINT_FORMAT:
                raise InputFormatError(f"{path}: not a landcover_hpc training checkpoint")
            arrays = [[h5[f"{g}/{i}"][...] for i in range(int(h5[g].attrs["count"]))] for g in ("model", "optimizer")]
            return arrays[0], arrays[1], json.loads(h5.attrs["state"])
    except OSError as exc:
        raise InputFormatError(f"{path}: unreadable checkpoint ({exc}): delete it to restart from scratch") from None
