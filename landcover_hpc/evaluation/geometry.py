"""Geometric precision of a class map (paper 4.3 and Figure 20): how many sharp corners of pixel-based
reference maps a map keeps.

Corners of a map:

1. the map is split into one binary mask per class (nodata, code 0, has none);
2. OpenCV's Line Segment Detector (``cv2.createLineSegmentDetector()``, default parameters: scale 0.8,
   LSD_REFINE_STD) finds straight segments in each mask; segments shorter than ``min_length`` = 3 px are
   dropped, then the segments of all classes are pooled (a border between two classes shows up in both
   masks);
3. a corner is where an end of one segment lies within ``contact_distance`` = 3 px of another segment,
   anywhere along it (point-to-segment distance; the paper: "the extremity of one segment is close enough
   to another segment"), and the two make an angle between ``min_angle`` = 30 and ``max_angle`` = 150
   degrees (180 would be a straight continuation, 0 two sides of a thin line). Seen from the contact point
   the first segment is a ray leaving it; the other segment is one ray when the contact is within
   ``contact_distance`` of its end (an L) and two opposite rays when it is further inside (a T: the
   angle to either ray may qualify). The corner is the midpoint of the end and its nearest point on the
   other segment (LSD stops segments about 1.2 px short of a pixel-edge corner, so corresponding ends of
   an L are about 1.7 px apart, and an end about 1.2 px from the edge it abuts in a T);
4. corners closer than ``merge_distance`` = 2 px (the same corner seen from both classes' masks, or by
   several segment pairs) are merged into their mean.

A 40 x 60 px rectangle gives 4 corners, an L-shape 6 (5 convex, 1 concave); a straight border none. A
5 px wide strip abutting the middle of a field's straight edge, with nodata around, gives the T's 2
corners where the strip's sides meet the edge (the strip's own 5 px end is too short for LSD, so no
segment ends there: a rule matching ends with ends alone misses them; with a class around instead of
nodata, that class's mask has its own corners there). LSD approximates a rasterised curve by a polygon: a
disc of radius 20-35 px comes out as 9-12 sides meeting at about 140-150 degrees, 4-10 of which count as
corners (as they would in the paper's measure).

Matching: a reference corner is found in a map when the map has a corner within ``radius`` = 3 px. The
ratio (paper) is ``found reference corners / reference corners``; ``denominator="map"`` gives the share
of the map's corners found in the reference instead. The geometric precision of a map is the mean (and
standard deviation) of the ratio over reference maps: pixel-based (RF) maps trained on different subsets
of the training data (``landcover-rf train --seed S --subsample 0.5``, 10 seeds in the paper). An RF
map measured against the other RF references gives the pixel-based level the CNN is compared with.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from ..errors import ConfigError, InputFormatError, InputNotFoundError

__all__ = ["GEOMETRY_FORMAT", "CornerParams", "class_segments", "find_corners", "map_corners", "match_ratio",
           "geometric_precision", "geometric_precision_files", "geometry_path", "evaluate_geometry",
           "load_geometry"]

GEOMETRY_FORMAT = "landcover_hpc.geometry"


@dataclass(frozen=True)
class CornerParams:
    """Thresholds of the corner detector and matcher (px and degrees; see the module docstring)."""

    min_length: float = 3.0
    contact_distance: float = 3.0
    min_angle: float = 30.0
    max_angle: float = 150.0
    merge_distance: float = 2.0
    radius: float = 3.0

    def __post_init__(self) -> None:
        if not 0 <= self.min_angle < self.max_angle <= 180:
            raise ConfigError(f"corner angles {self.min_angle}..{self.max_angle}: need 0 <= min < max <= 180 degrees")
        for name in ("contact_distance", "radius"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"corner {name} = {getattr(self, name)}: must be > 0 px")


def class_segments(classes: np.ndarray, nodata: int = 0, min_length: float = 3.0) -> np.ndarray:
    """(n, 4) float64 segments (x1, y1, x2, y2), pixel centres at integer coordinates, of every class's mask
    in ``classes`` (H, W) integer class map, pooled."""
    import cv2

    lsd = cv2.createLineSegmentDetector()
    found = []
    for code in np.unique(classes):
        if code == nodata:
            continue
        mask = np.where(classes == code, 255, 0).astype(np.uint8)
        lines = lsd.detect(mask)[0]
        if lines is not None:
            found.append(lines.reshape(-1, 4).astype(np.float64))
    segments = np.concatenate(found) if found else np.zeros((0, 4))
    length = np.hypot(segments[:, 2] - segments[:, 0], segments[:, 3] - segments[:, 1])
    return segments[length >= min_length]


def find_corners(segments: np.ndarray, params: CornerParams = CornerParams()) -> np.ndarray:
    """(m, 2) float64 corners (x, y) of segments (n, 4) (x1, y1, x2, y2): an end of one segment within
    ``contact_distance`` of another segment (anywhere along it), the two at an angle in [min_angle,
    max_angle]; corners within ``merge_distance`` merged."""
    segments = segments[np.hypot(segments[:, 2] - segments[:, 0], segments[:, 3] - segments[:, 1]) > 0]
    n = len(segments)
    if n < 2:
        return np.zeros((0, 2))
    ends = np.concatenate([segments[:, :2], segments[:, 2:]])  # end e belongs to segment e % n
    opposite = np.concatenate([segments[:, 2:], segments[:, :2]])  # the segment's other end
    end_index, seg_index = _ends_near_segments(ends, segments, params.contact_distance)
    keep = end_index % n != seg_index
    end_index, seg_index = end_index[keep], seg_index[keep]
    start, direction = segments[seg_index, :2], segments[seg_index, 2:] - segments[seg_index, :2]
    length = np.linalg.norm(direction, axis=1)
    unit = direction / length[:, None]
    along = np.clip(((ends[end_index] - start) * unit).sum(axis=1), 0.0, length)  # px from the start
    contact = start + along[:, None] * unit
    near = np.hypot(*(ends[end_index] - contact).T) <= params.contact_distance
    end_index, unit, along, length, contact = (end_index[near], unit[near], along[near], length[near],
                                               contact[near])
    ray = opposite[end_index] - ends[end_index]  # the segment leaving its end
    cos = (ray * unit).sum(axis=1) / np.linalg.norm(ray, axis=1)
    angle_forward = np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))  # to the other segment's part ahead
    angle_backward = 180.0 - angle_forward  # to its part behind the contact
    # A contact at (or within contact_distance of) the other segment's end sees one ray of it (an L: a
    # straight continuation is 180 degrees, not a corner); one in its middle sees two (a T).
    ahead, behind = length - along, along
    has_forward = (ahead > params.contact_distance) | (ahead >= behind)
    has_backward = (behind > params.contact_distance) | (behind > ahead)
    corner = ((has_forward & _in_window(angle_forward, params))
              | (has_backward & _in_window(angle_backward, params)))
    return _merge((ends[end_index[corner]] + contact[corner]) / 2, params.merge_distance)


def _in_window(angle: np.ndarray, params: CornerParams) -> np.ndarray:
    return (angle >= params.min_angle) & (angle <= params.max_angle)


def _ends_near_segments(ends: np.ndarray, segments: np.ndarray,
                        distance: float) -> tuple[np.ndarray, np.ndarray]:
    """Candidate (end, segment) index pairs: every segment within ``distance`` of an end is among them
    (segments sampled every ``distance`` px; a point within ``distance`` of a segment is within 1.5 x
    ``distance`` of a sample), so the search stays O(n log n) on a whole tile's segments."""
    from scipy.spatial import cKDTree

    length = np.hypot(segments[:, 2] - segments[:, 0], segments[:, 3] - segments[:, 1])
    steps = np.maximum(np.ceil(length / distance).astype(np.int64), 1)
    owner = np.repeat(np.arange(len(segments)), steps + 1)
    first = np.repeat(np.cumsum(steps + 1) - (steps + 1), steps + 1)
    fraction = (np.arange(len(owner)) - first) / steps[owner]
    samples = segments[owner, :2] + fraction[:, None] * (segments[owner, 2:] - segments[owner, :2])
    pairs = cKDTree(ends).sparse_distance_matrix(cKDTree(samples), 1.5 * distance, output_type="ndarray")
    found = np.unique(np.stack([pairs["i"], owner[pairs["j"]]], axis=1), axis=0)
    return found[:, 0], found[:, 1]


