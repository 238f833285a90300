"""CSV long: one point per row, ``timestamp, metric, [label columns...], value``.

Column roles are found by name, case-insensitively: the time column is one of
``timestamp, time, ts, date, datetime``; the value column ``value`` or ``val``; the metric
column ``metric``, ``metric_name``, ``__name__``, ``name`` or ``series`` (a Grafana
"series as rows" export; ``name{labels}`` is split). Without a metric column the file
name is the metric. A ``labels`` column holding our own ``k=v,k=v`` string is merged; every
other column is a label, and empty label cells mean "no such label".

Counting: one line per CSV row; ``other`` is the header (and ``sep=``/blank lines), and rows
whose value cell is empty (a null point, as pandas writes NaN), which create no point.
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
    labels_from_columns,
    parse_value,
    points,
    resolve_series,
    status,
    tally,
    text_to_datetime,
)
from rca.ingest.metrics._csv import LINE, read_table

NAME = "csv_long"
VALUE_COLUMNS = ("value", "val")
METRIC_COLUMNS = ("metric", "metric_name", "__name__", "name", "series")


def find_column(header: list[str], wanted: tuple[str, ...]) -> int | None:
    lowered = [h.strip().lower() for h in header]
    for name in wanted:
        if name in lowered:
            return lowered.index(name)
    return None


def parse(path: Path) -> FileMetrics:
    """Read one CSV long file."""
    table = read_table(path)
    header = table.head.header
    ti = find_time_column(header)
    if ti is None:
        raise IngestError(NO_TIME_COLUMN, path=path)
    vi = find_column(header, VALUE_COLUMNS)
    if vi is None:
        raise IngestError(
            "no value column (looked for value, val); a long CSV needs one, "
            "or pass --format grafana_csv for one column per series",
            path=path,
        )
    mi = find_column(header, METRIC_COLUMNS)
    li = find_column(header, ("labels",))
    label_cols: dict[str, str] = {}  # label name -> cell column
    for i, name in enumerate(header):
        if i in (ti, vi, mi, li):
            continue
        key = name or f"column{i + 1}"
        while key in label_cols:  # a repeated header keeps both values
            key += "_"
        label_cols[key] = f"c{i}"

    rows = table.rows
    cells = [pl.col(f"c{i}") for i in range(len(header))]
    blank = pl.all_horizontal([c.is_null() | (c.str.strip_chars() == "") for c in cells])
    raw_value = pl.col(f"c{vi}")
    if table.head.separator == ";":
        raw_value = decimal_comma(raw_value)
    fallback = default_metric_name(path)
    frame = rows.select(
        LINE,
        pl.concat_str([c.fill_null("") for c in cells], separator=table.head.separator).alias(TEXT),
        blank.alias("_blank"),
        text_to_datetime(pl.col(f"c{ti}")).alias("ts"),
        raw_value.alias("_raw_value"),
        parse_value(raw_value).alias("value"),
        (pl.col(f"c{mi}").str.strip_chars() if mi is not None else pl.lit(fallback)).alias(
            "_metric"
        ),
        (pl.col(f"c{li}") if li is not None else pl.lit(None, pl.String)).alias("_labels"),
        *[pl.col(c).str.strip_chars().alias(k) for k, c in label_cols.items()],
    ).with_columns(labels_from_columns(list(label_cols)).alias("_collabels"))
    frame = resolve_series(frame, fallback)
    frame = frame.with_columns(
        status(
            (pl.col("_blank"), OTHER, None),
            (
                pl.col("_raw_value").is_null() | (pl.col("_raw_value").str.strip_chars() == ""),
                OTHER,
                None,
            ),
            (pl.col("ts").is_null(), MALFORMED, "bad timestamp"),
            (pl.col("value").is_null(), MALFORMED, "bad value"),
            (pl.col("metric").is_null() | (pl.col("metric") == ""), MALFORMED, "no metric name"),
        )
    )
    t = tally(frame)
    lines = rows.height + table.head.header_lines
    return FileMetrics(
        points=points(frame),
        lines=lines,
        records=t.records,
        malformed=t.malformed,
        other=t.other + table.head.header_lines,
        invalid_utf8=table.invalid_utf8,
        nbytes=table.nbytes,
        samples=t.samples,
    )
