"""``rca.rank_metrics``: rank metric series around a known incident window, without logs.

The metric-only entry to the same evidence and ranking as ``rca.analyze``: the incident
window plays the part of a single episode, the calm baseline is either given or every
bucket away from the incident, and the symptom (for dose-response and explaining-away) is
a chosen series or the incident indicator itself. Works on long frames (``ts, metric,
labels, value``) and wide ones (a time column plus one numeric column per series).
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import polars as pl

from rca._errors import ParameterError
from rca._rank import rank, sentences
from rca.candidates._base import Context
from rca.candidates._metrics import metric_candidates

#: Columns of the frame :func:`rank_metrics` returns.
RANKED_METRICS: dict[str, pl.DataType] = {
    "rank": pl.Int32(),
    "metric": pl.String(),
    "labels": pl.String(),
    "label": pl.String(),
    "score": pl.Float64(),
    "anomaly": pl.Float64(),
    "timing": pl.Float64(),
    "specificity": pl.Float64(),
    "dose_response": pl.Float64(),
    "z": pl.Float64(),
    "lead_s": pl.Float64(),
    "evidence": pl.List(pl.String()),
}


def _window(value: object, name: str) -> tuple[datetime, datetime]:
    if not isinstance(value, tuple | list) or len(value) != 2:
        raise ParameterError(
            f"{name}: give a (start, end) pair of datetimes, ISO strings or unix times"
        )
    out = []
    for v in value:
        if isinstance(v, int | float) and not isinstance(v, bool):
            v = _from_epoch(v, name)
        elif isinstance(v, str):
            try:
                v = datetime.fromisoformat(v.replace("Z", "+00:00"))
            except ValueError:
                raise ParameterError(f"{name}: {v!r} is not an ISO time") from None
        if not isinstance(v, datetime):
            raise ParameterError(f"{name}: {v!r} is not a datetime")
        out.append(v if v.tzinfo else v.replace(tzinfo=UTC))
    if out[1] <= out[0]:
        raise ParameterError(f"{name}: end must be after start")
    return out[0], out[1]


def _from_epoch(value: float, name: str) -> datetime:
    """Unix time in s, ms, µs or ns, told apart by magnitude exactly as the metrics
    readers (and a wide frame's time column) do."""
    from rca.ingest.metrics._common import epoch_to_datetime

    when = pl.select(epoch_to_datetime(pl.lit(value))).item()
    if not isinstance(when, datetime):
        raise ParameterError(f"{name}: {value!r} is not a unix time")
    return when


def rank_metrics(
    metrics: pl.DataFrame,
    *,
    incident: tuple[datetime | str, datetime | str],
    baseline: tuple[datetime | str, datetime | str] | None = None,
    symptom: str | None = None,
) -> pl.DataFrame:
    """Rank metric series by how well they explain a known incident window.

    Parameters
    ----------
    metrics
        Long (``ts, metric, labels, value``) or wide (time column + one column per series).
    incident
        (start, end) of the incident.
    baseline
        (start, end) of a calm period to compare against; default: all data at least a few
        buckets away from the incident.
    symptom
        A series (metric name or ``metric{labels}``) that measures the failure, used for
        dose-response and explaining-away; it is not ranked itself.

    Returns
    -------
    pl.DataFrame
        One row per series, best first (:data:`RANKED_METRICS`).

    Examples
    --------
    >>> import polars as pl
    >>> from datetime import datetime, timedelta, UTC
    >>> t0 = datetime(2021, 4, 1, tzinfo=UTC)
    >>> ts = [t0 + timedelta(minutes=i) for i in range(120)]
    >>> wide = pl.DataFrame({"time": ts, "cpu": [0.4 + 0.5 * (60 <= i < 80) for i in range(120)],
    ...                      "mem": [0.5 + 0.01 * (i % 3) for i in range(120)]})
    >>> rank_metrics(wide, incident=(ts[60], ts[80]))["metric"].to_list()
    ['cpu', 'mem']
    """
    from rca._analyze import as_long_metrics

    inc = _window(incident, "incident")
    base = _window(baseline, "baseline") if baseline is not None else None
    long = as_long_metrics(metrics)
    if long.height == 0:
        raise ParameterError("metrics: the frame has no data points")
    ts_sorted = long["ts"].unique().sort()
    steps = ts_sorted.diff().drop_nulls().dt.total_seconds()
    median_step = steps.median() if steps.len() else None
    step = int(max(1.0, float(median_step) if isinstance(median_step, int | float) else 60.0))
    if inc[1] <= ts_sorted[0] or inc[0] > ts_sorted[-1]:
        raise ParameterError(
            f"incident {inc[0]:%Y-%m-%d %H:%M:%S} – {inc[1]:%Y-%m-%d %H:%M:%S} UTC does not "
            f"overlap the metrics ({ts_sorted[0]:%Y-%m-%d %H:%M:%S} – "
            f"{ts_sorted[-1]:%Y-%m-%d %H:%M:%S} UTC); check the times and their time zone"
        )
    lo = min(ts_sorted[0], inc[0])
    hi = max(ts_sorted[-1], inc[1])
    start_s = float(int(lo.timestamp()) - int(lo.timestamp()) % step)
    n = int((hi.timestamp() - start_s) // step) + 1
    cands = metric_candidates(long, start_s=start_s, n=n, bucket_seconds=step)
    ts_s = start_s + step * np.arange(n, dtype=float)
    s_idx = int(np.searchsorted(ts_s, inc[0].timestamp(), side="right")) - 1
    e_idx = int(np.searchsorted(ts_s, inc[1].timestamp(), side="left"))
    s_idx, e_idx = max(0, s_idx), min(n, max(e_idx, s_idx + 1))
    indicator = np.zeros(n)
    indicator[s_idx:e_idx] = 1.0
    rate = indicator
    if symptom is not None:
        match = [c for c in cands if symptom in (c.label, c.metric)]
        if not match:
            raise ParameterError(f"symptom {symptom!r}: no such series in the metrics frame")
        rate = np.nan_to_num(match[0].series, nan=float(np.nanmedian(match[0].series)))
        cands = [c for c in cands if c.key != match[0].key]
    calm = None
    if base is not None:
        calm = (ts_s >= base[0].timestamp()) & (ts_s < base[1].timestamp())
        if not calm.any():
            raise ParameterError("baseline: no data points fall inside the baseline window")
    ctx = Context(
        ts_s=ts_s,
        requests=np.ones(n),
        failures=rate,
        rate=rate,
        episodes=((s_idx, e_idx),),
        bucket_seconds=step,
        baseline_rate=0.0,
        baseline=calm,
    )
    if not cands:
        return pl.DataFrame(schema=RANKED_METRICS)
    scored = rank(cands, ctx)
    # A single incident cannot rule a series out by coverage: list every series, the ones
    # that failed timing or explaining-away after the others.
    scored.sort(key=lambda s: (s.ruled_out is not None, 0))
    rows = [
        {
            "rank": i + 1,
            "metric": s.cand.metric,
            "labels": s.cand.labels,
            "label": s.cand.label,
            "score": s.score,
            "anomaly": s.features["anomaly"],
            "timing": s.features["timing"],
            "specificity": s.features["specificity"],
            "dose_response": s.features["dose_response"],
            "z": s.ev.z,
            "lead_s": s.ev.median_lead_s,
            "evidence": ([f"ruled out: {s.ruled_out}"] if s.ruled_out else []) + sentences(s, ctx),
        }
        for i, s in enumerate(scored)
    ]
    return pl.DataFrame(rows, schema=RANKED_METRICS)
