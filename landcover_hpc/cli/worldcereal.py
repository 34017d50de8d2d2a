"""``landcover-worldcereal``: a WorldCereal NetCDF test patch -> the gap-fill acquisition layout + labels.tif."""

from __future__ import annotations

import argparse
import sys

from ..config.worldcereal import WorldCerealConfig
from ._common import config_parser, run_config_command

PROG = "landcover-worldcereal"


def build_parser() -> argparse.ArgumentParser:
    return config_parser(PROG, (
        "Convert a WorldCereal patch folder (S2_L2A_10m_*.nc, S2_L2A_20m_*.nc, OUTPUT_POLY-*_10m_*.nc) into "
        "ACQ_DIR/YYYYMMDD/{B2..B12,SCL}.tif for landcover-gapfill, and its LC codes into labels.tif "
        "(99 unlabelled -> 0)."), WorldCerealConfig)


def main(argv: list[str] | None = None) -> int:
    return run_config_command(PROG, build_parser(), argv, WorldCerealConfig, _convert)


def _convert(config: WorldCerealConfig, _args: argparse.Namespace) -> int:
    from ..gapfill.worldcereal import convert_patch

    summary = convert_patch(config.input, config.out, config.labels, parcels_path=config.parcels,
                            show_progress=not config.quiet)
    print(f"{summary['acq_dir']}: {summary['acquisitions']} acquisitions {summary['first']}..{summary['last']}; "
          f"{summary['labels']}: labelled pixels per code {summary['label_pixels']}")
    if "parcels" in summary:
        print(f"{summary['parcels']}: parcels per code {summary['parcels_per_code']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
