"""nginx JSON access logs (``log_format ... escape=json``).

The layouts are the ones the nginx docs and common guides use: keys named like the nginx
variables, values quoted (``escape=json``), sometimes bare numbers.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from rca._schema import REQUEST_FIELDS
from rca.ingest.formats._base import KIND, MALFORMED, OTHER, REQUEST, ParseState
from rca.ingest.formats._cloudflare import cloudflare
from rca.ingest.formats._nginx_json import nginx_json
from rca.ingest.formats._registry import registry_json

LINES = [
    # log_format json_combined escape=json '{"time_local":"$time_local", "remote_addr":...}'
    '{"time_local":"01/Apr/2021:12:00:00 +0200","remote_addr":"10.0.0.2","remote_user":"",'
    '"request":"GET /v2/library/alpine/blobs/sha256:4bcff639?x=1 HTTP/1.1","status": "200",'
    '"body_bytes_sent":"3145728","request_time":"0.512","http_referrer":"",'
    '"http_user_agent":"docker/20.10.7 go/go1.13.15 git-commit/b0f5bc3 kernel/4.14.238-182.422.amzn2.x86_64 '
    'os/linux arch/amd64 UpstreamClient(Docker-Client/20.10.7 \\\\(linux\\\\))",'
    '"http_x_forwarded_for":"203.0.113.7, 10.0.0.1","upstream_addr":"10.1.4.18:5000, 10.1.4.19:5000",'
    '"upstream_response_time":"0.100, 0.410"}',
    # time_iso8601, request_method + request_uri, bare numbers, hostname.
    '{"@timestamp":"2021-04-01T10:00:01+00:00","remote_addr":"2001:db8::9","request_method":"HEAD",'
    '"request_uri":"/v2/","status":401,"bytes_sent":0,"request_time":0.000,'
    '"http_user_agent":"containerd/1.6.21","http_x_forwarded_for":"","hostname":"lb-1"}',
    # $msec, a 499 with the default escaping of nginx (\\xHH) in the agent.
    '{"msec":"1617271202.123","remote_addr":"198.51.100.23","request":"GET /v2/acme/api/manifests/v1 HTTP/2.0",'
    '"status":"499","body_bytes_sent":"0","request_time":"60.001",'
    '"http_user_agent":"\\x22quoted\\x22 caf\\xC3\\xA9","upstream_addr":"-"}',
    '{"time_iso8601":"2021-04-01T10:00:00+00:00","remote_addr":"10.0.0.2","request":"GET /to',
    '{"level":"info","msg":"not nginx","time":"2021-04-01T10:00:00Z","status":"200"}',
    "",
]


def expected(rows: list[dict[str, Any]]) -> pl.DataFrame:
    full = [{**dict.fromkeys(REQUEST_FIELDS), **row} for row in rows]
    return pl.DataFrame(full, schema={**REQUEST_FIELDS, KIND: pl.UInt8()})


def parse(lines: list[str]) -> pl.DataFrame:
    return nginx_json.parse(pl.Series("line", lines, dtype=pl.String), ParseState("test"))


def test_documented_layouts_every_field() -> None:
    out = parse(LINES)
    assert out[KIND].to_list() == [REQUEST] * 3 + [MALFORMED, MALFORMED, OTHER]
    rows = [
        {
            "ts": datetime(2021, 4, 1, 10, 0, tzinfo=UTC),
            "client_ip": "203.0.113.7",
            "method": "GET",
            "path": "/v2/library/alpine/blobs/sha256:4bcff639",
            "status": 200,
            "bytes_sent": 3145728,
            "duration_s": 0.512,
            "user_agent": "docker/20.10.7 go/go1.13.15 git-commit/b0f5bc3 kernel/4.14.238-182.422.amzn2.x86_64 "
            "os/linux arch/amd64 UpstreamClient(Docker-Client/20.10.7 \\(linux\\))",
            "upstream": "10.1.4.19:5000",
            KIND: REQUEST,
        },
        {
            "ts": datetime(2021, 4, 1, 10, 0, 1, tzinfo=UTC),
            "client_ip": "2001:db8::9",
            "method": "HEAD",
            "path": "/v2/",
            "status": 401,
            "bytes_sent": 0,
            "duration_s": 0.0,
            "user_agent": "containerd/1.6.21",
            "edge": "lb-1",
            KIND: REQUEST,
        },
        {
            "ts": datetime(2021, 4, 1, 10, 0, 2, 123000, tzinfo=UTC),
            "client_ip": "198.51.100.23",
            "method": "GET",
            "path": "/v2/acme/api/manifests/v1",
            "status": 499,
            "bytes_sent": 0,
            "duration_s": 60.001,
            "user_agent": '"quoted" café',
            KIND: REQUEST,
        },
    ]
    assert_frame_equal(out.head(3), expected(rows))


def test_alternative_key_names() -> None:
    line = json.dumps(
        {
            "timestamp": "2021-04-01T10:00:00Z",
            "remote_ip": "192.0.2.1",
            "method": "PUT",
            "path": "/v2/a/blobs/uploads/1?digest=sha256:00",
            "status_code": 201,
            "bytes_sent": 0,
            "duration": "1.25",
            "user_agent": "buildkit/v0.11",
            "request_time": "1.25",
        }
    )
    row = parse([line]).row(0, named=True)
    assert row[KIND] == REQUEST
    assert (row["client_ip"], row["method"], row["path"], row["status"]) == (
        "192.0.2.1",
        "PUT",
        "/v2/a/blobs/uploads/1",
        201,
    )
    assert (row["duration_s"], row["user_agent"]) == (1.25, "buildkit/v0.11")


def test_sniff_tells_json_formats_apart() -> None:
    assert nginx_json.sniff(LINES[:3]) == 1.0
    assert cloudflare.sniff(LINES[:3]) == 0.0
    assert registry_json.sniff(LINES[:3]) == 0.0


def test_torn_line_mid_chunk() -> None:
    out = parse([LINES[0], LINES[1][:40], LINES[2]] * 30)
    assert out[KIND].to_list() == [REQUEST, MALFORMED, REQUEST] * 30
    assert out.filter(pl.col(KIND) == REQUEST)["status"].to_list() == [200, 499] * 30


def escape_json(text: str) -> str:
    """nginx's ``escape=json``: ``"`` and ``\\`` backslashed, control characters as
    ``\\n``-style or ``\\u00XX`` escapes, everything else as is."""
    named = {
        '"': '\\"',
        "\\": "\\\\",
        "\n": "\\n",
        "\r": "\\r",
        "\t": "\\t",
        "\b": "\\b",
        "\f": "\\f",
    }
    return "".join(named.get(c, f"\\u{ord(c):04x}" if ord(c) < 0x20 else c) for c in text)


texts = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40
).filter(lambda s: s.strip() == s and s != "-")


@settings(max_examples=80, deadline=None)
@given(
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)).map(
        lambda d: d.replace(microsecond=0)
    ),
    st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t))),
    st.sampled_from(["GET", "HEAD", "PUT", "POST"]),
    st.integers(0, 599),
    st.integers(0, 2**40),
    st.integers(0, 10**7),
    texts,
)
def test_rendered_line_parses_back(
    when: datetime, ip: str, method: str, status: int, size: int, millis: int, ua: str
) -> None:
    fields = {
        "time_iso8601": when.strftime("%Y-%m-%dT%H:%M:%S+00:00"),
        "remote_addr": ip,
        "request": f"{method} /v2/x/manifests/latest?q=1 HTTP/1.1",
        "status": str(status),
        "body_bytes_sent": str(size),
        "request_time": f"{millis // 1000}.{millis % 1000:03d}",
        "http_user_agent": ua,
    }
    text = "{" + ",".join(f'"{k}":"{escape_json(v)}"' for k, v in fields.items()) + "}"
    row = parse([text]).row(0, named=True)
    assert row[KIND] == REQUEST
    assert row["ts"] == when.replace(tzinfo=UTC)
    assert (row["client_ip"], row["method"], row["path"]) == (ip, method, "/v2/x/manifests/latest")
    assert (row["status"], row["bytes_sent"]) == (status, size)
    assert row["duration_s"] == millis / 1000
    assert row["user_agent"] == ua


@settings(max_examples=80, deadline=None)
@given(st.lists(st.text(max_size=60), max_size=8), st.data())
def test_arbitrary_text_and_truncations_never_raise(lines: list[str], data: st.DataObject) -> None:
    cut = data.draw(st.integers(0, len(LINES[0])))
    lines = [*lines, LINES[0][:cut]]
    out = parse(lines)
    assert out.height == len(lines)
    assert nginx_json.sniff(lines) >= 0.0
