"""The combined (nginx / Apache) and nginx_timing parsers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import polars as pl
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from rca._schema import REQUEST_FIELDS
from rca.ingest.formats._base import KIND, MALFORMED, OTHER, REQUEST, ParseState
from rca.ingest.formats._combined import combined, nginx_timing

REAL = Path(__file__).parents[3] / ".." / "shared" / "data" / "real" / "apache_combined.log"


def parse(fmt, lines: list[str]) -> pl.DataFrame:  # type: ignore[no-untyped-def]
    return fmt.parse(pl.Series("line", lines, pl.String), ParseState(path="t"))


def expected(rows: list[dict[str, object]], kinds: list[int]) -> pl.DataFrame:
    full = [{c: r.get(c) for c in REQUEST_FIELDS} for r in rows]
    frame = pl.DataFrame(full, schema=REQUEST_FIELDS)
    return frame.with_columns(pl.Series(KIND, kinds, pl.UInt8))


def ts(*args: int, tz: timezone = UTC) -> datetime:
    return datetime(*args, tzinfo=tz).astimezone(UTC)  # type: ignore[misc]


# Lines as printed in the Apache "Log Files" documentation and the nginx docs/defaults.
APACHE_DOC = (
    '127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326 '
    '"http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)"'
)
ELASTIC_SAMPLE = (
    '83.149.9.216 - - [17/May/2015:10:05:03 +0000] "GET /presentations/logstash-monitorama-2013/'
    'images/kibana-search.png HTTP/1.1" 200 203023 "http://semicomplete.com/presentations/'
    'logstash-monitorama-2013/" "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_1) AppleWebKit/537.36 '
    '(KHTML, like Gecko) Chrome/32.0.1700.77 Safari/537.36"'
)
NGINX_TLS_ON_PLAIN = (
    '192.0.2.9 - - [17/May/2015:10:05:03 +0200] "\\x16\\x03\\x01\\x02\\x00\\x01\\x00\\x01\\xFC\\x03\\x03" '
    '400 157 "-" "-"'
)
APACHE_DASH_BYTES = (
    '2001:db8::7 - - [17/May/2015:23:59:59 -0130] "HEAD /v2/library/alpine/manifests/latest?x=1 HTTP/1.1" '
    '304 - "-" "docker/20.10.7 go/go1.13.15 \\"quoted\\" os/linux"'
)


def test_documented_lines_every_field() -> None:
    out = parse(combined, [APACHE_DOC, ELASTIC_SAMPLE, NGINX_TLS_ON_PLAIN, APACHE_DASH_BYTES])
    want = expected(
        [
            {
                "ts": ts(2000, 10, 10, 20, 55, 36),
                "client_ip": "127.0.0.1",
                "method": "GET",
                "path": "/apache_pb.gif",
                "status": 200,
                "bytes_sent": 2326,
                "user_agent": "Mozilla/4.08 [en] (Win98; I ;Nav)",
            },
            {
                "ts": ts(2015, 5, 17, 10, 5, 3),
                "client_ip": "83.149.9.216",
                "method": "GET",
                "path": "/presentations/logstash-monitorama-2013/images/kibana-search.png",
                "status": 200,
                "bytes_sent": 203023,
                "user_agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_1) AppleWebKit/537.36 "
                "(KHTML, like Gecko) Chrome/32.0.1700.77 Safari/537.36",
            },
            {
                # TLS bytes on a plain-HTTP port: nginx answered 400, so it is a request.
                "ts": ts(2015, 5, 17, 8, 5, 3),
                "client_ip": "192.0.2.9",
                "status": 400,
                "bytes_sent": 157,
            },
            {
                "ts": ts(2015, 5, 18, 1, 29, 59),
                "client_ip": "2001:db8::7",
                "method": "HEAD",
                "path": "/v2/library/alpine/manifests/latest",
                "status": 304,
                "bytes_sent": 0,
                "user_agent": 'docker/20.10.7 go/go1.13.15 "quoted" os/linux',
            },
        ],
        [REQUEST] * 4,
    )
    assert_frame_equal(out, want)


NGINX_TIMING_LINES = [
    '10.1.2.3 - - [04/Mar/2021:09:00:01 +0000] "GET /v2/ HTTP/1.1" 401 87 "-" "docker/20.10.5" 0.002 10.0.4.18:5000 0.001',
    '10.1.2.4 - - [04/Mar/2021:09:00:02 +0000] "GET /v2/library/nginx/blobs/sha256:ab12 HTTP/1.1" 502 157 "-" '
    '"containerd/1.4.3" 60.001 10.0.4.18:5000, 10.0.4.19:5000 30.000, 30.001',
    '10.1.2.5 - alice [04/Mar/2021:09:00:03 +0000] "PUT /v2/a/b/blobs/uploads/1?digest=sha256:cd HTTP/1.1" 499 0 '
    '"-" "-" 12.5 - -',
    '10.1.2.6 - - [04/Mar/2021:09:00:04 +0000] "GET /v2/x/manifests/1 HTTP/2.0" 200 527 "-" "skopeo/1.2" '
    '"203.0.113.7, 10.0.0.1" 0.010 10.0.4.18:5000 : 10.0.4.20:5000 0.004 : 0.005',
]


def test_nginx_timing_every_field() -> None:
    out = parse(nginx_timing, NGINX_TIMING_LINES)
    base = {"ts": None, "method": "GET"}
    want = expected(
        [
            {
                **base,
                "ts": ts(2021, 3, 4, 9, 0, 1),
                "client_ip": "10.1.2.3",
                "path": "/v2/",
                "status": 401,
                "bytes_sent": 87,
                "duration_s": 0.002,
                "user_agent": "docker/20.10.5",
                "upstream": "10.0.4.18:5000",
            },
            {
                **base,
                "ts": ts(2021, 3, 4, 9, 0, 2),
                "client_ip": "10.1.2.4",
                "path": "/v2/library/nginx/blobs/sha256:ab12",
                "status": 502,
                "bytes_sent": 157,
                "duration_s": 60.001,
                "user_agent": "containerd/1.4.3",
                "upstream": "10.0.4.19:5000",  # the last server nginx tried
            },
            {
                "ts": ts(2021, 3, 4, 9, 0, 3),
                "client_ip": "10.1.2.5",
                "method": "PUT",
                "path": "/v2/a/b/blobs/uploads/1",
                "status": 499,
                "bytes_sent": 0,
                "duration_s": 12.5,
            },
            {
                **base,
                "ts": ts(2021, 3, 4, 9, 0, 4),
                "client_ip": "203.0.113.7",  # first X-Forwarded-For hop
                "path": "/v2/x/manifests/1",
                "status": 200,
                "bytes_sent": 527,
                "duration_s": 0.010,
                "user_agent": "skopeo/1.2",
                "upstream": "10.0.4.20:5000",
            },
        ],
        [REQUEST] * 4,
    )
    assert_frame_equal(out, want)


def test_sniff_prefers_timing_for_timing_lines_and_combined_for_plain() -> None:
    assert nginx_timing.sniff(NGINX_TIMING_LINES) == 1.0
    assert combined.sniff(NGINX_TIMING_LINES) == 1.0  # tie: nginx_timing is registered first
    plain = [APACHE_DOC, ELASTIC_SAMPLE, APACHE_DASH_BYTES]
    assert nginx_timing.sniff(plain) == 0.0
    assert combined.sniff(plain) == 1.0
    assert combined.sniff(['{"time": 1}', "garbage"]) == 0.0
    assert combined.sniff([]) == 0.0


def test_main_format_x_forwarded_for() -> None:
    line = APACHE_DOC + ' "198.51.100.4, 10.0.0.2"'
    out = parse(combined, [line, APACHE_DOC + ' "-"', APACHE_DOC + ' "not an address"'])
    assert out.get_column("client_ip").to_list() == ["198.51.100.4", "127.0.0.1", "127.0.0.1"]
    assert out.get_column(KIND).to_list() == [REQUEST] * 3


def test_unescaped_quote_falls_back_to_loose_match() -> None:
    line = (
        '10.0.0.1 - - [17/May/2015:10:05:03 +0000] "GET /a HTTP/1.1" 200 5 "-" "curl "odd" agent"'
    )
    out = parse(combined, [line])
    assert out.row(0, named=True)["user_agent"] == 'curl "odd" agent'
    assert out.get_column(KIND).to_list() == [REQUEST]


def test_torn_blank_and_junk_lines() -> None:
    torn = APACHE_DOC[:-20]
    lines = [
        torn,
        "",
        "   ",
        "hello world",
        APACHE_DOC.replace("10/Oct/2000", "99/Foo/2000"),
        APACHE_DOC,
    ]
    out = parse(combined, lines)
    assert out.get_column(KIND).to_list() == [
        MALFORMED,
        OTHER,
        OTHER,
        MALFORMED,
        MALFORMED,
        REQUEST,
    ]
    assert parse(nginx_timing, lines).get_column(KIND).to_list()[:4] == [
        MALFORMED,
        OTHER,
        OTHER,
        MALFORMED,
    ]


@pytest.mark.skipif(not REAL.exists(), reason="shared real data not present")
def test_real_apache_log() -> None:
    lines = REAL.read_bytes().decode("utf-8", errors="replace").splitlines()
    out = parse(combined, lines)
    kinds = out.get_column(KIND).value_counts().sort(KIND)
    assert dict(kinds.iter_rows()) == {REQUEST: 9999, MALFORMED: 1}
    requests = out.filter(pl.col(KIND) == REQUEST)
    assert requests.get_column("ts").min() == ts(2015, 5, 17, 10, 5, 0)
    assert requests.get_column("ts").max().date().isoformat() == "2015-05-20"  # type: ignore[union-attr]
    assert requests.get_column("status").null_count() == 0
    assert requests.get_column("path").null_count() == 0


# --------------------------------------------------------------------------- properties

MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
ipv4 = st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t)))
ipv6 = st.lists(st.integers(0, 0xFFFF), min_size=8, max_size=8).map(
    lambda p: ":".join(f"{x:x}" for x in p)
)
method = st.sampled_from(["GET", "HEAD", "PUT", "POST", "PATCH", "DELETE", "OPTIONS"])
segment = st.text("abcdefghijklmnopqrstuvwxyz0123456789-._~:@", min_size=1, max_size=12)
path = st.lists(segment, min_size=0, max_size=5).map(lambda s: "/" + "/".join(s))
query = st.one_of(st.just(""), st.text("abc=&123", min_size=1, max_size=10).map(lambda q: "?" + q))
free_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40)
offset = st.integers(-12 * 60, 14 * 60).map(lambda m: timedelta(minutes=m))
when = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2037, 1, 1)).map(
    lambda d: d.replace(microsecond=0)
)


def clf(local: datetime, off: timedelta) -> str:
    minutes = int(off.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    hh, mm = divmod(abs(minutes), 60)
    return f"{local.day:02d}/{MONTHS[local.month - 1]}/{local.year}:{local:%H:%M:%S} {sign}{hh:02d}{mm:02d}"


def apache_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


@st.composite
def combined_records(draw: st.DrawFn) -> dict[str, object]:
    return {
        "client_ip": draw(st.one_of(ipv4, ipv6)),
        "local": draw(when),
        "offset": draw(offset),
        "method": draw(method),
        "path": draw(path),
        "query": draw(query),
        "status": draw(st.integers(100, 599)),
        "bytes": draw(st.one_of(st.none(), st.integers(0, 10**12))),
        "referer": draw(free_text),
        "user_agent": draw(free_text),
    }


def render_combined(r: dict[str, object]) -> str:
    size = "-" if r["bytes"] is None else str(r["bytes"])
    request = f"{r['method']} {r['path']}{r['query']} HTTP/1.1"
    return (
        f"{r['client_ip']} - - [{clf(r['local'], r['offset'])}] {apache_quote(request)} "  # type: ignore[arg-type]
        f"{r['status']} {size} {apache_quote(str(r['referer']))} {apache_quote(str(r['user_agent']))}"
    )


def expect_combined(r: dict[str, object]) -> dict[str, object]:
    local: datetime = r["local"]  # type: ignore[assignment]
    off: timedelta = r["offset"]  # type: ignore[assignment]
    return {
        "ts": local.replace(tzinfo=timezone(off)).astimezone(UTC),
        "client_ip": r["client_ip"],
        "method": r["method"],
        "path": r["path"],
        "status": r["status"],
        "bytes_sent": r["bytes"] or 0,
        "user_agent": r["user_agent"] if r["user_agent"] not in ("", "-") else None,
    }


@settings(max_examples=150, deadline=None)
@given(records=st.lists(combined_records(), min_size=1, max_size=5))
def test_combined_round_trip(records: list[dict[str, object]]) -> None:
    out = parse(combined, [render_combined(r) for r in records])
    assert out.get_column(KIND).to_list() == [REQUEST] * len(records)
    got = out.select(
        ["ts", "client_ip", "method", "path", "status", "bytes_sent", "user_agent"]
    ).to_dicts()
    assert got == [expect_combined(r) for r in records]


@settings(max_examples=100, deadline=None)
@given(
    record=combined_records(),
    request_time=st.integers(0, 10**6).map(lambda ms: ms / 1000),
    upstreams=st.lists(st.one_of(ipv4, st.just("unix:/run/app.sock")), min_size=0, max_size=3),
)
def test_nginx_timing_round_trip(
    record: dict[str, object], request_time: float, upstreams: list[str]
) -> None:
    addr = ", ".join(f"{u}:5000" if not u.startswith("unix:") else u for u in upstreams) or "-"
    times = ", ".join("0.001" for _ in upstreams) or "-"
    line = f"{render_combined(record)} {request_time:.3f} {addr} {times}"
    out = parse(nginx_timing, [line]).row(0, named=True)
    assert out[KIND] == REQUEST
    want = expect_combined(record)
    assert {k: out[k] for k in want} == want
    assert out["duration_s"] == pytest.approx(request_time)
    last = addr.split(", ")[-1]
    assert out["upstream"] == (None if last == "-" else last)


@settings(max_examples=200, deadline=None)
@given(
    lines=st.lists(
        st.one_of(st.text(), st.binary().map(lambda b: b.decode("utf-8", "replace"))), max_size=8
    )
)
@example(lines=[APACHE_DOC[:n] for n in range(0, len(APACHE_DOC), 7)])
@example(lines=['" " "', "\\", '- - - [] "" 200 - "" ""'])
def test_never_raises_same_length(lines: list[str]) -> None:
    for fmt in (combined, nginx_timing):
        out = parse(fmt, lines)
        assert out.height == len(lines)
        assert list(out.columns) == [*REQUEST_FIELDS, KIND]
        assert 0.0 <= fmt.sniff(lines) <= 1.0
