"""Shared helpers: time encodings, label blocks, progress and byte counts."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rca._schema import format_labels
from rca.ingest.metrics import parse_metrics
from rca.ingest.metrics._common import LabelBlockError, parse_label_block, text_to_datetime

TEN = datetime(2021, 4, 1, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("2021-04-01T10:00:00Z", TEN),
        ("2021-04-01T10:00:00.250Z", TEN.replace(microsecond=250000)),
        ("2021-04-01T12:00:00+02:00", TEN),
        ("2021-04-01T05:30:00-0430", TEN),
        ("2021-04-01 10:00:00", TEN),  # naive = UTC
        ("2021-04-01 10:00", TEN),
        ("2021/04/01 10:00:00", TEN),
        ("2021-04-01 10:00:00 +0000 UTC", TEN),  # Go's time.String()
        ("1617271200", TEN),  # unix seconds
        ("1617271200.25", TEN.replace(microsecond=250000)),
        ("1617271200000", TEN),  # unix ms
        ("1617271200000000", TEN),  # unix µs
        ("1617271200000000000", TEN),  # unix ns
        ("  1617271200  ", TEN),
        ("yesterday", None),
        ("", None),
        ("2021-13-45T99:00:00Z", None),
    ],
)
def test_time_encodings(text: str, want: datetime | None) -> None:
    got = pl.select(text_to_datetime(pl.lit(text, pl.String))).item()
    assert got == want


label_names = st.from_regex(r"\A[a-zA-Z_][a-zA-Z0-9_]{0,8}\Z")
label_values = st.text(st.characters(blacklist_categories=("Cs",)), max_size=10)


@settings(max_examples=200, deadline=None)
@given(labels=st.dictionaries(label_names, label_values, max_size=4), spaces=st.booleans())
def test_label_block_round_trip(labels: dict[str, str], spaces: bool) -> None:
    def esc(v: str) -> str:
        return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")

    sep = ", " if spaces else ","
    block = "{" + sep.join(f'{k}="{esc(v)}"' for k, v in labels.items()) + "}"
    assert parse_label_block(block) == (None, labels)


@pytest.mark.parametrize(
    "block", ['{a="1" b="2"}', '{a="1",a="2"}', "{a=1}", '{a="1"', '{1a="x"}', '{a="x"}}']
)
def test_bad_label_blocks(block: str) -> None:
    with pytest.raises(LabelBlockError):
        parse_label_block(block)


def test_crlf_exposition_and_byte_count(tmp_path: Path) -> None:
    raw = b'# TYPE up gauge\r\nup{job="a"} 1 1617271200000\r\n'
    path = tmp_path / "up.prom.gz"
    path.write_bytes(gzip.compress(raw))
    parsed = parse_metrics(path)
    assert parsed.metrics.rows() == [(TEN, "up", format_labels({"job": "a"}), 1.0)]
    assert parsed.quality["bytes"].to_list() == [path.stat().st_size]


class _Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, float | None]] = []

    def start(self, task: str, total: float | None = None) -> None:
        self.calls.append(("start", total))

    def advance(self, amount: float = 1.0) -> None:
        self.calls.append(("advance", amount))

    def done(self) -> None:
        self.calls.append(("done", None))


def test_progress_is_told_about_each_file(tmp_path: Path) -> None:
    for i in range(3):
        (tmp_path / f"{i}.prom").write_text(f"up {i} 1617271200000\n")
    progress = _Recorder()
    parsed = parse_metrics(tmp_path, progress=progress)
    assert parsed.metrics["value"].to_list() == [0.0, 1.0, 2.0]
    assert progress.calls == [
        ("start", 3),
        ("advance", 1.0),
        ("advance", 1.0),
        ("advance", 1.0),
        ("done", None),
    ]
