"""Spectral-temporal model of the synthetic tiles: materials, endmember spectra and phenology.

A pixel's reflectance at date t is a mixture of a background spectrum and a vegetation spectrum,
``r = (1 - g(t)) * background + g(t) * vegetation``, where the green fraction g(t) follows the phenology of
its material (double logistics, mowing and grazing, catch crops, leaf-on/leaf-off), shifted per object and
per tile. Each land-cover class has several materials (crop types, managements) and some classes share
near-identical ones, as real classes do (grazed meadows and rough natural grassland, shrubland and
broad-leaved woods, grassed vineyards and orchards). Bare-soil backgrounds vary per pixel from dark to light
soils and darken on wet dates. Mineral materials (roofs, asphalt, water, rock, sand, snow) have constant
spectra, except snow cover on rock in winter and turbidity of water; a *built* pixel is a linear mixture of
roof, asphalt and garden fractions (sub-pixel urban objects). Units: reflectance (0..1); bands B2 B3 B4 B5
B6 B7 B8 B8A B11 B12.
"""

from __future__ import annotations

import numpy as np

__all__ = ["MATERIALS", "URBAN_PARTS", "material_id", "green_fraction", "reflectance"]

# Endmember spectra (reflectance) for B2 B3 B4 B5 B6 B7 B8 B8A B11 B12, typical of S2 L2A products.
_SPECTRA = {
    "veg": [0.025, 0.055, 0.030, 0.095, 0.290, 0.390, 0.430, 0.450, 0.210, 0.100],
    "conifer": [0.020, 0.040, 0.022, 0.070, 0.170, 0.210, 0.230, 0.245, 0.120, 0.055],
    "shrub": [0.028, 0.050, 0.035, 0.085, 0.220, 0.280, 0.300, 0.315, 0.180, 0.095],
    "flower": [0.040, 0.110, 0.090, 0.140, 0.300, 0.370, 0.400, 0.420, 0.220, 0.110],  # rapeseed in bloom
    "soil_dark": [0.050, 0.070, 0.085, 0.105, 0.125, 0.140, 0.155, 0.165, 0.220, 0.190],
    "soil_light": [0.150, 0.190, 0.230, 0.260, 0.290, 0.305, 0.320, 0.330, 0.400, 0.350],
    "litter": [0.040, 0.060, 0.080, 0.100, 0.130, 0.150, 0.170, 0.180, 0.220, 0.160],
    "dry_grass": [0.060, 0.090, 0.120, 0.150, 0.190, 0.210, 0.230, 0.240, 0.300, 0.240],
    "water": [0.060, 0.055, 0.035, 0.025, 0.015, 0.012, 0.010, 0.009, 0.005, 0.003],
    "sand": [0.200, 0.250, 0.300, 0.330, 0.360, 0.370, 0.380, 0.390, 0.450, 0.400],
    "rock": [0.140, 0.170, 0.200, 0.220, 0.240, 0.250, 0.260, 0.265, 0.300, 0.260],
    "snow": [0.900, 0.880, 0.850, 0.830, 0.800, 0.780, 0.750, 0.720, 0.100, 0.080],
    "roof_tile": [0.080, 0.100, 0.170, 0.210, 0.240, 0.260, 0.270, 0.280, 0.330, 0.300],
    "roof_flat": [0.180, 0.200, 0.210, 0.220, 0.230, 0.230, 0.240, 0.240, 0.270, 0.250],
    "roof_dark": [0.060, 0.065, 0.070, 0.075, 0.080, 0.082, 0.085, 0.087, 0.100, 0.095],
    "asphalt": [0.070, 0.080, 0.090, 0.100, 0.110, 0.110, 0.120, 0.120, 0.140, 0.130],
}
_SPECTRA = {k: np.asarray(v, dtype=np.float32) for k, v in _SPECTRA.items()}

