"""nginx ``log_format`` definitions compiled into vectorised parsers, and the shared mapping
from nginx variables to the canonical request fields.

Ingest stage, format layer. A user whose nginx logs use their own ``log_format`` passes that
definition (``format="$remote_addr - [$time_local] ..."``, or the whole
``log_format main escape=json '...';`` directive) and :func:`compile_log_format` turns it into
one anchored regex with a named group per variable. The built-in ``combined`` and
``nginx_timing`` formats (``rca.ingest.formats._combined``) reuse :func:`nginx_to_canonical`,
so every nginx-shaped line maps to the canonical fields the same way:

- ``ts``: ``$msec``, else ``$time_iso8601``, else ``$time_local`` (any offset, made UTC). That
  is when nginx wrote the line, the response's end; other formats give the start (logged time
  minus duration, ``_common.started``). Making nginx agree (subtracting ``$request_time``)
  moved the clock-skew estimate of ``tests/robustness/test_time.py``'s 5-minute case below
  its acceptance threshold, so it waits for a sturdier estimator;
- ``client_ip``: first ``$http_x_forwarded_for`` hop when it is an address, else ``$remote_addr``;
- ``method``/``path``: ``$request_method``/``$request_uri`` when logged, else split from
  ``$request`` (a request line that is not ``METHOD URI [HTTP/x]`` -- ``"-"``, TLS bytes sent to
  a plain port -- keeps the row as a request with null method and path: nginx answered it);
- ``bytes_sent``: ``$body_bytes_sent`` (Apache's ``-`` is 0), else ``$bytes_sent``;
- ``duration_s``: ``$request_time``;
- ``upstream``: the **last** address of ``$upstream_addr`` (nginx lists every upstream it tried,
  ``a, b`` on retries and ``a : b`` across internal redirects; the last one produced the
  response whose status and bytes the line reports);
- ``edge``: ``$hostname`` (the nginx instance); ``country``: ``$geoip_country_code``.

Quoted values are unescaped for ``\\"`` and ``\\\\`` (Apache, nginx ``escape=json``) and nginx's
``\\x22``/``\\x5C``; nginx's ``\\xHH`` escapes of other bytes are decoded as UTF-8 where they form
valid UTF-8.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import polars as pl

from rca._errors import ParameterError
from rca.ingest.formats._base import KIND, MALFORMED, OTHER, REQUEST, LogFormat, ParseState
from rca.ingest.formats._common import (
    dash_null,
    finish,
    first_hop,
    path_only,
    strip_port,
)

#: The content of a double-quoted field in which ``"`` may appear backslash-escaped.
QUOTED = r'[^"\\]*(?:\\.[^"\\]*)*'
#: One address of ``$upstream_addr`` and one value of an ``$upstream_*_time`` list.
_ADDR = r"[^ ,]+"
_NUM = r"(?:[0-9]+(?:\.[0-9]+)?|-)"
#: nginx's separators inside upstream lists: ", " between retried servers, " : " between
#: upstream groups of internal redirects.
_SEP = r"(?:, | : )"
UPSTREAM_ADDRS = rf"{_ADDR}(?:{_SEP}{_ADDR})*"
UPSTREAM_NUMS = rf"{_NUM}(?:{_SEP}{_NUM})*"

_CLF_TIME = r"[0-9]{2}/[A-Za-z]{3}/[0-9]{4}:[0-9]{2}:[0-9]{2}:[0-9]{2} [+-][0-9]{4}"
#: An HTTP method token (RFC 9110 tchar).
_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_METHOD = rf"^({_TOKEN}) "
_PROTOCOL = r" +HTTP/[0-9.]+ *$"
_IP_LIKE = r"^[0-9A-Fa-f.:]+$"


# --------------------------------------------------------------------------- time


def clf_time(expr: pl.Expr) -> pl.Expr:
    """``17/May/2015:10:05:03 +0200`` (Common Log Format, any offset) → UTC datetime."""
    return expr.str.to_datetime(
        "%d/%b/%Y:%H:%M:%S %z", strict=False, time_unit="us"
    ).dt.convert_time_zone("UTC")


def iso_time(expr: pl.Expr) -> pl.Expr:
    """ISO 8601 with ``Z`` or an offset, optional fraction (``2018-07-02T22:23:00.186641Z``)
    → UTC datetime. A value without an offset is taken as UTC."""
    text = expr.str.replace(r"Z$", "+00:00")
    aware = text.str.to_datetime("%Y-%m-%dT%H:%M:%S%.f%z", strict=False, time_unit="us")
    naive = text.str.to_datetime("%Y-%m-%dT%H:%M:%S%.f", strict=False, time_unit="us")
    return pl.coalesce(aware.dt.convert_time_zone("UTC"), naive.dt.replace_time_zone("UTC"))


def epoch_time(expr: pl.Expr) -> pl.Expr:
    """Unix seconds with a fraction (nginx ``$msec``: ``1431857103.123``) → UTC datetime."""
    micros = (dash_null(expr).cast(pl.Float64, strict=False) * 1_000_000).round(0).cast(pl.Int64)
    return micros.cast(pl.Datetime("us")).dt.replace_time_zone("UTC")


# --------------------------------------------------------------------------- text


def unescape(expr: pl.Expr) -> pl.Expr:
    r"""Undo the escaping of a quoted log field: ``\"`` and ``\\`` (Apache, nginx
    ``escape=json``) and ``\x22``/``\x5C`` (nginx's default escaping of ``"`` and ``\``).
    One left-to-right pass, so ``\\x22`` stays the literal text ``\x22``."""
    return expr.str.replace_many(
        ['\\"', "\\\\", "\\x22", "\\x5C", "\\x5c"],
        ['"', "\\", '"', "\\", "\\"],
        leftmost=True,
    )


# Cached: the same few user agents come back in every chunk of a file.
@functools.lru_cache(maxsize=1 << 14)
def _unescape_text(text: str) -> str:
    r"""Python twin of :func:`unescape` that also decodes nginx's ``\xHH`` byte escapes (each
    byte outside printable ASCII), as UTF-8 with U+FFFD for invalid sequences. One
    left-to-right pass, like the writers' escaping."""
    out = bytearray()
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            if nxt in '"\\':
                out.append(ord(nxt))
                i += 2
                continue
            hexpart = text[i + 2 : i + 4]
            if (
                nxt == "x"
                and len(hexpart) == 2
                and all(h in "0123456789abcdefABCDEF" for h in hexpart)
            ):
                out.append(int(hexpart, 16))
                i += 4
                continue
        out.extend(c.encode("utf-8", "surrogatepass"))
        i += 1
    return out.decode("utf-8", errors="replace")


