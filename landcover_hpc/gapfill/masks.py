"""Which acquisitions see the ground: validity from Sentinel-2 SCL or MAJA/Theia cloud flags.

Sen2Cor scene classification (SCL) values and the choice made here:

====  =============================  ==========
SCL   meaning                        clear?
====  =============================  ==========
0     no data                        no
1     saturated or defective         no
2     dark area / topographic shadow no (shadow-like, unreliable reflectance)
3     cloud shadow                   no
4     vegetation                     yes
5     not vegetated (bare soil)      yes
6     water                          yes
7     unclassified                   no (Sen2Cor puts cloud edges and haze there; the gap-filling
                                     replaces a lost date cheaply, a cloudy value poisons it)
8     cloud, medium probability      no
9     cloud, high probability        no
10    thin cirrus                    no
11    snow or ice                    yes by default: snow is the real surface of glaciers and high
                                     mountains (class "glaciers and perpetual snow"), which would
                                     otherwise never be clear and end up nodata;
                                     ``snow_is_clear=False`` (CLI ``--snow-invalid``) drops it
====  =============================  ==========

MAJA/Theia ``CLM`` (cloud mask, bit flags: clouds, cloud shadows, cirrus...): a pixel is clear where
CLM == 0; any flag set means not clear. Snow is not in CLM (MAJA has a separate SNW mask), so with CLM
snow is clear, consistent with the SCL default.

In both cases a pixel is also not clear where any band holds its nodata value.
"""

from __future__ import annotations

import numpy as np

__all__ = ["SCL_CLEAR", "SCL_CLEAR_WITH_SNOW", "scl_clear", "clm_clear"]

SCL_CLEAR = (4, 5, 6)
SCL_CLEAR_WITH_SNOW = (4, 5, 6, 11)


def scl_clear(scl: np.ndarray, snow_is_clear: bool = True) -> np.ndarray:
    """(…) bool, True where an SCL value (any integer array) is a clear observation of the ground."""
    return np.isin(scl, SCL_CLEAR_WITH_SNOW if snow_is_clear else SCL_CLEAR)


def clm_clear(clm: np.ndarray) -> np.ndarray:
    """(…) bool, True where a MAJA/Theia CLM cloud-flag value has no flag set."""
    return clm == 0
