"""Parcels of a WorldCereal patch: components of equal land-cover (LC) and crop-type (CT) codes."""

import numpy as np

from landcover_hpc.gapfill.worldcereal import parcel_objects


def test_parcel_objects_separates_neighbouring_parcels_of_one_class_by_crop_type():
    land_cover = np.array([[11, 11, 11, 99, 13],
                           [11, 11, 11, 99, 13],
                           [99, 99, 99, 99, 99],
                           [13, 99, 60, 60, 0]])
    crop_type = np.array([[1200, 1200, 1110, 0, 9120],
                          [1200, 1200, 1110, 0, 9120],
                          [0, 0, 0, 0, 0],
                          [9120, 0, 0, 0, 0]])
    ids, lc_codes, ct_codes = parcel_objects(land_cover, crop_type)
    assert len(lc_codes) == 5  # two crop parcels, two grassland components, one built-up
    assert ids[0, 0] == ids[1, 1] != ids[0, 2]  # one cropland component of LC, two parcels by CT
    assert lc_codes[ids[0, 0] - 1] == lc_codes[ids[0, 2] - 1] == 11
    assert {ct_codes[ids[0, 0] - 1], ct_codes[ids[0, 2] - 1]} == {1200, 1110}
    assert ids[0, 4] == ids[1, 4] != ids[3, 0]
    assert ids[3, 2] == ids[3, 3] and lc_codes[ids[3, 2] - 1] == 60
    assert (ids[(land_cover == 99) | (land_cover == 0)] == 0).all()  # unlabelled and fill are no parcel
    assert sorted(np.unique(ids[ids > 0])) == list(range(1, 6))


def test_parcel_objects_use_4_connectivity():
    land_cover = np.array([[11, 99], [99, 11]])
    ids, lc_codes, _ = parcel_objects(land_cover, np.full((2, 2), 1200))
    assert len(lc_codes) == 2 and ids[0, 0] != ids[1, 1]  # a diagonal contact is a parcel boundary
