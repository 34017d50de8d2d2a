"""``landcover-rf``: the Random Forest baseline, ``train`` and ``predict`` (configs/rf.yaml).

One file serves both subcommands: the shared ``store`` and ``tiles``, a ``train`` section and a ``predict``
section (whose ``model`` defaults to ``train.out``, so the same file trains and then maps). The defaults
are those of the library, read from it: :class:`~landcover_hpc.baseline.forest.ForestParams`,
:class:`~landcover_hpc.baseline.predict.RFPredictOptions` and the sampling arguments of
:func:`~landcover_hpc.baseline.train.train_rf`.
"""

from __future__ import annotations

import inspect
from typing import Literal

from pydantic import Field, model_validator

from ..baseline.forest import DECISIONS, ForestParams
from ..baseline.predict import RFPredictOptions
from ..baseline.train import train_rf
from ..sampling.prior import PRIOR_REFERENCES
from .schema import Section

__all__ = ["RFConfig", "RFTrainConfig", "RFPredictConfig"]

_SAMPLING = inspect.signature(train_rf).parameters  # per_class, subsample: train_rf's own defaults


class RFTrainConfig(Section):
    out: str = Field("runs/rf/rf.h5", description="model file to write (.h5)")
    trees: int = Field(ForestParams.n_trees, ge=1, description="trees in the forest")
    max_depth: int = Field(ForestParams.max_depth, ge=1, description="maximum tree depth")
    min_samples_split: int = Field(ForestParams.min_samples_split, ge=2,
                                   description="samples a node needs to be split, OpenCV min_sample_count")
    per_class: int = Field(_SAMPLING["per_class"].default, ge=0,
                           description="training pixels per class over all tiles, 0 = all")
    subsample: float = Field(_SAMPLING["subsample"].default, gt=0, le=1,
                             description="fraction of training pixels drawn from, for distinct training subsets")
    seed: int = Field(ForestParams.seed, description="seed of the pixel draw and the forest")
    jobs: int = Field(ForestParams.n_jobs, description="threads, -1 = all cores")
    decision: Literal[DECISIONS] = Field(
        ForestParams.decision, description="decision rule stored in the model as its default: vote = majority "
        "vote of the trees, confidence = fraction of trees voting for the class (OpenCV / Orfeo ToolBox); "
        "proba = mean class probability (scikit-learn)")

    def params(self) -> ForestParams:
        """The library's forest parameters."""
        return ForestParams(n_trees=self.trees, max_depth=self.max_depth, min_samples_split=self.min_samples_split,
                            seed=self.seed, n_jobs=self.jobs, decision=self.decision)


class RFPredictConfig(Section):
    model: str | None = Field(None, description="model file written by landcover-rf train (default: train.out)")
    out: str = Field("maps/rf", description="map folder")
    jobs: int = Field(RFPredictOptions.n_jobs, description="threads, -1 = all cores")
    force: bool = Field(RFPredictOptions.force, description="recompute maps that are up to date")
    decision: Literal[DECISIONS] | None = Field(
        RFPredictOptions.decision, description="decision rule, vote or proba (default: the one stored in the model)")
    prior_correction: bool = Field(
        RFPredictOptions.prior_correction, description="weigh each class's score by its share of the training "
        "objects over its share of the training sample (both stored in the model; the per-class cap evens the "
        "sample out) before taking the winner: maps at the landscape's class mix")
    prior_reference: Literal[PRIOR_REFERENCES] = Field(
        RFPredictOptions.prior_reference, description="the class mix prior_correction maps at: global, the training "
        "objects of every training tile (stored in the model); tile, those of the tile being mapped (its store)")
    window: int = Field(RFPredictOptions.window, ge=4, description="prediction window side, px")
    radius: int = Field(RFPredictOptions.radius, ge=0, description="majority-vote regularisation radius, 0 = none")
    checkpoint_every: int = Field(RFPredictOptions.checkpoint_every, ge=1,
                                  description="windows between resume points")
    quicklook: bool = Field(RFPredictOptions.quicklook, description="draw <TILE>_quicklook.png")

    def options(self) -> RFPredictOptions:
        """The library's map options."""
        return RFPredictOptions(window=self.window, radius=self.radius, n_jobs=self.jobs,
                                checkpoint_every=self.checkpoint_every, force=self.force, quicklook=self.quicklook,
                                decision=self.decision, prior_correction=self.prior_correction,
                                prior_reference=self.prior_reference)


class RFConfig(Section):
    store: str = Field(description="prepared store folder")
    tiles: list[str] | None = Field(None, description="tiles to train on / to map (default: all)")
    train: RFTrainConfig = Field(default_factory=RFTrainConfig)
    predict: RFPredictConfig = Field(default_factory=RFPredictConfig)

    @model_validator(mode="after")
    def _predict_the_trained_model(self) -> "RFConfig":
        if self.predict.model is None:
            self.predict.model = self.train.out
        return self
