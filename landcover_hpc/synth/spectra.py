"""Spectral-temporal model of the synthetic tiles: materials, endmember spectra and phenology.

A pixel's reflectance at date t is a mixture of a background spectrum and a vegetation spectrum,
``r = (1 - g(t)) * background + g(t) * vegetation``, where the green fraction g(t) follows the phenology of
its material (double logistics, mowing events, leaf-on/leaf-off), shifted per object and per tile. Mineral
materials (roofs, asphalt, water, rock, sand, snow) have constant spectra, except snow cover on rock in
winter and turbidity of water. Units: reflectance (0..1); bands B2 B3 B4 B5 B6 B7 B8 B8A B11 B12.
"""

from __future__ import annotations

import numpy as np

__all__ = ["MATERIALS", "material_id", "reflectance"]

# Endmember spectra (reflectance) for B2 B3 B4 B5 B6 B7 B8 B8A B11 B12, typical of S2 L2A products.
_SPECTRA = {
    "veg": [0.030, 0.060, 0.035, 0.100, 0.260, 0.330, 0.360, 0.380, 0.200, 0.100],
    "conifer": [0.020, 0.040, 0.022, 0.070, 0.170, 0.210, 0.230, 0.245, 0.120, 0.055],
    "shrub": [0.028, 0.050, 0.035, 0.085, 0.200, 0.250, 0.270, 0.285, 0.180, 0.095],
    "soil": [0.080, 0.110, 0.140, 0.170, 0.200, 0.220, 0.240, 0.250, 0.320, 0.280],
    "litter": [0.040, 0.060, 0.080, 0.100, 0.130, 0.150, 0.170, 0.180, 0.220, 0.160],
    "dry_grass": [0.060, 0.090, 0.120, 0.150, 0.190, 0.210, 0.230, 0.240, 0.300, 0.240],
    "water": [0.060, 0.055, 0.035, 0.025, 0.015, 0.012, 0.010, 0.009, 0.005, 0.003],
    "sand": [0.200, 0.250, 0.300, 0.330, 0.360, 0.370, 0.380, 0.390, 0.450, 0.400],
    "rock": [0.140, 0.170, 0.200, 0.220, 0.240, 0.250, 0.260, 0.265, 0.300, 0.260],
    "snow": [0.900, 0.880, 0.850, 0.830, 0.800, 0.780, 0.750, 0.720, 0.100, 0.080],
    "roof_tile": [0.080, 0.100, 0.170, 0.210, 0.240, 0.260, 0.270, 0.280, 0.330, 0.300],
    "roof_flat": [0.180, 0.200, 0.210, 0.220, 0.230, 0.230, 0.240, 0.240, 0.270, 0.250],
    "asphalt": [0.070, 0.080, 0.090, 0.100, 0.110, 0.110, 0.120, 0.120, 0.140, 0.130],
}
_SPECTRA = {k: np.asarray(v, dtype=np.float32) for k, v in _SPECTRA.items()}

# material -> (background spectrum, vegetation spectrum); None = mineral (constant) material
MATERIALS: dict[str, tuple[str, str | None]] = {
    "summer_crop": ("soil", "veg"), "winter_crop": ("soil", "veg"), "meadow": ("soil", "veg"),
    "orchard": ("dry_grass", "veg"), "vineyard": ("soil", "veg"), "broadleaf": ("litter", "veg"),
    "conifer": ("litter", "conifer"), "natural_grass": ("dry_grass", "veg"), "moor": ("soil", "shrub"),
    "garden": ("soil", "veg"), "water": ("water", None), "sand": ("sand", None), "rock": ("rock", None),
    "snow": ("snow", None), "roof_tile": ("roof_tile", None), "roof_flat": ("roof_flat", None),
    "asphalt": ("asphalt", None),
}
_NAMES = list(MATERIALS)


def material_id(name: str) -> int:
    return _NAMES.index(name)


def _sig(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -30, 30)))


def _green(name: str, d: np.ndarray, amp: np.ndarray, mow: np.ndarray) -> np.ndarray:
    """(n, T) green fraction; ``d`` (n, T) is the day of year already shifted per pixel."""
    if name == "summer_crop":  # sown in spring, peak late July, harvested in September
        return 0.05 + 0.85 * amp * (_sig((d - 150) / 8) - _sig((d - 250) / 7))
    if name == "winter_crop":  # green in winter, peak in May, harvested in July, re-sown in autumn
        return (0.22 + 0.65 * amp * (_sig((d - 75) / 10) - _sig((d - 175) / 7))
                - 0.17 * _sig((d - 195) / 5) + 0.17 * _sig((d - 295) / 10))
    if name == "meadow":  # intensive grassland: green all year, 2-3 mowing events then regrowth
        g = 0.55 + 0.2 * amp * np.sin(np.pi * (d - 60) / 365)
        for k in range(mow.shape[1]):
            since = d - mow[:, k:k + 1]
            g = g - np.where(since >= 0, 0.45 * np.exp(-since / 18), 0.0)
        return g
    if name == "orchard":
        return 0.35 + 0.4 * amp * (_sig((d - 100) / 10) - _sig((d - 290) / 12))
    if name == "vineyard":  # late leaf-on, soil visible between rows
        return 0.10 + 0.45 * amp * (_sig((d - 130) / 8) - _sig((d - 280) / 10))
    if name == "broadleaf":  # deciduous: leaf-on in April, leaf-off in November
        return 0.25 + 0.65 * amp * (_sig((d - 110) / 7) - _sig((d - 300) / 10))
    if name == "conifer":  # evergreen
        return 0.75 + 0.05 * amp * np.sin(np.pi * (d - 60) / 365)
    if name == "natural_grass":  # spring flush, dry summer
        return 0.25 + 0.45 * amp * np.exp(-(((d - 135) / 40) ** 2))
    if name == "moor":
        return 0.40 + 0.15 * amp * (_sig((d - 120) / 15) - _sig((d - 280) / 15))
    if name == "garden":
        return 0.45 + 0.2 * amp * np.sin(np.pi * (d - 60) / 365)
    raise KeyError(name)


def reflectance(material: np.ndarray, doy: np.ndarray, shift: np.ndarray, amp: np.ndarray, bright: np.ndarray,
                tex: np.ndarray, elev: np.ndarray, mow: np.ndarray) -> np.ndarray:
    """Noise-free reflectance of pixels.

    Args:
        material: (n,) material ids (see :data:`MATERIALS`).
        doy: (T,) day of year of each date (may exceed 365 for dates into the next year).
        shift: (n,) phenology shift, days (object + tile climate); amp: (n,) green amplitude factor;
        bright: (n,) background brightness factor; tex: (n,) texture factor on the green fraction;
        elev: (n,) 0..1 normalised elevation (winter snow on rock); mow: (n, 3) mowing days of meadows.
    Returns:
        (n, T, C) float32 reflectance.
    """
    n, T = material.shape[0], doy.shape[0]
    out = np.empty((n, T, 10), dtype=np.float32)
    for mid in np.unique(material):
        name = _NAMES[mid]
        idx = np.flatnonzero(material == mid)
        back_name, veg_name = MATERIALS[name]
        back = _SPECTRA[back_name][None, None, :] * bright[idx, None, None]
        if veg_name is not None:
            d = (doy[None, :] - shift[idx, None]) % 365
            g = np.clip(_green(name, d, amp[idx, None], mow[idx]) * tex[idx, None], 0.0, 0.98)
            refl = (1 - g)[..., None] * back + g[..., None] * _SPECTRA[veg_name][None, None, :]
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
