"""Benchmark of rca.localize: 20,000 leaves x 4 dimensions must answer in under 2 s.

Run ``python benchmarks/localize.py``. It times ``localize`` (median and best of a few
runs, in this process, after one warm-up) on three inputs with a planted two-attribute
cause, checks that the cause comes first, prints the figures, and appends one row per
input to the "localize" table of benchmarks/RESULTS.md with the date and CPU model.
Times are never asserted in tests: the machine is shared.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl

from rca._localize import localize

RESULTS = Path(__file__).with_name("RESULTS.md")
SECTION = "## localize"
HEADER = (
    "| date (UTC) | CPU | input | leaves x dims | rows | median s | best s | cause first |\n"
    "|---|---|---|---|---|---|---|---|"
)
SIZES = (10, 10, 10, 20)  # 20,000 leaves
DIMS = ["a", "b", "c", "d"]
CAUSE = {"a": "a3", "c": "c7"}
T0 = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
INCIDENT = (T0 + dt.timedelta(hours=10), T0 + dt.timedelta(hours=12))


def _leaves() -> pl.DataFrame:
    values = [[f"{d}{i}" for i in range(k)] for d, k in zip(DIMS, SIZES, strict=True)]
    return pl.DataFrame(list(itertools.product(*values)), schema=DIMS, orient="row")


def _in_cause() -> pl.Expr:
    return pl.all_horizontal([pl.col(k) == v for k, v in CAUSE.items()])


def snapshot(rng: np.random.Generator) -> pl.DataFrame:
    """Squeeze/RiskLoc-style: one row per leaf with ``real`` and ``predict``."""
    leaves = _leaves()
    predict = rng.lognormal(2, 1.2, leaves.height)
    real = predict * (1 + rng.normal(0, 0.05, leaves.height))
    return leaves.with_columns(real=pl.Series(real), predict=pl.Series(predict)).with_columns(
        real=pl.when(_in_cause()).then(pl.col("real") * 0.4).otherwise(pl.col("real"))
    )


def counts(rng: np.random.Generator) -> pl.DataFrame:
    """Twelve two-hour buckets of request and error counts per leaf."""
    leaves = _leaves()
    buckets = pl.DataFrame({"ts": [T0 + dt.timedelta(hours=2 * i) for i in range(12)]})
    frame = buckets.join(leaves, how="cross")
    traffic = np.tile(rng.lognormal(2, 1, leaves.height), buckets.height)
    total = rng.poisson(traffic)
    inside = (pl.col("ts") >= INCIDENT[0]) & (pl.col("ts") < INCIDENT[1])
    p = frame.select(pl.when(inside & _in_cause()).then(0.3).otherwise(0.01).alias("p"))["p"]
    return frame.with_columns(
        requests=pl.Series(total), errors=pl.Series(rng.binomial(total, p.to_numpy()))
    )


def requests(rng: np.random.Generator, n: int = 250_000) -> pl.DataFrame:
    """A day of raw requests (about 3 per second) over the 20,000 possible leaves."""
    cols = {d: rng.integers(0, k, n) for d, k in zip(DIMS, SIZES, strict=True)}
    seconds = rng.uniform(0, 24 * 3600, n)
    frame = pl.DataFrame(
        {d: pl.Series([f"{d}{i}" for i in v]) for d, v in cols.items()}
    ).with_columns(
        ts=pl.lit(T0) + pl.duration(microseconds=pl.Series((seconds * 1e6).astype(np.int64)))
    )
    inside = (pl.col("ts") >= INCIDENT[0]) & (pl.col("ts") < INCIDENT[1])
    p = frame.select(pl.when(inside & _in_cause()).then(0.5).otherwise(0.01).alias("p"))["p"]
    return frame.with_columns(failed=pl.Series(rng.uniform(size=n) < p.to_numpy()))


def _time(run: Callable[[], pl.DataFrame], repeat: int = 5) -> tuple[float, float, bool]:
    run()  # warm-up: first-call costs are not what a user waits for in a session
    times, first_ok = [], True
    for _ in range(repeat):
        start = time.perf_counter()
        out = run()
        times.append(time.perf_counter() - start)
        top = {p["dimension"]: p["value"] for p in out["segment"][0]}
        first_ok &= top == CAUSE
    return statistics.median(times), min(times), first_ok


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return f"{line.split(':', 1)[1].strip()} ({os.cpu_count()} cores)"
    except OSError:
        pass
    return f"{platform.processor() or platform.machine()} ({os.cpu_count()} cores)"


def _append(rows: list[str]) -> None:
    """Append rows to the localize table, adding the section the first time."""
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    lines = text.rstrip("\n").split("\n")
    if SECTION not in lines:
        lines += ["", SECTION, "", "Written by `benchmarks/localize.py`; one row per run.", ""]
        lines += HEADER.split("\n")
        end = len(lines)
    else:
        start = lines.index(SECTION)
        end = start + 1
        while end < len(lines) and not lines[end].startswith("## "):
            end += 1
        while end > start and not lines[end - 1].startswith("|"):
            end -= 1  # after the last table row of the section
    lines[end:end] = rows
    RESULTS.write_text("\n".join(lines) + "\n")


def main() -> None:
    rng = np.random.default_rng(7)
    cases: list[tuple[str, pl.DataFrame, Callable[[pl.DataFrame], pl.DataFrame]]] = [
        (
            "snapshot with forecasts",
            snapshot(rng),
            lambda f: localize(f, dims=DIMS, failures="real", expected="predict"),
        ),
        (
            "counts over time",
            counts(rng),
            lambda f: localize(
                f,
                dims=DIMS,
                failures="errors",
                total="requests",
                time="ts",
                incident=INCIDENT,
            ),
        ),
        (
            "raw requests",
            requests(rng),
            lambda f: localize(f, dims=DIMS, failures="failed", time="ts", incident=INCIDENT),
        ),
    ]
    now = f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M}"
    cpu = _cpu()
    rows = []
    for name, frame, call in cases:
        median, best, ok = _time(lambda frame=frame, call=call: call(frame))
        leaves = frame.select(DIMS).unique().height
        print(
            f"{name:24s} {leaves:>6,} leaves x {len(DIMS)} dims, {frame.height:>8,} rows: "
            f"median {median:.3f} s, best {best:.3f} s, cause first: {ok}"
        )
        rows.append(
            f"| {now} | {cpu} | {name} | {leaves:,} x {len(DIMS)} | {frame.height:,} "
            f"| {median:.3f} | {best:.3f} | {'yes' if ok else 'NO'} |"
        )
    _append(rows)
    print(f"appended {len(rows)} rows to {RESULTS}")


if __name__ == "__main__":
    main()
