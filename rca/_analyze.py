"""``rca.analyze``: the whole pipeline, from inputs to a :class:`~rca._result.Result`.

Data flow (DESIGN.md): requests (lazy) -> failure definition -> buckets -> episodes ->
candidates (metric series, segments, heavy clients, log patterns) -> evidence -> one
ranking + ruled-out suspects -> Result. The requests are never held in memory row by row:
log files are parsed once into a scratch Parquet file, and every later step is a lazy
streaming aggregation over it (bucketing, then the counts the request-side candidates are
chosen from, in ``rca.candidates._requests``).
"""

from __future__ import annotations

import json
import tempfile
import time as _time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from rca._bucket import BUCKET_COLUMNS, Buckets, bucket_requests, choose_bucket, parse_bucket
from rca._detect import EpisodeDetector, episodes_frame
from rca._errors import ParameterError
from rca._failure import FAILURE_COLUMNS, hung_thresholds, parse_failure, with_failures
from rca._progress import SILENT, Progress
from rca._rank import cause_series_frame, causes_frame, rank, ruled_out_frame
from rca._result import (
    DATA_QUALITY,
    EPISODES,
    RULED_OUT,
    SEGMENTS,
    TIMELINE,
    Diagnostics,
    Provenance,
    Result,
    iso,
)
from rca._schema import FILE_QUALITY, METRICS, REQUESTS, UTC_TS, conform
from rca._skew import SkewEstimate, estimate_skew
from rca._version import __version__
from rca.candidates._base import Candidate, Context
from rca.candidates._metrics import metric_candidates, series_label, wide_to_long

PathLike = str | Path

#: Most buckets one analysis holds: each candidate keeps a float64 array per bucket.
MAX_BUCKETS = 100_000
#: Most metric series x buckets (float64 grids): 20M cells are 160 MB per copy.
MAX_METRIC_CELLS = 20_000_000

#: Symptoms that are failure kinds of the requests (besides any metric series name).
_KIND_SYMPTOMS = {
    "failure_rate": "failures",
    "5xx": "fail_5xx",
    "429": "fail_429",
    "aborted": "fail_aborted",
    "hung": "fail_hung",
}


def analyze(
    logs: PathLike | Sequence[PathLike] | pl.LazyFrame | pl.DataFrame | None = None,
    metrics: PathLike | Sequence[PathLike] | pl.DataFrame | None = None,
    *,
    symptom: str = "failure_rate",
    bucket: str | int | timedelta | None = None,
    failure: str | None = None,
    since: datetime | str | None = None,
    until: datetime | str | None = None,
    format: str = "auto",
    progress: Progress = SILENT,
    command: str | None = None,
) -> Result:
    """Find the error episodes and rank their likely causes.

    Parameters
    ----------
    logs
        Log files, folders or globs (any supported format, or Parquet from ``rca ingest``),
        or a requests frame (``rca.read_logs`` output).
    metrics
        Metrics files, folders or globs, or a metrics frame (long form ``ts, metric,
        labels, value``, or wide: a time column plus one column per series).
    symptom
        ``failure_rate`` (default), a failure kind (``5xx``, ``429``, ``aborted``,
        ``hung``), or the name of a metric series to detect episodes on.
    bucket
        Bucket width (``"1m"``, seconds, timedelta); chosen from the window by default.
    failure
        Failure definition replacing the default, e.g. ``"status >= 500 or duration_s > 30"``.
    since, until
        Restrict the analysis to this window (datetimes or ISO strings; UTC if naive).
    format
        Log format name, or ``"auto"`` to detect it per file.
    progress
        Receives progress of the long stages.
    command
        The command line, recorded in the result's provenance.

    Returns
    -------
    Result
        Episodes, ranked causes, ruled-out suspects, segments and data quality.

    Examples
    --------
    >>> import polars as pl
    >>> from datetime import datetime, timedelta, UTC
    >>> t0 = datetime(2021, 4, 1, tzinfo=UTC)
    >>> reqs = pl.DataFrame({"ts": [t0 + timedelta(seconds=i) for i in range(3600)],
    ...                      "status": [200] * 3600})
    >>> rca_result = analyze(reqs)
    >>> rca_result.episodes.height
    0
    """
    # Logs given as files are streamed into a Parquet file in here (the temp folder, $TMPDIR;
    # about a ninth of the logs' size), and every pass over the requests is a lazy scan run
    # by the streaming engine, so memory follows the aggregates (DESIGN.md "Scale"), not the
    # size of the logs.
    with (
        tempfile.TemporaryDirectory(prefix="rca-") as scratch,
        pl.Config(engine_affinity="streaming"),
    ):
        return _analyze(
            logs,
            metrics,
            symptom=symptom,
            bucket=bucket,
            failure=failure,
            since=since,
            until=until,
            format=format,
            progress=progress,
            command=command,
            scratch=Path(scratch),
        )


