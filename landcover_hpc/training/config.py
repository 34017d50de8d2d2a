"""Typed, validated training configuration (YAML is only the file format).

A config file has four sections (see configs/*.yaml); every value can be overridden on the command line as
``section.key=value`` (values parsed as YAML scalars, e.g. ``training.epochs=3 model.name=unet``). Unknown
keys, wrong types and impossible values are :class:`~landcover_hpc.errors.ConfigError` naming the key, the
value and what is allowed. The effective config is saved with the run (``RUN_DIR/config.yaml``).
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..errors import ConfigError, InputNotFoundError
from ..sampling.plan import BALANCES

CLASS_WEIGHTINGS = ("inverse_frequency", "none")

__all__ = ["ModelConfig", "DataConfig", "TrainingConfig", "OutputConfig", "Config", "load_config", "apply_overrides"]


@dataclass
class ModelConfig:
    name: str = "fgunet"  # fgunet | unet | mlp | lstm | tsfgunet
    n_groups: int = 11  # temporal groups (late fusion); must divide the number of dates
    dropout: float = 0.2
    precision: str = "float32"  # float32 | bfloat16 (mixed precision)


@dataclass
class DataConfig:
    store: str = "demo_output/store"  # landcover-prepare output folder
    tiles: list[str] | None = None  # tiles to train on (default: all)
    indices: bool = False  # append NDVI, NDWI, brightness per date
    augment: bool = True
    balance: str = "classes"  # classes: draw each patch's class uniformly (paper) | none: as frequent as its patches
    memory_budget: int | None = None  # bytes for in-memory tiles per node; None: 80 % of available memory


@dataclass
class TrainingConfig:
    epochs: int = 50
    batches_per_epoch: int = 200
    batch_size: int = 8  # patches per rank (b); the global batch is N x b
    learning_rate: float = 0.001  # base rate reached after the warm-up
    warmup_epochs: float = 5.0  # from lr / N up to lr (Goyal et al. 2017)
    optimizer: str = "adam"  # adam | sgd
    validation_batches: int = 10  # per epoch, per rank, from the validation polygons (never the test ones)
    class_weights: str = "inverse_frequency"  # n_tot / n_k of the training pixels (paper eq. 2) | none
    patience: int | None = None  # stop when the validation kappa has not improved for this many epochs
    deterministic: bool = True  # TensorFlow op determinism: the same seed gives the same weights
    seed: int = 0


@dataclass
class OutputConfig:
    run_dir: str = "runs/fgunet"
    log_every: int = 10  # batches between progress lines


@dataclass
class Config:
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    threads: int | None = None  # per rank; default from SLURM_CPUS_PER_TASK / cores per local rank

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def validate(self) -> "Config":
        from ..models import MODEL_NAMES, PRECISIONS

        checks = [
            ("model.name", self.model.name in MODEL_NAMES, f"one of {', '.join(MODEL_NAMES)}"),
            ("model.n_groups", self.model.n_groups >= 1, ">= 1"),
            ("model.dropout", 0.0 <= self.model.dropout < 1.0, "in [0, 1)"),
            ("model.precision", self.model.precision in PRECISIONS, f"one of {', '.join(PRECISIONS)}"),
            ("training.epochs", self.training.epochs >= 1, ">= 1"),
            ("training.batches_per_epoch", self.training.batches_per_epoch >= 1, ">= 1"),
            ("training.batch_size", self.training.batch_size >= 1, ">= 1"),
            ("training.learning_rate", self.training.learning_rate > 0, "> 0"),
            ("training.warmup_epochs", self.training.warmup_epochs >= 0, ">= 0"),
            ("training.optimizer", self.training.optimizer in ("adam", "sgd"), "adam or sgd"),
            ("training.validation_batches", self.training.validation_batches >= 1, ">= 1"),
            ("training.class_weights", self.training.class_weights in CLASS_WEIGHTINGS, " or ".join(CLASS_WEIGHTINGS)),
            ("training.patience", self.training.patience is None or self.training.patience >= 1, ">= 1 or null"),
            ("data.balance", self.data.balance in BALANCES, " or ".join(BALANCES)),
            ("output.log_every", self.output.log_every >= 1, ">= 1"),
            ("threads", self.threads is None or self.threads >= 1, ">= 1 or null"),
            ("data.memory_budget", self.data.memory_budget is None or self.data.memory_budget >= 0, ">= 0 or null"),
        ]
        for key, ok, allowed in checks:
            if not ok:
                raise ConfigError(f"{key}={_get(self, key)!r}: must be {allowed}")
        return self

    def check_dates(self, n_dates: int) -> None:
        """The groups must divide the dates of the data (grouped models only)."""
        if self.model.name in ("fgunet", "unet", "mlp") and n_dates % self.model.n_groups:
            divisors = [g for g in range(1, n_dates + 1) if n_dates % g == 0]
            raise ConfigError(f"model.n_groups={self.model.n_groups} does not divide the {n_dates} dates of "
                              f"{self.data.store}: use one of {divisors}")


def _get(obj: Any, key: str) -> Any:
    for part in key.split("."):
        obj = getattr(obj, part)
    return obj


def _check_type(key: str, value: Any, annotation: Any) -> Any:
    """Value converted to the annotated type, or ConfigError."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _check_type(key, value, inner[0])
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(f"{key}={value!r}: expected a list")
        return [_check_type(f"{key}[{i}]", v, args[0]) for i, v in enumerate(value)]
    if annotation is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if annotation is float and isinstance(value, str):  # YAML 1.1 reads 1e-3 (no dot) as a string
        try:
            return float(value)
        except ValueError:
            pass
    if annotation is bool and not isinstance(value, bool):
        raise ConfigError(f"{key}={value!r}: expected true or false")
    if annotation is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise ConfigError(f"{key}={value!r}: expected an integer")
    if annotation in (str, float) and not isinstance(value, annotation):
        raise ConfigError(f"{key}={value!r}: expected a {annotation.__name__}")
    return value


def _build(cls: type, raw: Any, where: str) -> Any:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{where or 'config'}: expected a mapping, got {raw!r}")
    hints = typing.get_type_hints(cls)
    fields = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - fields)
    if unknown:
        raise ConfigError(f"unknown key(s) {', '.join(f'{where}{k}' for k in unknown)}: "
                          f"allowed in {where.rstrip('.') or 'the top level'}: {', '.join(sorted(fields))}")
    values = {}
    for name, value in raw.items():
        hint = hints[name]
        key = f"{where}{name}"
        values[name] = _build(hint, value, f"{key}.") if dataclasses.is_dataclass(hint) else _check_type(key, value, hint)
    return cls(**values)


def apply_overrides(raw: dict, overrides: list[str]) -> dict:
    """Apply ``section.key=value`` overrides to a raw (YAML-loaded) config mapping."""
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override {item!r}: expected section.key=value, e.g. training.epochs=3")
        key, text = item.split("=", 1)
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError:
            raise ConfigError(f"override {item!r}: the value is not a YAML scalar") from None
        node = raw
        parts = key.strip().split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"override {item!r}: {part} is not a section")
        node[parts[-1]] = value
    return raw


def load_config(path: str | Path | None, overrides: list[str] = ()) -> Config:
    """Read, override and validate a config (no file: the defaults plus the overrides)."""
    raw: dict = {}
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise InputNotFoundError(f"config {path} not found: see configs/ for examples")
        try:
            raw = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    try:
        return _build(Config, apply_overrides(raw, list(overrides)), "").validate()
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}" if path is not None else str(exc)) from None
