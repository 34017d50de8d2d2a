"""``landcover-worldcereal``: a WorldCereal NetCDF test patch -> the gap-fill acquisition layout + labels.tif."""

from __future__ import annotations

import argparse
import sys

from ..gapfill.worldcereal import convert_patch
from ._common import run_cli

PROG = "landcover-worldcereal"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description=(
        "Convert a WorldCereal patch folder (S2_L2A_10m_*.nc, S2_L2A_20m_*.nc, OUTPUT_POLY-*_10m_*.nc) into "
        "ACQ_DIR/YYYYMMDD/{B2..B12,SCL}.tif for landcover-gapfill, and its LC codes into labels.tif "
        "(99 unlabelled -> 0)."))
    p.add_argument("--input", required=True, metavar="PATCH_DIR", help="WorldCereal patch folder")
    p.add_argument("--out", required=True, metavar="ACQ_DIR", help="acquisition folder to write")
    p.add_argument("--labels", default=None, metavar="LABELS_TIF",
                   help="where to write labels.tif (default ACQ_DIR/labels.tif; put it in the gap-filled tile folder)")
    p.add_argument("--parcels", default=None, metavar="REFERENCE_GPKG",
                   help="also write the parcels as polygons (one per connected component of equal LC and CT "
                        "codes, field code = LC): put it in the tile folder as reference.gpkg to split by parcel")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    def body() -> int:
        summary = convert_patch(args.input, args.out, args.labels, parcels_path=args.parcels,
                                show_progress=not args.quiet)
        print(f"{summary['acq_dir']}: {summary['acquisitions']} acquisitions {summary['first']}..{summary['last']}; "
              f"{summary['labels']}: labelled pixels per code {summary['label_pixels']}")
        if "parcels" in summary:
            print(f"{summary['parcels']}: parcels per code {summary['parcels_per_code']}")
        return 0

    return run_cli(PROG, body)


if __name__ == "__main__":
    sys.exit(main())
