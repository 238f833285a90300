"""Amazon CloudFront standard access logs (legacy "standard logging" and v2 in W3C form).

Ingest stage, format layer. A file starts with ``#Version: 1.0`` and ``#Fields: date time
x-edge-location ...`` (both OTHER lines); each request is one tab-separated line whose columns
are the ones the ``#Fields:`` line names. The columns are remembered in ``ParseState`` so later
chunks of the file use them; a file without a header is read with the documented standard
field list (:data:`STANDARD_FIELDS`). Mapping:

- ``ts`` is the request start: ``date`` + ``time`` (UTC, when CloudFront *finished* the
  response, per the AWS docs) minus ``time-taken``; with v2's ``timestamp`` / ``timestamp(ms)``
  columns those are used instead of ``date`` + ``time``;
- ``client_ip`` is the first ``x-forwarded-for`` hop when present (the viewer behind a proxy),
  else ``c-ip``;
- ``method`` ``cs-method``; ``path`` ``cs-uri-stem`` (CloudFront percent-encodes the URI once
  more when logging, ``%3D`` → ``%253D``; it is decoded once, back to what the client sent);
- ``status`` ``sc-status`` (``000`` when the viewer closed the connection first: 0);
- ``bytes_sent`` ``sc-bytes``; ``duration_s`` ``time-taken``;
- ``user_agent`` ``cs(User-Agent)``, URL-decoded once (CloudFront logs it percent-encoded);
- ``edge`` ``x-edge-location`` (e.g. ``SEA19-C1``); ``country``/``asn`` from v2's
  ``c-country``/``asn`` columns when present;
- ``error_message`` the first of ``x-edge-detailed-result-type``, ``x-edge-result-type``,
  ``x-edge-response-result-type`` that is an error type (``OriginDnsError``, ``Error``,
  ``ClientCommError``, ``LimitExceeded``, ...), i.e. not ``Hit``/``RefreshHit``/``Miss``/
  ``Redirect``/``FunctionGeneratedResponse``/``OriginShieldHit``.

A line with fewer columns than the header names is torn: MALFORMED.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote

import polars as pl

from rca.ingest.formats._base import KIND, MALFORMED, OTHER, REQUEST, ParseState
from rca.ingest.formats._common import (
    dash_null,
    finish,
    first_hop,
    path_only,
    started,
    strip_port,
)
from rca.ingest.formats._log_format import map_unique

#: The documented standard-log columns, in order (33 since 2019; older files stop earlier).
STANDARD_FIELDS: tuple[str, ...] = (
    "date",
    "time",
    "x-edge-location",
    "sc-bytes",
    "c-ip",
    "cs-method",
    "cs(Host)",
    "cs-uri-stem",
    "sc-status",
    "cs(Referer)",
    "cs(User-Agent)",
    "cs-uri-query",
    "cs(Cookie)",
    "x-edge-result-type",
    "x-edge-request-id",
    "x-host-header",
    "cs-protocol",
    "cs-bytes",
    "time-taken",
    "x-forwarded-for",
    "ssl-protocol",
    "ssl-cipher",
    "x-edge-response-result-type",
    "cs-protocol-version",
    "fle-status",
    "fle-encrypted-fields",
    "c-port",
    "time-to-first-byte",
    "x-edge-detailed-result-type",
    "sc-content-type",
    "sc-content-len",
    "sc-range-start",
    "sc-range-end",
)
#: A header-less line needs at least the original 24 columns.
_MIN_DEFAULT_COLUMNS = 24
_STATE_KEY = "cloudfront_fields"
_OK_RESULTS = [
    "Hit",
    "RefreshHit",
    "Miss",
    "Redirect",
    "FunctionGeneratedResponse",
    "OriginShieldHit",
]


def _decode(text: str) -> str:
    return unquote(text, errors="replace")


def _header_fields(line: str) -> tuple[str, ...]:
    return tuple(line.split(":", 1)[1].split())


def _parse_segment(line: pl.Series, fields: tuple[str, ...], required: int) -> pl.DataFrame:
    """Parse lines that share one column layout."""
    cols = line.str.split("\t")
    index = {name.lower(): i for i, name in enumerate(fields)}

    def get(name: str) -> pl.Series:
        i = index.get(name.lower())
        if i is None:
            return pl.Series(name, [None] * len(line), pl.String)
        return cols.list.get(i, null_on_oob=True).rename(name)

    raw = pl.DataFrame(
        {
            "line": line,
            "n": cols.list.len(),
            "date": get("date"),
            "time": get("time"),
            "timestamp": get("timestamp"),
            "timestamp_ms": get("timestamp(ms)"),
            "edge": get("x-edge-location"),
            "sc_bytes": get("sc-bytes"),
            "c_ip": get("c-ip"),
            "method": get("cs-method"),
            "stem": map_unique(get("cs-uri-stem"), "%", _decode),
            "status": get("sc-status"),
            "ua": map_unique(get("cs(User-Agent)"), "%", _decode),
            "xff": map_unique(get("x-forwarded-for"), "%", _decode),
            "taken": get("time-taken"),
            "r1": get("x-edge-detailed-result-type"),
            "r2": get("x-edge-result-type"),
            "r3": get("x-edge-response-result-type"),
            "country": get("c-country"),
            "asn": get("asn"),
        }
    )
    duration = dash_null(pl.col("taken")).cast(pl.Float64, strict=False)
    end = pl.coalesce(
        (pl.col("timestamp_ms").cast(pl.Int64, strict=False) * 1000).cast(pl.Datetime("us")),
        (pl.col("timestamp").cast(pl.Float64, strict=False) * 1_000_000)
        .round(0)
        .cast(pl.Int64, strict=False)  # an absurd epoch (1e30) is null, not a crash
        .cast(pl.Datetime("us")),
        pl.concat_str(pl.col("date"), pl.lit(" "), pl.col("time")).str.to_datetime(
            "%Y-%m-%d %H:%M:%S", strict=False, time_unit="us"
        ),
    ).dt.replace_time_zone("UTC")
    start = started(end, duration)
    hop = strip_port(first_hop(pl.col("xff")))
    errors = [
        pl.when(~dash_null(pl.col(c)).is_in(_OK_RESULTS)).then(dash_null(pl.col(c)))
        for c in ("r1", "r2", "r3")
    ]
    status = pl.col("status")
    blank = pl.col("line").str.strip_chars() == ""
    ok = (pl.col("n") >= required) & status.str.contains(r"^(?:[0-9]{1,3}|-)$").fill_null(False)
    return finish(
        raw.with_columns(
            ts=start,
            client_ip=pl.coalesce(
                pl.when(hop.str.contains(r"^[0-9A-Fa-f.:]+$")).then(hop), dash_null(pl.col("c_ip"))
            ),
            method=dash_null(pl.col("method")),
            path=dash_null(path_only(pl.col("stem"))),
            status=pl.when(status == "-")
            .then(pl.lit(0, pl.Int16))
            .otherwise(status.cast(pl.Int16, strict=False)),
            bytes_sent=dash_null(pl.col("sc_bytes")).cast(pl.Int64, strict=False),
            duration_s=duration,
            user_agent=dash_null(pl.col("ua")),
            edge=dash_null(pl.col("edge")),
            country=dash_null(pl.col("country")),
            asn=dash_null(pl.col("asn")).str.strip_prefix("AS").cast(pl.Int64, strict=False),
            error_message=pl.coalesce(errors),
            **{
                KIND: pl.when(blank | pl.col("line").str.starts_with("#"))
                .then(pl.lit(OTHER, pl.UInt8))
                .when(ok)
                .then(pl.lit(REQUEST, pl.UInt8))
                .otherwise(pl.lit(MALFORMED, pl.UInt8))
            },
        )
    )


@dataclass(frozen=True)
class _CloudFront:
    name: str = "cloudfront"
    description: str = "Amazon CloudFront standard access log (tab-separated, #Fields header)"

    def sniff(self, lines: list[str]) -> float:
        """Share of the non-blank sample lines read as requests or CloudFront headers."""
        sample = [ln for ln in lines if ln.strip()]
        if not sample:
            return 0.0
        try:
            headers = sum(
                1
                for ln in sample
                if ln.startswith("#Version:") or (ln.startswith("#Fields:") and "x-edge-" in ln)
            )
            if not headers and not any("\t" in ln for ln in sample):
                return 0.0  # fields are tab-separated; a parse costs ~10 ms
            out = self.parse(pl.Series("line", sample, pl.String), ParseState(path="<sniff>"))
            requests = int((out.get_column(KIND) == REQUEST).sum())
            if requests == 0 and headers == 0:
                return 0.0
            return (requests + headers) / len(sample)
        except Exception:  # sniffing must never raise, whatever the input
            return 0.0

    def parse(self, lines: pl.Series, state: ParseState) -> pl.DataFrame:
        """Parse one chunk of lines into the canonical request fields plus ``_kind``."""
        line = lines.cast(pl.String).fill_null("").rename("line")
        is_fields = line.str.starts_with("#Fields:")
        if not is_fields.any():
            return _parse_segment(line, *self._layout(state))
        # A chunk may hold several headers (concatenated files): each run of lines uses the
        # header above it; lines before the first use the state carried from earlier chunks.
        segment = is_fields.cast(pl.UInt32).cum_sum()
        parts = []
        for seg in range(int(is_fields.sum()) + 1):
            mask = segment == seg
            chunk = line.filter(mask)
            if seg > 0:
                state.values[_STATE_KEY] = _header_fields(chunk[0])
            parts.append(_parse_segment(chunk, *self._layout(state)))
        # cum_sum never decreases, so segments are contiguous: concatenating keeps line order.
        return pl.concat(parts, how="vertical")

    @staticmethod
    def _layout(state: ParseState) -> tuple[tuple[str, ...], int]:
        fields = state.values.get(_STATE_KEY)
        if fields:
            return tuple(fields), len(fields)
        return STANDARD_FIELDS, _MIN_DEFAULT_COLUMNS


cloudfront = _CloudFront()

FORMATS = [cloudfront]
