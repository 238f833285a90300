"""The exceptions and warnings rca raises.

Every error the library raises on purpose derives from :class:`RCAError`, so a caller
(and ``rca.cli``, the only place that turns errors into exit codes) can catch one type::

    RCAError                 base; the CLI maps it to exit code 2 with a one-line message
    ├── IngestError          a file or folder cannot be read: missing, unknown format, corrupt gzip
    ├── SchemaError          a frame lacks a required column or has the wrong dtype
    └── ParameterError       a bad argument: unknown bucket size, bad --failure expression

    DataQualityWarning       the input was partly damaged (torn lines, NaNs, gaps); analysis went on

Messages say what was wrong and what to do, and name the file when there is one.
"""

from __future__ import annotations

from pathlib import Path


class RCAError(Exception):
    """Base class of every error rca raises on purpose."""


class IngestError(RCAError):
    """A log or metrics input cannot be read.

    Parameters
    ----------
    message
        What went wrong and what to do about it.
    path
        The file or folder concerned, when there is one. It is prefixed to the message.
    """

    def __init__(self, message: str, *, path: str | Path | None = None) -> None:
        self.path = None if path is None else str(path)
        super().__init__(f"{self.path}: {message}" if self.path else message)


class SchemaError(RCAError):
    """A frame does not have the columns or dtypes a stage needs."""


class ParameterError(RCAError, ValueError):
    """An argument is invalid (bucket size, failure expression, time window, ...)."""


class DataQualityWarning(UserWarning):
    """The input was partly damaged; the damage is counted in the data-quality report."""
