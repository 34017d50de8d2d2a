"""The reference objects of a class raster (``labels.tif``), found window by window.

An object is a 4-connected component of one class code (0: no reference). Objects are numbered 1..n by class
code, then by their first pixel in raster order: the numbering ``scipy.ndimage.label`` gives on the whole
raster, code by code, which is what the object split of a store depends on. Memory is bounded by one window,
the window seams and a few numbers per object, never by the raster:

1. each window is labelled alone, its components given provisional ids, and the components that touch across
   a window seam (same code, side by side) are joined into objects (a graph's connected components);
2. :meth:`LabelObjects.window` labels a window again, as in 1, and maps its provisional ids to object ids.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio
from rasterio.windows import Window
from scipy import ndimage
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from ..errors import UnknownClassError
from ..nomenclature import Nomenclature
from .blocks import iter_blocks
from .tiles import read_block, unknown_code_message

__all__ = ["LabelObjects"]


class LabelObjects:
    """The objects of ``labels_path`` in windows of ``window`` px (the blocks of :func:`iter_blocks`).

    Attributes:
        classes: (n,) uint8 class index (1-based, as the nomenclature's) of objects 1..n.

    Raises:
        UnknownClassError: a code of the raster is not in the nomenclature (the file and the code named).
    """

    def __init__(self, labels_path: str | Path, nomenclature: Nomenclature, window: int):
        self.path = Path(labels_path)
        self._nomenclature = nomenclature
        self._window = window
        self._offsets: dict[tuple[int, int], int] = {}  # first provisional id of each window
        with rasterio.open(self.path) as src:
            self._height, self._width = src.height, src.width
            codes_of, first_pixel_of, seams = self._label_windows(src)
        n_provisional = len(codes_of)
        pairs = np.concatenate([np.zeros((2, 0), np.int64), *seams], axis=1)
        code_of_id = np.concatenate([[0], codes_of])
        pairs = pairs[:, code_of_id[pairs[0]] == code_of_id[pairs[1]]]  # side by side and of one code
        graph = coo_matrix((np.ones(pairs.shape[1], np.int8), (pairs[0], pairs[1])),
                           shape=(n_provisional + 1, n_provisional + 1))
        _, component = connected_components(graph, directed=False)
        # provisional ids 1..n -> objects, numbered by (code, first pixel in raster order)
        _, component = np.unique(component[1:], return_inverse=True)  # id 0 (no object) dropped, 0..m-1
        first_pixel = np.full(component.max(initial=-1) + 1, np.iinfo(np.int64).max)
        np.minimum.at(first_pixel, component, first_pixel_of)
        code_of_component = np.zeros(len(first_pixel), np.int64)
        code_of_component[component] = codes_of
        order = np.lexsort((first_pixel, code_of_component))
        object_of_component = np.empty(len(order), np.int64)
        object_of_component[order] = np.arange(1, len(order) + 1)
        self._object_of = np.concatenate([[0], object_of_component[component]]).astype(np.int32)
        self.classes = np.array([nomenclature.index_of(int(c)) for c in code_of_component[order]], dtype=np.uint8)

    def window(self, src: rasterio.io.DatasetReader, row: int, col: int, height: int, width: int) -> np.ndarray:
        """(height, width) int32 object ids (0: none) of the window at (row, col), one of the blocks."""
        provisional, _, _ = self._label(src, row, col, height, width, self._offsets[row, col])
        return self._object_of[provisional]

    def _label_windows(self, src):
        """Pass 1: per provisional id its code and first pixel; the seams' pairs of touching ids."""
        codes_of: list[np.ndarray] = []
        first_pixel_of: list[np.ndarray] = []
        seams: list[np.ndarray] = []
        bottom_rows: dict[int, np.ndarray] = {}  # column of a window -> the last row of ids of the window above
        next_id, right_column = 1, None
        for row, col, height, width in iter_blocks(self._height, self._width, self._window):
            self._offsets[row, col] = next_id
            ids, codes, first = self._label(src, row, col, height, width, next_id)
            next_id += len(codes)
            codes_of.append(codes)
            first_pixel_of.append(first)
            if col > 0:
                seams.append(_touching(right_column, ids[:, 0]))
            if row > 0:
                seams.append(_touching(bottom_rows[col], ids[0, :]))
            right_column, bottom_rows[col] = ids[:, -1], ids[-1, :]
        return np.concatenate(codes_of), np.concatenate(first_pixel_of), seams

    def _label(self, src, row, col, height, width, first_id):
        """A window's components, code by code: ids (first_id on, 0 none), and each id's code and first pixel."""
        codes = read_block(src, Window(col, row, width, height), self.path)[0]
        ids = np.zeros(codes.shape, np.int64)
        id_codes: list[int] = []
        for code in (int(c) for c in np.unique(codes) if c != 0):
            if code not in self._nomenclature.codes:
                raise UnknownClassError(f"{self.path}: {unknown_code_message(code, self._nomenclature)}")
            components, n = ndimage.label(codes == code)
            ids[components > 0] = components[components > 0] + (first_id - 1 + len(id_codes))
            id_codes.extend([code] * n)
        present, first_index = np.unique(ids.ravel(), return_index=True)  # ids ascending: id_codes' order
        first_index = first_index[present != 0]
        first_row, first_col = np.divmod(first_index, width)
        first_pixel = (row + first_row) * self._width + col + first_col
        return ids, np.asarray(id_codes, np.int64), first_pixel.astype(np.int64)


def _touching(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """(2, m) distinct pairs of provisional ids side by side across a seam, both labelled (codes not checked)."""
    both = (before > 0) & (after > 0)
    return np.unique(np.stack([before[both], after[both]]), axis=1)
