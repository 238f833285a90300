"""Log format detection by content, never by file name.

Part of ingest: ``rca.ingest._logs`` asks :func:`detect` which parser to run on a file when
the user did not name one. Each registered format scores the first non-blank lines of the
file (its ``sniff``: the share of lines it parses); the best share of at least
:data:`MIN_SHARE` wins, ties going to the format registered first (the more specific one).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rca._errors import IngestError
from rca._text import terminal_safe
from rca.ingest._files import head_text
from rca.ingest.formats import ALIASES, all_formats
from rca.ingest.formats._base import LogFormat

#: How many non-blank lines from a file's start are scored.
SAMPLE_LINES = 200
#: A format must parse at least this share of the sample to be chosen.
MIN_SHARE = 0.5
#: How much of the first line an error message shows.
PREVIEW_CHARS = 80


@dataclass(frozen=True)
class Detection:
    """The outcome of scoring one file's first lines.

    ``format`` is None when no format parses at least :data:`MIN_SHARE` of the sample;
    ``first_line`` is the first non-blank line ("" for a file with no text).
    """

    format: LogFormat | None
    score: float
    first_line: str
    sample_size: int


def sample_lines(text: str, limit: int = SAMPLE_LINES) -> list[str]:
    """The first ``limit`` non-blank lines of a file's head.

    The last line is dropped when the head does not end with a newline and has more than
    one line, since the read most likely cut it in half.

    Examples
    --------
    >>> sample_lines("a\\n\\n b\\nc")
    ['a', ' b']
    """
    lines = text.split("\n")
    if len(lines) > 1 and not text.endswith("\n"):
        lines = lines[:-1]
    out: list[str] = []
    for line in lines:
        line = line.removesuffix("\r")
        if line.strip():
            out.append(line)
            if len(out) >= limit:
                break
    return out


def score_lines(lines: list[str], formats: list[LogFormat] | None = None) -> Detection:
    """Score every format on ``lines`` and pick the best (see the module docstring).

    Examples
    --------
    >>> score_lines([]).format is None
    True
    """
    candidates = all_formats() if formats is None else formats
    best: LogFormat | None = None
    best_score = 0.0
    if lines:
        for fmt in candidates:
            score = float(fmt.sniff(lines))
            # Strictly greater: on a tie the format registered first (more specific) stays.
            if score > best_score:
                best, best_score = fmt, score
            if best_score >= 1.0:
                # A share is at most 1, so no later format can beat this one; sniffing
                # "combined" after a perfect nginx_timing cost 7.8 of a file's 13 ms.
                break
    if best_score < MIN_SHARE:
        best = None
    return Detection(
        format=best,
        score=best_score,
        first_line=lines[0] if lines else "",
        sample_size=len(lines),
    )


def inspect(path: Path) -> Detection:
    """Score the formats on the start of ``path`` (plain or gzip) without raising when
    none fits.

    Raises
    ------
    IngestError
        The file cannot be read (permissions, corrupt gzip).
    """
    return score_lines(sample_lines(head_text(path)))


def detect(path: Path) -> LogFormat:
    """The log format of ``path``, judged from its first lines.

    Raises
    ------
    IngestError
        No known format parses at least half of the file's first lines; the message shows
        the start of the first line and lists the known formats.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.log"
    >>> _ = p.write_text("hello world\\n")
    >>> detect(p)  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    rca._errors.IngestError: ...: no known log format matches ...
    """
    found = inspect(path)
    if found.format is None:
        raise unrecognised_error(path, found)
    return found.format


def unrecognised_error(path: Path | str, found: Detection) -> IngestError:
    """The error for a file no format matches: what its first line looks like and what to do."""
    known = ", ".join(sorted({f.name for f in all_formats()} | set(ALIASES)))
    if not found.first_line:
        what = "the file has no text lines"
    else:
        preview = terminal_safe(found.first_line[:PREVIEW_CHARS])
        more = "..." if len(found.first_line) > PREVIEW_CHARS else ""
        what = f"first line: '{preview}'{more}"
    return IngestError(
        f"no known log format matches ({what}); known formats: {known}. "
        "Pass --format NAME (format= in Python) or an nginx log_format string",
        path=path,
    )
