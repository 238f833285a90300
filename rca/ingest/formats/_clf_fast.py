"""A byte-level fast path for the combined / nginx_timing parsers.

Ingest stage, format layer, hot path. The regex parser in ``rca.ingest.formats._combined``
costs about a microsecond per line in the regex engine's capture phase alone. Most lines of
a real access log have the plain shape nginx writes by default, though::

    ADDR - USER [dd/Mon/yyyy:HH:MM:SS +zzzz] "METHOD /uri HTTP/x.y" SSS BYTES "ref" "ua"[ "-"] RT ADDR URT

so this module finds the field boundaries of all lines of a chunk at once with numpy (the
positions of every ``"`` and space in the chunk's buffer), checks each line against that plain
shape, parses the fixed-width time and the numbers directly, and builds the string columns as
Arrow string *views* into the chunk's own buffer (no copy of the text).

A line is taken by the fast path only when its fields are unambiguous: printable ASCII only,
no ``\\"``, exactly the quotes of the shape, a request line ``METHOD /uri HTTP/x.y`` without
backslashes, a well-formed CLF time, and (for ``nginx_timing``) a single upstream. For such
lines the result is exactly what the regex parser gives (``tests/ingest/formats`` checks
this); every other line is left to the regex parser.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from rca._schema import REQUEST_FIELDS
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
_DAYS_IN_MONTH = np.array([0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)
# Positions of digits and separators inside "dd/Mon/yyyy:HH:MM:SS +zzzz".
_TIME_DIGITS = np.array([0, 1, 7, 8, 9, 10, 12, 13, 15, 16, 18, 19, 22, 23, 24, 25])
_TIME_SEPS = {2: ord("/"), 6: ord("/"), 11: ord(":"), 14: ord(":"), 17: ord(":"), 20: _SPACE}
_TIME_LEN = 26
_MAX_DIGITS = 18  # an Int64 holds any 18-digit number


@dataclass(frozen=True)
class FastResult:
    """Rows the fast path parsed (``rows``: their positions in the chunk) and their
    canonical request fields plus ``_kind``, in chunk order."""

    rows: np.ndarray
    fields: pl.DataFrame


class _Buffer:
    """A chunk's text as one byte buffer, with the positions of the bytes that delimit fields."""

    def __init__(self, lines: pl.Series) -> None:
        import pyarrow as pa

        arr = lines.rechunk().to_arrow(compat_level=pl.CompatLevel.oldest())
        if not isinstance(arr, pa.LargeStringArray):
            arr = arr.cast(pa.large_string())
        n = len(arr)
        offsets = np.frombuffer(arr.buffers()[1], np.int64)[arr.offset : arr.offset + n + 1]
        raw = np.frombuffer(arr.buffers()[2], np.uint8)[offsets[0] : offsets[-1]]
        # Padding, so that 8-byte reads at any field start stay inside the buffer.
        self.buf = np.zeros(len(raw) + 16, np.uint8)
        self.buf[: len(raw)] = raw
        self.starts = offsets[:-1] - offsets[0]
        self.ends = offsets[1:] - offsets[0]
        self.n = n
        buf = self.buf[: len(raw)]
        # One scan for every delimiter, then split the (much shorter) list of positions.
        # Control characters and anything non-ASCII are "unusual": such lines go to the
        # regex parser, so the fast path never has to reason about Unicode or escapes.
        special = (buf <= _QUOTE) | (buf == _BACKSLASH) | (buf == _COMMA) | (buf > 126)
        special |= (buf == _QMARK) | (buf == _HASH)
        at = np.flatnonzero(special)
        char = buf[at]
        self.quotes = at[char == _QUOTE]
        self.spaces = at[char == _SPACE]
        self.backslashes = at[char == _BACKSLASH]
        self.commas = at[char == _COMMA]
        self.cuts = at[(char == _QMARK) | (char == _HASH)]
        self.unusual = at[(char < _SPACE) | (char > 126)]
        # Unaligned little-endian reads of 8 and 4 bytes at any position.
        self.u64 = np.ndarray((len(raw) + 8,), "<u8", self.buf.data, 0, (1,))
        self.u32 = np.ndarray((len(raw) + 12,), "<u4", self.buf.data, 0, (1,))

    def count(self, positions: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """How many of ``positions`` (sorted) fall in ``[lo, hi)``, per row."""
        return np.searchsorted(positions, hi) - np.searchsorted(positions, lo)

    def strings(self, lo: np.ndarray, hi: np.ndarray) -> pl.Series:
        """Bytes ``[lo, hi)`` of each row as a String column of views into the buffer."""
        import pyarrow as pa

        lengths = (hi - lo).astype(np.int64)
        n = len(lengths)
        views = np.zeros((n, 4), np.uint32)
        views[:, 0] = lengths
        w0 = self.u64[lo]
        w1 = self.u32[lo + 8]
        inline = lengths <= 12
        low_bits = np.minimum(lengths, 8) * 8
        mask0 = np.where(
            low_bits >= 64,
            np.uint64(0xFFFFFFFFFFFFFFFF),
            (np.uint64(1) << low_bits.astype(np.uint64)) - np.uint64(1),
        )
        high_bits = np.clip(lengths - 8, 0, 4) * 8
        mask1 = np.where(
            high_bits >= 32,
            np.uint32(0xFFFFFFFF),
            ((np.uint64(1) << high_bits.astype(np.uint64)) - np.uint64(1)).astype(np.uint32),
        )
        w0 = np.where(inline, w0 & mask0, w0)
        views[:, 1] = (w0 & np.uint64(0xFFFFFFFF)).astype(np.uint32)
        views[:, 2] = np.where(inline, (w0 >> np.uint64(32)).astype(np.uint32), 0)
        views[:, 3] = np.where(inline, w1 & mask1, lo.astype(np.uint32))
        arr = pa.Array.from_buffers(
            pa.string_view(), n, [None, pa.py_buffer(views), pa.py_buffer(self.buf)]
        )
        return pl.Series(arr)

    def digits(self, lo: np.ndarray, length: int) -> np.ndarray:
        """``length`` bytes from each ``lo`` minus ``'0'``, as an (n, length) int array."""
        return self.buf[lo[:, None] + np.arange(length)].astype(np.int64) - 48


def _nth(positions: np.ndarray, first: np.ndarray, k: int) -> np.ndarray:
    return positions[np.minimum(first + k, len(positions) - 1)] if len(positions) else first * 0


def _number_token(b: _Buffer, lo: np.ndarray, hi: np.ndarray, decimal: bool) -> np.ndarray:
    """Rows whose bytes ``[lo, hi)`` are ``-``, or ``[0-9]+`` (``decimal``: ``[0-9]+(\\.[0-9]+)?``),
    at most 18 characters."""
    length = hi - lo
    ok = (length >= 1) & (length <= _MAX_DIGITS)
    dash = (length == 1) & (b.buf[lo] == ord("-"))
    width = int(length[ok].max()) if ok.any() else 0
    dots = np.zeros(len(lo), np.int64)
    last_dot = np.full(len(lo), -1, np.int64)
    for j in range(width):
        inside = j < length
        c = b.buf[np.minimum(lo + j, len(b.buf) - 1)]
        digit = (c >= 48) & (c <= 57)
        dot = c == ord(".")
        if decimal:
            dots += inside & dot
            last_dot = np.where(inside & dot, j, last_dot)
            ok &= ~inside | digit | dot
        else:
            ok &= ~inside | digit
    if decimal:
        # One dot at most, neither first nor last.
        ok &= (dots == 0) | ((dots == 1) & (last_dot > 0) & (last_dot < length - 1))
    return dash | (ok & (b.buf[lo] != ord("-")))


def _clf_time(b: _Buffer, lo: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Microseconds since the epoch of ``dd/Mon/yyyy:HH:MM:SS +zzzz`` at ``lo``, and which
    rows hold such a time with values every parser agrees on."""
    t = b.buf[lo[:, None] + np.arange(_TIME_LEN)].astype(np.int64)
    d = t[:, _TIME_DIGITS] - 48
    ok = ((d >= 0) & (d <= 9)).all(axis=1)
    for pos, char in _TIME_SEPS.items():
        ok &= t[:, pos] == char
    sign = t[:, 21]
    ok &= (sign == ord("+")) | (sign == ord("-"))
    code = t[:, 3] << 16 | t[:, 4] << 8 | t[:, 5]
    at = np.minimum(np.searchsorted(_MONTH_CODES, code), 11)
    ok &= _MONTH_CODES[at] == code
    month = _MONTH_NUMBERS[at]
    day = d[:, 0] * 10 + d[:, 1]
    year = d[:, 2] * 1000 + d[:, 3] * 100 + d[:, 4] * 10 + d[:, 5]
    hour, minute, second = d[:, 6] * 10 + d[:, 7], d[:, 8] * 10 + d[:, 9], d[:, 10] * 10 + d[:, 11]
    off_h, off_m = d[:, 12] * 10 + d[:, 13], d[:, 14] * 10 + d[:, 15]
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    dim = _DAYS_IN_MONTH[month] - ((month == 2) & ~leap)
    # Unusual values (leap seconds, odd offsets, far years) are left to the regex parser.
    ok &= (day >= 1) & (day <= dim) & (hour <= 23) & (minute <= 59) & (second <= 59)
    ok &= (off_h <= 23) & (off_m <= 59) & (year >= 1970) & (year <= 2200)
    # Days from the civil date (H. Hinnant's algorithm).
    y = year - (month <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (month + np.where(month > 2, -3, 9)) + 2) // 5 + day - 1
    days = era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468
    offset = np.where(sign == ord("-"), -1, 1) * (off_h * 3600 + off_m * 60)
    seconds = days * 86400 + hour * 3600 + minute * 60 + second - offset
    return seconds * 1_000_000, ok


def parse_fast(lines: pl.Series, *, timing: bool) -> FastResult | None:
    """Parse the plain-shaped lines of a chunk (see the module docstring).

    Returns None when the chunk cannot use the fast path at all (e.g. a buffer over 4 GiB).
    """
    b = _Buffer(lines)
    if len(b.buf) >= 2**32 - 16 or b.n == 0:
        return None
    starts, ends = b.starts, b.ends
    q0 = np.searchsorted(b.quotes, starts)
    quotes = np.searchsorted(b.quotes, ends) - q0
    ok = (quotes == 6) | (quotes == 8)
    # A line with an unusual byte or an escaped quote anywhere is not plain.
    for pos in (b.unusual, b.quotes[(b.quotes > 0) & (b.buf[b.quotes - 1] == _BACKSLASH)]):
        if len(pos):
            ok[np.searchsorted(ends, pos, side="right")] = False
    rows = np.flatnonzero(ok)
    s, e, k, nq = starts[rows], ends[rows], q0[rows], quotes[rows]
    q = [_nth(b.quotes, k, j) for j in range(8)]
    sp0 = np.searchsorted(b.spaces, s)
    s1, s2, s3 = (_nth(b.spaces, sp0, j) for j in range(3))
    buf = b.buf
    # ADDR IDENT USER [time] "
    good = (s1 > s) & (s2 > s1 + 1) & (s3 > s2 + 1) & (q[0] == s3 + 30)
    good &= (buf[s3 + 1] == ord("[")) & (buf[q[0] - 2] == ord("]")) & (buf[q[0] - 1] == _SPACE)
    ts, time_ok = _clf_time(b, np.minimum(s3 + 2, len(buf) - _TIME_LEN))
    good &= time_ok
    # "METHOD /uri HTTP/x.y": two spaces, no backslash.
    req_lo, req_hi = q[0] + 1, q[1]
    rs = np.searchsorted(b.spaces, req_lo)
    a1, a2 = _nth(b.spaces, rs, 0), _nth(b.spaces, rs, 1)
    good &= (b.count(b.spaces, req_lo, req_hi) == 2) & (b.count(b.backslashes, req_lo, req_hi) == 0)
    method_len = a1 - req_lo
    good &= (method_len >= 1) & (method_len <= 20) & (a2 > a1 + 1) & (buf[a1 + 1] == ord("/"))
    for j in range(int(method_len[good].max()) if good.any() else 0):
        c = buf[np.minimum(req_lo + j, len(buf) - 1)]
        good &= (j >= method_len) | ((c >= ord("A")) & (c <= ord("Z")))
    proto_len = req_hi - (a2 + 1)
    good &= (proto_len >= 6) & (proto_len <= 8)
    proto = buf[np.minimum(a2 + 1, len(buf) - 8)[:, None] + np.arange(8)]
    good &= (proto[:, :5] == np.frombuffer(b"HTTP/", np.uint8)).all(axis=1)
    for j in range(5, 8):
        c = proto[:, j]
        good &= (j >= proto_len) | ((c >= 48) & (c <= 57)) | (c == ord("."))
    # The path ends at the first "?" or "#" of the URI.
    cut = b.cuts
    first_cut = cut[np.minimum(np.searchsorted(cut, a1 + 1), len(cut) - 1)] if len(cut) else a2
    path_hi = np.where((first_cut > a1) & (first_cut < a2), first_cut, a2) if len(cut) else a2
    # ` SSS BYTES `
    st_lo = q[1] + 1
    good &= (buf[st_lo] == _SPACE) & (buf[st_lo + 4] == _SPACE) & (buf[q[2] - 1] == _SPACE)
    sd = buf[st_lo[:, None] + np.arange(1, 4)].astype(np.int64) - 48
    good &= ((sd >= 0) & (sd <= 9)).all(axis=1)
    status = sd[:, 0] * 100 + sd[:, 1] * 10 + sd[:, 2]
    by_lo, by_hi = st_lo + 5, q[2] - 1
    good &= _number_token(b, by_lo, by_hi, decimal=False)
    # "referer" "ua"
    good &= (q[4] == q[3] + 2) & (buf[q[3] + 1] == _SPACE)
    # An optional "-" for X-Forwarded-For (any other value goes to the regex parser).
    xff = nq == 8
    good &= ~xff | ((q[6] == q[5] + 2) & (buf[q[5] + 1] == _SPACE))
    good &= ~xff | ((q[7] == q[6] + 2) & (buf[q[6] + 1] == ord("-")))
    tail = np.where(xff, q[7] + 1, q[5] + 1)
    if timing:
        # ` RT ADDR URT`, one upstream, nothing after.
        ts0 = np.searchsorted(b.spaces, tail)
        t1, t2 = _nth(b.spaces, ts0, 1), _nth(b.spaces, ts0, 2)
        good &= (b.count(b.spaces, tail, e) == 3) & (_nth(b.spaces, ts0, 0) == tail)
        good &= (t1 > tail + 1) & (t2 > t1 + 1) & (e > t2 + 1)
        good &= _number_token(b, tail + 1, t1, decimal=True)
        good &= _number_token(b, t2 + 1, e, decimal=True)
        good &= b.count(b.commas, t1 + 1, t2) == 0
    else:
        good &= tail == e

    keep = np.flatnonzero(good)
    rows = rows[keep]

    def view(lo: np.ndarray, hi: np.ndarray) -> pl.Series:
        return b.strings(lo[keep], hi[keep])

    raw: dict[str, pl.Series] = {
        "ts": pl.Series(ts[keep], dtype=pl.Int64),
        "client_ip": view(s, s1),
        "method": view(req_lo, a1),
        "path": view(a1 + 1, path_hi),
        "status": pl.Series(status[keep], dtype=pl.Int16),
        "bytes_sent": view(by_lo, by_hi),
        "user_agent": unescape_unique(view(q[4] + 1, q[5])),
    }
    # The same mapping as nginx_to_canonical + finish, for these plain fields.
    exprs: dict[str, pl.Expr] = {
        "ts": pl.col("ts").cast(pl.Datetime("us")).dt.replace_time_zone("UTC"),
        "client_ip": _dash_null("client_ip"),
        "method": pl.col("method"),
        "path": pl.col("path"),
        "status": pl.col("status"),
        "bytes_sent": pl.when(pl.col("bytes_sent") == "-")
        .then(pl.lit(0, pl.Int64))
        .otherwise(pl.col("bytes_sent").cast(pl.Int64, strict=False)),
        "user_agent": _dash_null("user_agent"),
    }
    if timing:
        raw["duration_s"] = view(tail + 1, t1)
        raw["upstream"] = view(t1 + 1, t2)
        exprs["duration_s"] = _dash_null("duration_s").cast(pl.Float64, strict=False)
        exprs["upstream"] = _dash_null("upstream")
    fields = pl.DataFrame(raw).select(
        *[
            (exprs[c] if c in exprs else pl.lit(None)).cast(t).alias(c)
            for c, t in REQUEST_FIELDS.items()
        ],
        pl.lit(REQUEST, pl.UInt8).alias(KIND),
    )
    return FastResult(rows=rows, fields=fields)


def _dash_null(name: str) -> pl.Expr:
    col = pl.col(name)
    return pl.when((col != "-") & (col != "")).then(col)
