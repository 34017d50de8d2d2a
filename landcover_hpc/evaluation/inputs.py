"""Locating the inputs of an evaluation: tiles in a store folder, maps on disk."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from ..errors import InputNotFoundError

__all__ = ["require_tiles"]


def require_tiles(store_dir: str | Path, tiles: Sequence[str] | None) -> None:
    """Raise InputNotFoundError if ``store_dir`` is missing or lacks one of ``tiles`` (naming them)."""
    store_dir = Path(store_dir)
    if not store_dir.is_dir():
        raise InputNotFoundError(f"store folder {store_dir} not found: run landcover-prepare --out {store_dir}")
    missing = [t for t in tiles or [] if not (store_dir / f"{t}.h5").is_file()]
    if missing:
        have = sorted(p.stem for p in store_dir.glob("*.h5"))
        raise InputNotFoundError(f"tile(s) {', '.join(missing)} not in store {store_dir} "
                                 f"(it has: {', '.join(have) or 'no tile'})")
