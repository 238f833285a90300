"""Shared fixtures: small log files and a minimal log format for testing the ingest machinery.

``SimpleFormat`` (``<ISO time>Z <status> <method> <path>``) lets the reading, counting,
Parquet and parallelism tests run without depending on any real format's parser; the
format tests use the documented sample lines in ``COMBINED_LINES`` and friends.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, settings

from rca.ingest.formats._base import ParseState
from rca.ingest.formats._common import finish, kind_column

# CI machines are shared and slow: a per-example deadline would fail tests on load, not
# on bugs. (Speed is measured in benchmarks/, never asserted in tests.)
settings.register_profile(
    "rca", deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.load_profile("rca")

#: The real Apache combined log shipped with the project (never edit it).
REAL_APACHE = (
    Path(__file__).resolve().parents[2] / "shared" / "data" / "real" / "apache_combined.log"
)

#: nginx/Apache combined lines (the nginx docs' ``combined`` format).
COMBINED_LINES = [
    '203.0.113.7 - - [17/May/2015:10:05:03 +0000] "GET /v2/ HTTP/1.1" 200 2 "-" "docker/20.10.7 go/go1.13.15 kernel/4.14.238-182.422.amzn2.x86_64 os/linux arch/amd64"',
    '198.51.100.23 - alice [17/May/2015:10:05:04 +0200] "GET /v2/library/alpine/manifests/3.18 HTTP/1.1" 404 19 "-" "containerd/1.6.21"',
    '2001:db8:1::7 - - [17/May/2015:10:05:05 -0700] "HEAD /v2/myorg/team/app/blobs/sha256:ab12 HTTP/1.1" 503 0 "-" "curl/7.68.0"',
]


class SimpleFormat:
    """``2024-01-01T00:00:00Z 200 GET /path``: one request per line, anything else malformed."""

    name = "simple"
    description = "test format: ISO time, status, method, path"
    pattern = r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ) (\d{3}) (\S+) (\S+)$"

    def sniff(self, lines: list[str]) -> float:
        return sum(bool(re.match(self.pattern, line)) for line in lines) / max(len(lines), 1)

    def parse(self, lines: pl.Series, state: ParseState) -> pl.DataFrame:
        groups = pl.col("line").str.extract_groups(self.pattern)
        frame = pl.DataFrame({"line": lines}).with_columns(
            ts=groups.struct.field("1").str.to_datetime(
                "%Y-%m-%dT%H:%M:%SZ", time_zone="UTC", strict=False
            ),
            status=groups.struct.field("2"),
            method=groups.struct.field("3"),
            path=groups.struct.field("4"),
            _kind=kind_column(groups.struct.field("1").is_not_null()),
        )
        return finish(frame)


@pytest.fixture
def simple_format() -> SimpleFormat:
    return SimpleFormat()


@pytest.fixture
def write_log(tmp_path: Path) -> Callable[..., Path]:
    """Write ``lines`` (str joined by newlines, or raw bytes) to ``tmp_path/name``,
    optionally gzipped. Returns the path."""

    def write(
        name: str, lines: list[str] | bytes, *, gz: bool = False, newline_at_end: bool = True
    ) -> Path:
        if isinstance(lines, bytes):
            data = lines
        else:
            data = ("\n".join(lines) + ("\n" if newline_at_end and lines else "")).encode()
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(gzip.compress(data, mtime=0) if gz else data)
        return path

    return write


@pytest.fixture
def combined_lines() -> list[str]:
    return list(COMBINED_LINES)


@pytest.fixture(scope="session")
def real_apache() -> Path:
    if not REAL_APACHE.is_file():  # the shared data folder sits beside the checkout
        pytest.fail(f"real data missing: {REAL_APACHE}")
    return REAL_APACHE
