import pytest

from landcover_hpc.data.mgrs import parse_tile_id
from landcover_hpc.errors import ConfigError


@pytest.mark.parametrize("tile, epsg, origin", [
    ("T31UDQ", 32631, (400_000, 5_500_000)),  # Paris; Sentinel-2 grid origin 399960, 5500020
    ("T31TCJ", 32631, (300_000, 4_900_000)),  # Toulouse
    ("T30TWT", 32630, (500_000, 5_300_000)),
    ("T56HLH", 32756, (300_000, 6_300_000)),  # Sydney, southern hemisphere
    ("32ULU", 32632, (300_000, 5_400_000)),
])
def test_tile_ids_map_to_utm_zone_and_square(tile, epsg, origin):
    tid = parse_tile_id(tile)
    assert tid.epsg == epsg
    assert tid.square_origin == origin
    assert str(tid) == "T" + tile.lstrip("T")


@pytest.mark.parametrize("bad", ["T61UDQ", "T31IDQ", "T31USQ", "XYZ", "T31UDW"])
def test_bad_tile_ids_are_config_errors(bad):
    with pytest.raises(ConfigError, match=bad):
        parse_tile_id(bad)