def _merge(points: np.ndarray, distance: float) -> np.ndarray:
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree

    if len(points) < 2 or distance <= 0:
        return points
    pairs = cKDTree(points).query_pairs(distance, output_type="ndarray")
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(len(points),) * 2)
    n_groups, group = connected_components(graph, directed=False)
    counts = np.bincount(group, minlength=n_groups)[:, None]
    sums = np.zeros((n_groups, 2))
    np.add.at(sums, group, points)
    return sums / counts


def map_corners(classes: np.ndarray, params: CornerParams = CornerParams(), nodata: int = 0) -> np.ndarray:
    """(m, 2) corners (x = column, y = row, px) of a class map (H, W)."""
    return find_corners(class_segments(classes, nodata, params.min_length), params)


def match_ratio(corners: np.ndarray, reference: np.ndarray, radius: float = 3.0,
                denominator: str = "reference") -> float:
    """Share of ``reference`` corners with a ``corners`` point within ``radius`` px (``denominator=
    "reference"``, the paper's ratio), or of ``corners`` with a reference corner (``"map"``); NaN when the
    denominator set is empty."""
    from scipy.spatial import cKDTree

    if denominator not in ("reference", "map"):
        raise ConfigError(f"denominator {denominator!r}: allowed 'reference' (paper) or 'map'")
    base, other = (reference, corners) if denominator == "reference" else (corners, reference)
    if not len(base):
        return float("nan")
    if not len(other):
        return 0.0
    distance, _ = cKDTree(other).query(base, k=1, distance_upper_bound=radius)
    return float(np.mean(np.isfinite(distance)))


