"""Loading a config: YAML file, then command-line flags, then ``section.key=value`` overrides, validated once.

Every stage's schema is a :class:`Section` (pydantic): unknown keys are errors, every value is checked against
its type and range, defaults live in the schema (or in the library dataclass the schema reads them from).
A pydantic ``ValidationError`` never reaches the user: :func:`validate` turns it into one
:class:`~landcover_hpc.errors.ConfigError` line naming the file, the key, what is allowed and the bad value,
e.g. ``configs/demo.yaml: training.batch_size: must be >= 1, got -1``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Iterable, Literal, Mapping, TypeVar, get_args

import yaml
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, ValidationError, model_validator

from ..errors import ConfigError
from ..io import read_yaml_file
from ..models.names import PRECISION_CHOICES
from ..runtime import resolve_precision

__all__ = ["Section", "OptionsSection", "load_config", "read_yaml", "apply_overrides", "set_key", "validate", "NamedPaths",
           "NamedPathLists", "Precision"]


class Section(BaseModel):
    """Base of every schema and section: unknown keys are errors; defaults are validated like values."""

    model_config = ConfigDict(extra="forbid", validate_default=True)

    def to_dict(self) -> dict[str, Any]:
        """Plain YAML/JSON-able values (what ``--print-config`` and ``RUN_DIR/config.yaml`` hold)."""
        return self.model_dump(mode="json")

    def to_yaml(self) -> str:
        """The config as a YAML file that loads back to the same config."""
        return yaml.safe_dump(self.to_dict(), sort_keys=False)


S = TypeVar("S", bound=Section)


class OptionsSection(Section):
    """A stage config that builds a library options object (``options()``) whose ``validate()`` holds the
    allowed ranges: they are checked on every loaded config, so a range is written once, in the library,
    and its ``ConfigError`` (a ValueError) becomes the config's one-line error."""

    def options(self):  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    @model_validator(mode="after")
    def _options_in_range(self):
        self.options().validate()
        return self


def _pairs(raw: Any) -> Any:
    """``(name, value)`` pairs of a list of ``NAME=VALUE`` strings or pairs (repeated ``--map NAME=PATH``
    flags, an override ``maps=[A=a.tif, B=b.tif]``); anything else is left to the schema."""
    if not isinstance(raw, (list, tuple)):
        return raw
    pairs = []
    for item in raw:
        if isinstance(item, str):
            name, sep, value = item.partition("=")
            if not sep or not name.strip() or not value.strip():
                raise ValueError(f"{item!r}: expected NAME=VALUE, e.g. RF=eval/rf")
            item = (name.strip(), value.strip())
        pairs.append(item)
    return pairs


def _unique_names(raw: Any) -> Any:
    pairs = _pairs(raw)
    if not isinstance(pairs, list):
        return pairs
    names = [pair[0] for pair in pairs]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ValueError(f"{', '.join(twice)} given twice: give each its own NAME")
    return dict(pairs)


def _grouped_names(raw: Any) -> Any:
    pairs = _pairs(raw)
    if isinstance(pairs, Mapping):  # NAME: VALUE in a file is NAME: [VALUE]
        return {name: [value] if isinstance(value, str) else value for name, value in pairs.items()}
    if not isinstance(pairs, list):
        return pairs
    grouped: dict[str, list] = {}
    for name, value in pairs:
        grouped.setdefault(name, []).append(value)
    return grouped


#: ``{name: path}``, also from a list of ``NAME=PATH`` (repeated flags); a name given twice is an error.
NamedPaths = Annotated[dict[str, str], BeforeValidator(_unique_names)]
#: ``{name: [path, ...]}``, also from a list of ``NAME=PATH`` where a repeated name adds a path (repeats).
NamedPathLists = Annotated[dict[str, list[str]], BeforeValidator(_grouped_names)]
#: A compute precision; ``auto`` becomes bfloat16 or float32 for this machine's CPU when the config is read
#: (:func:`~landcover_hpc.runtime.resolve_precision`), so what ran is what the saved config says.
Precision = Annotated[Literal[PRECISION_CHOICES], AfterValidator(resolve_precision)]


def load_config(schema: type[S], path: str | Path | None = None, overrides: Iterable[str] = (),
                values: Mapping[str, Any] | None = None) -> S:
    """The validated config: the file (or the defaults), then ``values`` (``{"section.key": value}``, from
    command-line flags), then the ``section.key=value`` ``overrides``; a later source wins.

    Raises:
        InputNotFoundError: ``path`` does not exist.
        ConfigError: bad YAML, unknown key, wrong type or value (the message names the file and the key).
    """
    raw = read_yaml(path) if path is not None else {}
    try:
        for key, value in (values or {}).items():
            set_key(raw, key, value)
        return validate(schema, apply_overrides(raw, overrides))
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}" if path is not None else str(exc)) from None


