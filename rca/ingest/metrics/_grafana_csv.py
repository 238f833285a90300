"""Grafana CSV export, wide: a time column plus one column per series.

Grafana writes ``"Time"`` and one column per series, separated by commas or (in many
locales) semicolons, sometimes after an Excel ``sep=;`` line, with CRLF line ends and
empty cells where a series has no point. A series header such as
``lb_cpu_utilization{instance="lb-1"}`` is split into metric and labels; a plain header
(``lb-1``) is the metric name with no labels; a bare ``{instance="lb-1"}`` takes the file
name as its metric. Times may be ISO 8601, ``2021-04-01 10:00:00`` (naive = UTC) or unix
seconds/milliseconds. With a semicolon separator a decimal comma (``0,5``) is accepted.

Counting, since one row holds many points: every data row counts one unit per series
column (a *cell*); each header, ``sep=`` or blank line counts one. ``records`` are cells
holding a number (NaN included), ``other`` are empty cells plus header and blank lines, and
``malformed`` are cells that do not parse, or every non-empty cell of a row whose time
does not parse. So ``lines == records + malformed + other`` holds, in cells.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from rca._errors import IngestError
from rca.ingest.metrics._common import (
    MALFORMED,
    NO_TIME_COLUMN,
    OTHER,
    TEXT,
    FileMetrics,
    decimal_comma,
    default_metric_name,
    find_time_column,
    parse_value,
    points,
    split_series_name,
    status,
    tally,
    text_to_datetime,
)
from rca.ingest.metrics._csv import LINE, read_table

NAME = "grafana_csv"


def parse(path: Path) -> FileMetrics:
    """Read one wide (Grafana) CSV file."""
    table = read_table(path)
    header = table.head.header
    ti = find_time_column(header)
    if ti is None:
        raise IngestError(NO_TIME_COLUMN, path=path)
    rows = table.rows
    fallback = default_metric_name(path)
    series: dict[str, tuple[str, str]] = {}  # cell column -> (metric, labels)
    for i, name in enumerate(header):
        column = f"c{i}"
        if i == ti:
            continue
        if not name and rows[column].is_null().all():
            continue  # the empty column after a trailing separator
        series[column] = split_series_name(name, fallback) if name else (f"column{i + 1}", "")
    if not series:
        raise IngestError(
            "no series columns next to the time column; a wide CSV has one column per series",
            path=path,
        )

    cells = [pl.col(f"c{i}") for i in range(len(header))]
    blank = pl.all_horizontal([c.is_null() | (c.str.strip_chars() == "") for c in cells])
    blank_rows = int(rows.select(blank.sum()).item())
    data = rows.filter(~blank).select(
        LINE,
        text_to_datetime(pl.col(f"c{ti}")).alias("ts"),
        pl.col(f"c{ti}").alias("_time"),
        *series,
    )
    long = data.unpivot(
        index=[LINE, "ts", "_time"], on=list(series), variable_name="_col", value_name="_cell"
    )
    cell = pl.col("_cell")
    if table.head.separator == ";":
        cell = decimal_comma(cell)
    names = pl.DataFrame(
        {
            "_col": list(series),
            "metric": [m for m, _ in series.values()],
            "labels": [lab for _, lab in series.values()],
            "_header": [header[int(c[1:])] for c in series],
        },
        schema={"_col": pl.String, "metric": pl.String, "labels": pl.String, "_header": pl.String},
    )
    long = long.join(names, on="_col", how="left", maintain_order="left").with_columns(
        parse_value(cell).alias("value"),
        pl.format(
            'time "{}", column "{}": "{}"', pl.col("_time"), pl.col("_header"), pl.col("_cell")
        ).alias(TEXT),
    )
    empty = cell.is_null() | (cell.str.strip_chars() == "")
    long = long.with_columns(
        status(
            (empty, OTHER, None),
            (pl.col("ts").is_null(), MALFORMED, "bad time"),
            (pl.col("value").is_null(), MALFORMED, "bad value"),
        )
    )
    t = tally(long)
    extra = table.head.header_lines + blank_rows
    return FileMetrics(
        points=points(long),
        lines=data.height * len(series) + extra,
        records=t.records,
        malformed=t.malformed,
        other=t.other + extra,
        invalid_utf8=table.invalid_utf8,
        nbytes=table.nbytes,
        samples=t.samples,
    )
