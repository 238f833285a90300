"""CNCF distribution (Docker) registry logs: logrus text and JSON.

The registry logs through logrus with request fields from its context
(``distribution/internal/dcontext``): ``http.request.*`` on every line logged while
serving a request, and ``http.response.{status,written,contenttype,duration}`` on the line
logged when the response is done (``msg="response completed"``, or one
``"response completed with error"`` line per error, each with ``err.code``,
``err.message`` and ``err.detail``).

How lines are classified:

* a logrus line with ``http.response.status`` is a request (REQUEST);
* a further "response completed with error" line for a request id already seen is the
  same request's next error (OTHER), so a request with two errors counts once;
* other logrus lines (application messages, per-request error lines without a response
  status) are OTHER, and so are the gorilla combined access-log lines the registry also
  writes to the same stream, since they repeat a request already counted from its
  logrus line (a file of *only* access lines is the ``combined`` format's job);
* anything else is MALFORMED.

Timestamps: logrus stamps a line when it is written, i.e. when the response completed.
The canonical ``ts`` is the request start, so ``ts = time - http.response.duration``
(the registry only logs the duration when it is positive; otherwise ``ts = time``).
``client_ip`` is the first hop of ``http.request.remoteaddr``, which the registry fills
from ``X-Forwarded-For`` when present (older releases logged the whole list), without
its port.
"""

from __future__ import annotations

import re

import numpy as np
import polars as pl

from rca._schema import UTC_TS
from rca.ingest.formats._base import (
    KIND,
    MALFORMED,
    OTHER,
    REPEAT_KEY,
    REQUEST,
    ParseState,
    remember_keys,
)
from rca.ingest.formats._common import (
    dash_null,
    finish,
    first_hop,
    path_only,
    started,
    strip_port,
)
from rca.ingest.formats._godur import go_duration_seconds, rfc3339_utc
from rca.ingest.formats._jsonlines import OK, decode_json_lines, json_candidates
from rca.ingest.formats._registry_fast import (
    client_hosts,
    decode_objects,
    go_durations,
    rfc3339_times,
)

# Raw fields read from a registry line, in the column names used below.
_KEYS = {
    "time": "time",
    "level": "level",
    "msg": "msg",
    "method": "http.request.method",
    "remoteaddr": "http.request.remoteaddr",
    "uri": "http.request.uri",
    "useragent": "http.request.useragent",
    "request_id": "http.request.id",
    "status": "http.response.status",
    "written": "http.response.written",
    "duration": "http.response.duration",
    "err_code": "err.code",
    "err_message": "err.message",
}
# logrus' logstash formatter (a registry ``log.formatter`` option) renames two keys.
_LOGSTASH = {"time": "@timestamp", "msg": "message"}

_JSON_SCHEMA: dict[str, pl.DataType] = {
    key: pl.String() for key in sorted({*_KEYS.values(), *_LOGSTASH.values()})
}

# gorilla/handlers' combined log line: host ident user [time] "request" ...
_ACCESS_LINE = r'^\S+ \S+ \S+ \[[^\]]+\] "'
# A complete logrus text line: nothing but key=value pairs, values bare or Go-quoted.
_LOGRUS_LINE = (
    r'^\s*[^\s="]+=(?:"(?:[^"\\]|\\.)*"|[^\s"]*)(?:\s+[^\s="]+=(?:"(?:[^"\\]|\\.)*"|[^\s"]*))*\s*$'
)
_STATE_KEY = "registry_recent_request_ids"