def _analyze(
    logs: PathLike | Sequence[PathLike] | pl.LazyFrame | pl.DataFrame | None,
    metrics: PathLike | Sequence[PathLike] | pl.DataFrame | None,
    *,
    symptom: str,
    bucket: str | int | timedelta | None,
    failure: str | None,
    since: datetime | str | None,
    until: datetime | str | None,
    format: str,
    progress: Progress,
    command: str | None,
    scratch: Path,
) -> Result:
    started = _time.perf_counter()
    t_since, t_until = _when(since, "since"), _when(until, "until")
    requests, log_quality = _load_logs(logs, format, progress, scratch, _read_columns(failure))
    all_requests = requests
    if requests is not None:
        if t_since is not None:
            requests = requests.filter(pl.col("ts") >= t_since)
        if t_until is not None:
            requests = requests.filter(pl.col("ts") < t_until)
    # The metrics are parsed on a thread (Python, holding the GIL) while Polars, which
    # releases it, reads what needs no metrics: the requests' span and hung thresholds.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="rca-metrics") as pool:
        metrics_job = pool.submit(_load_metrics, metrics, progress)
        span, hung = None, None
        if requests is not None:
            b = requests.select(pl.col("ts").min().alias("a"), pl.col("ts").max().alias("b"))
            span = b.collect().row(0)
            hung = hung_thresholds(requests)
        metric_frame, metric_quality = metrics_job.result()
    if requests is None and metric_frame is None:
        raise ParameterError("nothing to analyse: give logs, metrics or both")
    unfiltered = (all_requests, metric_frame)
    if metric_frame is not None:
        if t_since is not None:
            metric_frame = metric_frame.filter(pl.col("ts") >= t_since)
        if t_until is not None:
            metric_frame = metric_frame.filter(pl.col("ts") < t_until)

    # -- window and bucket ------------------------------------------------------------
    progress.start("bucketing requests")
    bounds = []
    if span is not None and span[0] is not None:
        bounds.append(span)
    if metric_frame is not None and metric_frame.height:
        bounds.append((metric_frame["ts"].min(), metric_frame["ts"].max()))
    if not bounds:
        raise _empty_window(*unfiltered, t_since, t_until)
    start = t_since or min(a for a, _ in bounds)
    end = t_until or max(b for _, b in bounds)
    window_s = max(1.0, (end - start).total_seconds())
    bucket_s = parse_bucket(bucket) if bucket is not None else choose_bucket(window_s)
    start = _floor(start, bucket_s)
    end_excl = end + timedelta(microseconds=1)
    n = max(1, int(np.ceil((end_excl - start).total_seconds() / bucket_s)))
    _check_size(n, bucket_s, start, end, metric_frame)

    # -- requests -> buckets ----------------------------------------------------------
    if requests is not None:
        flagged = with_failures(requests, hung=hung, failure=failure)
        buckets = bucket_requests(flagged, bucket_seconds=bucket_s)
    else:
        flagged = None
        buckets = Buckets(
            pl.DataFrame(schema={"ts": UTC_TS}),
            pl.DataFrame(schema={"ts": UTC_TS, "bin": pl.UInt8(), "count": pl.Int64()}),
            bucket_s,
        )
    grid = (
        buckets.grid(start, start + timedelta(seconds=bucket_s * n))
        if requests is not None
        else None
    )
    progress.done()

    # -- symptom -> episodes ----------------------------------------------------------
    progress.start("detecting episodes")
    start_s = start.timestamp()
    ts_s = start_s + bucket_s * np.arange(n, dtype=float)
    metric_cands: list[Candidate] = []
    if metric_frame is not None:
        metric_cands = metric_candidates(
            metric_frame, start_s=start_s, n=n, bucket_seconds=bucket_s
        )
    skew = SkewEstimate(None, 0, 0)
    if metric_cands and grid is not None:
        skew = estimate_skew(
            grid["requests"].to_numpy().astype(float),
            [c.series for c in metric_cands],
            bucket_seconds=bucket_s,
        )
        if skew.beyond_tolerance and metric_frame is not None and skew.seconds is not None:
            # Put the metrics on the logs' clock before any timing is judged.
            shift = timedelta(seconds=skew.seconds)
            metric_frame = metric_frame.with_columns(pl.col("ts") - shift)
            metric_cands = metric_candidates(
                metric_frame, start_s=start_s, n=n, bucket_seconds=bucket_s
            )
    # Merge episodes across gaps of up to ~3 minutes, whatever the bucket width.
    detector = EpisodeDetector(max_gap=max(2, round(180 / bucket_s)))
    if symptom in _KIND_SYMPTOMS:
        if grid is None:
            raise ParameterError(
                f"symptom {symptom!r} needs logs; without logs pick a metric series "
                "as the symptom (symptom=NAME)"
            )
        fail = grid[_KIND_SYMPTOMS[symptom]].to_numpy().astype(float)
        req = grid["requests"].to_numpy().astype(float)
        detector.fit(fail, req)
        rate = np.where(req > 0, fail / np.maximum(req, 1), 0.0)
        episodes = episodes_frame(detector, grid.with_columns(failures=pl.Series(fail)), bucket_s)
    else:
        match = [c for c in metric_cands if symptom in (c.label, c.metric)]
        if not match:
            known = sorted({c.metric or "" for c in metric_cands})[:10]
            raise ParameterError(
                f"symptom {symptom!r}: no such metric series; use failure_rate, 5xx, 429, "
                f"aborted, hung or one of: {', '.join(known) or _no_series(metric_frame)}"
            )
        sym = match[0]
        metric_cands = [c for c in metric_cands if c.key != sym.key]
        y = sym.series
        detector.fit(y)
        rate = np.nan_to_num(y, nan=float(np.nanmedian(y)))
        req = grid["requests"].to_numpy().astype(float) if grid is not None else np.ones(n)
        fail = rate
        episodes = _value_episodes(detector, ts_s, bucket_s, y)
    progress.done()

    ctx = Context(
        ts_s=ts_s,
        requests=req,
        failures=fail,
        rate=rate,
        episodes=tuple((e.start, e.end) for e in detector.episodes_),
        bucket_seconds=bucket_s,
        baseline_rate=float(detector.baseline_) if symptom in _KIND_SYMPTOMS else 0.0,
        dispersion=float(getattr(detector, "dispersion_", 1.0)),
    )

    # -- candidates -> ranking --------------------------------------------------------
    cands: list[Candidate] = list(metric_cands)
    segments = pl.DataFrame(schema=SEGMENTS)
    if ctx.episodes and flagged is not None:
        progress.start("building candidates")
        extra, segments = _request_candidates(flagged, ctx, start_s, n)
        cands.extend(extra)
        progress.done()
    progress.start("ranking candidates", total=len(cands))
    if ctx.episodes and cands:
        scored = rank(cands, ctx)
        causes = causes_frame(scored, ctx)
        ruled_out = ruled_out_frame(scored)
        cause_series = cause_series_frame(scored, ctx)
    else:
        causes = causes_frame([], ctx)
        ruled_out = pl.DataFrame(schema=RULED_OUT)
        cause_series = cause_series_frame([], ctx)
    progress.done()

    timeline = _timeline(grid, ts_s, rate)
    quality = pl.concat(
        [
            log_quality.with_columns(pl.lit("logs").alias("input")),
            metric_quality.with_columns(pl.lit("metrics").alias("input")),
        ],
        how="diagonal_relaxed",
    )
    quality = conform(quality, DATA_QUALITY)
    params = {
        "bucket": f"{bucket_s}s",
        "failure": failure or "default",
        "format": format,
        "since": "" if t_since is None else t_since.isoformat(),
        "symptom": symptom,
        "until": "" if t_until is None else t_until.isoformat(),
    }
    inputs = tuple(
        (Path(str(r["source"])).name, int(r["bytes"] or 0))
        for r in quality.iter_rows(named=True)
        if r["source"]
    )
    provenance = Provenance(
        version=__version__,
        command=command or "rca.analyze(...)",
        parameters=tuple(sorted(params.items())),
        inputs=inputs,
        generated_at=datetime.now(UTC),
    )
    diagnostics = Diagnostics(
        metric_series=len(metric_cands) + (0 if symptom in _KIND_SYMPTOMS else 1)
        if metric_frame is not None
        else 0,
        log_gaps=int((grid["requests"] == 0).sum()) if grid is not None else 0,
        metric_gaps=_metric_gaps(metric_cands),
        clock_skew_s=skew.seconds,
        notes=(
            f"analysis took {_time.perf_counter() - started:.1f} s",
            *_skew_notes(skew),
            *_dispersion_notes(detector),
            *_unused_series_notes(metric_frame, metric_cands, symptom),
        ),
    )
    return Result(
        episodes=episodes,
        causes=causes,
        ruled_out=ruled_out,
        segments=segments,
        data_quality=quality,
        timeline=timeline,
        cause_series=cause_series,
        window=(start, start + timedelta(seconds=bucket_s * n)),
        bucket_seconds=bucket_s,
        provenance=provenance,
        diagnostics=diagnostics,
    )


