"""nginx access logs written as JSON lines (``log_format ... escape=json '{...}'``).

Ingest stage, format layer. nginx has no fixed JSON layout: each site writes its own
``log_format`` whose keys are usually the nginx variable names (``remote_addr``,
``time_iso8601``, ``request``, ``status``, ``body_bytes_sent``, ``request_time``,
``http_user_agent``, ``upstream_addr``, ...), often with shorter aliases (``method``,
``path``, ``user_agent``, ``duration``). Each canonical field is taken from the first of
its known keys that the line has (see ``_ALIASES``).

The mapping follows the other nginx parsers (``rca.ingest.formats._log_format``):

* ``ts`` is the logged time (``$msec``, ``$time_iso8601``, ``$time_local`` or an
  ``@timestamp``/``timestamp``/``time`` key in RFC 3339, CLF or unix form), as for the
  combined format;
* ``client_ip`` is the first ``X-Forwarded-For`` hop (or ``X-Real-IP``) when it is an
  address, else ``remote_addr``;
* ``path`` comes from ``request_uri``, else from the ``request`` line, else ``uri``;
* ``upstream`` is the last address of ``upstream_addr`` (the server that answered);
* ``edge`` is ``$hostname`` (the nginx box, i.e. the load balancer) when logged.

Values may be strings (``escape=json`` quotes everything) or bare numbers. Lines written
with nginx's default escaping (``\\xHH``) are decoded too.
"""

from __future__ import annotations

import polars as pl

from rca.ingest.formats._base import KIND, MALFORMED, OTHER, REQUEST, ParseState
from rca.ingest.formats._common import dash_null, finish, first_hop, path_only, strip_port
from rca.ingest.formats._godur import rfc3339_utc, unix_utc
from rca.ingest.formats._jsonlines import OK, decode_json_lines, sniff_json_requests
from rca.ingest.formats._log_format import clf_time, epoch_time, last_upstream

#: Canonical role → JSON keys that carry it, most specific first.
_ALIASES: dict[str, tuple[str, ...]] = {
    "msec": ("msec",),
    "time": (
        "time_iso8601",
        "@timestamp",
        "time_local",
        "timestamp",
        "time",
        "datetime",
        "date",
        "ts",
    ),
    "forwarded": (
        "http_x_forwarded_for",
        "x_forwarded_for",
        "xff",
        "forwarded_for",
        "http_x_real_ip",
        "x_real_ip",
    ),
    "remote": (
        "remote_addr",
        "realip_remote_addr",
        "remote_ip",
        "client_ip",
        "clientip",
        "client_addr",
        "client",
        "ip",
    ),
    "method": ("request_method", "method", "http_method", "verb"),
    "uri": ("request_uri", "uri", "path", "url", "request_path", "request_url"),
    "request": ("request", "request_line"),
    "status": ("status", "status_code", "response_status", "http_status", "response_code"),
    "bytes": (
        "body_bytes_sent",
        "bytes_sent",
        "response_bytes",
        "body_bytes",
        "bytes",
        "size",
    ),
    "duration": ("request_time", "duration", "response_time", "request_duration", "elapsed"),
    "user_agent": ("http_user_agent", "user_agent", "useragent", "agent", "ua"),
    "upstream": ("upstream_addr", "upstream", "upstream_address"),
    "edge": ("hostname",),
    "country": ("geoip_country_code", "geoip2_country_code", "country_code", "country"),
    "asn": ("geoip_asn", "geoip2_asn", "asn"),
}
# Keys that are distinctly nginx's (sniffing requires one of them, so a generic JSON log
# with just "status" and "time" is not claimed).
_NGINX_KEYS = (
    "remote_addr",
    "request",
    "request_uri",
    "request_method",
    "body_bytes_sent",
    "bytes_sent",
    "request_time",
    "http_user_agent",
    "time_local",
    "time_iso8601",
    "upstream_addr",
    "http_x_forwarded_for",
)
_REQUEST_LINE = r"^([!#$%&'*+.^_`|~0-9A-Za-z-]+) +(.+?)(?: +HTTP/[0-9.]+)? *$"
_IP_LIKE = r"^[0-9A-Fa-f.:]+$"


class NginxJSON:
    """nginx ``escape=json`` access logs (keys named like nginx variables)."""

    name = "nginx_json"
    description = "nginx JSON access log (log_format escape=json with nginx variable names)"

    def sniff(self, lines: list[str]) -> float:
        return sniff_json_requests(self, lines)

    def parse(self, lines: pl.Series, state: ParseState) -> pl.DataFrame:
        lines = lines.cast(pl.String).fill_null("").rename("line")
        keys = sorted({k for names in _ALIASES.values() for k in names} | set(_NGINX_KEYS))
        decoded = decode_json_lines(lines, {k: pl.String() for k in keys})
        raw = pl.DataFrame([lines, *[decoded[k] for k in keys], decoded[OK]])
        return finish(raw.with_columns(**_fields(), **{KIND: _kind()}))


def _pick(role: str) -> pl.Expr:
    """The first non-absent value among the role's keys (``-`` and "" are absent)."""
    return pl.coalesce([dash_null(pl.col(k).str.strip_chars()) for k in _ALIASES[role]])


def _fields() -> dict[str, pl.Expr]:
    text_time = _pick("time")
    ts = pl.coalesce(
        epoch_time(pl.col("msec")),
        rfc3339_utc(text_time),
        clf_time(text_time),
        unix_utc(text_time),
    )
    hop = strip_port(first_hop(_pick("forwarded")))
    client_ip = pl.coalesce(pl.when(hop.str.contains(_IP_LIKE)).then(hop), _pick("remote"))
    line = _pick("request").str.extract_groups(_REQUEST_LINE)
    uri = pl.coalesce(
        dash_null(pl.col("request_uri")),
        line.struct.field("2"),
        *[dash_null(pl.col(k)) for k in _ALIASES["uri"][1:]],
    )
    return {
        "ts": ts,
        "client_ip": client_ip,
        "method": pl.coalesce(_pick("method"), line.struct.field("1")),
        "path": dash_null(path_only(uri)),
        "status": _pick("status").cast(pl.Float64, strict=False).cast(pl.Int16, strict=False),
        "bytes_sent": _pick("bytes").cast(pl.Float64, strict=False).cast(pl.Int64, strict=False),
        "duration_s": _pick("duration").cast(pl.Float64, strict=False),
        # The agent stays raw (not stripped), as in the other formats.
        "user_agent": pl.coalesce([dash_null(pl.col(k)) for k in _ALIASES["user_agent"]]),
        "upstream": last_upstream(_pick("upstream")),
        "edge": _pick("edge"),
        "country": _pick("country"),
        "asn": _pick("asn").str.replace(r"^(?i:AS)", "").cast(pl.Int64, strict=False),
    }


def _kind() -> pl.Expr:
    nginx_like = pl.any_horizontal([pl.col(k).is_not_null() for k in _NGINX_KEYS])
    status = _pick("status").cast(pl.Float64, strict=False)
    return (
        pl.when(pl.col("line").str.strip_chars() == "")
        .then(pl.lit(OTHER, pl.UInt8))
        .when(pl.col(OK) & nginx_like & status.is_not_null())
        .then(pl.lit(REQUEST, pl.UInt8))
        .otherwise(pl.lit(MALFORMED, pl.UInt8))
    )


nginx_json = NginxJSON()

FORMATS = [nginx_json]
