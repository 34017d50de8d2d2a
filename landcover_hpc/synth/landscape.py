"""Spatial layout of a synthetic tile: classes, objects and materials on the pixel grid.

Painted in layers, later ones over earlier ones:

1. parcels: a warped Voronoi tessellation with fine (crops) and coarse (forest, natural) regions, each
   parcel getting a class from smooth zone fields and the tile's landscape profile;
2. mountains (mountain profile): bare rock and glaciers above elevation thresholds;
3. water: lakes with smooth shores, a meandering river; the sea with a beach strip (coastal profile);
4. towns, drawn on a 2.5 m sub-pixel grid at their real sizes: continuous urban fabric (10-20 m roofs,
   courtyards) in the centre, discontinuous fabric (8-14 m houses on 16-30 m garden plots, so that its
   pixels range from pure roof to pure garden) around it, industrial units (40-100 m flat roofs, car
   parks), all cut by 6-10 m streets; every town pixel holds the fractions of roofs, asphalt and garden it
   covers; the three classes share these materials and differ in spatial arrangement only;
5. roads: 1-2 px wide roads between towns and across the tile.

Then: objects (connected regions of one class in one parcel, block or road); per object a material among
its class's crop types or managements (:data:`CLASS_MATERIALS`), a phenology shift, amplitude, soil and
management draw; mixed pixels along object borders and roads (a fraction of a neighbour's spectrum). The
materials and parameters are used by :mod:`landcover_hpc.synth.spectra`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

from .spectra import URBAN_PARTS, material_id

__all__ = ["CLASS_MATERIALS", "CONFUSABLE", "PROFILES", "Landscape", "make_landscape", "profile_of"]

# Relative frequency of crop classes among agricultural parcels, share of the tile in forest/natural zones,
# number and size of towns, water and relief, per landscape profile.
PROFILES: dict[str, dict] = {
    "balanced": dict(crops={"ASC": 4, "AWC": 4, "IGL": 4, "ORC": 0.3, "VIN": 0.3}, forest=0.30, natural=0.10,
                     towns=(2, 0.12), lakes=0.02, river=True),
    "urban": dict(crops={"ASC": 4, "AWC": 5, "IGL": 2, "ORC": 0.2, "VIN": 0}, forest=0.15, natural=0.03,
                  towns=(3, 0.25), lakes=0.01, river=True),
    "agri": dict(crops={"ASC": 6, "AWC": 6, "IGL": 3, "ORC": 0.2, "VIN": 0}, forest=0.12, natural=0.04,
                 towns=(1, 0.10), lakes=0.01, river=False),
    "wine": dict(crops={"ASC": 2, "AWC": 2, "IGL": 1, "ORC": 1, "VIN": 6}, forest=0.20, natural=0.08,
                 towns=(1, 0.10), lakes=0.0, river=True),
    "coastal": dict(crops={"ASC": 3, "AWC": 3, "IGL": 5, "ORC": 0.1, "VIN": 0}, forest=0.15, natural=0.15,
                    towns=(1, 0.10), lakes=0.01, river=False, sea=True),
    "forest": dict(crops={"ASC": 2, "AWC": 2, "IGL": 5, "ORC": 0.5, "VIN": 0}, forest=0.55, natural=0.10,
                   towns=(1, 0.07), lakes=0.03, river=True),
    "mountain": dict(crops={"ASC": 0.5, "AWC": 0.5, "IGL": 4, "ORC": 0, "VIN": 0}, forest=0.40, natural=0.30,
                     towns=(1, 0.05), lakes=0.015, river=True, mountain=True),
}

# The paper's tiles and a few more of France, with the landscape they stand for.
_KNOWN_TILES = {
    "T31UDQ": "urban", "T30TWT": "balanced", "T30TYN": "mountain", "T31TGK": "mountain", "T30TXQ": "wine",
    "T30UXV": "agri", "T31TCJ": "agri", "T31UEQ": "agri", "T30UVU": "coastal", "T31TEJ": "wine",
    "T32ULU": "forest", "T31TFJ": "coastal", "T31UFQ": "forest",
}


def profile_of(tile_id: str) -> str:
    """Landscape profile of a tile: the known tiles' own, else one chosen from the tile id."""
    if tile_id in _KNOWN_TILES:
        return _KNOWN_TILES[tile_id]
    names = sorted(PROFILES)
    return names[sum(tile_id.encode()) % len(names)]


