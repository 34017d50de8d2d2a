"""Maps of a tile from a trained Keras model (``landcover-predict``): the CNN's adapter to the map driver.

:func:`predict_tile` checks that the model fits the tile store and hands a :class:`KerasClassifier` to
:func:`.produce.produce_maps`, which owns the windows, reading, MPI sharing, resume and the map files. The
classifier normalises a window with the percentiles stored in the model (in the driver's reader thread,
into one of two reused input buffers) and runs the model's compiled forward pass on it; the class of a pixel
is the most probable one, its confidence rint(100 x that probability); with ``prior_correction`` the
probabilities are first moved from the class mix of the training patches to the reference's
(:func:`model_prior_weights`, sampling/prior.py). A Sentinel-1 model (``spec.n_s1_dates``
> 0) gets the window of the tile's Sentinel-1 stack too, read by the driver after the Sentinel-2 channels,
normalised with the model's Sentinel-1 percentiles and appended after the Sentinel-2 channels (as the sampler
does in training); the tile's Sentinel-1 dates must be the model's. A patch classifier
(``models.names.PATCH_MODELS``) gets :class:`.patches.PatchClassifier` instead, with the window overlap its
patches need.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..data.store import TileStore
from ..errors import InputFormatError, InputNotFoundError
from ..models.names import PATCH_MODELS
from ..sampling.prior import check_prior_reference, prior_settings, prior_weights, reweigh, tile_reference_prior
from ..sampling.transforms import model_input
from .produce import maps_from_probabilities, produce_maps, read_padded

__all__ = ["PredictOptions", "KerasClassifier", "model_prior_weights", "predict_tile", "read_padded"]


@dataclass(frozen=True)
class PredictOptions:
    window: int = 512  # window side, px (multiple of 4)
    overlap: int = 16  # px shared by neighbouring windows (multiple of 4); each keeps its pixels >= overlap/2 px
                       # from its border (except on the tile's edges)
    precision: str | None = None  # "float32" | "bfloat16"; None: as the model was saved
    checkpoint_every: int = 4  # rounds of windows between two resume points
    force: bool = False
    quicklook: bool = True
    patch_stride: int = 8  # patch classifiers (models.names.PATCH_MODELS): px between patch centres, the side of
                           # the block given each patch's class (prediction/patches.py); unused by dense models
    prior_correction: bool = False  # posteriors moved from the training patches' class mix to the reference's
                                    # (sampling/prior.py), with the priors the model file stores
    prior_reference: str = "global"  # the reference mix: "global", the training objects of every training tile
                                     # (in the model file); "tile", those of the tile being mapped (its store)

    def __post_init__(self) -> None:
        check_prior_reference(self.prior_reference)


class KerasClassifier:
    """A trained Keras model as a :class:`.produce.WindowClassifier`.

    Args:
        model, meta: from ``landcover_hpc.models.load_model``.
        precision: the precision asked for (part of the map signature), None: as the model was saved.
        prior_weights: (K,) weights of the probabilities before the most probable class is taken
            (:func:`model_prior_weights`), None: the model's probabilities as they are.
        prior_reference: the reference mix the weights were computed for (part of the map signature).
    """

    progress_label = "predict"

    def __init__(self, model, meta, precision: str | None = None, prior_weights: np.ndarray | None = None,
                 prior_reference: str = "global") -> None:
        from ..models import forward_function

        self.model, self.meta = model, meta
        self.architecture = self.title = meta.spec.architecture if meta.spec else ""
        # a map made without prior correction keeps the signature it had before the option existed
        self.settings = {"precision": precision, **prior_settings(prior_weights is not None, prior_reference)}
        self._prior_weights = prior_weights
        self.tags = {"precision": precision or (meta.spec.precision if meta.spec else "float32")}
        self.nomenclature = meta.nomenclature
        self.sentinel1 = bool(meta.spec and meta.spec.n_s1_dates)  # the driver reads the S1 window too
        self._forward = forward_function(model)
        self._n_inputs = model.input_shape[-1]
        # two reused model-input buffers: window i is normalised into buffer i % 2 while the model reads the
        # other one (window i - 1's, classified before window i + 1 is prepared)
        self._inputs = [np.empty(0, np.float32), np.empty(0, np.float32)]

    def prepare(self, stack: np.ndarray, valid: np.ndarray, slot: int) -> tuple[np.ndarray, np.ndarray]:
        """(h, w, T*C' [+ T1*2]) float32 model input of ``stack`` (h, w, T*C [+ T1*2]) int16, and ``valid``."""
        size = valid.size * self._n_inputs
        if self._inputs[slot].size < size:
            self._inputs[slot] = np.empty(size, np.float32)
        out = self._inputs[slot][:size].reshape(*valid.shape, self._n_inputs)
        meta = self.meta
        return model_input(stack, meta.percentiles, meta.band_names, bool(meta.spectral_indices), out=out,
                           s1_percentiles=meta.s1_percentiles if self.sentinel1 else None), valid

    def classify(self, prepared: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        x, valid = prepared
        probs = self._forward(x[None]).numpy()[0]
        return maps_from_probabilities(self.posteriors(probs), valid, self.meta.class_codes)

    def posteriors(self, probs: np.ndarray) -> np.ndarray:
        """(..., K) probabilities as mapped: the model's, or with prior weights w the renormalised ``probs * w``
        (Bayes' rule for the reference's class mix, sampling/prior.py)."""
        return probs if self._prior_weights is None else reweigh(probs, self._prior_weights)


def model_prior_weights(meta, model_path: str | Path, store: TileStore | None = None) -> np.ndarray:
    """(K,) :func:`.sampling.prior.prior_weights` of the class priors a model file stores (``meta.extra``), with
    the reference's mix the model stores or, given the ``store`` of the tile being mapped, that tile's
    (:func:`.sampling.prior.tile_reference_prior`).

    Raises:
        InputFormatError: a model file without them; a tile store without training objects.
    """
    priors = meta.extra.get("class_priors")
    if not priors:
        raise InputFormatError(f"{model_path}: stores no class priors (trained before landcover-train recorded "
                               "them): retrain it, or predict without --prior-correction")
    reference = priors["reference"] if store is None else tile_reference_prior(store, meta.class_codes)
    return prior_weights(priors["training_patches"], reference, str(model_path))


def _check_compatible(store: TileStore, meta, model_path: Path) -> None:
    if tuple(store.bands) != tuple(meta.band_names):
        raise InputFormatError(f"{store.path}: bands {' '.join(store.bands)} differ from those the model {model_path} "
                               f"was trained on ({' '.join(meta.band_names)}): prepare the tile with the same bands")
    if store.n_channels != meta.percentiles.shape[1]:
        raise InputFormatError(f"{store.path}: {store.n_dates} dates x {store.n_bands} bands, the model {model_path} "
                               f"expects {meta.percentiles.shape[1] // len(meta.band_names)} dates: gap-fill the tile "
                               "onto the model's date grid")
    if meta.spec is not None and meta.spec.n_s1_dates:
        store.require_s1(f"the Sentinel-1 model {model_path}")
        if tuple(store.s1_dates) != tuple(meta.s1_dates):
            raise InputFormatError(
                f"{store.path}: Sentinel-1 dates {len(store.s1_dates)} ({store.s1_dates[0]}..{store.s1_dates[-1]}) "
                f"differ from the {len(meta.s1_dates)} the model {model_path} was trained on ({meta.s1_dates[0]}.."
                f"{meta.s1_dates[-1]}): give the tile's stack_s1.tif the model's Sentinel-1 dates and re-run "
                "landcover-prepare")


def predict_tile(store_path: str | Path, model_path: str | Path, out_dir: str | Path,
                 options: PredictOptions = PredictOptions(), comm=None, loaded=None) -> dict:
    """Predict one prepared tile into ``out_dir/<TILE>_classes.tif`` and ``_confidence.tif``.

    Args:
        store_path: the tile's ``<TILE>.h5`` store.
        model_path: a model saved by training (``landcover_hpc.models.save_model``).
        comm: mpi4py communicator to share the windows over, or None for one process.
        loaded: ``(model, metadata)`` already loaded from ``model_path`` with ``options.precision`` (when
            mapping several tiles with one model), else the model is loaded here.
    Returns:
        summary: paths, windows, pixels, seconds, pixels/s, whether it was skipped as up to date.
    """
    from ..models import load_model

    model_path = Path(model_path)
    if not model_path.is_file():
        raise InputNotFoundError(f"model {model_path} not found: train one with landcover-train or pass --model")
    store = TileStore(store_path)
    try:
        model, meta = loaded if loaded is not None else load_model(model_path, precision=options.precision)
        _check_compatible(store, meta, model_path)
        if meta.spec is not None and meta.spec.architecture in PATCH_MODELS:
            from .patches import PatchClassifier, patch_options

            if options.prior_correction:  # its training mix is of whole patches' classes, not of pixels
                raise InputFormatError(f"{model_path}: --prior-correction is for dense models; the patch classifier "
                                       f"{meta.spec.architecture} learnt the classes of whole patches: predict "
                                       "without it")
            classifier = PatchClassifier(model, meta, options.precision, options.patch_stride)
            options = patch_options(options, classifier.patch_size)
        else:
            weights = None
            if options.prior_correction:
                weights = model_prior_weights(meta, model_path, store if options.prior_reference == "tile" else None)
            classifier = KerasClassifier(model, meta, options.precision, weights, options.prior_reference)
        return produce_maps(store, classifier, model_path, out_dir, options, comm)
    finally:
        store.close()
