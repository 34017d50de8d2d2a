"""The header of every HDF5 artefact the pipeline writes, written and checked one way.

Four file formats share it: the tile store (``data.store``), the network model file
(``models.persistence``), the Random Forest model file (``baseline.forest``) and the training checkpoint
(``training.checkpoint``). Their root attributes ``format`` (the kind, e.g. ``"landcover_hpc.model"``) and
``format_version`` (an integer bumped when the layout changes) say what a file is. A reader lists the
versions it reads, exactly: a newer file may hold what it cannot read and an older one may lack what it
needs, and either way the user gets one line naming the file, what was found and what to do (re-run the
stage that writes it), instead of a ``KeyError`` deep in the reader. A file without ``format_version``
reads as version 0 (training checkpoints were first written without one).
"""

from __future__ import annotations

from pathlib import Path
from typing import Collection

import h5py

from .errors import InputFormatError, InputNotFoundError

__all__ = ["FORMAT_ATTRIBUTE", "VERSION_ATTRIBUTE", "write_header", "check_header", "open_artefact"]

FORMAT_ATTRIBUTE = "format"
VERSION_ATTRIBUTE = "format_version"


def write_header(h5: h5py.File, kind: str, version: int) -> None:
    """Mark an HDF5 file being written as a ``kind`` artefact of format ``version``."""
    h5.attrs[FORMAT_ATTRIBUTE] = kind
    h5.attrs[VERSION_ATTRIBUTE] = int(version)


def check_header(h5: h5py.File, path: str | Path, kind: str, supported_versions: Collection[int], fix: str,
                 what: str | None = None) -> int:
    """The format version of ``h5`` after checking that it is a ``kind`` artefact this software reads.

    Args:
        path: the file, named in the error.
        kind: the expected ``format`` attribute.
        supported_versions: the ``format_version`` values the caller reads.
        fix: what the user should do, e.g. ``"re-run landcover-prepare"``.
        what: the kind in words for the error (e.g. ``"landcover_hpc tile store"``); default ``kind``.

    Raises:
        InputFormatError: another kind of file, or a version outside ``supported_versions``.
    """
    found = h5.attrs.get(FORMAT_ATTRIBUTE)
    found = found.decode() if isinstance(found, bytes) else found
    if found != kind:
        raise InputFormatError(f"{path}: not a {what or kind} (format attribute {found!r}, expected "
                               f"{kind!r}): {fix}")
    version = int(h5.attrs.get(VERSION_ATTRIBUTE, 0))
    if version not in supported_versions:
        readable = ", ".join(str(v) for v in sorted(supported_versions))
        raise InputFormatError(f"{path}: {kind} format version {version}, this software reads {readable}: {fix}")
    return version


def open_artefact(path: str | Path, kind: str, supported_versions: Collection[int], fix: str, what: str,
                  **h5py_options) -> h5py.File:
    """Open an artefact for reading after checking it exists, is HDF5 and has a supported header.

    Args:
        what: the kind in words, named in every error (e.g. ``"random forest model"``).
        **h5py_options: passed to ``h5py.File`` (e.g. the chunk cache size).

    Returns:
        The open file (read-only); the caller closes it.

    Raises:
        InputNotFoundError: no such file. InputFormatError: not HDF5, or :func:`check_header` fails.
    """
    path = Path(path)
    if not path.is_file():
        raise InputNotFoundError(f"{what} {path} not found: {fix}")
    try:
        h5 = h5py.File(path, "r", **h5py_options)
    except OSError as exc:
        raise InputFormatError(f"{path}: not a readable HDF5 file ({exc}): {fix}") from None
    try:
        check_header(h5, path, kind, supported_versions, fix, what)
    except InputFormatError:
        h5.close()
        raise
    return h5
