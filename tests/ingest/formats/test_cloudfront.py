"""The CloudFront standard access-log parser."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import polars as pl
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from rca._schema import REQUEST_FIELDS
from rca.ingest.formats._base import KIND, MALFORMED, OTHER, REQUEST, ParseState
from rca.ingest.formats._cloudfront import STANDARD_FIELDS, cloudfront

HEADER = ["#Version: 1.0", "#Fields: " + " ".join(STANDARD_FIELDS)]
CHROME = (
    "Mozilla/5.0%20(Windows%20NT%2010.0;%20Win64;%20x64)%20AppleWebKit/537.36%20(KHTML,%20like%20Gecko)"
    "%20Chrome/78.0.3904.108%20Safari/537.36"
)
CHROME_DECODED = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/78.0.3904.108 Safari/537.36"
)
# Lines from the example log file in the CloudFront developer guide ("Standard logging reference").
DOC = [
    # No field of these lines holds a space (the agent is percent-encoded), so spaces stand for tabs.
    line.replace(" ", "\t")
    for line in (
        "2019-12-04 21:02:31 LAX1 392 192.0.2.100 GET d111111abcdef8.cloudfront.net /index.html 200 - "
        f"{CHROME} - - Hit SOX4xwn4XV6Q4rgb7XiVGOHms_BGlTAC4KyHmureZmBNrjGdRLiNIQ== "
        "d111111abcdef8.cloudfront.net https 23 0.001 - TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256 Hit HTTP/2.0 "
        "- - 11040 0.001 Hit text/html 78 - -",
        "2019-12-13 22:36:27 SEA19-C1 900 192.0.2.200 GET d111111abcdef8.cloudfront.net /favicon.ico 502 "
        f"http://www.example.com/ {CHROME} - - Error 1pkpNfBQ39sYMnjjUQjmH2w1wdJnbHYTbag21o_3OfcQgPzdL2RSSQ== "
        "www.example.com http 675 0.102 - - - Error HTTP/1.1 - - 25260 0.102 OriginDnsError text/html 507 - -",
        "2019-12-13 22:37:02 SEA19-C2 900 192.0.2.200 GET d111111abcdef8.cloudfront.net / 502 - curl/7.55.1 "
        "- - Error kBkDzGnceVtWHqSCqBUqtA_cEs2T3tFUBbnBNkB9El_uVRhHgcZfcw== www.example.com http 387 0.103 "
        "- - - Error HTTP/1.1 - - 12644 0.103 OriginDnsError text/html 507 - -",
    )
]


def rec(**kw: object) -> dict[str, object]:
    return {c: kw.get(c) for c in REQUEST_FIELDS}


def test_documented_example_every_field() -> None:
    state = ParseState("t")
    out = cloudfront.parse(pl.Series([*HEADER, *DOC]), state)
    # ts is the request start: CloudFront's time is when it finished, minus time-taken.
    want = pl.DataFrame(
        [
            rec(),
            rec(),
            rec(
                ts=datetime(2019, 12, 4, 21, 2, 30, 999000, tzinfo=UTC),
                client_ip="192.0.2.100",
                method="GET",
                path="/index.html",
                status=200,
                bytes_sent=392,
                duration_s=0.001,
                user_agent=CHROME_DECODED,
                edge="LAX1",
            ),
            rec(
                ts=datetime(2019, 12, 13, 22, 36, 26, 898000, tzinfo=UTC),
                client_ip="192.0.2.200",
                method="GET",
                path="/favicon.ico",
                status=502,
                bytes_sent=900,
                duration_s=0.102,
                user_agent=CHROME_DECODED,
                edge="SEA19-C1",
                error_message="OriginDnsError",
            ),
            rec(
                ts=datetime(2019, 12, 13, 22, 37, 1, 897000, tzinfo=UTC),
                client_ip="192.0.2.200",
                method="GET",
                path="/",
                status=502,
                bytes_sent=900,
                duration_s=0.103,
                user_agent="curl/7.55.1",
                edge="SEA19-C2",
                error_message="OriginDnsError",
            ),
        ],
        schema=REQUEST_FIELDS,
    ).with_columns(pl.Series(KIND, [OTHER, OTHER, REQUEST, REQUEST, REQUEST], pl.UInt8))
    assert_frame_equal(out, want)
    assert state.values  # the header is remembered for the next chunk


def test_header_carried_across_chunks_and_custom_field_order() -> None:
    fields = [
        "time",
        "date",
        "c-ip",
        "sc-status",
        "cs-uri-stem",
        "x-forwarded-for",
        "time-taken",
        "x-edge-location",
    ]
    state = ParseState("t")
    first = cloudfront.parse(pl.Series(["#Version: 1.0", "#Fields: " + " ".join(fields)]), state)
    assert first.get_column(KIND).to_list() == [OTHER, OTHER]
    line = "\t".join(
        [
            "01:02:03",
            "2024-02-29",
            "10.0.0.1",
            "000",
            "/v2/a%253Db",
            "203.0.113.5,%2010.0.0.1",
            "2.5",
            "FRA2",
        ]
    )
    got = cloudfront.parse(pl.Series([line, line.rsplit("\t", 2)[0]]), state)
    assert got.get_column(KIND).to_list() == [REQUEST, MALFORMED]
    r = got.row(0, named=True)
    assert r["ts"] == datetime(2024, 2, 29, 1, 2, 0, 500000, tzinfo=UTC)
    assert (r["client_ip"], r["status"], r["path"], r["edge"]) == (
        "203.0.113.5",
        0,
        "/v2/a%3Db",
        "FRA2",
    )


def test_header_less_file_uses_standard_fields_and_sniff() -> None:
    out = cloudfront.parse(pl.Series([DOC[0], "", "not\ttabs", DOC[1][:50]]), ParseState("t"))
    assert out.get_column(KIND).to_list() == [REQUEST, OTHER, MALFORMED, MALFORMED]
    assert cloudfront.sniff([*HEADER, *DOC]) == 1.0
    assert cloudfront.sniff(DOC) == 1.0
    assert (
        cloudfront.sniff(
            ['127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 200 1 "-" "-"']
        )
        == 0.0
    )


@settings(max_examples=100, deadline=None)
@given(
    end=st.datetimes(min_value=datetime(2010, 1, 1), max_value=datetime(2035, 1, 1)).map(
        lambda d: d.replace(microsecond=0)
    ),
    ip=st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t))),
    status=st.integers(0, 599),
    size=st.integers(0, 10**12),
    taken_ms=st.integers(0, 10**7),
    ua=st.text(min_size=1, max_size=30).filter(lambda s: s != "-"),
    path=st.from_regex(r"/[a-z0-9/._-]{0,30}", fullmatch=True),
    result=st.sampled_from(["Hit", "Miss", "Error", "OriginConnectError", "ClientCommError"]),
)
def test_round_trip(
    end: datetime, ip: str, status: int, size: int, taken_ms: int, ua: str, path: str, result: str
) -> None:
    values = dict.fromkeys(STANDARD_FIELDS, "-")
    values.update(
        {
            "date": end.strftime("%Y-%m-%d"),
            "time": end.strftime("%H:%M:%S"),
            "x-edge-location": "IAD89-C3",
            "sc-bytes": str(size),
            "c-ip": ip,
            "cs-method": "GET",
            "cs-uri-stem": quote(path),
            "sc-status": f"{status:03d}",
            "cs(User-Agent)": quote(ua, safe="/;(),"),
            "time-taken": f"{taken_ms / 1000:.3f}",
            "x-edge-detailed-result-type": result,
        }
    )
    line = "\t".join(values[f] for f in STANDARD_FIELDS)
    got = cloudfront.parse(pl.Series([line]), ParseState("t")).row(0, named=True)
    assert got[KIND] == REQUEST
    assert got["ts"] == end.replace(tzinfo=UTC) - timedelta(milliseconds=taken_ms)
    assert (got["client_ip"], got["method"], got["path"], got["status"]) == (
        ip,
        "GET",
        path,
        status,
    )
    assert (got["bytes_sent"], got["user_agent"], got["edge"]) == (size, ua, "IAD89-C3")
    assert got["duration_s"] == pytest.approx(taken_ms / 1000)
    assert got["error_message"] == (None if result in ("Hit", "Miss") else result)


@settings(max_examples=150, deadline=None)
@given(
    lines=st.lists(
        st.one_of(st.text(), st.binary().map(lambda b: b.decode("utf-8", "replace"))), max_size=8
    )
)
@example(
    lines=["#Fields:", "#Fields: a b", "x\ty", *[DOC[0][:n] for n in range(0, len(DOC[0]), 11)]]
)
def test_never_raises_same_length(lines: list[str]) -> None:
    out = cloudfront.parse(pl.Series(lines, dtype=pl.String), ParseState("t"))
    assert out.height == len(lines)
    assert list(out.columns) == [*REQUEST_FIELDS, KIND]
    assert 0.0 <= cloudfront.sniff(lines) <= 1.0


_EDITS = st.lists(
    st.tuples(st.integers(0, 600), st.sampled_from(["\t", " ", "", "x", "#", "-"])), max_size=6
)


@settings(max_examples=200, deadline=None)
@given(
    picks=st.lists(
        st.tuples(st.sampled_from([*DOC, *HEADER, DOC[0].replace("\t", " ")]), _EDITS),
        min_size=1,
        max_size=6,
    )
)
def test_sniff_skips_the_parse_only_where_it_reads_no_request(
    picks: list[tuple[str, list[tuple[int, str]]]],
) -> None:
    """Sniffing skips the parse on samples with no tab and no header; the share must be
    what the parse gives (requests and headers over the non-blank lines)."""
    lines = []
    for line, edits in picks:
        for at, text in edits:
            at = at % (len(line) + 1)
            line = line[:at] + line[at + 1 :] if text == "" else line[:at] + text + line[at:]
        lines.append(line)
    sample = [ln for ln in lines if ln.strip()]
    out = cloudfront.parse(pl.Series("line", sample, pl.String), ParseState("<sniff>"))
    requests = int((out.get_column(KIND) == REQUEST).sum())
    headers = sum(
        1
        for ln in sample
        if ln.startswith("#Version:") or (ln.startswith("#Fields:") and "x-edge-" in ln)
    )
    expect = (requests + headers) / len(sample) if sample and (requests or headers) else 0.0
    assert cloudfront.sniff(lines) == expect
