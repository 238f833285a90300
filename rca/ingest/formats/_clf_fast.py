"""A byte-level fast path for the combined / nginx_timing parsers.

Ingest stage, format layer, hot path. The regex parser in ``rca.ingest.formats._combined``
costs about a microsecond per line in the regex engine's capture phase alone. Most lines of
a real access log have the plain shape nginx writes by default, though::

    ADDR - USER [dd/Mon/yyyy:HH:MM:SS +zzzz] "METHOD /uri HTTP/x.y" SSS BYTES "ref" "ua"[ "-"] RT ADDR URT

so this module works on the chunk's raw bytes (``LineChunk.bytes_view``: nothing is decoded
or split into strings), finds the field boundaries of all its lines at once with numpy (the
positions of every ``"`` and space in the buffer), checks each line against that plain
shape, parses the fixed-width time and the numbers directly, and builds the string columns as
Arrow string *views* into the chunk's own buffer (no copy of the text).

A line is taken by the fast path only when its fields are unambiguous: printable ASCII only,
no ``\\"``, exactly the quotes of the shape, a request line ``METHOD /uri HTTP/x.y`` without
backslashes, a well-formed CLF time, and (for ``nginx_timing``) a single upstream. For such
lines the result is exactly what the regex parser gives (``tests/ingest/formats`` checks
this); every other line is left to the regex parser.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import polars as pl

from rca._schema import REQUEST_FIELDS
from rca.ingest._compiled import load
from rca.ingest._files import (
    LOW_BYTES64,
    MAX_VIEW_BUFFER,
    LineBytes,
    Scratch,
    arrow_series,
    scratch_masks,
    string_views,
    view_series,
)
from rca.ingest.formats._base import KIND, REQUEST
from rca.ingest.formats._log_format import unescape_unique

_QUOTE, _SPACE, _BACKSLASH, _COMMA, _QMARK, _HASH = 34, 32, 92, 44, 63, 35
_MONTHS = {
    m: i + 1
    for i, m in enumerate(
        (
            b"Jan",
            b"Feb",
            b"Mar",
            b"Apr",
            b"May",
            b"Jun",
            b"Jul",
            b"Aug",
            b"Sep",
            b"Oct",
            b"Nov",
            b"Dec",
        )
    )
}
_MONTH_CODES = np.array(sorted(a << 16 | b << 8 | c for a, b, c in _MONTHS), dtype=np.int64)
_MONTH_NUMBERS = np.array(
    [_MONTHS[bytes([(k >> 16) & 255, (k >> 8) & 255, k & 255])] for k in _MONTH_CODES],
    dtype=np.int64,
)
_FIRST_YEAR, _LAST_YEAR = 1970, 2200
#: Per month of the years the fast path takes (index ``(year - 1970) * 12 + month - 1``):
#: days from the epoch to its first day, and its length.
_MONTH_START = np.array(
    [
        (date(y, m, 1) - date(1970, 1, 1)).days
        for y in range(_FIRST_YEAR, _LAST_YEAR + 1)
        for m in range(1, 13)
    ],
    dtype=np.int64,
)
_MONTH_DAYS = np.array(
    [
        ((date(y + m // 12, m % 12 + 1, 1) - date(y, m, 1)).days)
        for y in range(_FIRST_YEAR, _LAST_YEAR + 1)
        for m in range(1, 13)
    ],
    dtype=np.int32,
)
# Positions of digits and separators inside "dd/Mon/yyyy:HH:MM:SS +zzzz".
_TIME_DIGITS = np.array([0, 1, 7, 8, 9, 10, 12, 13, 15, 16, 18, 19, 22, 23, 24, 25])
_TIME_SEPS = {2: ord("/"), 6: ord("/"), 11: ord(":"), 14: ord(":"), 17: ord(":"), 20: _SPACE}
_TIME_LEN = 26
_MAX_DIGITS = 18  # an Int64 holds any 18-digit number


#: A decimal token of at most this many digits converts exactly: its digits as an integer
#: (below 2**53) divided by a power of ten is the correctly rounded value, which is what
#: casting the text to Float64 gives. Longer tokens are left to the regex parser.
_MAX_FLOAT_DIGITS = 15
_HTTP = int.from_bytes(b"HTTP/", "little")
#: Exact powers of ten (from integers, not from pow()).
_POW10 = np.array([float(10**k) for k in range(_MAX_DIGITS + 1)])


_scanner: Any = load("rca.ingest.formats._clf_scan")
# The scanner's string views and unescaped agents, reused by each thread (see Scratch).
_SCRATCH = Scratch()
# Kinds and string columns as numbered in _clf_scan.c.
_UNMATCHED, _BLANK = 2, 3
_F_CLIENT, _F_METHOD, _F_PATH, _F_UA, _F_UPSTREAM, _N_STRINGS = range(6)
#: The scanner's string columns, in its order (bit k of its ``skip`` mask is column k).
STRING_COLUMNS: tuple[str, ...] = ("client_ip", "method", "path", "user_agent", "upstream")


@dataclass(frozen=True)
class FastResult:
    """Rows the fast path parsed (``rows``: their positions in the chunk) and their
    canonical request fields plus ``_kind``, in chunk order; and the rows no regex can
    match (``unmatched``, ``blank`` saying which of them are empty or spaces)."""

    rows: np.ndarray
    fields: pl.DataFrame
    unmatched: np.ndarray
    blank: np.ndarray
    #: ``endpoint``, ``repository`` and ``namespace`` of the parsed rows, worked out by the
    #: compiled scanner when asked (``parse_fast(routes=True)``); else None.
    routes: pl.DataFrame | None = None


def series_bytes(lines: pl.Series) -> LineBytes:
    """A String series of lines as one byte buffer (for callers holding lines, not a chunk).

    A line holding ``\\n`` or ``\\r`` has them among its unusual bytes, so it is never
    taken by the fast path.
    """
    import pyarrow as pa

    arr = lines.rechunk().to_arrow(compat_level=pl.CompatLevel.oldest())
    if not isinstance(arr, pa.LargeStringArray):
        arr = arr.cast(pa.large_string())
    n = len(arr)
    offsets = np.frombuffer(arr.buffers()[1], np.int64)[arr.offset : arr.offset + n + 1]
    data = arr.buffers()[2]
    raw = np.frombuffer(data, np.uint8)[offsets[0] : offsets[-1]] if data else np.zeros(0, np.uint8)
    buf = np.zeros(len(raw) + 16, np.uint8)
    buf[: len(raw)] = raw
    return LineBytes(
        buf=buf,
        starts=offsets[:-1] - offsets[0],
        ends=offsets[1:] - offsets[0],
        unusual=np.flatnonzero((raw < 32) | (raw > 126)),
    )


class _Buffer:
    """A chunk's bytes with the positions of the bytes that delimit fields."""

    def __init__(self, view: LineBytes) -> None:
        self.buf = buf = view.buf
        raw = buf[: len(buf) - 16]
        # One pass per frequent delimiter, one for the rare ones together: flatnonzero's
        # cost grows with the hits, so splitting a combined list would cost more.
        mask, other = scratch_masks(len(raw))
        self.spaces = np.flatnonzero(np.equal(raw, _SPACE, out=mask))
        self.quotes = np.flatnonzero(np.equal(raw, _QUOTE, out=mask))
        np.equal(raw, _BACKSLASH, out=mask)
        for byte in (_COMMA, _QMARK, _HASH):
            mask |= np.equal(raw, byte, out=other)
        at = np.flatnonzero(mask)
        char = raw[at]
        self.backslashes = at[char == _BACKSLASH]
        self.commas = at[char == _COMMA]
        self.cuts = at[(char == _QMARK) | (char == _HASH)]
        # Unaligned little-endian reads of 8 bytes at any position.
        self.u64 = np.ndarray((len(raw) + 8,), "<u8", buf.data, 0, (1,))

    def strings(self, lo: np.ndarray, hi: np.ndarray) -> pl.Series:
        """Bytes ``[lo, hi)`` of each row as a String column of views into the buffer."""
        return string_views(self.buf, lo, hi)


