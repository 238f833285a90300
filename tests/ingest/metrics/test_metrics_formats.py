"""Each metrics format: canonical values, NaN/Inf, gaps, duplicates, quality counts."""

from __future__ import annotations

import gzip
import json
import math
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from rca._errors import DataQualityWarning, IngestError, ParameterError
from rca._schema import FILE_QUALITY, METRICS
from rca.ingest.metrics import METRIC_FORMATS, ParsedMetrics, parse_metrics, read_metrics

DATA = Path(__file__).parent / "data"


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def expected(rows: list[tuple[str, str, str, float]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "ts": [ts(r[0]) for r in rows],
            "metric": [r[1] for r in rows],
            "labels": [r[2] for r in rows],
            "value": [r[3] for r in rows],
        },
        schema=METRICS,
    )


def quality(parsed: ParsedMetrics) -> dict[str, object]:
    assert parsed.quality.height == 1
    row = parsed.quality.row(0, named=True)
    assert row["lines"] == row["records"] + row["malformed"] + row["other"]
    return row


def check_contract(parsed: ParsedMetrics) -> None:
    assert parsed.metrics.schema == pl.Schema(METRICS)
    assert parsed.quality.schema == pl.Schema(FILE_QUALITY)
    assert_frame_equal(
        parsed.metrics, parsed.metrics.sort(["metric", "labels", "ts"], maintain_order=True)
    )
    for row in parsed.quality.iter_rows(named=True):
        assert row["lines"] == row["records"] + row["malformed"] + row["other"]
        assert len(row["samples"]) <= 5


# --- Prometheus JSON ---------------------------------------------------------------------


def test_prometheus_json_docs_example() -> None:
    parsed = parse_metrics(DATA / "query_range.json")
    check_contract(parsed)
    want = expected(
        [
            ("2015-07-01 20:10:30.781", "up", "instance=localhost:9090,job=prometheus", 1.0),
            ("2015-07-01 20:10:45.781", "up", "instance=localhost:9090,job=prometheus", 1.0),
            ("2015-07-01 20:11:00.781", "up", "instance=localhost:9090,job=prometheus", 1.0),
            ("2015-07-01 20:10:30.781", "up", "instance=localhost:9091,job=node", 0.0),
            ("2015-07-01 20:10:45.781", "up", "instance=localhost:9091,job=node", 0.0),
            ("2015-07-01 20:11:00.781", "up", "instance=localhost:9091,job=node", 1.0),
        ]
    )
    assert_frame_equal(parsed.metrics, want)
    q = quality(parsed)
    assert (q["format"], q["lines"], q["records"], q["malformed"]) == ("prometheus_json", 6, 6, 0)


def _response(result: list[object], kind: str = "matrix") -> dict[str, object]:
    return {"status": "success", "data": {"resultType": kind, "result": result}}


def test_prometheus_json_special_values_gaps_duplicates_and_bad_points(tmp_path: Path) -> None:
    doc = _response(
        [
            {
                "metric": {"__name__": "lb_cpu", "instance": "lb-1"},
                # a gap (10:00:30 missing), a duplicate timestamp, NaN and +/-Inf
                "values": [
                    [1617271200, "0.5"],
                    [1617271215, "NaN"],
                    [1617271245, "+Inf"],
                    [1617271245, "-Inf"],
                    [1617271260, "not-a-number"],
                    [1617271275],
                ],
            },
            {"metric": {"job": "lb"}, "values": [[1617271200.5, "1e3"]]},
            {"metric": {"__name__": "all_nan"}, "values": [[1617271200, "NaN"]]},
            "junk series",
        ]
    )
    path = tmp_path / "cpu_rate.json"
    path.write_text(json.dumps(doc))
    parsed = parse_metrics(path)
    check_contract(parsed)
    m = parsed.metrics
    cpu = m.filter(pl.col("metric") == "lb_cpu")
    assert cpu["labels"].unique().to_list() == ["instance=lb-1"]
    assert cpu["ts"].to_list() == [
        ts("2021-04-01 10:00:00"),
        ts("2021-04-01 10:00:15"),
        ts("2021-04-01 10:00:45"),
        ts("2021-04-01 10:00:45"),
    ]
    values = cpu["value"].to_list()
    assert values[0] == 0.5 and math.isnan(values[1]) and values[2:] == [math.inf, -math.inf]
    # a series without __name__ takes the file name
    nameless = m.filter(pl.col("labels") == "job=lb").row(0, named=True)
    assert nameless["metric"] == "cpu_rate"
    assert nameless["ts"] == datetime(2021, 4, 1, 10, 0, 0, 500000, tzinfo=UTC)
    assert nameless["value"] == 1000.0
    assert math.isnan(m.filter(pl.col("metric") == "all_nan")["value"][0])
    q = quality(parsed)
    # 8 entries + 1 junk series; 6 records; bad value, short pair, junk series malformed
    assert (q["lines"], q["records"], q["malformed"], q["other"]) == (9, 6, 3, 0)
    assert any("not-a-number" in s for s in q["samples"])


