"""landcover_hpc: country-scale land-cover maps from Sentinel-2 image time series on HPC clusters.

Subpackages, one per concept of the pipeline:

- ``data``: the tile input format (stack.tif + reference) and the per-tile HDF5 store that every later
  stage reads (``landcover-prepare``);
- ``synth``: realistic synthetic Sentinel-2 tiles in the input format (``landcover-synth``);
- ``cli``: thin command-line shells, one module per console script.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("landcover_hpc")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