def unescape_series(series: pl.Series) -> pl.Series:
    """Unescape a column of quoted log fields: vectorised for ``\\"`` and ``\\\\`` and the
    nginx quote escapes, per distinct value (in Python) for the rare ones with other ``\\xHH``."""
    hex_escaped = series.str.contains(r"\\x(?:[0-9A-Fa-f]{2})").fill_null(False)
    if hex_escaped.any():
        decoded = map_unique(series, r"\\x(?:[0-9A-Fa-f]{2})", _unescape_text)
        simple = series.str.replace_many(['\\"', "\\\\"], ['"', "\\"], leftmost=True)
        return (
            pl.select(pl.when(hex_escaped).then(decoded).otherwise(simple))
            .to_series()
            .rename(series.name)
        )
    if not series.str.contains("\\", literal=True).any():
        return series
    return series.str.replace_many(['\\"', "\\\\"], ['"', "\\"], leftmost=True)


def unescape_unique(series: pl.Series) -> pl.Series:
    """:func:`unescape_series` computed once per distinct value: user agents and referers
    repeat a lot, and their escapes (``\\x5C`` in every Docker agent) are costly to undo."""
    if not series.str.contains("\\", literal=True).any():
        return series
    distinct = series.unique()
    if distinct.len() * 4 > series.len():
        return unescape_series(series)
    return series.replace_strict(distinct, unescape_series(distinct))


