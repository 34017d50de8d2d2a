"""Gap-filling: Sentinel-2 L2A acquisitions of one tile -> a regular, cloud-free tile stack.

Owns the step before ``landcover-prepare`` (see :mod:`landcover_hpc.data.tiles` for its output format):
validity masks from SCL or MAJA cloud flags (:mod:`.masks`), 20 m -> 10 m bicubic resampling
(:mod:`.resample`), per-pixel linear interpolation in time onto a regular date grid (:mod:`.interpolate`),
the acquisition folder layout (:mod:`.acquisitions`), the block-wise, multi-process driver
(:mod:`.tile`) and a converter from the WorldCereal test patches (:mod:`.worldcereal`).
"""

from .acquisitions import Acquisition, AcquisitionSet, scan_acquisitions
from .interpolate import date_grid, interpolate_block, to_days
from .masks import SCL_CLEAR, SCL_CLEAR_WITH_SNOW, clm_clear, scl_clear
from .resample import upsample2x_bicubic, upsample2x_nearest
from .tile import GapfillOptions, gapfill_tile

__all__ = [
    "Acquisition", "AcquisitionSet", "scan_acquisitions",
    "date_grid", "interpolate_block", "to_days",
    "SCL_CLEAR", "SCL_CLEAR_WITH_SNOW", "clm_clear", "scl_clear",
    "upsample2x_bicubic", "upsample2x_nearest",
    "GapfillOptions", "gapfill_tile",
]