def _request_candidates(
    flagged: pl.LazyFrame, ctx: Context, start_s: float, n: int
) -> tuple[list[Candidate], pl.DataFrame]:
    """Segments, heavy clients and log patterns, from two streaming reads of the requests:
    one for the counts they are chosen from, one for the chosen ones' series."""
    from rca.candidates._clients import client_candidates
    from rca.candidates._patterns import pattern_candidates
    from rca.candidates._requests import count_requests, fill_series, request_view
    from rca.candidates._segments import segment_candidates

    view = request_view(flagged, ctx, start_s)
    counts = count_requests(view)
    seg_cands, segments = segment_candidates(counts, ctx)
    pending = [*seg_cands, *client_candidates(counts, ctx), *pattern_candidates(counts, ctx)]
    return fill_series(view, pending, n), segments


def _value_episodes(
    detector: EpisodeDetector, ts_s: np.ndarray, bucket_s: int, y: np.ndarray
) -> pl.DataFrame:
    rows = []
    for ep in detector.episodes_:
        seg = y[ep.start : ep.end]
        rows.append(
            {
                "start": datetime.fromtimestamp(ts_s[ep.start], tz=UTC),
                "end": datetime.fromtimestamp(ts_s[ep.end - 1] + bucket_s, tz=UTC),
                "requests": 0,
                "failures": 0,
                "failure_rate": float(np.nanmean(seg)),
                "baseline_rate": float(detector.baseline_),
                "excess_failures": ep.excess,
            }
        )
    return pl.DataFrame(rows, schema=EPISODES) if rows else pl.DataFrame(schema=EPISODES)


