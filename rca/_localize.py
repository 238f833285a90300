"""``rca.localize``: which attribute combinations (segments) explain an anomaly.

This is the segment-localisation stage of the data flow (see DESIGN.md, "Scoring",
Segments bullet). It is public on its own, for the classic multi-dimensional root-cause
localisation input, and ``rca.analyze`` calls it for its segment candidates.

Every input mode is first reduced to one *leaf table*: one row per combination of all
dimensions, with the actual value ``v`` in the window of interest, the value ``f`` expected
without the anomaly, a weight ``w`` that says how an anomaly spreads over the leaves of a
segment, and a noise variance. Then one search runs on that table, in the spirit of
HotSpot, Squeeze and RiskLoc:

* every *cuboid* (subset of the dimensions) up to ``max_order`` dimensions is aggregated
  with one Polars ``group_by``; each of its *elements* (one value per dimension) predicts the
  leaves under it by spreading its own deviation over them in proportion to ``w`` (the
  ripple effect, or a uniform excess failure rate for request counts);
* an element's *gain* is how much that prediction shrinks the distance between actual
  and expected over its leaves (Poisson deviance for counts, L1 for forecasts); elements of one cuboid partition the leaves, so the gain of
  a set of elements is the sum of their gains and the best set of a cuboid is a prefix of
  its elements sorted by gain (HotSpot's generalised potential score, without the tree
  search);
* a set's potential score is penalised for each extra dimension and each extra element, so
  the smallest combination that explains most wins: a superset of the true cause needs more
  elements for the same fit and a subset fits its other leaves badly;
* the winning set is the first cause. Its leaves are then *explained away* (set aside) and
  the search repeats on the rest, so a second, independent cause in another cuboid is
  found too, and a subset or superset of a found cause keeps almost no excess of its own
  and drops down the ranking.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Literal

import polars as pl

from rca._errors import DataQualityWarning, ParameterError

_PAIR = pl.Struct({"dimension": pl.String(), "value": pl.String()})

#: The frame ``localize`` returns, one row per candidate segment, best first.
LOCALIZE: dict[str, pl.DataType] = {
    "segment": pl.List(_PAIR),  # dimension -> value, values as in the input, cast to string
    "label": pl.String(),  # "dim=value, dim=value" for display
    "order": pl.Int32(),  # number of dimensions in the segment
    "score": pl.Float64(),  # in [0, 1]
    "explanatory_power": pl.Float64(),  # share of the total excess the segment explains, [0, 1]
    "surprise": pl.Float64(),  # Jensen-Shannon divergence (base 2) of its expected/actual shares
    "actual": pl.Float64(),  # failures (or KPI) observed in the segment
    "expected": pl.Float64(),  # failures (or KPI) expected without the anomaly
    "failure_rate": pl.Float64(),  # actual / requests; null for forecast snapshots
    "rest_failure_rate": pl.Float64(),  # failure rate of everything outside the segment
    "baseline_rate": pl.Float64(),  # the segment's baseline failure rate; null without baseline
    "support": pl.Int64(),  # requests in the segment, or leaves for forecast snapshots
}

Mode = Literal["requests", "counts", "forecast"]

# Parsimony: a set's potential score is multiplied by (1 - _DIM_PENALTY) per dimension
# beyond the first and by (1 - _ELEMENT_PENALTY) per element beyond the first. Both are
# relative, so they mean the same on noisy and clean data: a superset of a cause must fit
# more than 10% better to win, and an element joins a set only if it adds about 5% of the
# set's explained distance (a stray noisy element does not).
_DIM_PENALTY = 0.10
_ELEMENT_PENALTY = 0.05
# Baseline rates of sparse leaves shrink toward the global baseline rate with the weight
# of this many failures (empirical-Bayes style smoothing).
_PRIOR_FAILURES = 3.0
# A later round of the search reports an additional cause only when it adds this share of
# the total excess and each of its elements is this many standard deviations above noise
# (thousands of elements are tested, so a lower bar lets noise through).
_MIN_EXTRA_SHARE = 0.10
_MIN_EXTRA_Z = 5.0
_MAX_ROUNDS = 3
# Excess below this many noise standard deviations of the whole frame is not called an
# anomaly: it is the floor of the denominator of the explanatory power.
_NOISE_FLOOR_SD = 4.0


@dataclass(frozen=True)
class _Leaves:
    """The leaf table every input mode reduces to."""

    table: pl.DataFrame  # dims (String) + v, f, w, n, var, base_rate
    mode: Mode
    has_rates: bool  # n counts requests (failure rates are meaningful)
    has_baseline: bool  # f comes from a baseline period (base_rate is meaningful)
    sign: float  # +1 when the anomaly is an excess, -1 when it is a drop
    var_floor: float  # added to every noise variance (one failure for counts)


def localize(
    frame: pl.DataFrame | pl.LazyFrame,
    *,
    dims: Sequence[str],
    failures: str | pl.Expr,
    total: str | pl.Expr | None = None,
    expected: str | pl.Expr | None = None,
    time: str | None = None,
    incident: tuple[object, object] | None = None,
    max_order: int = 3,
    limit: int | None = 100,
) -> pl.DataFrame:
    """Rank the attribute combinations that explain an anomaly.

    Three inputs are understood:

    * **raw requests**, one row each: ``failures`` is a boolean column or expression and
      ``total`` is None. With ``time`` and ``incident`` the baseline is every row outside
      the incident window; without them each combination's failure rate is compared with
      the rest of the traffic.
    * **pre-aggregated counts over time**: ``failures`` and ``total`` are count columns,
      ``time`` the bucket time. The baseline is the rows before the incident: a leaf is
      expected to fail at its own baseline rate, smoothed toward the global rate when it
      has few baseline requests. Without ``time``/``incident`` the rows are compared with
      the rest, as for raw requests.
    * **a snapshot with forecasts**: ``expected`` holds the forecast per leaf and
      ``failures`` the actual value (a count or any additive KPI), as in the Squeeze,
      RiskLoc and HotSpot datasets. The anomaly may be a rise or a drop.

    Parameters
    ----------
    frame
        The data, eager or lazy.
    dims
        The attribute columns segments are made of. Values are cast to strings.
    failures
        Column name or expression: a boolean per request, a failure count per row, or the
        actual KPI of a snapshot.
    total
        Column name or expression with the request count per row (pre-aggregated counts);
        not used with ``expected``.
    expected
        Column name or expression with the forecast per row (snapshot mode).
    time
        Time column; needs ``incident``.
    incident
        ``(start, end)`` of the incident window, end exclusive, comparable with ``time``
        (naive datetimes are taken in the column's time zone).
    max_order
        Largest number of dimensions in a segment.
    limit
        Keep this many rows (None keeps every candidate with an excess).

    Returns
    -------
    pl.DataFrame
        Columns as in ``LOCALIZE``, best first. ``segment`` is a list of
        ``{dimension, value}`` structs in the order of ``dims``. Rows of one multi-element
        cause (say two values of ``edge``) share the top score. ``score`` is in [0, 1]:
        the selected causes score their significance times the share of the excess they
        explain; every other candidate is scored on what is left once the selected causes
        are explained away, so a subset or superset of a cause scores low.

    Examples
    --------
    >>> import polars as pl
    >>> snap = pl.DataFrame({
    ...     "a": ["a1", "a1", "a2", "a2"], "b": ["b1", "b2", "b1", "b2"],
    ...     "real": [10.0, 40.0, 10.0, 10.0], "predict": [10.0, 10.0, 10.0, 10.0]})
    >>> out = localize(snap, dims=["a", "b"], failures="real", expected="predict")
    >>> out["label"][0]
    'a=a1, b=b2'
    """
    dims = _check_dims(dims, frame)
    if not isinstance(max_order, int) or max_order < 1:
        raise ParameterError(f"max_order must be a positive integer, got {max_order!r}")
    if limit is not None and (not isinstance(limit, int) or limit < 1):
        raise ParameterError(f"limit must be a positive integer or None, got {limit!r}")
    leaves = _prepare(frame, dims, failures, total, expected, time, incident)
    return _search(leaves, dims, min(max_order, len(dims)), limit)


# --------------------------------------------------------------------------- input modes


def _check_dims(dims: Sequence[str], frame: pl.DataFrame | pl.LazyFrame) -> list[str]:
    if isinstance(dims, str):
        dims = [dims]
    dims = list(dims)
    if not dims:
        raise ParameterError("dims is empty: pass the attribute columns to localize over")
    if not all(isinstance(d, str) for d in dims):
        raise ParameterError(f"dims must be column names (strings), got {dims!r}")
    if len(set(dims)) != len(dims):
        raise ParameterError(f"dims has repeated columns: {dims!r}")
    if not isinstance(frame, pl.DataFrame | pl.LazyFrame):
        raise ParameterError(
            f"frame must be a polars DataFrame or LazyFrame, got {type(frame).__name__}"
        )
    columns = _schema(frame)
    missing = [d for d in dims if d not in columns]
    if missing:
        raise ParameterError(
            f"dims column(s) {', '.join(missing)} not in the frame "
            f"(columns: {', '.join(columns.names())})"
        )
    return dims


def _schema(frame: pl.DataFrame | pl.LazyFrame) -> pl.Schema:
    return frame.collect_schema() if isinstance(frame, pl.LazyFrame) else frame.schema


def _expr(value: str | pl.Expr, what: str, lf: pl.LazyFrame, dims: list[str]) -> pl.Expr:
    """A column name or expression, checked against the frame."""
    if isinstance(value, str):
        if value in dims:
            raise ParameterError(f"{what} column {value!r} is also in dims; use another column")
        expr = pl.col(value)
    elif isinstance(value, pl.Expr):
        expr = value
    else:
        raise ParameterError(
            f"{what} must be a column name or a polars expression, got {type(value).__name__}"
        )
    try:
        dtype = lf.select(expr.alias("_x")).collect_schema()["_x"]
    except pl.exceptions.PolarsError as exc:
        raise ParameterError(f"{what}: {value!r} cannot be evaluated on the frame: {exc}") from exc
    if not (dtype.is_numeric() or dtype == pl.Boolean):
        raise ParameterError(f"{what}: {value!r} is {dtype}, expected a boolean or numeric column")
    return expr


def _time_bound(value: object, dtype: pl.DataType, name: str) -> pl.Expr:
    """A literal comparable with the time column (naive datetimes take the column's zone)."""
    if isinstance(dtype, pl.Datetime):
        if not isinstance(value, dt.datetime):
            raise ParameterError(
                f"incident bounds must be datetimes for the Datetime column {name!r}, got {value!r}"
            )
        lit = pl.lit(value)
        if dtype.time_zone is not None:
            if value.tzinfo is None:
                return lit.dt.replace_time_zone(dtype.time_zone).cast(dtype)
            return lit.dt.convert_time_zone(dtype.time_zone).cast(dtype)
        if value.tzinfo is not None:
            return lit.dt.convert_time_zone("UTC").dt.replace_time_zone(None).cast(dtype)
        return lit.cast(dtype)
    if dtype == pl.Date:
        if not isinstance(value, dt.date):
            raise ParameterError(f"incident bounds must be dates for {name!r}, got {value!r}")
        return pl.lit(value).cast(pl.Date)
    if dtype.is_numeric():
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise ParameterError(f"incident bounds must be numbers for {name!r}, got {value!r}")
        return pl.lit(value).cast(dtype)
    raise ParameterError(f"time column {name!r} is {dtype}; expected a Datetime, Date or number")


def _window(
    lf: pl.LazyFrame, time: str | None, incident: tuple[object, object] | None
) -> tuple[pl.Expr, pl.Expr, pl.Expr] | None:
    """(in incident, before incident, outside incident) masks, or None without a window."""
    if time is None and incident is None:
        return None
    if time is None:
        raise ParameterError("incident needs time=: name the time column of the frame")
    if incident is None:
        raise ParameterError(f"time={time!r} needs incident=(start, end), the incident window")
    schema = lf.collect_schema()
    if time not in schema:
        raise ParameterError(
            f"time column {time!r} not in the frame (columns: {', '.join(schema.names())})"
        )
    if not isinstance(incident, tuple | list) or len(incident) != 2:
        raise ParameterError(f"incident must be a (start, end) pair, got {incident!r}")
    start = _time_bound(incident[0], schema[time], time)
    end = _time_bound(incident[1], schema[time], time)
    if incident[0] >= incident[1]:  # type: ignore[operator]
        raise ParameterError(f"incident start {incident[0]} is not before its end {incident[1]}")
    t = pl.col(time)
    inside = (t >= start) & (t < end)
    return inside.fill_null(False), (t < start).fill_null(False), (~inside).fill_null(False)


def _prepare(
    frame: pl.DataFrame | pl.LazyFrame,
    dims: list[str],
    failures: str | pl.Expr,
    total: str | pl.Expr | None,
    expected: str | pl.Expr | None,
    time: str | None,
    incident: tuple[object, object] | None,
) -> _Leaves:
    lf = frame.lazy()
    fail = _expr(failures, "failures", lf, dims)
    tot = None if total is None else _expr(total, "total", lf, dims)
    exp = None if expected is None else _expr(expected, "expected", lf, dims)
    window = _window(lf, time, incident)
    keys = [pl.col(d).cast(pl.String) for d in dims]
    if exp is not None:
        return _forecast_leaves(lf, dims, keys, fail, exp, tot, window)
    return _count_leaves(lf, dims, keys, fail, tot, window, time)


def _forecast_leaves(
    lf: pl.LazyFrame,
    dims: list[str],
    keys: list[pl.Expr],
    fail: pl.Expr,
    exp: pl.Expr,
    tot: pl.Expr | None,
    window: tuple[pl.Expr, pl.Expr, pl.Expr] | None,
) -> _Leaves:
    if window is not None:
        lf = lf.filter(window[0])
    rows = lf.select(
        *keys,
        v=fail.cast(pl.Float64),
        f=exp.cast(pl.Float64),
        n=pl.lit(1.0) if tot is None else tot.cast(pl.Float64),
    )
    bad = (
        pl.col("v").is_null() | pl.col("f").is_null() | pl.col("v").is_nan() | pl.col("f").is_nan()
    )
    table = (
        rows.group_by(dims)
        .agg(
            v=pl.col("v").filter(~bad).sum(),
            f=pl.col("f").filter(~bad).sum(),
            n=pl.col("n").filter(~bad).sum(),
            dropped=bad.sum(),
            rows=pl.len(),
        )
        .collect()
    )
    if table.height == 0:
        raise ParameterError(
            "no rows to localize" + (" inside the incident window" if window is not None else "")
        )
    dropped = int(table["dropped"].sum())
    if dropped:
        warnings.warn(
            f"localize: {dropped} row(s) with a null or NaN actual/expected value were ignored",
            DataQualityWarning,
            stacklevel=3,
        )
    table = table.filter(pl.col("rows") > pl.col("dropped"))
    sign = 1.0 if float((table["v"] - table["f"]).sum()) >= 0 else -1.0
    # Ripple effect: a segment's deviation spreads over its leaves in proportion to their
    # forecast. The tiny floor keeps all-zero forecasts usable (spread evenly then).
    scale = float(table["f"].abs().mean() or 0.0)  # type: ignore[arg-type]
    floor = 1e-9 * scale + 1e-12
    scale_, power = _noise_model(table["v"] - table["f"], table["f"].abs() + floor)
    table = table.select(
        *dims,
        "v",
        "f",
        w=pl.col("f").abs() + floor,
        n=pl.col("n"),
        var=scale_ * (pl.col("f").abs() + floor) ** power,
        base_rate=pl.lit(None, pl.Float64),
    )
    var_floor = scale_ * floor**power
    return _Leaves(
        table,
        "forecast",
        has_rates=False,
        has_baseline=False,
        sign=sign,
        var_floor=var_floor,
    )


def _noise_model(residual: pl.Series, forecast: pl.Series) -> tuple[float, float]:
    """Fit ``var = scale * forecast**power`` to the residuals, robustly.

    Forecast errors grow with the forecast, like Poisson counts (power 1) or in proportion
    (power 2). The power comes from how the median absolute residual grows over ten
    forecast deciles; medians keep the few anomalous leaves from driving the fit.
    """
    frame = pl.DataFrame({"r": residual, "f": forecast})
    power = 1.0
    if frame.height >= 20:
        bins = (
            frame.with_columns(bin=(pl.col("f").rank("ordinal") * 10 // (frame.height + 1)))
            .group_by("bin")
            .agg(f=pl.col("f").median(), mad=pl.col("r").abs().median())
            .filter((pl.col("f") > 0) & (pl.col("mad") > 0))
        )
        if bins.height >= 3:
            x, y = bins["f"].log(), bins["mad"].log()
            dx = x - x.mean()
            denom = float((dx * dx).sum())
            if denom > 0:
                slope = float((dx * (y - y.mean())).sum()) / denom
                power = min(max(2 * slope, 1.0), 2.0)
    z = frame["r"] / frame["f"] ** (power / 2)
    stats = pl.DataFrame({"z": z}).select(
        mad=(pl.col("z") - pl.col("z").median()).abs().median(),
        # Most leaves may match their forecast exactly (MAD 0): then the mean square of
        # the central half still gives a finite, tiny noise level.
        central=(pl.col("z") ** 2)
        .filter(
            (pl.col("z") >= pl.col("z").quantile(0.25))
            & (pl.col("z") <= pl.col("z").quantile(0.75))
        )
        .mean(),
    )
    mad, central = stats["mad"][0], stats["central"][0]
    scale = (1.4826 * mad) ** 2 if mad is not None else 0.0
    if scale <= 0:
        scale = central if central is not None else 0.0
    return max(float(scale), 1e-12), power


def _count_leaves(
    lf: pl.LazyFrame,
    dims: list[str],
    keys: list[pl.Expr],
    fail: pl.Expr,
    tot: pl.Expr | None,
    window: tuple[pl.Expr, pl.Expr, pl.Expr] | None,
    time: str | None,
) -> _Leaves:
    mode: Mode = "requests" if tot is None else "counts"
    v = fail.cast(pl.Float64).fill_null(0.0)  # a request of unknown outcome did not fail
    n = pl.lit(1.0) if tot is None else tot.cast(pl.Float64).fill_null(0.0)
    columns: dict[str, pl.Expr] = {"_v": v, "_n": n}
    if window is None or time is None:
        columns |= {"_in": pl.lit(True), "_base": pl.lit(False)}
    else:
        # Raw requests take every row outside the incident as baseline; pre-aggregated
        # counts take the rows before it (DESIGN.md, "Contracts").
        base = window[1] if mode == "counts" else window[2]
        columns |= {"_in": window[0], "_base": base, "_t": pl.col(time)}
    agg = [
        pl.col("_v").filter(pl.col("_in")).sum().alias("v"),
        pl.col("_n").filter(pl.col("_in")).sum().alias("n"),
        pl.col("_v").filter(pl.col("_base")).sum().alias("bv"),
        pl.col("_n").filter(pl.col("_base")).sum().alias("bn"),
        ((pl.col("_v") > pl.col("_n")) | (pl.col("_v") < 0)).sum().alias("bad"),
    ]
    if "_t" in columns:
        agg += [pl.col("_t").min().alias("tmin"), pl.col("_t").max().alias("tmax")]
    table = lf.select(*keys, **columns).group_by(dims).agg(agg).collect()
    if table.height == 0:
        raise ParameterError("no rows to localize: the frame is empty")
    bad = int(table["bad"].sum())
    if bad:
        raise ParameterError(
            f"{bad} row(s) have negative failures or more failures than requests; "
            "check that failures= and total= name the right columns"
        )
    span = ""
    if "_t" in columns:
        span = f" (data spans {table['tmin'].min()!s} to {table['tmax'].max()!s})"
    if float(table["n"].sum()) <= 0:
        raise ParameterError(f"no requests inside the incident window{span}; check incident=")
    table = table.filter(pl.col("n") > 0)
    if "_t" not in columns:
        return _rest_leaves(table, dims, mode)
    bv, bn = float(table["bv"].sum()), float(table["bn"].sum())
    if bn <= 0:
        where = "before" if mode == "counts" else "outside"
        raise ParameterError(
            f"no requests {where} the incident window to take a baseline from{span}; "
            "pass more data or move incident="
        )
    # Half a failure when the baseline had none: a zero rate would make any failure
    # infinitely surprising.
    p0 = max(bv, 0.5) / bn
    # Empirical-Bayes smoothing toward the global baseline rate, worth _PRIOR_FAILURES
    # failures: a leaf with few baseline requests stays close to the global rate.
    prior_n = _PRIOR_FAILURES / p0
    rate = (pl.col("bv") + prior_n * p0) / (pl.col("bn") + prior_n)
    table = table.with_columns(base_rate=rate).select(
        *dims,
        "v",
        f=pl.col("n") * pl.col("base_rate"),
        w=pl.col("n"),
        n=pl.col("n"),
        # Poisson noise of the incident counts plus the uncertainty of the baseline rate.
        var=pl.col("n") * pl.col("base_rate")
        + (pl.col("n") * pl.col("base_rate")) ** 2 / (pl.col("bv") + _PRIOR_FAILURES),
        base_rate=pl.col("base_rate"),
    )
    return _Leaves(table, mode, has_rates=True, has_baseline=True, sign=1.0, var_floor=1.0)


def _rest_leaves(table: pl.DataFrame, dims: list[str], mode: Mode) -> _Leaves:
    """Leaves compared with a robust reference failure rate instead of a baseline.

    The reference is the request-weighted median of the failure rates of the values of
    each dimension (then the median over dimensions): as long as the anomaly touches less
    than half of the traffic of a dimension, it is the rate of the healthy majority, which
    is what "compared with the rest" means once the anomaly is set aside.
    """
    rates = []
    for d in dims:
        per = (
            table.group_by(d)
            .agg(pl.col("v").sum(), pl.col("n").sum())
            .with_columns(rate=pl.col("v") / pl.col("n"))
            .sort(["rate", d], nulls_last=True)
            .with_columns(cum=pl.col("n").cum_sum() / pl.col("n").sum())
        )
        rates.append(float(per.filter(pl.col("cum") >= 0.5)["rate"][0]))
    p_ref = sorted(rates)[len(rates) // 2]
    total_v = max(float(table["v"].sum()), 1.0)
    table = table.select(
        *dims,
        "v",
        f=pl.col("n") * p_ref,
        w=pl.col("n"),
        n=pl.col("n"),
        var=pl.col("n") * p_ref * (1 + pl.col("n") * p_ref / total_v),
        base_rate=pl.lit(None, pl.Float64),
    )
    return _Leaves(table, mode, has_rates=True, has_baseline=False, sign=1.0, var_floor=1.0)


# --------------------------------------------------------------------------- the search


def _distance(actual: pl.Expr, predicted: pl.Expr, counts: bool) -> pl.Expr:
    """How far ``actual`` is from ``predicted``, per leaf.

    Counts use the Poisson deviance: spreading a segment's excess uniformly over its
    requests is then the best fit, whereas an L1 distance on sparse leaves (mostly 0 or 1
    failures) would favour blaming fewer leaves than the anomaly really touched.
    Forecast snapshots use the L1 distance, as in HotSpot's potential score, which does
    not assume a noise model.
    """
    if not counts:
        return (actual - predicted).abs()
    mu = predicted.clip(lower_bound=1e-12)
    log_term = pl.when(actual > 0).then(actual * (actual / mu).log()).otherwise(0.0)
    return 2 * (log_term - (actual - mu))


def _cuboid_query(
    leaves: pl.LazyFrame, cube: tuple[str, ...], index: int, counts: bool
) -> pl.LazyFrame:
    """One cuboid: per element, its sums and the distance over its leaves with and
    without spreading the element's own deviation over them."""
    fitted, aggs, extra = _cuboid_exprs(cube, index, counts)
    return leaves.with_columns(_a=fitted).group_by(list(cube)).agg(*aggs).with_columns(*extra)


@functools.lru_cache(maxsize=4096)
def _cuboid_exprs(
    cube: tuple[str, ...], index: int, counts: bool
) -> tuple[pl.Expr, tuple[pl.Expr, ...], tuple[pl.Expr, ...]]:
    """``_cuboid_query``'s expressions, built once per cuboid: a search evaluates every
    cuboid again after each cause it explains away, and building the expressions (in
    Python, holding the GIL) cost as much as running them."""
    c = list(cube)
    ve, fe, we = (pl.col(x).sum().over(c) for x in ("v", "f", "w"))
    fitted = pl.col("f") + pl.when(we > 0).then((ve - fe) * pl.col("w") / we).otherwise(0.0)
    aggs = (
        pl.col("v").sum().alias("V"),
        pl.col("f").sum().alias("F"),
        pl.col("n").sum().alias("N"),
        pl.len().alias("leaves"),
        pl.col("var").sum().alias("var"),
        _distance(pl.col("v"), pl.col("f"), counts).sum().alias("d_out"),
        _distance(pl.col("v"), pl.col("_a"), counts).sum().alias("d_in"),
    )
    extra = (
        pl.lit(index, pl.Int32).alias("cuboid"),
        pl.lit(len(c), pl.Int32).alias("order"),
        pl.concat_str(
            [pl.lit(f"{d}=") + pl.col(d).fill_null("null") for d in c], separator=", "
        ).alias("label"),
        pl.concat_list(
            [pl.struct(dimension=pl.lit(d, pl.String), value=pl.col(d)) for d in c]
        ).alias("segment"),
    )
    return fitted, aggs, extra


def _evaluate(
    table: pl.DataFrame, cubes: list[tuple[str, ...]], first: int, sign: float, counts: bool
) -> pl.DataFrame:
    """Every element of the given cuboids, with its gain and its cuboid's best prefix set."""
    lazy = table.lazy()
    parts = pl.collect_all(
        [_cuboid_query(lazy, cube, first + i, counts) for i, cube in enumerate(cubes)]
    )
    elements = pl.concat(parts, how="diagonal_relaxed")
    total_distance = float(table.select(_distance(pl.col("v"), pl.col("f"), counts).sum()).item())
    excess = sign * (pl.col("V") - pl.col("F"))
    # Sums of floats may come out of a parallel group_by in any order: round the keys we
    # sort on so that equal fits tie exactly and the label breaks the tie.
    gain = (pl.col("d_out") - pl.col("d_in")).round_sig_figs(10)
    cand = (excess > 0) & (gain > 0)
    penalty = (1 - _DIM_PENALTY) ** (pl.col("order") - 1)
    out = (
        elements.with_columns(excess=excess, gain=gain, cand=cand)
        .sort(["cuboid", "cand", "gain", "label"], descending=[False, True, True, False])
        .with_columns(
            k=pl.col("cand").cast(pl.Int64).cum_sum().over("cuboid"),
            cumgain=(pl.col("gain") * pl.col("cand")).cum_sum().over("cuboid"),
        )
        .with_columns(
            J=pl.when(pl.col("cand")).then(
                (
                    pl.col("cumgain")
                    / max(total_distance, 1e-300)
                    * penalty
                    * (1 - _ELEMENT_PENALTY) ** (pl.col("k") - 1)
                ).round_sig_figs(10)
            )
        )
    )
    # The best prefix of each cuboid; ties prefer the smaller set.
    best = (
        out.filter(pl.col("cand"))
        .sort(["cuboid", "J", "k"], descending=[False, True, False])
        .group_by("cuboid", maintain_order=True)
        .first()
        .select("cuboid", best_k="k", best_J="J")
    )
    return out.join(best, on="cuboid", how="left").with_columns(
        in_set=pl.col("cand") & (pl.col("k") <= pl.col("best_k"))
    )


def _explain_away(
    table: pl.DataFrame, members: pl.DataFrame, cube: tuple[str, ...]
) -> pl.DataFrame:
    """Drop the leaves a selected cause accounts for.

    Later rounds then fit the next cause on the leaves it alone explains: a cause that
    overlaps an earlier one is not blamed for the overlap, and a subset or superset of a
    selected cause keeps only what the selected cause does not explain.
    """
    marks = members.select(cube)
    return table.join(marks, on=list(cube), how="anti", nulls_equal=True)


def _confidence(z: pl.Expr, tested: int) -> pl.Expr:
    """Map a z-score to [0, 1), discounting the number of elements tested.

    The largest of ``tested`` noise z-scores is about ``sqrt(2 ln tested)``, so only the
    part above that counts: 2 standard deviations beyond it give 0.63, 4 give 0.98.
    """
    expected_max = math.sqrt(2 * math.log(max(tested, 2)))
    return 1 - (-(((z - expected_max).clip(lower_bound=0) / 2) ** 2)).exp()


def _search(leaves: _Leaves, dims: list[str], max_order: int, limit: int | None) -> pl.DataFrame:
    table, sign = leaves.table, leaves.sign
    # Layers by increasing cardinality. A set's score is at most its cuboid's dimension
    # penalty, so once a set scores above what any deeper layer could reach, stop.
    cubes: list[tuple[str, ...]] = []
    parts = []
    best_score = 0.0
    for order in range(1, max_order + 1):
        if order > 1 and best_score >= (1 - _DIM_PENALTY) ** (order - 1):
            break
        layer = list(combinations(dims, order))
        part = _evaluate(table, layer, len(cubes), sign, leaves.has_rates)
        cubes += layer
        parts.append(part)
        best_score = max(best_score, float(part["best_J"].max() or 0.0))  # type: ignore[arg-type]
    first = pl.concat(parts, how="diagonal_relaxed")

    deviation = sign * float((table["v"] - table["f"]).sum())
    noise = math.sqrt(float(table["var"].sum()) + leaves.var_floor)
    # The excess a segment explains is measured against the total excess, but never
    # against less than a few noise standard deviations: without an anomaly no segment
    # explains "all" of a total that is only noise.
    denom = max(deviation, _NOISE_FLOOR_SD * noise, 1e-300)
    keys = ["cuboid", *dims]
    z = pl.col("excess") / (pl.col("var") + leaves.var_floor).sqrt()

    chosen = []
    current = first
    for round_ in range(_MAX_ROUNDS):
        sets = current.filter(pl.col("in_set")).sort(
            ["best_J", "order", "cuboid"], descending=[True, False, False]
        )
        if sets.height == 0:
            break
        cuboid = int(sets["cuboid"][0])
        members = current.filter(pl.col("in_set") & (pl.col("cuboid") == cuboid))
        if round_ > 0:
            # An extra cause must stand on its own: every element of it significant. Sets
            # built from the best-fitting noisy elements would otherwise pass as a group.
            members = members.filter(z >= _MIN_EXTRA_Z)
        excess = float(members["excess"].sum())
        share = excess / denom
        if round_ > 0 and (members.height == 0 or share < _MIN_EXTRA_SHARE):
            break
        chosen.append(
            members.select(*keys, chosen_round=pl.lit(round_), set_share=pl.lit(share), z_sel=z)
        )
        table = _explain_away(table, members, cubes[cuboid])
        if table.height == 0:
            current = first.clear()
            break
        current = _evaluate(table, cubes, 0, sign, leaves.has_rates)

    residual = current.select(*keys, excess_r=pl.col("excess"), z_r=z)
    total_v = float(leaves.table["v"].sum())
    total_n = float(leaves.table["n"].sum())
    total_f = float(leaves.table["f"].sum())
    out = first.filter(pl.col("excess") > 0).join(residual, on=keys, how="left", nulls_equal=True)
    if chosen:
        picks = pl.concat(chosen)
        out = out.join(picks, on=keys, how="left", nulls_equal=True)
    else:
        out = out.with_columns(
            chosen_round=pl.lit(None, pl.Int32),
            set_share=pl.lit(None, pl.Float64),
            z_sel=pl.lit(None, pl.Float64),
        )
    selected_score = _confidence(pl.col("z_sel"), first.height) * pl.col("set_share").clip(0, 1)
    other_score = (
        _confidence(pl.col("z_r"), first.height)
        * (pl.col("excess_r") / denom).clip(0, 1)
        * (1 - _DIM_PENALTY) ** (pl.col("order") - 1)
    )
    p = pl.col("F").abs() / max(abs(total_f), 1e-300)
    q = pl.col("V").abs() / max(abs(total_v), 1e-300)
    rates = leaves.has_rates
    result = out.select(
        "segment",
        "label",
        pl.col("order").cast(pl.Int32),
        score=pl.when(pl.col("chosen_round").is_not_null())
        .then(selected_score)
        .otherwise(other_score)
        .fill_null(0.0)
        .round(12),
        explanatory_power=(pl.col("excess") / denom).clip(0, 1).round(12),
        surprise=(_js_part(p, q) + _js_part(q, p)).clip(0, 1),
        actual=pl.col("V"),
        expected=pl.col("F"),
        failure_rate=(pl.col("V") / pl.col("N")) if rates else pl.lit(None, pl.Float64),
        rest_failure_rate=(
            pl.when(total_n - pl.col("N") > 0).then(
                (total_v - pl.col("V")) / (total_n - pl.col("N"))
            )
            if rates
            else pl.lit(None, pl.Float64)
        ),
        baseline_rate=(pl.col("F") / pl.col("N"))
        if leaves.has_baseline
        else pl.lit(None, pl.Float64),
        support=(pl.col("N").round(0) if rates else pl.col("leaves")).cast(pl.Int64),
    ).sort(
        ["score", "explanatory_power", "order", "label"],
        descending=[True, True, False, False],
    )
    if limit is not None:
        result = result.head(limit)
    return result.cast(LOCALIZE)  # type: ignore[arg-type]


def _js_part(a: pl.Expr, b: pl.Expr) -> pl.Expr:
    """Half of one term of the Jensen-Shannon divergence, base 2; 0 log 0 = 0."""
    m = (a + b) / 2
    return pl.when(a > 0).then(0.5 * a * (a / m).log(2)).otherwise(0.0)