def _summary(ratios: Sequence[float]) -> dict:
    """Mean and sample std of the defined ratios (NaN: a reference without corners)."""
    valid = [r for r in ratios if not np.isnan(r)]
    return {"mean": float(np.mean(valid)) if valid else float("nan"),
            "std": float(np.std(valid, ddof=1)) if len(valid) > 1 else 0.0, "ratios": list(ratios)}


def geometric_precision(classes: np.ndarray, references: Sequence[np.ndarray],
                        params: CornerParams = CornerParams(), denominator: str = "reference",
                        nodata: int = 0) -> dict:
    """Mean and std of :func:`match_ratio` of a map (H, W) against reference maps (each (H, W)).

    Returns:
        ``{"mean", "std", "ratios": [per reference], "corners": n of the map, "reference_corners": [n]}``.
    """
    if not references:
        raise ConfigError("geometric precision needs at least one reference map")
    corners = map_corners(classes, params, nodata)
    ratios, counts = [], []
    for ref in references:
        if ref.shape != classes.shape:
            raise InputFormatError(f"reference map shape {ref.shape} differs from the map's {classes.shape}")
        ref_corners = map_corners(ref, params, nodata)
        counts.append(int(len(ref_corners)))
        ratios.append(match_ratio(corners, ref_corners, params.radius, denominator))
    return {**_summary(ratios), "corners": int(len(corners)), "reference_corners": counts}


def _require_map(path: str | Path, what: str) -> None:
    if not Path(path).is_file():
        raise InputNotFoundError(f"{what} {path} not found: pass a <TILE>_classes.tif written by "
                                 f"landcover-predict or landcover-rf predict")


def _read_classes(path: str | Path, window=None, what: str = "class map") -> tuple[np.ndarray, tuple]:
    """Band 1 of a class map and its grid (CRS, transform, shape)."""
    from ..data.tiles import open_class_map  # rasterio, imported only when a map is read

    _require_map(path, what)
    with open_class_map(path, what) as src:
        classes = src.read(1, window=window)
        return classes, (src.crs, src.transform, classes.shape)


def _same_grid(a: tuple, b: tuple) -> bool:
    (crs_a, transform_a, shape_a), (crs_b, transform_b, shape_b) = a, b
    return shape_a == shape_b and crs_a == crs_b and transform_a.almost_equals(transform_b)


def geometric_precision_files(map_path: str | Path, reference_paths: Sequence[str | Path],
                              params: CornerParams = CornerParams(), denominator: str = "reference",
                              window=None) -> dict:
    """:func:`geometric_precision` of GeoTIFF class maps (optionally a ``rasterio.windows.Window`` of them)."""
    return geometric_precision(_read_classes(map_path, window)[0],
                               [_read_classes(p, window, "reference map")[0] for p in reference_paths],
                               params, denominator)


