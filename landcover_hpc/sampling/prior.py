"""Class priors of training: the label mix the sampler's patches teach, against the reference's.

The class-balanced sampler (paper 3.3.6) draws a patch's class uniformly, so the network learns class
posteriors under the label mix of those patches, ``pi_train``, not under the landscape's. Where the two
differ, Bayes' rule gives the posterior under the reference's mix ``pi_ref`` (Saerens et al. 2002, "Adjusting
the outputs of a classifier to new a priori probabilities"):

    p_ref(k | x) = p_train(k | x) * w_k / sum_j p_train(j | x) * w_j,   w_k = pi_ref(k) / pi_train(k).

:func:`patch_label_prior` computes ``pi_train`` exactly as the sampler draws (its expectation, not a sample of
it); training stores both priors in the model file and ``landcover-predict --prior-correction`` applies the
weights (:func:`prior_weights`, :func:`reweigh`). The Random Forest's training sample (a fixed number of pixels
per class) is off the reference's mix too: ``landcover-rf predict --prior-correction`` applies the same rule to
its scores, with its sample's mix as ``pi_train``. Pure functions of label rasters and positions; no MPI.
"""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..errors import ConfigError, InputFormatError
from .plan import PositionTable, available_classes

__all__ = ["PRIOR_REFERENCES", "patch_label_prior", "reference_prior", "tile_reference_prior", "prior_weights",
           "reweigh", "check_prior_reference", "prior_settings"]

PRIOR_REFERENCES = ("global", "tile")  # the reference mix: every training tile's objects, or the mapped tile's
MAX_POSITIONS = 4096  # per class and tile: evenly spaced positions beyond this (a full tile has millions)
_CHUNK = 2048  # positions whose patches are gathered at once (2 MB of uint8 labels at 32 px)


def patch_label_prior(labels: Iterable[np.ndarray], positions: PositionTable, patch_size: int, n_classes: int,
                      balance: str = "classes") -> np.ndarray:
    """(K,) float64 share of each class among the labelled pixels of the sampler's training patches.

    Args:
        labels: per tile (in the order of ``positions``), (H, W) uint8 training labels, class index 1..K, 0 =
            unlabelled (the pixels the loss ignores); an iterator reads one tile's at a time.
        positions: per tile, class index -> (n, 2) top-left (row, col) of the valid patches (the sampler's).
        patch_size: patch side, px.
        balance: the sampler's draw (``plan.draw_patches``): ``"classes"``, each class with a position
            equally likely; ``"none"``, a class as likely as its share of the positions.
    Returns:
        pi_train, summing to 1: the expected label mix of a drawn patch. A class with more than
        ``MAX_POSITIONS`` positions on a tile is averaged over that many evenly spaced ones.
    """
    classes = available_classes(positions)
    pixels = np.zeros((n_classes + 1, n_classes + 1))  # [drawn class, label]: summed over its positions
    n_positions = np.zeros(n_classes + 1)
    for tile_labels, tile_positions in zip(labels, positions):
        windows = sliding_window_view(tile_labels, (patch_size, patch_size))
        for k, pos in tile_positions.items():
            pos = np.asarray(pos)
            if not len(pos):
                continue
            kept = pos[np.linspace(0, len(pos) - 1, MAX_POSITIONS).astype(np.int64)] if len(pos) > MAX_POSITIONS \
                else pos
            counts = np.zeros(n_classes + 1)
            for start in range(0, len(kept), _CHUNK):
                block = windows[kept[start:start + _CHUNK, 0], kept[start:start + _CHUNK, 1]]
                counts += np.bincount(block.ravel(), minlength=n_classes + 1)[:n_classes + 1]
            pixels[k] += counts * len(pos) / len(kept)
            n_positions[k] += len(pos)
    draw = np.zeros(n_classes + 1)
    if balance == "classes":
        draw[classes] = 1.0 / len(classes)
    else:
        draw[classes] = n_positions[classes] / n_positions[classes].sum()
    per_patch = pixels[classes, 1:] / n_positions[classes, None]  # expected labels of one patch of class k
    mix = (draw[classes, None] * per_patch).sum(axis=0)
    return mix / mix.sum()


def reference_prior(train_pixels: np.ndarray) -> np.ndarray:
    """(K,) float64 share of each class among the training objects' labelled pixels ((K,) counts)."""
    counts = np.asarray(train_pixels, dtype=np.float64)
    return counts / counts.sum()


def tile_reference_prior(store, class_codes: Sequence[int]) -> np.ndarray:
    """(K,) float64 share of each class among the labelled pixels of one tile's training objects, in the order of
    ``class_codes``: the reference of ``prior_reference: tile``, the landscape of the tile being mapped (a mountain
    tile's moorland, an urban tile's fabric) rather than all training tiles' mix.

    Args:
        store: the tile's ``data.store.TileStore``.
    Raises:
        InputFormatError: the tile has no training object (nothing to take its mix from).
    """
    counts = dict(zip(store.class_codes, store.class_counts("train")))
    pixels = np.array([counts.get(code, 0) for code in class_codes], dtype=np.float64)
    if pixels.sum() <= 0:
        raise InputFormatError(f"{store.path}: tile {store.tile_id} has no training object to take its class mix "
                               "from: map it with prior_reference global (--prior-reference global)")
    return reference_prior(pixels)


def prior_weights(train_prior: Sequence[float], reference_prior: Sequence[float], where: str = "") -> np.ndarray:
    """(K,) float32 w_k = pi_ref(k) / pi_train(k); 1 for a class the patches never showed (no evidence to
    move its posterior), 0 for a class absent from the reference.

    Raises:
        InputFormatError: the priors do not have one value per class.
    """
    train, ref = np.asarray(train_prior, np.float64), np.asarray(reference_prior, np.float64)
    if train.shape != ref.shape or train.ndim != 1:
        raise InputFormatError(f"{where}: class priors of {train.size} and {ref.size} values, expected one per "
                               "class each: retrain the model with this version of landcover-train")
    weights = np.where(train > 0, ref / np.where(train > 0, train, 1.0), 1.0)
    return np.where(ref > 0, weights, 0.0).astype(np.float32)


def reweigh(scores: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(..., K) ``scores * weights`` renormalised to sum 1 over the last axis: posteriors (or vote fractions) moved
    to the reference's class mix by :func:`prior_weights`. A row whose weighted scores are all 0 (every tree voted
    for classes the reference does not hold) keeps its scores: nothing to choose among otherwise."""
    weighted = scores * weights
    total = weighted.sum(axis=-1, keepdims=True)
    return np.where(total > 0, weighted / np.maximum(total, np.finfo(weighted.dtype).tiny), scores)


def check_prior_reference(reference: str) -> str:
    """``reference`` if it is one of :data:`PRIOR_REFERENCES`, else :class:`ConfigError`."""
    if reference not in PRIOR_REFERENCES:
        raise ConfigError(f"prior_reference = {reference!r}: allowed {', '.join(PRIOR_REFERENCES)}")
    return reference


def prior_settings(corrected: bool, reference: str) -> dict:
    """The map-signature entries of a prior correction: none without it (a map keeps the signature it had
    before the option existed), ``prior_correction`` with it, and ``prior_reference`` unless global."""
    if not corrected:
        return {}
    return {"prior_correction": True, **({"prior_reference": reference} if reference != "global" else {})}
