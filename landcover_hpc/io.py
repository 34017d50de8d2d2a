"""Output files written atomically: a killed job never leaves a file that looks finished.

Everything the pipeline writes goes to ``<name>.<random>.tmp`` beside the final path and is renamed onto it
(``os.replace``, atomic on POSIX file systems) only when complete; on error the partial file is removed. A
killed job's temporary stays behind: the next run that owns the output (:mod:`landcover_hpc.locks`) removes
it with :func:`remove_temporaries`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Iterator

__all__ = ["atomic_path", "remove_temporaries", "current_umask", "write_json_atomic", "write_text_atomic",
           "save_figure", "file_sha256", "read_yaml_file"]


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path in the same folder; rename it to ``path`` if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    os.chmod(tmp_path, 0o666 & ~current_umask())  # mkstemp makes 0600: products are for the whole team
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def remove_temporaries(path: str | Path) -> list[Path]:
    """Remove the temporaries that :func:`atomic_path` left beside ``path`` (a killed job's); return them.

    Call it only while owning ``path`` (holding its lock): another live run's temporary would go too.
    """
    path = Path(path)
    # mkstemp's names: the prefix, 8 characters of [a-z0-9_], the suffix, and what GDAL puts beside a file
    # it writes (.ovr.tmp, .aux.xml); not another file's temporaries
    name = re.compile(rf"\.{re.escape(path.name)}\.[a-z0-9_]{{8}}\.tmp(\.[a-z.]+)?")
    stale = [p for p in path.parent.glob(f".{path.name}.*.tmp*") if name.fullmatch(p.name)] \
        if path.parent.is_dir() else []
    for p in stale:
        p.unlink(missing_ok=True)
    return stale


def write_text_atomic(path: str | Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_json_atomic(path: str | Path, obj: object) -> None:
    write_text_atomic(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


def save_figure(fig, path: str | Path) -> Path:
    """Save a matplotlib figure as PNG atomically and close it."""
    import matplotlib.pyplot as plt

    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", bbox_inches="tight")  # legends outside the axes stay whole
    plt.close(fig)
    return path


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes (models in map provenance tags and input signatures)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_yaml_file(path: str | Path, what: str, fix: str):
    """The parsed content of a YAML file (None when empty), or a one-line error: ``what`` (e.g. "config")
    not found, with ``fix`` (what to do), or not valid YAML, with the parser's first line."""
    import yaml

    from .errors import ConfigError, InputNotFoundError

    path = Path(path)
    if not path.is_file():
        raise InputNotFoundError(f"{what} {path} not found: {fix}")
    try:
        return yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