def _timeline(grid: pl.DataFrame | None, ts_s: np.ndarray, symptom: np.ndarray) -> pl.DataFrame:
    ts = pl.Series("ts", (ts_s * 1e6).astype(np.int64)).cast(UTC_TS)
    if grid is None:
        frame = pl.DataFrame({"ts": ts, "symptom": symptom})
    else:
        frame = grid.select("ts", "requests", "failures", "failure_rate").with_columns(
            pl.Series("symptom", symptom, dtype=pl.Float64)
        )
    return conform(frame, TIMELINE)


def _check_size(
    n: int, bucket_s: int, start: datetime, end: datetime, metrics: pl.DataFrame | None
) -> None:
    """Fail early, with the way out, before allocating per-bucket arrays that cannot fit.

    A single line with a wrong clock (1970, 2999) stretches the window; with ``--bucket 1s``
    that once meant a 12 GB allocation and an abort instead of an error message.
    """
    narrow = (
        "narrow the window with --since/--until (since=/until= in Python), or choose a "
        "wider --bucket; a few timestamps far from the rest (a wrong clock, a torn line) "
        "are enough to stretch it"
    )
    if n > MAX_BUCKETS:
        raise ParameterError(
            f"the window {iso(start)} .. {iso(end)} is {n:,} buckets of {bucket_s} s, more "
            f"than the limit of {MAX_BUCKETS:,}: {narrow}"
        )
    if metrics is not None and metrics.height:
        series = metrics.select(pl.struct("metric", "labels").n_unique()).item()
        if series * n > MAX_METRIC_CELLS:
            raise ParameterError(
                f"{series:,} metric series over {n:,} buckets is more than rca holds in "
                f"memory (limit {MAX_METRIC_CELLS:,} series x buckets): give fewer series "
                f"(a narrower export or query), or {narrow}"
            )


