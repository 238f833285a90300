"""Prometheus HTTP API JSON: ``/api/v1/query_range`` (matrix) and ``/api/v1/query``
(vector, scalar) responses.

Accepted shapes: a full response ``{"status": "success", "data": {"resultType": ...,
"result": [...]}}``, a bare ``data`` object, or a JSON list of either (several queries
saved together). Sample values are strings (``"0.5"``, ``"NaN"``, ``"+Inf"``, ``"-Inf"``);
times are unix seconds with a fraction. A series without ``__name__`` (the result of
``rate(...)``, say) takes the file name as its metric.

Counting: the unit is a ``[time, value]`` entry (JSON has no meaningful lines). Each entry
is a record or malformed; a series or response that is not shaped like one counts as one
malformed unit, so ``lines == records + malformed`` (``other`` is 0). A document that is
not valid JSON at all is a whole-file failure (``IngestError``), as is a response with
``"status": "error"``.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from rca._errors import IngestError
from rca.ingest._files import read_all_bytes
from rca.ingest.metrics._common import (
    MALFORMED,
    TEXT,
    FileMetrics,
    default_metric_name,
    epoch_to_datetime,
    labels_string,
    parse_value,
    points,
    sample,
    status,
    tally,
)

NAME = "prometheus_json"
_SCALARS = {str, int, float}


@dataclass
class _Series:
    """Series collected from the document: one entry per series, values still raw."""

    metric: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    values: list[list[Any] | None] = field(default_factory=list)
    bad: int = 0
    samples: list[str] = field(default_factory=list)

    def malformed(self, reason: str, thing: object) -> None:
        self.bad += 1
        if len(self.samples) < 5:
            self.samples.append(sample(None, reason, _dump(thing)))


def _dump(thing: object) -> str:
    try:
        return json.dumps(thing, allow_nan=True)[:300]
    except (TypeError, ValueError):
        return repr(thing)[:300]


def parse(path: Path) -> FileMetrics:
    """Read one Prometheus API JSON file."""
    data = read_all_bytes(path)
    text = data.decode("utf-8", errors="replace")
    invalid = sum(1 for line in text.split("\n") if "\ufffd" in line) if "\ufffd" in text else 0
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise IngestError(
            f"not valid JSON ({exc}); a Prometheus API response is one JSON document, "
            "re-export it or pass --format for another format",
            path=path,
        ) from None
    except RecursionError:
        raise IngestError(
            "JSON nested too deeply to be a Prometheus API response", path=path
        ) from None
    found = _Series()
    fallback = default_metric_name(path)
    for response in doc if isinstance(doc, list) else [doc]:
        _collect(response, found, fallback, path)
    frame = _points_frame(found)
    t = tally(frame)
    units = found.bad + frame.height
    return FileMetrics(
        points=points(frame),
        lines=units,
        records=t.records,
        malformed=t.malformed + found.bad,
        other=0,
        invalid_utf8=invalid,
        nbytes=len(data),
        samples=tuple([*found.samples, *t.samples][:5]),
    )


def _collect(response: object, found: _Series, fallback: str, path: Path) -> None:
    if not isinstance(response, dict):
        found.malformed("not a Prometheus API response", response)
        return
    if response.get("status") == "error":
        raise IngestError(
            f"Prometheus returned an error ({response.get('errorType', '?')}: "
            f"{response.get('error', '?')}); fix the query and export again",
            path=path,
        )
    body = response.get("data") if "data" in response else response
    if not isinstance(body, dict) or "result" not in body:
        found.malformed("no data.result in this response", response)
        return
    kind, result = body.get("resultType"), body["result"]
    if kind == "scalar" or (kind is None and _is_pair(result)):
        _add(found, fallback, "", [result])
    elif kind in ("matrix", "vector", None) and isinstance(result, list):
        for series in result:
            _add_series(found, series, fallback)
    else:
        found.malformed(f"resultType {kind!r} holds no samples", body)


def _is_pair(thing: object) -> bool:
    return isinstance(thing, list) and len(thing) == 2 and all(type(x) in _SCALARS for x in thing)


def _add_series(found: _Series, series: object, fallback: str) -> None:
    if not isinstance(series, dict):
        found.malformed("series is not an object", series)
        return
    metric = series.get("metric", {})
    if not isinstance(metric, dict):
        found.malformed("series 'metric' is not an object", series)
        return
    if "values" in series:
        values = series["values"]
    elif "value" in series:  # an instant vector: one [time, value] pair
        values = [series["value"]]
    else:
        found.malformed("series has no values", series)
        return
    if not isinstance(values, list):
        found.malformed("series 'values' is not a list", series)
        return
    labels = {str(k): v if isinstance(v, str) else _dump(v) for k, v in metric.items()}
    name = labels.pop("__name__", None) or fallback
    _add(found, name, labels_string(labels), values)


def _add(found: _Series, metric: str, labels: str, values: list[Any]) -> None:
    found.metric.append(metric)
    found.labels.append(labels)
    found.values.append(values)


def _clean(values: list[Any]) -> list[list[str] | None]:
    """A series' entries as [time, value] text pairs, None for entries that are not pairs.

    The common case is checked with C-level ``map``/``set`` passes (no Python bytecode per
    point); only a series holding odd entries is walked in Python.
    """
    if (
        set(map(type, values)) <= {list}
        and set(map(len, values)) <= {2}
        and set(map(type, itertools.chain.from_iterable(values))) <= _SCALARS
    ):
        return values  # Polars turns the numbers into text in bulk
    out: list[list[str] | None] = []
    for entry in values:
        if isinstance(entry, list) and len(entry) == 2 and all(type(x) in _SCALARS for x in entry):
            out.append([x if isinstance(x, str) else repr(x) for x in entry])
        else:
            out.append(None)
    return out


def _points_frame(found: _Series) -> pl.DataFrame:
    pairs = [_clean(v) if v else [] for v in found.values]
    frame = pl.DataFrame(
        {
            "metric": pl.Series(found.metric, dtype=pl.String),
            "labels": pl.Series(found.labels, dtype=pl.String),
            "_pairs": pl.Series(pairs, dtype=pl.List(pl.List(pl.String)), strict=False),
        }
    )
    frame = frame.filter(pl.col("_pairs").list.len() > 0).explode("_pairs")
    pair = pl.col("_pairs")
    frame = frame.with_columns(
        epoch_to_datetime(pair.list.get(0, null_on_oob=True)).alias("ts"),
        parse_value(pair.list.get(1, null_on_oob=True)).alias("value"),
        pl.format(
            "{}{{{}}} [{}]",
            pl.col("metric"),
            pl.col("labels"),
            pair.list.join(", ", ignore_nulls=False).fill_null("not a [time, value] pair"),
        ).alias(TEXT),
    )
    return frame.with_columns(
        status(
            (pair.is_null() | (pair.list.len() != 2), MALFORMED, "not a [time, value] pair"),
            (pl.col("ts").is_null(), MALFORMED, "bad time"),
            (pl.col("value").is_null(), MALFORMED, "bad value"),
        )
    )
