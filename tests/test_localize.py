"""Tests for rca.localize (rca/_localize.py): planted causes in every input mode."""

from __future__ import annotations

import datetime as dt
import itertools
import math

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from rca._errors import DataQualityWarning, ParameterError
from rca._localize import LOCALIZE, localize

T0 = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
INCIDENT = (T0 + dt.timedelta(hours=4), T0 + dt.timedelta(hours=5))
DIMS = ["ua_kernel", "edge", "endpoint", "country"]
VALUES = {
    "ua_kernel": ["amzn2", "generic", "el7", "azure", "ubuntu"],
    "edge": ["IAD", "DUB", "FRA", "SFO", "NRT", "GRU", "SYD", "LHR"],
    "endpoint": ["blob", "manifest", "ping", "tags", "upload"],
    "country": ["US", "DE", "JP", "BR", "GB", "IN"],
}
SHARES = {
    "ua_kernel": [0.25, 0.3, 0.15, 0.15, 0.15],
    "endpoint": [0.5, 0.25, 0.15, 0.05, 0.05],
}
TWO_ATTR = {"ua_kernel": "amzn2", "edge": "IAD"}


def _mask(frame: pl.DataFrame, causes: list[dict[str, str]]) -> np.ndarray:
    if not causes:
        return np.zeros(frame.height, dtype=bool)
    expr = pl.any_horizontal(
        [pl.all_horizontal([pl.col(k) == v for k, v in c.items()]) for c in causes]
    )
    return frame.select(expr.alias("m"))["m"].to_numpy()


def _segment(row: dict[str, str]) -> list[dict[str, str]]:
    return [{"dimension": d, "value": v} for d, v in row.items()]


def _as_dict(segment: list[dict[str, str]]) -> dict[str, str]:
    return {p["dimension"]: p["value"] for p in segment}


def requests(
    causes: list[dict[str, str]], *, seed: int = 0, n: int = 60_000, rate: float = 0.4
) -> pl.DataFrame:
    """Six hours of requests; inside INCIDENT the planted segments fail at ``rate``."""
    rng = np.random.default_rng(seed)
    cols = {d: rng.choice(VALUES[d], n, p=SHARES.get(d)) for d in DIMS}  # categorical attributes
    seconds = np.sort(rng.uniform(0, 6 * 3600, n))
    frame = pl.DataFrame(cols).with_columns(
        ts=pl.lit(T0) + pl.duration(microseconds=pl.Series((seconds * 1e6).astype(np.int64)))
    )
    inside = frame.select(
        ((pl.col("ts") >= INCIDENT[0]) & (pl.col("ts") < INCIDENT[1])).alias("i")
    )["i"].to_numpy()
    p = np.where(inside & _mask(frame, causes), rate, 0.01)
    return frame.with_columns(failed=pl.Series(rng.uniform(size=n) < p))


def counts(causes: list[dict[str, str]], *, seed: int = 0, rate: float = 0.3) -> pl.DataFrame:
    """Pre-aggregated 10-minute counts per leaf over six hours."""
    rng = np.random.default_rng(seed)
    leaves = pl.DataFrame(list(itertools.product(*VALUES.values())), schema=DIMS, orient="row")
    buckets = pl.DataFrame({"ts": [T0 + dt.timedelta(minutes=10 * i) for i in range(36)]})
    frame = buckets.join(leaves, how="cross")
    traffic = rng.lognormal(1.5, 0.8, leaves.height)
    mean = np.tile(traffic, buckets.height)
    total = rng.poisson(mean)
    inside = frame.select(
        ((pl.col("ts") >= INCIDENT[0]) & (pl.col("ts") < INCIDENT[1])).alias("i")
    )["i"].to_numpy()
    p = np.where(inside & _mask(frame, causes), rate, 0.01)
    return frame.with_columns(requests=pl.Series(total), errors=pl.Series(rng.binomial(total, p)))


