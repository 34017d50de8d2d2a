"""Realistic synthetic Sentinel-2 tiles (and their Sentinel-1 stacks) in the tile input format, for the demo
and the tests.

Pixel-wise classes differ by their spectral-temporal profile (phenology, materials); urban classes share
their materials and differ by spatial arrangement only, so that contextual models can beat pixel-wise ones
where the paper found they do.
"""

from .generate import NODATA, SynthOptions, synth_dates, synth_s1_dates, synthesize_tile
from .landscape import CLASS_NAMES, PROFILES, make_landscape, profile_of

__all__ = ["NODATA", "SynthOptions", "synth_dates", "synth_s1_dates", "synthesize_tile", "CLASS_NAMES", "PROFILES",
           "make_landscape", "profile_of"]
