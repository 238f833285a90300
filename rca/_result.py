"""The result of an analysis: a frozen dataclass of typed Polars frames, and its JSON form.

This is the hand-off point between the engine (``rca._analyze``) and every output: the
HTML report, Markdown, the notebook display, the JSON contract ``rca.result/1`` and the
terminal summary. Renderers only read it.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from rca._schema import FILE_QUALITY, UTC_TS, parse_labels

SCHEMA_VERSION = "rca.result/1"

#: One row per episode, in time order.
EPISODES: dict[str, pl.DataType] = {
    "start": UTC_TS,
    "end": UTC_TS,  # exclusive: start of the first bucket after the episode
    "requests": pl.Int64(),
    "failures": pl.Int64(),
    "failure_rate": pl.Float64(),
    "baseline_rate": pl.Float64(),
    "excess_failures": pl.Float64(),  # severity: failures above what the baseline rate predicts
}

_PAIR = pl.Struct({"dimension": pl.String(), "value": pl.String()})
_FEATURE = pl.Struct({"name": pl.String(), "value": pl.Float64()})

#: One row per ranked cause, best first.
CAUSES: dict[str, pl.DataType] = {
    "rank": pl.Int32(),
    "kind": pl.String(),  # metric | segment | client | log_pattern
    "label": pl.String(),  # one line, human readable
    "score": pl.Float64(),  # in [0, 1]
    "metric": pl.String(),  # metric name exactly as in the input; null unless kind == metric
    "labels": pl.String(),  # the series' labels in the stable "k=v,k=v" form; null unless metric
    "segment": pl.List(_PAIR),  # dimension -> value, exactly as in the input; empty for metrics
    "evidence": pl.List(pl.String()),  # sentences that cite figures
    "features": pl.List(_FEATURE),  # the evidence features the score was combined from
}

#: Suspects that looked guilty but failed coverage, timing or explaining-away.
RULED_OUT: dict[str, pl.DataType] = {
    "kind": pl.String(),
    "label": pl.String(),
    "reason": pl.String(),
    "metric": pl.String(),
    "labels": pl.String(),
    "segment": pl.List(_PAIR),
}

#: Segment breakdown: the best attribute combinations, with their share of excess failures.
SEGMENTS: dict[str, pl.DataType] = {
    "segment": pl.List(_PAIR),
    "label": pl.String(),
    "requests": pl.Int64(),
    "failures": pl.Int64(),
    "failure_rate": pl.Float64(),
    "rest_failure_rate": pl.Float64(),
    "explained_share": pl.Float64(),  # share of the episodes' excess failures in this segment
    "score": pl.Float64(),
}

#: The bucketed symptom timeline the report draws.
TIMELINE: dict[str, pl.DataType] = {
    "ts": UTC_TS,
    "requests": pl.Int64(),
    "failures": pl.Int64(),
    "failure_rate": pl.Float64(),
    "symptom": pl.Float64(),  # the series episodes were detected on (failure rate by default)
}

#: Each ranked cause's own series, aligned to the buckets, for the per-cause charts.
CAUSE_SERIES: dict[str, pl.DataType] = {
    "rank": pl.Int32(),
    "ts": UTC_TS,
    "value": pl.Float64(),
}

DATA_QUALITY: dict[str, pl.DataType] = {"input": pl.String(), **FILE_QUALITY}  # logs | metrics


@dataclass(frozen=True)
class Provenance:
    """How a result was produced, for the report's last section."""

    version: str
    command: str  # the CLI command line, or "rca.analyze(...)" from Python
    parameters: tuple[tuple[str, str], ...]  # (name, value) pairs, sorted by name
    inputs: tuple[tuple[str, int], ...]  # (file name, size in bytes)
    generated_at: datetime  # the one line allowed to differ between identical runs


