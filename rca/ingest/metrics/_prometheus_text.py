"""Prometheus text exposition and OpenMetrics text, with timestamps.

A sample line is ``name{label="value",...} value timestamp``, optionally followed by an
OpenMetrics exemplar (``# {trace_id="..."} 1.0``). Label values escape ``\\``, ``"`` and
newline; values may be ``NaN``, ``+Inf``, ``-Inf``. OpenMetrics 2 / Prometheus 3 quoted
UTF-8 names (``{"my.metric", a="1"}``) are accepted. The Prometheus format writes
timestamps in milliseconds and OpenMetrics in (fractional) seconds; the unit is told
apart by magnitude, so both work. Once a file shows a millisecond timestamp, its small
timestamps (before 1973) are read as milliseconds too.

Counting, one unit per text line: ``# HELP``/``# TYPE``/``# UNIT``/``# EOF``, other ``#``
comments and blank lines are ``other``; a sample is a record. A sample **without a
timestamp** is malformed here (nothing can place it in time), and its sample says so.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from rca.ingest._files import iter_line_chunks
from rca.ingest.metrics._common import (
    LINE_NO,
    MALFORMED,
    OTHER,
    TEXT,
    FileMetrics,
    LabelBlockError,
    epoch_to_datetime,
    labels_string,
    parse_label_block,
    parse_value,
    points,
    status,
    tally,
)

NAME = "prometheus_text"

SAMPLE_RE = (
    r"^[ \t]*(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)?[ \t]*"
    r'(?P<block>\{(?:[^"}]|"(?:[^"\\]|\\.)*")*\})?'
    r"[ \t]+(?P<value>[^ \t]+)"
    r"(?:[ \t]+(?P<ts>[^ \t#][^ \t]*))?"
    r"(?:[ \t]+#.*)?[ \t]*$"
)

# block -> (name from the block, label string, block is well formed)
_BlockCache = dict[str, tuple[str | None, str | None, bool]]


def parse(path: Path) -> FileMetrics:
    """Read one exposition-format file, chunk by chunk."""
    cache: _BlockCache = {}
    in_ms = False
    parts: list[pl.DataFrame] = []
    lines = records = malformed = other = invalid = nbytes = 0
    samples: list[str] = []
    for chunk in iter_line_chunks(path):
        in_ms = in_ms or _has_ms_timestamps(chunk.lines)
        frame = parse_lines(chunk.lines, lines, cache, milliseconds=in_ms)
        t = tally(frame)
        parts.append(points(frame))
        lines += chunk.lines.len()
        records += t.records
        malformed += t.malformed
        other += t.other
        invalid += chunk.invalid_utf8
        nbytes += chunk.nbytes
        samples.extend(t.samples[: 5 - len(samples)])
    pts = (
        pl.concat(parts) if parts else points(parse_lines(pl.Series([], dtype=pl.String), 0, cache))
    )
    return FileMetrics(pts, lines, records, malformed, other, invalid, nbytes, tuple(samples))


def _has_ms_timestamps(lines: pl.Series) -> bool:
    ts = lines.str.extract(SAMPLE_RE, 4).cast(pl.Int64, strict=False).abs()
    return bool(((ts >= 100_000_000_000) & (ts < 100_000_000_000_000)).any())


def parse_lines(
    lines: pl.Series, offset: int, cache: _BlockCache, *, milliseconds: bool = False
) -> pl.DataFrame:
    """The working frame of a chunk of lines (``offset`` lines came before it)."""
    frame = (
        pl.DataFrame({TEXT: lines.cast(pl.String)})
        .with_row_index(LINE_NO, offset=offset + 1)
        .with_columns(pl.col(TEXT).str.extract_groups(SAMPLE_RE).alias("_m"))
        .unnest("_m")
    )
    blocks = frame["block"].drop_nulls().unique()
    for block in blocks.to_list():
        if block not in cache:
            cache[block] = _parse_block(block)
    mapping = pl.DataFrame(
        {
            "block": blocks,
            "_bname": [cache[b][0] for b in blocks.to_list()],
            "_blabels": [cache[b][1] for b in blocks.to_list()],
            "_bok": [cache[b][2] for b in blocks.to_list()],
        },
        schema={"block": pl.String, "_bname": pl.String, "_blabels": pl.String, "_bok": pl.Boolean},
    )
    frame = frame.join(mapping, on="block", how="left", maintain_order="left")
    stripped = pl.col(TEXT).str.strip_chars()
    frame = frame.with_columns(
        pl.coalesce("name", "_bname").alias("metric"),
        pl.when(pl.col("block").is_null())
        .then(pl.lit(""))
        .otherwise(pl.col("_blabels"))
        .alias("labels"),
        parse_value(pl.col("value")).alias("_value"),
        epoch_to_datetime(pl.col("ts"), milliseconds=milliseconds).alias("_ts"),
    )
    frame = frame.with_columns(
        status(
            ((stripped == "") | stripped.str.starts_with("#"), OTHER, None),
            (pl.col("value").is_null(), MALFORMED, "not a sample line"),
            (pl.col("block").is_not_null() & ~pl.col("_bok"), MALFORMED, "bad label block"),
            (pl.col("metric").is_null(), MALFORMED, "no metric name"),
            (
                pl.col("name").is_not_null() & pl.col("_bname").is_not_null(),
                MALFORMED,
                "metric name given twice",
            ),
            (pl.col("_value").is_null(), MALFORMED, "bad value"),
            (
                pl.col("ts").is_null(),
                MALFORMED,
                "no timestamp (a sample needs one to be placed in time)",
            ),
            (pl.col("_ts").is_null(), MALFORMED, "bad timestamp"),
        )
    )
    return frame.drop("value", "ts").rename({"_value": "value", "_ts": "ts"})


def _parse_block(block: str) -> tuple[str | None, str | None, bool]:
    try:
        name, labels = parse_label_block(block)
    except LabelBlockError:
        return None, None, False
    dunder = labels.pop("__name__", None)
    if name is not None and dunder is not None:
        return None, None, False
    return name or dunder, labels_string(labels), True
