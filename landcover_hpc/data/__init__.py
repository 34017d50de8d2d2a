"""Tile data: the input format users bring (stack.tif + reference) and the per-tile HDF5 store.

``tiles`` validates the input format, ``prepare`` turns input tiles into stores (``landcover-prepare``),
``store`` reads them (the data model of every later stage), ``split`` and ``positions`` are the pure cores
of the train/test split and of the valid patch positions, ``mgrs`` maps tile ids to UTM.
"""

from .mgrs import TileId, parse_tile_id
from .prepare import PrepareOptions, dataset_percentiles, prepare_dataset, prepare_tile
from .store import SPLITS, TileStore, list_tiles, open_stores, require_tiles, store_path
from .tiles import S2_BANDS, StackInfo, find_tiles, open_stack

__all__ = ["TileId", "parse_tile_id", "PrepareOptions", "dataset_percentiles", "prepare_dataset", "prepare_tile",
           "SPLITS", "TileStore", "list_tiles", "open_stores", "require_tiles", "store_path",
           "S2_BANDS", "StackInfo", "find_tiles", "open_stack"]
