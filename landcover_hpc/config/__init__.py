"""Typed configs of every command (YAML is only the file format).

One pydantic schema per stage: :class:`~.prepare.PrepareConfig` (``landcover-prepare``),
:class:`~.train.TrainConfig` (``landcover-train``), :class:`~.predict.PredictConfig` (``landcover-predict``),
:class:`~.rf.RFConfig` (``landcover-rf``), :class:`~.evaluate.EvaluateConfig` (``landcover-evaluate``),
:class:`~.synth.SynthConfig`, :class:`~.gapfill.GapfillConfig`, :class:`~.worldcereal.WorldCerealConfig`,
:class:`~.geometry.GeometryConfig`, :class:`~.compare.CompareConfig`, :class:`~.mosaic.MosaicConfig` (the
commands of the same names); an example of each is in configs/. ``schema`` loads and validates (file, then flags, then ``section.key=value``
overrides; errors are one :class:`~landcover_hpc.errors.ConfigError` line naming the file and the key);
``flags`` generates each command's options from its schema. The library keeps its plain option dataclasses
(``PrepareOptions``, ``PredictOptions``, ...): a schema reads its defaults from them and builds them, so a
default is written once. Nothing here imports TensorFlow.
"""

from .flags import add_config_options, add_schema_flags, flag_values
from .schema import Section, apply_overrides, load_config, read_yaml, set_key, validate

__all__ = ["Section", "load_config", "read_yaml", "apply_overrides", "set_key", "validate", "add_config_options",
           "add_schema_flags", "flag_values"]
