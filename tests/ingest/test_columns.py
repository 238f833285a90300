"""``parse_logs(columns=...)``: the named request columns exactly as a full parse gives them,
every other column null, and the same data-quality counts."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from rca._bucket import BUCKET_COLUMNS
from rca._errors import DataQualityWarning, ParameterError
from rca._failure import FAILURE_COLUMNS
from rca._schema import REQUESTS
from rca.ingest import parse_logs, read_logs

SEEDS = Path(__file__).parents[1] / "robustness" / "corpus" / "seeds"

COLUMN_SETS = [
    ("ts", "status"),
    tuple(sorted({*FAILURE_COLUMNS, *BUCKET_COLUMNS})),
    ("client_prefix",),
    ("ua_family", "ua_kernel"),
    ("repository", "namespace"),
    ("path", "user_agent", "client_ip"),
    ("error_message", "duration_s", "endpoint"),
]


@pytest.fixture(
    scope="module",
    params=[*sorted(p.stem for p in SEEDS.glob("*.log")), "real_apache"],
)
def log_file(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A seed of each format repeated past the byte parsers' minimum (64 lines), so their
    fast paths run, or the real Apache log."""
    if request.param == "real_apache":
        path: Path = request.getfixturevalue("real_apache")
        return path
    lines = (SEEDS / f"{request.param}.log").read_bytes()
    path = tmp_path_factory.mktemp("columns") / f"{request.param}.log"
    path.write_bytes(lines * 40)
    return path


def test_kept_columns_equal_a_full_parse_and_the_rest_are_null(log_file: Path) -> None:
    full = parse_logs(log_file)
    assert full.requests.height > 0
    for columns in COLUMN_SETS:
        part = parse_logs(log_file, columns=columns)
        assert part.requests.schema == full.requests.schema
        assert_frame_equal(part.requests.select(columns), full.requests.select(columns))
        rest = part.requests.drop(columns)
        assert rest.null_count().row(0) == (part.requests.height,) * rest.width, columns
        assert_frame_equal(part.quality, full.quality)


def test_read_logs_passes_columns_on(real_apache: Path) -> None:
    with pytest.warns(DataQualityWarning, match="1 of 10,000 lines"):
        slim = read_logs(real_apache, columns=["ts", "status"]).collect()
    assert list(slim.schema) == list(REQUESTS)
    assert slim.get_column("status").null_count() == 0
    assert slim.get_column("path").null_count() == slim.height


def test_an_unknown_column_is_refused_before_reading(tmp_path: Path) -> None:
    # The error names the known columns; the (missing) path is never opened.
    with pytest.raises(ParameterError, match=r"no request column 'stauts'; the columns are ts,"):
        parse_logs(tmp_path / "missing.log", columns=["ts", "stauts"])


def test_a_single_name_is_one_column_not_its_letters(real_apache: Path) -> None:
    slim = parse_logs(real_apache, columns="status").requests
    assert slim.get_column("status").null_count() == 0
    assert slim.get_column("ts").null_count() == slim.height


def test_projection_of_an_empty_frame_keeps_the_schema(tmp_path: Path) -> None:
    empty = tmp_path / "empty.log"
    empty.write_text("")
    assert parse_logs(empty, columns=["ts"]).requests.schema == pl.Schema(REQUESTS)
