"""Ingest: log and metrics files -> the canonical requests and metrics frames.

The first stage of the data flow (DESIGN.md "Data flow"). ``read_logs`` / ``parse_logs``
turn access logs of any supported format (detected per file by content) into the requests
frame of ``rca._schema.REQUESTS`` plus a per-file data-quality frame; ``write_parquet``
does the same into a Parquet file with bounded memory (``rca ingest``), and both readers
accept that Parquet file back. ``read_metrics`` / ``parse_metrics`` do the same for metrics.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rca.ingest._logs import ParsedLogs, parse_logs, read_logs, write_parquet

if TYPE_CHECKING:  # imported on first use at run time, see __getattr__
    from rca.ingest.metrics import ParsedMetrics, parse_metrics, read_metrics

__all__ = [
    "ParsedLogs",
    "ParsedMetrics",
    "parse_logs",
    "parse_metrics",
    "read_logs",
    "read_metrics",
    "write_parquet",
]

_METRICS_NAMES = ("ParsedMetrics", "parse_metrics", "read_metrics")


def __getattr__(name: str) -> object:
    # The metrics readers are imported on first use: they live in their own package and
    # importing the log readers (the common case) should not pay for them.
    if name in _METRICS_NAMES:
        from rca.ingest import metrics

        return getattr(metrics, name)
    raise AttributeError(f"module 'rca.ingest' has no attribute {name!r}")