class _Registry:
    """Shared classification and field mapping for both registry encodings."""

    name = ""
    description = ""

    def sniff(self, lines: list[str]) -> float:
        try:
            sample = [line for line in lines if line.strip()]
            if not sample:
                return 0.0
            series = pl.Series("line", sample, dtype=pl.String)
            # Detection sniffs every file with every format: most files are not a
            # registry's, and a cheap necessary condition spares them the full reading.
            if not bool(self._may_be_logrus(series).any()):
                return 0.0
            raw = self._raw(series)
            logrus = int(raw["_logrus"].sum())
            if logrus == 0:
                return 0.0
            # Access lines only count when the file is evidently a registry's output.
            access = int(raw["_access"].sum())
            return (logrus + access) / len(sample)
        except Exception:  # sniffing must never raise
            return 0.0

    #: Chunks parse in parallel (``parse_independent``); the one thing a chunk needs from
    #: those before it, the request ids already answered, is applied in order by the
    #: reader (``rca.ingest._logs``) through the ``REPEAT_KEY`` column.
    independent_chunks = True

    def parse(self, lines: pl.Series, state: ParseState) -> pl.DataFrame:
        return resolve_repeats(self.parse_independent(lines), state)

    def parse_independent(self, lines: pl.Series) -> pl.DataFrame:
        """``parse`` without the requests already answered in earlier chunks: the frame
        plus ``REPEAT_KEY``, the request id of each row that answers it first in this
        chunk (null elsewhere). ``resolve_repeats`` finishes it."""
        lines = lines.cast(pl.String).fill_null("").rename("line")
        return _to_requests(self._raw(lines))

    def _raw(self, lines: pl.Series) -> pl.DataFrame:
        """One row per line: ``line``, the raw text fields of ``_KEYS``, ``_logrus``
        (the line is a logrus entry) and ``_access`` (a gorilla access-log line)."""
        raise NotImplementedError

    def _may_be_logrus(self, lines: pl.Series) -> pl.Series:
        """False only for lines that cannot be logrus entries (``_raw``'s ``_logrus``)."""
        raise NotImplementedError


class RegistryJSON(_Registry):
    """logrus ``JSONFormatter`` (and logstash formatter) output of the registry."""

    name = "registry_json"
    description = "CNCF distribution registry, logrus JSON (http.request.*, http.response.*)"

    def parse_independent(self, lines: pl.Series) -> pl.DataFrame:
        lines = lines.cast(pl.String).fill_null("").rename("line")
        return _parse_json(lines)

    def _may_be_logrus(self, lines: pl.Series) -> pl.Series:
        # An entry has a "level" key, written as such or (absurdly) with \u escapes.
        return lines.str.contains("level", literal=True) | lines.str.contains("\\u", literal=True)

    def _raw(self, lines: pl.Series) -> pl.DataFrame:
        decoded = decode_json_lines(lines, _JSON_SCHEMA)
        cols = {
            name: decoded[key].alias(name) for name, key in _KEYS.items() if name not in _LOGSTASH
        }
        for name, alt in _LOGSTASH.items():
            cols[name] = decoded[_KEYS[name]].fill_null(decoded[alt]).alias(name)
        frame = pl.DataFrame([lines, *cols.values()])
        logrus = decoded[OK] & decoded["level"].is_not_null() & cols["msg"].is_not_null()
        return frame.with_columns(
            logrus.alias("_logrus"),
            (~logrus & lines.str.contains(_ACCESS_LINE)).alias("_access"),
        )


class RegistryText(_Registry):
    """logrus ``TextFormatter`` output: ``time="..." level=info msg="..." key=value ...``."""

    name = "registry_text"
    description = 'CNCF distribution registry, logrus text (time="..." level=... msg="...")'

    def _may_be_logrus(self, lines: pl.Series) -> pl.Series:
        return lines.str.contains(r"(?:^|\s)level=\S")  # one of _raw's three conditions

    def _raw(self, lines: pl.Series) -> pl.DataFrame:
        frame = pl.DataFrame([lines])
        frame = frame.with_columns([_logrus_field(key).alias(name) for name, key in _KEYS.items()])
        frame = frame.with_columns([_unquote(frame[name]).alias(name) for name in _KEYS])
        line = pl.col("line")
        # The whole line must be key=value pairs, so a line torn inside a quoted value
        # is MALFORMED rather than a half-read entry.
        logrus = (
            line.str.contains(_LOGRUS_LINE)
            & line.str.contains(r"(?:^|\s)level=\S")
            & line.str.contains(r"(?:^|\s)msg=")
        )
        return frame.with_columns(
            logrus.alias("_logrus"),
            (~logrus & line.str.contains(_ACCESS_LINE)).alias("_access"),
        )


def _logrus_field(key: str) -> pl.Expr:
    """The raw (still quoted) value of ``key=...`` in a logrus text line."""
    return pl.col("line").str.extract(rf'(?:^|\s){re.escape(key)}=("(?:[^"\\]|\\.)*"|[^\s"]*)', 1)


