"""``landcover-gapfill``: one tile's L2A acquisitions -> gap-filled stack (configs/gapfill.yaml).

The date grid and processing defaults are those of :class:`~landcover_hpc.gapfill.tile.GapfillOptions`, read
from it, and so are their allowed ranges (``GapfillOptions.validate``, run on every loaded config);
:meth:`GapfillConfig.options` builds it.
"""

from __future__ import annotations

from pydantic import Field

from ..gapfill.tile import GapfillOptions
from .schema import OptionsSection

__all__ = ["GapfillConfig"]

_D = GapfillOptions


class GapfillConfig(OptionsSection):
    input: str = Field(description="folder with one YYYYMMDD/ folder per acquisition",
                       json_schema_extra={"metavar": "ACQ_DIR"})
    out: str = Field(description="tile folder to write (its name is the tile id)",
                     json_schema_extra={"metavar": "OUT_DIR"})
    year: int | None = Field(_D.year, description="date grid from 1 January of this year (default: year of the "
                                                  "median acquisition)")
    start: str | None = Field(_D.start, description="first date of the grid, YYYYMMDD (instead of year)")
    end: str | None = Field(_D.end, description="last possible date of the grid, YYYYMMDD (default start + 32 x "
                                                "step: 33 dates)")
    step: int = Field(_D.step, description="days between grid dates")
    block: int = Field(_D.block, description="processing block side, px, multiple of 16")
    processes: int | None = Field(_D.processes, description="worker processes (default: all usable cores)")
    snow_invalid: bool = Field(not _D.snow_is_clear,
                               description="treat SCL snow (11) as not clear (default false: snow is a clear "
                                           "observation)")
    nodata: int = Field(_D.nodata, description="nodata value of stack.tif (int16)")
    quiet: bool = Field(False, description="no progress lines")

    def options(self) -> GapfillOptions:
        """The library's options (everything but the folders and quiet)."""
        return GapfillOptions(start=self.start, end=self.end, step=self.step, year=self.year, block=self.block,
                              processes=self.processes, snow_is_clear=not self.snow_invalid, nodata=self.nodata)