def map_unique(series: pl.Series, where: str, fn: Callable[[str], str]) -> pl.Series:
    """Apply a Python string function to the distinct values of ``series`` that match the
    regex ``where`` (rare values such as percent-encoded agents), leaving the rest alone.
    Per distinct value, not per line, so a chunk stays vectorised."""
    mask = series.str.contains(where).fill_null(False)
    if not mask.any():
        return series
    distinct = series.filter(mask).unique()
    old = distinct.to_list()
    new = [fn(v) for v in old]
    return series.replace(old, new)


# --------------------------------------------------------------------------- mapping


def _col(frame: pl.DataFrame, name: str) -> pl.Expr | None:
    return pl.col(name) if name in frame.columns else None


def _first(*exprs: pl.Expr | None) -> pl.Expr:
    present = [e for e in exprs if e is not None]
    if not present:
        return pl.lit(None, pl.String)
    return present[0] if len(present) == 1 else pl.coalesce(present)


def last_upstream(expr: pl.Expr) -> pl.Expr:
    """The last address of an ``$upstream_addr`` list (the server that answered)."""
    return dash_null(expr.str.replace(r"^.*(?:, | : )", "").str.strip_chars())


def nginx_to_canonical(raw: pl.DataFrame, matched: pl.Expr) -> pl.DataFrame:
    """Map a frame of raw nginx variable values (columns named like the variables, without
    ``$``, plus ``line``) to the canonical request fields and ``_kind``.

    ``matched`` says which rows the format's regex matched; a matched row is a REQUEST when its
    ``$status`` (if logged) is a number and its time parses (see ``finish``).
    """
    quoted = [
        c
        for c in (
            "request",
            "http_referer",
            "http_user_agent",
            "request_uri",
            "http_x_forwarded_for",
        )
        if c in raw.columns
    ]
    if quoted:
        raw = raw.with_columns(unescape_series(raw.get_column(c)) for c in quoted)

    cols: dict[str, pl.Expr] = {}
    ts_parts = []
    if "msec" in raw.columns:
        ts_parts.append(epoch_time(pl.col("msec")))
    if "time_iso8601" in raw.columns:
        ts_parts.append(iso_time(pl.col("time_iso8601")))
    if "time_local" in raw.columns:
        ts_parts.append(clf_time(pl.col("time_local")))
    cols["ts"] = pl.coalesce(ts_parts) if ts_parts else pl.lit(None, pl.Datetime("us", "UTC"))

    forwarded = []
    for name in ("http_x_forwarded_for", "http_x_real_ip"):
        if name in raw.columns:
            hop = strip_port(first_hop(pl.col(name)))
            forwarded.append(pl.when(hop.str.contains(_IP_LIKE)).then(hop))
    remote = _col(raw, "remote_addr")
    cols["client_ip"] = _first(*forwarded, dash_null(remote) if remote is not None else None)

    request = _col(raw, "request")
    line_method: pl.Expr | None = None
    line_uri: pl.Expr | None = None
    if request is not None:
        # Two cheap passes instead of one capturing regex: the method token before the first
        # space, then what follows it minus a trailing " HTTP/x.y".
        line_method = request.str.extract(_METHOD, 1)
        line_uri = (
            request.str.replace(_PROTOCOL, "")
            .str.slice(line_method.str.len_bytes() + 1)
            .str.strip_chars(" ")
        )
        line_uri = pl.when(line_uri != "").then(line_uri)
    method = _col(raw, "request_method")
    cols["method"] = _first(dash_null(method) if method is not None else None, line_method)
    uri = _first(
        dash_null(pl.col("request_uri")) if "request_uri" in raw.columns else None,
        line_uri,
        dash_null(pl.col("uri")) if "uri" in raw.columns else None,
    )
    cols["path"] = dash_null(path_only(uri))

    if "status" in raw.columns:
        cols["status"] = pl.col("status").cast(pl.Int16, strict=False)
        status_ok = cols["status"].is_not_null()
    else:
        status_ok = pl.lit(True)
    size = _first(
        pl.col("body_bytes_sent") if "body_bytes_sent" in raw.columns else None,
        pl.col("bytes_sent") if "bytes_sent" in raw.columns else None,
    )
    # Apache's %b logs "-" for a body of zero bytes.
    cols["bytes_sent"] = (
        pl.when(size == "-").then(pl.lit(0, pl.Int64)).otherwise(size.cast(pl.Int64, strict=False))
    )
    if "request_time" in raw.columns:
        cols["duration_s"] = dash_null(pl.col("request_time")).cast(pl.Float64, strict=False)
    if "http_user_agent" in raw.columns:
        cols["user_agent"] = dash_null(pl.col("http_user_agent"))
    if "upstream_addr" in raw.columns:
        cols["upstream"] = last_upstream(pl.col("upstream_addr"))
    if "hostname" in raw.columns:
        cols["edge"] = dash_null(pl.col("hostname"))
    if "geoip_country_code" in raw.columns:
        cols["country"] = dash_null(pl.col("geoip_country_code"))

    blank = pl.col("line").str.strip_chars() == ""
    kind = (
        pl.when(blank)
        .then(pl.lit(OTHER, pl.UInt8))
        .when(matched.fill_null(False) & status_ok)
        .then(pl.lit(REQUEST, pl.UInt8))
        .otherwise(pl.lit(MALFORMED, pl.UInt8))
    )
    return finish(raw.with_columns(kind.alias(KIND), **cols))