def _unquote(raw: pl.Series) -> pl.Series:
    """Undo logrus' quoting, which is Go's ``%q``: ``"..."`` with backslash escapes.

    Nearly all escapes in registry logs are ``\\"`` and ``\\\\`` (Docker's user agent has
    ``\\(linux\\)``); those are undone natively. Values with other escapes (``\\n``,
    ``\\xff``, ``\\u00e9``) are rare and decoded one by one in Python.
    """
    quoted = raw.str.starts_with('"') & raw.str.ends_with('"') & (raw.str.len_chars() >= 2)
    inner = pl.select(
        pl.when(quoted).then(raw.str.slice(1).str.slice(0, raw.str.len_chars() - 2)).otherwise(raw)
    ).to_series()
    has_escape = quoted & inner.str.contains("\\", literal=True)
    simple = inner.str.contains(r'^(?:[^\\]|\\["\\])*$')
    fast = pl.select(
        pl.when(has_escape & simple)
        .then(inner.str.replace_all(r'\\(["\\])', "$1"))
        .otherwise(inner)
    ).to_series()
    slow = (has_escape & ~simple).fill_null(False)
    if slow.any():
        idx = slow.arg_true()
        values = [_go_unquote(v) for v in inner.gather(idx).to_list()]
        fast = fast.scatter(idx, pl.Series(values, dtype=pl.String))
    return fast.alias(raw.name)


_GO_ESCAPE = re.compile(r"\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[0-7]{3}|.)", re.S)
_SIMPLE_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}


def _go_unquote(text: str) -> str:
    """Decode the body of a Go ``%q`` string; ``\\xHH`` and octal escapes are bytes."""
    out = bytearray()
    pos = 0
    for match in _GO_ESCAPE.finditer(text):
        out += text[pos : match.start()].encode("utf-8", errors="replace")
        esc = match.group(1)
        if esc[0] == "x" and len(esc) == 3:  # "\\x" without two hex digits: as below
            out.append(int(esc[1:], 16))
        elif esc[0] in "uU" and len(esc) > 1:
            code = int(esc[1:], 16)
            char = chr(code) if code <= 0x10FFFF else "\ufffd"
            out += char.encode("utf-8", errors="replace")
        elif len(esc) == 3 and esc.isdigit():
            out.append(int(esc, 8) & 0xFF)
        else:
            out += _SIMPLE_ESCAPES.get(esc, esc).encode("utf-8", errors="replace")
        pos = match.end()
    out += text[pos:].encode("utf-8", errors="replace")
    return out.decode("utf-8", errors="replace")


def _plain_fields(status: pl.Expr) -> list[pl.Expr]:
    """The canonical fields both parse paths read alike (``ts`` and ``client_ip`` differ
    only in how fast they are computed)."""
    return [
        dash_null(pl.col("method")).alias("method"),
        path_only(pl.col("uri")).alias("path"),
        status.alias("status"),
        dash_null(pl.col("written")).cast(pl.Int64, strict=False).alias("bytes_sent"),
        dash_null(pl.col("useragent")).alias("user_agent"),
        pl.coalesce(dash_null(pl.col("err_message")), dash_null(pl.col("err_code"))).alias(
            "error_message"
        ),
    ]


def _line_kind(status: pl.Expr) -> pl.Expr:
    """REQUEST, MALFORMED or OTHER for a non-blank line (both parse paths use this): the
    response line is the logrus line with a status, which must be an integer; other logrus
    and access lines are OTHER; anything else is MALFORMED."""
    is_response = pl.col("_logrus") & dash_null(pl.col("status")).is_not_null()
    return (
        pl.when(is_response & status.is_not_null())
        .then(pl.lit(REQUEST, pl.UInt8))
        .when(is_response)
        .then(pl.lit(MALFORMED, pl.UInt8))
        .when(pl.col("_logrus") | pl.col("_access"))
        .then(pl.lit(OTHER, pl.UInt8))
        .otherwise(pl.lit(MALFORMED, pl.UInt8))
    )


