"""Accuracy over simulated scenarios: a fast subset (small windows, low rates).

The full grid (every scenario x 3 seeds x several formats, at full size) is
``benchmarks/accuracy.py``; its table is in ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rca._analyze import analyze
from rca.simulate import rank_of_truth, simulate

# (scenario, seed, log format, metrics format): different formats on purpose.
CASES = [
    ("bad_backend", 1, "nginx_json", "csv_long"),
    ("client_flood", 2, "registry_json", "grafana_csv"),
    ("dns_overload", 1, "alb", "prometheus_text"),
]


@pytest.mark.parametrize(("scenario", "seed", "log_format", "metrics_format"), CASES)
def test_true_cause_ranked_first(
    tmp_path: Path, scenario: str, seed: int, log_format: str, metrics_format: str
) -> None:
    truth = simulate(
        scenario,
        tmp_path,
        seed=seed,
        log_format=log_format,
        metrics_format=metrics_format,
        hours=8,
        rate=1.5,
    )
    result = analyze(logs=str(tmp_path / "logs"), metrics=str(tmp_path / "metrics"))
    doc = result.to_dict()
    assert doc["episodes"], "the incident was not detected"
    assert rank_of_truth(doc, truth) == 1, [c["label"] for c in doc["causes"][:3]]


def test_quiet_day_has_no_episode(tmp_path: Path) -> None:
    simulate("quiet_day", tmp_path, seed=1, log_format="combined", hours=8, rate=1.5)
    result = analyze(logs=str(tmp_path / "logs"), metrics=str(tmp_path / "metrics"))
    assert result.episodes.height == 0
    assert result.causes.height == 0