def read_yaml(path: str | Path) -> dict[str, Any]:
    """The mapping of a YAML config file (an empty file is an empty mapping)."""
    raw = read_yaml_file(path, "config", "see configs/ for examples")
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of key: value lines, got {raw!r}")
    return raw


def apply_overrides(raw: dict[str, Any], overrides: Iterable[str]) -> dict[str, Any]:
    """Apply ``section.key=value`` overrides (values read as YAML: ``3``, ``2e-3``, ``[T31UDQ]``, ``null``)."""
    for item in overrides:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"override {item!r}: expected section.key=value, e.g. training.epochs=3")
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError:
            raise ConfigError(f"override {item!r}: the value is not a YAML scalar or list") from None
        set_key(raw, key.strip(), value)
    return raw


def set_key(raw: dict[str, Any], key: str, value: Any) -> None:
    """``raw["a"]["b"] = value`` for ``key="a.b"``, creating sections on the way."""
    *sections, name = key.split(".")
    node = raw
    for part in sections:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"{key}: {part} is not a section (it holds {node!r})")
    node[name] = value


def validate(schema: type[S], raw: Mapping[str, Any]) -> S:
    """``schema`` built from ``raw``, or a one-line ConfigError describing every invalid key."""
    try:
        return schema.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError("; ".join(_describe(schema, error) for error in exc.errors())) from None


_TYPE_TEXT = {
    "int_type": "expected an integer", "int_parsing": "expected an integer", "int_from_float": "expected an integer",
    "float_type": "expected a number", "float_parsing": "expected a number",
    "bool_type": "expected true or false", "bool_parsing": "expected true or false",
    "string_type": "expected a string", "list_type": "expected a list",
    "model_type": "expected a section (a mapping of key: value lines)",
    "model_attributes_type": "expected a section (a mapping of key: value lines)",
}
_BOUND_TEXT = {"greater_than_equal": ">= {ge}", "greater_than": "> {gt}", "less_than": "< {lt}",
               "less_than_equal": "<= {le}"}


def _describe(schema: type[Section], error: Mapping[str, Any]) -> str:
    """One pydantic error as ``key: what is wrong, got value``."""
    key, section, field = _locate(schema, error["loc"])
    kind, ctx = error["type"], error.get("ctx", {})
    if kind == "extra_forbidden":
        where = f"section {key.rpartition('.')[0]}" if "." in key else "the top level"
        return f"{key}: unknown key; {where} allows {', '.join(section.model_fields)}"
    if kind == "missing":
        return f"{key}: missing: set it in the config file or on the command line (see --help)"
    if kind in _TYPE_TEXT:
        text = _TYPE_TEXT[kind]
    elif kind in _BOUND_TEXT:
        text = "must be " + _BOUND_TEXT[kind].format(**ctx)
    elif kind == "literal_error":
        text = "must be one of " + str(ctx["expected"]).replace("'", "")
    elif kind == "value_error":  # a schema's own check: its message is complete
        text = str(ctx.get("error", error["msg"]))
        return f"{key}: {text}" if key else text
    else:
        text = error["msg"][:1].lower() + error["msg"][1:]
    if field is not None and type(None) in get_args(field.annotation) and kind not in _TYPE_TEXT:
        text += " (or null)"
    return f"{key}: {text}, got {error['input']!r}" if key else f"{text}, got {error['input']!r}"


def _locate(schema: type[Section], loc: tuple) -> tuple[str, type[Section], Any]:
    """The dotted key of an error location, the section holding it and its field (None if unknown).

    Locations may hold union-member tags (``int``, ``list[str]``) between field names: they are no keys.
    """
    key, section, field = "", schema, None
    for i, part in enumerate(loc):
        if isinstance(part, int):
            key += f"[{part}]"
        elif section is not None and part in section.model_fields:
            key = f"{key}.{part}" if key else str(part)
            field = section.model_fields[part]
            inner = field.annotation
            section_next = inner if isinstance(inner, type) and issubclass(inner, Section) else None
            if section_next is not None:
                section = section_next
            elif i < len(loc) - 1:
                section = None
        elif i == len(loc) - 1 and section is not None:  # an unknown key
            key = f"{key}.{part}" if key else str(part)
            field = None
    return key, section, field
