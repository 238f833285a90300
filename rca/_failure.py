"""What counts as a failed request: the default definition and user ``--failure`` expressions.

Sits between the requests frame and bucketing (``rca._bucket``). The default follows
DESIGN.md "What counts as a failure": a 5xx, 429, 499, 460 (ALB: client closed) or 0
status, or a hung request, one whose duration is far beyond what its endpoint kind normally
takes or whose throughput collapsed. Each kind is a boolean column of its own, so the
report can say which kind of failure rose.

A user expression such as ``status >= 500 or duration_s > 30`` is parsed by a small
recursive-descent parser into a Polars expression over the canonical columns. Nothing is
``eval``-ed: only column names of the requests frame, literals, comparisons, ``in``,
``is null``, ``contains``/``matches`` and ``and``/``or``/``not`` are accepted.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import polars as pl

from rca._errors import ParameterError
from rca._schema import REQUESTS

#: The failure-kind columns :func:`with_failures` adds, in report order.
KINDS: tuple[str, ...] = ("fail_5xx", "fail_429", "fail_aborted", "fail_hung")

#: The request columns the default kinds and their hung thresholds read (a ``--failure``
#: expression reads its own: ``parse_failure(text).meta.root_names()``).
FAILURE_COLUMNS: tuple[str, ...] = ("status", "duration_s", "bytes_sent", "method", "endpoint")

#: Human names of the kinds, for evidence sentences.
KIND_NAMES: dict[str, str] = {
    "fail_5xx": "5xx",
    "fail_429": "429",
    "fail_aborted": "aborted (499/460/0)",
    "fail_hung": "hung",
}

# Statuses meaning the client gave up or no response was sent: nginx 499, ALB 460, 0.
_ABORTED = (0, 460, 499)

# A request is "hung" when it took this many times its endpoint kind's median duration
# (over successful requests) *and* lies far in the log-duration tail (robust z on
# log(duration) above _HUNG_LOG_Z). Both: the ratio alone flags fast endpoints' jitter
# (a 2 ms ping taking 60 ms), the z alone flags endpoints with a tight distribution.
_HUNG_RATIO = 20.0
_HUNG_LOG_Z = 6.0
# ... and never below this many seconds: nobody calls a sub-second request hung.
_HUNG_FLOOR_S = 2.0
# Throughput collapse: a response that moved at under 1/_TP_COLLAPSE of its endpoint's
# median throughput (learnt from responses of real size), while taking over
# _TP_MIN_RATIO times its median duration. This is what catches hung blob downloads,
# whose durations legitimately vary with size.
_TP_COLLAPSE = 50.0
_TP_MIN_RATIO = 5.0
_TP_MIN_BYTES = 1024
# Histogram resolution for the medians: bins per unit of natural log (1% wide).
_BINS_PER_LOG = 100.0


@dataclass(frozen=True)
class HungThresholds:
    """Per-endpoint-kind limits beyond which a request counts as hung.

    Attributes
    ----------
    table
        One row per endpoint kind: ``endpoint``, ``median_s``, ``limit_s`` (duration beyond
        which a request hung) and ``median_throughput`` (bytes/s, null without sizes).
    """

    table: pl.DataFrame


def hung_thresholds(requests: pl.LazyFrame | pl.DataFrame) -> HungThresholds:
    """Learn what "far beyond normal" means per endpoint kind from successful requests.

    Examples
    --------
    >>> import polars as pl
    >>> f = pl.DataFrame({"endpoint": ["blob"] * 4, "status": [200] * 4,
    ...                   "duration_s": [0.1, 0.2, 0.2, 0.3], "bytes_sent": [10] * 4})
    >>> hung_thresholds(f).table["limit_s"][0] >= 2.0
    True
    """
    lf = requests.lazy()
    # Medians from log-spaced histograms rather than from every duration: the counts are
    # additive and bounded (a few thousand cells), so memory no longer grows with the
    # number of requests, and 1% wide bins are far finer than a hang (10x the median).
    logd = pl.col("duration_s").log()
    ok = lf.filter(
        (pl.col("status") < 400) & pl.col("duration_s").is_not_null() & (pl.col("duration_s") > 0)
    ).select(
        pl.col("endpoint").fill_null("other"),
        (logd * _BINS_PER_LOG).round().cast(pl.Int32).alias("_bd"),
        pl.when(pl.col("bytes_sent") >= _TP_MIN_BYTES)
        .then(((pl.col("bytes_sent").log() - logd) * _BINS_PER_LOG).round().cast(pl.Int32))
        .alias("_bt"),
    )
    dur, tp = pl.collect_all(
        [
            ok.group_by("endpoint", "_bd").agg(pl.len().alias("n")),
            ok.filter(pl.col("_bt").is_not_null())
            .group_by("endpoint", "_bt")
            .agg(pl.len().alias("n")),
        ]
    )
    rows = []
    for (endpoint,), cells in dur.group_by("endpoint"):
        v = cells["_bd"].to_numpy() / _BINS_PER_LOG
        w = cells["n"].to_numpy().astype(float)
        lmed = _weighted_median(v, w)
        lmad = _weighted_median(np.abs(v - lmed), w)
        t = tp.filter(pl.col("endpoint") == endpoint)
        med_tp = (
            math.exp(_weighted_median(t["_bt"].to_numpy() / _BINS_PER_LOG, t["n"].to_numpy()))
            if t.height
            else None
        )
        rows.append(
            {
                "endpoint": endpoint,
                "median_s": math.exp(lmed),
                "_lmed": lmed,
                "_lmad": lmad,
                "median_throughput": med_tp,
            }
        )
    stats = pl.DataFrame(
        rows,
        schema={
            "endpoint": pl.String,
            "median_s": pl.Float64,
            "_lmed": pl.Float64,
            "_lmad": pl.Float64,
            "median_throughput": pl.Float64,
        },
    )
    limits = []
    for row in stats.iter_rows(named=True):
        lmad = max(row["_lmad"] or 0.0, 0.05) * 1.4826
        tail = math.exp(row["_lmed"] + _HUNG_LOG_Z * lmad)
        limits.append(max(_HUNG_FLOOR_S, _HUNG_RATIO * row["median_s"], tail))
    table = stats.select("endpoint", "median_s", "median_throughput").with_columns(
        pl.Series("limit_s", limits, dtype=pl.Float64)
    )
    return HungThresholds(table.sort("endpoint"))


def _weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    """The lower weighted median (the median of the values each repeated weight times)."""
    order = np.argsort(values, kind="stable")
    cum = np.cumsum(np.asarray(weights, dtype=float)[order])
    return float(values[order][np.searchsorted(cum, cum[-1] / 2)])


def with_failures(
    requests: pl.LazyFrame,
    *,
    hung: HungThresholds | None = None,
    failure: str | None = None,
) -> pl.LazyFrame:
    """Add the failure-kind columns (:data:`KINDS`) and ``failed`` to a requests frame.

    Parameters
    ----------
    requests
        Requests frame (``rca._schema.REQUESTS`` columns).
    hung
        Per-endpoint limits from :func:`hung_thresholds`; without them nothing counts as hung.
    failure
        A user failure expression (see :func:`parse_failure`). It replaces the default
        definition of ``failed``; the kind columns still describe the default kinds.

    Examples
    --------
    >>> import polars as pl
    >>> f = pl.LazyFrame({"status": [200, 503, 429, 0], "endpoint": ["blob"] * 4,
    ...                   "duration_s": [0.1] * 4, "bytes_sent": [1] * 4})
    >>> with_failures(f).collect()["failed"].to_list()
    [False, True, True, True]
    """
    status = pl.col("status")
    cols = [
        (status >= 500).fill_null(False).alias("fail_5xx"),
        (status == 429).fill_null(False).alias("fail_429"),
        status.is_in(list(_ABORTED)).fill_null(False).alias("fail_aborted"),
    ]
    lf = requests
    if hung is not None and hung.table.height:
        # Each request's limits are looked up by its endpoint's row in the table: a cast
        # to an Enum of the table's endpoints (unknown ones become null), then a gather.
        # Row-wise, so the order is kept and the engine streams. A left join
        # (maintain_order) kept the order too, but cost every read of the requests about
        # 0.2 s of CPU more at 4M rows; a replace_strict lookup held every row in memory.
        table = hung.table
        d = pl.col("duration_s")
        # Only a request slower than every limit's floor can be hung (slow: beyond its
        # limit; collapsed: beyond _HUNG_FLOOR_S): the others are looked up as null, which
        # skips the cast of their endpoints, a third of the cost of the lookup.
        floor = min(_HUNG_FLOOR_S, float(table.select(pl.col("limit_s").min()).item()))
        row = (
            pl.when(d > floor)
            .then(pl.col("endpoint").fill_null("other"))
            .cast(pl.Enum(table["endpoint"].to_list()), strict=False)
            .to_physical()
        )
        lf = lf.with_columns(row.alias("_hung_row")).with_columns(
            pl.lit(table[column]).gather(pl.col("_hung_row")).alias(alias)
            for column, alias in (
                ("median_s", "_hung_med"),
                ("limit_s", "_hung_lim"),
                ("median_throughput", "_hung_tp"),
            )
        )
        slow = d > pl.col("_hung_lim")
        # Any size counts here, zero included: a download that hung before its first
        # byte is the classic hang (July 2020).
        # Responses without a body (HEAD, 204, 304) have no throughput to collapse.
        has_body = (pl.col("method").fill_null("") != "HEAD") & ~status.is_in([204, 304]).fill_null(
            False
        )
        collapsed = (
            pl.col("bytes_sent").is_not_null()
            & has_body
            & (d > _TP_MIN_RATIO * pl.col("_hung_med"))
            & (d > _HUNG_FLOOR_S)
            & (pl.col("bytes_sent") / d < pl.col("_hung_tp") / _TP_COLLAPSE)
        )
        # A request that already failed by status is not counted again as hung.
        hung_expr = (slow | collapsed.fill_null(False)).fill_null(False) & ~(
            (status >= 500) | (status == 429) | status.is_in(list(_ABORTED))
        ).fill_null(False)
        cols.append(hung_expr.alias("fail_hung"))
    else:
        cols.append(pl.lit(False).alias("fail_hung"))
    lf = lf.with_columns(cols)
    if failure is None:
        failed = pl.any_horizontal(*[pl.col(k) for k in KINDS])
    else:
        failed = parse_failure(failure).fill_null(False)
    out = lf.with_columns(failed.alias("failed"))
    extra = [
        c for c in ("_hung_row", "_hung_med", "_hung_lim", "_hung_tp") if c in out.collect_schema()
    ]
    return out.drop(extra) if extra else out


# -- the --failure expression language ----------------------------------------------------

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<num>-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)
      | (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<op>==|!=|<=|>=|<|>|=|\(|\)|,)
      | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
    )""",
    re.VERBOSE,
)

