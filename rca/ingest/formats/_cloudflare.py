"""Cloudflare Logpush ``http_requests`` dataset, NDJSON (Logpush's default output).

Ingest stage, format layer. Field names are Cloudflare's (developers.cloudflare.com,
Logs → Datasets → http_requests); a job logs only the fields its owner selected, so every
field is optional except a timestamp.

Mapping:

* ``ts`` = ``EdgeStartTimestamp`` (when the edge received the request). Logpush writes
  timestamps as RFC 3339 text, unix seconds or unix nanoseconds (job option
  ``timestamp_format``), as JSON numbers or strings; each value is read by its form and
  magnitude. Without a start, ``EdgeEndTimestamp`` minus the duration.
* ``duration_s`` = ``EdgeEndTimestamp - EdgeStartTimestamp``; when either is missing,
  ``EdgeTimeToFirstByteMs``, else ``OriginResponseDurationMs``, in seconds.
* ``client_ip`` = ``ClientIP``; ``method`` = ``ClientRequestMethod``; ``path`` = the path of
  ``ClientRequestURI`` (path and query), else ``ClientRequestPath``;
  ``user_agent`` = ``ClientRequestUserAgent``.
* ``status`` = ``EdgeResponseStatus`` (0 when the edge sent no response);
  ``bytes_sent`` = ``EdgeResponseBytes``.
* ``upstream`` = ``OriginIP`` (empty when the edge answered alone);
  ``edge`` = ``EdgeColoCode`` (IATA code of the data centre), else ``EdgeColoID``;
  ``country`` = ``ClientCountry`` as logged (lower-case ISO code); ``asn`` = ``ClientASN``.
* ``error_message`` = the security action when Cloudflare blocked or challenged the
  request: ``SecurityAction``, else ``WAFAction`` (legacy), else the first blocking entry
  of ``SecurityActions`` / ``FirewallMatchesActions``, else ``EdgeRateLimitAction``.
"""

from __future__ import annotations

import polars as pl

from rca.ingest.formats._base import KIND, MALFORMED, OTHER, REQUEST, ParseState
from rca.ingest.formats._common import dash_null, finish, path_only, started
from rca.ingest.formats._godur import any_time_utc_column
from rca.ingest.formats._jsonlines import OK, decode_json_lines, sniff_json_requests

_SCALARS = (
    "ClientIP",
    "ClientRequestMethod",
    "ClientRequestURI",
    "ClientRequestPath",
    "ClientRequestHost",
    "ClientRequestUserAgent",
    "ClientCountry",
    "ClientASN",
    "EdgeStartTimestamp",
    "EdgeEndTimestamp",
    "EdgeResponseStatus",
    "EdgeResponseBytes",
    "EdgeColoCode",
    "EdgeColoID",
    "EdgeTimeToFirstByteMs",
    "EdgeRateLimitAction",
    "OriginIP",
    "OriginResponseDurationMs",
    "RayID",
    "SecurityAction",
    "WAFAction",
)
_LISTS = ("SecurityActions", "FirewallMatchesActions")
#: Keys that mark a line as Cloudflare http_requests (any one suffices).
_MARKERS = (
    "RayID",
    "EdgeStartTimestamp",
    "EdgeEndTimestamp",
    "EdgeResponseStatus",
    "ClientRequestURI",
    "ClientRequestHost",
    "ClientRequestMethod",
    "EdgeColoCode",
)
# Security / WAF / rate-limit actions that stop or challenge a request. "*Solved" and
# "*Bypassed" mean the client passed, so the request was served: not errors.
_BLOCKING = (
    "block",
    "challenge",
    "jschallenge",
    "managedchallenge",
    "managed_challenge",
    "js_challenge",
    "connectionclose",
    "forceconnectionclose",
    "drop",
    "ban",
)


