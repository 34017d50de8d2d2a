"""``landcover-mosaic``: tile maps -> a country mosaic (configs/mosaic.yaml); the defaults of ``crs`` and
``resolution`` are those of :func:`~landcover_hpc.prediction.mosaic.mosaic_maps`, read from it."""

from __future__ import annotations

import inspect

from pydantic import Field

from ..prediction.mosaic import mosaic_maps
from .schema import Section

__all__ = ["MosaicConfig"]

_D = inspect.signature(mosaic_maps).parameters


class MosaicConfig(Section):
    maps: list[str] = Field(min_length=1, description="<TILE>_classes.tif files, or folders holding them (also "
                                                      "given as positional arguments)")
    out: str = Field(description="output prefix, e.g. maps/france_2018")
    crs: str | None = Field(_D["crs"].default, description="target CRS, e.g. EPSG:2154 (default: the first map's)")
    resolution: float | None = Field(_D["resolution"].default, gt=0,
                                     description="pixel size in CRS units (default: the maps')")
    nomenclature: str | None = Field(
        None, description="nomenclature YAML (default: the packaged configs/nomenclature.yaml)")
