"""Error hierarchy of landcover_hpc.

Every error a user can cause (bad input, bad config) is a ``LandcoverError``. Each subclass also inherits
the builtin exception it is, so ``except FileNotFoundError`` keeps working. Messages say what is wrong,
where (file, tile, key, value) and how to fix it, on one line: the command-line shells print them as is and
exit with code 2.
"""

__all__ = [
    "LandcoverError",
    "InputNotFoundError",
    "InputFormatError",
    "BandLayoutError",
    "CRSMismatchError",
    "EmptyReferenceError",
    "UnknownClassError",
    "NoDataTileError",
    "ConfigError",
    "OutputBusyError",
    "OutputError",
    "LaunchError",
]


class LandcoverError(Exception):
    """Root of every error caused by the user's input or configuration."""


class InputNotFoundError(LandcoverError, FileNotFoundError):
    """A required input file or folder does not exist."""


class InputFormatError(LandcoverError, ValueError):
    """An input file exists but does not follow the documented input format."""


class BandLayoutError(InputFormatError):
    """The bands of a stack are not T*C bands described as ``YYYYMMDD_<band>`` in date-major order."""


class CRSMismatchError(InputFormatError):
    """The reference data is in another coordinate reference system than the stack."""


class EmptyReferenceError(InputFormatError):
    """The reference data holds no labelled pixel inside the tile."""


class UnknownClassError(InputFormatError):
    """The reference data uses a class code that the nomenclature does not define."""


class NoDataTileError(InputFormatError):
    """Every pixel of a tile is nodata."""


class ConfigError(LandcoverError, ValueError):
    """A configuration value or command-line option is invalid."""


class OutputBusyError(LandcoverError, BlockingIOError):
    """Another live run holds the lock of the output this run would write (see :mod:`landcover_hpc.locks`);
    the command-line shells exit with code 75 (EX_TEMPFAIL: retry later) rather than 2."""


class OutputError(LandcoverError, OSError):
    """An output cannot be written: its folder is read-only or missing, a file or folder is in the way, or
    the disk (quota, file size limit) is full."""


class LaunchError(LandcoverError, RuntimeError):
    """The command was started as several tasks that cannot form one MPI job (``srun`` without an MPI
    plugin): each would run alone on the same outputs."""


class IncompleteOutputError(LandcoverError, RuntimeError):
    """An output found incomplete when it was to be signed complete (e.g. map windows recorded as done but
    not in the raster: another writer, a damaged disk); it is not signed, and a rerun completes it."""
