"""The real Apache combined log (elastic/examples, 10,000 lines of 17-20 May 2015).

The expected figures were computed independently of rca, with awk over the file:

    awk '/"$/ {print $9}' apache_combined.log | sort | uniq -c   # status of well-formed lines
    awk '!/"$/' apache_combined.log | wc -l                       # torn lines: 1

The one torn line (its user agent lacks the closing quote) has status 200.
"""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from rca._errors import DataQualityWarning
from rca._schema import REQUESTS
from rca.ingest import ParsedLogs, parse_logs, read_logs

STATUS_OF_WELL_FORMED_LINES = {
    200: 9125,
    206: 45,
    301: 164,
    304: 445,
    403: 2,
    404: 213,
    416: 2,
    500: 3,
}


@pytest.fixture(scope="module")
def parsed(real_apache: Path) -> ParsedLogs:
    return parse_logs(real_apache)


def test_line_accounting(parsed: ParsedLogs, real_apache: Path) -> None:
    q = parsed.quality.row(0, named=True)
    assert q["source"] == str(real_apache)
    assert q["format"] == "combined"
    assert q["lines"] == 10_000
    assert q["records"] >= 9_999
    assert q["malformed"] <= 1
    assert q["lines"] == q["records"] + q["malformed"] + q["other"]
    assert q["other"] == 0
    assert q["invalid_utf8"] == 0
    assert len(q["samples"]) == q["malformed"]
    # Real logs are not sorted; the backward steps are counted, rows stay in file order.
    assert q["out_of_order"] > 1_000
    assert parsed.requests.height == q["records"]


def test_exact_status_counts(parsed: ParsedLogs) -> None:
    counts = dict(parsed.requests.group_by("status").len().iter_rows())
    expected = dict(STATUS_OF_WELL_FORMED_LINES)
    # If the torn line is recovered rather than counted malformed, it adds one 200.
    expected[200] += parsed.requests.height - 9_999
    assert counts == expected


def test_time_range_and_fields(parsed: ParsedLogs) -> None:
    frame = parsed.requests
    assert frame.schema == pl.Schema(REQUESTS)
    lo, hi = frame["ts"].min(), frame["ts"].max()
    assert lo.date() == datetime(2015, 5, 17, tzinfo=UTC).date()
    assert hi.date() == datetime(2015, 5, 20, tzinfo=UTC).date()
    assert frame["ts"].null_count() == 0
    first = frame.row(0, named=True)
    assert first["ts"] == datetime(2015, 5, 17, 10, 5, 3, tzinfo=UTC)
    assert first["client_ip"] == "83.149.9.216"
    assert first["client_prefix"] == "83.149.9.0/24"
    assert first["method"] == "GET"
    assert first["path"] == "/presentations/logstash-monitorama-2013/images/kibana-search.png"
    assert first["bytes_sent"] == 203023
    assert first["ua_family"] == "browser"
    assert first["ua_os"] == "darwin"
    assert first["endpoint"] == "other"
    # "-" stands for zero bytes in 669 lines (data README).
    assert frame.filter(pl.col("bytes_sent") == 0).height >= 669


def test_gzip_gives_the_same_frame(parsed: ParsedLogs, real_apache: Path, tmp_path: Path) -> None:
    packed = tmp_path / "apache.log.gz"
    packed.write_bytes(gzip.compress(real_apache.read_bytes(), mtime=0))
    again = parse_logs(packed)
    assert_frame_equal(again.requests.drop("source"), parsed.requests.drop("source"))
    assert_frame_equal(
        again.quality.drop("source", "bytes"), parsed.quality.drop("source", "bytes")
    )


def test_read_logs_warns_about_the_torn_line(real_apache: Path) -> None:
    with pytest.warns(DataQualityWarning, match="1 of 10,000 lines could not be parsed"):
        frame = read_logs(real_apache).collect()
    assert frame.height == 9_999