def test_prometheus_json_vector_bare_data_and_list(tmp_path: Path) -> None:
    vector = _response(
        [{"metric": {"__name__": "up", "job": "a"}, "value": [1617271200, "1"]}], "vector"
    )
    bare = {
        "resultType": "matrix",
        "result": [{"metric": {"__name__": "up", "job": "b"}, "values": [[1617271200, "0"]]}],
    }
    scalar = _response([1617271200, "42"], "scalar")  # type: ignore[arg-type]
    path = tmp_path / "many.json"
    path.write_text(json.dumps([vector, bare, scalar]))
    m = read_metrics(path)
    assert_frame_equal(
        m,
        expected(
            [
                ("2021-04-01 10:00:00", "many", "", 42.0),
                ("2021-04-01 10:00:00", "up", "job=a", 1.0),
                ("2021-04-01 10:00:00", "up", "job=b", 0.0),
            ]
        ),
    )


def test_prometheus_json_corrupt_document_is_an_ingest_error(tmp_path: Path) -> None:
    path = tmp_path / "torn.json"
    path.write_text('{"status":"success","data":{"resultType":"matrix","result":[{"metric"')
    with pytest.raises(IngestError, match=r"torn\.json: not valid JSON"):
        parse_metrics(path)


def test_prometheus_json_error_response_is_an_ingest_error(tmp_path: Path) -> None:
    path = tmp_path / "err.json"
    path.write_text(
        json.dumps(
            {"status": "error", "errorType": "bad_data", "error": "parse error", "data": None}
        )
    )
    with pytest.raises(IngestError, match="bad_data: parse error"):
        parse_metrics(path)


# --- Prometheus text ---------------------------------------------------------------------


def test_prometheus_text_docs_example() -> None:
    parsed = parse_metrics(DATA / "exposition.prom")
    check_contract(parsed)
    m = parsed.metrics
    scraped = ts("2014-03-17 14:26:03")
    row = m.filter(
        pl.col("metric") == "http_requests_total", pl.col("labels") == "code=400,method=post"
    )
    assert row.row(0) == (scraped, "http_requests_total", "code=400,method=post", 3.0)
    msdos = m.filter(pl.col("metric") == "msdos_file_access_time_seconds").row(0, named=True)
    assert msdos["value"] == 1.458255915e9
    # escaped label values are unescaped, then stored in the stable label string
    assert msdos["labels"] == 'error=Cannot find file:\n"FILE.TXT",path=C:\\\\DIR\\\\FILE.TXT'
    weird = m.filter(pl.col("metric") == "something_weird").row(0, named=True)
    assert weird["value"] == math.inf
    # -3982045 ms: this file writes milliseconds, so a small timestamp is ms too
    assert weird["ts"] == datetime(1969, 12, 31, 22, 53, 37, 955000, tzinfo=UTC)
    assert m.filter(pl.col("metric") == "http_request_duration_seconds_bucket")[
        "labels"
    ].to_list() == [
        "le=+Inf",
        "le=0.05",
    ]
    q = quality(parsed)
    # 21 lines: 8 samples, 1 without timestamp, 12 comments/blank
    assert (q["lines"], q["records"], q["malformed"], q["other"]) == (21, 8, 1, 12)
    assert q["samples"] == [
        "line 10: no timestamp (a sample needs one to be placed in time): "
        "metric_without_timestamp_and_labels 12.47"
    ]