# material -> (background spectrum, vegetation spectrum); None = mineral (constant) material. The background
# "soil" is a per-pixel mixture of dark and light soils.
MATERIALS: dict[str, tuple[str, str | None]] = {
    "maize": ("soil", "veg"), "sunflower": ("soil", "veg"), "potato": ("soil", "veg"),
    "wheat": ("soil", "veg"), "barley": ("soil", "veg"), "rapeseed": ("soil", "veg"),
    "meadow": ("soil", "veg"), "pasture": ("soil", "veg"),
    "orchard": ("dry_grass", "veg"), "vineyard": ("soil", "veg"), "vineyard_grassed": ("dry_grass", "veg"),
    "broadleaf": ("litter", "veg"), "conifer": ("litter", "conifer"),
    "natural_grass": ("dry_grass", "veg"), "rough_grass": ("dry_grass", "veg"),
    "moor": ("soil", "shrub"), "shrubland": ("litter", "shrub"),
    "garden": ("soil", "veg"), "water": ("water", None), "sand": ("sand", None), "rock": ("rock", None),
    "snow": ("snow", None), "roof_tile": ("roof_tile", None), "roof_flat": ("roof_flat", None),
    "asphalt": ("asphalt", None), "built": ("asphalt", None),
}
# Parts of a *built* pixel, in the order of its fractions: roofs, asphalt, and garden last (vegetated).
# How much a canopy's vigour acts on each band: the red-edge and near-infrared plateau.
_NIR_WEIGHT = np.array([0, 0, 0, 0.3, 0.8, 1, 1, 1, 0.3, 0], np.float32)
URBAN_PARTS = ("roof_tile", "roof_flat", "roof_dark", "asphalt", "garden")
_NAMES = list(MATERIALS)


def material_id(name: str) -> int:
    return _NAMES.index(name)


def _sig(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -30, 30)))


def _bump(d: np.ndarray, centre: float, width: float) -> np.ndarray:
    return np.exp(-(((d - centre) / width) ** 2))


def _green(name: str, d: np.ndarray, amp: np.ndarray, mow: np.ndarray, variant: np.ndarray) -> np.ndarray:
    """(n, T) green fraction; ``d`` (n, T) is the day of year already shifted per pixel; ``variant`` (n, 1)
    in [0, 1) draws per object a management option (catch crop, number of cuts)."""
    catch = (variant < 0.3).astype(np.float32)  # a third of arable parcels get a catch crop after harvest
    if name == "maize":  # sown in May, peak in August, harvested in October; catch crop in winter
        return (0.04 + 0.86 * amp * (_sig((d - 165) / 9) - _sig((d - 270) / 8))
                + catch * 0.3 * (_sig((d - 300) / 10) + _sig((70 - d) / 10)))
    if name == "sunflower":  # peak in July, early senescence
        return 0.04 + 0.75 * amp * (_sig((d - 140) / 8) - _sig((d - 215) / 8)) + catch * 0.3 * _sig((d - 285) / 10)
    if name == "potato":  # planted in April, haulm killed in August
        return 0.04 + 0.8 * amp * (_sig((d - 145) / 7) - _sig((d - 225) / 6)) + catch * 0.35 * _sig((d - 250) / 8)
    if name in ("wheat", "barley"):  # green in winter, peak in May, harvested in July, re-sown in autumn
        s = 0.0 if name == "wheat" else -14.0
        return (0.22 + 0.65 * amp * (_sig((d - 75 - s) / 10) - _sig((d - 178 - s) / 7))
                - 0.17 * _sig((d - 195 - s) / 5) + 0.17 * _sig((d - 295) / 10)
                + catch * 0.35 * (_sig((d - 225) / 8) - _sig((d - 285) / 6)))
    if name == "rapeseed":  # sown in August, green all winter, peak in April, harvested in early July
        return (0.35 + 0.5 * amp * (_sig((d - 60) / 10) - _sig((d - 165) / 6)) - 0.25 * _sig((d - 180) / 5)
                + 0.3 * _sig((d - 250) / 8))
    if name == "meadow":  # intensive grassland: green all year, 2-3 mowing events then regrowth
        g = 0.55 + 0.2 * amp * np.sin(np.pi * (d - 60) / 365)
        for k in range(mow.shape[1]):
            since = d - mow[:, k:k + 1]
            g = g - np.where(since >= 0, 0.45 * np.exp(-since / 18), 0.0)
        return g
    if name == "pasture":  # grazed grassland: no cut, a summer dip whose depth depends on the stocking rate
        return 0.5 + 0.2 * amp * np.sin(np.pi * (d - 60) / 365) - (0.05 + 0.2 * variant) * _bump(d, 205, 35)
    if name == "orchard":
        return 0.35 + 0.4 * amp * (_sig((d - 100) / 10) - _sig((d - 290) / 12))
    if name == "vineyard":  # late leaf-on, soil visible between rows
        return 0.10 + 0.45 * amp * (_sig((d - 130) / 8) - _sig((d - 280) / 10))
    if name == "vineyard_grassed":  # grass between the rows: green in winter, close to an orchard
        return 0.28 + 0.4 * amp * (_sig((d - 125) / 8) - _sig((d - 285) / 10))
    if name == "broadleaf":  # deciduous: leaf-on in April, leaf-off in November
        return 0.25 + 0.65 * amp * (_sig((d - 110) / 7) - _sig((d - 300) / 10))
    if name == "conifer":  # evergreen
        return 0.75 + 0.05 * amp * np.sin(np.pi * (d - 60) / 365)
    if name == "natural_grass":  # spring flush, dry summer
        return 0.25 + 0.45 * amp * _bump(d, 135, 40)
    if name == "rough_grass":  # extensively grazed natural grassland: close to a pasture, drier in summer
        return 0.45 + 0.2 * amp * np.sin(np.pi * (d - 60) / 365) - (0.1 + 0.2 * variant) * _bump(d, 210, 35)
    if name == "moor":
        return 0.40 + 0.15 * amp * (_sig((d - 120) / 15) - _sig((d - 280) / 15))
    if name == "shrubland":  # deciduous shrubs and young trees: a weaker broad-leaved phenology
        return 0.3 + 0.45 * amp * (_sig((d - 115) / 9) - _sig((d - 290) / 12))
    if name == "garden":
        return 0.45 + 0.2 * amp * np.sin(np.pi * (d - 60) / 365)
    raise KeyError(name)