def snapshot(
    causes: list[dict[str, str]], *, seed: int = 0, change: float = -0.5, noise: float = 0.05
) -> pl.DataFrame:
    """One row per leaf with a forecast, as in the Squeeze / RiskLoc datasets."""
    rng = np.random.default_rng(seed)
    sizes = (5, 6, 7, 8)
    names = ["a", "b", "c", "d"]
    rows = itertools.product(
        *[[f"{x}{i}" for i in range(k)] for x, k in zip(names, sizes, strict=True)]
    )
    frame = pl.DataFrame(list(rows), schema=names, orient="row")
    predict = rng.lognormal(3, 1, frame.height)
    real = predict * (1 + rng.normal(0, noise, frame.height))
    real = np.where(_mask(frame, causes), real * (1 + change), real)
    return frame.with_columns(real=pl.Series(real), predict=pl.Series(predict))


def _assert_top(out: pl.DataFrame, planted: list[dict[str, str]]) -> None:
    top = [_as_dict(s) for s in out["segment"].head(len(planted)).to_list()]
    assert sorted(top, key=str) == sorted(planted, key=str)
    scores = out["score"].to_list()
    assert scores[len(planted) - 1] > scores[len(planted)]


# ------------------------------------------------------------------ planted two-attribute cause


def test_raw_requests_with_incident_finds_the_two_attribute_cause() -> None:
    out = localize(requests([TWO_ATTR]), dims=DIMS, failures="failed", time="ts", incident=INCIDENT)
    assert out["segment"][0].to_list() == _segment(TWO_ATTR)
    assert out["score"][0] > 0.8
    assert out["failure_rate"][0] > 0.3 > 0.02 > out["rest_failure_rate"][0]
    assert out["baseline_rate"][0] < 0.02
    assert out.schema == pl.Schema(LOCALIZE)


def test_raw_requests_without_baseline_compares_with_the_rest() -> None:
    frame = requests([TWO_ATTR]).filter(
        (pl.col("ts") >= INCIDENT[0]) & (pl.col("ts") < INCIDENT[1])
    )
    out = localize(frame, dims=DIMS, failures=pl.col("failed"))
    assert out["segment"][0].to_list() == _segment(TWO_ATTR)
    assert out["baseline_rate"].null_count() == out.height


def test_counts_over_time_find_the_two_attribute_cause() -> None:
    out = localize(
        counts([TWO_ATTR]),
        dims=DIMS,
        failures="errors",
        total="requests",
        time="ts",
        incident=INCIDENT,
    )
    assert out["segment"][0].to_list() == _segment(TWO_ATTR)
    assert out["score"][0] > 0.8


@pytest.mark.parametrize("change", [-0.5, 0.8])
def test_snapshot_with_forecast_finds_the_two_attribute_cause(change: float) -> None:
    planted = {"a": "a1", "b": "b2"}
    out = localize(
        snapshot([planted], change=change),
        dims=["a", "b", "c", "d"],
        failures="real",
        expected="predict",
    )
    assert out["segment"][0].to_list() == _segment(planted)
    assert out["score"][0] > 0.8
    assert out["support"][0] == 7 * 8  # leaves under a1, b2
    assert out["failure_rate"].null_count() == out.height


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_neither_subset_nor_superset_outranks_the_cause(seed: int) -> None:
    out = localize(
        requests([TWO_ATTR], seed=seed),
        dims=DIMS,
        failures="failed",
        time="ts",
        incident=INCIDENT,
    )
    segments = [_as_dict(s) for s in out["segment"].to_list()]
    position = segments.index(TWO_ATTR)
    assert position == 0
    related = [
        i
        for i, s in enumerate(segments)
        if s != TWO_ATTR and (s.items() <= TWO_ATTR.items() or s.items() >= TWO_ATTR.items())
    ]
    assert related, "subsets and supersets are still listed, below the cause"
    assert all(out["score"][i] < out["score"][0] for i in related)


# ------------------------------------------------------------------ multi-element and multiple causes


def test_one_attribute_cause_with_two_values_gives_two_top_rows() -> None:
    planted = [{"edge": "IAD"}, {"edge": "DUB"}]
    out = localize(requests(planted), dims=DIMS, failures="failed", time="ts", incident=INCIDENT)
    _assert_top(out, planted)
    assert out["score"][0] == pytest.approx(out["score"][1])


