"""``landcover-prepare``: input tiles -> per-tile HDF5 stores (configs/prepare.yaml).

The processing defaults are those of :class:`~landcover_hpc.data.prepare.PrepareOptions`, read from it, and
so are their allowed ranges (``PrepareOptions.validate``, run on every loaded config), so the library and the
command cannot disagree; :meth:`PrepareConfig.options` builds it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..data.prepare import PrepareOptions
from .schema import OptionsSection

__all__ = ["PrepareConfig"]

_D = PrepareOptions


class PrepareConfig(OptionsSection):
    input: str = Field(description="data root holding one folder per tile (<TILE_ID>/stack.tif + reference)")
    out: str = Field(description="store folder to write")
    tiles: list[str] | None = Field(None, description="only these tiles (default: all under input)")
    nomenclature: str | None = Field(
        None, description="nomenclature YAML (default: the packaged configs/nomenclature.yaml)")
    patch_size: int = Field(_D.patch_size, description="training patch side, px")
    stride: int = Field(_D.stride, description="step of candidate patch positions, px")
    min_fraction: float = Field(_D.min_fraction,
                                description="share of a patch's pixels of a class for a valid position")
    position_window: int | None = Field(
        _D.position_window, description="measure min_fraction over the patch's central window of this side, e.g. "
                                        "the stride, so that thin objects (roads) get positions; null: the whole "
                                        "patch (paper)")
    test_fraction: float = Field(_D.test_fraction,
                                 description="share of reference objects for testing, per tile and class")
    val_fraction: float = Field(_D.val_fraction,
                                description="share of reference objects for validation (model selection), taken "
                                            "from the training ones, per tile and class")
    split_seed: int = Field(_D.split_seed, description="seed of the train/validation/test split")
    percentile_samples: int = Field(_D.percentile_samples,
                                    description="pixels per tile sampled for the normalisation percentiles")
    window: int = Field(_D.window, description="processing window side, px")
    chunk: int = Field(_D.chunk, description="HDF5 chunk side, px")
    compression: Literal["none", "lzf", "gzip"] = Field(
        _D.compression or "none", description="HDF5 compression of the stack (none: fastest random reads)")
    force: bool = Field(False, description="rewrite stores whose inputs did not change")

    def options(self) -> PrepareOptions:
        """The library's options (everything but the paths, the tiles and ``force``)."""
        return PrepareOptions(
            patch_size=self.patch_size, stride=self.stride, min_fraction=self.min_fraction,
            position_window=self.position_window,
            test_fraction=self.test_fraction, val_fraction=self.val_fraction, split_seed=self.split_seed,
            percentile_samples=self.percentile_samples, window=self.window, chunk=self.chunk,
            compression=None if self.compression == "none" else self.compression)
