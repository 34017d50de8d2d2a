"""``landcover-evaluate``: scores of class maps on their tiles' test polygons, or on the validation or training
ones (configs/evaluate.yaml)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from ..data.split import SPLITS
from .schema import Section

__all__ = ["EvaluateConfig"]


class EvaluateConfig(Section):
    map: str | None = Field(None, description="class map GeoTIFF (class codes, nodata 0); needs tile")
    maps: str | None = Field(None, description="evaluate every <TILE>_classes.tif of this map folder")
    tile: str | None = Field(None, description="tile id of map, e.g. T31UDQ (with maps: only this tile)")
    store: str = Field(description="prepared store folder holding <TILE>.h5")
    out: str | None = Field(None, description="output folder (default: the map's folder)")
    method: str | None = Field(None, description="method name in the outputs (default: from the map's tags)")
    split: Literal[SPLITS] = Field(
        "test", description="the objects scored: test (the comparison), val (choices made before the test: never "
                            "the test ones), or train (how well the map fits the objects its model learnt from: low "
                            "means underfitting, far above val overfitting)")

    @model_validator(mode="after")
    def _one_map_source(self) -> "EvaluateConfig":
        if (self.map is None) == (self.maps is None):
            raise ValueError("give map (--map FILE, with --tile) or maps (--maps DIR), one of the two")
        if self.map is not None and self.tile is None:
            raise ValueError(f"map {self.map}: also give --tile (key tile: the map's tile id), or use --maps DIR")
        return self
