"""The objects of a labels.tif reference: window by window (``data/objects.py``) against the whole raster.

For each size, a synthetic class raster of 200 m parcels (0 and the nomenclature's codes at random) is written,
then each method runs in its own process (its peak resident memory is its own), side by side:
- ``whole``: scipy's labelling of the whole raster, code by code (what landcover-prepare did before);
- ``windows``: :class:`landcover_hpc.data.objects.LabelObjects`, 512 px windows (prepare's default).
Both then read every window's object ids, as prepare does, and must agree on the objects' count and ids.

    .venv/bin/python benchmarks/bench_label_objects.py --sizes 4096,10980 --work /tmp/bench_labels
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import rasterio
from rasterio.transform import from_origin

from landcover_hpc.data.blocks import iter_blocks
from landcover_hpc.nomenclature import load_nomenclature

WINDOW = 512
PARCEL = 20  # px: 200 m at 10 m


def write_labels(path: Path, size: int) -> None:
    """A size x size class raster of PARCEL px squares, each of a random code or 0, written strip by strip."""
    codes = np.array([0, *load_nomenclature().codes], np.uint8)
    parcels = np.random.default_rng(0).choice(codes, size=(size // PARCEL + 1, size // PARCEL + 1))
    with rasterio.open(path, "w", driver="GTiff", height=size, width=size, count=1, dtype="uint8", tiled=True,
                       compress="deflate", crs="EPSG:32631", transform=from_origin(600000, 5400000, 10, 10)) as dst:
        for row, _, height, _ in iter_blocks(size, 1, 1024, 1):
            strip = np.repeat(np.repeat(parcels[row // PARCEL:(row + height) // PARCEL + 1], PARCEL, 0), PARCEL, 1)
            dst.write(strip[row % PARCEL:row % PARCEL + height, :size], 1,
                      window=rasterio.windows.Window(0, row, size, height))


def measure(method: str, path: Path) -> dict:
    """In this process: find the objects with ``method`` and read every window's ids."""
    nomenclature = load_nomenclature()
    start, checksum = time.perf_counter(), 0
    with rasterio.Env(GDAL_CACHEMAX=32 * 2**20), rasterio.open(path) as src:
        if method == "whole":
            from scipy import ndimage
            codes = src.read(1)
            ids, n_objects = np.zeros(codes.shape, np.int32), 0
            for code in (int(c) for c in np.unique(codes) if c != 0):
                components, n = ndimage.label(codes == code)
                ids[components > 0] = components[components > 0] + n_objects
                n_objects += n
            window_ids = lambda row, col, h, w: ids[row:row + h, col:col + w]  # noqa: E731
        else:
            from landcover_hpc.data.objects import LabelObjects
            objects = LabelObjects(path, nomenclature, WINDOW)
            n_objects = len(objects.classes)
            window_ids = lambda row, col, h, w: objects.window(src, row, col, h, w)  # noqa: E731
        for row, col, height, width in iter_blocks(src.height, src.width, WINDOW):
            checksum += int(window_ids(row, col, height, width).astype(np.int64).sum())
    return {"method": method, "objects": n_objects, "checksum": checksum,
            "seconds": time.perf_counter() - start,
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1024,4096", help="raster sides, px, comma-separated")
    parser.add_argument("--work", type=Path, default=Path("bench_label_objects"), help="where the rasters go")
    parser.add_argument("--child", nargs=2, metavar=("METHOD", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(measure(args.child[0], Path(args.child[1]))))
        return 0
    args.work.mkdir(parents=True, exist_ok=True)
    print("| labels.tif | objects | whole raster | window by window | memory ratio | time ratio |")
    print("|---|---|---|---|---|---|")
    for size in (int(s) for s in args.sizes.split(",")):
        path = args.work / f"labels_{size}.tif"
        if not path.is_file():
            write_labels(path, size)
        whole, windows = (json.loads(subprocess.run([sys.executable, __file__, "--child", method, str(path)],
                                                    check=True, capture_output=True, text=True).stdout)
                          for method in ("whole", "windows"))
        if (whole["objects"], whole["checksum"]) != (windows["objects"], windows["checksum"]):
            raise SystemExit(f"{path}: the methods disagree: {whole} against {windows}")
        print(f"| {size} px | {whole['objects']} | {whole['peak_mb']:.0f} MB, {whole['seconds']:.1f} s "
              f"| {windows['peak_mb']:.0f} MB, {windows['seconds']:.1f} s "
              f"| {whole['peak_mb'] / windows['peak_mb']:.1f} | {windows['seconds'] / whole['seconds']:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
