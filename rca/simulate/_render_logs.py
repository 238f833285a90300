"""Writers that turn simulated requests into log files of each supported format.

Each writer follows the public spec of its format (the readers in ``rca.ingest`` are
written from the same specs, so a file written here is a real-world test for them):

- ``registry_text`` / ``registry_json``: CNCF distribution's logrus output. Text quotes a
  value only when logrus would (``needsQuoting``), with Go ``%q`` escaping; keys after
  ``time level msg`` are sorted; JSON keys are sorted as ``encoding/json`` writes a map.
  Time is RFC3339Nano of the moment the line was written (the response's end); durations
  are Go ``time.Duration`` strings. Application lines that are not requests are mixed in.
- ``combined`` / ``nginx_timing`` / ``nginx_json``: nginx ``$time_local`` is the request's
  end; default escaping writes ``"`` and ``\\`` as ``\\x22``/``\\x5C``; ``escape=json``
  writes unset variables as empty strings.
- ``alb``: AWS Application Load Balancer fields by position; ``-1`` timings and ``-``
  target status when no target answered; a client that gave up is 460.
- ``cloudfront``: standard log v1, ``#Version``/``#Fields`` headers, tab-separated,
  URL-encoded user agent; status ``000`` when the viewer hung up.
- ``cloudflare``: Logpush ``http_requests`` NDJSON; timestamp style (RFC3339, unix
  seconds, unix nanoseconds) varies by seed.

A few lines per file are torn (cut mid-line, as when a shipper dies while writing); the
count is returned so the truth can say how many malformed lines a reader must report.
"""

from __future__ import annotations

import gzip
import itertools
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl

from rca._errors import ParameterError
from rca.simulate._world import World, uuids

LOG_FORMATS = (
    "registry_text",
    "registry_json",
    "combined",
    "nginx_timing",
    "nginx_json",
    "alb",
    "cloudfront",
    "cloudflare",
)
#: Formats written by a CDN, where blobs are served rather than redirected.
CDN_FORMATS = frozenset({"cloudfront", "cloudflare"})
#: Formats written by the registry itself (no LB-generated errors, no upstream address).
REGISTRY_FORMATS = frozenset({"registry_text", "registry_json"})
#: Formats that name the backend that answered.
UPSTREAM_FORMATS = frozenset({"nginx_timing", "nginx_json", "alb"})

_HOST = "registry-1.docker.io"
_ALB_NAME = "app/registry-prod/50dc6c495c0c9188"


@dataclass(frozen=True)
class LogFiles:
    """What was written: file names, line counts and the deliberately torn lines."""

    files: tuple[str, ...]
    lines: int
    requests: int
    torn: int
    other: int


def edge_value(log_format: str, pop: str) -> str | None:
    """The ``edge`` value a reader will see for CDN location ``pop`` in this format."""
    if log_format == "cloudfront":
        return f"{pop}{50 + sum(map(ord, pop)) % 40}-C{1 + ord(pop[0]) % 3}"
    if log_format == "cloudflare":
        return pop
    if log_format == "alb":
        return _ALB_NAME
    return None


def country_value(log_format: str, country: str) -> str | None:
    """The ``country`` value a reader will see, where the format has one."""
    return country if log_format == "cloudflare" else None


# ---------------------------------------------------------------------------------------
# Shared expression helpers


