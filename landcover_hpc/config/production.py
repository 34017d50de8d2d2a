"""``landcover-produce``: the nightly country-scale job (configs/production.yaml).

The sections ``gapfill``, ``prepare`` and ``predict`` hold the options of ``landcover-gapfill``,
``landcover-prepare`` and ``landcover-predict``: the same keys, defaults, help and checks, read from
:class:`~.gapfill.GapfillConfig`, :class:`~.prepare.PrepareConfig` and :class:`~.predict.PredictConfig`
without the keys this command sets itself (folders, tiles, model, force, threads). Their options objects are
built by those schemas (:meth:`ProductionConfig.prepare_options` ...), so the nightly job and the single
commands cannot disagree on a default or a range.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, create_model, model_validator

from ..errors import ConfigError
from .gapfill import GapfillConfig
from .predict import PredictConfig
from .prepare import PrepareConfig
from .schema import Section, validate

__all__ = ["ProductionConfig"]


def _options_section(schema: type[Section], drop: set[str], doc: str) -> type[Section]:
    """The keys of ``schema`` but ``drop``, as a section (same types, defaults and help)."""
    fields: dict[str, Any] = {name: (field.annotation, field) for name, field in schema.model_fields.items()
                              if name not in drop}
    return create_model(f"Production{schema.__name__}", __base__=Section, __doc__=doc, **fields)


GapfillSection = _options_section(GapfillConfig, {"input", "out", "quiet"}, "options of landcover-gapfill")
PrepareSection = _options_section(PrepareConfig, {"input", "out", "tiles", "nomenclature", "force"},
                                  "options of landcover-prepare")
PredictSection = _options_section(PredictConfig, {"tiles", "model", "store", "training_config", "out", "force",
                                                  "threads"}, "options of landcover-predict")


class ProductionConfig(Section):
    tiles: list[str] | None = Field(None, description="tile ids, e.g. T31UDQ,T30TWT (default: tile_list, else "
                                                      "every tile folder under input)",
                                    json_schema_extra={"flags": ["--tile", "--tiles"]})
    tile_list: str | None = Field(None, description="text file of tile ids, one per line (# comments)")
    input: str = Field(description="tiles folder: <TILE>/stack.tif + reference, as landcover-prepare --input")
    acquisitions: str | None = Field(None, description="folder of <TILE>/YYYYMMDD/ L2A acquisitions: a tile "
                                                       "whose acquisitions are newer than its stack.tif is "
                                                       "gap-filled into input/<TILE>/ first")
    model: str = Field(description="trained model file (landcover-train's best_model.h5)")
    out: str = Field(description="output root: store/, maps/, eval/, mosaic/, manifest.json, report.md")
    crs: str | None = Field(None, description="target CRS of the mosaic, e.g. EPSG:2154 (default: the first "
                                              "map's)")
    resolution: float | None = Field(None, gt=0, description="mosaic pixel size in CRS units (default: the maps')")
    name: str = Field("mosaic", description="mosaic file prefix in OUT/mosaic/")
    evaluate: bool = Field(True, description="evaluate each map on its tile's test objects (where it has some)")
    mosaic: bool = Field(True, description="after the tiles, the mosaic, manifest.json and report.md, under the "
                                           "lock of out (false: only the tiles' steps, no lock of out: the "
                                           "per-tile tasks of slurm/nightly.sh)")
    nomenclature: str | None = Field(None, description="nomenclature YAML (default configs/nomenclature.yaml)")
    force: bool = Field(False, description="recompute every step, even those up to date")
    threads: int | None = Field(None, ge=1, description="threads (default: from the allocation)")
    gapfill: GapfillSection = Field(default_factory=GapfillSection,  # type: ignore[valid-type]
                                    description="landcover-gapfill options")
    prepare: PrepareSection = Field(default_factory=PrepareSection,  # type: ignore[valid-type]
                                    description="landcover-prepare options")
    predict: PredictSection = Field(default_factory=PredictSection,  # type: ignore[valid-type]
                                    description="landcover-predict options")

    @model_validator(mode="after")
    def _options_in_range(self) -> "ProductionConfig":
        self.gapfill_options(), self.prepare_options(), self.predict_options()
        return self

    def _command_config(self, section: str, schema: type[Section], paths: dict[str, Any]):
        try:
            return validate(schema, {**paths, **getattr(self, section).to_dict()})
        except ConfigError as exc:
            raise ConfigError(f"{section}: {exc}") from None

    def gapfill_options(self):
        """:class:`~landcover_hpc.gapfill.tile.GapfillOptions` of the ``gapfill`` section."""
        return self._command_config("gapfill", GapfillConfig, {"input": "-", "out": "-"}).options()

    def prepare_options(self):
        """:class:`~landcover_hpc.data.prepare.PrepareOptions` of the ``prepare`` section."""
        return self._command_config("prepare", PrepareConfig, {"input": "-", "out": "-"}).options()

    def predict_options(self):
        """:class:`~landcover_hpc.prediction.predictor.PredictOptions` of the ``predict`` section, with ``force``."""
        return self._command_config("predict", PredictConfig, {"tiles": ["-"], "force": self.force}).options()