@dataclass
class Landscape:
    """Per-pixel layout of a tile; all arrays (H, W) unless said otherwise."""

    classes: np.ndarray  # uint8 class name index into `class_names` + 1 (0 = none)
    objects: np.ndarray  # int32 object id 1..n
    object_class: np.ndarray  # (n + 1,) uint8 class of each object id (index 0 unused)
    material: np.ndarray  # uint8 material id
    shift: np.ndarray  # float32 phenology shift, days
    amp: np.ndarray  # float32 green amplitude factor
    bright: np.ndarray  # float32 background brightness factor
    tex: np.ndarray  # float32 texture factor on the green fraction
    elev: np.ndarray  # float32 normalised elevation 0..1
    mow: np.ndarray  # (H, W, 3) float32 mowing days (meadows)
    class_names: tuple[str, ...]
    variant: np.ndarray  # float32 0..1 management draw of the object (catch crop, stocking rate)
    soil: np.ndarray  # float32 0..1 dark to light soil
    urban: np.ndarray  # (H, W, 5) uint8 sixteenths of the pixel covered by each of spectra.URBAN_PARTS
    mix_dir: np.ndarray  # uint8 neighbour mixed into the pixel: 0 none, 1 up, 2 down, 3 left, 4 right
    mix_fraction: np.ndarray  # float32 0..1 share of that neighbour's spectrum
    vigour: np.ndarray  # float32 factor on the canopy's near-infrared reflectance


CLASS_NAMES = ("CUF", "DUF", "ICU", "RSF", "ASC", "AWC", "IGL", "ORC", "VIN", "BLF", "COF", "NGL", "WOM",
               "BDS", "BRO", "GPS", "WAT")
_C = {n: i + 1 for i, n in enumerate(CLASS_NAMES)}
# Materials of each class with their probability per object: crop types, managements, variants. Some are
# deliberately close to another class's (pasture/rough_grass, shrubland/broadleaf, vineyard_grassed/orchard).
CLASS_MATERIALS: dict[str, dict[str, float]] = {
    "ASC": {"maize": 0.5, "sunflower": 0.25, "potato": 0.25},
    "AWC": {"wheat": 0.55, "barley": 0.3, "rapeseed": 0.15},
    "IGL": {"meadow": 0.6, "pasture": 0.4},
    "ORC": {"orchard": 1.0}, "VIN": {"vineyard": 0.6, "vineyard_grassed": 0.4},
    "BLF": {"broadleaf": 1.0}, "COF": {"conifer": 1.0},
    "NGL": {"natural_grass": 0.65, "rough_grass": 0.35}, "WOM": {"moor": 0.55, "shrubland": 0.45},
    "BDS": {"sand": 1.0}, "BRO": {"rock": 1.0}, "GPS": {"snow": 1.0}, "WAT": {"water": 1.0},
    "RSF": {"asphalt": 1.0}, "CUF": {"built": 1.0}, "DUF": {"built": 1.0}, "ICU": {"built": 1.0},
}
# Classes a photo-interpreter confuses: a mislabelled reference object gets one of these.
CONFUSABLE: dict[str, tuple[str, ...]] = {
    "CUF": ("DUF",), "DUF": ("CUF", "ICU"), "ICU": ("DUF",), "RSF": ("ICU",), "ASC": ("AWC",), "AWC": ("ASC",),
    "IGL": ("NGL", "ASC"), "ORC": ("VIN", "BLF"), "VIN": ("ORC",), "BLF": ("COF", "WOM"), "COF": ("BLF",),
    "NGL": ("IGL", "WOM"), "WOM": ("NGL", "BLF"), "BDS": ("BRO",), "BRO": ("BDS", "GPS"), "GPS": ("BRO",),
    "WAT": ("NGL",),
}
_SUBPIXEL = 4  # towns are drawn on a grid 4 times finer (2.5 m)