def test_snapshot_one_attribute_cause_with_two_values() -> None:
    planted = [{"c": "c1"}, {"c": "c4"}]
    out = localize(
        snapshot(planted, change=0.6),
        dims=["a", "b", "c", "d"],
        failures="real",
        expected="predict",
    )
    _assert_top(out, planted)


def test_two_independent_causes_in_different_cuboids_are_both_on_top() -> None:
    planted = [{"a": "a1", "b": "b2"}, {"c": "c3"}]
    out = localize(
        snapshot(planted, change=-0.6),
        dims=["a", "b", "c", "d"],
        failures="real",
        expected="predict",
    )
    _assert_top(out, planted)


# ------------------------------------------------------------------ no anomaly


def test_no_anomaly_gives_low_scores_on_requests() -> None:
    out = localize(requests([]), dims=DIMS, failures="failed", time="ts", incident=INCIDENT)
    assert out["score"].max() < 0.2


def test_no_anomaly_gives_low_scores_on_counts_and_snapshots() -> None:
    out = localize(
        counts([]),
        dims=DIMS,
        failures="errors",
        total="requests",
        time="ts",
        incident=INCIDENT,
    )
    assert out["score"].max() < 0.2
    snap = snapshot([], change=0.0)
    out = localize(snap, dims=["a", "b", "c", "d"], failures="real", expected="predict")
    assert out["score"].max() < 0.2


# ------------------------------------------------------------------ inputs and output shape


def test_lazy_and_eager_inputs_agree() -> None:
    frame = counts([TWO_ATTR], seed=4)
    kwargs = {
        "dims": DIMS,
        "failures": "errors",
        "total": "requests",
        "time": "ts",
        "incident": INCIDENT,
    }
    assert_frame_equal(localize(frame, **kwargs), localize(frame.lazy(), **kwargs))


def test_values_are_cast_to_strings_and_nulls_kept() -> None:
    frame = pl.DataFrame(
        {
            "asn": [64512, 64512, 3356, 3356, None, None] * 20,
            "edge": ["IAD", "DUB"] * 60,
            "actual": [50.0, 10.0, 10.0, 10.0, 10.0, 10.0] * 20,
            "forecast": [10.0] * 120,
        }
    )
    out = localize(frame, dims=["asn", "edge"], failures="actual", expected="forecast")
    assert out["segment"][0].to_list() == [
        {"dimension": "asn", "value": "64512"},
        {"dimension": "edge", "value": "IAD"},
    ]
    assert out["label"][0] == "asn=64512, edge=IAD"


def test_naive_incident_bounds_are_read_in_the_column_time_zone() -> None:
    frame = requests([TWO_ATTR], n=20_000)
    naive = (INCIDENT[0].replace(tzinfo=None), INCIDENT[1].replace(tzinfo=None))
    a = localize(frame, dims=DIMS, failures="failed", time="ts", incident=naive)
    b = localize(frame, dims=DIMS, failures="failed", time="ts", incident=INCIDENT)
    assert_frame_equal(a, b)


def test_nan_rows_are_dropped_with_a_warning() -> None:
    frame = snapshot([{"a": "a1"}]).with_columns(
        real=pl.when(pl.col("b") == "b0").then(float("nan")).otherwise(pl.col("real"))
    )
    with pytest.warns(DataQualityWarning, match="280 row"):
        out = localize(frame, dims=["a", "b", "c", "d"], failures="real", expected="predict")
    assert out["segment"][0].to_list() == _segment({"a": "a1"})


def test_limit_keeps_the_best_rows() -> None:
    frame = snapshot([{"a": "a1"}])
    full = localize(frame, dims=["a", "b"], failures="real", expected="predict", limit=None)
    top = localize(frame, dims=["a", "b"], failures="real", expected="predict", limit=3)
    assert_frame_equal(top, full.head(3))


