"""Format detection by content, plain and gzip, and its error messages."""

from __future__ import annotations

import gzip
from datetime import datetime
from pathlib import Path

import polars as pl
import pytest

from rca._errors import IngestError
from rca.ingest.metrics import METRIC_FORMATS, parse_metrics
from rca.ingest.metrics._detect import detect

DATA = Path(__file__).parent / "data"

SAMPLES = {
    "prometheus_json": (DATA / "query_range.json").read_bytes(),
    "prometheus_text": (DATA / "exposition.prom").read_bytes(),
    "openmetrics": (DATA / "openmetrics.txt").read_bytes(),
    "no_comments_text": b'lb_cpu{instance="lb-1"} 0.5 1617271200123\nlb_cpu{instance="lb-2"} 0.7 1617271200123\n',
    "bare_data_json": b'{"resultType":"vector","result":[]}',
    "csv_long": b"timestamp,metric,instance,value\n2021-04-01T10:00:00Z,lb_cpu,lb-1,0.5\n",
    "series_rows_csv": b"Series;Time;Value\nlb-1;2021-04-01 10:00:00;0,5\n",
    "grafana_csv": (DATA / "grafana_semicolon.csv").read_bytes(),
    "grafana_comma": b'"Time","lb-1","lb-2"\r\n2021-04-01 10:00:00,0.93,\r\n',
}
EXPECTED = {
    "prometheus_json": "prometheus_json",
    "prometheus_text": "prometheus_text",
    "openmetrics": "prometheus_text",
    "no_comments_text": "prometheus_text",
    "bare_data_json": "prometheus_json",
    "csv_long": "csv_long",
    "series_rows_csv": "csv_long",
    "grafana_csv": "grafana_csv",
    "grafana_comma": "grafana_csv",
}


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_detects_each_format(tmp_path: Path, name: str, gz: bool) -> None:
    # A misleading name: detection must look at the content only.
    path = tmp_path / "metrics.txt"
    data = SAMPLES[name]
    path.write_bytes(gzip.compress(data) if gz else data)
    assert detect(path) == EXPECTED[name]
    parsed = parse_metrics(path)
    assert parsed.quality["format"].to_list() == [EXPECTED[name]]


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
def test_detects_parquet(tmp_path: Path, gz: bool) -> None:
    frame = pl.DataFrame({"time": [datetime(2021, 4, 1, 10)], "lb-1": [0.5]})
    path = tmp_path / "metrics.csv"  # misleading name again
    frame.write_parquet(path)
    if gz:
        path.write_bytes(gzip.compress(path.read_bytes()))
    assert detect(path) == "parquet"
    assert parse_metrics(path).metrics["value"].to_list() == [0.5]


@pytest.mark.parametrize(
    "content",
    [
        b"hello world\nthis is not metrics\n",
        b'{"name": "a json document", "items": [1, 2]}',
        b"\x00\x01\x02",
    ],
    ids=["prose", "other-json", "binary"],
)
def test_unknown_format_names_file_and_formats(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "mystery.dat"
    path.write_bytes(content)
    with pytest.raises(IngestError) as err:
        parse_metrics(path)
    message = str(err.value)
    assert message.startswith(f"{path}: cannot tell which metrics format")
    assert all(f in message for f in METRIC_FORMATS)
    assert "--format" in message


def test_csv_without_time_column_is_named(tmp_path: Path) -> None:
    path = tmp_path / "metrics.csv"
    path.write_text("host,cpu\nlb-1,0.5\n")
    with pytest.raises(
        IngestError,
        match=r"metrics\.csv: no timestamp column \(looked for a column named timestamp, time",
    ):
        detect(path)


def test_empty_file_reads_as_nothing(tmp_path: Path) -> None:
    path = tmp_path / "empty.prom"
    path.write_text("\n\n")
    parsed = parse_metrics(path)
    assert parsed.metrics.height == 0
    row = parsed.quality.row(0, named=True)
    assert (row["lines"], row["records"], row["malformed"], row["other"]) == (2, 0, 0, 2)


def test_missing_path_is_an_ingest_error(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="no such file"):
        parse_metrics(tmp_path / "nope.json")
