"""Tiled, overlapping prediction of land-cover maps with a trained model (``landcover-predict``).

``windows`` plans the overlapping windows and their cores (pure); ``produce`` is the one map driver that
runs any window classifier over a tile window by window, on one or several MPI ranks with one writer, into
the map products of :mod:`landcover_hpc.maps` (the Random Forest baseline uses it too); ``predictor`` is the
Keras model's adapter to it; ``mosaic`` assembles tile maps into a country mosaic (``landcover-mosaic``).
"""

from .predictor import PredictOptions, predict_tile
from .windows import PredictionWindow, plan_windows

__all__ = ["PredictOptions", "predict_tile", "PredictionWindow", "plan_windows"]
