"""Small sizes shared by the model tests: T=6 dates, C=4 bands, K=5 classes, G=3 groups."""

import numpy as np
import pytest

SMALL = dict(n_dates=6, n_bands=4, n_classes=5, n_groups=3)


@pytest.fixture
def small():
    """Keyword arguments of get_model for the small behaviour tests."""
    return dict(SMALL)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture
def small_window(rng):
    """(2, 16, 16, T*C) float32 normalised window batch."""
    return rng.random((2, 16, 16, SMALL["n_dates"] * SMALL["n_bands"]), dtype=np.float32)
