"""write_parquet / rca ingest: round trip, quality in the metadata, atomic writes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from polars.testing import assert_frame_equal

from rca._errors import IngestError
from rca._schema import FILE_QUALITY, REQUESTS
from rca.cli import cli
from rca.ingest import _logs as logs_module
from rca.ingest import parse_logs, read_logs, write_parquet
from rca.ingest.formats._base import LogFormat

LINES = [
    "2024-01-01T00:00:00Z 200 GET /v2/",
    "not a request",
    "2024-01-01T00:00:02Z 503 GET /v2/library/alpine/manifests/3.18",
    "",
    "2024-01-01T00:00:01Z 200 HEAD /v2/library/alpine/blobs/sha256:ab",
]


def test_round_trip_keeps_frame_and_quality(
    write_log: Callable[..., Path],
    simple_format: LogFormat,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    write_log("logs/a.log", LINES * 40)
    write_log("logs/b.log.gz", LINES[::-1] * 40, gz=True)
    monkeypatch.setattr(logs_module, "CHUNK_BYTES", 256)  # many chunks -> many row groups
    out = tmp_path / "out" / "requests.parquet"
    quality = write_parquet(tmp_path / "logs", out, format=simple_format)
    direct = parse_logs(tmp_path / "logs", format=simple_format)
    assert_frame_equal(quality, direct.quality)

    back = parse_logs(out)
    assert_frame_equal(back.requests, direct.requests)
    assert_frame_equal(back.quality, direct.quality)  # the log files' rows, not the Parquet's
    assert pq.ParquetFile(out).metadata.num_row_groups > 2
    stored = json.loads(pq.read_metadata(out).metadata[b"rca.quality"])
    assert [r["source"] for r in stored] == direct.quality["source"].to_list()
    assert oct(out.stat().st_mode & 0o777) != oct(0o600)  # not mkstemp's private mode

    # read_logs accepts it back, and warns about the damage recorded at ingest time.
    with pytest.warns(Warning, match="80 of 400 lines could not be parsed"):
        lazy = read_logs(out)
    assert_frame_equal(lazy.collect(), direct.requests)


def test_parquet_and_logs_can_be_mixed(
    write_log: Callable[..., Path], simple_format: LogFormat, tmp_path: Path
) -> None:
    first = write_log("a.log", LINES)
    write_parquet(first, tmp_path / "a.parquet", format=simple_format)
    second = write_log("b.log", LINES[:1])
    both = parse_logs([tmp_path / "a.parquet", second], format=simple_format)
    assert both.quality["source"].to_list() == [str(first), str(second)]
    assert both.requests.height == 4


def test_output_inside_an_input_folder_is_not_read_back(
    write_log: Callable[..., Path], simple_format: LogFormat, tmp_path: Path
) -> None:
    write_log("a.log", LINES)
    out = tmp_path / "requests.parquet"
    write_parquet(tmp_path, out, format=simple_format)
    again = write_parquet(tmp_path, out, format=simple_format)  # out now sits in the folder
    assert again["source"].to_list() == [str(tmp_path / "a.log")]
    assert pl.read_parquet(out).height == 3


def test_failed_write_leaves_no_file_and_no_temporary(
    write_log: Callable[..., Path], simple_format: LogFormat, tmp_path: Path
) -> None:
    import gzip

    write_log("in/a.log", LINES)
    data = gzip.compress(("\n".join(LINES) + "\n").encode() * 3000)
    (tmp_path / "in" / "b.log.gz").write_bytes(data[: len(data) // 2])
    out = tmp_path / "out" / "requests.parquet"
    out.parent.mkdir()
    out.write_bytes(b"previous good file")
    with pytest.raises(IngestError, match="corrupt or truncated gzip"):
        write_parquet(tmp_path / "in", out, format=simple_format)
    assert out.read_bytes() == b"previous good file"
    assert sorted(p.name for p in out.parent.iterdir()) == ["requests.parquet"]


def test_parquet_that_is_not_a_requests_frame_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "metrics.parquet"
    pl.DataFrame({"ts": [1], "value": [1.0]}).write_parquet(path)
    with pytest.raises(IngestError, match="not a requests frame written by 'rca ingest'"):
        parse_logs(path)


def test_foreign_requests_parquet_without_quality_metadata(tmp_path: Path) -> None:
    frame = pl.DataFrame(
        {"ts": [0], "status": [200], "path": ["/v2/"], "source": ["x.log"]}
    ).with_columns(pl.col("ts").cast(pl.Datetime("us", "UTC")))
    frame = frame.select(
        [
            (pl.col(c) if c in frame.columns else pl.lit(None)).cast(t).alias(c)
            for c, t in REQUESTS.items()
        ]
    )
    path = tmp_path / "made-elsewhere.parquet"
    frame.write_parquet(path)
    parsed = parse_logs(path)
    assert_frame_equal(parsed.requests, frame)
    assert parsed.quality.schema == pl.Schema(FILE_QUALITY)
    assert parsed.quality.select("format", "lines", "records").row(0) == ("parquet", 1, 1)


def test_output_that_is_a_folder_is_an_error(
    write_log: Callable[..., Path], simple_format: LogFormat, tmp_path: Path
) -> None:
    with pytest.raises(IngestError, match="output is a folder"):
        write_parquet(write_log("a.log", LINES), tmp_path, format=simple_format)


def test_cli_ingest(
    write_log: Callable[..., Path], tmp_path: Path, combined_lines: list[str]
) -> None:
    write_log("logs/access.log", [*combined_lines, "torn line"])
    out = tmp_path / "r.parquet"
    result = CliRunner().invoke(cli, ["ingest", "--logs", str(tmp_path / "logs"), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "1 file(s): 4 lines, 3 requests, 1 malformed, 0 other" in result.output
    assert "1 of 4 lines could not be parsed" in result.output  # the warning, on stderr
    assert parse_logs(out).requests.height == 3


def test_cli_ingest_bad_input_exits_2_with_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["ingest", "--logs", str(tmp_path / "nope"), "-o", str(tmp_path / "r.parquet")]
    )
    assert result.exit_code == 2
    assert "no such file or folder" in result.output
    assert "Traceback" not in result.output


def test_truncated_parquet_log_input_names_the_file(tmp_path: Path) -> None:
    # Found by Hypothesis: bytes that merely start with Parquet's magic, even with an
    # explicit text format, are taken as Parquet, so the error must say it is unreadable.
    path = tmp_path / "requests.log"
    path.write_bytes(b"PAR1\x00\x01garbage")
    with pytest.raises(IngestError, match=r"requests\.log: unreadable Parquet file"):
        parse_logs(path, format="combined")
