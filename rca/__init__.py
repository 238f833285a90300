"""rca: root cause analysis for registry, load-balancer and CDN incidents.

Read logs and metrics into Polars frames, find the error episodes, rank the likely causes
with evidence, and write a self-contained report.

>>> import rca
>>> result = rca.analyze(logs="sample_logs/lb_cpu_saturation/logs",
...                      metrics="sample_logs/lb_cpu_saturation/metrics")  # doctest: +SKIP
>>> result.write_html("report.html")  # doctest: +SKIP
"""

from __future__ import annotations

from rca._analyze import analyze
from rca._errors import DataQualityWarning, IngestError, ParameterError, RCAError, SchemaError
from rca._localize import localize
from rca._rank_metrics import rank_metrics
from rca._result import Result
from rca._version import __version__
from rca.ingest import read_logs, read_metrics

__all__ = [
    "DataQualityWarning",
    "IngestError",
    "ParameterError",
    "RCAError",
    "Result",
    "SchemaError",
    "__version__",
    "analyze",
    "localize",
    "rank_metrics",
    "read_logs",
    "read_metrics",
]
