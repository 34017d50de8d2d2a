"""Land-cover map products, whoever computes them (the CNN predictor, the Random Forest baseline).

``geotiff`` writes a tile's class map and confidence map window by window into resumable partial files
and finalises them as Cloud Optimized GeoTIFFs with the nomenclature's colour table, class names and
provenance tags; ``quicklook`` draws a PNG of a map with its legend.
"""

from .geotiff import (MapWriter, finish_files, map_paths, maps_complete, partial_paths, read_map_tags,
                      remove_map_temporaries)
from .quicklook import quicklook

__all__ = ["MapWriter", "map_paths", "partial_paths", "maps_complete", "finish_files", "remove_map_temporaries",
           "read_map_tags", "quicklook"]