class Cloudflare:
    """Cloudflare Logpush ``http_requests`` NDJSON."""

    name = "cloudflare"
    description = "Cloudflare Logpush http_requests (NDJSON: ClientIP, EdgeStartTimestamp, ...)"

    def sniff(self, lines: list[str]) -> float:
        return sniff_json_requests(self, lines)

    def parse(self, lines: pl.Series, state: ParseState) -> pl.DataFrame:
        lines = lines.cast(pl.String).fill_null("").rename("line")
        schema: dict[str, pl.DataType] = {k: pl.String() for k in _SCALARS}
        schema.update({k: pl.List(pl.String()) for k in _LISTS})
        decoded = decode_json_lines(lines, schema)
        raw = pl.DataFrame([lines, *[decoded[k] for k in schema], decoded[OK]])
        # The two timestamps first, once each: every field below that needs them would
        # otherwise parse them again (they are the costliest part of a line).
        stamps = raw.select(
            _text("EdgeStartTimestamp").alias("_start"), _text("EdgeEndTimestamp").alias("_end")
        )
        raw = raw.with_columns(any_time_utc_column(stamps[c]) for c in ("_start", "_end"))
        return finish(raw.with_columns(**_fields(), **{KIND: _kind()}))


def _text(key: str) -> pl.Expr:
    return dash_null(pl.col(key).str.strip_chars())


def _blocking(expr: pl.Expr) -> pl.Expr:
    return pl.when(expr.str.to_lowercase().is_in(_BLOCKING)).then(expr)


def _first_blocking(key: str) -> pl.Expr:
    return (
        pl.col(key)
        .list.eval(pl.element().filter(pl.element().str.to_lowercase().is_in(_BLOCKING)))
        .list.first()
    )


def _fields() -> dict[str, pl.Expr]:
    start, end = pl.col("_start"), pl.col("_end")
    from_stamps = (end - start).dt.total_microseconds() / 1e6
    from_ms = (
        pl.coalesce(
            _text("EdgeTimeToFirstByteMs").cast(pl.Float64, strict=False),
            _text("OriginResponseDurationMs").cast(pl.Float64, strict=False),
        )
        / 1e3
    )
    duration = pl.coalesce(from_stamps, from_ms)
    ts = pl.coalesce(start, started(end, duration))
    uri = _text("ClientRequestURI")
    return {
        "ts": ts,
        "client_ip": _text("ClientIP"),
        "method": _text("ClientRequestMethod"),
        "path": pl.coalesce(dash_null(path_only(uri)), _text("ClientRequestPath")),
        "status": _number(_text("EdgeResponseStatus")).cast(pl.Int16, strict=False),
        "bytes_sent": _number(_text("EdgeResponseBytes")).cast(pl.Int64, strict=False),
        "duration_s": duration,
        "user_agent": dash_null(pl.col("ClientRequestUserAgent")),  # raw, not stripped
        "upstream": _text("OriginIP"),
        "edge": pl.coalesce(_text("EdgeColoCode"), _text("EdgeColoID")),
        "country": _text("ClientCountry"),
        "asn": _number(_text("ClientASN")).cast(pl.Int64, strict=False),
        "error_message": pl.coalesce(
            _blocking(_text("SecurityAction")),
            _blocking(_text("WAFAction")),
            _first_blocking("SecurityActions"),
            _first_blocking("FirewallMatchesActions"),
            _blocking(_text("EdgeRateLimitAction")),
        ),
    }


def _number(expr: pl.Expr) -> pl.Expr:
    """Integers written as ``200``, ``"200"`` or ``200.0``."""
    return expr.cast(pl.Float64, strict=False).round(0)


def _kind() -> pl.Expr:
    cloudflare = pl.any_horizontal([pl.col(k).is_not_null() for k in _MARKERS])
    return (
        pl.when(pl.col("line").str.strip_chars() == "")
        .then(pl.lit(OTHER, pl.UInt8))
        .when(pl.col(OK) & cloudflare)
        .then(pl.lit(REQUEST, pl.UInt8))
        .otherwise(pl.lit(MALFORMED, pl.UInt8))
    )


cloudflare = Cloudflare()

FORMATS = [cloudflare]
