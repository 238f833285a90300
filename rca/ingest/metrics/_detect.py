"""Which metrics format a file is in, decided by its content (never by its name).

Checked in this order, on the first 64 KiB after gzip decompression:

1. ``PAR1`` magic -> ``parquet``;
2. a JSON object or list mentioning ``resultType`` or ``"status": "success"`` (or
   ``result`` with ``metric``/``values``) -> ``prometheus_json``;
3. ``# TYPE``/``# HELP``/``# EOF`` lines, or mostly ``name{...} value [ts]`` lines
   -> ``prometheus_text``;
4. a CSV header with a time column and metric and value columns -> ``csv_long``; with a
   time column and other columns -> ``grafana_csv``.

An empty file reads as ``prometheus_text`` (nothing but blank lines), so one empty file
does not stop a folder. A CSV header without a time column is the "no timestamp column"
error; anything else is an "unknown format" error.
"""

from __future__ import annotations

import re
from pathlib import Path

from rca._errors import IngestError
from rca.ingest._files import PARQUET_MAGIC, head_text, is_parquet
from rca.ingest.metrics._common import NO_TIME_COLUMN, find_time_column
from rca.ingest.metrics._csv import sniff_head
from rca.ingest.metrics._csv_long import METRIC_COLUMNS, VALUE_COLUMNS, find_column
from rca.ingest.metrics._prometheus_text import SAMPLE_RE

METRIC_FORMATS = ("prometheus_json", "prometheus_text", "csv_long", "grafana_csv", "parquet")

_SAMPLE = re.compile(SAMPLE_RE)
_NUMBER = re.compile(
    r"^[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|nan|inf|infinity)$", re.IGNORECASE
)
_DIRECTIVE = re.compile(r"^#[ \t]*(TYPE|HELP|UNIT|EOF)\b")
_JSON_HINT = re.compile(
    r'"resultType"\s*:|"result"\s*:\s*\[\s*(\{\s*"(metric|values?)"|\])'
    r'|"status"\s*:\s*"(success|error)"'
)


def unknown_format(path: Path) -> IngestError:
    return IngestError(
        "cannot tell which metrics format this is (known: "
        + ", ".join(METRIC_FORMATS)
        + "); pass --format NAME (format= in Python) to choose one",
        path=path,
    )


def detect(path: Path) -> str:
    """The metrics format of ``path``, one of :data:`METRIC_FORMATS`.

    Raises
    ------
    IngestError
        The content matches no known format, or it is a CSV without a time column.
    """
    if is_parquet(path):
        return "parquet"
    text = head_text(path)
    if text.startswith(PARQUET_MAGIC.decode()):
        return "parquet"  # gzip-compressed Parquet
    body = text.lstrip("\ufeff \t\r\n")
    if not body:
        return "prometheus_text"
    if body[0] in "{[" and _JSON_HINT.search(body):
        return "prometheus_json"
    if _looks_like_exposition(body):
        return "prometheus_text"
    if body[0] in "{[":
        raise unknown_format(path)  # JSON, but not a Prometheus API response
    head = sniff_head(body)
    if head is not None and len(head.header) >= 2:
        header = head.header
        has_time = find_time_column(header) is not None
        long = find_column(header, VALUE_COLUMNS) is not None and (
            find_column(header, METRIC_COLUMNS) is not None
        )
        if has_time:
            return "csv_long" if long else "grafana_csv"
        if long or all(0 < len(h) <= 200 for h in header):
            raise IngestError(NO_TIME_COLUMN, path=path)
    raise unknown_format(path)


def _looks_like_exposition(body: str) -> bool:
    lines = [ln.strip() for ln in body.split("\n")[:200]]
    lines = [ln for ln in lines if ln]
    if any(_DIRECTIVE.match(ln) for ln in lines):
        return True
    samples = [ln for ln in lines if not ln.startswith("#")]
    if not samples:
        return False
    return sum(1 for ln in samples if _is_sample(ln)) * 2 > len(samples)


def _is_sample(line: str) -> bool:
    m = _SAMPLE.match(line)
    if not m or not _NUMBER.match(m.group("value")):
        return False
    ts = m.group("ts")
    return ts is None or bool(_NUMBER.match(ts))