def test_openmetrics_seconds_exemplars_and_eof() -> None:
    parsed = parse_metrics(DATA / "openmetrics.txt")
    check_contract(parsed)
    m = parsed.metrics
    s = m.filter(pl.col("metric") == "acme_http_router_request_seconds_sum").row(0, named=True)
    assert s["ts"] == datetime(2018, 3, 7, 13, 40, 0, 123000, tzinfo=UTC)
    assert s["labels"] == "method=GET,path=/api/v1" and s["value"] == 9036.32
    buckets = m.filter(pl.col("metric") == "foo_bucket")
    assert buckets["labels"].to_list() == ["le=+Inf", "le=0.01"]
    assert math.isnan(buckets["value"][0]) and buckets["value"][1] == 0.0
    q = quality(parsed)
    assert (q["records"], q["malformed"], q["other"]) == (4, 0, 5)


def test_prometheus_text_malformed_lines_are_counted(tmp_path: Path) -> None:
    path = tmp_path / "m.prom"
    path.write_text(
        'ok{a="1"} 1 1617271200000\n'
        "bad_labels{a=1} 1 1617271200000\n"
        "bad_value abc 1617271200000\n"
        "bad_ts 1 yesterday\n"
        'dup{a="1",a="2"} 1 1617271200000\n'
        '{"quoted.name",a="1"} 2 1617271200000\n'
        'ok{a="1"} 1 1617271200000\n'
        "torn_last_li"
    )
    parsed = parse_metrics(path)
    check_contract(parsed)
    assert parsed.metrics["metric"].to_list() == ["ok", "ok", "quoted.name"]
    q = quality(parsed)
    assert (q["lines"], q["records"], q["malformed"], q["other"]) == (8, 3, 5, 0)
    assert [s.split(":")[1].strip() for s in q["samples"]] == [
        "bad label block",
        "bad value",
        "bad timestamp",
        "bad label block",
        "not a sample line",
    ]


# --- CSV long ----------------------------------------------------------------------------


def test_csv_long_timestamps_labels_and_values(tmp_path: Path) -> None:
    path = tmp_path / "long.csv"
    path.write_text(
        "timestamp,metric,instance,job,value\n"
        "2021-04-01T10:00:00Z,lb_cpu,lb-1,lb,0.5\n"
        "2021-04-01T12:00:30+02:00,lb_cpu,lb-1,lb,NaN\n"  # zone converted
        "2021-04-01 10:01:00,lb_cpu,lb-1,lb,+Inf\n"  # naive = UTC
        "1617271260,lb_cpu,lb-1,lb,0.7\n"  # unix seconds, duplicate timestamp
        "1617271320000,lb_cpu,,lb,1\n"  # unix ms; empty label left out
        '2021-04-01T10:03:00.250Z,errors,"a,b=c",,2\n'
        "2021-04-01T10:04:00Z,lb_cpu,lb-1,lb,\n"  # empty value: no point
        "garbage,lb_cpu,lb-1,lb,1\n"
        "2021-04-01T10:04:00Z,lb_cpu,lb-1,lb,zero\n"
    )
    parsed = parse_metrics(path)
    check_contract(parsed)
    m = parsed.metrics
    assert m.filter(pl.col("metric") == "errors").row(0) == (
        datetime(2021, 4, 1, 10, 3, 0, 250000, tzinfo=UTC),
        "errors",
        "instance=a\\,b\\=c",
        2.0,
    )
    cpu = m.filter(pl.col("labels") == "instance=lb-1,job=lb")
    assert cpu["ts"].to_list() == [
        ts("2021-04-01 10:00:00"),
        ts("2021-04-01 10:00:30"),
        ts("2021-04-01 10:01:00"),
        ts("2021-04-01 10:01:00"),
    ]
    assert cpu["value"][2] == math.inf and math.isnan(cpu["value"][1])
    assert m.filter(pl.col("labels") == "job=lb")["ts"].to_list() == [ts("2021-04-01 10:02:00")]
    q = quality(parsed)
    assert (q["lines"], q["records"], q["malformed"], q["other"]) == (10, 6, 2, 2)
    assert q["samples"][0] == "line 9: bad timestamp: garbage,lb_cpu,lb-1,lb,1"


