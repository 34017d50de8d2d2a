"""``landcover-predict``: maps of prepared tiles with a trained network (configs/predict.yaml).

The window defaults are those of :class:`~landcover_hpc.prediction.predictor.PredictOptions`, read from it;
:meth:`PredictConfig.options` builds it. ``store`` and ``model`` may instead come from the training run's
config (``training_config``: its ``data.store`` and ``RUN_DIR/best_model.h5``).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from ..prediction.predictor import PredictOptions
from ..sampling.prior import PRIOR_REFERENCES
from .schema import Precision, Section

__all__ = ["PredictConfig"]

_D = PredictOptions


class PredictConfig(Section):
    tiles: list[str] = Field(description="tile id(s), e.g. T31UDQ or T31UDQ,T30TWT",
                             json_schema_extra={"flags": ["--tile", "--tiles"]})
    model: str | None = Field(None, description="trained model file (default: RUN_DIR/best_model.h5 of "
                                                "training_config)")
    store: str | None = Field(None, description="folder of the prepared tile stores (default: data.store of "
                                                "training_config)")
    training_config: str | None = Field(None, description="training config YAML whose data.store and run_dir "
                                                          "to use")
    out: str = Field("maps", description="output folder")
    precision: Precision | None = Field(
        _D.precision, description="compute precision (default: the model's); auto: bfloat16 where the CPU computes it "
                                  "natively, else float32")
    window: int = Field(_D.window, ge=4, description="window side, px (a multiple of 4)")
    overlap: int = Field(_D.overlap, ge=0, description="px shared by neighbouring windows, a multiple of 4; each "
                                                       "window keeps its pixels >= overlap/2 px from its border")
    checkpoint_every: int = Field(_D.checkpoint_every, ge=1, description="rounds of windows between resume points")
    threads: int | None = Field(None, ge=1, description="threads per rank (default: from the allocation)")
    patch_stride: int = Field(_D.patch_stride, ge=1, description="patch classifiers (res_ensemble4, ...): px "
                                                                 "between the centres of the classified patches, "
                                                                 "each giving its class to a block of this side")
    prior_correction: bool = Field(
        _D.prior_correction, description="weigh each class's probability by its share of the reference over its "
                                         "share of the training patches (stored in the model) before taking the "
                                         "most probable: maps at the landscape's class mix instead of the "
                                         "class-balanced sampler's; dense models only")
    prior_reference: Literal[PRIOR_REFERENCES] = Field(
        _D.prior_reference, description="the class mix prior_correction maps at: global, the training objects of "
                                        "every training tile (stored in the model); tile, those of the tile being "
                                        "mapped (in its store)")
    force: bool = Field(_D.force, description="recompute maps that are up to date")
    quicklook: bool = Field(_D.quicklook, description="draw the PNG quicklook")

    @model_validator(mode="before")
    @classmethod
    def _not_a_training_config(cls, raw: Any) -> Any:
        """A training config given as the prediction config (the old meaning of --config): say what to do."""
        if isinstance(raw, dict) and {"data", "output"} & set(raw):
            raise ValueError("this is a training config: give it as training_config (--training-config FILE)")
        return raw

    def options(self) -> PredictOptions:
        """The library's window options."""
        return PredictOptions(window=self.window, overlap=self.overlap, precision=self.precision,
                              checkpoint_every=self.checkpoint_every, force=self.force, quicklook=self.quicklook,
                              patch_stride=self.patch_stride, prior_correction=self.prior_correction,
                              prior_reference=self.prior_reference)