@dataclass(frozen=True)
class Diagnostics:
    """Data-quality findings that are not per-file counts."""

    metric_series: int = 0
    log_gaps: int = 0  # empty buckets inside the log window
    metric_gaps: int = 0  # missing scrapes, summed over series
    clock_skew_s: float | None = None  # estimated metrics-minus-logs offset, when measurable
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Result:
    """What ``rca.analyze`` found. Immutable; every table is a Polars frame.

    Attributes
    ----------
    episodes, causes, ruled_out, segments, data_quality
        The tables named in DESIGN.md "Contracts" (schemas in this module).
    timeline, cause_series
        Bucketed series for charts.
    window
        (start, end) of the analysed data, UTC.
    bucket_seconds
        Width of one bucket.
    """

    episodes: pl.DataFrame
    causes: pl.DataFrame
    ruled_out: pl.DataFrame
    segments: pl.DataFrame
    data_quality: pl.DataFrame
    timeline: pl.DataFrame
    cause_series: pl.DataFrame
    window: tuple[datetime, datetime]
    bucket_seconds: int
    provenance: Provenance
    diagnostics: Diagnostics = field(default_factory=Diagnostics)

    # -- JSON ---------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The ``rca.result/1`` JSON document as plain Python objects."""
        dq = self.data_quality
        logs = dq.filter(pl.col("input") == "logs")
        quality: dict[str, Any] = {
            "lines": int(logs["lines"].sum()),
            "malformed_lines": int(logs["malformed"].sum()),
            "requests": int(logs["records"].sum()),
            "metric_series": self.diagnostics.metric_series,
            "log_gaps": self.diagnostics.log_gaps,
            "metric_gaps": self.diagnostics.metric_gaps,
            "clock_skew_s": self.diagnostics.clock_skew_s,
            "files": [
                {
                    k: row[k]
                    for k in ("input", "source", "format", "lines", "records", "malformed", "other")
                }
                for row in dq.iter_rows(named=True)
            ],
        }
        return {
            "schema": SCHEMA_VERSION,
            "window": {"start": iso(self.window[0]), "end": iso(self.window[1])},
            "bucket_seconds": self.bucket_seconds,
            "episodes": [
                {
                    "start": iso(r["start"]),
                    "end": iso(r["end"]),
                    "requests": r["requests"],
                    "failures": r["failures"],
                    "failure_rate": _round(r["failure_rate"]),
                    "baseline_rate": _round(r["baseline_rate"]),
                }
                for r in self.episodes.iter_rows(named=True)
            ],
            "causes": [
                {
                    "rank": r["rank"],
                    "kind": r["kind"],
                    "label": r["label"],
                    "score": _round(r["score"]),
                    "metric": r["metric"],
                    "labels": parse_labels(r["labels"]) if r["labels"] else {},
                    "segment": _pairs(r["segment"]),
                    "evidence": list(r["evidence"] or []),
                }
                for r in self.causes.iter_rows(named=True)
            ],
            "ruled_out": [
                {"kind": r["kind"], "label": r["label"], "reason": r["reason"]}
                for r in self.ruled_out.iter_rows(named=True)
            ],
            "data_quality": quality,
        }

    def to_json(self) -> str:
        """The JSON result as text, keys in a fixed order, ending in a newline."""
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"

    def write_json(self, path: str | Path) -> None:
        """Write :meth:`to_json` to ``path`` atomically."""
        write_atomic(path, self.to_json())

    # -- Renderers (rca.report) -----------------------------------------------------------

    def to_html(self) -> str:
        """The self-contained HTML report."""
        from rca.report import render_html

        return render_html(self)

    def write_html(self, path: str | Path) -> None:
        """Write :meth:`to_html` to ``path`` atomically."""
        write_atomic(path, self.to_html())

    def to_markdown(self) -> str:
        """A Markdown summary for tickets: verdict, top causes, episodes, ruled out."""
        from rca.report import render_markdown

        return render_markdown(self)

    def write_markdown(self, path: str | Path) -> None:
        """Write :meth:`to_markdown` to ``path`` atomically."""
        write_atomic(path, self.to_markdown())

    def _repr_html_(self) -> str:
        from rca.report import render_notebook

        return render_notebook(self)

    def __repr__(self) -> str:
        top = self.causes.head(1)
        best = f"{top['label'][0]!r} (score {top['score'][0]:.2f})" if top.height else "none"
        return (
            f"<rca.Result {len(self.episodes)} episode(s), {len(self.causes)} cause(s), "
            f"top cause {best}, {len(self.ruled_out)} ruled out>"
        )


def iso(ts: datetime) -> str:
    """UTC timestamp as ``2021-04-01T10:00:00Z`` (microseconds only when non-zero)."""
    ts = ts.astimezone(UTC)
    text = ts.strftime("%Y-%m-%dT%H:%M:%S")
    if ts.microsecond:
        text += f".{ts.microsecond:06d}"
    return text + "Z"


def _round(x: float | None) -> float | None:
    return None if x is None else round(float(x), 6)


def _pairs(segment: list[dict[str, str]] | None) -> dict[str, str]:
    return {p["dimension"]: p["value"] for p in (segment or [])}


def write_atomic(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder and a rename,
    so a crash never leaves half a file over a good one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        # mkstemp makes the file 0600; a report is meant to be shared (os.umask to read
        # the user's mask would not be thread-safe, so use the common default).
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