def _to_requests(raw: pl.DataFrame) -> pl.DataFrame:
    status = dash_null(pl.col("status").str.strip_chars()).cast(pl.Int16, strict=False)
    # Computed once as columns: an expression used in several branches is re-evaluated.
    raw = raw.with_columns(
        go_duration_seconds(pl.col("duration")).alias("duration_s"),
        rfc3339_utc(pl.col("time")).alias("_logged"),
    )
    duration, logged = pl.col("duration_s"), pl.col("_logged")
    start = started(logged, duration)
    raw = raw.with_columns(
        pl.when(pl.col("line").str.strip_chars() == "")
        .then(pl.lit(OTHER, pl.UInt8))
        .otherwise(_line_kind(status))
        .alias(KIND)
    )
    frame = raw.with_columns(
        start.alias("ts"),
        strip_port(first_hop(pl.col("remoteaddr"))).alias("client_ip"),
        *_plain_fields(status),
    )
    return _finish_with_keys(frame)


def _parse_json(lines: pl.Series) -> pl.DataFrame:
    """``RegistryJSON.parse``: the same frame as ``_to_requests(registry_json._raw(lines))``
    (the general path, which sniffing still uses), computed with less work per line.

    Only lines shaped like a JSON object are decoded and carried through; the others (torn
    lines, access lines, blanks) can only be OTHER or MALFORMED and are classified on their
    own. The access-line regex runs only on lines that are not logrus entries, and the
    common spellings of the timestamp and the client address take a regex-free route, with
    the general expressions kept for the rest.
    """
    candidate = json_candidates(lines)
    every = bool(candidate.all())
    text = lines if every else lines.filter(candidate)
    decoded = decode_objects(text, _JSON_SCHEMA)
    raw = decoded.select(
        *[pl.col(key).alias(name) for name, key in _KEYS.items() if name not in _LOGSTASH],
        *[
            pl.col(_KEYS[name]).fill_null(pl.col(alt)).alias(name)
            for name, alt in _LOGSTASH.items()
        ],
        pl.col(OK),
    )
    logrus = (
        raw.select(pl.col(OK) & pl.col("level").is_not_null() & pl.col("msg").is_not_null())
        .to_series()
        .alias("_logrus")
    )
    access = pl.repeat(False, raw.height, dtype=pl.Boolean, eager=True).alias("_access")
    if not logrus.all():
        idx = (~logrus).arg_true()
        access = access.scatter(idx, text.gather(idx).str.contains(_ACCESS_LINE))
    raw = raw.with_columns(
        logrus,
        access,
        _rfc3339_utc(raw["time"]).alias("_logged"),
        _durations(raw["duration"]).alias("duration_s"),
        _client_ip(raw["remoteaddr"]),
    )
    status = dash_null(pl.col("status").str.strip_chars()).cast(pl.Int16, strict=False)
    duration, logged = pl.col("duration_s"), pl.col("_logged")
    start = started(logged, duration)
    # A candidate line is never blank, so the blank test of _to_requests is left out.
    kind = _line_kind(status).alias(KIND)
    frame = raw.with_columns(
        kind,
        start.alias("ts"),
        *_plain_fields(status),
    )
    # Non-candidates are never REQUEST rows, so dropping repeats within the candidates
    # sees the same request ids in the same order as over all lines.
    out = _finish_with_keys(frame)
    if every:
        return out
    # Back to one row per line: a null index gathers a row of nulls for each non-candidate,
    # whose kind is then set on its own (a blank or an access line is OTHER).
    position = pl.select(pl.when(candidate).then(candidate.cum_sum() - 1)).to_series()
    out = out[position.cast(pl.UInt32)]
    rest_idx = (~candidate).arg_true()
    rest = lines.gather(rest_idx)
    rest_kind = pl.select(
        pl.when((rest.str.strip_chars() == "") | rest.str.contains(_ACCESS_LINE))
        .then(pl.lit(OTHER, pl.UInt8))
        .otherwise(pl.lit(MALFORMED, pl.UInt8))
    ).to_series()
    return out.with_columns(out[KIND].scatter(rest_idx, rest_kind))


_RFC3339_NANO = "%Y-%m-%dT%H:%M:%S%.f%#z"


