"""Sentinel-1 backscatter model of the synthetic tiles: VV and VH sigma0 of every material, in time.

Like :mod:`.spectra` for reflectance, a vegetated pixel's backscatter mixes a background (soil, litter, dry
grass) and a canopy by its green fraction g(t), which is the parcel's own phenology (the same
:func:`.spectra.green_fraction` that drives its Sentinel-2 reflectance: sowing, growth, harvest, mowing,
leaf-on/leaf-off, shifted per object and per tile): ``sigma0_dB = (1 - g) * background_dB + g * canopy_dB``,
so VH rises with biomass and drops at harvest. Bare soil brightens on wet dates (+3 dB from dry to wet).
Water is dark (VV about -21 dB) and brightens on windy dates; built pixels mix, in linear power, bright
buildings (double bounce, VV about -4 dB), dark smooth asphalt and garden by their sub-pixel fractions, so
continuous urban fabric sits near -5 dB VV, stable in time; forests are stable (VV about -7, VH about -13 dB).
Every object gets its own offset (roughness, moisture, orientation of buildings to the radar) and the tile a
near-to-far range trend. Speckle is multiplicative: the linear power times a Gamma(L, 1/L) draw of mean 1,
L = 4.4 equivalent looks as in Sentinel-1 IW GRD high-resolution products.

Typical values (general literature values, C band, incidence 30-45 degrees): water -18 to -25 dB VV;
urban -8 to 0 dB VV; forest -8 to -6 dB VV, -14 to -12 dB VH; bare soil -15 to -8 dB VV and -25 to -17 dB
VH, +2 to +4 dB when wet; crops VH from -22 to -14 dB as biomass grows, dropping back at harvest; grassland
between soil and crops. Sources: Ulaby & Long 2014, *Microwave Radar and Radiometric Remote Sensing*
(chapters on land and water backscatter); Veloso et al. 2017, *Remote Sensing of Environment* 199, 415-426
(temporal behaviour of VV, VH and VH/VV of maize, wheat, sunflower, soybean, rapeseed with Sentinel-1);
Abdikan et al. 2016, *ISPRS Archives* XLI-B7 (Sentinel-1 land-cover classes: urban, forest, water, crops);
Attema & Ulaby 1978, *Radio Science* 13(2) (the water cloud model that the g(t) mixture simplifies); ESA
Sentinel-1 User Handbook 2013 (GRD IW high resolution: 4.4 equivalent looks).

Units: sigma0 in dB (float32) here; :mod:`.generate` writes dB x 100 as int16.
"""

from __future__ import annotations

import numpy as np

from .spectra import MATERIALS, URBAN_PARTS, green_fraction, material_id

__all__ = ["BACKSCATTER", "EQUIVALENT_LOOKS", "backscatter_db", "speckle"]

#: Equivalent number of looks of Sentinel-1 IW GRD high-resolution products (S1 User Handbook).
EQUIVALENT_LOOKS = 4.4

# material -> ((background VV, VH), (canopy VV, VH) or None for a constant material), dB.
_SOIL, _LITTER, _DRY = (-12.0, -20.5), (-9.0, -15.0), (-13.0, -21.0)
BACKSCATTER: dict[str, tuple[tuple[float, float], tuple[float, float] | None]] = {
    "maize": (_SOIL, (-8.5, -13.5)), "sunflower": (_SOIL, (-9.0, -14.5)), "potato": (_SOIL, (-9.5, -15.0)),
    "wheat": (_SOIL, (-11.5, -16.5)), "barley": (_SOIL, (-11.5, -16.5)),  # vertical stems attenuate VV
    "rapeseed": (_SOIL, (-9.0, -14.0)),
    "meadow": (_SOIL, (-10.5, -16.5)), "pasture": (_SOIL, (-10.5, -16.5)), "garden": (_SOIL, (-10.5, -16.5)),
    "orchard": (_DRY, (-8.5, -14.5)), "vineyard": (_SOIL, (-8.5, -15.0)), "vineyard_grassed": (_DRY, (-8.5, -15.0)),
    "broadleaf": (_LITTER, (-6.8, -12.5)), "conifer": (_LITTER, (-6.8, -12.8)),
    "natural_grass": (_DRY, (-10.5, -17.0)), "rough_grass": (_DRY, (-10.5, -17.0)),
    "moor": (_SOIL, (-9.5, -15.5)), "shrubland": (_LITTER, (-8.0, -14.0)),
    "water": ((-21.0, -28.0), None), "sand": ((-18.0, -27.0), None), "rock": ((-9.0, -16.0), None),
    "snow": ((-11.0, -19.0), None), "roof_tile": ((-4.0, -11.0), None), "roof_flat": ((-4.0, -11.0), None),
    "asphalt": ((-16.0, -24.0), None), "built": ((-4.0, -11.0), None),
}
assert set(BACKSCATTER) == set(MATERIALS), "every material of spectra.MATERIALS needs its backscatter"
# Per part of a built pixel (spectra.URBAN_PARTS order): buildings (double bounce), asphalt, garden (None).
_URBAN_PART_DB = {"roof_tile": (-4.0, -11.0), "roof_flat": (-4.0, -11.0), "roof_dark": (-4.0, -11.0),
                  "asphalt": (-16.0, -24.0)}
