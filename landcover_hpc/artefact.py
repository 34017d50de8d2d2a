"""The header of every HDF5 artefact the pipeline writes, written and checked one way.

Four file formats share it: the tile store (``data.store``), the network model file
(``models.persistence``), the Random Forest model file (``baseline.forest``) and the training checkpoint
(``training.checkpoint``). Their root attributes ``format`` (the kind, e.g. ``"landcover_hpc.model"``) and
``format_version`` (an integer bumped when the layout changes) say what a file is. A reader lists the
versions it reads, exactly: a newer file may hold what it cannot read and an older one may lack what it
needs, and either way the user gets one line naming the file, what was found and what to do (re-run the
stage that writes it), instead of a ``KeyError`` deep in the reader. A file without ``format_version``
reads as version 0 (training checkpoints were first written without one).

Integrity: changed bytes are refused with one line, never used silently. The writer ends with
:func:`seal`, which stores the SHA-256 of the file's content (``payload_sha256``): every attribute of every
object and, for the three formats that are read whole on load (model, random forest, checkpoint), every
dataset's bytes; :func:`open_artefact` recomputes and compares it. The tile store, gigabytes read patch by
patch, seals its attributes only: its datasets are written with :data:`CHECKSUMMED` (an HDF5 Fletcher-32
checksum per chunk, verified by HDF5 on every read, a few percent of the read time) and a read that fails
it becomes :func:`damaged_error`. A file of an earlier format version (without the seal) is refused with
the header's one line: re-run the stage that writes it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Collection

import h5py
import numpy as np

from .errors import InputFormatError, InputNotFoundError

__all__ = ["FORMAT_ATTRIBUTE", "VERSION_ATTRIBUTE", "DIGEST_ATTRIBUTE", "CHECKSUMMED", "write_header",
           "check_header", "open_artefact", "seal", "content_digest", "damaged_error"]

FORMAT_ATTRIBUTE = "format"
VERSION_ATTRIBUTE = "format_version"
DIGEST_ATTRIBUTE = "payload_sha256"
#: ``create_dataset`` options of a dataset whose chunks HDF5 checksums on write and verifies on read
CHECKSUMMED = {"fletcher32": True}


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


def content_digest(h5: h5py.File, datasets: bool = True) -> str:
    """Hex SHA-256 of an open file's content: the names and attributes of every group and dataset (but
    :data:`DIGEST_ATTRIBUTE`), their dtypes and shapes and, with ``datasets``, every dataset's bytes."""
    digest = hashlib.sha256()

    def add_attributes(obj) -> None:
        for key in sorted(obj.attrs):
            if key != DIGEST_ATTRIBUTE:
                value = np.asarray(obj.attrs[key])
                digest.update(f"@{key}:{value.dtype.str}:{value.shape}".encode())
                digest.update(value.tobytes() if value.dtype.kind != "O" else repr(value.tolist()).encode())

    def add(name: str, obj) -> None:
        digest.update(f"/{name}".encode())
        add_attributes(obj)
        if isinstance(obj, h5py.Dataset):
            digest.update(f":{obj.dtype.str}:{obj.shape}".encode())
            if datasets:
                digest.update(np.ascontiguousarray(obj[()]).tobytes())

    add_attributes(h5)
    h5.visititems(add)  # h5py visits in name order (the HDF5 link index), so writer and reader agree
    return digest.hexdigest()


def seal(h5: h5py.File, datasets: bool = True) -> None:
    """Record :func:`content_digest` in a file being written, as its last step."""
    h5.flush()
    h5.attrs[DIGEST_ATTRIBUTE] = content_digest(h5, datasets)


def damaged_error(path: str | Path, exc: BaseException, what: str, fix: str) -> InputFormatError:
    """The one-line error of an artefact whose content cannot be read back (a failed checksum, damaged
    compressed data, a truncated file): ``exc`` is HDF5's error, reduced to its first line."""
    reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return InputFormatError(f"{path}: damaged {what} ({reason}): {fix}")


def _verify_seal(h5: h5py.File, path: Path, what: str, fix: str, datasets: bool) -> None:
    recorded = h5.attrs.get(DIGEST_ATTRIBUTE)
    if recorded is None:
        raise InputFormatError(f"{path}: {what} without its content checksum ({DIGEST_ATTRIBUTE}): {fix}")
    try:
        actual = content_digest(h5, datasets)
    except (OSError, ValueError, TypeError) as exc:
        raise damaged_error(path, exc, what, fix) from None
    if actual != (recorded.decode() if isinstance(recorded, bytes) else str(recorded)):
        raise InputFormatError(f"{path}: {what} changed or damaged since it was written (its content does not "
                               f"match its SHA-256 {str(recorded)[:12]}...): {fix}")


def open_artefact(path: str | Path, kind: str, supported_versions: Collection[int], fix: str, what: str,
                  sealed: str | None = "all", **h5py_options) -> h5py.File:
    """Open an artefact for reading after checking it exists, is HDF5 and has a supported header.

    Args:
        what: the kind in words, named in every error (e.g. ``"random forest model"``).
        sealed: what :func:`seal` covers in this format: ``"all"`` (attributes and dataset bytes, checked
            here), ``"attributes"`` (checked here; the datasets carry :data:`CHECKSUMMED`), or None (not
            sealed: a format version written before seals).
        **h5py_options: passed to ``h5py.File`` (e.g. the chunk cache size).

    Returns:
        The open file (read-only); the caller closes it.

    Raises:
        InputNotFoundError: no such file. InputFormatError: not HDF5, :func:`check_header` fails, or the
            content does not match its seal.
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
        if sealed is not None:
            _verify_seal(h5, path, what, fix, datasets=sealed == "all")
    except InputFormatError:
        h5.close()
        raise
    return h5