def _rfc3339_utc(time: pl.Series) -> pl.Series:
    """``rfc3339_utc`` of a series, with the stamps logrus writes parsed by the compiled
    scanner (or, without it, one ``to_datetime``) and only the rest (other spellings,
    invalid text) sent through the general expression."""
    direct = rfc3339_times(time)
    if direct is None:
        text = time.str.strip_chars()
        direct = text.str.to_datetime(_RFC3339_NANO, time_unit="us", time_zone="UTC", strict=False)
    missed = direct.is_null() & time.is_not_null()
    if missed.any():
        idx = missed.arg_true()
        general = pl.select(rfc3339_utc(pl.lit(time.gather(idx)))).to_series()
        direct = direct.cast(UTC_TS).scatter(idx, general)
    return direct.cast(UTC_TS)


def _compiled_or(
    values: pl.Series,
    compiled: tuple[pl.Series, np.ndarray] | None,
    expression: pl.Expr,
) -> pl.Series:
    """What a compiled reader gave for ``values`` (its answers, and the positions of the
    rows it left), with the rows it left, or every row without it, by ``expression``."""

    def by_expression(rows: pl.Series) -> pl.Series:
        return pl.DataFrame([rows]).select(expression).to_series()

    if compiled is None:
        return by_expression(values)
    answers, left = compiled
    if len(left):
        answers = answers.scatter(left, by_expression(values.gather(left)))
    return answers


def _durations(duration: pl.Series) -> pl.Series:
    """``go_duration_seconds`` of a series, with Go's one-unit durations read by the
    compiled scanner (400 ns a row by the expressions) and only the rest (several units,
    whitespace, invalid text) sent through the expression."""
    expression = go_duration_seconds(pl.col(duration.name))
    return _compiled_or(duration, go_durations(duration), expression)


def _client_ip(remoteaddr: pl.Series) -> pl.Series:
    """``client_ip`` of the remote addresses: Go's ``host:port`` by the compiled scanner,
    the rest (and everything, without it) by ``_strip_port(first_hop(...))``."""
    expression = _strip_port(first_hop(pl.col(remoteaddr.name)))
    return _compiled_or(remoteaddr, client_hosts(remoteaddr), expression).alias("client_ip")


def _strip_port(addr: pl.Expr) -> pl.Expr:
    """``strip_port``, with ``host:port`` (no brackets, one colon) split without the
    capturing regex; other values go through ``strip_port`` itself."""
    simple = addr.str.contains(r"^[^:\[]+:\d+$")
    host = addr.str.splitn(":", 2).struct.field("field_0")
    return pl.when(simple).then(host).otherwise(strip_port(pl.when(~simple).then(addr)))


def _finish_with_keys(frame: pl.DataFrame) -> pl.DataFrame:
    """``finish``, after dropping the repeated response lines of a request within the
    chunk, plus ``REPEAT_KEY`` for the rows that answer a request id first in it.

    A request with several errors logs one response line per error; only the first is
    the request. Earlier chunks are ``resolve_repeats``' part.
    """
    rid = pl.col("request_id")
    is_req = (pl.col(KIND) == REQUEST) & rid.is_not_null()
    first = pl.when(is_req).then(rid).otherwise(None).is_first_distinct()
    frame = frame.with_columns(
        pl.when(is_req & ~first).then(pl.lit(OTHER, pl.UInt8)).otherwise(pl.col(KIND)).alias(KIND),
        pl.when(is_req & first).then(rid).alias(REPEAT_KEY),
    )
    return finish(frame).with_columns(frame.get_column(REPEAT_KEY))


def resolve_repeats(frame: pl.DataFrame, state: ParseState) -> pl.DataFrame:
    """Rows of ``parse_independent`` whose request was already answered in an earlier
    chunk (the last ``RECENT_KEYS`` ids, kept in ``state``) become OTHER; the column
    ``REPEAT_KEY`` is dropped. The reader does the same with the chunks in order
    (``rca.ingest._logs``); this is the reference it is tested against."""
    recent: list[str] = state.values.get(_STATE_KEY, [])
    key = frame.get_column(REPEAT_KEY)
    seen = key.is_in(pl.Series(recent, dtype=pl.String)).fill_null(False)
    state.values[_STATE_KEY] = remember_keys(recent, key.filter(key.is_not_null() & ~seen))
    return frame.with_columns(
        pl.when(seen).then(pl.lit(OTHER, pl.UInt8)).otherwise(pl.col(KIND)).alias(KIND)
    ).drop(REPEAT_KEY)


registry_json = RegistryJSON()
registry_text = RegistryText()

FORMATS = [registry_json, registry_text]