def green_fraction(name: str, doy: np.ndarray, shift: np.ndarray, amp: np.ndarray, mow: np.ndarray,
                   variant: np.ndarray) -> np.ndarray:
    """(n, T) green fraction of n pixels of vegetated material ``name`` at days of year ``doy`` (T,), with
    their phenology shift (n,) days, amplitude (n,), mowing days (n, 3) and management draw (n,): the
    phenology :func:`reflectance` uses (before texture), for the Sentinel-1 model (:mod:`.backscatter`)."""
    d = (doy[None, :] - shift[:, None]) % 365
    return _green(name, d, amp[:, None], mow, variant[:, None])


def _background(name: str, idx: np.ndarray, bright: np.ndarray, soil: np.ndarray | None,
                wet: np.ndarray | None) -> np.ndarray:
    """(n, T or 1, C) background spectrum of pixels ``idx``: soils mix dark and light soil per pixel and
    darken on wet dates (``wet`` (T,) 0..1)."""
    if name != "soil":
        return _SPECTRA[name][None, None, :] * bright[idx, None, None]
    mix = 0.5 if soil is None else soil[idx, None, None]
    back = (_SPECTRA["soil_dark"] + mix * (_SPECTRA["soil_light"] - _SPECTRA["soil_dark"])) * bright[idx, None, None]
    if wet is not None:
        back = back * (1 - 0.3 * wet[None, :, None])
    return back


