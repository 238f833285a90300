"""rca.analyze reads the requests lazily: log files through a scratch Parquet file, Parquet
from ``rca ingest`` in place, frames as they are. All must give the same result."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import polars as pl
import pytest

import rca
from rca._analyze import analyze
from rca._errors import IngestError
from rca._schema import REQUESTS
from rca.ingest import parse_logs, write_parquet

SAMPLE = Path(__file__).resolve().parents[1] / "sample_logs" / "lb_cpu_saturation"


def _doc(result: rca.Result) -> str:
    doc = result.to_dict()
    # The runtime notes and the provenance (command, input names) may differ by source.
    doc.pop("provenance", None)
    doc.pop("diagnostics", None)
    return json.dumps(doc, sort_keys=True)


@pytest.fixture(scope="module")
def from_logs() -> rca.Result:
    return analyze(SAMPLE / "logs", SAMPLE / "metrics")


def test_same_result_from_logs_parquet_and_frame(
    from_logs: rca.Result, tmp_path_factory: pytest.TempPathFactory
) -> None:
    assert from_logs.causes.height > 0  # the comparison below must compare something
    parquet = tmp_path_factory.mktemp("ingest") / "requests.parquet"
    write_parquet(SAMPLE / "logs", parquet)
    from_parquet = analyze(parquet, SAMPLE / "metrics")
    assert _doc(from_parquet) == _doc(from_logs)
    # The quality of the original log files travels inside the Parquet file.
    assert from_parquet.data_quality.equals(from_logs.data_quality)

    frame = parse_logs(SAMPLE / "logs").requests
    from_frame = analyze(frame, SAMPLE / "metrics")
    doc, expect = json.loads(_doc(from_frame)), json.loads(_doc(from_logs))
    doc.pop("data_quality"), expect.pop("data_quality")  # a frame has no files to report
    assert doc == expect
    assert analyze(frame.lazy(), SAMPLE / "metrics").causes.equals(from_frame.causes)


def test_parquet_without_quality_metadata_counts_its_rows(tmp_path: Path) -> None:
    requests = parse_logs(SAMPLE / "logs").requests
    plain = tmp_path / "plain.parquet"
    requests.write_parquet(plain)  # written by Polars, not rca ingest: no quality metadata
    result = analyze(plain)
    row = result.data_quality.row(0, named=True)
    assert (row["format"], row["lines"], row["records"]) == (
        "parquet",
        requests.height,
        requests.height,
    )


def test_parquet_that_is_not_a_requests_frame_is_an_ingest_error(tmp_path: Path) -> None:
    other = tmp_path / "metrics.parquet"
    pl.DataFrame({"ts": [1], "value": [2.0]}).write_parquet(other)
    with pytest.raises(IngestError, match=r"metrics\.parquet.*not a requests frame"):
        analyze(other)
    good = tmp_path / "good.parquet"
    pl.DataFrame(schema=REQUESTS).write_parquet(good)
    with pytest.raises(IngestError, match="not a requests frame"):
        analyze([good, other])


def test_scratch_files_and_engine_setting_do_not_outlive_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    before = pl.Config.state(if_set=True)
    analyze(SAMPLE / "logs")
    assert list(scratch.iterdir()) == []
    assert pl.Config.state(if_set=True) == before
    with pytest.raises(IngestError):
        analyze(tmp_path / "missing.log")
    assert list(scratch.iterdir()) == []


def test_scratch_copy_keeps_the_columns_a_failure_expression_reads(tmp_path: Path) -> None:
    # The scratch copy of log files holds only the columns the analysis reads: a failure
    # defined on one it otherwise leaves out (path) must still see its values.
    failure = 'path contains "/blobs/" and status >= 500'
    parquet = tmp_path / "requests.parquet"
    write_parquet(SAMPLE / "logs", parquet)
    from_logs = analyze(SAMPLE / "logs", SAMPLE / "metrics", failure=failure)
    assert from_logs.episodes.height > 0
    assert _doc(analyze(parquet, SAMPLE / "metrics", failure=failure)) == _doc(from_logs)


def test_scratch_copy_of_a_hang_incident_matches_its_parquet(tmp_path: Path) -> None:
    # Hangs are judged on durations, sizes, methods and endpoints: all must be in the copy.
    hang = SAMPLE.parent / "cdn_client_hang"
    parquet = tmp_path / "requests.parquet"
    write_parquet(hang / "logs", parquet)
    from_logs = analyze(hang / "logs", hang / "metrics", symptom="hung")
    assert from_logs.causes.height > 0
    assert _doc(analyze(parquet, hang / "metrics", symptom="hung")) == _doc(from_logs)


def test_write_parquet_with_columns_writes_the_others_as_nulls(tmp_path: Path) -> None:
    full, slim = tmp_path / "full.parquet", tmp_path / "slim.parquet"
    write_parquet(SAMPLE / "logs", full)
    write_parquet(SAMPLE / "logs", slim, columns=["ts", "status"])
    a, b = pl.read_parquet(full), pl.read_parquet(slim)
    assert b.schema == a.schema
    assert b.select("ts", "status").equals(a.select("ts", "status"))
    assert b.drop("ts", "status").null_count().sum_horizontal().item() == b.height * (b.width - 2)
    with pytest.raises(rca.RCAError, match="no request column 'nope'"):
        write_parquet(SAMPLE / "logs", slim, columns=["ts", "nope"])
