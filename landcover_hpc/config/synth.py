"""``landcover-synth``: synthetic Sentinel-2 tiles in the tile input format (configs/synth.yaml).

The generator's settings and their defaults are those of :class:`~landcover_hpc.synth.SynthOptions`, read from
it, and so are their allowed ranges (``SynthOptions.validate``, run on every loaded config);
:meth:`SynthConfig.options` builds it.
"""

from __future__ import annotations

from pydantic import Field

from ..synth import SynthOptions
from .schema import OptionsSection

__all__ = ["SynthConfig"]

_D = SynthOptions


class SynthConfig(OptionsSection):
    out: str = Field(description="output data root (one folder per tile is written in it)")
    tiles: list[str] = Field(description="tile ids, e.g. T31UDQ,T30TWT")
    nomenclature: str | None = Field(
        None, description="nomenclature YAML (default: the packaged configs/nomenclature.yaml)")
    size: int = Field(_D.size, description="tile side in 10 m pixels")
    seed: int = Field(_D.seed, description="random seed")
    n_dates: int = Field(_D.n_dates, description="number of dates", json_schema_extra={"flags": ["--dates"]})
    date_step: int = Field(_D.date_step, description="days between dates")
    year: int = Field(_D.year, description="year of the dates")
    noise: float = Field(_D.noise, description="sensor noise, reflectance (1 sigma)")
    psf_sigma: float = Field(_D.psf_sigma, description="point spread function, px")
    swath_edge: bool = Field(_D.swath_edge, description="let some tiles have a nodata corner (orbit swath edge)")
    cloud_cover: float = Field(_D.cloud_cover, description="mean share of cloudy pixel-dates, gap-filled afterwards")
    mislabelled: float = Field(_D.mislabelled,
                               description="share of reference objects given a confusable wrong class")
    sentinel1: bool = Field(_D.sentinel1, description="also write stack_s1.tif, Sentinel-1 VV and VH on the same grid")
    s1_date_step: int = Field(_D.s1_date_step, description="days between Sentinel-1 dates")
    s1_n_dates: int | None = Field(_D.s1_n_dates, description="number of Sentinel-1 dates (default: as many as fit "
                                   "in the span of the Sentinel-2 dates)", json_schema_extra={"flags": ["--s1-dates"]})

    def options(self) -> SynthOptions:
        """The library's generator options (everything but out, tiles and nomenclature)."""
        return SynthOptions(size=self.size, n_dates=self.n_dates, year=self.year, date_step=self.date_step,
                            seed=self.seed, noise=self.noise, psf_sigma=self.psf_sigma, swath_edge=self.swath_edge,
                            cloud_cover=self.cloud_cover, mislabelled=self.mislabelled, sentinel1=self.sentinel1,
                            s1_date_step=self.s1_date_step, s1_n_dates=self.s1_n_dates)
