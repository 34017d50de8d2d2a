"""Training checkpoints: model weights, optimizer state, epoch and sampler state in one HDF5 file.

Written by rank 0 at the end of every epoch, and after the batch where a stop signal stopped the run, under
a temporary name and renamed (a killed job never leaves a half-written checkpoint); ``--resume`` reads it
on every rank. Arrays are HDF5 datasets, the state is a JSON attribute: no pickle. The state: ``step`` (the
next global step to run), ``epoch`` (the last completed epoch, 0-based; -1 before the first), ``best_kappa``,
``best_epoch``, ``sampler`` (its state dict), ``spec`` (the model's ``ModelSpec`` as a dict: a resumed run
must build the same network) and, when ``step`` is inside an epoch, ``partial_epoch`` (``losses`` of that
epoch's batches so far, ``seconds`` spent on them) for its history row.
"""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np

from ..artefact import damaged_error, open_artefact, seal, write_header
from ..errors import InputFormatError
from ..io import atomic_path

__all__ = ["save_checkpoint", "load_checkpoint", "check_resumable", "CHECKPOINT_FORMAT", "CHECKPOINT_FORMAT_VERSION"]

CHECKPOINT_FORMAT = "landcover_hpc.checkpoint"
# version 4: the state holds the model spec; 3: sealed (payload_sha256) and may stop inside an epoch (state
# "partial_epoch"). Versions 0-3 are no longer read: a version 3 checkpoint of a grouped model may hold the
# weights of a network on uncentred inputs (models.names.DEFAULT_CENTRE_INPUT), which its spec would not say.
CHECKPOINT_FORMAT_VERSION = 4
_FIX = "delete it to restart the training from scratch"
_WHAT = "landcover_hpc training checkpoint"


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
        seal(h5)


def load_checkpoint(path: str | Path) -> tuple[list[np.ndarray], list[np.ndarray], dict]:
    """(model weights, optimizer weights, state) of a checkpoint."""
    path = Path(path)
    with open_artefact(path, CHECKPOINT_FORMAT, (CHECKPOINT_FORMAT_VERSION,), _FIX, _WHAT) as h5:
        try:
            arrays = [[h5[f"{g}/{i}"][...] for i in range(int(h5[g].attrs["count"]))] for g in ("model", "optimizer")]
            state = json.loads(h5.attrs["state"])
        except OSError as exc:
            raise damaged_error(path, exc, _WHAT, _FIX) from None
        except (KeyError, ValueError) as exc:
            raise InputFormatError(f"{path}: incomplete training checkpoint ({exc}): {_FIX}") from None
    if not isinstance(state, dict):
        raise InputFormatError(f"{path}: training checkpoint state is a {type(state).__name__}, not an object: {_FIX}")
    return arrays[0], arrays[1], state


def check_resumable(path: str | Path, model_weights: list[np.ndarray], state: dict, model, model_name: str) -> None:
    """Raise one line unless a loaded checkpoint fits the run about to resume from it: its weight arrays have
    the shapes of ``model`` (built from the config's ``model.name`` = ``model_name``), its state has the
    keys the trainer reads, and its spec is ``model``'s but for the precision (weights are float32 in both).

    Raises:
        InputFormatError: another run's checkpoint, or the model config changed since it was written.
    """
    expected = [tuple(v.shape) for v in model.weights]
    got = [tuple(np.shape(w)) for w in model_weights]
    if got != expected:
        first = next((i for i, (a, b) in enumerate(zip(expected, got)) if a != b), min(len(got), len(expected)))
        raise InputFormatError(
            f"{path}: its {len(got)} model weight arrays do not fit the {model_name} model of this config "
            f"({len(expected)} arrays, first difference at array {first}): it is another run's checkpoint or "
            f"model.* changed since it was written: resume with that run's config, or {_FIX}")
    types = {"epoch": int, "best_kappa": (int, float), "sampler": dict, "spec": dict}
    wrong = [key for key, kind in types.items() if not isinstance(state.get(key), kind)]
    if wrong:
        raise InputFormatError(f"{path}: training checkpoint state lacks or mistypes {', '.join(wrong)}: {_FIX}")
    from ..models import model_spec  # TensorFlow: imported by the trainer only

    saved, built = (_without_precision(spec) for spec in (state["spec"], model_spec(model).to_dict()))
    if saved != built:
        changed = "; ".join(f"{key} {saved.get(key)!r} there, {built.get(key)!r} here"
                            for key in sorted(saved.keys() | built.keys()) if saved.get(key) != built.get(key))
        raise InputFormatError(f"{path}: its model is not the {model_name} model of this config ({changed}): "
                               f"model.* changed since it was written: resume with that run's config, or {_FIX}")


def _without_precision(spec: dict) -> dict:
    """A spec dict less its precision: a run may resume in another precision (its weights are float32)."""
    return {key: value for key, value in spec.items() if key != "precision"}
