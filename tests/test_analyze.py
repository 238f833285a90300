from __future__ import annotations

from datetime import timedelta

import polars as pl
import pytest
from engine_data import T0, incident

from rca._analyze import analyze
from rca._errors import ParameterError
from rca._rank_metrics import rank_metrics


@pytest.fixture(scope="module")
def result():  # type: ignore[no-untyped-def]
    reqs, metrics = incident()
    return analyze(reqs, metrics, command="test")


def test_finds_three_episodes(result) -> None:  # type: ignore[no-untyped-def]
    eps = result.episodes
    assert eps.height == 3
    starts = [(s - T0).total_seconds() / 60 for s in eps["start"]]
    assert starts == pytest.approx([60, 150, 260], abs=2)
    assert (eps["excess_failures"] > 50).all()


def test_ranks_the_cause_first_and_rules_out_red_herrings(result) -> None:  # type: ignore[no-untyped-def]
    top = result.causes.row(0, named=True)
    assert (top["kind"], top["metric"], top["labels"]) == ("metric", "lb_cpu", "instance=a")
    assert result.causes["score"].min() >= 0 and result.causes["score"].max() <= 1
    assert any("3 of 3 episodes" in s for s in top["evidence"])
    reasons = dict(zip(result.ruled_out["label"], result.ruled_out["reason"], strict=True))
    assert "1 of 3" in reasons["dns_latency{instance=a}"]
    assert "consequence" in reasons["inflight{instance=a}"]
    assert "dns_latency{instance=a}" not in result.causes["label"].to_list()


def test_json_contract(result) -> None:  # type: ignore[no-untyped-def]
    doc = result.to_dict()
    assert doc["schema"] == "rca.result/1"
    assert doc["causes"][0]["metric"] == "lb_cpu"
    assert doc["causes"][0]["labels"] == {"instance": "a"}
    assert len(doc["episodes"]) == 3
    assert {r["label"] for r in doc["ruled_out"]} >= {"dns_latency{instance=a}"}
    assert result.provenance.command == "test"
    assert result.cause_series.filter(pl.col("rank") == 1).height == result.timeline.height


def test_quiet_day_with_bursts_has_no_episode() -> None:
    reqs, metrics = incident(quiet=True, seed=5)
    res = analyze(reqs, metrics)
    assert res.episodes.height == 0
    assert res.causes.height == 0


def test_window_bucket_and_custom_failure() -> None:
    reqs, metrics = incident(hours=3, episodes=((60, 80),))
    res = analyze(
        reqs,
        metrics,
        bucket="2m",
        since=T0 + timedelta(minutes=30),
        until=(T0 + timedelta(hours=2)).isoformat(),
        failure="status >= 500",
    )
    assert res.bucket_seconds == 120
    assert res.window[0] == T0 + timedelta(minutes=30)
    assert res.episodes.height == 1
    assert ("failure", "status >= 500") in res.provenance.parameters


def test_metric_symptom_and_errors() -> None:
    reqs, metrics = incident(hours=3, episodes=((60, 80),))
    res = analyze(reqs, metrics, symptom="inflight")
    assert res.episodes.height == 1
    with pytest.raises(ParameterError, match="no such metric"):
        analyze(reqs, metrics, symptom="nope")
    with pytest.raises(ParameterError, match="nothing to analyse"):
        analyze()
    with pytest.raises(ParameterError, match="failure expression"):
        analyze(reqs, failure="status >>> 5")


def test_rank_metrics_on_wide_frame_with_planted_shift() -> None:
    _, metrics = incident(hours=3, episodes=((60, 80),))
    # With a single incident the DNS spike would be as good a suspect: leave it out.
    metrics = metrics.filter(pl.col("metric") != "dns_latency")
    wide = metrics.with_columns(pl.col("metric") + "@" + pl.col("labels")).pivot(
        "metric", index="ts", values="value"
    )
    out = rank_metrics(wide, incident=(T0 + timedelta(minutes=60), T0 + timedelta(minutes=80)))
    assert out["metric"][0] == "lb_cpu@instance=a"
    assert out["rank"].to_list() == list(range(1, out.height + 1))
    long_out = rank_metrics(
        metrics, incident=(T0 + timedelta(minutes=60), T0 + timedelta(minutes=80))
    )
    assert long_out["metric"][0] == "lb_cpu"


@pytest.mark.parametrize("unit", [1, 1000])
def test_rank_metrics_on_wide_frame_with_unix_time_column(unit: int) -> None:
    """Public RCA datasets carry a ``time`` column of unix seconds (or ms): read by
    magnitude, as the metrics readers do, with the incident given the same way."""
    _, metrics = incident(hours=3, episodes=((60, 80),))
    metrics = metrics.filter(pl.col("metric") != "dns_latency")
    wide = (
        metrics.with_columns(pl.col("metric") + "@" + pl.col("labels"))
        .pivot("metric", index="ts", values="value")
        .with_columns((pl.col("ts").dt.epoch("s") * unit).alias("time"))
        .drop("ts")
    )
    start = int((T0 + timedelta(minutes=60)).timestamp()) * unit
    out = rank_metrics(wide, incident=(start, start + 1200 * unit))
    assert out["metric"][0] == "lb_cpu@instance=a"


def test_rank_metrics_incident_outside_the_data_is_a_clear_error() -> None:
    _, metrics = incident(hours=3, episodes=((60, 80),))
    far = T0 + timedelta(days=400)
    with pytest.raises(ParameterError, match="does not overlap the metrics"):
        rank_metrics(metrics, incident=(far, far + timedelta(minutes=20)))


def test_window_without_data_names_the_data_span() -> None:
    reqs = pl.DataFrame({"ts": [T0 + timedelta(seconds=i) for i in range(600)], "status": 200})
    with pytest.raises(ParameterError, match="the data spans 2021-04-01T00:00:00Z") as err:
        analyze(reqs, since=T0 + timedelta(days=3))
    assert "--since 2021-04-01T00:00:00Z" in str(err.value)