def _field(rng: np.random.Generator, shape: tuple[int, int], sigma: float) -> np.ndarray:
    """Smooth random field, zero mean, unit standard deviation."""
    f = ndimage.gaussian_filter(rng.standard_normal(shape), sigma, mode="wrap")
    return (f - f.mean()) / (f.std() + 1e-12)


def _voronoi(rng: np.random.Generator, shape: tuple[int, int], density: np.ndarray, warp: float) -> np.ndarray:
    """Parcel ids (H, W) of a Voronoi tessellation with seeds drawn with a spatially varying density."""
    H, W = shape
    n_candidates = int(density.max() * H * W * 1.2) + 8
    cand = rng.random((n_candidates, 2)) * [H, W]
    keep = rng.random(n_candidates) < density[cand[:, 0].astype(int), cand[:, 1].astype(int)] / density.max()
    seeds = cand[keep] if keep.sum() >= 4 else cand[:4]
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    yy += warp * _field(rng, shape, 12)
    xx += warp * _field(rng, shape, 12)
    _, ids = cKDTree(seeds).query(np.stack([yy.ravel(), xx.ravel()], axis=1))
    return ids.reshape(H, W).astype(np.int32) + 1


def _draw_line(mask: np.ndarray, pts: np.ndarray, width: int) -> None:
    """Rasterise a polyline (k, 2) of (row, col) points into ``mask`` with a width of 1 or 2 px."""
    H, W = mask.shape
    for (r0, c0), (r1, c1) in zip(pts[:-1], pts[1:]):
        n = int(max(abs(r1 - r0), abs(c1 - c0)) * 2) + 2
        rr = np.round(np.linspace(r0, r1, n)).astype(int)
        cc = np.round(np.linspace(c0, c1, n)).astype(int)
        for dr, dc in [(0, 0)] + ([(0, 1), (1, 0)] if width > 1 else []):
            r, c = rr + dr, cc + dc
            ok = (r >= 0) & (r < H) & (c >= 0) & (c < W)
            mask[r[ok], c[ok]] = True


def _wiggly_path(rng: np.random.Generator, p0, p1, amplitude: float, n: int = 24) -> np.ndarray:
    t = np.linspace(0, 1, n)[:, None]
    p0, p1 = np.asarray(p0, float), np.asarray(p1, float)
    normal = np.array([-(p1 - p0)[1], (p1 - p0)[0]]) / (np.linalg.norm(p1 - p0) + 1e-9)
    phase, freq = rng.random() * 2 * np.pi, rng.uniform(1, 2.5)
    offset = amplitude * np.sin(2 * np.pi * freq * t + phase) * np.sin(np.pi * t)
    return p0 + t * (p1 - p0) + offset * normal


def make_landscape(rng: np.random.Generator, size: tuple[int, int], profile: str) -> Landscape:
    """Draw the layout of one tile of ``size`` (H, W) for a landscape ``profile`` (see :data:`PROFILES`)."""
    prof = PROFILES[profile]
    H, W = size
    cls, region, elev01 = _paint_parcels(rng, (H, W), prof)
    if prof.get("mountain"):
        _paint_mountains(cls, elev01)
    _paint_water(rng, cls, region, elev01, prof)
    urban = np.zeros((H, W, len(URBAN_PARTS)), np.uint8)
    town_centres = _paint_towns(rng, cls, region, urban, prof)
    _paint_roads(rng, cls, region, town_centres)
    objects, object_class = _label_objects(cls, region)
    land = _object_parameters(rng, cls, objects, object_class, urban, elev01)
    land.mix_dir, land.mix_fraction = _mixed_pixels(rng, objects, cls)
    return land


