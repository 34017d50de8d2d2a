"""The nomenclature: the map classes, their codes, names and colours (a YAML file users can replace).

Two numberings exist and are never mixed up:

- the class *code* (1..255) of the nomenclature, written in reference data and in the output maps;
- the class *index* (1..K, 0 = unlabelled), the position of the class in the nomenclature plus one, used in
  the label rasters of the tile stores and (minus one) on the class axis of the models.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from .errors import ConfigError, UnknownClassError
from .io import read_yaml_file

__all__ = ["LandClass", "Nomenclature", "DEFAULT_NOMENCLATURE", "load_nomenclature"]

#: The default nomenclature (the paper's 17 OSO classes): package data, so that an installed wheel has it.
#: configs/nomenclature.yaml is the same file, for users to read and copy (tests/test_packaging.py: equal).
DEFAULT_NOMENCLATURE = resources.files(__package__) / "resources" / "nomenclature.yaml"
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


@dataclass(frozen=True)
class LandClass:
    code: int
    name: str
    long_name: str
    color: str  # "#rrggbb"

    @property
    def rgb(self) -> tuple[int, int, int]:
        return tuple(int(self.color[i : i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]


@dataclass(frozen=True)
class Nomenclature:
    name: str
    classes: tuple[LandClass, ...]
    source: str = "<memory>"

    def __len__(self) -> int:
        return len(self.classes)

    @property
    def codes(self) -> list[int]:
        return [c.code for c in self.classes]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.classes]

    def index_of(self, code: int) -> int:
        """Class index (1..K) of a class code."""
        for i, c in enumerate(self.classes):
            if c.code == code:
                return i + 1
        raise UnknownClassError(f"class code {code} is not in the nomenclature {self.source} "
                                f"(valid codes: {', '.join(map(str, self.codes))})")

    def code_to_index_lut(self) -> np.ndarray:
        """(65536,) uint8 lookup table code -> index; 0 for codes outside the nomenclature and for 0."""
        lut = np.zeros(65536, dtype=np.uint8)
        for i, c in enumerate(self.classes):
            lut[c.code] = i + 1
        return lut

    def index_to_code_lut(self) -> np.ndarray:
        """(K + 1,) uint8 lookup table index -> code, with 0 -> 0."""
        return np.array([0] + self.codes, dtype=np.uint8)

    def colormap(self) -> dict[int, tuple[int, int, int, int]]:
        """GDAL colour table keyed by class code (0, the nodata value, transparent)."""
        cmap = {0: (0, 0, 0, 0)}
        cmap.update({c.code: (*c.rgb, 255) for c in self.classes})
        return cmap

    def to_dict(self) -> dict:
        return {"name": self.name, "classes": [vars(c) for c in self.classes]}


def _parse(raw: object, source: str) -> Nomenclature:
    if not isinstance(raw, dict) or not isinstance(raw.get("classes"), list) or not raw["classes"]:
        raise ConfigError(f"{source}: expected a mapping with a non-empty list 'classes'")
    classes = []
    for i, entry in enumerate(raw["classes"]):
        where = f"{source}: classes[{i}]"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: expected a mapping with code, name, long_name, color")
        unknown = set(entry) - {"code", "name", "long_name", "color"}
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) {sorted(unknown)} (allowed: code, name, long_name, color)")
        code = entry.get("code")
        if not isinstance(code, int) or isinstance(code, bool) or not 1 <= code <= 255:
            raise ConfigError(f"{where}.code = {code!r}: must be an integer in 1..255 (0 means unlabelled)")
        name = entry.get("name")
        if not isinstance(name, str) or not name:
            raise ConfigError(f"{where}.name = {name!r}: must be a non-empty string")
        color = entry.get("color", "#808080")
        if not isinstance(color, str) or not _COLOR.match(color):
            raise ConfigError(f"{where}.color = {color!r}: must be '#rrggbb'")
        classes.append(LandClass(code, name, str(entry.get("long_name", name)), color.lower()))
    for attr in ("code", "name"):
        values = [getattr(c, attr) for c in classes]
        dup = sorted({v for v in values if values.count(v) > 1}, key=str)
        if dup:
            raise ConfigError(f"{source}: duplicated class {attr}(s) {dup}: each class needs its own {attr}")
    return Nomenclature(str(raw.get("name", Path(source).stem)), tuple(classes), source)


def load_nomenclature(path: str | Path | None = None) -> Nomenclature:
    """Load and validate a nomenclature YAML file (default: :data:`DEFAULT_NOMENCLATURE`, package data)."""
    if path is None:
        with resources.as_file(DEFAULT_NOMENCLATURE) as default:
            return load_nomenclature(default)
    path = Path(path)
    raw = read_yaml_file(path, "nomenclature file", "pass --nomenclature PATH to a YAML file")
    return _parse(raw, str(path))


def nomenclature_from_dict(raw: dict, source: str = "<stored>") -> Nomenclature:
    """Rebuild a nomenclature saved with ``Nomenclature.to_dict`` (in a store or a model)."""
    return _parse(raw, source)
