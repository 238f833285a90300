from __future__ import annotations

import pytest

from rca._rank import WEIGHTS, combine


def test_scores_lie_in_unit_interval_and_need_every_axis() -> None:
    full = {k: 1.0 for k in ("coverage", "timing", "anomaly", "specificity", "dose_response")}
    assert combine(full, "metric") == pytest.approx(1.0)
    assert combine({k: 0.0 for k in full}, "metric") == pytest.approx(0.02)
    one_of_three = {**full, "coverage": 1 / 3}
    late = {**full, "timing": 0.05}
    assert combine(one_of_three, "metric") < 0.75 < combine(full, "metric")
    assert combine(late, "metric") < 0.6
    # A log pattern restates the failures: it carries a prior below a metric's.
    assert combine(full, "log_pattern") < combine(full, "metric")


def test_every_feature_has_a_weight() -> None:
    assert all(w > 0 for w in WEIGHTS.values())