def _paint_parcels(rng: np.random.Generator, shape: tuple[int, int], prof: dict):
    """Step 1: (classes, parcel regions, normalised elevation), each (H, W)."""
    H, W = shape
    scale = min(H, W)
    zone_forest = _field(rng, (H, W), scale / 10)
    zone_natural = _field(rng, (H, W), scale / 9)
    elev = _field(rng, (H, W), scale / 6)
    if prof.get("mountain"):
        elev += np.linspace(-1.2, 1.2, W)[None, :] * rng.choice([-1, 1])
    elev01 = (elev - elev.min()) / (elev.max() - elev.min() + 1e-12)
    t_forest = np.quantile(zone_forest, 1 - prof["forest"])
    t_natural = np.quantile(zone_natural, 1 - prof["natural"])
    coarse = (zone_forest > t_forest) | (zone_natural > t_natural)
    density = np.where(coarse, 1 / 900.0, 1 / 260.0) * rng.uniform(0.8, 1.25)
    parcels = _voronoi(rng, (H, W), density, warp=3.0)
    n_parcels = parcels.max()
    # parcel-level zone: majority by the parcel's mean field values
    size = np.maximum(np.bincount(parcels.ravel(), minlength=n_parcels + 1)[1:], 1)  # some seeds own no pixel
    mean_forest, mean_natural, mean_elev = (
        np.bincount(parcels.ravel(), weights=f.ravel(), minlength=n_parcels + 1)[1:] / size
        for f in (zone_forest, zone_natural, elev01))
    crops = [k for k, v in prof["crops"].items() if v > 0]
    crop_p = np.array([prof["crops"][k] for k in crops], float)
    parcel_class = np.empty(n_parcels + 1, np.uint8)
    parcel_class[0] = 0
    for i in range(n_parcels):
        if mean_forest[i] > t_forest:
            conifer_p = 0.25 + 0.6 * mean_elev[i] if prof.get("mountain") else 0.3
            name = "COF" if rng.random() < conifer_p else "BLF"
        elif mean_natural[i] > t_natural:
            name = "NGL" if rng.random() < 0.55 else "WOM"
        else:
            name = crops[rng.choice(len(crops), p=crop_p / crop_p.sum())]
        parcel_class[i + 1] = _C[name]
    return parcel_class[parcels], parcels.copy(), elev01


def _paint_mountains(cls: np.ndarray, elev01: np.ndarray) -> None:
    """Step 2: rock and glaciers at the top, alpine grassland below."""
    t_rock, t_snow, t_alpine = np.quantile(elev01, [0.78, 0.93, 0.62])
    alpine = (elev01 > t_alpine) & (elev01 <= t_rock)
    cls[alpine & (cls != _C["COF"])] = _C["NGL"]
    cls[elev01 > t_rock] = _C["BRO"]
    cls[elev01 > t_snow] = _C["GPS"]


def _paint_water(rng: np.random.Generator, cls: np.ndarray, region: np.ndarray, elev01: np.ndarray,
                 prof: dict) -> None:
    """Step 3: lakes, a river, the sea with a beach strip."""
    H, W = cls.shape
    scale = min(H, W)
    if prof["lakes"] > 0:
        lake_field = _field(rng, (H, W), scale / 14) - 0.8 * (elev01 * 2 - 1)
        lakes = lake_field > np.quantile(lake_field, 1 - prof["lakes"])
        lakes = ndimage.binary_opening(ndimage.gaussian_filter(lakes.astype(float), 2) > 0.5, iterations=1)
        cls[lakes] = _C["WAT"]
    if prof.get("river"):
        river = np.zeros((H, W), bool)
        side = rng.random()
        start, end = ((0, side * W), (H - 1, rng.random() * W)) if rng.random() < 0.5 else \
            ((side * H, 0), (rng.random() * H, W - 1))
        _draw_line(river, _wiggly_path(rng, start, end, scale / 10, n=60), width=2)
        if rng.random() < 0.5:  # wider river (iterations=0 would mean: dilate until nothing changes)
            river = ndimage.binary_dilation(river, iterations=1)
        cls[river] = _C["WAT"]
    if prof.get("sea"):
        yy, xx = np.mgrid[0:H, 0:W]
        coast = W * 0.72 + scale * 0.06 * _field(rng, (H, 1), scale / 8)
        sea = xx > coast
        beach = (xx > coast - rng.uniform(3, 7)) & ~sea
        cliffs = _field(rng, (H, 1), scale / 10) > 0.8  # no beach where the coast is rocky
        cls[beach & ~cliffs] = _C["BDS"]
        cls[sea] = _C["WAT"]
        region[sea] = 0


