"""Pieces shared by the metrics readers: time and value parsing, label strings, tallies.

Every format module turns one file into a :class:`FileMetrics` (points in file order plus
its counts); ``rca.ingest.metrics`` then builds the canonical metrics frame and the
per-file quality frame from them. Everything per point is a Polars expression; Python
only runs once per *series* (label blocks, column headers), never once per point.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from rca._schema import METRICS, UTC_TS, format_labels, parse_labels

#: Accepted names of the time column (compared case-insensitively), in order of preference.
TIME_COLUMNS = ("timestamp", "time", "ts", "date", "datetime")
NO_TIME_COLUMN = (
    "no timestamp column (looked for a column named timestamp, time, ts, date or datetime, "
    "or with one of these as a word, such as time_ms); name the time column one of these"
)

#: At most this many malformed lines are kept per file, each cut to ``SAMPLE_CHARS``.
MAX_SAMPLES = 5
SAMPLE_CHARS = 300


@dataclass(frozen=True)
class FileMetrics:
    """One file's points (METRICS columns, in file order) and its counts.

    ``lines == records + malformed + other`` holds; what a "line" is depends on the format
    (see each format module's docstring).
    """

    points: pl.DataFrame
    lines: int
    records: int
    malformed: int
    other: int
    invalid_utf8: int
    nbytes: int  # decompressed bytes read (the quality frame reports the on-disk size)
    samples: tuple[str, ...]


def find_time_column(names: list[str]) -> int | None:
    """Index of the time column among ``names`` (case-insensitive), or None.

    An exact name wins (``Time``, ``timestamp``...); failing that, a name with one of them
    as a word (``time_ms``, ``Time (UTC)``, ``@timestamp``, ``event_time``), the first
    column preferred: a metric column such as ``response_time`` sits after the time.
    """
    lowered = [n.strip().lower() for n in names]
    for wanted in TIME_COLUMNS:
        if wanted in lowered:
            return lowered.index(wanted)
    worded = [i for i, n in enumerate(lowered) if set(re.split(r"[^a-z0-9]+", n)) & _TIME_WORDS]
    if worded:
        return 0 if 0 in worded else worded[0]
    return None


_TIME_WORDS = set(TIME_COLUMNS)


def default_metric_name(path: Path) -> str:
    """The metric name for series that carry none: the file name without its suffixes
    (``lb_cpu.json.gz`` -> ``lb_cpu``)."""
    name = path.name
    if name.lower().endswith(".gz"):
        name = name[:-3]
    return Path(name).stem or name


def sample(line_no: int | None, reason: str, text: str) -> str:
    """A malformed-line sample: where, why, and the text itself (cut, never interpreted)."""
    where = f"line {line_no}: " if line_no is not None else ""
    cut = text if len(text) <= SAMPLE_CHARS else text[:SAMPLE_CHARS] + "..."
    return f"{where}{reason}: {cut}"


# --- values ------------------------------------------------------------------------------


def parse_value(text: pl.Expr) -> pl.Expr:
    """Text to Float64; ``NaN``, ``+Inf``, ``-Inf`` and exponents are accepted, and so is a
    number with a unit as Grafana writes "formatted data" (its default for CSV downloads):
    ``45.2%`` -> 45.2, ``523 ms`` -> 0.523 (seconds), ``1.5 GiB`` -> bytes, ``2.3 K`` ->
    2300, ``120 req/s`` -> 120. Anything else, an unknown unit included, is null.
    """
    text = text.str.strip_chars()
    plain = text.cast(pl.Float64, strict=False)
    parts = text.str.extract_groups(_WITH_UNIT)
    number = parts.struct.field("number").cast(pl.Float64, strict=False)
    unit = parts.struct.field("unit").str.replace(r"/(?:s|sec)$", "")
    factor = unit.replace_strict(_UNITS, default=None, return_dtype=pl.Float64)
    return pl.coalesce(plain, number * factor)


_WITH_UNIT = r"^(?<number>[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*(?<unit>[^\d\s.+-]\S*)$"
#: Units to base units (seconds, bytes, plain counts). A rate's "/s" is dropped first, so
#: ``MB/s`` scales as ``MB`` and ``req/s`` as ``req``. Lone "m" and "M" are left out on
#: purpose: minutes or milli, mega or million, a guess would be wrong half the time.
_UNITS: dict[str, float] = {
    "%": 1.0, "percent": 1.0,
    "ns": 1e-9, "µs": 1e-6, "μs": 1e-6, "us": 1e-6, "ms": 1e-3, "s": 1.0, "sec": 1.0,
    "min": 60.0, "mins": 60.0, "h": 3600.0, "hour": 3600.0, "hours": 3600.0,
    "day": 86400.0, "days": 86400.0,
    "B": 1.0, "kB": 1e3, "KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12, "PB": 1e15,
    "KiB": 1024.0, "MiB": 1024.0**2, "GiB": 1024.0**3, "TiB": 1024.0**4, "PiB": 1024.0**5,
    "K": 1e3, "k": 1e3, "Mil": 1e6, "Bil": 1e9, "Tri": 1e12,
    "req": 1.0, "reqs": 1.0, "rps": 1.0, "ops": 1.0, "iops": 1.0, "qps": 1.0, "cps": 1.0,
}  # fmt: skip


# --- time --------------------------------------------------------------------------------

_NUMERIC = r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$"
_ZONED_FORMATS = ("%Y-%m-%dT%H:%M:%S%.f%#z", "%Y-%m-%dT%H:%M%#z")
_NAIVE_FORMATS = ("%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d")


def epoch_to_datetime(number: pl.Expr, *, milliseconds: bool = False) -> pl.Expr:
    """Unix time in s, ms, µs or ns (told apart by magnitude) to Datetime(us, UTC).

    ``number`` may be text or a number; text that is an integer is converted exactly.

    Below 1e11 the unit is seconds (1e11 s is the year 5138), below 1e14 milliseconds,
    below 1e17 microseconds, else nanoseconds. ``milliseconds=True`` reads values below
    1e11 as milliseconds too (a format known to use ms, with times before 1973). Integers
    are converted exactly; floats are rounded to the microsecond.
    """
    as_int = number.cast(pl.Int64, strict=False)
    as_float = number.cast(pl.Float64, strict=False)
    magnitude = as_float.abs()
    if milliseconds:
        magnitude = pl.when(magnitude < 1e14).then(pl.lit(1e11)).otherwise(magnitude)
    exact = (
        pl.when(magnitude < 1e11)
        .then(as_int * 1_000_000)
        .when(magnitude < 1e14)
        .then(as_int * 1_000)
        .when(magnitude < 1e17)
        .then(as_int)
        .otherwise(as_int // 1_000)
    )
    factor = (
        pl.when(magnitude < 1e11)
        .then(1e6)
        .when(magnitude < 1e14)
        .then(1e3)
        .when(magnitude < 1e17)
        .then(1.0)
        .otherwise(1e-3)
    )
    rounded = (as_float * factor).round().cast(pl.Int64, strict=False)
    is_integral = as_int.is_not_null() & (as_int.cast(pl.Float64) == as_float)
    micros = pl.when(is_integral).then(exact).otherwise(rounded)
    return micros.cast(pl.Datetime("us")).dt.replace_time_zone("UTC")


def text_to_datetime(text: pl.Expr) -> pl.Expr:
    """Text timestamps to Datetime(us, UTC): unix s/ms/µs/ns, or ISO 8601 / RFC 3339 with
    ``T`` or a space, with or without fraction, seconds or zone. A naive time is UTC.
    Anything else is null."""
    t = text.str.strip_chars()
    numeric = t.str.contains(_NUMERIC)
    iso = t.str.replace(r"^(\d{4})/(\d{2})/(\d{2})", "${1}-${2}-${3}")
    iso = iso.str.replace(r"^(\d{4}-\d{2}-\d{2})[ T]+", "${1}T")
    # Go's time.Time.String(): "2021-04-01 10:00:00 +0000 UTC".
    iso = iso.str.replace(r"[ ]+([+-]\d{2}:?\d{2})(?:[ ]+[A-Za-z]{1,5})?$", "${1}")
    iso = iso.str.replace(r"[ ]*(?:UTC|GMT|[Zz])$", "+00:00")
    zoned = pl.coalesce(
        [iso.str.to_datetime(f, strict=False, time_unit="us") for f in _ZONED_FORMATS]
    ).dt.convert_time_zone("UTC")
    naive = pl.coalesce(
        [iso.str.to_datetime(f, strict=False, time_unit="us") for f in _NAIVE_FORMATS]
    ).dt.replace_time_zone("UTC")
    return (
        pl.when(numeric)
        .then(epoch_to_datetime(t))
        .otherwise(pl.coalesce(zoned, naive))
        .cast(UTC_TS)
    )


def any_to_datetime(column: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """A time column of any dtype (from Parquet) to Datetime(us, UTC)."""
    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone is None:
            return column.dt.cast_time_unit("us").dt.replace_time_zone("UTC")
        return column.dt.cast_time_unit("us").dt.convert_time_zone("UTC")
    if isinstance(dtype, pl.Date):
        return column.cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    if dtype.is_integer():
        return _int_epoch(column.cast(pl.Int64, strict=False))
    if dtype.is_float():
        return epoch_to_datetime(column.cast(pl.Float64))
    return text_to_datetime(column.cast(pl.String, strict=False))


def _int_epoch(column: pl.Expr) -> pl.Expr:
    # Integers skip the Float64 detour: nanoseconds do not fit a float exactly.
    magnitude = column.abs()
    micros = (
        pl.when(magnitude < 100_000_000_000)
        .then(column * 1_000_000)
        .when(magnitude < 100_000_000_000_000)
        .then(column * 1_000)
        .when(magnitude < 100_000_000_000_000_000)
        .then(column)
        .otherwise(column // 1_000)
    )
    return micros.cast(pl.Datetime("us")).dt.replace_time_zone("UTC")


# --- labels ------------------------------------------------------------------------------


def escape_label_value(value: pl.Expr) -> pl.Expr:
    # Same escaping as rca._schema.format_labels, as an expression.
    return (
        value.str.replace_all("\\", "\\\\", literal=True)
        .str.replace_all(",", "\\,", literal=True)
        .str.replace_all("=", "\\=", literal=True)
    )


def labels_from_columns(columns: list[str]) -> pl.Expr:
    """The stable label string built from String label columns, per row.

    Null and empty values are left out: in Prometheus an empty label value is the same
    as an absent label. Equal to ``format_labels`` of the non-empty values.
    """
    parts = [
        pl.when(pl.col(c).is_not_null() & (pl.col(c) != ""))
        .then(pl.lit(f"{c}=") + escape_label_value(pl.col(c)))
        .otherwise(None)
        for c in sorted(columns)
    ]
    if not parts:
        return pl.lit("", pl.String)
    return pl.concat_str(parts, separator=",", ignore_nulls=True)


def labels_string(labels: dict[str, str]) -> str:
    """``format_labels`` without empty values (an empty label value means "absent")."""
    return format_labels({k: v for k, v in labels.items() if v != ""})


_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"', re.DOTALL)
_SPACE = re.compile(r"[ \t]*")
_UNESCAPE = re.compile(r"\\(.)", re.DOTALL)
_SIMPLE_BLOCK = re.compile(
    r'\{[ \t]*(?:[a-zA-Z_][a-zA-Z0-9_]*[ \t]*=[ \t]*"[^"\\]*"[ \t]*(?:,[ \t]*|(?=\})))*\}'
)
_SIMPLE_PAIR = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)[ \t]*=[ \t]*"([^"\\]*)"')


def _unescape(text: str) -> str:
    # The exposition format escapes only \\, \" and \n; any other "\x" stays as it is.
    def repl(m: re.Match[str]) -> str:
        c = m.group(1)
        return {"\\": "\\", '"': '"', "n": "\n"}.get(c, "\\" + c)

    return _UNESCAPE.sub(repl, text)


class LabelBlockError(ValueError):
    """A ``{...}`` label block that does not follow the exposition format."""


def parse_label_block(block: str) -> tuple[str | None, dict[str, str]]:
    """Parse ``{a="1",b="x\\"y"}`` into (metric name or None, labels).

    OpenMetrics 2 / Prometheus 3 allow quoted UTF-8 names: a bare quoted string is the
    metric name and a quoted string before ``=`` a label name.

    Raises
    ------
    LabelBlockError
        The block is not well formed (unquoted value, duplicate label, stray text).
    """
    if not (block.startswith("{") and block.endswith("}")):
        raise LabelBlockError("label block must be enclosed in braces")
    if _SIMPLE_BLOCK.fullmatch(block):
        # The common case (no escapes, no quoted names): two C-level regex passes.
        pairs = _SIMPLE_PAIR.findall(block)
        simple = dict(pairs)
        if len(simple) == len(pairs):
            return None, simple
    text, pos, end = block, 1, len(block) - 1
    name: str | None = None
    labels: dict[str, str] = {}
    while True:
        pos = _SPACE.match(text, pos).end()  # type: ignore[union-attr]
        if pos >= end:
            break
        quoted = _QUOTED.match(text, pos, end)
        if quoted:
            key = _unescape(quoted.group(1))
            pos = quoted.end()
        else:
            ident = _LABEL_NAME.match(text, pos, end)
            if not ident:
                raise LabelBlockError(f"bad label name at {text[pos : pos + 20]!r}")
            key = ident.group()
            pos = ident.end()
        pos = _SPACE.match(text, pos).end()  # type: ignore[union-attr]
        if pos < end and text[pos] == "=":
            pos = _SPACE.match(text, pos + 1).end()  # type: ignore[union-attr]
            value = _QUOTED.match(text, pos, end)
            if not value:
                raise LabelBlockError(f"label {key!r} has no quoted value")
            if key in labels:
                raise LabelBlockError(f"duplicate label {key!r}")
            labels[key] = _unescape(value.group(1))
            pos = value.end()
        elif quoted and name is None and not labels:
            name = key
        else:
            raise LabelBlockError(f"expected '=' after {key!r}")
        pos = _SPACE.match(text, pos).end()  # type: ignore[union-attr]
        if pos < end:
            if text[pos] != ",":
                raise LabelBlockError(f"expected ',' at {text[pos : pos + 20]!r}")
            pos += 1
    return name, labels


_SERIES = re.compile(r"^[ \t]*([a-zA-Z_:][a-zA-Z0-9_:]*)?[ \t]*(\{.*\})[ \t]*$", re.DOTALL)


def split_series_name(text: str, fallback: str) -> tuple[str, str]:
    """A series header such as ``lb_cpu{instance="lb-1"}`` to (metric, label string).

    Without a ``{...}`` block (or when it does not parse) the whole text is the metric
    name with no labels. A block without a name takes ``__name__`` or ``fallback``.
    """
    m = _SERIES.match(text)
    if m:
        try:
            quoted_name, labels = parse_label_block(m.group(2))
        except LabelBlockError:
            return text.strip(), ""
        name = m.group(1) or quoted_name or labels.pop("__name__", None) or fallback
        labels.pop("__name__", None)
        return name, labels_string(labels)
    return text.strip(), ""


def resolve_series(frame: pl.DataFrame, fallback: str) -> pl.DataFrame:
    """Set ``metric`` and ``labels``. The common case (plain metric names, label columns)
    stays vectorised; ``name{labels}`` metrics or a ``labels`` column are resolved once per
    distinct series in Python."""
    needs_python = frame["_labels"].is_not_null().any() or bool(
        frame["_metric"].str.contains("{", literal=True).any()
    )
    if not needs_python:
        return frame.with_columns(
            pl.col("_metric").alias("metric"), pl.col("_collabels").alias("labels")
        )
    keys = frame.select("_metric", "_collabels", "_labels").unique(maintain_order=True)
    metrics: list[str | None] = []
    labels: list[str] = []
    for metric, collabels, given in keys.iter_rows():
        merged: dict[str, str] = parse_labels(collabels) if collabels else {}
        if given:
            merged.update(parse_labels(given))
        name = metric
        if metric and "{" in metric:
            name, block = split_series_name(metric, fallback)
            merged.update(parse_labels(block) if block else {})
        metrics.append(name)
        labels.append(labels_string(merged))
    keys = keys.with_columns(
        pl.Series("metric", metrics, dtype=pl.String), pl.Series("labels", labels, dtype=pl.String)
    )
    return frame.join(
        keys,
        on=["_metric", "_collabels", "_labels"],
        how="left",
        nulls_equal=True,
        maintain_order="left",
    )


def empty_points() -> pl.DataFrame:
    return pl.DataFrame(schema=METRICS)


# --- tallies -----------------------------------------------------------------------------

#: Status of one counted unit (line, cell or entry) in a format's working frame.
RECORD, MALFORMED, OTHER = 0, 1, 2
STATUS, REASON, TEXT, LINE_NO = "_status", "_reason", "_text", "_line"


@dataclass(frozen=True)
class Tally:
    records: int
    malformed: int
    other: int
    samples: tuple[str, ...]


def tally(frame: pl.DataFrame, weight: str | None = None) -> Tally:
    """Count a working frame's units by :data:`STATUS` and sample its malformed ones.

    ``frame`` has ``_status`` (UInt8), and for sampling ``_reason``, ``_text`` and
    ``_line`` (null when not line-oriented). ``weight``, if given, names an integer column
    saying how many units each row stands for.
    """
    w = pl.col(weight) if weight else pl.lit(1)
    counts = frame.select(
        *[
            w.filter(pl.col(STATUS) == s).sum().cast(pl.Int64).alias(str(s))
            for s in (RECORD, MALFORMED, OTHER)
        ]
    ).row(0)
    bad = frame.filter(pl.col(STATUS) == MALFORMED)
    if LINE_NO in bad.columns:
        bad = bad.unique(subset=LINE_NO, keep="first", maintain_order=True)
    picked = bad.head(MAX_SAMPLES)
    line_nos = picked[LINE_NO].to_list() if LINE_NO in picked.columns else [None] * picked.height
    samples = tuple(
        sample(n, r or "malformed", t or "")
        for n, r, t in zip(line_nos, picked[REASON].to_list(), picked[TEXT].to_list(), strict=True)
    )
    records, malformed, other = (int(c or 0) for c in counts)
    return Tally(records, malformed, other, samples)


def status(*rules: tuple[pl.Expr, int, str | None]) -> list[pl.Expr]:
    """``_status`` and ``_reason`` columns from (condition, status, reason) rules, first
    match wins; rows matching no rule are records."""
    st: pl.Expr = pl.lit(RECORD, pl.UInt8)
    rs: pl.Expr = pl.lit(None, pl.String)
    for cond, code, reason in reversed(rules):
        st = pl.when(cond).then(pl.lit(code, pl.UInt8)).otherwise(st)
        rs = pl.when(cond).then(pl.lit(reason, pl.String)).otherwise(rs)
    return [st.alias(STATUS), rs.alias(REASON)]


def decimal_comma(text: pl.Expr) -> pl.Expr:
    """``0,5`` -> ``0.5``: spreadsheets in many locales write a decimal comma, and then
    separate cells with semicolons."""
    return text.str.strip_chars().str.replace(
        r"^([+-]?\d*),(\d+)(\s*[^\d\s,.+-]\S*)?$", "${1}.${2}${3}"
    )


def points(frame: pl.DataFrame) -> pl.DataFrame:
    """The record rows of a working frame, as METRICS columns (file order kept)."""
    return frame.filter(pl.col(STATUS) == RECORD).select(
        pl.col(c).cast(t) for c, t in METRICS.items()
    )