_COMPARE = {"==", "=", "!=", "<", "<=", ">", ">="}
_KEYWORDS = {"and", "or", "not", "in", "is", "null", "contains", "matches", "true", "false"}
_COLUMNS = set(REQUESTS)


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ParameterError(
                f"failure expression: cannot read {text[pos:].strip()[:20]!r} at position {pos}; "
                'use e.g. "status >= 500 or duration_s > 30"'
            )
        kind = m.lastgroup or ""
        tokens.append((kind, m.group(kind)))
        pos = m.end()
    return tokens


class _Parser:
    """expr := or ; or := and ('or' and)* ; and := not ('and' not)* ;
    not := 'not' not | atom ; atom := '(' or ')' | comparison"""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.i = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def word(self, value: str) -> bool:
        tok = self.peek()
        if tok and tok[0] == "word" and tok[1].lower() == value:
            self.i += 1
            return True
        return False

    def op(self, value: str) -> bool:
        tok = self.peek()
        if tok and tok[0] == "op" and tok[1] == value:
            self.i += 1
            return True
        return False

    def fail(self, what: str) -> ParameterError:
        tok = self.peek()
        where = f"at {tok[1]!r}" if tok else "at the end"
        return ParameterError(
            f"failure expression {self.text!r}: {what} {where}; "
            'write e.g. "status >= 500 or duration_s > 30"'
        )

    def parse(self) -> pl.Expr:
        if not self.tokens:
            raise ParameterError(
                'failure expression is empty; write e.g. "status >= 500 or duration_s > 30"'
            )
        expr = self.or_()
        if self.peek() is not None:
            raise self.fail("unexpected text")
        return expr

    def or_(self) -> pl.Expr:
        expr = self.and_()
        while self.word("or"):
            expr = expr | self.and_()
        return expr

    def and_(self) -> pl.Expr:
        expr = self.not_()
        while self.word("and"):
            expr = expr & self.not_()
        return expr

    def not_(self) -> pl.Expr:
        if self.word("not"):
            return ~self.not_()
        return self.atom()

    def atom(self) -> pl.Expr:
        if self.op("("):
            expr = self.or_()
            if not self.op(")"):
                raise self.fail("missing ')'")
            return expr
        return self.comparison()

    def literal(self) -> int | float | str | bool:
        tok = self.peek()
        if tok is None:
            raise self.fail("expected a number or a quoted string")
        kind, text = tok
        if kind == "num":
            self.i += 1
            return float(text) if any(c in text for c in ".eE") else int(text)
        if kind == "str":
            self.i += 1
            return re.sub(r"\\(.)", r"\1", text[1:-1])
        if kind == "word" and text.lower() in ("true", "false"):
            self.i += 1
            return text.lower() == "true"
        raise self.fail("expected a number or a quoted string")

    def comparison(self) -> pl.Expr:
        tok = self.peek()
        if tok is None or tok[0] != "word" or tok[1].lower() in _KEYWORDS:
            raise self.fail("expected a column name")
        name = tok[1]
        if name not in _COLUMNS:
            raise ParameterError(
                f"failure expression {self.text!r}: unknown column {name!r}; "
                f"known columns: {', '.join(sorted(_COLUMNS))}"
            )
        self.i += 1
        col = pl.col(name)
        if self.word("is"):
            negate = self.word("not")
            if not self.word("null"):
                raise self.fail("expected 'null' after 'is'")
            return col.is_not_null() if negate else col.is_null()
        negate = self.word("not")
        if self.word("in"):
            if not self.op("("):
                raise self.fail("expected '(' after 'in'")
            values = [self.literal()]
            while self.op(","):
                values.append(self.literal())
            if not self.op(")"):
                raise self.fail("missing ')'")
            expr = col.is_in(values)
            return ~expr if negate else expr
        if self.word("contains") or self.word("matches"):
            matched = self.tokens[self.i - 1][1].lower()
            value = self.literal()
            if not isinstance(value, str):
                raise self.fail(f"'{matched}' needs a quoted string")
            if matched == "matches":
                try:
                    re.compile(value)
                except re.error as exc:
                    raise ParameterError(
                        f"failure expression: bad regular expression {value!r}: {exc}"
                    ) from None
            expr = col.str.contains(value, literal=matched == "contains")
            return ~expr if negate else expr
        if negate:
            raise self.fail("expected 'in', 'contains' or 'matches' after 'not'")
        tok = self.peek()
        if tok is None or tok[0] != "op" or tok[1] not in _COMPARE:
            raise self.fail("expected a comparison (==, !=, <, <=, >, >=)")
        self.i += 1
        value = self.literal()
        dtype = REQUESTS[name]
        if isinstance(value, str) == dtype.is_numeric():
            raise ParameterError(
                f"failure expression {self.text!r}: {name} is {dtype}, "
                f"cannot compare it with {value!r}"
            )
        ops = {
            "==": col.__eq__,
            "=": col.__eq__,
            "!=": col.__ne__,
            "<": col.__lt__,
            "<=": col.__le__,
            ">": col.__gt__,
            ">=": col.__ge__,
        }
        result: pl.Expr = ops[tok[1]](value)
        return result


def parse_failure(text: str) -> pl.Expr:
    """Parse a failure expression into a boolean Polars expression over request columns.

    The language: comparisons (``== != < <= > >=``) of a requests column with a number or
    quoted string, ``COL in (v, ...)``, ``COL is [not] null``, ``COL contains "text"``,
    ``COL matches "regex"``, combined with ``and``, ``or``, ``not`` and parentheses.

    Raises
    ------
    ParameterError
        On anything else, saying where and what to write instead.

    Examples
    --------
    >>> import polars as pl
    >>> f = pl.DataFrame({"status": [200, 503, 200], "duration_s": [1.0, 0.1, 45.0]})
    >>> f.select(parse_failure("status >= 500 or duration_s > 30"))["status"].to_list()
    [False, True, True]
    """
    return _Parser(text).parse()
