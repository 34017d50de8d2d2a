"""The model-file metadata of a set of prepared stores, as the tests' hand-built model files need it."""

from __future__ import annotations


def stores_metadata(stores, sentinel1: bool = False, **values):
    """``ModelMetadata`` of the open ``stores`` as ``landcover-train`` writes it: the first store's bands, classes,
    nomenclature and dates, the percentiles over every store, with ``sentinel1`` their Sentinel-1 dates and
    percentiles; ``values`` replace any of these (percentiles given are not computed again)."""
    from landcover_hpc.data.prepare import dataset_percentiles
    from landcover_hpc.models import ModelMetadata

    first = stores[0]
    fields = dict(band_names=first.bands, class_codes=first.class_codes, nomenclature=first.nomenclature.to_dict(),
                  dates=first.dates, **values)
    if "percentiles" not in fields:
        fields["percentiles"] = dataset_percentiles(stores)
    if sentinel1:
        fields.setdefault("s1_dates", first.s1_dates)
        if "s1_percentiles" not in fields:
            fields["s1_percentiles"] = dataset_percentiles(stores, sentinel1=True)
    return ModelMetadata(**fields)