def _nth(positions: np.ndarray, first: np.ndarray, k: int) -> np.ndarray:
    return positions[np.minimum(first + k, len(positions) - 1)] if len(positions) else first * 0


def _none_in(positions: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Rows without any of ``positions`` (sorted) in ``[lo, hi)``."""
    if not len(positions):
        return np.ones(len(lo), bool)
    first = np.searchsorted(positions, lo)
    return (first >= len(positions)) | (_nth(positions, first, 0) >= hi)


def _number(
    buf: np.ndarray, lo: np.ndarray, hi: np.ndarray, decimal: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Rows whose bytes ``[lo, hi)`` are ``-``, or ``[0-9]+`` (``decimal``:
    ``[0-9]+(\\.[0-9]+)?`` with at most 15 digits), at most 18 characters; and which are
    ``-``, the digits as an integer, and how many of them follow the dot."""
    length = hi - lo
    ok = (length >= 1) & (length <= _MAX_DIGITS)
    dash = (length == 1) & (buf[lo] == ord("-"))
    width = int(length[ok].max()) if ok.any() else 0
    value = np.zeros(len(lo), np.int64)
    dots = np.zeros(len(lo), np.int64)
    last_dot = np.full(len(lo), -1, np.int64)
    last = len(buf) - 1
    for j in range(width):
        inside = j < length
        c = buf[np.minimum(lo + j, last)]
        d = c - np.uint8(48)  # wraps below '0'
        digit = inside & (d <= 9)
        value = np.where(digit, value * 10 + d, value)
        if decimal:
            dot = inside & (c == ord("."))
            dots += dot
            last_dot = np.where(dot, j, last_dot)
            ok &= ~inside | digit | dot
        else:
            ok &= ~inside | digit
    if decimal:
        # One dot at most, neither first nor last; few enough digits to convert exactly.
        ok &= (dots == 0) | ((dots == 1) & (last_dot > 0) & (last_dot < length - 1))
        ok &= length - dots <= _MAX_FLOAT_DIGITS
    fraction = np.where(dots == 1, length - 1 - last_dot, 0)
    return dash | (ok & (buf[lo] != ord("-"))), dash, value, fraction


def _clf_time(buf: np.ndarray, lo: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Microseconds since the epoch of ``dd/Mon/yyyy:HH:MM:SS +zzzz`` at ``lo``, and which
    rows hold such a time with values every parser agrees on."""
    # One column per character: a 2-D gather and its int64 copy cost more than the math.
    raw_digits = [buf[lo + pos] - np.uint8(48) for pos in _TIME_DIGITS.tolist()]
    ok = raw_digits[0] <= 9
    for digit in raw_digits[1:]:
        ok &= digit <= 9
    d = [digit.astype(np.int32) for digit in raw_digits]
    for pos, char in _TIME_SEPS.items():
        ok &= buf[lo + pos] == char
    sign = buf[lo + 21]
    ok &= (sign == ord("+")) | (sign == ord("-"))
    code = (
        buf[lo + 3].astype(np.int64) << 16
        | buf[lo + 4].astype(np.int64) << 8
        | buf[lo + 5].astype(np.int64)
    )
    at = np.minimum(np.searchsorted(_MONTH_CODES, code), 11)
    ok &= _MONTH_CODES[at] == code
    day = d[0] * 10 + d[1]
    year = d[2] * 1000 + d[3] * 100 + d[4] * 10 + d[5]
    hour, minute, second = d[6] * 10 + d[7], d[8] * 10 + d[9], d[10] * 10 + d[11]
    off_h, off_m = d[12] * 10 + d[13], d[14] * 10 + d[15]
    # Unusual values (leap seconds, odd offsets, far years) are left to the regex parser.
    ok &= (year >= _FIRST_YEAR) & (year <= _LAST_YEAR)
    month_at = (
        np.clip(year - _FIRST_YEAR, 0, _LAST_YEAR - _FIRST_YEAR) * 12 + _MONTH_NUMBERS[at] - 1
    )
    ok &= (day >= 1) & (day <= _MONTH_DAYS[month_at]) & (hour <= 23) & (minute <= 59)
    ok &= (second <= 59) & (off_h <= 23) & (off_m <= 59)
    days = _MONTH_START[month_at] + (day - 1)
    offset = np.where(sign == ord("-"), -1, 1) * (off_h * 3600 + off_m * 60)
    seconds = days * 86400 + (hour * 3600 + minute * 60 + second - offset)
    return seconds * 1_000_000, ok


#: Spaces after the user agent (or X-Forwarded-For) that a line with upstream lists may have.
_MAX_TAIL_SPACES = 9


def _upstream_lists(
    b: _Buffer, first: np.ndarray, count: np.ndarray, end: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For rows whose timing tail has ``count`` spaces, the first at ``spaces[first]``: which
    are `` RT A1, ..., Ak N1, ..., Nm`` (addresses ``[^ ,]+``, numbers as the regex's), and
    where their last address lies. The regex reads such a tail one way only: its address
    list runs to the first token without a trailing comma (nginx's `` : `` separator is left
    to the regex)."""
    spaces, buf = b.spaces, b.buf
    rows = len(first)
    tokens = count - 1  # after RT
    bounds = []
    for j in range(1, int(count.max())):
        lo = _nth(spaces, first, j) + 1
        hi = np.where(j + 1 < count, _nth(spaces, first, j + 1), end)
        bounds.append((lo, hi))
    # Address tokens come first: the first one without a trailing comma is the last address.
    last_address = np.full(rows, -1)
    for j, (lo, hi) in enumerate(bounds):
        inside = j < tokens
        plain = inside & (hi > lo) & (buf[np.maximum(hi - 1, 0)] != _COMMA)
        last_address = np.where((last_address < 0) & plain, j, last_address)
    ok = (last_address >= 0) & (last_address < tokens - 1)
    up_lo, up_hi = np.zeros(rows, np.int64), np.zeros(rows, np.int64)
    for j, (lo, hi) in enumerate(bounds):
        inside = j < tokens
        listed = inside & (j < tokens - 1) & (j != last_address)  # followed by ", "
        core_hi = hi - listed
        is_address = inside & (j <= last_address)
        address_ok = (core_hi > lo) & _none_in(b.commas, lo, core_hi)
        number_ok = _number(buf, lo, core_hi, decimal=True)[0]
        ok &= ~inside | (listed <= (buf[np.maximum(hi - 1, 0)] == _COMMA))
        ok &= ~inside | np.where(is_address, address_ok, number_ok)
        last = j == last_address
        up_lo, up_hi = np.where(last, lo, up_lo), np.where(last, hi, up_hi)
    return ok, up_lo, up_hi


def parse_fast(
    view: LineBytes,
    *,
    timing: bool,
    compiled: bool | None = None,
    routes: bool = False,
    skip: Collection[str] = (),
) -> FastResult | None:
    """Parse the plain-shaped lines of a chunk (see the module docstring).

    ``compiled`` chooses the C scanner (``_clf_scan``) or the numpy reference; by default
    the scanner when it was built. Both take the same lines and give the same fields.
    ``routes``: the scanner also works out each row's registry route (``FastResult.routes``),
    which ``derive`` would otherwise find in a second pass over the paths.
    ``skip``: string columns (of :data:`STRING_COLUMNS`) the caller will not read; the
    scanner leaves them null instead of working them out. The same lines are taken.
    Returns None when the chunk cannot use the fast path at all (e.g. a buffer over 4 GiB).
    """
    if len(view.buf) >= MAX_VIEW_BUFFER or len(view.starts) == 0:
        return None
    if compiled is None:
        compiled = _scanner is not None
    if compiled:
        if _scanner is None:
            raise RuntimeError("rca's compiled scanner (_clf_scan) was not built")
        return _parse_compiled(view, timing=timing, routes=routes, skip=skip)
    return _parse_numpy(view, timing=timing)  # skips nothing: the reference


def _parse_compiled(
    view: LineBytes, *, timing: bool, routes: bool = False, skip: Collection[str] = ()
) -> FastResult:
    """``parse_fast`` by the C scanner: numpy buffers in, Arrow columns over them out."""
    import pyarrow as pa

    assert _scanner is not None
    n = len(view.starts)
    starts = np.ascontiguousarray(view.starts, np.int64)
    ends = np.ascontiguousarray(view.ends, np.int64)
    kind = np.empty(n, np.uint8)
    rows = np.empty(n, np.int64)
    ts = np.empty(n, np.int64)
    status = np.empty(n, np.int16)
    nbytes = np.empty(n, np.int64)
    duration = np.empty(n, np.float64)
    views = _SCRATCH.take("views", _N_STRINGS * n * 16).reshape(_N_STRINGS, n, 16)
    bitmap = (n + 7) // 8
    valid = np.zeros((_N_STRINGS + 1, bitmap), np.uint8)
    aux = _SCRATCH.take("aux", max(len(view.buf), 1))  # unescaped user agents
    redo = np.empty(n, np.int64)
    odd = np.zeros(n, np.uint8)
    if len(view.unusual):
        odd[view.line_of(view.unusual)] = 1
    # The endpoint's views stay in the rows (inline names, nothing to copy them out of):
    # an array of their own, not a third of a scratch one.
    route_outputs = (
        (
            np.empty((n, 16), np.uint8),
            _SCRATCH.take("routes", 2 * n * 16).reshape(2, n, 16),
            np.zeros((2, bitmap), np.uint8),
        )
        if routes
        else ()
    )
    unknown = set(skip) - set(STRING_COLUMNS)
    if unknown:
        raise ValueError(f"parse_fast: cannot skip {sorted(unknown)}; only {STRING_COLUMNS}")
    mask = sum(1 << k for k, c in enumerate(STRING_COLUMNS) if c in skip)
    taken, redone = _scanner.scan(
        view.buf,
        starts,
        ends,
        odd,
        timing,
        kind,
        rows,
        ts,
        status,
        nbytes,
        duration,
        views,
        valid,
        aux,
        redo,
        *route_outputs,
        skip=mask,
    )
    chunk = pa.py_buffer(view.buf)
    route_frame = None
    if route_outputs:
        endpoint, names, found_valid = route_outputs
        route_frame = pl.DataFrame(
            [
                view_series("endpoint", endpoint[:taken], []),  # names are inline views
                view_series("repository", names[0, :taken], [chunk], found_valid[0]),
                view_series("namespace", names[1, :taken], [chunk], found_valid[1]),
            ]
        )

    def strings(k: int, *data: Any) -> pl.Series:
        if mask >> k & 1:  # no views were written: nulls, not whatever the scratch held
            return _nulls(pl.String(), taken)
        # Views point into the chunk (data buffer 0) or, for unescaped agents, into aux (1).
        # Arrow reads bitmaps from bit 0 of the first byte: rows 0..taken of the column.
        return view_series("", views[k, :taken], [chunk, *data], valid[k])

    user_agent = strings(_F_UA, aux)
    if redone:  # never for a skipped agent: the scanner did not look at it
        # Escapes that decode outside ASCII (UTF-8, with replacement characters): Python's
        # rules, then "-" and "" become null, as in the regex parser.
        at = pl.Series(redo[:redone])
        fixed = unescape_unique(user_agent.gather(at))
        fixed = pl.select(pl.when(fixed.is_in(["-", ""]).not_()).then(fixed)).to_series()
        user_agent = user_agent.scatter(at, fixed)
    columns: dict[str, pl.Series] = {
        "ts": pl.Series("ts", ts[:taken]).cast(pl.Datetime("us")).dt.replace_time_zone("UTC"),
        "client_ip": strings(_F_CLIENT),
        "method": strings(_F_METHOD),
        "path": strings(_F_PATH),
        "status": pl.Series(status[:taken]),
        "bytes_sent": pl.Series(nbytes[:taken]),
        "user_agent": user_agent,
    }
    if timing:
        columns["duration_s"] = arrow_series(
            "duration_s",
            pa.Array.from_buffers(
                pa.float64(), taken, [pa.py_buffer(valid[_N_STRINGS]), pa.py_buffer(duration)]
            ),
        )
        columns["upstream"] = strings(_F_UPSTREAM)
    fields = pl.DataFrame(
        [
            columns[c].alias(c) if c in columns else _nulls(t, taken).alias(c)
            for c, t in REQUEST_FIELDS.items()
        ]
        + [pl.Series(KIND, np.full(taken, REQUEST, np.uint8))]
    )
    unmatched = np.flatnonzero(kind >= _UNMATCHED)
    return FastResult(
        rows=rows[:taken].copy(),
        fields=fields,
        unmatched=unmatched,
        blank=kind[unmatched] == _BLANK,
        routes=route_frame,
    )


def _nulls(dtype: pl.DataType, n: int) -> pl.Series:
    """``n`` nulls of ``dtype``: 5 us, where ``pl.repeat`` (a query) took 100."""
    return pl.Series("", [None], dtype=dtype).new_from_index(0, n)


def _parse_numpy(view: LineBytes, *, timing: bool) -> FastResult:
    n = len(view.starts)
    b = _Buffer(view)
    buf, spaces, quotes = b.buf, b.spaces, b.quotes
    starts, ends = view.starts, view.ends
    q0 = np.searchsorted(quotes, starts)
    nq = np.searchsorted(quotes, ends) - q0
    # A line with an unusual byte or an escaped quote anywhere is not plain.
    odd = np.zeros(n, bool)
    if len(view.unusual):
        odd[view.line_of(view.unusual)] = True
    ok = ((nq == 6) | (nq == 8)) & ~odd
    escaped = quotes[buf[quotes - 1] == _BACKSLASH]
    if len(escaped):
        ok[view.line_of(escaped)] = False
    # Both regexes need six quotes: a plain line with fewer (a torn line, a blank one)
    # matches neither. Blank means empty or spaces only (other whitespace is unusual).
    unmatched = np.flatnonzero((nq < 6) & ~odd)
    u_lo, u_hi = starts[unmatched], ends[unmatched]
    blank = np.searchsorted(spaces, u_hi) - np.searchsorted(spaces, u_lo) == u_hi - u_lo
    rows = np.flatnonzero(ok)
    s, e, k, nq = starts[rows], ends[rows], q0[rows], nq[rows]
    q = [_nth(quotes, k, j) for j in range(8)]
    sp0 = np.searchsorted(spaces, s)
    s1, s2, s3 = (_nth(spaces, sp0, j) for j in range(3))
    # ADDR IDENT USER [time] "
    good = (s1 > s) & (s2 > s1 + 1) & (s3 > s2 + 1) & (q[0] == s3 + 30)
    good &= (buf[s3 + 1] == ord("[")) & (buf[q[0] - 2] == ord("]")) & (buf[q[0] - 1] == _SPACE)
    ts, time_ok = _clf_time(buf, np.minimum(s3 + 2, len(buf) - _TIME_LEN))
    good &= time_ok
    # "METHOD /uri HTTP/x.y": two spaces, no backslash. When the line is good so far, the
    # spaces before the request are ADDR's, IDENT's, USER's, the time's and the one before
    # the quote, so the request's spaces come 5 and 6 after the line's first.
    req_lo, req_hi = q[0] + 1, q[1]
    a1, a2, a3 = (_nth(spaces, sp0, j) for j in (5, 6, 7))
    good &= (a2 < req_hi) & ((a3 > req_hi) | (sp0 + 7 >= len(spaces)))
    good &= _none_in(b.backslashes, req_lo, req_hi)
    method_len = a1 - req_lo
    good &= (method_len >= 1) & (method_len <= 20) & (a2 > a1 + 1) & (buf[a1 + 1] == ord("/"))
    for j in range(int(method_len[good].max()) if good.any() else 0):
        c = buf[np.minimum(req_lo + j, len(buf) - 1)]
        good &= (j >= method_len) | (c - np.uint8(65) <= 25)
    proto_len = req_hi - (a2 + 1)
    good &= (proto_len >= 6) & (proto_len <= 8)
    proto = b.u64[np.minimum(a2 + 1, len(b.u64) - 1)]
    good &= (proto & LOW_BYTES64[5]) == _HTTP
    for j in range(5, 8):
        c = ((proto >> np.uint64(8 * j)) & np.uint64(255)).astype(np.uint8)
        good &= (j >= proto_len) | (c - np.uint8(48) <= 9) | (c == ord("."))
    # The path ends at the first "?" or "#" of the URI.
    path_hi = a2
    if len(b.cuts):
        first_cut = _nth(b.cuts, np.searchsorted(b.cuts, a1 + 1), 0)
        path_hi = np.where((first_cut > a1) & (first_cut < a2), first_cut, a2)
    # ` SSS BYTES `
    st_lo = q[1] + 1
    good &= (buf[st_lo] == _SPACE) & (buf[st_lo + 4] == _SPACE) & (buf[q[2] - 1] == _SPACE)
    sd = [buf[st_lo + j] - np.uint8(48) for j in (1, 2, 3)]
    good &= (sd[0] <= 9) & (sd[1] <= 9) & (sd[2] <= 9)
    status = sd[0].astype(np.int16) * 100 + sd[1].astype(np.int16) * 10 + sd[2]
    by_ok, by_dash, by_value, _ = _number(buf, st_lo + 5, q[2] - 1, decimal=False)
    good &= by_ok
    # "referer" "ua"
    good &= (q[4] == q[3] + 2) & (buf[q[3] + 1] == _SPACE)
    # An optional "-" for X-Forwarded-For (any other value goes to the regex parser).
    xff = nq == 8
    good &= ~xff | ((q[6] == q[5] + 2) & (buf[q[5] + 1] == _SPACE))
    good &= ~xff | ((q[7] == q[6] + 2) & (buf[q[6] + 1] == ord("-")))
    tail = np.where(xff, q[7] + 1, q[5] + 1)
    if timing:
        # ` RT ADDR URT`, nothing after; or, after a retry, ` RT ADDR, ADDR NUM, NUM`.
        ts0 = np.searchsorted(spaces, tail)
        tail_spaces = np.searchsorted(spaces, e) - ts0
        t1, t2 = _nth(spaces, ts0, 1), _nth(spaces, ts0, 2)
        good &= (_nth(spaces, ts0, 0) == tail) & (t1 > tail + 1)
        rt_ok, rt_dash, rt_value, rt_fraction = _number(buf, tail + 1, t1, decimal=True)
        good &= rt_ok
        # The upstream that answered: the last address.
        up_lo, up_hi = t1 + 1, t2.copy()
        single = tail_spaces == 3
        retried = good & (tail_spaces > 3) & (tail_spaces <= _MAX_TAIL_SPACES)
        good &= ~single | (
            (t2 > t1 + 1)
            & (e > t2 + 1)
            & _number(buf, t2 + 1, e, decimal=True)[0]
            & _none_in(b.commas, t1 + 1, t2)
        )
        if retried.any():
            at = np.flatnonzero(retried)
            ok, lo, hi = _upstream_lists(b, ts0[at], tail_spaces[at], e[at])
            good[at] = ok
            up_lo[at], up_hi[at] = lo, hi
        good &= single | retried
    else:
        good &= tail == e

    keep = np.flatnonzero(good)
    rows = rows[keep]

    def view_of(lo: np.ndarray, hi: np.ndarray) -> pl.Series:
        return b.strings(lo[keep], hi[keep])

    raw: dict[str, pl.Series] = {
        "ts": pl.Series(ts[keep], dtype=pl.Int64),
        "client_ip": view_of(s, s1),
        "method": view_of(req_lo, a1),
        "path": view_of(a1 + 1, path_hi),
        "status": pl.Series(status[keep], dtype=pl.Int16),
        # Apache's "-" for an empty body is 0.
        "bytes_sent": pl.Series(np.where(by_dash, 0, by_value)[keep], dtype=pl.Int64),
        "user_agent": unescape_unique(view_of(q[4] + 1, q[5])),
    }
    # The same mapping as nginx_to_canonical + finish, for these plain fields.
    exprs: dict[str, pl.Expr] = {
        "ts": pl.col("ts").cast(pl.Datetime("us")).dt.replace_time_zone("UTC"),
        "client_ip": _dash_null("client_ip"),
        "method": pl.col("method"),
        "path": pl.col("path"),
        "status": pl.col("status"),
        "bytes_sent": pl.col("bytes_sent"),
        "user_agent": _dash_null("user_agent"),
    }
    if timing:
        seconds = rt_value[keep] / _POW10[rt_fraction[keep]]
        raw["duration_s"] = pl.Series(np.where(rt_dash[keep], np.nan, seconds)).fill_nan(None)
        raw["upstream"] = view_of(up_lo, up_hi)
        exprs["duration_s"] = pl.col("duration_s")
        exprs["upstream"] = _dash_null("upstream")
    fields = pl.DataFrame(raw).select(
        *[
            (exprs[c] if c in exprs else pl.lit(None)).cast(t).alias(c)
            for c, t in REQUEST_FIELDS.items()
        ],
        pl.lit(REQUEST, pl.UInt8).alias(KIND),
    )
    return FastResult(rows=rows, fields=fields, unmatched=unmatched, blank=blank)


def _dash_null(name: str) -> pl.Expr:
    col = pl.col(name)
    return pl.when((col != "-") & (col != "")).then(col)
