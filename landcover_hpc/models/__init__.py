"""Models: the Keras 2 (tf.keras) networks of the paper, their loss and artefact files.

Every model takes a normalised window ``(B, H, W, T*C')`` float32 in date-major order (the C bands of date
1 followed by its E extra channels, then date 2, ...; C' = C + E) and returns per-pixel class probabilities
``(B, H, W, K)`` float32, where output channel ``k`` is the class of index ``k + 1`` (index 0 = unlabelled).
The models are fully convolutional; H and W must be multiples of 4.

- ``registry``: ``get_model(name, ...)``, the one way to build a model by name;
- ``architectures``: one builder per architecture (fgunet, unet, mlp, lstm, tsfgunet);
- ``losses``: label encoding, class weights and the weighted sparse cross-entropy;
- ``persistence``: one HDF5 artefact per trained model (weights + metadata), written atomically;
- ``inference``: window-size check and one-window prediction;
- ``flops``: analytic FLOP count per pixel.

Nothing here builds a model or configures TensorFlow at import time.
"""

from .architectures import build_fgunet, build_lstm, build_mlp, build_tsfgunet, build_unet
from .flops import flops_per_pixel
from .inference import SIZE_MULTIPLE, check_window_size, forward_function, predict_window
from .losses import WeightedSparseCrossEntropy, class_weights, weighted_sparse_crossentropy
from .persistence import ModelMetadata, load_model, save_model
from .registry import MODEL_NAMES, PRECISIONS, ModelSpec, get_model, model_spec

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
