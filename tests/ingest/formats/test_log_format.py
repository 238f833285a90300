"""nginx ``log_format`` strings compiled into parsers."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rca._errors import ParameterError
from rca._schema import REQUEST_FIELDS
from rca.ingest.formats import get_format
from rca.ingest.formats._base import KIND, MALFORMED, OTHER, REQUEST, ParseState
from rca.ingest.formats._log_format import compile_log_format

# The predefined "combined" format and the "main" format of nginx's stock nginx.conf.
COMBINED = (
    '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent '
    '"$http_referer" "$http_user_agent"'
)
MAIN_DIRECTIVE = """log_format  main  '$remote_addr - $remote_user [$time_local] "$request" '
                      '$status $body_bytes_sent "$http_referer" '
                      '"$http_user_agent" "$http_x_forwarded_for"';"""
JSON_DIRECTIVE = """log_format json_combined escape=json
  '{'
    '"time":"$time_iso8601",'
    '"remote_addr":"$remote_addr",'
    '"request_method":"$request_method",'
    '"request_uri":"$request_uri",'
    '"status": $status,'
    '"body_bytes_sent":$body_bytes_sent,'
    '"request_time":$request_time,'
    '"upstream_addr":"$upstream_addr",'
    '"http_user_agent":"$http_user_agent",'
    '"request_id":"$request_id"'
  '}';"""


def parse_one(fmt: str, line: str) -> dict[str, object]:
    return get_format(fmt).parse(pl.Series([line]), ParseState("t")).row(0, named=True)


def test_nginx_docs_combined_every_field() -> None:
    line = (
        '192.0.2.1 - bob [17/May/2015:10:05:03 +0200] "GET /v2/library/alpine/manifests/3.19?x=1 HTTP/1.1" '
        '200 1572 "-" "docker/24.0.7 go/go1.20.10 os/linux"'
    )
    got = parse_one(COMBINED, line)
    assert got == {
        "ts": datetime(2015, 5, 17, 8, 5, 3, tzinfo=UTC),
        "client_ip": "192.0.2.1",
        "method": "GET",
        "path": "/v2/library/alpine/manifests/3.19",
        "status": 200,
        "bytes_sent": 1572,
        "duration_s": None,
        "user_agent": "docker/24.0.7 go/go1.20.10 os/linux",
        "upstream": None,
        "edge": None,
        "country": None,
        "asn": None,
        "error_message": None,
        KIND: REQUEST,
    }


def test_main_directive_with_forwarded_for() -> None:
    line = '10.0.0.2 - - [17/May/2015:10:05:03 +0000] "HEAD /v2/ HTTP/1.1" 401 0 "-" "curl/8.4.0" "198.51.100.23"'
    got = parse_one(MAIN_DIRECTIVE, line)
    assert (got["client_ip"], got["method"], got["path"], got["status"], got["bytes_sent"]) == (
        "198.51.100.23",
        "HEAD",
        "/v2/",
        401,
        0,
    )


def test_escape_json_template_every_field() -> None:
    line = (
        '{"time":"2024-03-01T12:00:00+01:00","remote_addr":"2001:db8::5","request_method":"PUT",'
        '"request_uri":"/v2/a/b/blobs/uploads/u1?digest=sha256:00","status": 201,"body_bytes_sent":0,'
        '"request_time":1.250,"upstream_addr":"10.0.0.7:5000, 10.0.0.8:5000",'
        '"http_user_agent":"buildkit/v0.12 \\"x\\"","request_id":"abc"}'
    )
    got = parse_one(JSON_DIRECTIVE, line)
    assert got == {
        "ts": datetime(2024, 3, 1, 11, 0, 0, tzinfo=UTC),
        "client_ip": "2001:db8::5",
        "method": "PUT",
        "path": "/v2/a/b/blobs/uploads/u1",
        "status": 201,
        "bytes_sent": 0,
        "duration_s": 1.25,
        "user_agent": 'buildkit/v0.12 "x"',
        "upstream": "10.0.0.8:5000",
        "edge": None,
        "country": None,
        "asn": None,
        "error_message": None,
        KIND: REQUEST,
    }


def test_msec_and_unknown_variables() -> None:
    fmt = "$msec $request_id $host $status $request_time $upstream_response_time $uri $hostname"
    line = "1431857103.123 7f3a example.com 504 60.000 30.000, 30.000 /v2/_catalog lb-7"
    got = parse_one(fmt, line)
    assert got["ts"] == datetime(2015, 5, 17, 10, 5, 3, 123000, tzinfo=UTC)
    assert (got["status"], got["duration_s"], got["path"], got["edge"], got["method"]) == (
        504,
        60.0,
        "/v2/_catalog",
        "lb-7",
        None,
    )


def test_bad_definitions_raise_parameter_error() -> None:
    with pytest.raises(ParameterError, match="time variable"):
        compile_log_format("$remote_addr $status")
    with pytest.raises(ParameterError, match="no \\$variables"):
        compile_log_format("log_format x 'static';")


def test_malformed_blank_and_sniff() -> None:
    fmt = compile_log_format(COMBINED)
    good = '1.2.3.4 - - [17/May/2015:10:05:03 +0000] "GET / HTTP/1.1" 200 1 "-" "-"'
    out = fmt.parse(pl.Series([good, "", good[:30], "x"]), ParseState("t"))
    assert out.get_column(KIND).to_list() == [REQUEST, OTHER, MALFORMED, MALFORMED]
    assert fmt.sniff([good, good[:30]]) == 0.5


agent = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=30)


@settings(max_examples=100, deadline=None)
@given(
    when=st.datetimes(min_value=datetime(2001, 1, 1), max_value=datetime(2037, 1, 1)).map(
        lambda d: d.replace(microsecond=0, tzinfo=UTC)
    ),
    ip=st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t))),
    status=st.integers(100, 599),
    size=st.integers(0, 10**9),
    rt_ms=st.integers(0, 10**6),
    ua=agent,
    path=st.from_regex(r"/[a-z0-9/._-]{0,30}", fullmatch=True),
)
def test_json_round_trip(
    when: datetime, ip: str, status: int, size: int, rt_ms: int, ua: str, path: str
) -> None:
    rendered = {
        "time": when.isoformat(),
        "remote_addr": ip,
        "request_method": "GET",
        "request_uri": path,
        "status": status,
        "body_bytes_sent": size,
        "request_time": rt_ms / 1000,
        "upstream_addr": "-",
        "http_user_agent": ua,
        "request_id": "r",
    }
    # Render exactly as the template lays it out (nginx escape=json escapes " and \).
    line = json.dumps(rendered, separators=(",", ":")).replace('"status":', '"status": ')
    got = parse_one(JSON_DIRECTIVE, line)
    assert got[KIND] == REQUEST
    assert (got["ts"], got["client_ip"], got["path"], got["status"], got["bytes_sent"]) == (
        when,
        ip,
        path,
        status,
        size,
    )
    assert got["duration_s"] == pytest.approx(rt_ms / 1000)
    assert got["user_agent"] == (ua if ua not in ("", "-") else None)


@settings(max_examples=100, deadline=None)
@given(
    lines=st.lists(
        st.one_of(st.text(), st.binary().map(lambda b: b.decode("utf-8", "replace"))), max_size=6
    )
)
def test_never_raises_same_length(lines: list[str]) -> None:
    for text in (COMBINED, JSON_DIRECTIVE):
        fmt = compile_log_format(text)
        out = fmt.parse(pl.Series(lines, dtype=pl.String), ParseState("t"))
        assert out.height == len(lines)
        assert list(out.columns) == [*REQUEST_FIELDS, KIND]
        assert 0.0 <= fmt.sniff(lines) <= 1.0
