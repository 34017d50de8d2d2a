"""``landcover-train``: the training config (sections model, data, training, output; configs/fgunet.yaml).

The effective config is saved with the run (``RUN_DIR/config.yaml``) and in the model file. Model names and
precisions come from :mod:`landcover_hpc.models.names`, so validating a config never imports TensorFlow.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Literal

from pydantic import Field, model_validator

from ..errors import ConfigError
from ..models.names import (DEFAULT_DROPOUT, DEFAULT_N_GROUPS, DEFAULT_PRECISION, GROUPED_MODELS, MODEL_NAMES,
                            PATCH_MODELS)
from ..sampling.plan import BALANCES
from ..sampling.prior import PRIOR_REFERENCES
from .schema import Precision, Section, load_config as _load

__all__ = ["ModelConfig", "DataConfig", "TrainingConfig", "OutputConfig", "TrainConfig", "Config", "load_config",
           "CLASS_WEIGHTINGS", "VALIDATIONS", "DECAYS", "SELECTIONS"]

CLASS_WEIGHTINGS = ("inverse_frequency", "none")
VALIDATIONS = ("all_pixels", "patches")
DECAYS = ("none", "cosine")  # learning rate after the warm-up (training/schedule.py)
SELECTIONS = ("none",) + PRIOR_REFERENCES  # the maps the per-epoch validation kappa scores: as trained, or corrected


class ModelConfig(Section):
    name: Literal[MODEL_NAMES] = Field("fgunet", description="architecture")
    n_groups: int = Field(DEFAULT_N_GROUPS, ge=1,
                          description="temporal groups (late fusion); must divide the number of dates")
    dropout: float = Field(DEFAULT_DROPOUT, ge=0.0, lt=1.0, description="dropout rate")
    precision: Precision = Field(
        DEFAULT_PRECISION, description="bfloat16: mixed precision; auto: bfloat16 where the CPU computes it natively "
                                       "(AMX-BF16, AVX512-BF16), else float32 (resolved when the config is read)")
    dates: list[int] | None = Field(
        None, description="S2 date indices for the models that take a few dates (models.names.SELECTED_DATE_COUNTS); "
                          "none: spread evenly over the series (models/dates.py)")
    options: dict[str, bool | int | float] = Field(
        default_factory=dict, description="further builder arguments of the architecture, e.g. smaller widths of "
                                          "twinns (filters_s2, filters_s1, fusion_units), or centre_input: false "
                                          "(fgunet, unet, mlp: the paper's network on [0, 1] inputs); none: the "
                                          "defaults")


class DataConfig(Section):
    store: str = Field("demo_output/store", description="landcover-prepare output folder")
    tiles: list[str] | None = Field(None, description="tiles to train on (default: all)")
    indices: bool = Field(False, description="append NDVI, NDWI, brightness per date")
    augment: bool = Field(True, description="random flips and rotations of the patches")
    balance: Literal[BALANCES] = Field(
        "classes", description="classes: draw each patch's class uniformly (paper); none: as frequent as its patches")
    validation_balance: Literal[BALANCES] = Field(
        "none", description="validation patches: none: classes as frequent as in the validation objects, the mix the "
                            "test evaluation scores; classes: each class equally likely, as the training batches")
    memory_budget: int | None = Field(
        None, ge=0, description="bytes for in-memory tiles per node; none: 80 % of available memory")


class TrainingConfig(Section):
    epochs: int = Field(50, ge=1, description="epochs at most")
    batches_per_epoch: int = Field(200, ge=1, description="batches per epoch and rank")
    batch_size: int = Field(8, ge=1, description="patches per rank (b); the global batch is N x b")
    learning_rate: float = Field(0.001, gt=0, description="base rate reached after the warm-up")
    warmup_epochs: float = Field(5.0, ge=0, description="from lr / N up to lr (Goyal et al. 2017)")
    lr_decay: Literal[DECAYS] = Field(
        "none", description="after the warm-up: none: the base rate to the end (paper); cosine: from the base rate "
                            "down to 0 at the last of the epochs (training/schedule.py)")
    optimizer: Literal["adam", "sgd"] = Field("adam", description="optimiser")
    validation: Literal[VALIDATIONS] = Field(
        "all_pixels", description="what the per-epoch validation kappa (model selection, early stop) scores, always "
                                  "of the validation objects, never the test ones: all_pixels: every validation "
                                  "pixel once, as the test evaluation scores every test pixel (its cost, logged at "
                                  "the start, grows with the validation area); patches: validation_batches sampled "
                                  "patches, cheaper and noisier (benchmarks/README.md)")
    validation_batches: int = Field(
        10, ge=1, description="validation: patches: batches per epoch and rank, drawn from the validation objects")
    selection: Literal[SELECTIONS] = Field(
        "none", description="the map whose validation kappa picks best_model.h5 and the early stop, the one the "
                            "model's maps will be made as: none: the network's argmax; global, tile: after "
                            "landcover-predict --prior-correction with that --prior-reference (sampling/prior.py). "
                            "history.csv logs the three kappas (tile: with validation all_pixels) whatever is chosen")
    class_weights: Literal[CLASS_WEIGHTINGS] = Field(
        "none", description="none: unweighted loss (the class-balanced sampler already balances the classes); "
                            "inverse_frequency: n_tot / n_k of the training pixels on top of it (paper eq. 2), which "
                            "over-predicts the rare classes (benchmarks/README.md, class imbalance ablation)")
    patience: int | None = Field(
        None, ge=1, description="stop when the validation kappa has not improved for this many epochs")
    deterministic: bool = Field(True, description="TensorFlow op determinism: the same seed gives the same weights")
    seed: int = Field(0, description="seed of the weights, the batches and the augmentation")

    @model_validator(mode="after")
    def _tile_selection_knows_tiles(self) -> "TrainingConfig":
        if self.selection == "tile" and self.validation != "all_pixels":
            raise ValueError("selection tile needs validation all_pixels: a validation batch of patches mixes tiles; "
                             "set training.validation all_pixels or training.selection global")
        return self


class OutputConfig(Section):
    run_dir: str = Field("runs/fgunet", description="checkpoints, best and final model, logs")
    log_every: int = Field(10, ge=1, description="batches between progress lines")


class TrainConfig(Section):
    model: ModelConfig = Field(default_factory=ModelConfig)
    data: DataConfig = Field(default_factory=DataConfig)
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    output: OutputConfig = Field(default_factory=OutputConfig)
    threads: int | None = Field(None, ge=1,
                                description="threads per rank; none: SLURM_CPUS_PER_TASK or cores per local rank")

    @model_validator(mode="after")
    def _patch_models_map_as_trained(self) -> "TrainConfig":
        if self.training.selection != "none" and self.model.name in PATCH_MODELS:
            raise ValueError(f"training.selection {self.training.selection}: {self.model.name} is a patch "
                             "classifier, whose maps take no prior correction: set training.selection none")
        return self

    def check_dates(self, n_dates: int) -> None:
        """The groups must divide the dates of the data (grouped models only)."""
        if self.model.name in GROUPED_MODELS and n_dates % self.model.n_groups:
            divisors = [g for g in range(1, n_dates + 1) if n_dates % g == 0]
            raise ConfigError(f"model.n_groups={self.model.n_groups} does not divide the {n_dates} dates of "
                              f"{self.data.store}: use one of {divisors}")


#: The name the training package has always used.
Config = TrainConfig


def load_config(path: str | Path | None = None, overrides: Iterable[str] = ()) -> TrainConfig:
    """Read, override and validate a training config (no file: the defaults plus the overrides)."""
    return _load(TrainConfig, path, overrides)
