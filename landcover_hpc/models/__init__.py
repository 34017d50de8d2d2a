"""Models: the Keras 2 (tf.keras) networks of the paper, their loss and artefact files.

Every model takes a normalised window ``(B, H, W, T*C')`` float32 in date-major order (the C bands of date
1 followed by its E extra channels, then date 2, ...; C' = C + E) and returns per-pixel class probabilities
``(B, H, W, K)`` float32, where output channel ``k`` is the class of index ``k + 1`` (index 0 = unlabelled).
The models are fully convolutional; H and W must be multiples of 4.

- ``registry``: ``get_model(name, ...)``, the one way to build a model by name;
- ``architectures``: one builder per architecture of the paper (fgunet, unet, mlp, lstm, tsfgunet);
- ``resnets``: Qiu et al.'s multiseasonal ResNet patch classifiers (res_ensemble4/8, st_resnet, re_resnet);
- ``dates``: which dates the models that take a few (seasons) gather from the stack;
- ``losses``: label encoding, class weights and the weighted sparse cross-entropy;
- ``persistence``: one HDF5 artefact per trained model (weights + metadata), written atomically;
- ``inference``: window-size check and one-window prediction;
- ``flops``: analytic FLOP count per pixel.

- ``names``: the model names, precisions and defaults, without TensorFlow (what configs validate against).

Nothing here builds a model or configures TensorFlow at import time; TensorFlow itself is imported only when
one of the TensorFlow-backed names is first used.
"""

import importlib

from .names import MODEL_NAMES, PRECISIONS

# Everything but the names is loaded on first use (PEP 562): importing landcover_hpc.models, or its
# TensorFlow-free ``names`` module, must not cost a TensorFlow import (configs are checked on login nodes).
_LAZY = {
    "architectures": ("build_fgunet", "build_unet", "build_mlp", "build_lstm", "build_tsfgunet"),
    "resnets": ("build_res_ensemble4", "build_res_ensemble8", "build_st_resnet", "build_re_resnet"),
    "flops": ("flops_per_pixel",),
    "inference": ("SIZE_MULTIPLE", "check_window_size", "forward_function", "predict_window"),
    "losses": ("class_weights", "weighted_sparse_crossentropy", "WeightedSparseCrossEntropy"),
    "persistence": ("ModelMetadata", "save_model", "load_model"),
    "registry": ("ModelSpec", "get_model", "model_spec"),
}
_MODULE_OF = {name: module for module, names in _LAZY.items() for name in names}

__all__ = [
    "MODEL_NAMES",
    "PRECISIONS",
    "SIZE_MULTIPLE",
    "ModelSpec",
    "get_model",
    "model_spec",
    "build_fgunet",
    "build_unet",
    "build_mlp",
    "build_lstm",
    "build_tsfgunet",
    "build_res_ensemble4",
    "build_res_ensemble8",
    "build_st_resnet",
    "build_re_resnet",
    "check_window_size",
    "forward_function",
    "predict_window",
    "class_weights",
    "weighted_sparse_crossentropy",
    "WeightedSparseCrossEntropy",
    "ModelMetadata",
    "save_model",
    "load_model",
    "flops_per_pixel",
]


def __getattr__(name: str):
    """Import the submodule defining ``name`` on first access (see ``_LAZY``)."""
    if name not in _MODULE_OF:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_MODULE_OF[name]}", __name__), name)
    globals()[name] = value
    return value
