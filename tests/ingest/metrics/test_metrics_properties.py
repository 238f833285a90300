"""Property tests: no input crashes a metrics reader, and rendered series parse back."""

from __future__ import annotations

import csv
import io
import json
import math
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from rca._errors import IngestError
from rca._schema import METRICS, format_labels
from rca.ingest.metrics import METRIC_FORMATS, parse_metrics
from rca.ingest.metrics._common import labels_from_columns

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

metric_names = st.from_regex(r"\A[a-zA-Z_:][a-zA-Z0-9_:]{0,15}\Z")
label_names = st.from_regex(r"\A[a-zA-Z_][a-zA-Z0-9_]{0,10}\Z").filter(lambda n: n != "__name__")
label_values = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=12)
values = st.floats(allow_nan=True, allow_infinity=True)
# 1973 .. 2096 in milliseconds: the range where s/ms are told apart by magnitude
millis = st.integers(min_value=100_000_000_000, max_value=4_000_000_000_000)


def _write(data: bytes, suffix: str = ".dat") -> Path:
    folder = Path(tempfile.mkdtemp(prefix="rca-metrics-prop-"))
    path = folder / f"series{suffix}"
    path.write_bytes(data)
    return path


def _frame(rows: list[tuple[int, str, str, float]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "ts": [datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=r[0]) for r in rows],
            "metric": [r[1] for r in rows],
            "labels": [r[2] for r in rows],
            "value": [r[3] for r in rows],
        },
        schema=METRICS,
    ).sort(["metric", "labels", "ts"], maintain_order=True)


# --- nothing but IngestError ---------------------------------------------------------------


@FAST
@given(
    data=st.one_of(
        st.binary(max_size=400),
        st.text(max_size=400).map(lambda t: t.encode("utf-8", "surrogatepass")),
    )
)
@example(
    data=b'{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":"12"}]}}'
)
@example(
    data=b'{"resultType":"matrix","result":[{"values":[[1,"2"],"x",5,null,[1,2,3],{"a":1},[[1],2],[true,"1"]]}]}'
)
@example(data=b"[" * 5000)
@example(data=b'sep=;\n"Time";"a\n1;2')
@example(data=b"PAR1garbagePAR1")
@example(data=b"x\x010\xf0\x90\x80\x80")  # a zlib header: the CSV reader tries to inflate it
@example(data=b'x{a="\\"} 1 2\n')
def test_arbitrary_input_raises_only_ingest_error(data: bytes) -> None:
    path = _write(data)
    for fmt in ("auto", *METRIC_FORMATS):
        try:
            parsed = parse_metrics(path, format=fmt)
        except IngestError:
            continue
        for row in parsed.quality.iter_rows(named=True):
            assert row["lines"] == row["records"] + row["malformed"] + row["other"]
            assert row["records"] == parsed.metrics.height
        assert parsed.metrics.schema == pl.Schema(METRICS)


# --- round trips -------------------------------------------------------------------------

series_strategy = st.lists(
    st.tuples(
        metric_names,
        st.dictionaries(label_names, label_values, max_size=3),
        st.lists(st.tuples(millis, values), min_size=1, max_size=5),
    ),
    min_size=1,
    max_size=4,
)


def _expected(series: list[tuple[str, dict[str, str], list[tuple[int, float]]]]) -> pl.DataFrame:
    return _frame([(t, m, format_labels(lab), v) for m, lab, pts in series for t, v in pts])


def _go_float(v: float) -> str:
    return (
        "NaN"
        if math.isnan(v)
        else "+Inf"
        if v == math.inf
        else "-Inf"
        if v == -math.inf
        else repr(v)
    )


def _escape(v: str) -> str:
    return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


@FAST
@given(series=series_strategy)
def test_exposition_round_trip(
    series: list[tuple[str, dict[str, str], list[tuple[int, float]]]],
) -> None:
    lines = ["# HELP x y", ""]
    for name, labels, pts in series:
        block = ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items())
        for t, v in pts:
            lines.append(
                f"{name}{{{block}}} {_go_float(v)} {t}" if labels else f"{name} {_go_float(v)} {t}"
            )
    parsed = parse_metrics(_write("\n".join(lines).encode()), format="auto")
    assert parsed.quality["format"].to_list() == ["prometheus_text"]
    assert parsed.quality["malformed"].to_list() == [0]
    assert_frame_equal(parsed.metrics, _expected(series))