def _go_duration(ns: pl.Expr) -> pl.Expr:
    """Go's ``time.Duration.String()``: 850ns, 941.5µs, 2.2ms, 1.5s, 1m3.2s, 1h0m0s."""

    def with_frac(value: pl.Expr, unit: int, digits: int) -> pl.Expr:
        ip = (value // unit).cast(pl.String)
        fp = (value % unit).cast(pl.String).str.zfill(digits).str.strip_chars_end("0")
        return pl.when(value % unit == 0).then(ip).otherwise(pl.concat_str([ip, pl.lit("."), fp]))

    h = ns // 3_600_000_000_000
    m = (ns // 60_000_000_000) % 60
    secs = with_frac(ns % 60_000_000_000, 1_000_000_000, 9) + "s"
    long = (
        pl.when(h > 0)
        .then(pl.concat_str([h.cast(pl.String), pl.lit("h"), m.cast(pl.String), pl.lit("m"), secs]))
        .when(m > 0)
        .then(pl.concat_str([m.cast(pl.String), pl.lit("m"), secs]))
        .otherwise(secs)
    )
    return (
        pl.when(ns < 1_000)
        .then(ns.cast(pl.String) + "ns")
        .when(ns < 1_000_000)
        .then(with_frac(ns, 1_000, 3) + "µs")
        .when(ns < 1_000_000_000)
        .then(with_frac(ns, 1_000_000, 6) + "ms")
        .otherwise(long)
    )


def _go_quote(s: pl.Expr) -> pl.Expr:
    """Go ``%q`` of a string (the characters our data can hold)."""
    return pl.concat_str(
        [
            pl.lit('"'),
            s.str.replace_all("\\", "\\\\", literal=True)
            .str.replace_all('"', '\\"', literal=True)
            .str.replace_all("\n", "\\n", literal=True)
            .str.replace_all("\t", "\\t", literal=True),
            pl.lit('"'),
        ]
    )


def _logfmt(key: str, s: pl.Expr) -> pl.Expr:
    """``key=value`` as logrus' TextFormatter writes it (quoted only when needed)."""
    value = pl.when(s.str.contains(r"[^A-Za-z0-9\-._/@^+]")).then(_go_quote(s)).otherwise(s)
    return pl.concat_str([pl.lit(f"{key}="), value])


def _nginx_escape(s: pl.Expr) -> pl.Expr:
    """nginx's default log escaping: ``"``, ``\\`` and control bytes as ``\\xHH``."""
    return (
        s.str.replace_all("\\", "\\x5C", literal=True)
        .str.replace_all('"', "\\x22", literal=True)
        .str.replace_all("\t", "\\x09", literal=True)
    )


def _ts(col: str, fmt: str) -> pl.Expr:
    return pl.col(col).dt.strftime(fmt)


def _rfc3339nano(ns_col: str) -> pl.Expr:
    """Go RFC3339Nano in UTC: fraction with trailing zeros trimmed (omitted when zero)."""
    ns = pl.col(ns_col)
    base = pl.from_epoch(ns // 1_000_000_000, time_unit="s").dt.strftime("%Y-%m-%dT%H:%M:%S")
    frac = (ns % 1_000_000_000).cast(pl.String).str.zfill(9).str.strip_chars_end("0")
    return pl.concat_str(
        [base, pl.when(ns % 1_000_000_000 == 0).then(pl.lit("")).otherwise("." + frac), pl.lit("Z")]
    )


def _seconds3(x: pl.Expr) -> pl.Expr:
    """Seconds with millisecond precision, as nginx and ALB print them (``0.005``)."""
    ms = (x.clip(0.0) * 1000).round().cast(pl.Int64)
    return pl.concat_str(
        [(ms // 1000).cast(pl.String), pl.lit("."), (ms % 1000).cast(pl.String).str.zfill(3)]
    )


# ---------------------------------------------------------------------------------------


def prepare(req: pl.DataFrame, world: World, rng: np.random.Generator) -> pl.DataFrame:
    """Join client attributes and per-request randomness (ports, ids, absolute times)."""
    c = world.clients
    n = req.height
    start_ns = int(world.start.timestamp()) * 1_000_000_000
    # Sub-microsecond digits make RFC3339Nano look like a real Go clock.
    start_t = start_ns + (req["t"].to_numpy() * 1e9).astype(np.int64)
    end_t = start_t + (req["duration"].to_numpy() * 1e9).astype(np.int64)
    idx = req["client"].to_numpy()
    return req.with_columns(
        ip=pl.Series(c.ip[idx]),
        ua=pl.Series(c.ua[idx]),
        country=pl.Series(c.country[idx]),
        asn=pl.Series(c.asn[idx]),
        pop=pl.Series(np.array(world.pops)[c.region[idx]]),
        port=pl.Series(rng.integers(1024, 65535, n)),
        req_id=uuids(rng, n),
        start_ns=pl.Series(start_t),
        end_ns=pl.Series(end_t),
        dur_ns=pl.Series(end_t - start_t),
    ).with_columns(
        start=pl.from_epoch("start_ns", time_unit="ns")
        .dt.cast_time_unit("us")
        .dt.replace_time_zone("UTC"),
        end=pl.from_epoch("end_ns", time_unit="ns")
        .dt.cast_time_unit("us")
        .dt.replace_time_zone("UTC"),
    )


def _registry_lines(df: pl.DataFrame, *, json: bool, instance_id: str) -> pl.DataFrame:
    """Access lines of one registry instance; returns columns ``key`` (sort ns) and ``line``."""
    is_err = pl.col("err_code").is_not_null() & (pl.col("status") != 401)
    level = pl.when(is_err).then(pl.lit("error")).otherwise(pl.lit("info"))
    msg = (
        pl.when(is_err)
        .then(pl.lit("response completed with error"))
        .otherwise(pl.lit("response completed"))
    )
    remote = pl.concat_str([pl.col("ip"), pl.lit(":"), pl.col("port").cast(pl.String)])
    status = pl.when(pl.col("hung")).then(pl.lit(200, pl.Int16)).otherwise(pl.col("status"))
    fields: list[tuple[str, pl.Expr, bool]] = [  # key, value, is_number (json)
        ("err.code", pl.col("err_code"), False),
        ("err.detail", pl.col("err_detail"), False),
        ("err.message", pl.col("err_message"), False),
        ("go.version", pl.lit("go1.16.15"), False),
        ("http.request.host", pl.lit(_HOST), False),
        ("http.request.id", pl.col("req_id"), False),
        ("http.request.method", pl.col("method"), False),
        ("http.request.remoteaddr", remote, False),
        ("http.request.uri", pl.col("path"), False),
        ("http.request.useragent", pl.col("ua"), False),
        ("http.response.contenttype", pl.col("content_type"), False),
        ("http.response.duration", _go_duration(pl.col("dur_ns")), False),
        ("http.response.status", status, True),
        ("http.response.written", pl.col("bytes"), True),
        ("instance.id", pl.lit(instance_id), False),
        ("level", level, False),
        ("msg", msg, False),
        ("service", pl.lit("registry"), False),
        ("time", _rfc3339nano("end_ns"), False),
        ("version", pl.lit("v2.7.1"), False),
    ]
    if json:
        parts = []
        for with_err in (True, False):
            sub = df.filter(is_err if with_err else ~is_err)
            chosen = [f for f in fields if with_err or not f[0].startswith("err.")]
            enc = sub.select(
                pl.col("end_ns").alias("key"),
                pl.struct([e.alias(k) for k, e, _ in chosen]).struct.json_encode().alias("line"),
                "ua",
            )
            parts.append(enc)
        return pl.concat(parts)
    head = [
        _logfmt("time", _rfc3339nano("end_ns")),
        pl.concat_str([pl.lit("level="), level]),
        _logfmt("msg", msg),
    ]
    # An error without a detail (some have none) leaves the key out, as logrus does; a null
    # inside concat_str would blank the whole line.
    errs = [
        pl.when(is_err & e.is_not_null())
        .then(pl.concat_str([_logfmt(k, e), pl.lit(" ")]))
        .otherwise(pl.lit(""))
        for k, e, _ in fields[:3]
    ]
    rest = [
        _logfmt(k, e.cast(pl.String))
        if not num
        else pl.concat_str([pl.lit(f"{k}="), e.cast(pl.String)])
        for k, e, num in fields[3:]
        if k not in ("level", "msg", "time")
    ]
    line = pl.concat_str(
        [
            pl.concat_str(head, separator=" "),
            pl.lit(" "),
            pl.concat_str(errs),
            pl.concat_str(rest, separator=" "),
        ]
    )
    return df.select(pl.col("end_ns").alias("key"), line.alias("line"), "ua")


def _registry_other(
    df: pl.DataFrame, rng: np.random.Generator, *, json: bool, instance_id: str, t0_ns: int
) -> pl.DataFrame:
    """Application lines that are not requests: startup, auth warnings, upload purges,
    and a second error line that precedes some 5xx responses."""
    rows: list[tuple[int, str, str, dict[str, str]]] = [
        (t0_ns - 4_000_000_000, "info", "redis not configured", {}),
        (t0_ns - 3_000_000_000, "info", "Starting upload purge in 24h0m0s", {}),
        (
            t0_ns - 2_000_000_000,
            "warning",
            "No HTTP secret provided - generated random secret. This may cause problems with uploads if multiple registries are behind a load-balancer. To provide a shared secret, fill in http.secret in the configuration file or set the REGISTRY_HTTP_SECRET environment variable.",
            {},
        ),
        (t0_ns - 1_000_000_000, "info", "listening on [::]:5000", {}),
    ]
    frames = []
    # Auth challenges: distribution warns before answering 401.
    unauth = df.filter(pl.col("status") == 401).sample(
        fraction=0.5, seed=int(rng.integers(1 << 31))
    )
    for sel, level, msg in (
        (unauth, "warning", "error authorizing context: authorization token required"),
        (
            df.filter((pl.col("status") >= 500) & pl.col("err_detail").str.contains("lookup")),
            "error",
            None,
        ),
    ):
        if sel.height == 0:
            continue
        m = pl.col("err_detail") if msg is None else pl.lit(msg)
        fields = [
            ("go.version", pl.lit("go1.16.15")),
            ("http.request.host", pl.lit(_HOST)),
            ("http.request.id", pl.col("req_id")),
            ("http.request.method", pl.col("method")),
            (
                "http.request.remoteaddr",
                pl.concat_str([pl.col("ip"), pl.lit(":"), pl.col("port").cast(pl.String)]),
            ),
            ("http.request.uri", pl.col("path")),
            ("http.request.useragent", pl.col("ua")),
            ("instance.id", pl.lit(instance_id)),
            ("level", pl.lit(level)),
            ("msg", m),
            ("service", pl.lit("registry")),
            ("time", _rfc3339nano("k")),
            ("version", pl.lit("v2.7.1")),
        ]
        sel = sel.with_columns(k=pl.col("end_ns") - 1_000)
        if json:
            line = pl.struct([e.alias(k) for k, e in fields]).struct.json_encode()
        else:
            line = pl.concat_str(
                [_logfmt("time", _rfc3339nano("k")), pl.lit(f"level={level}"), _logfmt("msg", m)]
                + [_logfmt(k, e) for k, e in fields if k not in ("level", "msg", "time")],
                separator=" ",
            )
        frames.append(sel.select(pl.col("k").alias("key"), line.alias("line")))
    # Hourly housekeeping lines.
    last = int(df["end_ns"].to_numpy().max()) if df.height else t0_ns
    for k in range(t0_ns + 3_600_000_000_000, last, 3_600_000_000_000):
        older = datetime.fromtimestamp(k // 10**9 - 7 * 86400, UTC)
        msg = f"PurgeUploads starting: olderThan={older:%Y-%m-%d %H:%M:%S.%f} +0000 UTC, actuallyDelete=true"
        rows.append((k + int(rng.integers(0, 10**9)), "info", msg, {}))
    import json as _json

    lines = []
    for k, level, msg, extra in rows:
        t_str = _fmt_rfc3339nano(k)
        if json:
            obj = {
                "go.version": "go1.16.15",
                "instance.id": instance_id,
                "level": level,
                "msg": msg,
                "service": "registry",
                "time": t_str,
                "version": "v2.7.1",
                **extra,
            }
            lines.append((k, _json.dumps(dict(sorted(obj.items())), separators=(",", ":"))))
        else:
            q = msg if all(ch.isalnum() or ch in "-._/@^+" for ch in msg) else _json.dumps(msg)
            lines.append(
                (
                    k,
                    f'time="{t_str}" level={level} msg={q} go.version=go1.16.15 instance.id={instance_id} service=registry version=v2.7.1',
                )
            )
    frames.append(pl.DataFrame(lines, schema={"key": pl.Int64, "line": pl.String}, orient="row"))
    return pl.concat(frames)


def _fmt_rfc3339nano(ns: int) -> str:
    s, frac = divmod(ns, 1_000_000_000)
    base = datetime.fromtimestamp(s, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    f = f"{frac:09d}".rstrip("0")
    return f"{base}.{f}Z" if f else f"{base}Z"


def _nginx_lines(df: pl.DataFrame, fmt: str, rng: np.random.Generator) -> pl.DataFrame:
    """combined, nginx_timing and nginx_json lines (the line's time is the request's end)."""
    status = pl.when(pl.col("hung")).then(pl.lit(499, pl.Int16)).otherwise(pl.col("status"))
    request = pl.concat_str([pl.col("method"), pl.lit(" "), pl.col("path"), pl.lit(" HTTP/1.1")])
    up_addr = pl.col("upstream")
    up_time = _seconds3(pl.col("upstream_time"))
    # A few 502s were retried on a second backend: nginx lists both, comma-separated.
    retried = pl.Series(rng.random(df.height) < 0.3) & (df["status"] == 502)
    df = df.with_columns(_retried=retried)
    up_addr = (
        pl.when(pl.col("_retried") & up_addr.is_not_null())
        .then(pl.concat_str([up_addr, pl.lit(", "), up_addr.str.replace(r"\.(\d+):", ".9$1:")]))
        .otherwise(up_addr)
    )
    up_time = (
        pl.when(pl.col("_retried"))
        .then(pl.concat_str([pl.lit("0.001, "), up_time]))
        .otherwise(up_time)
    )
    if fmt == "nginx_json":
        behind_proxy = bool(rng.random() < 0.5)
        use_iso = bool(rng.random() < 0.7)
        proxy_ip = f"10.0.{int(rng.integers(0, 255))}.{int(rng.integers(2, 255))}"
        fields = [
            ("time_iso8601", _ts("end", "%Y-%m-%dT%H:%M:%S+00:00"))
            if use_iso
            else ("time_local", _ts("end", "%d/%b/%Y:%H:%M:%S +0000")),
            ("remote_addr", pl.lit(proxy_ip) if behind_proxy else pl.col("ip")),
            ("request_method", pl.col("method")),
            ("request_uri", pl.col("path")),
            ("status", status.cast(pl.String)),
            ("body_bytes_sent", pl.col("bytes").cast(pl.String)),
            ("request_time", _seconds3(pl.col("duration"))),
            ("http_referer", pl.lit("")),
            ("http_user_agent", pl.col("ua")),
            ("http_x_forwarded_for", pl.col("ip") if behind_proxy else pl.lit("")),
            ("upstream_addr", up_addr.fill_null("")),
            (
                "upstream_response_time",
                pl.when(pl.col("upstream").is_null()).then(pl.lit("")).otherwise(up_time),
            ),
        ]
        line = pl.struct([e.alias(k) for k, e in fields]).struct.json_encode()
    else:
        parts = [
            pl.col("ip"),
            pl.lit(" - - ["),
            _ts("end", "%d/%b/%Y:%H:%M:%S +0000"),
            pl.lit('] "'),
            _nginx_escape(request),
            pl.lit('" '),
            status.cast(pl.String),
            pl.lit(" "),
            pl.col("bytes").cast(pl.String),
            pl.lit(' "-" "'),
            _nginx_escape(pl.col("ua")),
            pl.lit('"'),
        ]
        if fmt == "nginx_timing":
            parts += [
                pl.lit(" "),
                _seconds3(pl.col("duration")),
                pl.lit(" "),
                up_addr.fill_null("-"),
                pl.lit(" "),
                pl.when(pl.col("upstream").is_null()).then(pl.lit("-")).otherwise(up_time),
            ]
        line = pl.concat_str(parts)
    return df.select(
        pl.col("end_ns").alias("key"), line.alias("line"), pl.col("lb").alias("file"), "ua"
    )


def _alb_lines(df: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """AWS ALB access log entries, fields by position (docs: "Access log entries")."""
    no_target = pl.col("upstream").is_null() | pl.col("hung")
    status = pl.when(pl.col("hung")).then(pl.lit(460, pl.Int16)).otherwise(pl.col("status"))
    target = pl.col("upstream").fill_null("-")
    t_status = pl.when(no_target).then(pl.lit("-")).otherwise(pl.col("status").cast(pl.String))
    req_proc = pl.lit("0.000")
    tgt_proc = pl.when(no_target).then(pl.lit("-1")).otherwise(_seconds3(pl.col("upstream_time")))
    rsp_proc = pl.when(no_target).then(pl.lit("-1")).otherwise(pl.lit("0.000"))
    trace = pl.concat_str(
        [
            pl.lit('"Root=1-'),
            (pl.col("start_ns") // 1_000_000_000).cast(pl.String).str.slice(0, 8),
            pl.lit("-"),
            pl.col("req_id").str.replace_all("-", "").str.slice(0, 24),
            pl.lit('"'),
        ]
    )
    parts = [
        pl.lit("https"),
        _ts("end", "%Y-%m-%dT%H:%M:%S%.6fZ"),
        pl.lit(_ALB_NAME),
        pl.concat_str([pl.col("ip"), pl.lit(":"), pl.col("port").cast(pl.String)]),
        target,
        req_proc,
        tgt_proc,
        rsp_proc,
        status.cast(pl.String),
        t_status,
        pl.lit("0"),
        pl.col("bytes").cast(pl.String),
        pl.concat_str(
            [
                pl.lit(f'"{""}'),
                pl.col("method"),
                pl.lit(f" https://{_HOST}:443"),
                pl.col("path"),
                pl.lit(' HTTP/1.1"'),
            ]
        ),
        pl.concat_str(
            [pl.lit('"'), pl.col("ua").str.replace_all('"', '\\"', literal=True), pl.lit('"')]
        ),
        pl.lit("ECDHE-RSA-AES128-GCM-SHA256"),
        pl.lit("TLSv1.2"),
        pl.lit(
            "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/registry/73e2d6bc24d8a067"
        ),
        trace,
        pl.lit(f'"{_HOST}"'),
        pl.lit(
            '"arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012"'
        ),
        pl.lit("0"),
        _ts("start", "%Y-%m-%dT%H:%M:%S%.6fZ"),
        pl.lit('"forward"'),
        pl.lit('"-"'),
        pl.lit('"-"'),
        pl.concat_str([pl.lit('"'), target, pl.lit('"')]),
        pl.concat_str([pl.lit('"'), t_status, pl.lit('"')]),
        pl.lit('"-"'),
        pl.lit('"-"'),
    ]
    line = pl.concat_str(parts, separator=" ")
    hour = (pl.col("end_ns") // 3_600_000_000_000).cast(pl.String)
    return df.select(pl.col("end_ns").alias("key"), line.alias("line"), hour.alias("file"), "ua")


def _url_encode_ua(s: pl.Expr) -> pl.Expr:
    """CloudFront URL-encodes the user agent: spaces, quotes, backslashes, tabs, %."""
    return (
        s.str.replace_all("%", "%25", literal=True)
        .str.replace_all(" ", "%20", literal=True)
        .str.replace_all('"', "%22", literal=True)
        .str.replace_all("\\", "%5C", literal=True)
        .str.replace_all("\t", "%09", literal=True)
    )


CLOUDFRONT_FIELDS = [
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
]


def _cloudfront_lines(df: pl.DataFrame, world: World) -> pl.DataFrame:
    hung = pl.col("hung")
    # Half the hung downloads end as 000 (viewer hung up before headers), half as a
    # 200 whose body stalled and was cut.
    hung_000 = hung & (pl.col("port") % 2 == 0)
    status = pl.when(hung_000).then(pl.lit("000")).otherwise(pl.col("status").cast(pl.String))
    s = pl.col("status")
    result = (
        pl.when(hung)
        .then(pl.lit("Error"))
        .when(s >= 500)
        .then(pl.lit("Error"))
        .when(s >= 400)
        .then(pl.lit("Error"))
        .when((pl.col("endpoint") == "blob") & (pl.col("port") % 10 < 8))
        .then(pl.lit("Hit"))
        .otherwise(pl.lit("Miss"))
    )
    detailed = (
        pl.when(hung_000)
        .then(pl.lit("ClientHungUpRequest"))
        .when(hung)
        .then(pl.lit("ClientCommError"))
        .when(s == 502)
        .then(pl.lit("OriginConnectError"))
        .when(s == 504)
        .then(pl.lit("OriginCommError"))
        .when(s >= 500)
        .then(pl.lit("OriginError"))
        .when(s >= 400)
        .then(pl.lit("Error"))
        .otherwise(result)
    )
    pop_map = {p: edge_value("cloudfront", p) for p in world.pops}
    path = pl.col("path").str.split("?").list.first()
    query = (
        pl.when(pl.col("path").str.contains("?", literal=True))
        .then(pl.col("path").str.split("?").list.last())
        .otherwise(pl.lit("-"))
    )
    ttfb = (
        pl.when(hung_000)
        .then(pl.lit("-"))
        .otherwise(
            _seconds3(pl.col("upstream_time").fill_null(0.0).clip(upper_bound=pl.col("duration")))
        )
    )
    fields = [
        _ts("end", "%Y-%m-%d"),
        _ts("end", "%H:%M:%S"),
        pl.col("pop").replace_strict(pop_map, return_dtype=pl.String),
        pl.col("bytes").cast(pl.String),
        pl.col("ip"),
        pl.col("method"),
        pl.lit("d111111abcdef8.cloudfront.net"),
        path,
        status,
        pl.lit("-"),
        _url_encode_ua(pl.col("ua")),
        query,
        pl.lit("-"),
        result,
        pl.col("req_id").str.replace_all("-", "").str.slice(0, 28) + "==",
        pl.lit(_HOST),
        pl.lit("https"),
        (pl.col("port") % 400 + 120).cast(pl.String),
        _seconds3(pl.col("duration")),
        pl.lit("-"),
        pl.lit("TLSv1.3"),
        pl.lit("TLS_AES_128_GCM_SHA256"),
        result,
        pl.lit("HTTP/1.1"),
        pl.lit("-"),
        pl.lit("-"),
        pl.col("port").cast(pl.String),
        ttfb,
        detailed,
        pl.col("content_type"),
        pl.col("size").cast(pl.String),
        pl.lit("-"),
        pl.lit("-"),
    ]
    line = pl.concat_str(fields, separator="\t")
    hour = (pl.col("end_ns") // 3_600_000_000_000).cast(pl.String)
    return df.select(pl.col("end_ns").alias("key"), line.alias("line"), hour.alias("file"), "ua")


def _cloudflare_lines(df: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    style = int(rng.integers(3))  # rfc3339 | unix | unixnano, as Logpush's timestamp_format
    if style == 0:
        start, end = _ts("start", "%Y-%m-%dT%H:%M:%SZ"), _ts("end", "%Y-%m-%dT%H:%M:%SZ")
    elif style == 1:
        start, end = pl.col("start_ns") // 1_000_000_000, pl.col("end_ns") // 1_000_000_000
    else:
        start, end = pl.col("start_ns"), pl.col("end_ns")
    hung = pl.col("hung")
    origin_ip = (
        f"34.{int(rng.integers(192, 255))}.{int(rng.integers(0, 255))}.{int(rng.integers(1, 255))}"
    )
    no_origin = hung | pl.col("upstream").is_null()
    fields = [
        (
            "CacheCacheStatus",
            pl.when(pl.col("endpoint") == "blob").then(pl.lit("hit")).otherwise(pl.lit("dynamic")),
        ),
        ("ClientASN", pl.col("asn")),
        ("ClientCountry", pl.col("country").str.to_lowercase()),
        ("ClientIP", pl.col("ip")),
        ("ClientRequestHost", pl.lit(_HOST)),
        ("ClientRequestMethod", pl.col("method")),
        ("ClientRequestProtocol", pl.lit("HTTP/1.1")),
        ("ClientRequestURI", pl.col("path")),
        ("ClientRequestUserAgent", pl.col("ua")),
        ("EdgeColoCode", pl.col("pop")),
        ("EdgeEndTimestamp", end),
        ("EdgeResponseBytes", pl.col("bytes")),
        ("EdgeResponseContentType", pl.col("content_type")),
        (
            "EdgeResponseStatus",
            pl.when(hung).then(pl.lit(499, pl.Int16)).otherwise(pl.col("status")),
        ),
        ("EdgeStartTimestamp", start),
        ("OriginIP", pl.when(no_origin).then(pl.lit("")).otherwise(pl.lit(origin_ip))),
        (
            "OriginResponseStatus",
            pl.when(no_origin).then(pl.lit(0, pl.Int16)).otherwise(pl.col("status")),
        ),
        ("RayID", pl.col("req_id").str.replace_all("-", "").str.slice(0, 16)),
    ]
    line = pl.struct([e.alias(k) for k, e in fields]).struct.json_encode()
    hour = (pl.col("end_ns") // 3_600_000_000_000).cast(pl.String)
    return df.select(pl.col("end_ns").alias("key"), line.alias("line"), hour.alias("file"), "ua")


# ---------------------------------------------------------------------------------------


def _tear(
    lines: list[str], idx: np.ndarray, uas: list[str], fmt: str, rng: np.random.Generator
) -> None:
    """Cut the chosen lines mid-line, inside a quoted value or a JSON object, so every
    torn line is unambiguously malformed in its format."""
    for i, ua in zip(idx, uas, strict=True):
        line = lines[i]
        if fmt in ("registry_json", "nginx_json", "cloudflare"):
            cut = int(rng.integers(len(line) // 4, len(line) - 2))
        elif fmt == "cloudfront":
            cut = int(rng.integers(len(line) // 5, len(line) // 2))
        else:
            # Cut inside a quoted value so the line cannot pass for a shorter valid one:
            # the user agent when it is quoted, else the (always quoted) client address.
            opener = {
                "registry_text": 'http.request.useragent="',
                "alb": '" "',
            }.get(fmt, '"-" "')
            pos = line.find(opener)
            if fmt == "registry_text" and pos < 0:
                opener = 'http.request.remoteaddr="'
                pos = line.find(opener)
            if pos < 0:
                pos, opener = len(line) // 3, ""
            start = pos + len(opener)
            close = line.find('"', start)
            span = (close if close > start + 1 else start + len(ua)) - start
            cut = start + int(rng.integers(1, max(2, span)))
        lines[i] = line[:cut]


def write_logs(
    req: pl.DataFrame,
    world: World,
    log_format: str,
    out_dir: Path,
    rng: np.random.Generator,
    *,
    compress: bool = False,
    torn_share: float = 2e-4,
) -> LogFiles:
    """Write ``req`` as ``log_format`` files under ``out_dir``; returns what was written."""
    if log_format not in LOG_FORMATS:
        raise ParameterError(
            f"unknown log format {log_format!r}; choose one of {', '.join(LOG_FORMATS)}"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    df = prepare(req, world, rng)
    t0_ns = int(world.start.timestamp()) * 1_000_000_000
    frames: list[pl.DataFrame] = []
    if log_format in REGISTRY_FORMATS:
        json = log_format == "registry_json"
        ups = world.upstreams
        for i, up in enumerate(ups):
            sub = df.filter(pl.col("upstream").fill_null(ups[0]) == up)
            iid = str(uuids(rng, 1)[0])
            name = pl.lit(f"registry-{i}")
            frames.append(_registry_lines(sub, json=json, instance_id=iid).with_columns(file=name))
            other = _registry_other(sub, rng, json=json, instance_id=iid, t0_ns=t0_ns)
            frames.append(other.with_columns(file=name, ua=pl.lit(None, pl.String)))
    elif log_format in ("combined", "nginx_timing", "nginx_json"):
        frames.append(_nginx_lines(df, log_format, rng))
    elif log_format == "alb":
        frames.append(_alb_lines(df, rng))
    elif log_format == "cloudfront":
        frames.append(_cloudfront_lines(df, world))
    else:
        frames.append(_cloudflare_lines(df, rng))
    lines = pl.concat([f.select("key", "line", "file", "ua") for f in frames])
    return _write_files(lines, log_format, out_dir, rng, world, compress, torn_share)


def _file_name(log_format: str, group: str, world: World, rng: np.random.Generator) -> str:
    """A realistic file name for one group of lines (instance, LB host or hour)."""
    if log_format in REGISTRY_FORMATS:
        return f"{group}.log"
    if log_format in ("combined", "nginx_timing", "nginx_json"):
        return f"access-{group}.log"
    hour = datetime.fromtimestamp(int(group) * 3600, UTC)
    tag = rng.bytes(4).hex()
    if log_format == "alb":
        return (
            "123456789012_elasticloadbalancing_us-east-1_app.registry-prod.50dc6c495c0c9188_"
            f"{hour:%Y%m%dT%H%M}Z_10.0.1.23_{tag}.log"
        )
    if log_format == "cloudfront":
        return f"E2K2LNL5N3WR51.{hour:%Y-%m-%d-%H}.{tag}"
    end = datetime.fromtimestamp((int(group) + 1) * 3600, UTC)
    return f"{hour:%Y%m%dT%H%M%S}Z_{end:%Y%m%dT%H%M%S}Z_{tag}.log"


def _write_files(
    lines: pl.DataFrame,
    log_format: str,
    out_dir: Path,
    rng: np.random.Generator,
    world: World,
    compress: bool,
    torn_share: float,
) -> LogFiles:
    lines = lines.sort("file", "key", maintain_order=True)
    text = lines["line"].to_list()
    is_request = lines["ua"].is_not_null().to_numpy()
    req_idx = np.flatnonzero(is_request)
    n_torn = int(rng.binomial(len(req_idx), torn_share)) if len(req_idx) else 0
    torn = np.sort(rng.choice(req_idx, size=n_torn, replace=False)) if n_torn else req_idx[:0]
    uas = lines["ua"].to_list()
    _tear(text, torn, [uas[i] for i in torn], log_format, rng)
    files = []
    groups = lines["file"].to_numpy()
    bounds = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1], True])
    for a, b in itertools.pairwise(bounds):
        name = _file_name(log_format, str(groups[a]), world, rng)
        body = "\n".join(text[a:b]) + "\n"
        if log_format == "cloudfront":
            body = "#Version: 1.0\n#Fields: " + " ".join(CLOUDFRONT_FIELDS) + "\n" + body
        data = body.encode("utf-8")
        if compress:
            name += ".gz"
            data = gzip.compress(data, compresslevel=6, mtime=0)
        (out_dir / name).write_bytes(data)
        files.append(name)
    headers = 2 * len(files) if log_format == "cloudfront" else 0
    return LogFiles(
        files=tuple(files),
        lines=len(text) + headers,
        requests=int(is_request.sum()),
        torn=n_torn,
        other=int((~is_request).sum()) + headers,
    )