# --------------------------------------------------------------------------- compile

_VAR = re.compile(r"\$(?:\{(\w+)\}|(\w+))")

#: Unquoted patterns of variables whose values have a known shape.
_SHAPES: dict[str, str] = {
    "time_local": _CLF_TIME,
    "status": r"[0-9]{3}|-",
    "upstream_addr": UPSTREAM_ADDRS,
    "remote_addr": r"[^ ]+",
    "request": r".*?",
}
_NUMERIC = {
    "body_bytes_sent",
    "bytes_sent",
    "request_length",
    "request_time",
    "msec",
    "connection",
    "connection_requests",
    "pid",
    "server_port",
    "remote_port",
    "content_length",
}


def _var_pattern(name: str, before: str, after: str, last: bool, escape: str) -> str:
    if before.endswith('"') and after.startswith('"'):
        # escape=none writes quotes inside values as they are: take the shortest value.
        return r".*?" if escape == "none" else QUOTED
    if before.endswith("[") and after.startswith("]"):
        return r"[^\]]*"
    if name in _SHAPES:
        return _SHAPES[name]
    if name.startswith("upstream_"):
        return (
            UPSTREAM_NUMS if name.endswith("_time") or name.endswith("_status") else UPSTREAM_ADDRS
        )
    if name in _NUMERIC:
        return r"[0-9.]+|-"
    if last:
        return r".*"
    if after.startswith(" "):
        return r"[^ ]*"
    return r".*?"


_META = set("\\.+*?()|[]{}^$#&-~")


def literal_regex(text: str) -> str:
    """``text`` as a Rust-regex literal (Python's ``re.escape`` also escapes characters, such as
    the space, that Rust's regex syntax does not accept escaped)."""
    return "".join("\\" + c if c in _META else c for c in text)


def _directive_body(text: str) -> tuple[str, str]:
    """The format string and escape mode of ``text``: either the bare format, or a whole
    ``log_format NAME [escape=...] 'part' 'part';`` directive (its quoted parts joined)."""
    stripped = text.strip()
    if not stripped.startswith("log_format"):
        return text, "default"
    rest = stripped[len("log_format") :].strip().rstrip(";").strip()
    escape = "default"
    head = re.match(r"^([^\s'\"]+)\s*(?:escape=(\w+)\s*)?", rest)
    if head:
        escape = head.group(2) or "default"
        rest = rest[head.end() :]
    parts = re.findall(r"'((?:[^'\\]|\\.)*)'|\"((?:[^\"\\]|\\.)*)\"|(\S+)", rest)
    pieces = [a or b or c for a, b, c in parts]
    body = "".join(p.replace("\\'", "'").replace('\\"', '"') for p in pieces)
    return body, escape


