"""The Random Forest baseline of the operational chain (paper 4.2): a pixel-wise forest on the T*C
reflectances, its safe model file, window-by-window map prediction and the majority-vote regularisation.

- ``forest``: training parameters, the fitted forest as plain arrays, its HDF5 file (no pickle) and the
  vectorised tree traversal that predicts from it;
- ``samples``: per-class capped sampling of training-polygon pixels across tiles;
- ``regularize``: the radius-1 majority vote (OTB ClassificationMapRegularization);
- ``predict``: a tile's class and confidence maps in the same GeoTIFF format as the CNN predictor;
- ``loto``: the forest as a leave-one-tile-out method of :mod:`landcover_hpc.evaluation.transfer`.
"""

from .forest import ForestModel, ForestParams, fit_forest, load_forest, save_forest
from .predict import RFPredictOptions, predict_tile_rf, predict_stores_rf
from .regularize import majority_vote
from .samples import TrainingPixels, sample_training_pixels
from .train import train_rf
from .loto import rf_train_and_predict

__all__ = ["ForestModel", "ForestParams", "fit_forest", "load_forest", "save_forest", "RFPredictOptions",
           "predict_tile_rf", "predict_stores_rf", "majority_vote", "TrainingPixels", "sample_training_pixels",
           "train_rf", "rf_train_and_predict"]