def _plot_draw(rng: np.random.Generator, i: np.ndarray, j: np.ndarray, n: int = 4096) -> np.ndarray:
    """Uniform 0..1 draw per plot (i, j) of a regular grid, through a random lookup table."""
    table = rng.random(n)
    return table[(i * 7919 + j * 104729) % n]


def _town_parts(rng: np.random.Generator, u: np.ndarray, v: np.ndarray, core: np.ndarray,
                industrial: np.ndarray, dist: np.ndarray, spacing: int) -> np.ndarray:
    """(h, w) uint8 index into URBAN_PARTS of each sub-pixel of a town, coordinates ``u, v`` in 10 m px and
    ``dist`` the relative distance to the town centre (1 at its edge)."""
    tile, flat, dark, asphalt, garden = range(len(URBAN_PARTS))
    roof_kind = lambda draw: np.where(draw < 0.55, tile, np.where(draw < 0.8, flat, dark))  # noqa: E731
    # discontinuous fabric: 8-14 m houses on 16-30 m plots, denser towards the centre, some plots empty
    plot = rng.uniform(1.6, 3.0)
    house = rng.uniform(0.8, 1.4)
    pi, pj = np.floor(u / plot).astype(np.int64), np.floor(v / plot).astype(np.int64)
    draw = _plot_draw(rng, pi, pj)
    cu, cv = u - (pi + 0.5) * plot, v - (pj + 0.5) * plot
    off = (draw - 0.5) * (plot - house) * 0.8  # houses are not centred on their plot
    size = house * (1 + 0.6 * np.clip(1 - dist, 0, 1))  # larger buildings near the centre
    on = (np.abs(cu - off) < size / 2) & (np.abs(cv + off) < size / 2) & (draw < 0.5 + 0.5 * np.clip(1.3 - dist, 0, 1))
    parts = np.where(on, roof_kind(_plot_draw(rng, pi, pj)), garden)
    # continuous fabric: 10-20 m roofs side by side, courtyards and squares (5-35 % per street block)
    seg = rng.uniform(1.0, 2.0)
    si, sj = np.floor(u / seg).astype(np.int64), np.floor(v / seg).astype(np.int64)
    green_share = 0.05 + 0.3 * _plot_draw(rng, np.floor(u / spacing).astype(np.int64),
                                          np.floor(v / spacing).astype(np.int64))
    d_core = _plot_draw(rng, si, sj)
    parts = np.where(core, np.where(d_core < green_share, garden, roof_kind(_plot_draw(rng, si, sj))), parts)
    # industrial units: 40-100 m flat or dark (metal, bitumen) roofs, car parks, grass verges
    big = ((np.abs((u % spacing) - spacing / 2) < spacing * rng.uniform(0.25, 0.4))
           & (np.abs((v % spacing) - spacing / 2) < spacing * rng.uniform(0.2, 0.4)))
    verge = _plot_draw(rng, si, sj) < 0.05 + 0.2 * _plot_draw(rng, np.floor(u / spacing).astype(np.int64), 0)
    big_kind = np.where(_plot_draw(rng, np.floor(u / spacing).astype(np.int64),
                                   np.floor(v / spacing).astype(np.int64)) < 0.6, flat, dark)
    parts = np.where(industrial, np.where(big, big_kind, np.where(verge, garden, asphalt)), parts)
    street = ((u % spacing) < rng.uniform(0.6, 1.0)) | ((v % spacing) < rng.uniform(0.6, 1.0))
    return np.where(street, asphalt, parts).astype(np.uint8)


