"""One artefact file per trained model: weights and everything prediction needs, written atomically.

File format (HDF5, no pickle, no serialised code):

- root attributes ``format = "landcover_hpc.model"``, ``format_version = 3``, ``payload_sha256`` (the SHA-256
  of the content, checked on load: see ``landcover_hpc.artefact.seal``) and ``metadata``: a JSON object
  (architecture spec, band names, class codes, nomenclature, spectral indices, dates, Sentinel-1 dates,
  software version, free ``extra`` entries);
- dataset ``percentiles``: ``(2, T*C)`` float64, 3rd and 97th percentile of every raw band channel;
- dataset ``s1_percentiles``: ``(2, T1*2)`` float64, those of the Sentinel-1 channels (``(2, 0)`` for a model
  without Sentinel-1); version 2 files, written before Sentinel-1, have none and load with ``(2, 0)``;
- group ``weights``: datasets ``000000``, ``000001``, ... in ``model.get_weights()`` order, each with
  attribute ``name`` (the Keras variable name).

``load_model`` rebuilds the network from the registry with the saved spec (optionally in another
precision) and loads the weights, checking their count and shapes; no custom objects are needed.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import h5py
import numpy as np
import tensorflow as tf

from ..artefact import damaged_error, open_artefact, seal, write_header
from ..errors import ConfigError, InputFormatError
from ..io import atomic_path
from .names import S1_CHANNELS_PER_DATE
from .registry import ModelSpec, model_spec

__all__ = ["ModelMetadata", "save_model", "load_model", "FORMAT", "FORMAT_VERSION"]

FORMAT = "landcover_hpc.model"
FORMAT_VERSION = 3  # 3: Sentinel-1 dates and percentiles; 2: sealed (payload_sha256)
_READABLE_VERSIONS = (2, 3)
_FIX = "train one with landcover-train"
_WHAT = "landcover_hpc model file"


@dataclass(frozen=True, eq=False)  # eq would compare the percentiles array ambiguously
class ModelMetadata:
    """What a trained model needs besides its weights to predict a map.

    Attributes:
        band_names: ``(C,)`` band names in input order, e.g. ``("B2", ..., "B12")``.
        class_codes: ``(K,)`` nomenclature codes; output channel k is ``class_codes[k]`` (class index k+1).
        percentiles: ``(2, T*C)`` float, rows 3rd and 97th percentile per raw channel (date-major), used as
            ``clip((x - p3) / (p97 - p3), 0, 1)`` before the extra channels are added.
        nomenclature: JSON-serialisable description of the nomenclature (names, colours, ...).
        spectral_indices: ``(E,)`` names of the extra channels appended after the bands of every date.
        dates: ``(T,)`` dates of the regular grid (``YYYYMMDD``), or empty.
        s1_dates: ``(T1,)`` Sentinel-1 dates of a Sentinel-1 model (``spec.n_s1_dates``), else empty; a tile
            is mapped only if its Sentinel-1 dates are these.
        s1_percentiles: ``(2, T1*2)`` float, the Sentinel-1 channels' 3rd and 97th percentiles (``(2, 0)``
            without Sentinel-1), used like ``percentiles`` on the channels after the Sentinel-2 ones.
        extra: further JSON-serialisable entries (training config, epochs, scores, ...).
        spec: the network spec; filled from the model by :func:`save_model`.
        software_version: ``landcover_hpc.__version__`` at save time; filled by :func:`save_model`.
    """

    band_names: tuple[str, ...]
    class_codes: tuple[int, ...]
    percentiles: np.ndarray
    nomenclature: dict[str, Any] = field(default_factory=dict)
    spectral_indices: tuple[str, ...] = ()
    dates: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)
    s1_dates: tuple[str, ...] = ()
    s1_percentiles: np.ndarray = field(default_factory=lambda: np.zeros((2, 0)))
    spec: ModelSpec | None = None
    software_version: str = ""

    def __post_init__(self):
        object.__setattr__(self, "band_names", tuple(str(b) for b in self.band_names))
        object.__setattr__(self, "class_codes", tuple(int(c) for c in self.class_codes))
        object.__setattr__(self, "spectral_indices", tuple(str(s) for s in self.spectral_indices))
        object.__setattr__(self, "dates", tuple(str(d) for d in self.dates))
        object.__setattr__(self, "percentiles", np.asarray(self.percentiles, dtype=np.float64))
        object.__setattr__(self, "s1_dates", tuple(str(d) for d in self.s1_dates))
        object.__setattr__(self, "s1_percentiles", np.asarray(self.s1_percentiles, dtype=np.float64).reshape(2, -1))

    def check(self, spec: ModelSpec) -> None:
        """Raise ConfigError unless the metadata sizes agree with ``spec`` (T, C, K, E, T1)."""
        expected = {
            "band_names": (len(self.band_names), spec.n_bands),
            "class_codes": (len(self.class_codes), spec.n_classes),
            "spectral_indices": (len(self.spectral_indices), spec.extra_channels_per_date),
            "s1_dates": (len(self.s1_dates), spec.n_s1_dates),
        }
        for key, (got, want) in expected.items():
            if got != want:
                raise ConfigError(
                    f"metadata {key} has {got} entries, the {spec.architecture} model needs {want}"
                )
        if self.dates and len(self.dates) != spec.n_dates:
            raise ConfigError(
                f"metadata dates has {len(self.dates)} entries, the model has {spec.n_dates} dates"
            )
        shape = (2, spec.n_dates * spec.n_bands)
        if self.percentiles.shape != shape:
            raise ConfigError(f"metadata percentiles has shape {self.percentiles.shape}, expected {shape}")
        if not np.isfinite(self.percentiles).all():
            raise ConfigError("metadata percentiles hold NaN or infinite values")
        s1_shape = (2, spec.n_s1_dates * S1_CHANNELS_PER_DATE)
        if self.s1_percentiles.shape != s1_shape:
            raise ConfigError(f"metadata s1_percentiles has shape {self.s1_percentiles.shape}, expected {s1_shape}")
        if not np.isfinite(self.s1_percentiles).all():
            raise ConfigError("metadata s1_percentiles hold NaN or infinite values")

    def _json(self) -> str:
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                  if f.name not in ("percentiles", "s1_percentiles")}
        values["spec"] = self.spec.to_dict() if self.spec else None
        for key in ("band_names", "class_codes", "spectral_indices", "dates", "s1_dates"):
            values[key] = list(values[key])
        try:
            return json.dumps(values)
        except TypeError as exc:
            raise ConfigError(
                f"model metadata is not JSON-serialisable (nomenclature or extra): {exc}"
            ) from exc


def save_model(path: str | Path, model: tf.keras.Model, metadata: ModelMetadata) -> ModelMetadata:
    """Write weights and metadata to one HDF5 file, atomically.

    Args:
        path: destination file (conventionally ``*.h5``); its folder is created if needed.
        model: a model built by ``get_model`` (or returned by :func:`load_model`).
        metadata: band names, class codes, percentiles, ...; ``spec`` and ``software_version`` are filled.

    Returns:
        The metadata as written (with ``spec`` and ``software_version``).

    Raises:
        ConfigError: the model was not built by ``get_model``, or the metadata does not fit the model.
    """
    from .. import __version__

    spec = model_spec(model)
    metadata = dataclasses.replace(metadata, spec=spec, software_version=__version__)
    metadata.check(spec)
    text = metadata._json()
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as f:
            write_header(f, FORMAT, FORMAT_VERSION)
            f.attrs["metadata"] = text
            f.create_dataset("percentiles", data=metadata.percentiles)
            f.create_dataset("s1_percentiles", data=metadata.s1_percentiles)
            group = f.create_group("weights")
            for i, (variable, value) in enumerate(zip(model.weights, model.get_weights())):
                dataset = group.create_dataset(f"{i:06d}", data=value)
                dataset.attrs["name"] = variable.name
            seal(f)
    return metadata


def load_model(path: str | Path, precision: str | None = None) -> tuple[tf.keras.Model, ModelMetadata]:
    """Rebuild a saved model and its metadata.

    Args:
        path: file written by :func:`save_model`.
        precision: ``"float32"`` or ``"bfloat16"`` to predict in another precision than saved; None keeps it.

    Returns:
        ``(model, metadata)``; the model is uncompiled (``predict_window`` / ``model(x)`` work directly).

    Raises:
        InputNotFoundError: the file does not exist.
        InputFormatError: it is not a landcover_hpc model file, or its weights do not fit its spec.
    """
    path = Path(path)
    with open_artefact(path, FORMAT, _READABLE_VERSIONS, _FIX, _WHAT) as f:
        try:
            values = json.loads(f.attrs["metadata"])
            percentiles = f["percentiles"][()]
            s1_percentiles = f["s1_percentiles"][()] if "s1_percentiles" in f else np.zeros((2, 0))  # version 2
            group = f["weights"]
            names = sorted(group)
            weights = [group[name][()] for name in names]
        except OSError as exc:
            raise damaged_error(path, exc, _WHAT, _FIX) from None
        except (KeyError, ValueError) as exc:
            raise InputFormatError(f"{path}: incomplete {_WHAT} ({exc}): {_FIX}") from None
    try:
        spec = ModelSpec.from_dict(values.pop("spec"))
        metadata = ModelMetadata(percentiles=percentiles, s1_percentiles=s1_percentiles, spec=spec, **values)
        metadata.check(spec)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:  # ConfigError is a ValueError
        raise InputFormatError(f"{path}: {_WHAT} with malformed metadata ({exc}): {_FIX}") from None
    model = spec.build(precision=precision) if precision else spec.build()
    _set_weights(model, weights, path)
    return model, metadata


def _set_weights(model: tf.keras.Model, weights: Sequence[np.ndarray], path: Path) -> None:
    expected = [tuple(v.shape) for v in model.weights]
    got = [tuple(w.shape) for w in weights]
    if expected != got:
        first = next(
            (i for i, (a, b) in enumerate(zip(expected, got)) if a != b), min(len(got), len(expected))
        )
        raise InputFormatError(
            f"{path}: its {len(got)} weight arrays do not fit the rebuilt {model.name} model "
            f"({len(expected)} expected, first difference at array {first}); the file is damaged or edited"
        )
    model.set_weights(weights)