def _empty_window(
    requests: pl.LazyFrame | None,
    metrics: pl.DataFrame | None,
    since: datetime | None,
    until: datetime | None,
) -> ParameterError:
    """The error for a window with no data, naming the data's actual span (computed only
    here, so normal runs pay nothing for it)."""
    spans: list[tuple[datetime, datetime]] = []
    if requests is not None:
        lo, hi = (
            requests.select(pl.col("ts").min().alias("a"), pl.col("ts").max().alias("b"))
            .collect()
            .row(0)
        )
        if isinstance(lo, datetime) and isinstance(hi, datetime):
            spans.append((lo, hi))
    if metrics is not None and metrics.height:
        lo, hi = metrics["ts"].min(), metrics["ts"].max()
        if isinstance(lo, datetime) and isinstance(hi, datetime):
            spans.append((lo, hi))
    if not spans:
        return ParameterError("no data: the inputs hold no requests and no metric points")
    if since is None and until is None:
        return ParameterError("no data in the window: the inputs hold no timestamps")

    def sec(ts: datetime) -> str:
        return iso(ts.replace(microsecond=0))

    a, b = min(x for x, _ in spans), max(y for _, y in spans)
    asked = f"{sec(since) if since else 'the start'} .. {sec(until) if until else 'the end'}"
    return ParameterError(
        f"no data in the window {asked}: the data spans {sec(a)} .. {sec(b)}; relative "
        f"--since/--until count back from now ({sec(datetime.now(UTC))}), so for older logs "
        f"give ISO times inside that span, e.g. --since {sec(a)}"
    )


def _skew_notes(skew: SkewEstimate) -> tuple[str, ...]:
    if skew.seconds is None or not skew.beyond_tolerance:
        return ()
    ahead = "ahead of" if skew.seconds > 0 else "behind"
    return (
        f"the metrics' clock runs {abs(skew.seconds):.0f} s {ahead} the logs' "
        f"({skew.agreeing} of {skew.series} traffic-shaped series agree); the metrics were "
        "shifted onto the logs' clock before scoring",
    )


def _dispersion_notes(detector: EpisodeDetector) -> tuple[str, ...]:
    dispersion = getattr(detector, "dispersion_", 1.0)
    if dispersion < 1.5:
        return ()
    return (
        f"failures come clumped: their counts vary {dispersion:.1f}x as much as independent "
        "requests would (duplicated log lines, retries or one client failing in bursts); "
        "the episode tests allow for it",
    )


def _no_series(metrics: pl.DataFrame | None) -> str:
    if metrics is None:
        return "(no metrics given)"
    return "(no usable metric series: each is all NaN, constant or too sparse in the window)"


