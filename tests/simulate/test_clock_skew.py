from __future__ import annotations

from pathlib import Path

import pytest

from rca import read_metrics
from rca._errors import ParameterError
from rca.simulate import simulate


def test_clock_skew_moves_only_the_metrics(tmp_path: Path) -> None:
    """The same world, with the metrics' clock 5 minutes ahead: same logs, later metrics."""
    base = simulate("storage_latency", tmp_path / "a", seed=2, hours=1, rate=0.5)
    late = simulate("storage_latency", tmp_path / "b", seed=2, hours=1, rate=0.5, clock_skew=300.0)
    assert late["clock_skew_s"] == 300.0
    for name in base["files"]["logs"]:
        assert (tmp_path / "a" / "logs" / name).read_bytes() == (
            tmp_path / "b" / "logs" / name
        ).read_bytes()
    a = read_metrics(tmp_path / "a" / "metrics").sort("metric", "labels", "ts")
    b = read_metrics(tmp_path / "b" / "metrics").sort("metric", "labels", "ts")
    # Same scrape grid; values stamped g describe the world at g - skew, so they moved.
    assert a["ts"].to_list() == b["ts"].to_list()
    changed = (a["value"] != b["value"]).fill_null(True).mean()
    assert isinstance(changed, float) and changed > 0.3, changed


def test_clock_skew_beyond_an_hour_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="clock-skew"):
        simulate("quiet_day", tmp_path, clock_skew=-4000)
