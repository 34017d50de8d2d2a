"""Maps of a patch classifier (``models.names.PATCH_MODELS``): a P x P patch every s px, its class on the s x s
block at its centre.

Qiu et al.'s ResNets classify a whole P x P patch; run densely on a 512 px window they would give the window one
class. :class:`PatchClassifier` is their :class:`.produce.WindowClassifier`: it cuts a window into s x s blocks
(``s = PredictOptions.patch_stride``, default 8; the window's last block row/column may stick out past its
edge), classifies for every block the P x P patch centred on it (``(P - s) / 2`` px of context on each side;
past the window's edge the pixels are edge-replicated, as the driver pads past the tile's bottom/right edge)
and gives the block that patch's class and confidence. The patches are cut from the normalised window and
classified ``batch_size`` at a time through the model's ``(B, K)`` output (layer ``patch_probabilities``).
P and s must have the same parity (the block is centred), s <= P.

Context across windows: a block is centred in the patch, and its pixels are at most s - 1 px from its
start, so a core pixel whose patch lies wholly inside its window needs ``(P - s) / 2 + s - 1`` px between it and
the window's border: :func:`patch_overlap` raises the window overlap to ``P + s - 2`` rounded up to a multiple
of 4 (40 px for P = 32, s = 8) when the configured one is smaller. The maps then do not depend on the window
plan except where the blocks' grid restarts, at each window's origin: with ``window - overlap`` a multiple of s
(512 - 40 = 472 = 59 x 8), every window's blocks fall on one grid over the tile, and the map is that of one
sliding pass over the whole tile.

Cost: (H x W) / s^2 patches of P^2 px, i.e. P^2 / s^2 = 16 classified px per map px at P = 32, s = 8, with
4 (res_ensemble4) ResNet-14s per patch (benchmarks/bench_patch_map.py measures it against FG-UNET's dense map).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from ..errors import ConfigError
from .produce import maps_from_probabilities
from .predictor import KerasClassifier

__all__ = ["PatchClassifier", "patch_overlap", "DEFAULT_PATCH_BATCH"]

#: Patches per model call (128 x 32 x 32 x 330 float32 = 173 MB of input at the demo's T*C).
DEFAULT_PATCH_BATCH = 128


def _check_stride(patch_size: int, stride: int) -> None:
    if not 1 <= stride <= patch_size or (patch_size - stride) % 2:
        raise ConfigError(f"patch_stride={stride}: must be in 1..{patch_size} with the parity of the model's "
                          f"{patch_size} px patches (the block is at the patch's centre), e.g. 8")


def patch_overlap(overlap: int, patch_size: int, stride: int) -> int:
    """The window overlap a patch map needs: ``overlap``, or ``P + s - 2`` rounded up to a multiple of 4 if more."""
    _check_stride(patch_size, stride)
    return max(overlap, 4 * math.ceil((patch_size + stride - 2) / 4))


def patch_options(options, patch_size: int):
    """``options`` (``PredictOptions``) with the overlap :func:`patch_overlap` needs."""
    return dataclasses.replace(options, overlap=patch_overlap(options.overlap, patch_size, options.patch_stride))


class PatchClassifier(KerasClassifier):
    """A trained patch classifier as a :class:`.produce.WindowClassifier` (see the module docstring).

    Args:
        model, meta: from ``landcover_hpc.models.load_model`` (a model of ``names.PATCH_MODELS``).
        precision: the precision asked for (part of the map signature), None: as the model was saved.
        stride: s, px between the centres of neighbouring patches (the block side).
        batch_size: patches per model call.
    """

    def __init__(self, model, meta, precision: str | None = None, stride: int = 8,
                 batch_size: int = DEFAULT_PATCH_BATCH) -> None:
        import tensorflow as tf

        from ..models.resnets import DEFAULT_PATCH_SIZE

        super().__init__(model, meta, precision)
        self.patch_size = int(meta.spec.options.get("patch_size", DEFAULT_PATCH_SIZE))
        _check_stride(self.patch_size, stride)
        self.stride, self.batch_size = stride, batch_size
        self.settings = {**self.settings, "patch_stride": stride}
        self.tags = {**self.tags, "patch_size": self.patch_size, "patch_stride": stride}
        patch_model = tf.keras.Model(model.input, model.get_layer("patch_probabilities").output)
        spec = tf.TensorSpec((None, self.patch_size, self.patch_size, self._n_inputs), tf.float32)
        self._forward_patches = tf.function(lambda x: patch_model(x, training=False), input_signature=[spec])

    def block_probabilities(self, x: np.ndarray) -> np.ndarray:
        """``(ceil(h/s), ceil(w/s), K)`` probabilities of the patches centred on the s x s blocks of ``x`` (h, w, c)."""
        p, s = self.patch_size, self.stride
        margin = (p - s) // 2
        rows, cols = -(-x.shape[0] // s), -(-x.shape[1] // s)
        padded = np.pad(x, ((margin, rows * s - x.shape[0] + margin), (margin, cols * s - x.shape[1] + margin),
                            (0, 0)), mode="edge")
        # (rows, cols, c, p, p) view, no copy; a batch of it is copied into the model's (n, p, p, c) layout
        views = np.lib.stride_tricks.sliding_window_view(padded, (p, p), axis=(0, 1))[::s, ::s]
        out = []
        for start in range(0, rows * cols, self.batch_size):
            block_rows, block_cols = np.divmod(np.arange(start, min(start + self.batch_size, rows * cols)), cols)
            batch = np.ascontiguousarray(views[block_rows, block_cols].transpose(0, 2, 3, 1))
            out.append(self._forward_patches(batch).numpy())
        return np.concatenate(out).reshape(rows, cols, -1)

    def classify(self, prepared: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        x, valid = prepared
        blocks = self.block_probabilities(x)
        probs = np.repeat(np.repeat(blocks, self.stride, axis=0), self.stride, axis=1)[:x.shape[0], :x.shape[1]]
        return maps_from_probabilities(probs, valid, self.meta.class_codes)