@FAST
@given(series=series_strategy)
def test_query_range_json_round_trip(
    series: list[tuple[str, dict[str, str], list[tuple[int, float]]]],
) -> None:
    result = [
        {
            "metric": {"__name__": name, **labels},
            "values": [[t / 1000, _go_float(v)] for t, v in pts],
        }
        for name, labels, pts in series
    ]
    doc = {"status": "success", "data": {"resultType": "matrix", "result": result}}
    parsed = parse_metrics(_write(json.dumps(doc).encode()))
    assert parsed.quality["malformed"].to_list() == [0]
    assert_frame_equal(parsed.metrics, _expected(series))


csv_label_values = st.text(
    st.characters(blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp")), min_size=1, max_size=12
)


@FAST
@given(
    rows=st.lists(
        st.tuples(millis, metric_names, st.sampled_from(["", "lb-1"]), csv_label_values, values),
        min_size=1,
        max_size=8,
    ),
    iso=st.booleans(),
)
def test_csv_long_round_trip(rows: list[tuple[int, str, str, str, float]], iso: bool) -> None:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["timestamp", "metric", "instance", "zone", "value"])
    for t, name, instance, zone, v in rows:
        when = (
            (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=t)).isoformat()
            if iso
            else str(t)
        )
        writer.writerow([when, name, instance, zone, repr(v)])
    parsed = parse_metrics(_write(out.getvalue().encode()))
    assert parsed.quality["format"].to_list() == ["csv_long"]
    assert parsed.quality["malformed"].to_list() == [0]
    want = _frame(
        [
            (t, name, format_labels({"instance": i, "zone": z} if i else {"zone": z}), v)
            for t, name, i, z, v in rows
        ]
    )
    assert_frame_equal(parsed.metrics, want)


@FAST
@given(
    columns=st.lists(
        st.from_regex(r"\A[a-zA-Z][a-zA-Z0-9_ .-]{0,10}\Z")
        .map(str.strip)
        .filter(lambda n: n.lower() not in {"timestamp", "time", "ts", "date", "datetime"}),
        min_size=1,
        max_size=4,
        unique_by=str.lower,
    ),
    times=st.lists(millis, min_size=1, max_size=6),
    data=st.data(),
    separator=st.sampled_from([",", ";"]),
)
def test_grafana_wide_round_trip(
    columns: list[str], times: list[int], data: st.DataObject, separator: str
) -> None:
    cells = [[data.draw(st.one_of(st.none(), values)) for _ in columns] for _ in times]
    out = io.StringIO()
    writer = csv.writer(out, delimiter=separator, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(["Time", *columns])
    for t, row in zip(times, cells, strict=True):
        writer.writerow([str(t), *["" if v is None else repr(v) for v in row]])
    parsed = parse_metrics(_write(out.getvalue().encode()))
    assert parsed.quality["format"].to_list() == ["grafana_csv"]
    q = parsed.quality.row(0, named=True)
    assert q["malformed"] == 0
    assert q["lines"] == 1 + len(times) * len(columns)
    want = _frame(
        [
            (t, name, "", v)
            for i, name in enumerate(columns)
            for t, row in zip(times, cells, strict=True)
            if (v := row[i]) is not None
        ]
    )
    assert_frame_equal(parsed.metrics, want)


@FAST
@given(
    labels=st.dictionaries(label_names, st.one_of(st.none(), st.just(""), label_values), max_size=5)
)
def test_label_columns_match_format_labels(labels: dict[str, str | None]) -> None:
    frame = pl.DataFrame({k: [v] for k, v in labels.items()}, schema={k: pl.String for k in labels})
    got = frame.select(labels_from_columns(list(labels))).item() if labels else ""
    assert got == format_labels({k: v for k, v in labels.items() if v})
