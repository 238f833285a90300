"""Cloudflare Logpush http_requests (NDJSON), fields as documented by Cloudflare.

The first lines are shaped like the Elastic integration's Logpush fixtures, which show the
three timestamp encodings a job can be set to (RFC 3339, unix seconds, unix nanoseconds).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
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

BASE = {
    "CacheCacheStatus": "dynamic",
    "ClientASN": 43766,
    "ClientCountry": "sa",
    "ClientDeviceType": "desktop",
    "ClientIP": "175.16.199.0",
    "ClientRequestHost": "registry.example.com",
    "ClientRequestMethod": "GET",
    "ClientRequestPath": "/v2/library/alpine/manifests/latest",
    "ClientRequestProtocol": "HTTP/1.1",
    "ClientRequestURI": "/v2/library/alpine/manifests/latest?ns=docker.io",
    "ClientRequestUserAgent": "docker/24.0.5 go/go1.20.6 kernel/5.10.184-175.731.amzn2.x86_64 os/linux arch/amd64",
    "Cookies": {"key": "value"},
    "EdgeColoCode": "RUH",
    "EdgeColoID": 339,
    "EdgeEndTimestamp": "2022-05-25T13:25:32Z",
    "EdgeResponseBytes": 981308,
    "EdgeResponseStatus": 200,
    "EdgeStartTimestamp": "2022-05-25T13:25:26Z",
    "EdgeTimeToFirstByteMs": 5333,
    "OriginIP": "67.43.156.0",
    "OriginResponseDurationMs": 5319,
    "OriginResponseStatus": 200,
    "RayID": "710e98d9367f357d",
    "SecurityAction": "unknown",
    "SecurityActions": ["unknown_action"],
    "WAFAction": "unknown",
}


def line(**changes: Any) -> str:
    obj = {**BASE, **changes}
    return json.dumps({k: v for k, v in obj.items() if v is not ...})


LINES = [
    line(),
    line(EdgeStartTimestamp="1653485126", EdgeEndTimestamp="1653485132"),
    line(
        EdgeStartTimestamp=1653485126000000000,
        EdgeEndTimestamp=1653485126250000000,
        EdgeResponseStatus=403,
        EdgeResponseBytes=0,
        OriginIP="",
        SecurityAction="managedChallenge",
        ClientIP="2001:db8::1",
        ClientCountry="us",
        ClientASN=16509,
        EdgeColoCode="SEA",
    ),
    line(
        EdgeStartTimestamp="2022-05-25T13:25:26.123456Z",
        EdgeEndTimestamp=...,
        EdgeResponseStatus=0,
        SecurityAction=...,
        SecurityActions=["log", "block"],
        ClientRequestURI=...,
    ),
    '{"ClientIP":"1.2.3.4","EdgeStartTimestamp":"2022-05-25T13:25:26Z","EdgeRespo',
    '{"content":"logpush ownership challenge"}',
    "",
]

ROW = {
    "ts": datetime(2022, 5, 25, 13, 25, 26, tzinfo=UTC),
    "client_ip": "175.16.199.0",
    "method": "GET",
    "path": "/v2/library/alpine/manifests/latest",
    "status": 200,
    "bytes_sent": 981308,
    "duration_s": 6.0,
    "user_agent": BASE["ClientRequestUserAgent"],
    "upstream": "67.43.156.0",
    "edge": "RUH",
    "country": "sa",
    "asn": 43766,
    KIND: REQUEST,
}


def expected(rows: list[dict[str, Any]]) -> pl.DataFrame:
    full = [{**dict.fromkeys(REQUEST_FIELDS), **row} for row in rows]
    return pl.DataFrame(full, schema={**REQUEST_FIELDS, KIND: pl.UInt8()})


def parse(lines: list[str]) -> pl.DataFrame:
    return cloudflare.parse(pl.Series("line", lines, dtype=pl.String), ParseState("test"))


def test_documented_lines_every_field() -> None:
    out = parse(LINES)
    assert out[KIND].to_list() == [REQUEST] * 4 + [MALFORMED, MALFORMED, OTHER]
    rows = [
        ROW,
        ROW,
        {
            **ROW,
            "client_ip": "2001:db8::1",
            "status": 403,
            "bytes_sent": 0,
            "duration_s": 0.25,
            "upstream": None,
            "edge": "SEA",
            "country": "us",
            "asn": 16509,
            "error_message": "managedChallenge",
        },
        {
            **ROW,
            "ts": datetime(2022, 5, 25, 13, 25, 26, 123456, tzinfo=UTC),
            "status": 0,
            # No end stamp: the edge's time to first byte.
            "duration_s": 5.333,
            "error_message": "block",
        },
    ]
    assert_frame_equal(out.head(4), expected(rows))


def test_sniff_tells_json_formats_apart() -> None:
    lines = LINES[:4]
    assert cloudflare.sniff(lines) == 1.0
    assert nginx_json.sniff(lines) == 0.0
    assert registry_json.sniff(lines) == 0.0


def test_torn_line_mid_chunk() -> None:
    lines = [LINES[0], LINES[0][:100], LINES[2]] * 20
    out = parse(lines)
    assert out[KIND].to_list() == [REQUEST, MALFORMED, REQUEST] * 20
    assert out.filter(pl.col(KIND) == REQUEST)["status"].to_list() == [200, 403] * 20


def test_unicode_and_escapes() -> None:
    out = parse(
        [line(ClientRequestUserAgent="caf\u00e9 <b> \ufffd 😀", ClientRequestURI="/v2/\u00e9/x")]
    )
    assert out["user_agent"].to_list() == ["café <b> \ufffd 😀"]
    assert out["path"].to_list() == ["/v2/é/x"]
    escaped = LINES[0].replace('"docker/', '"\\u003cdocker/')
    assert parse([escaped])["user_agent"][0].startswith("<docker/")


stamp_style = st.sampled_from(["rfc3339", "unix", "unixnano", "unixnano_str"])


def render_stamp(when: datetime, style: str) -> Any:
    nanos = int(when.timestamp()) * 10**9 + when.microsecond * 1000
    if style == "rfc3339":
        return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if style == "unix":
        return int(when.timestamp())
    return nanos if style == "unixnano" else str(nanos)


@settings(max_examples=80, deadline=None)
@given(
    st.datetimes(
        min_value=datetime(2001, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
    ),
    st.integers(0, 10**7),
    stamp_style,
    st.sampled_from(["GET", "HEAD", "PUT", "POST"]),
    st.integers(0, 599),
    st.integers(0, 2**50),
    st.text(max_size=30),
    st.sampled_from(["block", "allow", "unknown", "jschallenge", "skip"]),
)
def test_rendered_line_parses_back(
    when: datetime,
    micros: int,
    style: str,
    method: str,
    status: int,
    size: int,
    ua: str,
    action: str,
) -> None:
    if style == "unix":
        when = when.replace(microsecond=0)
        micros -= micros % 1_000_000
    end = when + timedelta(microseconds=micros)
    obj = {
        "ClientIP": "198.51.100.4",
        "ClientRequestMethod": method,
        "ClientRequestURI": "/v2/a/blobs/sha256:00?x=1",
        "ClientRequestUserAgent": ua,
        "EdgeStartTimestamp": render_stamp(when, style),
        "EdgeEndTimestamp": render_stamp(end, style),
        "EdgeResponseStatus": status,
        "EdgeResponseBytes": size,
        "EdgeColoCode": "FRA",
        "SecurityAction": action,
    }
    row = parse([json.dumps(obj)]).row(0, named=True)
    assert row[KIND] == REQUEST
    assert row["ts"] == when
    assert row["duration_s"] == micros / 1e6
    assert (row["method"], row["status"], row["bytes_sent"]) == (method, status, size)
    assert row["path"] == "/v2/a/blobs/sha256:00"
    assert row["user_agent"] == (None if ua in ("", "-") else ua)
    assert row["edge"] == "FRA"
    assert row["error_message"] == (action if action in ("block", "jschallenge") else None)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.text(max_size=60), max_size=8), st.data())
def test_arbitrary_text_and_truncations_never_raise(lines: list[str], data: st.DataObject) -> None:
    cut = data.draw(st.integers(0, len(LINES[0])))
    lines = [*lines, LINES[0][:cut]]
    out = parse(lines)
    assert out.height == len(lines)
    assert cloudflare.sniff(lines) >= 0.0