@dataclass(frozen=True)
class CompiledLogFormat:
    """An nginx ``log_format`` compiled to one anchored regex (see :func:`compile_log_format`)."""

    format: str
    pattern: str
    variables: tuple[str, ...]
    name: str = "log_format"
    description: str = field(default="user-supplied nginx log_format")

    #: No state is carried from chunk to chunk, so chunks of one file may parse in parallel.
    independent_chunks = True

    def parse(self, lines: pl.Series, state: ParseState) -> pl.DataFrame:
        """Parse one chunk of lines into the canonical request fields plus ``_kind``."""
        frame = pl.DataFrame({"line": lines.cast(pl.String).fill_null("")})
        groups = frame.get_column("line").str.extract_groups(self.pattern)
        fields = groups.struct.unnest()
        # Group names are v0, v1, ...: the first occurrence of each variable wins.
        seen: dict[str, str] = {}
        for i, var in enumerate(self.variables):
            seen.setdefault(var, f"v{i}")
        raw = frame.with_columns(fields.get_column(g).alias(v) for v, g in seen.items())
        matched = (
            fields.get_column("v0").is_not_null()
            if self.variables
            else pl.Series([False] * len(frame))
        )
        return nginx_to_canonical(raw.with_columns(_matched=matched), pl.col("_matched"))

    def sniff(self, lines: list[str]) -> float:
        """Share of non-blank sample lines parsed as requests."""
        return sniff_share(self, lines)


def sniff_share(fmt: LogFormat, lines: list[str]) -> float:
    """Share of the non-blank ``lines`` that ``fmt.parse`` reads as requests; 0 on any error."""
    sample = [ln for ln in lines if ln.strip()]
    if not sample:
        return 0.0
    try:
        out = fmt.parse(pl.Series("line", sample, pl.String), ParseState(path="<sniff>"))
        return float((out.get_column(KIND) == REQUEST).sum()) / len(sample)
    except Exception:  # sniffing must never raise, whatever the input
        return 0.0


def compile_log_format(log_format: str) -> CompiledLogFormat:
    """Compile an nginx ``log_format`` definition into a parser.

    Accepts the format string itself or a whole ``log_format`` directive, including
    ``escape=json`` JSON templates. Variables it does not know are matched and skipped.

    Raises
    ------
    ParameterError
        The format has no variables, or none that gives a request's time.

    Examples
    --------
    >>> import polars as pl
    >>> from rca.ingest.formats._base import ParseState
    >>> fmt = compile_log_format('$remote_addr [$time_local] "$request" $status $request_time')
    >>> line = '10.0.0.1 [17/May/2015:10:05:03 +0000] "GET /v2/ HTTP/1.1" 200 0.004'
    >>> fmt.parse(pl.Series([line]), ParseState("x")).select("path", "status", "duration_s").row(0)
    ('/v2/', 200, 0.004)
    """
    body, escape = _directive_body(log_format)
    pieces = _VAR.split(body)
    # split() with two groups yields: literal, braced-name, bare-name, literal, ...
    literals = pieces[0::3]
    names = [a or b for a, b in zip(pieces[1::3], pieces[2::3], strict=True)]
    if not names:
        raise ParameterError(
            f"nginx log_format {log_format!r} has no $variables; pass the log_format string from nginx.conf"
        )
    if not {"time_local", "time_iso8601", "msec"} & set(names):
        raise ParameterError(
            f"nginx log_format {log_format!r} has no time variable; rca needs $time_local, "
            "$time_iso8601 or $msec to place requests in time"
        )
    regex = ["^", literal_regex(literals[0])]
    for i, name in enumerate(names):
        before, after = literals[i], literals[i + 1]
        last = i == len(names) - 1 and after == ""
        regex.append(f"(?P<v{i}>{_var_pattern(name, before, after, last, escape)})")
        regex.append(literal_regex(after))
    regex.append("$")
    return CompiledLogFormat(
        format=body,
        pattern="".join(regex),
        variables=tuple(names),
        description=f"nginx log_format {body}",
    )
