"""Reading access logs: files -> chunks of lines -> a format's parser -> the requests frame.

The spine of log ingest (DESIGN.md "Data flow", first arrow). For every input file it:

1. picks the parser: the ``format=`` the user gave, else detection by content
   (``rca.ingest._detect``); a Parquet file written by :func:`write_parquet` is read back
   directly;
2. streams the file as chunks of lines (``rca.ingest._files``), parses each chunk with the
   format's vectorised parser, keeps the request rows, adds ``source`` and the derived
   attributes (``rca.ingest._derive``);
3. counts, per file, lines, requests, malformed lines, other lines, non-UTF-8 lines and
   out-of-order timestamps, and keeps up to five malformed lines verbatim. The counts
   reconcile exactly: ``lines == records + malformed + other``.

Files are parsed in parallel (a thread per file; Polars releases the GIL) and their chunks
are handed on in sorted path order, so the output never depends on scheduling. Each file's
worker can run at most a couple of chunks ahead, which bounds memory for
:func:`write_parquet`.

Files no format recognises: a file named explicitly is an error. A file found in a folder
or by a glob is skipped (quality row with format ``unrecognised`` and all its lines counted
as ``other``), because log folders routinely hold READMEs, checksums and archives; the run
fails only if no file at all is a log. Files with no text (empty, or only blank lines) are
reported with format ``empty`` and never fail a run.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import queue
import tempfile
import threading
import warnings
import zlib
from collections.abc import Callable, Collection, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from rca._errors import DataQualityWarning, IngestError, ParameterError, SchemaError
from rca._progress import SILENT, Progress
from rca._schema import FILE_QUALITY, REQUESTS, empty, validate
from rca.ingest._derive import ROUTE_FIELDS, derive
from rca.ingest._detect import inspect, unrecognised_error
from rca.ingest._files import (
    FileKey,
    LineChunk,
    PathsLike,
    detached,
    expand,
    file_key,
    is_gzip,
    is_parquet,
    iter_line_chunks,
    open_binary,
)
from rca.ingest.formats import get_format
from rca.ingest.formats._base import (
    KIND,
    MALFORMED,
    OTHER,
    REPEAT_KEY,
    REQUEST,
    ChunkRows,
    LogFormat,
    ParseState,
    remember_keys,
)

#: Key of the Parquet key-value metadata entry holding the quality frame as JSON.
QUALITY_KEY = "rca.quality"
#: Bytes of lines handed to a parser at once: large enough to amortise per-chunk overhead
#: (Python glue holds the GIL, so the workers wait on each other), small enough to bound
#: memory (a few chunks per worker are in flight). 16 MB against 8: 4M registry JSON lines
#: 11.9 -> 9.9 s, nginx 5.2 -> 4.9 s; peak RSS 320 -> 436 MB and 427 -> 599 MB. 32 MB
#: against 16 (session 10): 4M nginx lines to the bucketed aggregates 1.97 -> 1.72 s (CPU
#: 3.28 -> 2.90 s); peak RSS of ``rca ingest`` 500 -> 720 MB, 520 -> 800 MB on 10 GB.
CHUNK_BYTES = 32 * 1024 * 1024
#: ``format`` of files skipped because no format recognised them.
UNRECOGNISED = "unrecognised"
#: ``format`` of files without a single non-blank line.
EMPTY = "empty"
#: ``format`` of a Parquet requests file that carries no quality metadata.
PARQUET = "parquet"
#: At most this many malformed lines are kept per file, each cut to SAMPLE_CHARS.
MAX_SAMPLES = 5
SAMPLE_CHARS = 300
#: Parsed chunks a file's worker may hold ready before it waits for the consumer.
QUEUE_CHUNKS = 2
#: Rows per batch when reading a Parquet requests file back.
PARQUET_BATCH_ROWS = 1024 * 1024


@dataclass(frozen=True)
class ParsedLogs:
    """Parsed access logs.

    Attributes
    ----------
    requests
        One row per request, columns and dtypes of ``rca._schema.REQUESTS``, files in
        sorted path order and lines in file order.
    quality
        One row per input file, columns of ``rca._schema.FILE_QUALITY``.
    """

    requests: pl.DataFrame
    quality: pl.DataFrame


@dataclass(frozen=True)
class _Input:
    path: Path
    explicit: bool  # named directly, not found in a folder or by a glob


@dataclass(frozen=True)
class _FileDone:
    quality: list[dict[str, Any]]  # one row for a log file; a Parquet file restores many


def parse_logs(
    paths: PathsLike,
    format: str | LogFormat = "auto",
    *,
    progress: Progress = SILENT,
    columns: Collection[str] | None = None,
) -> ParsedLogs:
    """Parse access logs into the requests frame and a per-file data-quality frame.

    Parameters
    ----------
    paths
        A file, a folder (searched recursively), a glob, or a list of these; plain or
        gzip (recognised by content). Parquet files written by :func:`write_parquet` are
        read back as they are.
    format
        ``"auto"`` detects each file's format from its first lines. A format name (see
        ``rca.ingest.formats``), or an nginx ``log_format`` string, applies to every file.
    progress
        Receives the bytes read, for a progress bar.
    columns
        If given, only these request columns get values; the others are null (the frame
        keeps every column of ``rca._schema.REQUESTS``). Every line is still parsed and
        counted, but what no one reads is never copied out or derived (the nginx scanner
        does not even look at it): on 4M nginx lines, parsing the columns the bucketed
        aggregates read and bucketing took 2.8 CPU-s and 510 MB, against 5.3 CPU-s and
        1.6 GB with every column (session 11 in benchmarks/RESULTS.md).

    Raises
    ------
    IngestError
        A path is missing or unreadable, a gzip stream is corrupt, the format name is
        unknown, a file named explicitly matches no format, or no file is a log at all.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "access.log"
    >>> _ = p.write_text('203.0.113.7 - - [17/May/2015:10:05:03 +0000] "GET /v2/ HTTP/1.1" 200 2 "-" "curl/8.0"\\n')
    >>> parsed = parse_logs(p)
    >>> parsed.quality.select("format", "lines", "records", "malformed").row(0)
    ('combined', 1, 1, 0)
    >>> parsed.requests.select("status", "endpoint", "ua_family").row(0)
    (200, 'ping', 'curl')
    """
    keep = _kept(columns)
    inputs = _inputs(paths)
    fmt = _resolve_format(format)
    frames: list[pl.DataFrame] = []
    rows: list[dict[str, Any]] = []
    for item in _stream(inputs, fmt, progress, keep):
        if isinstance(item, _FileDone):
            rows.extend(item.quality)
        else:
            frames.append(item)
    _check_some_logs(inputs, rows)
    requests = pl.concat(frames, how="vertical") if frames else empty(REQUESTS)
    return ParsedLogs(requests=requests, quality=_quality_frame(rows))


def read_logs(
    paths: PathsLike,
    format: str | LogFormat = "auto",
    *,
    columns: Collection[str] | None = None,
) -> pl.LazyFrame:
    """Read access logs as the requests frame (``rca._schema.REQUESTS``).

    Same inputs as :func:`parse_logs`, ``columns`` included. Lines that do not parse are
    counted, not fatal: when there are any, one :class:`~rca.DataQualityWarning`
    summarises them. Use :func:`parse_logs` for the per-file counts and samples.

    Examples
    --------
    >>> import rca
    >>> rca.read_logs("access.log").filter(pl.col("status") >= 500).collect()  # doctest: +SKIP
    """
    parsed = parse_logs(paths, format, columns=columns)
    message = quality_summary(parsed.quality)
    if message:
        warnings.warn(message, DataQualityWarning, stacklevel=2)
    return parsed.requests.lazy()


def quality_summary(quality: pl.DataFrame) -> str:
    """One sentence on the damage in a quality frame: malformed lines and skipped files.
    Empty when there is none.

    Examples
    --------
    >>> q = pl.DataFrame({"source": ["a.log"], "format": ["combined"], "lines": [10],
    ...                   "malformed": [2]})
    >>> quality_summary(q)
    '2 of 10 lines could not be parsed and were skipped (a.log: 2); see the data-quality report'
    """
    parts: list[str] = []
    bad = quality.filter(pl.col("malformed") > 0).sort(
        "malformed", "source", descending=[True, False]
    )
    if len(bad):
        total_lines = int(quality.get_column("lines").sum())
        total_bad = int(bad.get_column("malformed").sum())
        worst = ", ".join(
            f"{s}: {n:,}" for s, n in bad.select("source", "malformed").head(3).iter_rows()
        )
        more = f" and {len(bad) - 3} more file(s)" if len(bad) > 3 else ""
        parts.append(
            f"{total_bad:,} of {total_lines:,} lines could not be parsed and were skipped "
            f"({worst}{more})"
        )
    skipped = quality.filter(pl.col("format") == UNRECOGNISED).get_column("source").to_list()
    if skipped:
        names = ", ".join(skipped[:3]) + (
            f" and {len(skipped) - 3} more" if len(skipped) > 3 else ""
        )
        parts.append(f"{len(skipped)} file(s) matched no log format and were skipped ({names})")
    if not parts:
        return ""
    return "; ".join(parts) + "; see the data-quality report"


def write_parquet(
    paths: PathsLike,
    output: str | os.PathLike[str],
    format: str | LogFormat = "auto",
    *,
    progress: Progress = SILENT,
    compression: str = "zstd",
    columns: Collection[str] | None = None,
) -> pl.DataFrame:
    """Parse access logs straight into a Parquet requests file, with bounded memory.

    The file holds the requests frame (``rca._schema.REQUESTS``) and, in its key-value
    metadata under ``rca.quality``, the per-file quality frame as JSON; :func:`read_logs`
    and :func:`parse_logs` read both back. It is written to a temporary file next to
    ``output`` and renamed, so a failed run never leaves half a file. An existing
    ``output`` inside an input folder is not read as input. ``compression`` is a Parquet
    codec: zstd (the default) makes the smallest files; lz4 costs less CPU, for files that
    are read once and deleted (``rca analyze``'s scratch copy). ``columns``, if given, are
    the request columns written with their values; the others are written as nulls and
    never copied out of the chunks (the scratch copy holds what the analysis reads: on 4M
    nginx lines, ``rca analyze`` took 5.2 s instead of 6.3).

    Returns
    -------
    pl.DataFrame
        The quality frame (``rca._schema.FILE_QUALITY``).

    Examples
    --------
    >>> quality = write_parquet("logs/", "requests.parquet")  # doctest: +SKIP
    >>> rca.read_logs("requests.parquet")  # doctest: +SKIP
    """
    import pyarrow.parquet as pq

    target = Path(output)
    if target.is_dir():
        raise IngestError(
            "output is a folder; give a file name such as requests.parquet", path=target
        )
    keep = _kept(columns)
    inputs = [i for i in _inputs(paths) if not _same_file(i.path, target)]
    if not inputs:
        raise IngestError(
            "the only input is the output file itself; point --logs at log files", path=target
        )
    fmt = _resolve_format(format)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise IngestError(f"cannot write here: {exc.strerror or exc}", path=target) from None
    os.close(fd)
    tmp = Path(tmp_name)
    # Strings as Arrow string views, Polars' own layout: converting each chunk to
    # large_string first cost a fifth of the writing time. (The Parquet columns are plain
    # UTF-8 byte arrays either way.)
    newest = pl.CompatLevel.newest()
    schema = empty(REQUESTS).to_arrow(compat_level=newest).schema
    rows: list[dict[str, Any]] = []
    try:
        # Statistics only for ts, the one column a reader filters on (--since/--until):
        # those of the string columns cost a fifth of the writing time and serve nothing.
        with pq.ParquetWriter(
            tmp, schema, compression=compression, write_statistics=["ts"]
        ) as writer:
            for item in _stream(inputs, fmt, progress, keep):
                if isinstance(item, _FileDone):
                    rows.extend(item.quality)
                elif item.height:
                    writer.write_table(item.to_arrow(compat_level=newest).cast(schema))
            _check_some_logs(inputs, rows)
            quality = _quality_frame(rows)
            writer.add_key_value_metadata({QUALITY_KEY: _quality_json(quality)})
        _chmod_like_new_file(tmp)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return quality


# ---------------------------------------------------------------------------- inputs


def _inputs(paths: PathsLike) -> list[_Input]:
    items = [paths] if isinstance(paths, str | os.PathLike) else list(paths)
    if not items:
        expand(items)  # raises the "no input paths given" error
    explicit: dict[Path, bool] = {}
    named_as: dict[FileKey, Path] = {}  # one file reached by two arguments is read once
    for item in items:
        named = Path(os.fspath(item)).is_file()
        for path in expand(item):
            key = file_key(path)
            # The smallest path names it, so argument order cannot change the output.
            first = named_as.setdefault(key, path)
            if str(path) < str(first):
                explicit[path] = explicit.pop(first)
                named_as[key] = first = path
            explicit[first] = explicit.get(first, False) or named
    # Sorted by path so that the output never depends on argument or scheduling order.
    return [_Input(p, explicit[p]) for p in sorted(explicit, key=str)]


def _resolve_format(format: str | LogFormat) -> LogFormat | None:
    if isinstance(format, str) and format.strip().lower() == "auto":
        return None
    return get_format(format)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return b.exists() and a.samefile(b)
    except OSError:
        return False


def _check_some_logs(inputs: list[_Input], rows: list[dict[str, Any]]) -> None:
    """Skipping stray files in a folder is fine, but not when nothing was a log at all."""
    formats = {r["format"] for r in rows}
    if UNRECOGNISED in formats and not formats - {UNRECOGNISED, EMPTY}:
        first = next(r for r in rows if r["format"] == UNRECOGNISED)
        path = Path(first["source"])
        raise IngestError(
            f"none of the {len(inputs)} input file(s) is a log in a known format; first file: "
            + str(unrecognised_error(path, inspect(path)))
        )


# ---------------------------------------------------------------------- the pipeline


class _Cancelled(Exception):
    """The consumer stopped (an error elsewhere, or the caller gave up)."""


@dataclass
class _Job:
    input: _Input
    queue: queue.Queue[tuple[str, Any]]


def _stream(
    inputs: list[_Input],
    fmt: LogFormat | None,
    progress: Progress,
    keep: frozenset[str] | None = None,
) -> Iterator[pl.DataFrame | _FileDone]:
    """Parse files in parallel; yield each file's request chunks, then its quality rows,
    file by file in input order. Request columns not in ``keep`` (if given) are null."""
    total = sum(_size(i.path) for i in inputs)
    progress.start("Reading logs", total=float(total))
    stop = threading.Event()
    cpus = os.cpu_count() or 1
    workers = max(1, min(len(inputs), cpus))
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="rca-ingest")
    # Chunks of one file are parsed on this pool when the format allows it, so that a single
    # big file keeps every core busy (Polars and numpy release the GIL).
    chunks = ThreadPoolExecutor(max_workers=cpus, thread_name_prefix="rca-chunk")
    jobs = [_Job(i, queue.Queue(maxsize=QUEUE_CHUNKS)) for i in inputs]
    try:
        # The pool starts jobs in submission order, so the file being consumed is always
        # running; later files wait on their full queues, never the other way round.
        for job in jobs:
            pool.submit(_run_job, job, fmt, progress, stop, chunks, keep)
        for job in jobs:
            while True:
                kind, value = job.queue.get()
                if kind == "frame":
                    yield value
                elif kind == "done":
                    yield value
                    break
                else:
                    raise value
    finally:
        stop.set()
        pool.shutdown(wait=True, cancel_futures=True)
        chunks.shutdown(wait=True, cancel_futures=True)
    progress.done()


def _run_job(
    job: _Job,
    fmt: LogFormat | None,
    progress: Progress,
    stop: threading.Event,
    chunks: ThreadPoolExecutor,
    keep: frozenset[str] | None,
) -> None:
    def put(item: tuple[str, Any]) -> None:
        while True:
            if stop.is_set():
                raise _Cancelled
            try:
                job.queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    try:
        done = _produce(job.input, fmt, progress, lambda frame: put(("frame", frame)), chunks, keep)
        put(("done", done))
    except _Cancelled:
        pass
    except BaseException as exc:  # handed to the consumer, which re-raises it in order
        with contextlib.suppress(_Cancelled):
            put(("error", exc))


def _produce(
    item: _Input,
    fmt: LogFormat | None,
    progress: Progress,
    emit: Callable[[pl.DataFrame], None],
    chunks: ThreadPoolExecutor | None = None,
    keep: frozenset[str] | None = None,
) -> _FileDone:
    path = item.path
    if is_parquet(path):
        return _read_parquet(path, progress, emit, keep)
    if fmt is None:
        found = inspect(path)
        if found.format is None:
            if found.sample_size and item.explicit:
                raise unrecognised_error(path, found)
            lines = _count_lines(path)
            progress.advance(float(_size(path)))
            return _FileDone(
                [
                    _quality_row(
                        path,
                        EMPTY if not found.sample_size else UNRECOGNISED,
                        lines=lines,
                        other=lines,
                    )
                ]
            )
        fmt = found.format
    return _parse_file(path, fmt, progress, emit, chunks, keep)


@dataclass(frozen=True)
class _Parsed:
    """One chunk, parsed: its counts, its first malformed lines and its request rows."""

    lines: int
    records: int
    malformed: int
    other: int
    invalid_utf8: int
    nbytes: int
    samples: list[str]
    requests: pl.DataFrame | None
    first_ts: Any  # ts of the first request row (None if null or no rows)
    last_ts: Any  # last non-null ts
    out_of_order: int  # rows whose ts is before the previous row's, inside the chunk
    # Formats with REPEAT_KEY: the keyed rows (``line``, ``key``, ``kind``, ``request_row``:
    # position among the request rows, or -1), resolved against earlier chunks in order
    # by ``_drop_answered``; the samples then carry their line numbers.
    keys: pl.DataFrame | None = None
    sample_lines: tuple[int, ...] = ()


def _parse_chunk(
    chunk: LineChunk,
    fmt: LogFormat,
    state: ParseState,
    source: str,
    keep: frozenset[str] | None = None,
) -> _Parsed:
    # A format that reads raw bytes (the combined family) decodes only the lines it needs.
    parse_bytes = getattr(fmt, "parse_chunk", None)
    independent = getattr(fmt, "parse_independent", None)
    if independent:
        parsed = independent(chunk.lines)
    elif parse_bytes:
        parsed = parse_bytes(chunk, state)
    else:
        parsed = fmt.parse(chunk.lines, state)
    key = None
    n_lines = chunk.n_lines
    if isinstance(parsed, ChunkRows):  # the parser gave the request rows alone
        kind = pl.Series(KIND, parsed.kinds, pl.UInt8)
        if kind.len() != n_lines or parsed.requests.height != int((kind == REQUEST).sum()):
            raise RuntimeError(
                f"log format {fmt.name!r} returned {kind.len()} kinds for {n_lines} lines, "
                f"or not one request row per REQUEST line, in {source}; this is a bug in "
                "the parser"
            )
        kind, request_rows = _outside_time_rows(kind, parsed.requests)
        is_request = kind == REQUEST
    else:
        if REPEAT_KEY in parsed.columns:
            key = parsed.get_column(REPEAT_KEY)
            parsed = parsed.drop(REPEAT_KEY)
        if parsed.height != n_lines or KIND not in parsed.columns:
            raise RuntimeError(
                f"log format {fmt.name!r} returned {parsed.height} rows for {n_lines} lines "
                f"(or no {KIND} column) in {source}; this is a bug in the parser"
            )
        parsed = _outside_time(parsed)
        kind = parsed.get_column(KIND)
        is_request = kind == REQUEST
        request_rows = parsed if bool(is_request.all()) else parsed.filter(is_request)
    is_malformed = kind == MALFORMED
    n_records = int(is_request.sum())
    n_malformed = int(is_malformed.sum())
    n_other = int((kind == OTHER).sum())
    keys = None
    if key is not None and key.null_count() < key.len():
        at = key.is_not_null().arg_true()
        request_row = is_request.cast(pl.Int64).cum_sum() - 1
        keys = pl.DataFrame(
            {
                "line": at.cast(pl.Int64),
                "key": key.gather(at),
                "kind": kind.gather(at),
                "request_row": request_row.gather(at),
            }
        ).with_columns(pl.when(pl.col("kind") == REQUEST).then(pl.col("request_row")).otherwise(-1))
    samples: list[str] = []
    sample_lines: tuple[int, ...] = ()
    if n_malformed:
        # Keyed malformed lines may turn OTHER once earlier chunks are known: one sample
        # more for each, so that MAX_SAMPLES remain.
        extra = 0 if keys is None else int((keys["kind"] == MALFORMED).sum())
        first = is_malformed.arg_true().head(MAX_SAMPLES + extra).to_numpy()
        samples = [_cut(line) for line in chunk.take(first).to_list()]
        sample_lines = tuple(first.tolist())
    requests = None
    first_ts = last_ts = None
    out_of_order = 0
    if n_records:
        requests = _finish_requests(request_rows, source, keep)
        first_ts, last_ts, out_of_order = _time_order(requests)
    return _Parsed(
        lines=n_lines,
        records=n_records,
        # A _kind outside the three values would break reconciliation: count it as malformed.
        malformed=n_lines - n_records - n_other,
        other=n_other,
        invalid_utf8=chunk.invalid_utf8,
        nbytes=chunk.nbytes,
        samples=samples,
        requests=requests,
        first_ts=first_ts,
        last_ts=last_ts,
        out_of_order=out_of_order,
        keys=keys,
        sample_lines=sample_lines,
    )


#: Request times Python's datetime can hold; a parser may read "[29/May/-021:..." as the
#: year -21, which nothing downstream can place (found by atheris).
_FIRST_TS = datetime(1, 1, 1, tzinfo=UTC)
_LAST_TS = datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)


def _outside_years(ts: pl.Series) -> pl.Series:
    """Whether each time lies outside years 1 to 9999 (null: no)."""
    return ((ts < _FIRST_TS) | (ts > _LAST_TS)).fill_null(False)


def _outside_time(parsed: pl.DataFrame) -> pl.DataFrame:
    """Request rows whose time lies outside years 1 to 9999 become MALFORMED."""
    if "ts" not in parsed.columns:
        return parsed
    outside = _outside_years(parsed.get_column("ts"))
    if not outside.any():
        return parsed
    kind = pl.col(KIND)
    return parsed.with_columns(
        pl.when(outside & (kind == REQUEST))
        .then(pl.lit(MALFORMED, pl.UInt8))
        .otherwise(kind)
        .alias(KIND)
    )


def _outside_time_rows(kind: pl.Series, requests: pl.DataFrame) -> tuple[pl.Series, pl.DataFrame]:
    """``_outside_time`` for a parser's ``ChunkRows``: such rows leave the requests and their
    lines become MALFORMED."""
    if "ts" not in requests.columns:
        return kind, requests
    outside = _outside_years(requests.get_column("ts"))
    if not outside.any():
        return kind, requests
    lines = (kind == REQUEST).arg_true().filter(outside)
    return kind.clone().scatter(lines, MALFORMED), requests.filter(~outside)


def _drop_answered(done: _Parsed, recent: list[str]) -> tuple[_Parsed, list[str]]:
    """A chunk's keyed rows whose key an earlier chunk answered (``recent``) become OTHER:
    out of the requests and the counts; and the keys to remember after it."""
    assert done.keys is not None
    key = done.keys.get_column("key")
    seen = key.is_in(pl.Series(recent, dtype=pl.String)).fill_null(False)
    recent = remember_keys(recent, key.filter(~seen))
    if not seen.any():
        return done, recent
    dropped = done.keys.filter(seen)
    gone_requests = dropped.filter(pl.col("kind") == REQUEST).get_column("request_row")
    gone_malformed = set(dropped.filter(pl.col("kind") == MALFORMED).get_column("line").to_list())
    kept = [
        (text, line)
        for text, line in zip(done.samples, done.sample_lines, strict=True)
        if line not in gone_malformed
    ]
    requests, first_ts, last_ts, out_of_order = (
        done.requests,
        done.first_ts,
        done.last_ts,
        done.out_of_order,
    )
    if len(gone_requests) and requests is not None:
        row = pl.int_range(requests.height, dtype=pl.Int64)
        requests = requests.filter(~row.is_in(gone_requests.implode()))
        first_ts, last_ts, out_of_order = _time_order(requests)
        if not requests.height:
            requests = None
    return (
        replace(
            done,
            records=done.records - len(gone_requests),
            malformed=done.malformed - len(gone_malformed),
            other=done.other + dropped.height,
            samples=[text for text, _ in kept],
            sample_lines=tuple(line for _, line in kept),
            requests=requests,
            first_ts=first_ts,
            last_ts=last_ts,
            out_of_order=out_of_order,
        ),
        recent,
    )


def _time_order(requests: pl.DataFrame) -> tuple[Any, Any, int]:
    """First ts, last non-null ts and rows out of order, of a chunk's request rows."""
    if not requests.height:
        return None, None, 0
    ts = requests.get_column("ts")
    non_null = ts.drop_nulls()
    last = non_null[-1] if non_null.len() else None
    return ts[0], last, int((ts < ts.shift(1)).sum())


def _parse_file(
    path: Path,
    fmt: LogFormat,
    progress: Progress,
    emit: Callable[[pl.DataFrame], None],
    chunks: ThreadPoolExecutor | None = None,
    keep: frozenset[str] | None = None,
) -> _FileDone:
    source = str(path)
    size = _size(path)
    scale = _progress_scale(path, size)
    reported = 0.0
    counts = {
        "lines": 0,
        "records": 0,
        "malformed": 0,
        "other": 0,
        "invalid_utf8": 0,
        "out_of_order": 0,
    }
    samples: list[str] = []
    last_ts: Any = None
    recent: list[str] = []  # keys answered in earlier chunks (formats with REPEAT_KEY)
    # The times are parsed even when not kept: the out-of-order count is made of them.
    drop_ts = keep is not None and "ts" not in keep
    keep = None if keep is None else keep | {"ts"}
    state = ParseState(path=source, keep=keep)

    def consume(done: _Parsed) -> None:
        nonlocal reported, last_ts, recent
        if done.keys is not None:
            done, recent = _drop_answered(done, recent)
        for key in ("lines", "records", "malformed", "other", "invalid_utf8", "out_of_order"):
            counts[key] += getattr(done, key)
        samples.extend(done.samples[: MAX_SAMPLES - len(samples)])
        if done.requests is not None:
            if done.first_ts is not None and last_ts is not None and done.first_ts < last_ts:
                counts["out_of_order"] += 1
            if done.last_ts is not None:
                last_ts = done.last_ts
            emit(
                done.requests.with_columns(pl.lit(None, REQUESTS["ts"]).alias("ts"))
                if drop_ts
                else done.requests
            )
        step = min(done.nbytes * scale, size - reported)
        if step > 0:
            progress.advance(step)
            reported += step

    if chunks is not None and getattr(fmt, "independent_chunks", False):
        # Chunks parse in parallel and are consumed in order; a few run ahead at most.
        ahead = (os.cpu_count() or 1) + 1
        pending: collections.deque[Future[_Parsed]] = collections.deque()
        try:
            for chunk in iter_line_chunks(path, CHUNK_BYTES):
                pending.append(chunks.submit(_parse_chunk, chunk, fmt, state, source, keep))
                if len(pending) > ahead:
                    consume(pending.popleft().result())
            while pending:
                consume(pending.popleft().result())
        finally:
            for future in pending:
                future.cancel()
    else:
        for chunk in iter_line_chunks(path, CHUNK_BYTES):
            consume(_parse_chunk(chunk, fmt, state, source, keep))
    if size - reported > 0:
        progress.advance(size - reported)
    return _FileDone([_quality_row(path, fmt.name, **counts, samples=samples)])


def _cut(line: str | None) -> str:
    """A malformed line as a sample: whole when short, else its start and its length (a
    10 MB line would otherwise travel into every report and JSON result)."""
    line = line or ""
    if len(line) <= SAMPLE_CHARS:
        return line
    return f"{line[:SAMPLE_CHARS]}… ({len(line):,} characters)"


def _finish_requests(
    requests: pl.DataFrame, source: str, keep: frozenset[str] | None
) -> pl.DataFrame:
    """Request rows of one chunk -> the canonical requests frame (order and dtypes), with
    the columns not in ``keep`` (if given) null."""

    def kept(column: str) -> bool:
        return keep is None or column in keep

    # The parser's strings are views into the chunk's buffer: copied out, so that kept rows
    # do not keep every chunk (derive's substrings of the path then point into the copy).
    # Not the user agent: derive replaces it by its per-chunk table's copy of each agent,
    # and only a chunk with too many distinct agents for that table needs its own copy.
    # Columns not kept are not copied: an unkept path is read by derive in the chunk, and
    # its kept substrings are copied after.
    # A parser may give the routes (the nginx scanner does): views into the chunk too.
    given = [c for c in ROUTE_FIELDS if c in requests.columns]
    strings = [
        c
        for c, t in requests.schema.items()
        if t == pl.String and c != "user_agent" and c not in given and kept(c)
    ]
    frame = requests.with_columns([detached(requests.get_column(c)) for c in strings])
    frame = frame.with_columns(pl.lit(source, pl.String).alias("source"))
    missing = [c for c in ("path", "method", "client_ip", "user_agent") if c not in frame.columns]
    if missing:
        frame = frame.with_columns([pl.lit(None, pl.String).alias(c) for c in missing])
    frame = derive(frame, keep, given=given)
    after = ["user_agent"] if kept("path") and not given else ["user_agent", *ROUTE_FIELDS]
    frame = frame.with_columns(detached(frame.get_column(c)) for c in after if kept(c))
    return frame.select(
        [
            (pl.col(c) if c in frame.columns and kept(c) else pl.lit(None))
            .cast(t, strict=False)
            .alias(c)
            for c, t in REQUESTS.items()
        ]
    )


# ---------------------------------------------------------------------- Parquet input


def _read_parquet(
    path: Path,
    progress: Progress,
    emit: Callable[[pl.DataFrame], None],
    keep: frozenset[str] | None = None,
) -> _FileDone:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        schema = pl.read_parquet_schema(path)
        validate(pl.DataFrame(schema=schema), REQUESTS, "requests Parquet")
        handle = pq.ParquetFile(path)
        metadata = handle.metadata.metadata or {}
        total = handle.metadata.num_rows
        # Polars' native reader, a slice at a time (the slice is pushed down to the row
        # groups): several times faster than converting pyarrow batches, memory still bounded.
        scan = pl.scan_parquet(path).select(
            pl.col(c) if keep is None or c in keep else pl.lit(None, t).alias(c)
            for c, t in REQUESTS.items()
        )
        n_rows = 0
        for offset in range(0, total, PARQUET_BATCH_ROWS):
            frame = scan.slice(offset, PARQUET_BATCH_ROWS).collect()
            n_rows += frame.height
            if frame.height:
                emit(frame)
    except SchemaError as exc:
        raise IngestError(
            f"is a Parquet file but not a requests frame written by 'rca ingest' ({exc}); "
            "re-create it with rca ingest --logs ... -o FILE.parquet",
            path=path,
        ) from None
    except (OSError, pa.ArrowException, pl.exceptions.PolarsError) as exc:
        raise IngestError(
            f"unreadable Parquet file ({exc}); re-create it with rca ingest", path=path
        ) from None
    progress.advance(float(_size(path)))
    restored = _restore_quality(metadata.get(QUALITY_KEY.encode()))
    if restored is None:
        restored = [_quality_row(path, PARQUET, lines=n_rows, records=n_rows)]
    return _FileDone(restored)


def _kept(columns: Collection[str] | None) -> frozenset[str] | None:
    """The request columns a caller asked for (None: all), checked against the schema."""
    if columns is None:
        return None
    if isinstance(columns, str):
        columns = [columns]
    unknown = sorted(set(columns) - set(REQUESTS))
    if unknown:
        raise ParameterError(
            f"columns: no request column {', '.join(map(repr, unknown))}; "
            f"the columns are {', '.join(REQUESTS)}"
        )
    return frozenset(columns)


def _quality_json(quality: pl.DataFrame) -> str:
    return json.dumps(quality.to_dicts(), ensure_ascii=False, separators=(",", ":"))


def _restore_quality(raw: bytes | None) -> list[dict[str, Any]] | None:
    """The quality rows stored by :func:`write_parquet`; None if absent or unreadable."""
    if raw is None:
        return None
    try:
        rows = json.loads(raw)
        frame = pl.DataFrame(rows, schema=FILE_QUALITY)
    except (ValueError, TypeError, pl.exceptions.PolarsError):
        return None
    return frame.to_dicts()


# ---------------------------------------------------------------------------- helpers


def _quality_row(path: Path, format: str, **counts: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "source": str(path),
        "format": format,
        "bytes": _size(path),
        "lines": 0,
        "records": 0,
        "malformed": 0,
        "other": 0,
        "invalid_utf8": 0,
        "out_of_order": 0,
        "samples": [],
    }
    row.update(counts)
    return row


def _quality_frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    if not rows:
        return empty(FILE_QUALITY)
    return pl.DataFrame(rows, schema=FILE_QUALITY)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _progress_scale(path: Path, size: int) -> float:
    """On-disk bytes per decompressed byte, so a gzip file's bar moves with its content.

    Estimated from the gzip trailer (uncompressed size modulo 4 GiB of the last member);
    the bar is topped up to the file size at the end in any case.
    """
    if size < 18 or not is_gzip(path):
        return 1.0
    try:
        with path.open("rb") as fh:
            fh.seek(-4, os.SEEK_END)
            plain = int.from_bytes(fh.read(4), "little")
    except OSError:
        return 1.0
    return size / plain if plain > size else 1.0


def _count_lines(path: Path) -> int:
    """Lines as ``iter_line_chunks`` counts them (a final line without newline counts),
    without decoding: for files that are skipped."""
    from rca.ingest._files import _corrupt

    lines = 0
    last = b"\n"
    with open_binary(path) as fh:
        while True:
            try:
                block = fh.read(CHUNK_BYTES)
            except (OSError, EOFError, zlib.error) as exc:
                raise _corrupt(path, exc) from None
            if not block:
                break
            lines += block.count(b"\n")
            last = block[-1:]
    return lines + (last != b"\n")


def _chmod_like_new_file(path: Path) -> None:
    # mkstemp creates 0600; a file written by a tool should get the user's usual mode.
    umask = os.umask(0)
    os.umask(umask)
    path.chmod(0o666 & ~umask)