def test_csv_long_labels_column_and_series_names(tmp_path: Path) -> None:
    path = tmp_path / "series.csv"
    path.write_text(
        "Series;Time;Value\n"
        'lb_cpu{instance="lb-1"};2021-04-01 10:00:00;0,5\n'
        "lb-2;2021-04-01 10:00:00;1\n"
    )
    m = read_metrics(path, format="csv_long")
    assert m.rows() == [
        (ts("2021-04-01 10:00:00"), "lb-2", "", 1.0),
        (ts("2021-04-01 10:00:00"), "lb_cpu", "instance=lb-1", 0.5),
    ]
    ours = tmp_path / "ours.csv"
    ours.write_text('ts,metric,labels,value\n2021-04-01T10:00:00Z,up,"instance=a\\,b",1\n')
    assert read_metrics(ours)["labels"].to_list() == ["instance=a\\,b"]


def test_csv_long_without_time_column(tmp_path: Path) -> None:
    path = tmp_path / "metrics.csv"
    path.write_text("metric,value\nup,1\n")
    with pytest.raises(IngestError) as err:
        parse_metrics(path)
    assert str(err.value).startswith(
        f"{path}: no timestamp column (looked for a column named timestamp, time"
    )
    with pytest.raises(IngestError, match="no timestamp column"):
        parse_metrics(path, format="csv_long")


# --- Grafana CSV -------------------------------------------------------------------------


def test_grafana_semicolon_sep_line_crlf_and_empty_cells() -> None:
    parsed = parse_metrics(DATA / "grafana_semicolon.csv")
    check_contract(parsed)
    assert_frame_equal(
        parsed.metrics,
        expected(
            [
                ("2021-04-01 10:00:00", "lb-2", "", 0.41),
                ("2021-04-01 10:00:30", "lb-2", "", 0.45),
                ("2021-04-01 10:00:00", "lb_cpu_utilization", "instance=lb-1,job=lb", 0.93),
                ("2021-04-01 10:01:00", "lb_cpu_utilization", "instance=lb-1,job=lb", 0.97),
            ]
        ),
    )
    q = quality(parsed)
    # cells: 3 data rows x 2 series = 6 (4 numbers, 2 empty) + sep=, header, blank line
    assert (q["format"], q["lines"], q["records"], q["malformed"], q["other"]) == (
        "grafana_csv",
        9,
        4,
        0,
        5,
    )


