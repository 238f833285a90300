"""The canonical frames: column names and dtypes, in one place.

Every ingester produces exactly these columns (missing fields are null, never absent),
and every later stage trusts them. See DESIGN.md, "Canonical frames".
"""

from __future__ import annotations

import polars as pl

from rca._errors import SchemaError

UTC_TS = pl.Datetime("us", "UTC")

#: One row per request, as parsed from a log line.
REQUEST_FIELDS: dict[str, pl.DataType] = {
    "ts": UTC_TS,  # request start, UTC
    "client_ip": pl.String(),  # first X-Forwarded-For hop where the format gives it
    "method": pl.String(),
    "path": pl.String(),  # without the query string
    "status": pl.Int16(),  # 0 when no response was sent
    "bytes_sent": pl.Int64(),
    "duration_s": pl.Float64(),  # null when the format has no duration
    "user_agent": pl.String(),  # raw
    "upstream": pl.String(),  # backend / target address
    "edge": pl.String(),  # CDN location, region or LB name
    "country": pl.String(),
    "asn": pl.Int64(),
    "error_message": pl.String(),  # registry err.message, CDN error type, ...
}

#: Attributes derived once from the request fields (see ``rca.ingest._derive``);
#: segments are combinations of these and of ``edge``, ``upstream``, ``country``, ``asn``.
DERIVED_FIELDS: dict[str, pl.DataType] = {
    "endpoint": pl.String(),  # ping | manifest | blob | upload | tags | other
    "repository": pl.String(),  # e.g. "library/alpine"; null outside /v2/<name>/...
    "namespace": pl.String(),  # first component of the repository, e.g. "library"
    "client_prefix": pl.String(),  # /24 for IPv4, /48 for IPv6
    "ua_family": pl.String(),  # docker | containerd | cri-o | buildkit | skopeo | podman | containers | curl | browser | other
    "ua_version": pl.String(),
    "ua_os": pl.String(),  # e.g. linux, windows, darwin
    "ua_kernel": pl.String(),  # distro marker of the kernel, e.g. amzn2, el7, generic, azure
}

#: The requests frame: request fields, then the file it came from, then derived attributes.
REQUESTS: dict[str, pl.DataType] = {**REQUEST_FIELDS, "source": pl.String(), **DERIVED_FIELDS}

#: Metrics, long form. A series is ``metric`` plus ``labels``; ``labels`` is a stable
#: string of sorted ``key=value`` pairs joined by commas (``instance=lb-1,job=lb``), "" when none.
METRICS: dict[str, pl.DataType] = {
    "ts": UTC_TS,
    "metric": pl.String(),
    "labels": pl.String(),
    "value": pl.Float64(),
}

#: Per-file data quality, one row per input file. ``lines == records + malformed + other``
#: holds exactly; ``other`` counts blank lines, comments/headers and lines that are not
#: requests (a registry's application log lines). ``records`` is requests for logs and
#: points for metrics.
FILE_QUALITY: dict[str, pl.DataType] = {
    "source": pl.String(),
    "format": pl.String(),
    "bytes": pl.Int64(),
    "lines": pl.Int64(),
    "records": pl.Int64(),
    "malformed": pl.Int64(),
    "other": pl.Int64(),
    "invalid_utf8": pl.Int64(),  # lines with bytes that are not UTF-8 (replaced, still parsed)
    "out_of_order": pl.Int64(),  # records whose timestamp is earlier than the previous one
    "samples": pl.List(pl.String()),  # up to 5 malformed lines, verbatim (attacker-controlled)
}


def empty(schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """An empty frame with exactly these columns."""
    return pl.DataFrame(schema=schema)


def conform(frame: pl.DataFrame, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """Select ``schema``'s columns in order, casting each; absent columns become null.

    Examples
    --------
    >>> import polars as pl
    >>> conform(pl.DataFrame({"value": [1]}), {"value": pl.Float64(), "metric": pl.String()}).columns
    ['value', 'metric']
    """
    exprs = [
        (pl.col(name) if name in frame.columns else pl.lit(None)).cast(dtype).alias(name)
        for name, dtype in schema.items()
    ]
    return frame.select(exprs)


def validate(frame: pl.DataFrame | pl.LazyFrame, schema: dict[str, pl.DataType], what: str) -> None:
    """Raise :class:`SchemaError` unless ``frame`` has every column of ``schema`` with its dtype."""
    actual = frame.collect_schema() if isinstance(frame, pl.LazyFrame) else frame.schema
    missing = [c for c in schema if c not in actual]
    if missing:
        raise SchemaError(f"{what}: missing column(s) {', '.join(missing)}")
    wrong = [f"{c} is {actual[c]}, expected {t}" for c, t in schema.items() if actual[c] != t]
    if wrong:
        raise SchemaError(f"{what}: " + "; ".join(wrong))


def format_labels(labels: dict[str, str]) -> str:
    """The stable label string: sorted ``k=v`` pairs joined by commas, with ``\\``, ``,``
    and ``=`` in values backslash-escaped.

    Examples
    --------
    >>> format_labels({"job": "lb", "instance": "lb-1"})
    'instance=lb-1,job=lb'
    """

    def esc(v: str) -> str:
        return v.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")

    return ",".join(f"{k}={esc(str(v))}" for k, v in sorted(labels.items()))


def parse_labels(text: str) -> dict[str, str]:
    """Inverse of :func:`format_labels`.

    Examples
    --------
    >>> parse_labels("instance=lb-1,job=lb")
    {'instance': 'lb-1', 'job': 'lb'}
    """
    out: dict[str, str] = {}
    key, buf, in_value, i = "", [], False, 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            buf.append(text[i + 1])
            i += 2
            continue
        if c == "=" and not in_value:
            key, buf, in_value = "".join(buf), [], True
        elif c == ",":
            out[key] = "".join(buf)
            key, buf, in_value = "", [], False
        else:
            buf.append(c)
        i += 1
    if in_value or buf:
        out[key] = "".join(buf)
    return out
