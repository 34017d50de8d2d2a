"""PNG quicklook of a class map with its legend (the classes present, in nomenclature order)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from rasterio.enums import Resampling

from ..io import save_figure
from ..nomenclature import Nomenclature

__all__ = ["quicklook"]


def quicklook(map_path: str | Path, out_png: str | Path, nomenclature: Nomenclature, title: str | None = None,
              max_side: int = 1024) -> Path:
    """Draw ``map_path`` (class codes) into ``out_png``, decimated by mode to at most ``max_side`` px."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    from ..data.tiles import open_class_map

    with open_class_map(map_path) as src:
        factor = max(1, int(np.ceil(max(src.height, src.width) / max_side)))
        codes = src.read(1, out_shape=(src.height // factor or 1, src.width // factor or 1),
                         resampling=Resampling.mode if factor > 1 else Resampling.nearest)
    lut = np.zeros((256, 4))
    for c in nomenclature.classes:
        lut[c.code] = [*(v / 255 for v in c.rgb), 1.0]
    present = [c for c in nomenclature.classes if np.any(codes == c.code)]
    fig, ax = plt.subplots(figsize=(9, 7), dpi=110)
    ax.imshow(codes, cmap=ListedColormap(lut), vmin=0, vmax=255, interpolation="nearest")
    ax.set_axis_off()
    ax.set_title(title or Path(map_path).stem)
    handles = [Patch(facecolor=np.array(c.rgb) / 255, edgecolor="0.3", label=f"{c.name} {c.long_name}")
               for c in present]
    ax.legend(handles=handles, loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8, frameon=False)
    fig.tight_layout()
    return save_figure(fig, out_png)