@st.composite
def _small_snapshots(draw: st.DrawFn) -> pl.DataFrame:
    n = draw(st.integers(1, 40))
    a = draw(st.lists(st.sampled_from(["x", "y", "z"]), min_size=n, max_size=n))
    b = draw(st.lists(st.sampled_from(["p", "q"]), min_size=n, max_size=n))
    value = st.floats(0, 1000, allow_nan=False)
    real = draw(st.lists(value, min_size=n, max_size=n))
    predict = draw(st.lists(value, min_size=n, max_size=n))
    return pl.DataFrame({"a": a, "b": b, "real": real, "predict": predict})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_small_snapshots())
@example(
    pl.DataFrame({"a": ["x", "y"], "b": ["p", "p"], "real": [0.0, 0.0], "predict": [0.0, 0.0]})
)
@example(
    pl.DataFrame(
        {
            "a": ["x", "x", "y", "y"],
            "b": ["p", "q", "p", "q"],
            "real": [5.0, 5.0, 5.0, 5.0],
            "predict": [1.0, 1.0, 1.0, 1.0],
        }
    )
)
def test_scores_are_bounded_and_ordering_is_deterministic(frame: pl.DataFrame) -> None:
    out = localize(frame, dims=["a", "b"], failures="real", expected="predict", limit=None)
    again = localize(frame, dims=["a", "b"], failures="real", expected="predict", limit=None)
    assert_frame_equal(out, again)
    assert out.schema == pl.Schema(LOCALIZE)
    for column in ("score", "explanatory_power", "surprise"):
        values = out[column].to_list()
        assert all(0.0 <= v <= 1.0 and not math.isnan(v) for v in values), column
    assert out["score"].to_list() == sorted(out["score"].to_list(), reverse=True)


# ------------------------------------------------------------------ bad input


@pytest.fixture(scope="module")
def raw() -> pl.DataFrame:
    return requests([TWO_ATTR], n=5_000)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"dims": []}, "dims is empty"),
        ({"dims": ["edge", "edge"]}, "repeated"),
        ({"dims": ["edge", "region"]}, "region not in the frame"),
        ({"failures": "nope"}, "failures: 'nope' cannot be evaluated"),
        ({"failures": "edge"}, "also in dims"),
        ({"failures": "country", "dims": ["edge"]}, "expected a boolean or numeric"),
        ({"time": "ts"}, "needs incident"),
        ({"incident": INCIDENT}, "incident needs time"),
        ({"time": "when", "incident": INCIDENT}, "time column 'when' not in the frame"),
        ({"time": "ts", "incident": (INCIDENT[1], INCIDENT[0])}, "not before its end"),
        ({"time": "ts", "incident": ("4h", "5h")}, "must be datetimes"),
        (
            {"time": "ts", "incident": (T0 + dt.timedelta(days=2), T0 + dt.timedelta(days=3))},
            "no requests inside the incident window",
        ),
        ({"max_order": 0}, "max_order"),
        ({"limit": 0}, "limit"),
    ],
)
def test_bad_arguments_raise_parameter_error(
    raw: pl.DataFrame, kwargs: dict[str, object], message: str
) -> None:
    args: dict[str, object] = {"dims": DIMS, "failures": "failed", **kwargs}
    with pytest.raises(ParameterError, match=message):
        localize(raw, **args)  # type: ignore[arg-type]


def test_counts_need_rows_before_the_incident() -> None:
    frame = counts([TWO_ATTR]).filter(pl.col("ts") >= INCIDENT[0])
    with pytest.raises(ParameterError, match="no requests before the incident"):
        localize(
            frame, dims=DIMS, failures="errors", total="requests", time="ts", incident=INCIDENT
        )


def test_more_failures_than_requests_is_an_error() -> None:
    frame = pl.DataFrame({"edge": ["IAD", "DUB"], "errors": [5, 1], "requests": [3, 10]})
    with pytest.raises(ParameterError, match="more failures than requests"):
        localize(frame, dims=["edge"], failures="errors", total="requests")


def test_frame_must_be_polars() -> None:
    with pytest.raises(ParameterError, match="polars DataFrame"):
        localize({"edge": ["IAD"]}, dims=["edge"], failures="x")  # type: ignore[arg-type]
