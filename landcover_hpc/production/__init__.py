"""The nightly country-scale job (``landcover-produce``): for each tile gap-fill (when its acquisitions are
newer than its stack), prepare, predict and evaluate, each step skipped when up to date; then the mosaic, a
manifest (inputs, versions, per-tile status and timings, peak memory) and a Markdown report. It calls the
library functions of the single commands and adds no processing of its own."""

from .nightly import (MANIFEST_FORMAT, ProductionJob, production_paths, production_tiles, run_production,
                      software_versions)

__all__ = ["ProductionJob", "run_production", "production_paths", "production_tiles", "software_versions",
           "MANIFEST_FORMAT"]
