"""``landcover-worldcereal``: a WorldCereal NetCDF patch -> the gap-fill acquisition layout and labels
(configs/worldcereal.yaml); the defaults are those of :func:`~landcover_hpc.gapfill.worldcereal.convert_patch`,
read from it."""

from __future__ import annotations

import inspect

from pydantic import Field

from ..gapfill.worldcereal import convert_patch
from .schema import Section

__all__ = ["WorldCerealConfig"]

_D = inspect.signature(convert_patch).parameters


class WorldCerealConfig(Section):
    input: str = Field(description="WorldCereal patch folder", json_schema_extra={"metavar": "PATCH_DIR"})
    out: str = Field(description="acquisition folder to write", json_schema_extra={"metavar": "ACQ_DIR"})
    labels: str | None = Field(_D["labels_path"].default,
                               description="where to write labels.tif (default ACQ_DIR/labels.tif; put it in the "
                                           "gap-filled tile folder)", json_schema_extra={"metavar": "LABELS_TIF"})
    parcels: str | None = Field(_D["parcels_path"].default,
                                description="also write the parcels as polygons (one per connected component of "
                                            "equal LC and CT codes, field code = LC): put it in the tile folder as "
                                            "reference.gpkg to split by parcel",
                                json_schema_extra={"metavar": "REFERENCE_GPKG"})
    quiet: bool = Field(not _D["show_progress"].default, description="no progress lines")