def geometry_path(out_dir: str | Path, tile: str) -> Path:
    return Path(out_dir) / f"{tile}_geometry.json"


def evaluate_geometry(tile: str, maps: Mapping[str, str | Path], references: Sequence[str | Path],
                      out_dir: str | Path | None = None, params: CornerParams = CornerParams(),
                      denominator: str = "reference", nodata: int = 0) -> dict:
    """Geometric precision of several maps of one tile (e.g. FG-UNET and RF) against the same reference maps.

    The corners of each reference are found once. A map that is itself one of the references (the same
    file) is measured against the others only: an RF reference map against the other RF maps is the
    pixel-based level of the paper's Figure 20.

    Args:
        maps: ``{name: class map GeoTIFF}``, e.g. ``{"FG-UNET": ..., "RF": ...}``, on the references' grid.
        references: pixel-based reference maps of the tile (the paper: 10 RF maps from different training
            subsets).
        out_dir: where ``<TILE>_geometry.json`` is written (atomically); None writes nothing.

    Returns:
        ``{"format", "software_version", "tile", "denominator", "params", "references": [{"map", "corners"}],
        "maps": {name: {"map", "corners", "mean", "std", "ratios", "references_used"}}}`` (ratios per
        reference used, in order; NaN for a reference without corners), plus ``paths`` when written.
    """
    from .. import __version__
    from ..io import write_json_atomic
    from .evaluate import _json_safe

    if not maps:
        raise ConfigError("geometric precision needs at least one map (--map NAME=PATH)")
    if not references:
        raise ConfigError("geometric precision needs at least one reference map (--reference PATH)")
    if denominator not in ("reference", "map"):
        raise ConfigError(f"denominator {denominator!r}: allowed 'reference' (paper) or 'map'")
    grid = None

    def corners_of(path: str | Path, what: str) -> np.ndarray:
        nonlocal grid
        classes, this_grid = _read_classes(path, what=what)
        if grid is None:
            grid = (path, this_grid)
        elif not _same_grid(this_grid, grid[1]):
            raise InputFormatError(f"{what} {path} is not on the grid of {grid[0]} (CRS, transform or size "
                                   f"differ): give maps of the same tile {tile}")
        return map_corners(classes, params, nodata)

    ref_paths = [Path(p) for p in references]
    for path in ref_paths:  # all checked before minutes of line segment detection on a whole tile
        _require_map(path, "reference map")
    for name, path in maps.items():
        _require_map(path, f"map {name}")
    ref_corners = [corners_of(p, "reference map") for p in ref_paths]
    result = {"format": GEOMETRY_FORMAT, "software_version": __version__, "tile": tile,
              "denominator": denominator, "params": asdict(params),
              "references": [{"map": str(p), "corners": int(len(c))} for p, c in zip(ref_paths, ref_corners)],
              "maps": {}}
    for name, map_path in maps.items():
        map_path = Path(map_path)
        itself = [i for i, p in enumerate(ref_paths) if map_path.is_file() and p.samefile(map_path)]
        corners = ref_corners[itself[0]] if itself else corners_of(map_path, f"map {name}")
        others = [i for i in range(len(ref_paths)) if i not in itself]
        if not others:
            raise ConfigError(f"map {name} ({map_path}) is the only reference map: give other reference maps")
        ratios = [match_ratio(corners, ref_corners[i], params.radius, denominator) for i in others]
        result["maps"][name] = {"map": str(map_path), "corners": int(len(corners)), **_summary(ratios),
                                "references_used": len(others)}
    if out_dir is not None:
        path = geometry_path(out_dir, tile)
        write_json_atomic(path, _json_safe(result))
        result["paths"] = {"json": str(path)}
    return result


def load_geometry(path: str | Path) -> dict:
    """Read a ``<TILE>_geometry.json`` written by :func:`evaluate_geometry` (NaN stored as null)."""
    from .evaluate import load_result

    return load_result(path, GEOMETRY_FORMAT, "landcover-geometry", "geometry result")