_WET_SOIL_DB = 3.0  # a wet date brightens bare soil by up to this much
_SOIL_BACKGROUNDS = ("soil",)


def _to_linear(db: np.ndarray) -> np.ndarray:
    return np.power(np.float32(10), np.asarray(db, np.float32) / np.float32(10))


def backscatter_db(material: np.ndarray, doy: np.ndarray, shift: np.ndarray, amp: np.ndarray, mow: np.ndarray,
                   variant: np.ndarray, urban: np.ndarray | None, wet: np.ndarray, wind: np.ndarray) -> np.ndarray:
    """Speckle-free VV and VH sigma0 of pixels, in dB.

    Args:
        material: (n,) material ids (:data:`.spectra.MATERIALS`).
        doy: (T1,) day of year of each Sentinel-1 date.
        shift, amp, mow, variant: the pixels' phenology parameters, as for :func:`.spectra.reflectance`
            ((n,), (n,), (n, 3), (n,)).
        urban: (n, 5) fractions of :data:`.spectra.URBAN_PARTS` of built pixels (needed if any).
        wet: (T1,) 0..1 soil wetness of each date; wind: (T1,) dB that wind roughening adds to water.
    Returns:
        (n, T1, 2) float32, VV then VH, dB.
    """
    n, T1 = material.shape[0], doy.shape[0]
    out = np.empty((n, T1, 2), np.float32)
    wet_db = (_WET_SOIL_DB * wet)[None, :, None].astype(np.float32)
    for mid in np.unique(material):
        name = list(MATERIALS)[mid]
        idx = np.flatnonzero(material == mid)
        background, canopy = BACKSCATTER[name]
        back = np.asarray(background, np.float32)[None, None, :] + (
            wet_db if MATERIALS[name][0] in _SOIL_BACKGROUNDS else 0.0)
        if name == "built":
            out[idx] = _built_db(idx, doy, shift, amp, mow, variant, urban, wet_db)
        elif canopy is not None:
            g = np.clip(green_fraction(name, doy, shift[idx], amp[idx], mow[idx], variant[idx]), 0.0, 0.98)
            out[idx] = (1 - g)[..., None] * back + g[..., None] * np.asarray(canopy, np.float32)
        elif name == "water":
            out[idx] = back + wind[None, :, None]
        elif name == "snow":  # wet snow in the melt season absorbs: glaciers darken in summer
            melt = 9.0 * np.exp(-(((doy - 210) / 40) ** 2))[None, :, None]
            out[idx] = back - melt
        else:
            out[idx] = np.broadcast_to(back, (len(idx), T1, 2))
    return out


def _built_db(idx, doy, shift, amp, mow, variant, urban, wet_db) -> np.ndarray:
    """(len(idx), T1, 2) dB of built pixels: buildings, asphalt and garden mixed in linear power."""
    if urban is None:
        raise ValueError("built pixels need their urban fractions")
    frac = urban[idx].astype(np.float32)
    frac /= np.maximum(frac.sum(axis=1, keepdims=True), 1e-6)
    parts = np.stack([_to_linear(_URBAN_PART_DB[p]) for p in URBAN_PARTS[:-1]])  # (4, 2)
    mineral = frac[:, :-1] @ parts  # (n, 2) linear power
    garden = backscatter_db(np.full(len(idx), material_id("garden"), np.uint8), doy, shift[idx], amp[idx],
                            mow[idx], variant[idx], None, wet_db[0, :, 0] / _WET_SOIL_DB, np.zeros(len(doy)))
    linear = mineral[:, None, :] + frac[:, -1, None, None] * _to_linear(garden)
    return (10 * np.log10(np.maximum(linear, 1e-6))).astype(np.float32)


def speckle(rng: np.random.Generator, sigma0_db: np.ndarray, looks: float = EQUIVALENT_LOOKS) -> np.ndarray:
    """``sigma0_db`` with multiplicative speckle: linear power times Gamma(looks, 1/looks) (mean 1), in dB."""
    gamma = rng.gamma(looks, 1.0 / looks, sigma0_db.shape).astype(np.float32)
    return sigma0_db + np.float32(10) * np.log10(np.maximum(gamma, np.float32(1e-6)))
