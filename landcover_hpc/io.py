"""Output files written atomically: a killed job never leaves a file that looks finished.

Everything the pipeline writes goes to ``<name>.<random>.tmp`` beside the final path and is renamed onto it
(``os.replace``, atomic on POSIX file systems) only when complete; on error the partial file is removed. A
killed job's temporary stays behind: the next run that owns the output (:mod:`landcover_hpc.locks`) removes
it with :func:`remove_temporaries`. Raster steps that pass over every block once (prepare, mosaic) read and
write with GDAL's block cache capped (:func:`capped_block_cache`).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Iterator

__all__ = ["atomic_path", "remove_temporaries", "describe_os_error", "output_error", "current_umask",
           "write_json_atomic", "write_text_atomic", "save_figure", "file_sha256", "read_yaml_file", "read_json_file",
           "parse_json", "MAX_JSON_BYTES", "capped_block_cache", "BLOCK_CACHE_BYTES"]

#: the largest JSON document read (dataset.json, results, metadata in artefacts): far above any real one
MAX_JSON_BYTES = 64 * 2**20

#: GDAL's block cache in a step that passes over every block once (see :func:`capped_block_cache`)
BLOCK_CACHE_BYTES = 256 * 2**20


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


#: what to do about an OSError, by errno (the user's environment, not a bug)
_OS_ERROR_FIXES = {
    errno.EACCES: "check its permissions or choose another path",
    errno.EPERM: "check its permissions or choose another path",
    errno.EROFS: "its file system is read-only: choose another path",
    errno.ENOSPC: "the disk is full: free space or write elsewhere, then re-run",
    errno.EDQUOT: "the disk quota is exceeded: free space or write elsewhere, then re-run",
    errno.EFBIG: "the file exceeds the file size limit (ulimit -f) or the file system's: raise it or write elsewhere",
    errno.ENOTDIR: "a part of the path is a file where a folder is needed: choose another path",
    errno.EEXIST: "a file is in the way where a folder is needed: remove it or choose another path",
    errno.EISDIR: "it is a folder where a file is needed: choose another path",
    errno.ENOENT: "no such file or folder: check the path",
}
#: errnos that only writing causes: reported as the output's error even when raised without a file name
_WRITE_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS)


def _errno_of(exc: BaseException) -> int | None:
    """The errno of an OSError, or the one HDF5 names in the message of a RuntimeError h5py raises when a
    file fails while it is closed (``... errno = 27, error message = 'File too large'``)."""
    if isinstance(exc, OSError) and exc.errno:
        return exc.errno
    found = re.search(r"errno = (\d+)", str(exc))
    return int(found.group(1)) if found else None


def describe_os_error(exc: OSError, path: str | Path | None = None) -> str:
    """One line for an OSError: the file (``exc.filename``, else ``path``), the system's reason and the fix.

    h5py and GDAL put multi-line details into their messages; only the errno's text (or the first line) is
    kept.
    """
    where = exc.filename if exc.filename is not None else path
    reason = os.strerror(exc.errno) if exc.errno else (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    fix = _OS_ERROR_FIXES.get(exc.errno)
    return f"{where}: {reason}" + (f": {fix}" if fix else "") if where is not None else \
        reason + (f": {fix}" if fix else "")


def output_error(exc: BaseException, path: str | Path) -> "OutputError":
    """The :class:`OutputError` of writing ``path`` that failed with ``exc`` (one line naming ``path``)."""
    from .errors import OutputError

    number = _errno_of(exc)
    reason = os.strerror(number) if number else (str(exc).strip().splitlines() or ["failed"])[0]
    fix = _OS_ERROR_FIXES.get(number, "check the output path")
    filename = getattr(exc, "filename", None)
    where = f" ({filename})" if filename not in (None, str(path)) and number not in _WRITE_ERRNOS else ""
    return OutputError(number, f"cannot write {path}{where}: {reason}: {fix}")


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path in the same folder; rename it to ``path`` if the block succeeds.

    Raises:
        OutputError: the folder cannot be made or written (read-only, a file in the way, disk full, file
            size limit), naming ``path``; the temporary file is removed.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise output_error(exc, path) from None
    os.close(fd)
    tmp_path = Path(tmp)
    os.chmod(tmp_path, 0o666 & ~current_umask())  # mkstemp makes 0600: products are for the whole team
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    except (OSError, RuntimeError) as exc:  # h5py raises RuntimeError for a write failing at close
        from .errors import LandcoverError

        # an input read inside the block keeps its own error; a write to the temporary file names the output
        if isinstance(exc, LandcoverError) or not (_errno_of(exc) in _WRITE_ERRNOS
                                                   or getattr(exc, "filename", None) in (str(tmp_path), str(path))):
            raise
        raise output_error(exc, path) from None
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


def parse_json(text: str | bytes, where: str | Path, fix: str, max_bytes: int = MAX_JSON_BYTES):
    """The value of a JSON document, or one line naming ``where``: too large (over ``max_bytes``), nested
    too deep for the parser, or not valid JSON (with the parser's reason), and ``fix``."""
    from .errors import InputFormatError

    if len(text) > max_bytes:
        raise InputFormatError(f"{where}: JSON of {len(text)} bytes, over the limit of {max_bytes}: {fix}")
    try:
        return json.loads(text)
    except RecursionError:
        raise InputFormatError(f"{where}: JSON nested too deep: {fix}") from None
    except ValueError as exc:
        raise InputFormatError(f"{where}: not valid JSON ({exc}): {fix}") from None


def read_json_file(path: str | Path, what: str, fix: str, max_bytes: int = MAX_JSON_BYTES):
    """The parsed content of a JSON file, or one line: ``what`` (e.g. "dataset summary") not found, too
    large, or not valid JSON (see :func:`parse_json`), with ``fix`` (what to do)."""
    from .errors import InputFormatError, InputNotFoundError

    path = Path(path)
    if not path.is_file():
        raise InputNotFoundError(f"{what} {path} not found: {fix}")
    if path.stat().st_size > max_bytes:
        raise InputFormatError(f"{path}: {what} of {path.stat().st_size} bytes, over the limit of {max_bytes}: {fix}")
    return parse_json(path.read_bytes(), path, fix, max_bytes)


def capped_block_cache():
    """A ``rasterio.Env`` with GDAL's block cache capped at :data:`BLOCK_CACHE_BYTES`, unless the user set
    ``GDAL_CACHEMAX``. For steps that read or write every block once (prepare, mosaic): a larger cache only
    grows the memory. GDAL's default, 5 % of the RAM, held 1.1 GB after prepare read a 4096 px tile, and
    1.28 GB (against 526 MB capped, in the same time) in the mosaic of four 10 980 px tiles
    (benchmarks/README.md)."""
    import rasterio

    if "GDAL_CACHEMAX" in os.environ:
        return rasterio.Env()
    return rasterio.Env(GDAL_CACHEMAX=BLOCK_CACHE_BYTES)