def _unused_series_notes(
    metrics: pl.DataFrame | None, used: list[Candidate], symptom: str
) -> tuple[str, ...]:
    """Name the metric series that were read but carry no evidence, so the damage shows in
    data quality instead of the series silently vanishing."""
    if metrics is None or not metrics.height:
        return ()
    finite = pl.col("value").filter(pl.col("value").is_finite())
    per = (
        metrics.group_by("metric", "labels")
        .agg(finite.len().alias("finite"), finite.n_unique().alias("distinct"))
        .with_columns(pl.struct("metric", "labels").alias("_key"))
    )
    keep = [{"metric": c.metric, "labels": c.labels} for c in used]
    unused = per.filter(
        ~pl.col("_key").is_in(pl.Series(keep, dtype=per.schema["_key"]).implode())
        & (pl.col("metric") != symptom)
    ).sort("metric", "labels")
    if not unused.height:
        return ()
    why = []
    for r in unused.head(5).iter_rows(named=True):
        reason = (
            "all NaN or missing"
            if r["finite"] == 0
            else "constant"
            if r["distinct"] == 1
            else "too few points in the window"
        )
        why.append(f"{series_label(r['metric'], r['labels'] or '')} ({reason})")
    more = f" and {unused.height - 5:,} more" if unused.height > 5 else ""
    return (
        f"{unused.height:,} of {per.height:,} metric series carry no evidence and were left "
        f"out: {', '.join(why)}{more}",
    )


def _metric_gaps(cands: list[Candidate]) -> int:
    """Missing buckets inside each series' own span, summed."""
    total = 0
    for c in cands:
        ok = np.flatnonzero(np.isfinite(c.series))
        if ok.size:
            total += int((~np.isfinite(c.series[ok[0] : ok[-1] + 1])).sum())
    return total


def _floor(ts: datetime, step: int) -> datetime:
    epoch = ts.timestamp()
    return datetime.fromtimestamp(epoch - epoch % step, tz=UTC)


