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


# -- "no incident found" says what was checked ------------------------------------------


def _with_bump(result: Result, start: int, minutes: int, extra: int) -> Result:
    """The quiet day with ``extra`` more failures per bucket for ``minutes`` from ``start``."""
    tl = result.timeline.with_row_index("i").with_columns(
        failures=pl.when(pl.col("i").is_between(start, start + minutes - 1))
        .then(pl.col("failures") + extra)
        .otherwise(pl.col("failures"))
    )
    tl = tl.with_columns(failure_rate=pl.col("failures") / pl.col("requests")).drop("i")
    return replace(result, timeline=tl.with_columns(symptom=pl.col("failure_rate")))


def test_no_incident_verdict_says_what_was_checked(quiet_result: Result) -> None:
    bumped = _with_bump(quiet_result, 300, 60, 3)  # 11:00-12:00 UTC, about 5x the rate
    v = verdict(bumped)
    text = " ".join(v.checked)
    assert "Window: 2021-04-01 06:00–18:00 UTC (12 h 00 min), 720 buckets of 1 min." in text
    assert "Requests: 135,390 from 135,402 log lines in 1 file(s)" in text
    assert "Metrics: 30 series checked." in text
    # The planted hour is the largest excursion, with its figures and the rest's rate.
    assert "Largest excursion: 2021-04-01 11:00–12:00 UTC" in text
    excursion = next(item for item in v.checked if item.startswith("Largest"))
    assert "did not flag it" in excursion and "in the rest of the window" in excursion
    assert "--since/--until" in v.checked[-1]


def test_a_short_burst_beats_a_long_shallow_drift(quiet_result: Result) -> None:
    bumped = _with_bump(_with_bump(quiet_result, 60, 240, 1), 500, 15, 12)
    assert "Largest excursion: 2021-04-01 14:20–14:35 UTC" in " ".join(verdict(bumped).checked)


def test_no_excursion_without_failures(quiet_result: Result) -> None:
    zero = quiet_result.timeline.with_columns(failures=0, failure_rate=0.0, symptom=0.0)
    v = verdict(replace(quiet_result, timeline=zero))
    assert v.checked and not any("Largest" in item for item in v.checked)


def test_an_incident_verdict_lists_no_checks(incident_result: Result) -> None:
    assert verdict(incident_result).checked == ()


def test_a_runner_up_with_the_same_score_is_named(incident_result: Result) -> None:
    causes = incident_result.causes.with_columns(
        score=pl.when(pl.col("rank") == 2).then(pl.col("score").max()).otherwise(pl.col("score"))
    )
    second = causes.filter(pl.col("rank") == 2)["label"][0]
    cause = verdict(replace(incident_result, causes=causes)).cause
    assert cause is not None and f"About as likely: {second}" in cause
    assert "About as likely" not in (verdict(incident_result).cause or "")
