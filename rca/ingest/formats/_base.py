"""What a log format is: a sniffer and a vectorised parser over a column of lines.

The reading machinery (``rca.ingest._logs``) splits files into chunks of lines and hands
each chunk to a format's parser as a ``pl.Series`` of strings. Parsers are vectorised
(regexes and splits in Polars, no Python loop per line) because ingest speed is a
product requirement. A format may also offer ``parse_chunk(chunk, state)``, taking the
``rca.ingest._files.LineChunk`` itself (raw bytes; lines decoded on demand) and returning
what ``parse`` would return for ``chunk.lines``; the machinery then calls that instead
(the combined family does, to skip decoding the lines its byte-level path reads). It
may return a ``ChunkRows`` instead of that frame: the request rows alone and every line's
kind, which spares copying a whole chunk to interleave a few torn lines' null rows and
then filtering them out again.

Chunks of a file parse in parallel when the format says ``independent_chunks = True``. A
format whose lines depend on earlier chunks in one narrow way, a key that may only be
counted once (the registry's request ids: a request logs a response line per error), may
offer ``parse_independent(lines)`` instead: ``parse`` without the earlier chunks, plus a
``REPEAT_KEY`` column naming the rows that answer their key first in the chunk. The
machinery then turns the rows whose key an earlier chunk already answered (among the last
256) into OTHER, in file order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import polars as pl

#: Values of the ``_kind`` column a parser returns, one per input line.
REQUEST, MALFORMED, OTHER = 0, 1, 2

#: The column parsers add to say what each line was.
KIND = "_kind"

#: See the module docstring: the key a row answers first in its chunk, else null.
REPEAT_KEY = "_repeat_key"
#: How many keys of earlier chunks are remembered.
RECENT_KEYS = 256


@dataclass(frozen=True)
class ChunkRows:
    """What ``parse_chunk`` may return in place of one row per line.

    Attributes
    ----------
    requests
        The REQUEST lines' rows, in line order: columns of ``REQUEST_FIELDS`` (any subset).
    kinds
        ``_kind`` of every line of the chunk (uint8), REQUEST exactly where ``requests``
        has a row.
    """

    requests: pl.DataFrame
    kinds: np.ndarray


def per_line(rows: ChunkRows) -> pl.DataFrame:
    """The frame of one row per line that ``rows`` stands for: what ``parse`` returns (the
    other lines' fields null)."""
    at = np.flatnonzero(rows.kinds == REQUEST)
    if len(at) == len(rows.kinds):
        return rows.requests
    # Every other line takes the null row appended after the requests.
    index = np.full(len(rows.kinds), rows.requests.height, np.int64)
    index[at] = np.arange(len(at))
    padded = pl.concat([rows.requests, rows.requests.clear(1)], rechunk=True)
    return padded.gather(index).with_columns(pl.Series(KIND, rows.kinds, pl.UInt8))


def remember_keys(recent: list[str], answered: pl.Series) -> list[str]:
    """The keys to remember after a chunk: the last ``RECENT_KEYS`` answered so far."""
    return (recent + answered.tail(RECENT_KEYS).to_list())[-RECENT_KEYS:]


class LogFormat(Protocol):
    """A log format rca can read.

    ``name`` is what users pass as ``format=`` / ``--format``.
    """

    # Read-only properties, so frozen dataclasses and plain class attributes both qualify.
    @property
    def name(self) -> str:
        """What users pass as ``format=`` / ``--format``."""
        ...

    @property
    def description(self) -> str:
        """One line for ``--help`` and error messages."""
        ...

    def sniff(self, lines: list[str]) -> float:
        """Share (0..1) of these non-blank sample lines from a file's start that this format parses.

        Must never raise. Detection picks the format with the highest share; ties go to the
        format registered first, so more specific formats are registered before general ones.
        """
        ...

    def parse(self, lines: pl.Series, state: ParseState) -> pl.DataFrame:
        """Parse one chunk of lines (String series without line terminators).

        Returns a frame with exactly ``lines.len()`` rows, in the same order, holding the
        columns of ``rca._schema.REQUEST_FIELDS`` (any subset; the rest become null) plus
        ``_kind`` (UInt8: REQUEST, MALFORMED or OTHER). Blank lines are OTHER. Must never
        raise on any input. Field values on non-REQUEST rows are ignored.
        """
        ...


@dataclass
class ParseState:
    """Mutable per-file state carried from one chunk to the next (e.g. CloudFront's
    ``#Fields:`` header). Each file gets a fresh one.

    ``keep``: the request columns the caller keeps (None: all). The others are made null
    after parsing, so a parser may leave them out (the nginx scanner does).
    """

    path: str
    values: dict[str, Any] = field(default_factory=dict)
    keep: frozenset[str] | None = None
