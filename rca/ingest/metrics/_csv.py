"""Reading a metrics CSV file into a table of text cells, for the long and wide readers.

Handles what spreadsheet and Grafana exports do: a UTF-8 BOM, an Excel ``sep=;`` first
line, comma, semicolon or tab separators, quoted cells with doubled quotes, CRLF, blank
lines. Every cell stays text; the format readers parse times and values themselves.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from rca._errors import IngestError
from rca.ingest._files import read_all_bytes

#: Column name of the 1-based line number each data row starts on (exact unless a
#: quoted cell spans lines).
LINE = "_line"

_SEP_LINE = re.compile(r"^sep=(.)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class CsvHead:
    """What the first lines of a CSV file say: separator, header cells, lines before data."""

    separator: str
    header: list[str]
    header_lines: int  # leading blank lines + the ``sep=`` line + the header line


@dataclass(frozen=True)
class CsvTable:
    """A CSV file as text cells: ``rows`` has String columns ``c0..cN`` plus :data:`LINE`."""

    head: CsvHead
    rows: pl.DataFrame
    invalid_utf8: int
    nbytes: int


def sniff_head(text: str) -> CsvHead | None:
    """Separator and header of a CSV text (or its beginning); None when it has no header."""
    lines = text.lstrip("\ufeff").split("\n")
    skipped = 0
    separator: str | None = None
    for line in lines:
        stripped = line.strip()
        if not stripped:
            skipped += 1
            continue
        m = _SEP_LINE.match(stripped)
        if m and separator is None:
            separator = m.group(1)
            skipped += 1
            continue
        if separator is None:
            separator = _guess_separator(line)
        try:
            header = next(csv.reader([line.rstrip("\r")], delimiter=separator), [])
        except csv.Error:  # a stray CR or quote: detection only needs a rough split
            header = line.rstrip("\r").split(separator)
        return CsvHead(separator, [h.strip() for h in header], skipped + 1)
    return None


def _guess_separator(line: str) -> str:
    # Count candidates outside quotes; a comma wins ties (the common case).
    outside = re.sub(r'"[^"]*"', "", line)
    counts = {sep: outside.count(sep) for sep in (",", ";", "\t")}
    best = max(counts, key=lambda s: (counts[s], s == ","))
    return best if counts[best] else ","


def read_table(path: Path) -> CsvTable:
    """Read a whole CSV file (plain or gzip) into text cells.

    Raises
    ------
    IngestError
        The file is empty or has no header line.
    """
    data = read_all_bytes(path)
    text = data.decode("utf-8", errors="replace")
    invalid = 0
    if "\ufffd" in text:
        invalid = sum(1 for line in text.split("\n") if "\ufffd" in line)
    head = sniff_head(text)
    if head is None:
        raise IngestError(
            "CSV file has no header line; the first line must name the columns", path=path
        )
    # Polars reads from the header line on; the blank/sep= lines before it are counted.
    body = text.lstrip("\ufeff").split("\n", head.header_lines - 1)[-1]
    rows = _read_cells(body, head.separator, path)
    if rows.height == 0 or rows.width == 0:
        raise IngestError(
            "CSV file has no header line; the first line must name the columns", path=path
        )
    # The header as the CSV reader split it, so names and cells line up even when quoted.
    header = [(cell or "").strip() for cell in rows.row(0)]
    rows = rows.rename({c: f"c{i}" for i, c in enumerate(rows.columns)})
    rows = rows.with_row_index(LINE, offset=head.header_lines).slice(1)
    rows = rows.with_columns(pl.col(LINE).cast(pl.Int64))
    return CsvTable(CsvHead(head.separator, header, head.header_lines), rows, invalid, len(data))


def _read_cells(body: str, separator: str, path: Path) -> pl.DataFrame:
    raw = body.encode("utf-8")
    options = {
        "has_header": False,
        "separator": separator,
        "infer_schema": False,
        "truncate_ragged_lines": True,
        "raise_if_empty": False,
    }
    try:
        return pl.read_csv(io.BytesIO(raw), quote_char='"', **options)  # type: ignore[arg-type]
    except (pl.exceptions.PolarsError, OSError):
        pass
    # An unbalanced quote makes the CSV reader give up on the whole file. Read again
    # without quoting, so the other lines still count; quotes around cells are removed.
    try:
        frame = pl.read_csv(io.BytesIO(raw), quote_char=None, **options)  # type: ignore[arg-type]
    except (pl.exceptions.PolarsError, OSError) as exc:
        # e.g. text that starts like a zlib/zstd stream, which the reader tries to inflate
        raise IngestError(
            f"cannot read as CSV ({type(exc).__name__}: {str(exc)[:120]}); check the file",
            path=path,
        ) from None
    return frame.with_columns(
        pl.all().str.strip_chars().str.strip_prefix('"').str.strip_suffix('"')
    )
