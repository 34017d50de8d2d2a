"""Command-line options generated from a schema: each config key is also a flag, with the same help text.

A command never restates its options by hand: :func:`add_schema_flags` adds one option per key of a section
(``patch_size`` -> ``--patch-size``; help = the field's description and its default), and
:func:`flag_values` hands back only the flags the user gave, keyed by their config key, so that
:func:`~landcover_hpc.config.schema.load_config` can lay them over the file. Values are passed through
(numbers read as YAML numbers) and converted by the schema: a bad ``--trees x`` is the same one-line error as
``trees: x`` in a file.
Booleans get ``--force`` / ``--no-force`` pairs (either can override the file), lists take ``A,B,C`` (or,
with ``json_schema_extra={"repeat": "append"}``, one value per repeated flag; ``"extend"``: several values per
flag), mappings take repeated ``NAME=VALUE`` flags (``--eval RF=eval/rf --eval FG-UNET=eval/fgunet``).
"""

from __future__ import annotations

import argparse
import re
from typing import Any, Callable, Literal, Sequence, get_args, get_origin

import yaml
from pydantic.fields import FieldInfo

from ..logs import LEVELS
from .schema import Section

__all__ = ["add_schema_flags", "add_config_options", "flag_values", "comma_list", "name_value"]

#: Prefix of the argparse ``dest`` of generated flags: keeps them apart from a command's own options.
_DEST = "config:"
#: ``dest`` naming the key that takes the positional arguments that are no overrides (if any)
_POSITIONAL = "config_positional"
#: what an override looks like: a (dotted) key, then ``=``; anything else positional is a value of that key
_OVERRIDE = re.compile(r"^[A-Za-z_][\w.]*=")


def add_config_options(parser: argparse.ArgumentParser, positional: tuple[str, str] | None = None) -> None:
    """``--config FILE``, ``--print-config``, ``--debug``, ``--log-level``, ``--log-file`` and the positional ``section.key=value`` overrides.

    Args:
        positional: ``(key, help)`` of a list key that also takes the positional arguments that are no
            overrides (``landcover-mosaic maps/ --out m`` sets ``maps``); see :func:`flag_values`.
    """
    parser.add_argument("--config", metavar="FILE", default=None,
                        help="YAML config of this command (see configs/); flags and overrides are laid over it")
    parser.add_argument("--print-config", action="store_true",
                        help="print the effective config (file + flags + overrides) as YAML and exit")
    parser.add_argument("--debug", action="store_true",
                        help="print the traceback of an error (else one line; exit code 2 for a user error, 70 for "
                             "an internal one)")
    parser.add_argument("--log-level", choices=LEVELS, default="INFO",
                        help="least level of the log lines on stderr (and --log-file): WARNING leaves out progress "
                             "lines; under mpirun the ranks other than 0 log WARNING and above (default: %(default)s)")
    parser.add_argument("--log-file", metavar="FILE", default=None,
                        help="also append the log lines to FILE (timestamp, level, rank, command); under mpirun "
                             "rank N>0 appends to FILE's stem + .rankN + suffix, beside it")
    help_ = "config overrides, applied last (values read as YAML, e.g. window=256 tiles=[T31UDQ])"
    if positional is None:
        parser.add_argument("overrides", nargs="*", metavar="section.key=value", help=help_)
    else:
        key, text = positional
        parser.add_argument("overrides", nargs="*", metavar=f"{key.upper()}|key=value", help=f"{text}; {help_}")
        parser.set_defaults(**{_POSITIONAL: key})


def add_schema_flags(parser: argparse.ArgumentParser | argparse._ArgumentGroup, schema: type[Section],
                     under: Sequence[str] = (), skip: Sequence[str] = (), flag_prefix: str = "") -> None:
    """One option per plain key of the section ``under`` of ``schema`` (nested sections are left out).

    Args:
        under: path of the section, e.g. ``("train",)``; its keys become ``train.<key>`` in the config.
        skip: keys given no flag (the command has its own option for them).
        flag_prefix: put before the flag name (``"training-"`` -> ``--training-epochs``).
    A field may name its flags and metavar itself: ``Field(json_schema_extra={"flags": ["--tile", "--tiles"],
    "metavar": "TILE"})``, and choose how a list is given (``"repeat"``, see the module docstring).
    """
    section = _section_at(schema, under)
    for name, field in section.model_fields.items():
        if name in skip or _is_section(field.annotation):
            continue
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        flags = extra.get("flags") or [f"--{flag_prefix}{name.replace('_', '-')}"]
        parser.add_argument(*flags, dest=_DEST + ".".join((*under, name)), default=argparse.SUPPRESS,
                            help=_help(field), **_parsing(field.annotation, name, extra))


