"""Metrics ingestion: metrics files of any supported format -> the canonical metrics frame.

Part of the ingest stage (DESIGN.md "Data flow"). Each file is detected by content
(``_detect``), read by its format module (``_prometheus_json``, ``_prometheus_text``,
``_csv_long``, ``_grafana_csv``, ``_parquet``) into points and counts, and the points of
all files become one long frame in :data:`rca._schema.METRICS`, sorted by
(metric, labels, ts). Damaged input is counted per file in a
:data:`rca._schema.FILE_QUALITY` frame, never fatal; only input that cannot be a metrics
file at all (unknown format, no time column, a JSON document that does not parse) is an
:class:`~rca._errors.IngestError`.

What a quality "line" is depends on the format: a text line (Prometheus text, CSV long),
a ``[time, value]`` entry (Prometheus JSON), a cell (wide Grafana CSV, wide Parquet: one
per row and series, plus header lines) or a row (long Parquet). In every case
``lines == records + malformed + other``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from rca._errors import DataQualityWarning, ParameterError
from rca._progress import SILENT, Progress
from rca._schema import FILE_QUALITY, METRICS
from rca._text import terminal_safe
from rca.ingest._files import PathsLike, expand
from rca.ingest.metrics import (
    _csv_long,
    _grafana_csv,
    _parquet,
    _prometheus_json,
    _prometheus_text,
)
from rca.ingest.metrics._common import FileMetrics
from rca.ingest.metrics._detect import METRIC_FORMATS, detect

__all__ = ["METRIC_FORMATS", "ParsedMetrics", "parse_metrics", "read_metrics"]

_READERS: dict[str, Callable[[Path], FileMetrics]] = {
    "prometheus_json": _prometheus_json.parse,
    "prometheus_text": _prometheus_text.parse,
    "csv_long": _csv_long.parse,
    "grafana_csv": _grafana_csv.parse,
    "parquet": _parquet.parse,
}


@dataclass(frozen=True)
class ParsedMetrics:
    """The metrics of some files, and how well each file read.

    Attributes
    ----------
    metrics
        Long form, exactly :data:`rca._schema.METRICS` (``ts``, ``metric``, ``labels``,
        ``value``), sorted by (metric, labels, ts); duplicate points are kept.
    quality
        One row per file, :data:`rca._schema.FILE_QUALITY`. ``out_of_order`` counts points
        earlier than the previous point *of the same series* in file order.
    """

    metrics: pl.DataFrame
    quality: pl.DataFrame


def parse_metrics(
    paths: PathsLike, format: str = "auto", *, progress: Progress = SILENT
) -> ParsedMetrics:
    """Read metrics files into the metrics frame, with per-file data quality.

    Parameters
    ----------
    paths
        A file, folder (searched recursively), glob, or a list of these; plain or gzip.
    format
        ``"auto"`` (detect per file by content) or one of :data:`METRIC_FORMATS`, which
        then applies to every file.
    progress
        Told about each file read.

    Raises
    ------
    IngestError
        A path is missing or unreadable, a file's format is unknown, a CSV has no time
        column, or a JSON document does not parse.
    ParameterError
        ``format`` is not a known format name.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "cpu.prom").write_text('lb_cpu{instance="lb-1"} 0.5 1617271200000\\n')
    >>> parsed = parse_metrics(folder)
    >>> parsed.metrics.select("metric", "labels", "value").row(0)
    ('lb_cpu', 'instance=lb-1', 0.5)
    >>> parsed.quality.select("format", "lines", "records", "malformed").row(0)
    ('prometheus_text', 1, 1, 0)
    """
    if format != "auto" and format not in _READERS:
        raise ParameterError(
            f"unknown metrics format {format!r}; use auto or one of {', '.join(METRIC_FORMATS)}"
        )
    files = expand(paths)
    progress.start("reading metrics", total=len(files))
    frames: list[pl.DataFrame] = []
    quality: list[dict[str, object]] = []
    try:
        for path in files:
            fmt = detect(path) if format == "auto" else format
            got = _READERS[fmt](path)
            frames.append(got.points)
            quality.append(_quality_row(path, fmt, got))
            progress.advance()
    finally:
        progress.done()
    metrics = pl.concat(frames, how="vertical") if frames else pl.DataFrame(schema=METRICS)
    # Stable: equal (metric, labels, ts) keep file order, so duplicates stay deterministic.
    metrics = metrics.sort(["metric", "labels", "ts"], maintain_order=True)
    return ParsedMetrics(metrics=metrics, quality=pl.DataFrame(quality, schema=FILE_QUALITY))


def _quality_row(path: Path, fmt: str, got: FileMetrics) -> dict[str, object]:
    pts = got.points
    out_of_order = int(
        pts.select((pl.col("ts") < pl.col("ts").shift(1).over(["metric", "labels"])).sum()).item()
        or 0
    )
    return {
        "source": str(path),
        "format": fmt,
        "bytes": _size(path),
        "lines": got.lines,
        "records": got.records,
        "malformed": got.malformed,
        "other": got.other,
        "invalid_utf8": got.invalid_utf8,
        "out_of_order": out_of_order,
        "samples": list(got.samples),
    }


def _size(path: Path) -> int:
    # On-disk size, as the log readers report it (a gzip file's compressed size).
    try:
        return path.stat().st_size
    except OSError:
        return 0


def read_metrics(paths: PathsLike, format: str = "auto") -> pl.DataFrame:
    """Read metrics files into the long metrics frame (``ts``, ``metric``, ``labels``, ``value``).

    Formats: Prometheus ``query_range`` JSON, Prometheus/OpenMetrics text with timestamps,
    CSV long, Grafana CSV (wide) and Parquet, each detected by content, plain or gzip.
    Damaged lines are skipped and counted; if any were, one
    :class:`~rca._errors.DataQualityWarning` says how many (see :func:`parse_metrics` for
    the counts per file).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "grafana.csv"
    >>> _ = path.write_text('"Time","lb-1"\\n2021-04-01 10:00:00,0.93\\n')
    >>> read_metrics(path).select("metric", "labels", "value").row(0)
    ('lb-1', '', 0.93)
    """
    parsed = parse_metrics(paths, format)
    q = parsed.quality
    malformed = int(q["malformed"].sum())
    if malformed:
        bad = q.filter(pl.col("malformed") > 0)
        first = bad.row(0, named=True)
        example = first["samples"][0] if first["samples"] else ""
        warnings.warn(
            f"{malformed} of {int(q['lines'].sum())} metrics lines/entries could not be read "
            f"in {bad.height} file(s) and were skipped; e.g. {Path(first['source']).name}: "
            f"{terminal_safe(example)}. rca.ingest.parse_metrics(...).quality has counts per file.",
            DataQualityWarning,
            stacklevel=2,
        )
    return parsed.metrics
