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
from operator import itemgetter
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
    escape_label_value,
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
    labels: list[dict[str, str]] = field(default_factory=list)
    values: list[list[Any]] = field(default_factory=list)
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
        _add(found, fallback, {}, [result])
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
    labels = dict(metric)
    name = labels.pop("__name__", None)
    if not isinstance(name, str) or not name:
        name = fallback
    if not set(map(type, labels.values())) <= {str}:  # label values are strings by the API
        labels = {str(k): v if isinstance(v, str) else _dump(v) for k, v in labels.items()}
    _add(found, name, labels, values)


def _add(found: _Series, metric: str, labels: dict[str, str], values: list[Any]) -> None:
    found.metric.append(metric)
    found.labels.append(labels)
    found.values.append(values)


def _clean(found: _Series, values: list[Any]) -> list[Any]:
    """A series' entries that are [time, value] pairs of numbers or text; the others are
    counted as malformed on ``found``.

    The common case is checked with C-level ``map``/``set`` passes (no Python bytecode per
    point); only a series holding odd entries is walked in Python.
    """
    if (
        set(map(type, values)) <= {list}
        and set(map(len, values)) <= {2}
        and set(map(type, itertools.chain.from_iterable(values))) <= _SCALARS
    ):
        return values
    out: list[Any] = []
    for entry in values:
        if isinstance(entry, list) and len(entry) == 2 and all(type(x) in _SCALARS for x in entry):
            out.append(entry)
        else:
            found.malformed("not a [time, value] pair", entry)
    return out


def _column(items: list[Any]) -> pl.Series:
    # Times are nearly always JSON numbers: a Float64 column is built fastest. Anything
    # else (quoted times, the string values) goes through text, converted in bulk.
    try:
        return pl.Series(items, dtype=pl.Float64)
    except (TypeError, ValueError, pl.exceptions.PolarsError):
        return pl.Series(items, dtype=pl.String, strict=False)


def _label_strings(dicts: list[dict[str, str]]) -> pl.Series:
    """The stable label string of each series, built in Polars from the flattened dicts
    (same result as ``labels_string`` per series, without a Python call per series)."""
    keys = list(itertools.chain.from_iterable(map(dict.keys, dicts)))
    values = list(itertools.chain.from_iterable(map(dict.values, dicts)))
    sid = pl.Series("_sid", range(len(dicts)), dtype=pl.Int64)
    per_series = pl.Series("_len", list(map(len, dicts)), dtype=pl.Int64)
    flat = pl.DataFrame(
        {
            "_sid": sid.repeat_by(per_series).explode().drop_nulls(),
            "_key": pl.Series(keys, dtype=pl.String, strict=False),
            "_value": pl.Series(values, dtype=pl.String, strict=False),
        }
    )
    joined = (
        flat.filter(pl.col("_value") != "")
        .sort(["_sid", "_key"])
        .group_by("_sid", maintain_order=True)
        .agg((pl.col("_key") + "=" + escape_label_value(pl.col("_value"))).str.join(","))
    )
    out = pl.DataFrame({"_sid": sid}).join(joined, on="_sid", how="left", maintain_order="left")
    return out["_key"].fill_null("").alias("labels")


def _points_frame(found: _Series) -> pl.DataFrame:
    # Flatten with C-level passes, then let Polars parse every time and value at once.
    cleaned = [_clean(found, v) for v in found.values]
    flat = list(itertools.chain.from_iterable(cleaned))
    times = _column(list(map(itemgetter(0), flat)))
    texts = pl.Series(list(map(itemgetter(1), flat)), dtype=pl.String, strict=False)
    series = pl.DataFrame(
        {
            "metric": pl.Series(found.metric, dtype=pl.String),
            "labels": _label_strings(found.labels),
            "_n": pl.Series([len(v) for v in cleaned], dtype=pl.Int64),
        }
    ).filter(pl.col("_n") > 0)
    frame = series.select(
        pl.col("metric").repeat_by("_n").explode(),
        pl.col("labels").repeat_by("_n").explode(),
    ).with_columns(times.alias("_t"), texts.alias("_v"))
    frame = frame.with_columns(
        epoch_to_datetime(pl.col("_t")).alias("ts"),
        parse_value(pl.col("_v")).alias("value"),
        pl.format(
            "{}{{{}}} [{}, {}]",
            pl.col("metric"),
            pl.col("labels"),
            pl.col("_t").cast(pl.String),
            pl.col("_v"),
        ).alias(TEXT),
    )
    return frame.with_columns(
        status(
            (pl.col("ts").is_null(), MALFORMED, "bad time"),
            (pl.col("value").is_null(), MALFORMED, "bad value"),
        )
    )
