"""Shared helpers for the simulator tests: failure rates computed from the written logs."""

from __future__ import annotations

import json
import warnings
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from rca._errors import DataQualityWarning


def load_truth(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "truth.json").read_text())


def _parse(ts: str) -> datetime:
    return datetime.fromisoformat(ts.replace("Z", "+00:00"))


def read_requests(folder: Path) -> pl.DataFrame:
    """The written logs read back through the public reader (torn lines warn)."""
    from rca.ingest import read_logs

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        return read_logs([folder / "logs"]).collect()


#: A request failed: 5xx, 429, 499, ALB's 460, 0, or it hung (long and barely moving).
FAILED = (
    (pl.col("status") >= 500)
    | pl.col("status").is_in([429, 499, 460, 0])
    | ((pl.col("duration_s") > 30) & (pl.col("bytes_sent") / pl.col("duration_s") < 1e5))
).fill_null(False)


def failure_rates(requests: pl.DataFrame, truth: dict[str, Any]) -> tuple[float, float]:
    """Failure rate inside the truth's incident windows and outside them.

    The windows are widened by 15 minutes at the end: formats that stamp a request with
    its end time put a hung request's line minutes after it started.
    """
    inside = pl.lit(False)
    for w in truth["incidents"]:
        end = _parse(w["end"]) + timedelta(minutes=15)
        inside = inside | pl.col("ts").is_between(_parse(w["start"]), end)
    rates = requests.group_by(inside.alias("inside")).agg(rate=FAILED.mean())
    got = dict(zip(rates["inside"].to_list(), rates["rate"].to_list(), strict=True))
    return float(got.get(True, 0.0)), float(got.get(False, 0.0))