def _when(value: datetime | str | None, name: str) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ParameterError(
                f"{name} {value!r}: not an ISO time; write e.g. 2021-04-01T10:00:00Z"
            ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _is_paths(value: Any) -> bool:
    if isinstance(value, str | Path):
        return True
    return isinstance(value, Sequence) and all(isinstance(v, str | Path) for v in value)


def _read_columns(failure: str | None) -> set[str]:
    """The request columns an analysis reads (its scratch copy of log files holds these)."""
    from rca.candidates._requests import CLIENT_DIMS, SEGMENT_DIMS

    # What the failure kinds (hung thresholds included) and the buckets read, then what
    # the candidates count.
    read = {*FAILURE_COLUMNS, *BUCKET_COLUMNS, "error_message", *SEGMENT_DIMS, *CLIENT_DIMS}
    if failure is not None:
        read |= set(parse_failure(failure).meta.root_names())
    return read


def _load_logs(
    logs: Any, fmt: str, progress: Progress, scratch: Path, columns: set[str]
) -> tuple[pl.LazyFrame | None, pl.DataFrame]:
    empty_q = pl.DataFrame(schema=FILE_QUALITY)
    if logs is None:
        return None, empty_q
    if isinstance(logs, pl.DataFrame | pl.LazyFrame):
        lf = logs.lazy()
        schema = lf.collect_schema()
        if "ts" not in schema:
            raise ParameterError("logs frame: no 'ts' column; pass the output of rca.read_logs")
        lf = lf.select(
            [
                (pl.col(c) if c in schema else pl.lit(None)).cast(t).alias(c)
                for c, t in REQUESTS.items()
            ]
        )
        count = lf.select(pl.len()).collect().item()
        q = pl.DataFrame(
            {
                "source": ["<frame>"],
                "format": ["frame"],
                "bytes": [0],
                "lines": [count],
                "records": [count],
                "malformed": [0],
                "other": [0],
                "invalid_utf8": [0],
                "out_of_order": [0],
                "samples": [[]],
            },
            schema=FILE_QUALITY,
        )
        return lf, q
    if not _is_paths(logs):
        raise ParameterError(f"logs: expected paths or a requests frame, got {type(logs).__name__}")
    paths = [str(logs)] if isinstance(logs, str | Path) else [str(p) for p in logs]
    from rca._cli_analyze import check_named_logs

    check_named_logs(paths)  # a file named directly and empty is named in the error
    return _scan_logs(paths, fmt, progress, scratch, columns)


def _scan_logs(
    paths: list[str], fmt: str, progress: Progress, scratch: Path, columns: set[str]
) -> tuple[pl.LazyFrame, pl.DataFrame]:
    """The requests as a lazy Parquet scan, and the per-file quality frame.

    Parquet written by ``rca ingest`` is scanned where it is (no parsing, no copy). Log
    files are parsed once, with bounded memory, into a Parquet file in ``scratch``
    (``rca.ingest.write_parquet``, the machinery of ``rca ingest``) that holds the
    ``columns`` the analysis reads, the others null; holding the requests in memory
    instead cost several GB at a few million lines.
    """
    from rca.ingest import write_parquet
    from rca.ingest._files import expand, is_parquet

    files = sorted({f for p in paths for f in expand(p)}, key=str)
    if files and all(is_parquet(f) for f in files):
        quality = pl.concat([_parquet_quality(f) for f in files], how="vertical")
        return pl.scan_parquet(files).select(list(REQUESTS)), quality
    target = scratch / "requests.parquet"
    # A scratch copy, read once: lz4 spends less CPU than zstd on both sides.
    quality = write_parquet(
        paths, target, format=fmt, progress=progress, compression="lz4", columns=columns
    )
    return pl.scan_parquet(target), conform(quality, FILE_QUALITY)


def _parquet_quality(path: Path) -> pl.DataFrame:
    """A requests Parquet file's quality rows, as ``rca ingest`` stored them; checks that
    it is one."""
    from rca._errors import IngestError, SchemaError
    from rca._schema import validate
    from rca.ingest._logs import QUALITY_KEY

    # Polars reads the footer alone (importing pyarrow for it costs half a second).
    try:
        validate(pl.DataFrame(schema=pl.read_parquet_schema(path)), REQUESTS, "requests Parquet")
        meta = pl.read_parquet_metadata(path)
        rows = pl.scan_parquet(path).select(pl.len()).collect().item()
    except SchemaError as exc:
        raise IngestError(
            f"is a Parquet file but not a requests frame written by 'rca ingest' ({exc}); "
            "re-create it with rca ingest --logs ... -o FILE.parquet",
            path=path,
        ) from None
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise IngestError(
            f"unreadable Parquet file ({exc}); re-create it with rca ingest", path=path
        ) from None
    raw = meta.get(QUALITY_KEY)
    if raw is not None:
        try:
            return pl.DataFrame(json.loads(raw), schema=FILE_QUALITY)
        except (ValueError, TypeError, pl.exceptions.PolarsError):
            pass  # unreadable metadata: count the rows instead
    return pl.DataFrame(
        [
            {
                "source": str(path),
                "format": "parquet",
                "bytes": path.stat().st_size,
                "lines": rows,
                "records": rows,
                "malformed": 0,
                "other": 0,
                "invalid_utf8": 0,
                "out_of_order": 0,
                "samples": [],
            }
        ],
        schema=FILE_QUALITY,
    )


def _load_metrics(metrics: Any, progress: Progress) -> tuple[pl.DataFrame | None, pl.DataFrame]:
    empty_q = pl.DataFrame(schema=FILE_QUALITY)
    if metrics is None or (isinstance(metrics, list | tuple) and not metrics):
        return None, empty_q
    if isinstance(metrics, pl.LazyFrame):
        metrics = metrics.collect()
    if isinstance(metrics, pl.DataFrame):
        return as_long_metrics(metrics), empty_q
    if not _is_paths(metrics):
        raise ParameterError(
            f"metrics: expected paths or a metrics frame, got {type(metrics).__name__}"
        )
    from rca.ingest import parse_metrics

    paths = [str(metrics)] if isinstance(metrics, str | Path) else [str(p) for p in metrics]
    parsed = parse_metrics(paths, progress=progress)
    return conform(parsed.metrics, METRICS), conform(parsed.quality, FILE_QUALITY)


def as_long_metrics(frame: pl.DataFrame) -> pl.DataFrame:
    """A metrics frame in long form (METRICS), from long or wide input."""
    if {"metric", "value"} <= set(frame.columns) and "ts" in frame.columns:
        out = frame
        if "labels" not in out.columns:
            out = out.with_columns(pl.lit("").alias("labels"))
        out = out.with_columns(pl.col("labels").fill_null(""))
        ts = out.schema["ts"]
        if isinstance(ts, pl.Datetime) and ts.time_zone is None:
            out = out.with_columns(pl.col("ts").dt.replace_time_zone("UTC"))
        return conform(out, METRICS)
    return wide_to_long(frame)


__all__ = ["analyze", "as_long_metrics", "series_label"]
