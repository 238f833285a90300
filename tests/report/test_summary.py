"""The shared verdict and number formats."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from rca._result import Result
from rca.report._summary import fmt_duration, fmt_pct, fmt_span, verdict


def test_verdict_across_midnight_reads_naturally(incident_result: Result) -> None:
    eps = incident_result.episodes.with_columns(
        pl.when(pl.int_range(pl.len()) == 2)
        .then(pl.col("start") + timedelta(hours=12))
        .otherwise(pl.col("start"))
        .alias("start"),
        pl.when(pl.int_range(pl.len()) == 2)
        .then(pl.col("end") + timedelta(hours=12))
        .otherwise(pl.col("end"))
        .alias("end"),
    )
    text = verdict(replace(incident_result, episodes=eps)).headline
    assert text.startswith("3 failure episodes between 2021-04-01 08:30 and 2021-04-02 03:50 UTC,")
    assert "  " not in text


def test_ruled_out_with_one_reason_are_named_together(incident_result: Result) -> None:
    same = pl.DataFrame(
        [
            {**incident_result.ruled_out.row(1, named=True), "label": f"client 192.0.2.{i}"}
            for i in range(5)
        ],
        schema=incident_result.ruled_out.schema,
    )
    text = verdict(replace(incident_result, ruled_out=same)).ruled_out
    assert text == (
        "Ruled out: client 192.0.2.0, client 192.0.2.1, client 192.0.2.2 and 2 similar — "
        "failures continued for 2 h after it went quiet."
    )


def test_verdict_escapes_only_data(incident_result: Result) -> None:
    v = verdict(incident_result, esc=lambda s: s.upper())
    assert "Most likely cause: LB_CPU_UTILIZATION{INSTANCE=LB-2} NEAR SATURATION (metric" in (
        v.cause or ""
    )


@pytest.mark.parametrize(
    ("x", "text"),
    [(0.0, "0%"), (0.5, "50.0%"), (0.0283, "2.83%"), (0.00042, "0.042%"), (1e-9, "<0.001%")],
)
def test_fmt_pct(x: float, text: str) -> None:
    assert fmt_pct(x) == text


def test_fmt_duration_and_span() -> None:
    assert fmt_duration(timedelta(seconds=42)) == "42 s"
    assert fmt_duration(timedelta(days=1, hours=3, minutes=5)) == "1 d 3 h"
    a = datetime(2021, 4, 1, 23, 30, tzinfo=UTC)
    assert fmt_span(a, a + timedelta(hours=1)) == "2021-04-01 23:30 – 2021-04-02 00:30 UTC"
