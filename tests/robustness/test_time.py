"""Time: zones, daylight-saving transitions, out-of-order and duplicated lines, clock skew.

The reference is a simulated incident (``storage_latency``: storage latency rises, then
requests fail) in nginx ``$time_local`` logs and long-CSV metrics, all in UTC. Each test
rewrites the same data the way real systems produce it and checks that the analysis says
the same thing.
"""

from __future__ import annotations

import json
import random
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

import rca
from rca.ingest import parse_logs
from tests.robustness.conftest import run_cli

_LOCAL = re.compile(r"\[(\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d) ([+-]\d{4})\]")
_ISO = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)Z,", re.M)


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("time") / "storage"
    result = run_cli(
        "simulate", "storage_latency", "-o", str(root), "--hours", "3", "--rate", "2",
        "--log-format", "nginx_timing", "--metrics-format", "csv_long",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return root


def _copy(scenario: Path, dest: Path, log_text: Any = None, metric_text: Any = None) -> Path:
    """The scenario with each log file / the metrics file rewritten by a function."""
    for sub, fn in (("logs", log_text), ("metrics", metric_text)):
        (dest / sub).mkdir(parents=True)
        for src in sorted((scenario / sub).iterdir()):
            text = src.read_text(encoding="utf-8")
            (dest / sub / src.name).write_text(fn(text) if fn else text, encoding="utf-8")
    return dest


def _result(folder: Path) -> dict[str, Any]:
    data = rca.analyze(folder / "logs", folder / "metrics").to_dict()
    data["data_quality"].pop("files")  # paths differ between copies
    return data


@pytest.fixture(scope="module")
def baseline(scenario: Path) -> dict[str, Any]:
    data = _result(scenario)
    assert data["episodes"], "the reference scenario must have an incident"
    assert data["causes"][0]["metric"] == "blobstore_request_latency_seconds"
    return data


def _to_zone(text: str, zone: str) -> str:
    tz = ZoneInfo(zone)

    def local(m: re.Match[str]) -> str:
        t = datetime.strptime(f"{m.group(1)} {m.group(2)}", "%d/%b/%Y:%H:%M:%S %z").astimezone(tz)
        return "[" + t.strftime("%d/%b/%Y:%H:%M:%S %z") + "]"

    return _LOCAL.sub(local, text)


def _iso_to_zone(text: str, zone: str) -> str:
    tz = ZoneInfo(zone)

    def local(m: re.Match[str]) -> str:
        t = datetime.fromisoformat(m.group(1)).replace(tzinfo=UTC).astimezone(tz)
        return t.isoformat() + ","

    return _ISO.sub(local, text)


def test_logs_and_metrics_in_different_zones_give_the_same_result(
    scenario: Path, baseline: dict[str, Any], tmp_path: Path
) -> None:
    moved = _copy(
        scenario,
        tmp_path / "zones",
        log_text=lambda t: _to_zone(t, "America/Los_Angeles"),
        metric_text=lambda t: _iso_to_zone(t, "Asia/Tokyo"),
    )
    sample = next((moved / "logs").iterdir()).read_text()[:200]
    assert "-0700]" in sample  # the rewrite happened
    assert "+09:00," in (moved / "metrics" / "metrics.csv").read_text()[:500]
    assert _result(moved) == baseline


@pytest.mark.parametrize("day", ["2021-03-28", "2021-10-31"])  # spring forward, fall back
def test_daylight_saving_transitions_in_time_local(tmp_path: Path, day: str) -> None:
    berlin = ZoneInfo("Europe/Berlin")
    start = datetime.fromisoformat(f"{day}T00:00:00+00:00")
    truth = [start + timedelta(seconds=30 * i) for i in range(240)]  # 00:00-02:00 UTC
    lines = [
        f"203.0.113.{i % 9} - - [{t.astimezone(berlin):%d/%b/%Y:%H:%M:%S %z}] "
        f'"GET /v2/ HTTP/1.1" 200 2 "-" "curl/8.0"'
        for i, t in enumerate(truth)
    ]
    offsets = {line.split("] ")[0][-5:] for line in lines}
    assert offsets == {"+0100", "+0200"}  # the file crosses the transition
    path = tmp_path / "access.log"
    path.write_text("\n".join(lines) + "\n")
    parsed = parse_logs(path)
    assert parsed.requests["ts"].to_list() == truth
    assert parsed.quality["out_of_order"].to_list() == [0]  # local clock jumps, UTC does not


def test_lines_out_of_order_by_minutes_give_the_same_result(
    scenario: Path, baseline: dict[str, Any], tmp_path: Path
) -> None:
    def shuffle(text: str) -> str:
        lines = text.splitlines()
        rng = random.Random(7)
        out = []
        for i in range(0, len(lines), 600):  # ~5 minutes of one LB's lines per block
            block = lines[i : i + 600]
            rng.shuffle(block)
            out += block
        return "\n".join(out) + "\n"

    moved = _copy(scenario, tmp_path / "shuffled", log_text=shuffle)
    quality = parse_logs(moved / "logs").quality
    assert int(quality["out_of_order"].sum()) > 1000  # reported in data quality
    assert _result(moved) == baseline


def _doubled(scenario: Path, dest: Path) -> dict[str, Any]:
    return _result(
        _copy(
            scenario,
            dest,
            log_text=lambda t: "".join(line + "\n" + line + "\n" for line in t.splitlines()),
        )
    )


def test_duplicated_lines_are_counted_and_leave_rates_unchanged(
    scenario: Path, baseline: dict[str, Any], tmp_path: Path
) -> None:
    data = _doubled(scenario, tmp_path / "doubled")
    assert data["data_quality"]["requests"] == 2 * baseline["data_quality"]["requests"]
    (main,) = baseline["episodes"]
    overlapping = [
        e for e in data["episodes"] if e["start"] < main["end"] and main["start"] < e["end"]
    ]
    assert len(overlapping) == 1
    assert abs(overlapping[0]["failure_rate"] - main["failure_rate"]) < 0.01


def test_duplicated_lines_do_not_invent_episodes(
    scenario: Path, baseline: dict[str, Any], tmp_path: Path
) -> None:
    folder = _copy(
        scenario,
        tmp_path / "doubled",
        log_text=lambda t: "".join(line + "\n" + line + "\n" for line in t.splitlines()),
    )
    result = rca.analyze(folder / "logs", folder / "metrics")
    data = result.to_dict()
    assert len(data["episodes"]) == len(baseline["episodes"])
    assert data["causes"][0]["label"] == baseline["causes"][0]["label"]
    # ... and the clumping is reported, so the user can look for the duplicates.
    assert any("clumped" in note for note in result.diagnostics.notes), result.diagnostics


def _shift_iso(text: str, seconds: int) -> str:
    def moved(m: re.Match[str]) -> str:
        t = datetime.fromisoformat(m.group(1)) + timedelta(seconds=seconds)
        return t.strftime("%Y-%m-%dT%H:%M:%S") + "Z,"

    return _ISO.sub(moved, text)


@pytest.mark.parametrize(
    "skew_s",
    [
        -300,
        300,
    ],
)
def test_five_minutes_of_clock_skew_keep_the_episodes_and_the_cause(
    scenario: Path, baseline: dict[str, Any], tmp_path: Path, skew_s: int
) -> None:
    moved = _copy(scenario, tmp_path / "skewed", metric_text=lambda t: _shift_iso(t, skew_s))
    data = _result(moved)
    assert data["episodes"] == baseline["episodes"]  # found in the logs alone
    top3 = [c["metric"] for c in data["causes"][:3]]
    assert "blobstore_request_latency_seconds" in top3, top3


@pytest.mark.parametrize("skew_s", [-300, 300])
def test_skew_beyond_the_alignment_tolerance_is_reported(
    scenario: Path, tmp_path: Path, skew_s: int
) -> None:
    moved = _copy(scenario, tmp_path / "skewed", metric_text=lambda t: _shift_iso(t, skew_s))
    result = rca.analyze(moved / "logs", moved / "metrics")
    skew = result.diagnostics.clock_skew_s
    # Within 90 s: the scenario's own skew (up to 30 s) and the half scrape step by which
    # a rate series trails the traffic come on top of the planted 5 minutes.
    assert skew is not None and abs(skew - skew_s) <= 90, skew
    assert json.loads(result.to_json())["data_quality"]["clock_skew_s"] is not None
