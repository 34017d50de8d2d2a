"""Command-line options generated from a schema: each config key is also a flag, with the same help text.

A command never restates its options by hand: :func:`add_schema_flags` adds one option per key of a section
(``patch_size`` -> ``--patch-size``; help = the field's description and its default), and
:func:`flag_values` hands back only the flags the user gave, keyed by their config key, so that
:func:`~landcover_hpc.config.schema.load_config` can lay them over the file. Values are passed through
(numbers read as YAML numbers) and converted by the schema: a bad ``--trees x`` is the same one-line error as
``trees: x`` in a file.
Booleans get ``--force`` / ``--no-force`` pairs (either can override the file), lists take ``A,B,C``.
"""

from __future__ import annotations

import argparse
from typing import Any, Literal, Sequence, get_args, get_origin

import yaml
from pydantic.fields import FieldInfo

from .schema import Section

__all__ = ["add_schema_flags", "add_config_options", "flag_values", "comma_list"]

#: Prefix of the argparse ``dest`` of generated flags: keeps them apart from a command's own options.
_DEST = "config:"


def add_config_options(parser: argparse.ArgumentParser) -> None:
    """``--config FILE``, ``--print-config`` and the positional ``section.key=value`` overrides."""
    parser.add_argument("--config", metavar="FILE", default=None,
                        help="YAML config of this command (see configs/); flags and overrides are laid over it")
    parser.add_argument("--print-config", action="store_true",
                        help="print the effective config (file + flags + overrides) as YAML and exit")
    parser.add_argument("overrides", nargs="*", metavar="section.key=value",
                        help="config overrides, applied last (values read as YAML, e.g. window=256 tiles=[T31UDQ])")


def add_schema_flags(parser: argparse.ArgumentParser | argparse._ArgumentGroup, schema: type[Section],
                     under: Sequence[str] = (), skip: Sequence[str] = (), flag_prefix: str = "") -> None:
    """One option per plain key of the section ``under`` of ``schema`` (nested sections are left out).

    Args:
        under: path of the section, e.g. ``("train",)``; its keys become ``train.<key>`` in the config.
        skip: keys given no flag (the command has its own option for them).
        flag_prefix: put before the flag name (``"training-"`` -> ``--training-epochs``).
    A field may name its flags itself: ``Field(json_schema_extra={"flags": ["--tile", "--tiles"]})``.
    """
    section = _section_at(schema, under)
    for name, field in section.model_fields.items():
        if name in skip or _is_section(field.annotation):
            continue
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        flags = extra.get("flags") or [f"--{flag_prefix}{name.replace('_', '-')}"]
        parser.add_argument(*flags, dest=_DEST + ".".join((*under, name)), default=argparse.SUPPRESS,
                            help=_help(field), **_parsing(field.annotation, name))


def flag_values(args: argparse.Namespace) -> dict[str, Any]:
    """``{"section.key": value}`` of the generated flags the user gave (the others are absent)."""
    return {dest[len(_DEST):]: value for dest, value in vars(args).items() if dest.startswith(_DEST)}


def comma_list(text: str) -> list[str]:
    """argparse type for ``A,B,C`` lists."""
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items:
        raise argparse.ArgumentTypeError("expected a comma-separated list, e.g. T31UDQ,T30TWT")
    return items


def _section_at(schema: type[Section], under: Sequence[str]) -> type[Section]:
    section = schema
    for name in under:
        section = section.model_fields[name].annotation
    return section


def _is_section(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, Section)


def _parsing(annotation: Any, name: str) -> dict[str, Any]:
    """argparse keywords for a field type: a boolean pair, a comma list, or text with a telling metavar."""
    inner = _without_none(annotation)
    if inner is bool:
        return {"action": argparse.BooleanOptionalAction}
    if get_origin(inner) is list:
        return {"type": comma_list, "metavar": "A,B,..."}
    if get_origin(inner) is Literal:
        return {"metavar": "{" + ",".join(map(str, get_args(inner))) + "}"}
    if inner in (int, float):
        return {"type": _number, "metavar": {int: "N", float: "X"}[inner]}
    return {"metavar": name.upper()}


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
    return str(value)
