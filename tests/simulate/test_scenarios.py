"""Each scenario, with two seeds: its truth windows really show elevated failures in the
written logs (read back through ``rca.ingest``), quiet_day shows none, and the files
round-trip with no malformed lines apart from the deliberately torn ones."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from rca._errors import DataQualityWarning
from rca.simulate import SCENARIOS, simulate

from ._helpers import failure_rates, load_truth, read_requests

# Small worlds keep the suite fast; lb_cpu_saturation needs more than a day to recur.
SIZES = {"lb_cpu_saturation": (36.0, 0.25)}
DEFAULT_SIZE = (5.0, 0.6)


@dataclass(frozen=True)
class Written:
    folder: Path
    truth: dict[str, Any]
    requests: pl.DataFrame  # read back through rca.ingest.read_logs
    quality: pl.DataFrame  # rca.ingest.parse_logs' per-file quality


@pytest.fixture(scope="module", params=[(n, s) for n in SCENARIOS for s in (11, 12)], ids=str)
def written(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Written:
    from rca.ingest import parse_logs

    name, seed = request.param
    hours, rate = SIZES.get(name, DEFAULT_SIZE)
    folder = tmp_path_factory.mktemp(f"{name}-{seed}")
    simulate(name, folder, seed=seed, hours=hours, rate=rate)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        quality = parse_logs([folder / "logs"]).quality
    return Written(folder, load_truth(folder), read_requests(folder), quality)


def test_truth_windows_show_elevated_failures(written: Written) -> None:
    truth, requests = written.truth, written.requests
    inside, outside = failure_rates(requests, truth)
    if truth["root_cause"] is None:
        assert truth["incidents"] == []
        assert outside < 0.004, f"quiet_day failure rate {outside:.4f}"
        # No hour stands out either: the burst and the spike are harmless.
        hourly = (
            requests.group_by(pl.col("ts").dt.truncate("1h"))
            .agg(n=pl.len(), rate=(pl.col("status") >= 500).mean())
            .filter(pl.col("n") > 200)
        )
        assert hourly["rate"].max() < 0.006  # type: ignore[operator]
    else:
        assert truth["incidents"], "an incident scenario must have windows"
        assert inside > 3 * outside and inside - outside > 0.004, (inside, outside)
        assert outside < 0.004


def test_round_trip_counts_only_torn_lines(written: Written) -> None:
    truth, quality = written.truth, written.quality
    totals = quality.select(pl.col("lines", "records", "malformed", "other").sum()).row(0)
    lines, records, malformed, other = totals
    assert set(quality["format"].to_list()) == {truth["log_format"]}
    assert malformed == truth["lines"]["torn"]
    assert records == truth["lines"]["requests"] - truth["lines"]["torn"]
    assert lines == truth["lines"]["total"]
    assert other == truth["lines"]["other"]


def test_metrics_round_trip(written: Written) -> None:
    from rca.ingest import parse_metrics

    truth = written.truth
    parsed = parse_metrics([written.folder / "metrics"])
    assert int(parsed.quality["malformed"].sum()) == 0
    names = set(parsed.metrics["metric"].unique().to_list())
    assert len(names) >= 15  # standard signals plus >= 10 noise series
    for spec in [truth["root_cause"], *truth["also_accept"], *truth["red_herrings"]]:
        if spec and spec["kind"] == "metric":
            assert spec["metric"] in names


def test_red_herrings_and_root_cause_are_distinct(written: Written) -> None:
    truth = written.truth
    root = truth["root_cause"]
    for herring in truth["red_herrings"]:
        assert herring != root
        assert herring["kind"] in ("metric", "segment", "client", "log_pattern")