def flag_values(args: argparse.Namespace) -> dict[str, Any]:
    """``{"section.key": value}`` of the generated flags the user gave (the others are absent).

    With a positional key (:func:`add_config_options`), the positional arguments that are no ``key=value``
    overrides are taken out of ``args.overrides`` and become that key's value (added to its flag's values).
    """
    values = {dest[len(_DEST):]: value for dest, value in vars(args).items() if dest.startswith(_DEST)}
    key = getattr(args, _POSITIONAL, None)
    if key is not None:
        items = [item for item in args.overrides if not _OVERRIDE.match(item)]
        args.overrides = [item for item in args.overrides if _OVERRIDE.match(item)]
        if items:
            values[key] = [*items, *values.get(key, [])]
    return values


def comma_list(text: str) -> list[str]:
    """argparse type for ``A,B,C`` lists."""
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items:
        raise argparse.ArgumentTypeError("expected a comma-separated list, e.g. T31UDQ,T30TWT")
    return items


def name_value(form: str, example: str) -> Callable[[str], tuple[str, str]]:
    """argparse type for ``NAME=VALUE`` pairs (``form`` e.g. ``"METHOD=DIR"``), both parts non-empty."""

    def parse(text: str) -> tuple[str, str]:
        name, sep, value = text.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise argparse.ArgumentTypeError(f"{text!r}: expected {form}, e.g. {example}")
        return name.strip(), value.strip()

    return parse


def _section_at(schema: type[Section], under: Sequence[str]) -> type[Section]:
    section = schema
    for name in under:
        section = section.model_fields[name].annotation
    return section


def _is_section(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, Section)


def _parsing(annotation: Any, name: str, extra: dict[str, Any]) -> dict[str, Any]:
    """argparse keywords for a field type: a boolean pair, a list, repeated ``NAME=VALUE`` pairs, or text with
    a telling metavar (``extra["metavar"]`` if the field names one)."""
    inner = _without_none(annotation)
    metavar = extra.get("metavar")
    if inner is bool:
        return {"action": argparse.BooleanOptionalAction}
    if get_origin(inner) is dict:  # the schema turns the (name, value) pairs into the mapping
        form = metavar or "NAME=VALUE"
        return {"action": "append", "metavar": form, "type": name_value(form, extra.get("example", "A=a"))}
    if get_origin(inner) is list:
        repeat = extra.get("repeat")
        if repeat == "append":
            return {"action": "append", "metavar": metavar or name.upper()}
        if repeat == "extend":
            return {"action": "extend", "nargs": "+", "metavar": metavar or name.upper()}
        return {"type": comma_list, "metavar": metavar or "A,B,..."}
    if get_origin(inner) is Literal:
        return {"metavar": "{" + ",".join(map(str, get_args(inner))) + "}"}
    if inner in (int, float):
        return {"type": _number, "metavar": metavar or {int: "N", float: "X"}[inner]}
    return {"metavar": metavar or name.upper()}


def _number(text: str) -> Any:
    """A number flag read like a YAML value (``2e-3``, ``null``); anything else is left to the schema to
    reject in its own words (``expected an integer, got 'x'``)."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def _without_none(annotation: Any) -> Any:
    """``X`` of ``X | None``."""
    members = [a for a in get_args(annotation) if a is not type(None)]
    return members[0] if type(None) in get_args(annotation) and len(members) == 1 else annotation


def _help(field: FieldInfo) -> str:
    """The field's description, then ``(required)`` or its default unless the description tells it already."""
    text = field.description or ""
    if field.is_required():
        text += " (required)"
    elif "default" not in text:
        text += f" (default {_shown(field.get_default(call_default_factory=True))})"
    return text.replace("%", "%%").strip()


def _shown(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value)) or "none"
    if isinstance(value, dict):
        return ",".join(f"{k}={v}" for k, v in value.items()) or "none"
    return str(value)
