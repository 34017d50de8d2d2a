"""``landcover-geometry``: geometric precision of class maps of a tile (configs/geometry.yaml).

The matching radius defaults to :class:`~landcover_hpc.evaluation.geometry.CornerParams`'s and the
denominator to :func:`~landcover_hpc.evaluation.geometry.evaluate_geometry`'s, read from them.
"""

from __future__ import annotations

import inspect
from typing import Literal

from pydantic import Field

from ..evaluation.geometry import CornerParams, evaluate_geometry
from .schema import NamedPaths, Section

__all__ = ["GeometryConfig"]

_DENOMINATOR = inspect.signature(evaluate_geometry).parameters["denominator"].default


class GeometryConfig(Section):
    tile: str = Field(description="tile id of the maps, e.g. T31UDQ")
    maps: NamedPaths = Field(min_length=1, description="class maps to measure, NAME=PATH (repeatable), e.g. "
                                                       "FG-UNET=maps/fgunet/T31UDQ_classes.tif",
                             json_schema_extra={"flags": ["--map"], "metavar": "NAME=PATH",
                                                "example": "FG-UNET=maps/fgunet/T31UDQ_classes.tif"})
    references: list[str] = Field(min_length=1, description="reference class maps of the same tile (repeatable; "
                                                            "the paper uses 10 RF maps)",
                                  json_schema_extra={"flags": ["--reference"], "repeat": "extend",
                                                     "metavar": "PATH"})
    out: str = Field(description="output folder")
    radius: float = Field(CornerParams.radius, gt=0, description="matching radius in px")
    denominator: Literal["reference", "map"] = Field(
        _DENOMINATOR, description="share of the reference's corners found (paper) or of the map's")

    def params(self) -> CornerParams:
        """The library's corner parameters (its defaults but the radius)."""
        return CornerParams(radius=self.radius)