def _paint_towns(rng: np.random.Generator, cls: np.ndarray, region: np.ndarray, urban: np.ndarray,
                 prof: dict) -> list[tuple[float, float]]:
    """Step 4: towns; fills ``urban`` (H, W, 5) with the sixteenths of each part. Returns the town centres."""
    H, W = cls.shape
    scale = min(H, W)
    n_towns, rel_radius = prof["towns"]
    town_centres = []
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    k = _SUBPIXEL
    for t in range(n_towns):
        radius = rel_radius * scale * rng.uniform(0.7, 1.3)
        cy, cx = rng.uniform(0.15, 0.85) * H, rng.uniform(0.15, 0.65 if prof.get("sea") else 0.85) * W
        town_centres.append((cy, cx))
        warp = 1 + 0.25 * _field(rng, (H, W), scale / 16)
        dist = np.hypot(yy - cy, xx - cx) / radius * warp
        theta = rng.uniform(0, np.pi / 2)
        u = (xx - cx) * np.cos(theta) + (yy - cy) * np.sin(theta)
        v = -(xx - cx) * np.sin(theta) + (yy - cy) * np.cos(theta)
        spacing = rng.integers(10, 16)
        block = (np.floor(u / spacing).astype(np.int64) * 1000 + np.floor(v / spacing).astype(np.int64))
        town = (dist < 1.0) & (cls != _C["WAT"])
        core = town & (dist < rng.uniform(0.3, 0.45))
        # industrial zones: a few blocks of 2-3 x 2-3 street blocks at the edge of the town
        bi, bj = np.floor(u / spacing).astype(int), np.floor(v / spacing).astype(int)
        industrial = np.zeros((H, W), bool)
        half = min(2, int(radius * 0.25 / spacing))  # half-size of a zone, in blocks, by town size
        for _ in range(int(rng.integers(1, 4))):
            ang = rng.uniform(0, 2 * np.pi)
            i0, j0 = int(np.cos(ang) * radius * 0.85 / spacing), int(np.sin(ang) * radius * 0.85 / spacing)
            industrial |= ((np.abs(bi - i0) <= int(rng.integers(0, half + 1)))
                           & (np.abs(bj - j0) <= int(rng.integers(0, half + 1))))
        industrial &= (dist < 1.25) & ~core & (cls != _C["WAT"])
        town |= industrial
        cls[town & ~core] = _C["DUF"]
        cls[core] = _C["CUF"]
        cls[industrial] = _C["ICU"]
        region[town] = (block[town] % 1_000_003 + 1_000_000 * (t + 1)).astype(np.int32)
        if not town.any():
            continue
        # sub-pixel layout inside the town's bounding box, then the parts' fractions per pixel
        rows, cols = np.flatnonzero(town.any(axis=1)), np.flatnonzero(town.any(axis=0))
        r0, r1, c0, c1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
        fy = r0 + (np.arange((r1 - r0) * k) + 0.5) / k - 0.5
        fx = c0 + (np.arange((c1 - c0) * k) + 0.5) / k - 0.5
        fyy, fxx = np.meshgrid(fy, fx, indexing="ij")
        fu = (fxx - cx) * np.cos(theta) + (fyy - cy) * np.sin(theta)
        fv = -(fxx - cx) * np.sin(theta) + (fyy - cy) * np.cos(theta)
        up = lambda a: np.repeat(np.repeat(a[r0:r1, c0:c1], k, 0), k, 1)  # noqa: E731
        parts = _town_parts(rng, fu, fv, up(core), up(industrial), up(dist), int(spacing))
        counts = np.stack([(parts == p).reshape(r1 - r0, k, c1 - c0, k).sum(axis=(1, 3))
                           for p in range(len(URBAN_PARTS))], axis=-1).astype(np.uint8)
        sel = town[r0:r1, c0:c1]
        urban[r0:r1, c0:c1][sel] = counts[sel]
    return town_centres