def test_grafana_comma_unix_ms_and_bad_cells(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text(
        '"Time","lb-1","{instance=""lb-2""}"\n'
        "1617271200000,0.5,1\n"
        "1617271260000,NaN,\n"
        "1617271260000,0.6,2\n"  # duplicate timestamp
        "not a time,1,2\n"
        "1617271380000,oops,3\n"
    )
    parsed = parse_metrics(path)
    check_contract(parsed)
    m = parsed.metrics
    lb1 = m.filter(pl.col("metric") == "lb-1")
    assert lb1["ts"].to_list() == [
        ts("2021-04-01 10:00:00"),
        ts("2021-04-01 10:01:00"),
        ts("2021-04-01 10:01:00"),
    ]
    assert math.isnan(lb1["value"][1])
    # a bare label block takes the file name as metric
    assert m.filter(pl.col("metric") == "export")["labels"].unique().to_list() == ["instance=lb-2"]
    q = quality(parsed)
    assert (q["lines"], q["records"], q["malformed"], q["other"]) == (11, 6, 3, 1 + 1)
    assert q["samples"][0].startswith('line 5: bad time: time "not a time"')


def test_grafana_without_time_column(tmp_path: Path) -> None:
    path = tmp_path / "metrics.csv"
    path.write_text("When,lb-1\n2021-04-01,1\n")
    with pytest.raises(
        IngestError,
        match=r"metrics\.csv: no timestamp column \(looked for a column named timestamp, time",
    ):
        parse_metrics(path)


def test_grafana_formatted_data_with_units(tmp_path: Path) -> None:
    """Grafana's "Download CSV" writes formatted data by default: values carry units, and
    one column may mix them (ms and s); the time column may have a unit in its name."""
    path = tmp_path / "export.csv"
    path.write_text(
        '"Time (UTC)","lb cpu","p99 latency","egress","requests"\n'
        '"2021-04-01 10:00:00","45.2%","523 ms","1.5 GiB","2.3 K"\n'
        '"2021-04-01 10:01:00","47%","1.20 s","512 MiB","120 req/s"\n'
        '"2021-04-01 10:02:00","48%","7 furlongs","1 GB","1.50 Mil"\n'
    )
    parsed = parse_metrics(path, format="grafana_csv")
    check_contract(parsed)
    by = {m: g["value"].to_list() for (m,), g in parsed.metrics.group_by("metric")}
    assert by["lb cpu"] == [45.2, 47.0, 48.0]
    assert by["p99 latency"] == pytest.approx([0.523, 1.2])  # seconds; the unknown unit is bad
    assert by["egress"] == [1.5 * 2**30, 512 * 2**20, 1e9]
    assert by["requests"] == [2300.0, 120.0, 1.5e6]
    q = quality(parsed)
    assert q["malformed"] == 1 and "7 furlongs" in q["samples"][0]


def test_semicolon_csv_with_decimal_comma_and_units(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text("time_ms;dns latency\n1617271200000;0,5 ms\n1617271260000;1,25 s\n")
    m = read_metrics(path, format="grafana_csv")
    assert m["value"].to_list() == pytest.approx([0.0005, 1.25])
    assert m["ts"].to_list() == [ts("2021-04-01 10:00:00"), ts("2021-04-01 10:01:00")]


def test_time_column_found_by_word_first_column_preferred() -> None:
    from rca.ingest.metrics._common import find_time_column

    assert find_time_column(["Time", "response_time"]) == 0
    assert find_time_column(["response_time", "timestamp"]) == 1
    assert find_time_column(["@timestamp", "response_time"]) == 0
    assert find_time_column(["host", "event_time", "value"]) == 1
    assert find_time_column(["When", "lb-1"]) is None


# --- Parquet -----------------------------------------------------------------------------


def test_parquet_long_round_trip(tmp_path: Path) -> None:
    frame = expected(
        [
            ("2021-04-01 10:00:00", "lb_cpu", "instance=lb-1", 0.5),
            ("2021-04-01 10:00:00", "lb_cpu", "instance=lb-1", float("nan")),
            ("2021-04-01 10:01:00", "up", "", 1.0),
        ]
    )
    path = tmp_path / "metrics.parquet"
    frame.write_parquet(path)
    parsed = parse_metrics(path)
    check_contract(parsed)
    assert_frame_equal(parsed.metrics, frame)
    assert (quality(parsed)["lines"], quality(parsed)["records"]) == (3, 3)


def test_parquet_wide_with_naive_and_zoned_times(tmp_path: Path) -> None:
    wide = pl.DataFrame(
        {
            "time": [datetime(2021, 4, 1, 12, 0), datetime(2021, 4, 1, 12, 1)],
            'lb_cpu{instance="lb-1"}': [0.5, None],
            "rps": [10, 20],
        }
    ).with_columns(pl.col("time").dt.replace_time_zone("Europe/Berlin"))
    path = tmp_path / "wide.parquet"
    wide.write_parquet(path)
    parsed = parse_metrics(path)
    check_contract(parsed)
    assert_frame_equal(
        parsed.metrics,
        expected(
            [
                ("2021-04-01 10:00:00", "lb_cpu", "instance=lb-1", 0.5),
                ("2021-04-01 10:00:00", "rps", "", 10.0),
                ("2021-04-01 10:01:00", "rps", "", 20.0),
            ]
        ),
    )
    q = quality(parsed)
    assert (q["lines"], q["records"], q["other"]) == (4, 3, 1)


def test_parquet_long_with_unix_ms_and_label_columns(tmp_path: Path) -> None:
    pl.DataFrame(
        {"ts": [1617271200000], "metric": ["up"], "job": ["lb"], "value": [1]}
    ).write_parquet(tmp_path / "m.parquet")
    assert read_metrics(tmp_path / "m.parquet").rows() == [
        (ts("2021-04-01 10:00:00"), "up", "job=lb", 1.0)
    ]


def test_requests_parquet_is_refused(tmp_path: Path) -> None:
    pl.DataFrame(
        {
            "ts": [datetime(2021, 4, 1)],
            "client_ip": ["1.2.3.4"],
            "method": ["GET"],
            "path": ["/v2/"],
            "status": [200],
        }
    ).write_parquet(tmp_path / "requests.parquet")
    with pytest.raises(IngestError, match="--logs"):
        parse_metrics(tmp_path / "requests.parquet")


# --- all formats -------------------------------------------------------------------------


def test_gzip_is_read_by_content(tmp_path: Path) -> None:
    raw = (DATA / "grafana_semicolon.csv").read_bytes()
    (tmp_path / "export.bin").write_bytes(gzip.compress(raw))
    plain = parse_metrics(DATA / "grafana_semicolon.csv").metrics
    assert_frame_equal(parse_metrics(tmp_path / "export.bin").metrics, plain)


def test_mixed_folder(tmp_path: Path) -> None:
    for name in ("query_range.json", "exposition.prom", "openmetrics.txt", "grafana_semicolon.csv"):
        (tmp_path / name).write_bytes((DATA / name).read_bytes())
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "long.csv.gz").write_bytes(
        gzip.compress(b"time,metric,value\n2021-04-01T10:00:00Z,up,1\n")
    )
    expected_frame(tmp_path).write_parquet(tmp_path / "sub" / "wide.parquet")
    parsed = parse_metrics(tmp_path)
    check_contract(parsed)
    formats = dict(
        zip(
            parsed.quality["source"].map_elements(lambda s: Path(s).name, return_dtype=pl.String),
            parsed.quality["format"],
            strict=True,
        )
    )
    assert formats == {
        "exposition.prom": "prometheus_text",
        "grafana_semicolon.csv": "grafana_csv",
        "openmetrics.txt": "prometheus_text",
        "query_range.json": "prometheus_json",
        "long.csv.gz": "csv_long",
        "wide.parquet": "parquet",
    }
    assert set(parsed.metrics["metric"]) >= {
        "up",
        "http_requests_total",
        "lb-2",
        "foo_bucket",
        "wide_series",
    }


def expected_frame(tmp_path: Path) -> pl.DataFrame:
    return pl.DataFrame({"Time": [datetime(2021, 4, 1, 10)], "wide_series": [1.0]})


def test_read_metrics_warns_once_about_malformed(tmp_path: Path) -> None:
    (tmp_path / "a.prom").write_text("up 1 1617271200000\nup 2\n")
    with pytest.warns(
        DataQualityWarning, match=r"1 of 2 metrics lines/entries .* a\.prom: line 2: no timestamp"
    ) as rec:
        m = read_metrics(tmp_path)
    assert len(rec) == 1
    assert m.height == 1


def test_read_metrics_silent_when_clean() -> None:
    # filterwarnings = error: any warning fails this test
    assert read_metrics(DATA / "query_range.json").height == 6


def test_unknown_format_name() -> None:
    with pytest.raises(ParameterError, match="unknown metrics format 'influx'"):
        parse_metrics(DATA / "query_range.json", format="influx")


def test_explicit_format_wins(tmp_path: Path) -> None:
    path = tmp_path / "looks_long.csv"
    path.write_text("time,metric,value\n2021-04-01T10:00:00Z,up,1\n")
    parsed = parse_metrics(path, format="grafana_csv")
    assert parsed.metrics.rows() == [(ts("2021-04-01 10:00:00"), "value", "", 1.0)]
    q = quality(parsed)
    assert (q["format"], q["records"], q["malformed"]) == ("grafana_csv", 1, 1)


def test_formats_constant() -> None:
    assert METRIC_FORMATS == (
        "prometheus_json",
        "prometheus_text",
        "csv_long",
        "grafana_csv",
        "parquet",
    )


def test_out_of_order_counted_per_series(tmp_path: Path) -> None:
    path = tmp_path / "ooo.prom"
    path.write_text("a 1 1617271260000\nb 1 1617271200000\na 2 1617271200000\n")
    parsed = parse_metrics(path)
    assert parsed.quality["out_of_order"].to_list() == [1]
    assert parsed.metrics.filter(pl.col("metric") == "a")["value"].to_list() == [2.0, 1.0]
