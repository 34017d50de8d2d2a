"""``landcover-compare``: several methods over several tiles (configs/compare.yaml); the title defaults to
:func:`~landcover_hpc.evaluation.compare.compare_methods`'s, read from it."""

from __future__ import annotations

import inspect

from pydantic import Field

from ..evaluation.compare import compare_methods
from .schema import NamedPathLists, NamedPaths, Section

__all__ = ["CompareConfig"]

_TITLE = inspect.signature(compare_methods).parameters["title"].default


class CompareConfig(Section):
    evals: NamedPathLists = Field(
        min_length=1, description="evaluation folder of a method, METHOD=DIR (repeatable; the same METHOD with "
                                  "several folders counts as repeated runs: error bars)",
        json_schema_extra={"flags": ["--eval"], "metavar": "METHOD=DIR", "example": "RF=out/rf_eval"})
    out: str = Field(description="output folder")
    tiles: list[str] | None = Field(None, description="only these tiles (default: all evaluated)")
    fscore_tiles: list[str] | None = Field(None, description="tiles with a per-class F-score figure (default: all)")
    title: str = Field(_TITLE, description="title of compare.md")
    maps: NamedPaths = Field(
        default_factory=dict, description="map folder of a method, METHOD=DIR (repeatable): write report.md, "
                                          "with a quicklook of each map",
        json_schema_extra={"metavar": "METHOD=DIR", "example": "RF=maps/rf"})
    nomenclature: str | None = Field(None, description="nomenclature YAML of the maps (for maps)")
    geometry: list[str] = Field(
        default_factory=list, description="folder of landcover-geometry's <TILE>_geometry.json (repeatable): a "
                                          "geometric precision section (Figure 20)",
        json_schema_extra={"repeat": "append", "metavar": "DIR"})
