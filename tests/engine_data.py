"""Small hand-built requests and metrics frames with a known cause, for the engine tests.

Not a fixture file of the ingest tests: these frames skip parsing entirely, so the engine
(bucketing, detection, candidates, ranking) is tested on its own.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl

T0 = datetime(2021, 4, 1, tzinfo=UTC)


def incident(
    *,
    seed: int = 0,
    hours: float = 6.0,
    rate: float = 3.0,
    episodes: tuple[tuple[int, int], ...] = ((60, 80), (150, 170), (260, 280)),
    fail: float = 0.05,
    quiet: bool = False,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Requests and metrics where ``lb_cpu`` saturates in every episode (the cause),
    ``dns_latency`` spikes in the first episode only (a red herring), ``inflight`` rises
    4 minutes after each episode starts (a consequence) and ``noise`` is noise.

    With ``quiet`` there are no excess failures, but traffic bursts 3x in the episodes.
    """
    rng = np.random.default_rng(seed)
    span = int(hours * 3600)
    minutes = span // 60
    in_ep = np.zeros(minutes + 1, dtype=bool)
    for s, e in episodes:
        in_ep[s:e] = True
    # Traffic: steady, or 3x bursts in the "episodes" of a quiet day.
    base_t = rng.uniform(0, span, rng.poisson(rate * span))
    if quiet:
        extra = np.concatenate(
            [rng.uniform(s * 60, e * 60, rng.poisson(2 * rate * (e - s) * 60)) for s, e in episodes]
        )
        base_t = np.concatenate([base_t, extra])
    t = np.sort(base_t)
    n = t.size
    minute = (t // 60).astype(int)
    p = np.where(in_ep[minute] & (not quiet), fail, 0.002)
    failed = rng.uniform(size=n) < p
    reqs = pl.DataFrame(
        {
            "ts": pl.Series([T0 + timedelta(seconds=float(x)) for x in t]),
            "status": pl.Series(np.where(failed, 503, 200), dtype=pl.Int16),
            "client_ip": rng.choice([f"10.0.{i}.{j}" for i in range(5) for j in range(20)], n),
            "endpoint": rng.choice(["manifest", "blob", "ping"], n),
            "edge": rng.choice(["fra", "iad", "sin"], n),
            "duration_s": rng.exponential(0.2, n),
            "bytes_sent": rng.integers(100, 10000, n),
            "error_message": pl.Series(
                ["upstream connect error 10.0.0.1:80" if f else None for f in failed],
                dtype=pl.String,
            ),
        }
    )
    mins = np.arange(minutes)
    cpu = 0.5 + 0.1 * np.sin(mins / 60) + rng.normal(0, 0.02, minutes)
    dns = 0.01 + rng.normal(0, 0.001, minutes)
    later = 10 + rng.normal(0, 1, minutes)
    if not quiet:
        cpu[in_ep[:minutes]] = 0.95 + rng.normal(0, 0.01, int(in_ep[:minutes].sum()))
        for s, e in episodes:
            cpu[s - 3 : s] = 0.94
            later[s + 4 : e + 4] = 50
        s, e = episodes[0]
        dns[s:e] = 0.2
    noise = rng.normal(0, 1, minutes)
    ts = [T0 + timedelta(minutes=int(m), seconds=15) for m in mins]
    metrics = pl.concat(
        [
            pl.DataFrame({"ts": ts, "metric": name, "labels": "instance=a", "value": v})
            for name, v in [
                ("lb_cpu", cpu),
                ("dns_latency", dns),
                ("inflight", later),
                ("noise", noise),
            ]
        ]
    ).with_columns(pl.col("ts").cast(pl.Datetime("us", "UTC")))
    return reqs, metrics


def bad_edge(*, seed: int = 0, hours: float = 4.0, rate: float = 4.0) -> pl.DataFrame:
    """Requests where blob downloads at edge ``iad`` by ``amzn2`` clients hang (status 200,
    60-120 s) from minute 100 to 160; everything else is normal."""
    rng = np.random.default_rng(seed)
    span = int(hours * 3600)
    t = np.sort(rng.uniform(0, span, rng.poisson(rate * span)))
    n = t.size
    edge = rng.choice(["fra", "iad", "sin", "nrt"], n)
    kernel = rng.choice(["amzn2", "generic", "el7"], n, p=[0.3, 0.5, 0.2])
    endpoint = rng.choice(["manifest", "blob"], n)
    minute = t // 60
    hit = (edge == "iad") & (kernel == "amzn2") & (endpoint == "blob")
    hit &= (minute >= 100) & (minute < 160) & (rng.uniform(size=n) < 0.8)
    duration = np.where(hit, rng.uniform(60, 120, n), rng.lognormal(-1.5, 0.5, n))
    return pl.DataFrame(
        {
            "ts": pl.Series([T0 + timedelta(seconds=float(x)) for x in t]),
            "status": pl.Series(np.full(n, 200), dtype=pl.Int16),
            "endpoint": endpoint,
            "edge": edge,
            "ua_kernel": kernel,
            "client_ip": rng.choice([f"10.1.{i}.7" for i in range(50)], n),
            "duration_s": duration,
            "bytes_sent": rng.integers(10_000, 1_000_000, n),
        }
    )
