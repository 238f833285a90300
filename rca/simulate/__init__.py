"""Incident scenarios with a known truth: ``rca simulate``.

:func:`simulate` writes a scenario's logs (``DIR/logs/``), metrics (``DIR/metrics/``)
and ``DIR/truth.json``: the incident windows, the root cause in the JSON-result
vocabulary, equally correct alternatives and the planted red herrings. The analysis is
measured against these (:func:`rank_of_truth`, :func:`matches`).

Data flow: a seeded :class:`~rca.simulate._world.World` (clients, traffic, backends) ->
a scenario changes requests and metric signals -> writers render each format.

>>> import rca.simulate
>>> sorted(rca.simulate.SCENARIOS)[:3]
['bad_backend', 'cdn_client_hang', 'client_flood']
"""

from __future__ import annotations

import json
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from rca._errors import ParameterError
from rca.simulate._metrics import MetricsBuilder
from rca.simulate._render_logs import CDN_FORMATS, LOG_FORMATS, write_logs
from rca.simulate._render_metrics import METRICS_FORMATS, write_metrics
from rca.simulate._scenarios import SCENARIO_CLASSES, Context, Scenario
from rca.simulate._truth import matches, rank_of_truth
from rca.simulate._world import World

#: Scenario name -> class (with ``summary``, default formats, hours and rate).
SCENARIOS: dict[str, type[Scenario]] = {cls.name: cls for cls in SCENARIO_CLASSES}

__all__ = [
    "LOG_FORMATS",
    "METRICS_FORMATS",
    "SCENARIOS",
    "matches",
    "rank_of_truth",
    "simulate",
]


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ").replace(".000000Z", "Z")


def simulate(
    name: str,
    out_dir: str | Path,
    *,
    seed: int = 0,
    log_format: str | None = None,
    metrics_format: str | None = None,
    hours: float | None = None,
    rate: float | None = None,
    compress: bool = False,
    clock_skew: float | None = None,
) -> dict[str, Any]:
    """Write scenario ``name`` into ``out_dir`` and return its truth (also ``truth.json``).

    Parameters
    ----------
    name
        A key of :data:`SCENARIOS`.
    out_dir
        Folder to write ``logs/``, ``metrics/`` and ``truth.json`` into (created).
    seed
        Every seed gives a different world: timing, rates, magnitudes, instances, IPs.
    log_format, metrics_format
        One of :data:`LOG_FORMATS` / :data:`METRICS_FORMATS`; default: the scenario's own.
    hours, rate
        Window length and mean requests per second; default: the scenario's own.
    compress
        Gzip the log files and text metrics files.
    clock_skew
        Seconds the metrics' clock runs ahead of the logs' (negative: behind); default: a
        random skew within +-30 s, as between machines with working NTP.

    Examples
    --------
    >>> import tempfile
    >>> truth = simulate("quiet_day", tempfile.mkdtemp(), seed=1, hours=1, rate=0.5)
    >>> truth["root_cause"] is None, truth["incidents"]
    (True, [])
    """
    if name not in SCENARIOS:
        raise ParameterError(
            f"unknown scenario {name!r}; choose one of {', '.join(SCENARIOS)} "
            "(rca simulate --list describes them)"
        )
    cls = SCENARIOS[name]
    log_format = log_format or cls.default_log_format
    metrics_format = metrics_format or cls.default_metrics_format
    if log_format not in LOG_FORMATS:
        raise ParameterError(
            f"unknown log format {log_format!r}; choose one of {', '.join(LOG_FORMATS)}"
        )
    if log_format not in cls.log_formats:
        raise ParameterError(
            f"{name} cannot be expressed in {log_format} ({cls.why_not}); "
            f"use one of {', '.join(cls.log_formats)}"
        )
    if metrics_format not in METRICS_FORMATS:
        raise ParameterError(
            f"unknown metrics format {metrics_format!r}; choose one of {', '.join(METRICS_FORMATS)}"
        )
    hours = cls.default_hours if hours is None else float(hours)
    rate = cls.default_rate if rate is None else float(rate)
    if not 1.0 <= hours <= 24 * 14:
        raise ParameterError(f"--hours must be between 1 and 336, got {hours}")
    if not 0.01 <= rate <= 2000:
        raise ParameterError(f"--rate must be between 0.01 and 2000 requests/s, got {rate}")

    rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
    peak_hour = float(rng.uniform(13.0, 18.5))
    if cls.first_peak_after is None:
        hour = float(rng.integers(0, 24))
    else:  # the scenario needs its first daily peak a few hours into the window
        hour = (peak_hour - rng.uniform(*cls.first_peak_after)) % 24
    start = datetime(2021, 3, 1, tzinfo=UTC) + timedelta(
        days=int(rng.integers(0, 300)), minutes=round(hour * 60)
    )
    world = World(
        rng,
        start=start,
        hours=hours,
        rate=rate,
        cdn=log_format in CDN_FORMATS or cls.serves_blobs,
        peak_hour=peak_hour,
    )
    skew = float(rng.uniform(-30.0, 30.0))  # drawn even when overridden: same world
    if clock_skew is not None:
        if not abs(clock_skew) <= 3600:
            raise ParameterError(f"--clock-skew must be within +-3600 s, got {clock_skew}")
        skew = float(clock_skew)
    step = int(rng.choice([15, 30, 60]))
    mb = MetricsBuilder(rng, world.seconds, step, skew)
    outcome = cls().run(Context(world, rng, mb, log_format))

    out = Path(out_dir)
    logs = write_logs(outcome.requests, world, log_format, out / "logs", rng, compress=compress)
    start_us = int(start.timestamp()) * 1_000_000
    metrics = mb.frame(start_us)
    mfiles = write_metrics(
        metrics, metrics_format, out / "metrics", rng, help_text=mb.help_of(), compress=compress
    )

    def window(a: float, b: float) -> dict[str, str]:
        return {"start": _iso(world.ts(a)), "end": _iso(world.ts(b))}

    n_inc = len(outcome.incidents)
    summary = (
        f"{name}: {n_inc} incident window(s), {logs.requests:,} requests in {log_format}, "
        f"{metrics.select('metric', 'labels').n_unique()} metric series in {metrics_format}"
    )
    truth: dict[str, Any] = {
        "scenario": name,
        "seed": seed,
        "summary": summary,
        "description": cls.summary,
        "window": window(0, world.seconds),
        "log_format": log_format,
        "metrics_format": metrics_format,
        "hours": hours,
        "rate": rate,
        "incidents": [window(a, b) for a, b in outcome.incidents],
        "root_cause": outcome.root_cause,
        "also_accept": outcome.also_accept,
        "red_herrings": outcome.red_herrings,
        "clock_skew_s": round(skew, 3),
        "metrics_step_s": step,
        "files": {"logs": list(logs.files), "metrics": list(mfiles)},
        "lines": {
            "total": logs.lines,
            "requests": logs.requests,
            "torn": logs.torn,
            "other": logs.other,
        },
        "notes": outcome.notes,
    }
    (out / "truth.json").write_text(json.dumps(truth, indent=2) + "\n")
    return truth