def reflectance(material: np.ndarray, doy: np.ndarray, shift: np.ndarray, amp: np.ndarray, bright: np.ndarray,
                tex: np.ndarray, elev: np.ndarray, mow: np.ndarray, variant: np.ndarray | None = None,
                soil: np.ndarray | None = None, urban: np.ndarray | None = None,
                wet: np.ndarray | None = None, vigour: np.ndarray | None = None) -> np.ndarray:
    """Noise-free reflectance of pixels.

    Args:
        material: (n,) material ids (see :data:`MATERIALS`).
        doy: (T,) day of year of each date (may exceed 365 for dates into the next year).
        shift: (n,) phenology shift, days (object + tile climate); amp: (n,) green amplitude factor;
        bright: (n,) background brightness factor; tex: (n,) texture factor on the green fraction;
        elev: (n,) 0..1 normalised elevation (winter snow on rock); mow: (n, 3) mowing days of meadows.
        variant: (n,) 0..1 management option of the object (default 0.5); soil: (n,) 0..1 dark to light
        soil (default 0.5); urban: (n, 5) fractions of :data:`URBAN_PARTS` of *built* pixels (needed if
        any); wet: (T,) 0..1 soil wetness of each date (default dry); vigour: (n,) factor on the canopy's
        red-edge and near-infrared reflectance (leaf area, structure; default 1).
    Returns:
        (n, T, C) float32 reflectance.
    """
    n, T = material.shape[0], doy.shape[0]
    if variant is None:
        variant = np.full(n, 0.5, np.float32)
    out = np.empty((n, T, 10), dtype=np.float32)
    for mid in np.unique(material):
        name = _NAMES[mid]
        idx = np.flatnonzero(material == mid)
        if name == "built":
            out[idx] = _built(idx, doy, shift, amp, bright, mow, variant, soil, urban, wet)
            continue
        back_name, veg_name = MATERIALS[name]
        back = _background(back_name, idx, bright, soil, wet)
        if veg_name is not None:
            d = (doy[None, :] - shift[idx, None]) % 365
            g = np.clip(_green(name, d, amp[idx, None], mow[idx], variant[idx, None]) * tex[idx, None], 0.0, 0.98)
            veg = _SPECTRA[veg_name][None, None, :]
            if vigour is not None:
                veg = veg * (1 + (vigour[idx, None, None] - 1) * _NIR_WEIGHT)
            if name == "rapeseed":  # yellow bloom in April-May
                bloom = _bump(d, 115, 12)[..., None]
                veg = veg + bloom * (_SPECTRA["flower"] - _SPECTRA["veg"])[None, None, :]
            refl = (1 - g)[..., None] * back + g[..., None] * veg
        elif name == "rock":  # snow cover in winter, the more so the higher
            winter = (_sig((75 - doy) / 12) + _sig((doy - 320) / 12))[None, :]
            snow = np.clip(winter * (1.6 * elev[idx, None] - 0.4), 0, 1)
            refl = (1 - snow)[..., None] * back + snow[..., None] * _SPECTRA["snow"][None, None, :]
        elif name == "snow":  # glaciers: melting surface (darker, wetter) in late summer
            melt = 0.25 * np.exp(-(((doy - 225) / 35) ** 2))[None, :, None]
            refl = np.broadcast_to(back * (1 - melt), (len(idx), T, 10))
        elif name == "water":  # turbidity: spring floods brighten the visible bands
            turbid = 1 + 0.5 * amp[idx, None, None] * np.exp(-(((doy - 100) / 30) ** 2))[None, :, None]
            refl = back * np.where(np.arange(10) < 4, turbid, 1.0)
        else:
            refl = np.broadcast_to(back, (len(idx), T, 10))
        out[idx] = refl
    return out


def _built(idx, doy, shift, amp, bright, mow, variant, soil, urban, wet) -> np.ndarray:
    """(len(idx), T, C) reflectance of built pixels: roof and asphalt fractions plus a garden fraction."""
    if urban is None:
        raise ValueError("built pixels need their urban fractions")
    frac = urban[idx].astype(np.float32)
    frac /= np.maximum(frac.sum(axis=1, keepdims=True), 1e-6)
    minerals = np.stack([_SPECTRA[p] for p in URBAN_PARTS[:-1]])  # (4, C)
    mineral = (frac[:, :-1] @ minerals) * bright[idx, None]  # (n, C)
    garden_id = np.full(len(idx), material_id("garden"), np.uint8)
    garden = reflectance(garden_id, doy, shift[idx], amp[idx], np.ones(len(idx), np.float32),
                         np.ones(len(idx), np.float32), np.zeros(len(idx), np.float32), mow[idx], variant[idx],
                         None if soil is None else soil[idx], None, wet)
    return mineral[:, None, :] + frac[:, -1, None, None] * garden