def _paint_roads(rng: np.random.Generator, cls: np.ndarray, region: np.ndarray,
                 town_centres: list[tuple[float, float]]) -> None:
    """Step 5: roads between towns and across the tile, 1-2 px wide, bridges over water."""
    H, W = cls.shape
    scale = min(H, W)
    roads = np.zeros((H, W), bool)
    road_id = np.zeros((H, W), np.int32)
    ends = town_centres + [tuple(rng.random(2) * [H, W]) for _ in range(2)]
    pairs = [(ends[i], ends[j]) for i in range(len(ends)) for j in range(i + 1, len(ends))]
    for k, (a, b) in enumerate(pairs[:6]):
        one = np.zeros((H, W), bool)
        _draw_line(one, _wiggly_path(rng, a, b, scale / 25), width=int(rng.integers(1, 3)))
        one &= (cls != _C["WAT"]) | ~ndimage.binary_erosion(cls == _C["WAT"], iterations=3)  # bridges only
        road_id[one & ~roads] = k + 1
        roads |= one
    roads &= ~np.isin(cls, [_C["CUF"], _C["DUF"], _C["ICU"]])
    cls[roads] = _C["RSF"]
    region[roads] = 2_000_000_000 + road_id[roads]


def _label_objects(cls: np.ndarray, region: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Objects: connected regions of one class within one region. Returns ids (H, W) and their classes."""
    H, W = cls.shape
    objects = np.zeros((H, W), np.int32)
    object_class = [0]
    for c in np.unique(cls):
        if c == 0:
            continue
        comp, _ = ndimage.label(cls == c)  # 4-connectivity
        key = comp.astype(np.int64) * 4_000_000_000 + region.astype(np.int64)
        sel = comp > 0
        uniq, inverse = np.unique(key[sel], return_inverse=True)
        objects[sel] = inverse.astype(np.int32) + len(object_class)
        object_class.extend([c] * len(uniq))
    return objects, np.asarray(object_class, np.uint8)


def _object_parameters(rng: np.random.Generator, cls: np.ndarray, objects: np.ndarray,
                       object_class: np.ndarray, urban: np.ndarray, elev01: np.ndarray) -> Landscape:
    """Per object: material (crop type), phenology shift, amplitude, brightness, management; per pixel:
    soil, texture. Returns the landscape without mixed pixels."""
    H, W = cls.shape
    scale = min(H, W)
    n_obj = len(object_class) - 1
    obj_material = np.zeros(n_obj + 1, np.uint8)
    for name, choices in CLASS_MATERIALS.items():
        sel = np.flatnonzero(object_class == _C[name])
        names, p = list(choices), np.array(list(choices.values()))
        obj_material[sel] = [material_id(names[i]) for i in rng.choice(len(names), len(sel), p=p / p.sum())]
    mat = obj_material[objects]
    arable = np.isin(object_class, [_C["ASC"], _C["AWC"]])
    # sowing and harvest dates vary between farms: +-13 days on arable land, +-10 elsewhere
    obj_shift = (rng.normal(0, 10, n_obj + 1) * np.where(arable, 1.3, 1.0)).astype(np.float32)
    obj_amp = rng.uniform(0.65, 1.15, n_obj + 1).astype(np.float32)
    obj_vigour = rng.normal(1, 0.12, n_obj + 1).astype(np.float32)
    obj_bright = rng.uniform(0.85, 1.15, n_obj + 1).astype(np.float32)
    obj_variant = rng.random(n_obj + 1).astype(np.float32)
    obj_mow = np.sort(rng.normal([135, 185, 240], 12, (n_obj + 1, 3)), axis=1).astype(np.float32)
    obj_mow[obj_variant < 0.3, 2] = 999  # some meadows are mown twice only
    obj_mow[obj_variant > 0.85, 0] = 999  # some once (late hay)
    # soils: regional pattern plus per-parcel differences (liming, erosion)
    soil = np.clip(0.5 + 0.25 * _field(rng, (H, W), scale / 8) + rng.normal(0, 0.12, n_obj + 1)[objects],
                   0, 1).astype(np.float32)
    tex = np.ones((H, W), np.float32)
    fields = np.isin(cls, [_C[n] for n in ("ASC", "AWC", "IGL", "NGL", "WOM")])
    tex[fields] = (1 + 0.06 * _field(rng, (H, W), 1.5))[fields]  # within-field heterogeneity
    forest = np.isin(cls, [_C["BLF"], _C["COF"]])
    tex[forest] = (1 + 0.15 * _field(rng, (H, W), 0.7))[forest]  # tree crowns
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    obj_theta = rng.uniform(0, np.pi, n_obj + 1)
    obj_period = rng.uniform(2.2, 3.2, n_obj + 1)
    theta, period = obj_theta[objects], obj_period[objects]
    rows_uv = xx * np.cos(theta) + yy * np.sin(theta)
    vine = cls == _C["VIN"]
    tex[vine] = (0.45 + 1.1 * (0.5 + 0.5 * np.sin(2 * np.pi * rows_uv / period)))[vine]  # vine rows
    orchard = cls == _C["ORC"]
    trees = (np.abs((rows_uv % 3.0) - 1.5) < 0.8) & (np.abs(((-xx * np.sin(theta) + yy * np.cos(theta)) % 3.0)
                                                             - 1.5) < 0.8)
    tex[orchard] = np.where(trees, 1.5, 0.55)[orchard]  # tree grid
    return Landscape(cls, objects, object_class, mat, obj_shift[objects], obj_amp[objects], obj_bright[objects],
                     tex, elev01.astype(np.float32), obj_mow[objects], CLASS_NAMES, obj_variant[objects], soil,
                     urban, np.zeros((H, W), np.uint8), np.zeros((H, W), np.float32), obj_vigour[objects])


def _mixed_pixels(rng: np.random.Generator, objects: np.ndarray, cls: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mixed pixels: object borders do not follow the pixel grid, and roads are narrower than a pixel.

    Returns (H, W) uint8 the neighbour whose spectrum is mixed in (0 none, 1 up, 2 down, 3 left, 4 right)
    and (H, W) float32 its share: up to one half along borders, 10-55 % of the field beside a road.
    """
    H, W = objects.shape
    pad = np.pad(objects, 1, mode="edge")
    neighbours = np.stack([pad[:-2, 1:-1], pad[2:, 1:-1], pad[1:-1, :-2], pad[1:-1, 2:]])  # up down left right
    differs = neighbours != objects[None]
    road = cls == _C["RSF"]
    pad_road = np.pad(road, 1, mode="edge")
    road_nb = np.stack([pad_road[:-2, 1:-1], pad_road[2:, 1:-1], pad_road[1:-1, :-2], pad_road[1:-1, 2:]])
    candidates = differs & ~np.where(road[None], road_nb, False)  # a road pixel mixes with the field beside it
    key = np.where(candidates, rng.random((4, H, W)), -1.0)
    direction = np.where(candidates.any(axis=0), key.argmax(axis=0) + 1, 0).astype(np.uint8)
    fraction = np.where(direction > 0, rng.uniform(0.0, 0.5, (H, W)), 0.0)
    fraction = np.where(road & (direction > 0), rng.uniform(0.1, 0.55, (H, W)), fraction)
    return direction, fraction.astype(np.float32)
