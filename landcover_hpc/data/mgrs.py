"""Sentinel-2 tile identifiers (MGRS 100 km squares, e.g. ``T31UDQ``) and their UTM georeferencing."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import ConfigError

__all__ = ["TileId", "parse_tile_id"]

_TILE = re.compile(r"^T?(\d{1,2})([C-HJ-NP-X])([A-HJ-NP-Z])([A-HJ-NP-V])$")
_LAT_BANDS = "CDEFGHJKLMNPQRSTUVWX"  # 8 degree bands from 80 S
_COLUMN_SETS = ("STUVWXYZ", "ABCDEFGH", "JKLMNPQR")  # by zone % 3
_ROW_LETTERS = "ABCDEFGHJKLMNPQRSTUV"  # 20 letters, 100 km each, 2000 km cycle
_KM_PER_DEGREE = 110.6  # meridian arc, enough to pick the 2000 km cycle


@dataclass(frozen=True)
class TileId:
    zone: int
    band: str
    column: str
    row: str

    def __str__(self) -> str:
        return f"T{self.zone:02d}{self.band}{self.column}{self.row}"

    @property
    def north(self) -> bool:
        return self.band >= "N"

    @property
    def epsg(self) -> int:
        """EPSG code of the tile's UTM zone (WGS 84): 326zz north, 327zz south."""
        return (32600 if self.north else 32700) + self.zone

    @property
    def square_origin(self) -> tuple[float, float]:
        """(easting, northing) of the north-west corner of the MGRS 100 km square, in metres."""
        easting = 100_000.0 * (_COLUMN_SETS[self.zone % 3].index(self.column) + 1)
        row = (_ROW_LETTERS.index(self.row) - (5 if self.zone % 2 == 0 else 0)) % 20
        lat_min = -80 + 8 * _LAT_BANDS.index(self.band)
        band_min_northing = lat_min * _KM_PER_DEGREE * 1000.0 + (0 if self.north else 10_000_000.0)
        # the 2000 km cycle whose square lies in (or just below) the latitude band
        cycle = max(0, int((band_min_northing - 100_000.0 - row * 100_000.0) // 2_000_000.0 + 1))
        south = cycle * 2_000_000.0 + row * 100_000.0
        return easting, south + 100_000.0


def parse_tile_id(text: str) -> TileId:
    """Parse ``T31UDQ`` (or ``31UDQ``) into a :class:`TileId`."""
    match = _TILE.match(text.strip().upper())
    if not match or not 1 <= int(match.group(1)) <= 60:
        raise ConfigError(
            f"tile id {text!r} is not a Sentinel-2 tile: expected T + UTM zone 01-60 + latitude band + "
            "two MGRS letters, e.g. T31UDQ"
        )
    zone, band, column, row = int(match.group(1)), match.group(2), match.group(3), match.group(4)
    if column not in _COLUMN_SETS[zone % 3]:
        raise ConfigError(f"tile id {text!r}: column letter {column} does not exist in UTM zone {zone} "
                          f"(valid: {', '.join(_COLUMN_SETS[zone % 3])})")
    return TileId(zone, band, column, row)
