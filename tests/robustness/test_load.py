"""Load, scaled down for CI: many files, a long file, many metric series, a week-long
window. Each completes, or fails early (before allocating) with exit code 2 and a message
naming the limit and how to narrow the window. The full sizes (10M lines, 1M series) run
in ``benchmarks/fuzz.py --load``, which records time and peak memory.
"""

from __future__ import annotations

import resource
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import rca
from rca._errors import ParameterError
from tests.robustness.conftest import assert_clean_error, run_cli

T0 = datetime(2021, 4, 1, tzinfo=UTC)


def combined_line(t: datetime, i: int, status: int = 200) -> str:
    return (
        f"203.0.113.{i % 200} - - [{t:%d/%b/%Y:%H:%M:%S +0000}] "
        f'"GET /v2/library/app{i % 7}/manifests/{i % 5} HTTP/1.1" {status} 512 "-" '
        f'"docker/20.10.7 go/go1.13.15 os/linux"'
    )


def test_a_folder_of_many_small_files(tmp_path: Path) -> None:
    # 200 stand in for 2,000 (benchmarks/fuzz.py --load): detection costs ~60 ms per file
    # on a shared 2-core machine, so 2,000 files take about two minutes.
    folder = tmp_path / "logs"
    for d in range(2):
        sub = folder / f"host-{d:02d}"
        sub.mkdir(parents=True)
        for f in range(100):
            start = T0 + timedelta(minutes=f)
            lines = [combined_line(start + timedelta(seconds=s), s + d) for s in range(5)]
            (sub / f"access-{f:03d}.log").write_text("\n".join(lines) + "\n")
    parsed = rca.ingest.parse_logs(folder)
    assert parsed.quality.height == 200
    assert parsed.requests.height == 1_000
    result = rca.analyze(folder)
    assert result.to_dict()["data_quality"]["requests"] == 1_000


def test_a_long_file_completes_with_bounded_memory(tmp_path: Path) -> None:
    # 300k lines stand in for 10M (benchmarks/fuzz.py --load runs the full size).
    path = tmp_path / "access.log"
    with path.open("w") as fh:
        for i in range(300_000):
            fh.write(combined_line(T0 + timedelta(milliseconds=40 * i), i) + "\n")
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = rca.analyze(path)
    grew_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
    assert result.to_dict()["data_quality"]["requests"] == 300_000
    # ~100 bytes per line on disk; the requests frame must not blow that up 100-fold.
    assert grew_mb < 3000, grew_mb


def test_too_many_metric_series_fail_early_with_the_limit(tmp_path: Path) -> None:
    # 40k series over a day: beyond MAX_METRIC_CELLS at the automatic bucket width.
    path = tmp_path / "series.prom"
    start_ms = int(T0.timestamp() * 1000)
    with path.open("w") as fh:
        for s in range(40_000):
            fh.write(f'up{{instance="10.0.{s // 250}.{s % 250}:9100"}} 1 {start_ms}\n')
            fh.write(f'up{{instance="10.0.{s // 250}.{s % 250}:9100"}} 0 {start_ms + 86_400_000}\n')
    log = tmp_path / "access.log"
    log.write_text(combined_line(T0 + timedelta(hours=1), 1) + "\n")
    result = run_cli("analyze", "--logs", str(log), "--metrics", str(path), "--quiet")
    assert_clean_error(result, "40,000 metric series", "limit", "--since/--until")


def test_a_week_long_window_completes(tmp_path: Path) -> None:
    path = tmp_path / "week.log"
    lines = [combined_line(T0 + timedelta(minutes=m), m) for m in range(0, 7 * 24 * 60, 2)]
    path.write_text("\n".join(lines) + "\n")
    result = rca.analyze(path)
    assert result.bucket_seconds >= 300
    assert result.timeline.height <= 2100


def test_a_week_at_one_second_buckets_fails_early_with_the_way_out(tmp_path: Path) -> None:
    path = tmp_path / "week.log"
    lines = [combined_line(T0 + timedelta(hours=h), h) for h in range(7 * 24)]
    path.write_text("\n".join(lines) + "\n")
    result = run_cli("analyze", "--logs", str(path), "--bucket", "1s", "--quiet")
    assert_clean_error(result, "buckets", "limit", "--since/--until")
    narrowed = run_cli(
        "analyze", "--logs", str(path), "--bucket", "1s", "--quiet",
        "--since", "2021-04-01T00:00Z", "--until", "2021-04-01T12:00Z",
    )  # fmt: skip
    assert narrowed.exit_code == 0, narrowed.output


@pytest.mark.parametrize("year", [1971, 2999])
def test_one_line_with_a_wrong_clock_fails_early_not_out_of_memory(
    tmp_path: Path, year: int
) -> None:
    path = tmp_path / "access.log"
    lines = [combined_line(T0 + timedelta(seconds=s), s) for s in range(600)]
    lines.insert(300, combined_line(T0.replace(year=year), 1))
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ParameterError, match="since"):
        rca.analyze(path, bucket="1s")
