"""The AWS ALB (and Classic ELB) access-log parser."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from rca._schema import REQUEST_FIELDS
from rca.ingest.formats._alb import alb
from rca.ingest.formats._base import KIND, MALFORMED, OTHER, REQUEST, ParseState

ARN = "arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067"
LB = "app/my-loadbalancer/50dc6c495c0c9188"
# The "Example log entries" of the AWS ALB user guide (HTTP, HTTPS, failed Lambda) and the
# Classic ELB guide.
DOC_HTTP = (
    f"http 2018-07-02T22:23:00.186641Z {LB} 192.168.131.39:2817 10.0.0.1:80 0.000 0.001 0.000 200 200 34 366 "
    f'"GET http://www.example.com:80/ HTTP/1.1" "curl/7.46.0" - - {ARN} '
    '"Root=1-58337262-36d228ad5d99923122bbe354" "-" "-" 0 2018-07-02T22:22:48.364000Z "forward" "-" "-" '
    '"10.0.0.1:80" "200" "-" "-" TID_1234abcd5678ef90'
)
DOC_HTTPS = (
    f"https 2018-07-02T22:23:00.186641Z {LB} 192.168.131.39:2817 10.0.0.1:80 0.086 0.048 0.037 200 200 0 57 "
    '"GET https://www.example.com:443/ HTTP/1.1" "curl/7.46.0" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 '
    f'{ARN} "Root=1-58337281-1d84f3d73c47ec4e58577259" "www.example.com" '
    '"arn:aws:acm:us-east-2:123456789012:certificate/12345678-1234-1234-1234-123456789012" 1 '
    '2018-07-02T22:22:48.364000Z "authenticate,forward" "-" "-" "10.0.0.1:80" "200" "-" "-" TID_1234abcd5678ef90'
)
DOC_LAMBDA_FAILED = (
    f"http 2018-11-30T22:23:00.186641Z {LB} 192.168.131.39:2817 - 0.000 0.001 0.000 502 - 34 366 "
    f'"GET http://www.example.com:80/ HTTP/1.1" "curl/7.46.0" - - {ARN} '
    '"Root=1-58337364-23a8c76965a2ef7629b185e3" "-" "-" 0 2018-11-30T22:22:48.364000Z "forward" "-" '
    '"LambdaInvalidResponse" "-" "-" "-" "-" TID_1234abcd5678ef90'
)
DOC_CLASSIC = (
    "2015-05-13T23:39:43.945958Z my-loadbalancer 192.168.131.39:2817 10.0.0.1:80 0.000073 0.001048 0.000057 "
    '200 200 0 29 "GET http://www.example.com:80/ HTTP/1.1" "curl/7.38.0" - -'
)
NO_TARGET = (
    f"https 2018-07-02T22:23:00.186641Z {LB} [2001:db8::1]:443 - -1 -1 -1 504 - 0 0 "
    '"GET https://registry.example.com:443/v2/library/alpine/blobs/sha256:ab?x=1 HTTP/1.1" "docker/20.10" - -'
)


def row(**kw: object) -> dict[str, object]:
    base: dict[str, object] = {
        "client_ip": "192.168.131.39",
        "method": "GET",
        "path": "/",
        "user_agent": "curl/7.46.0",
        "edge": LB,
    }
    return {c: {**base, **kw}.get(c) for c in REQUEST_FIELDS}


def test_documented_lines_every_field() -> None:
    lines = [DOC_HTTP, DOC_HTTPS, DOC_LAMBDA_FAILED, DOC_CLASSIC, NO_TARGET]
    out = alb.parse(pl.Series(lines), ParseState("t"))
    created = datetime(2018, 7, 2, 22, 22, 48, 364000, tzinfo=UTC)
    want = pl.DataFrame(
        [
            row(ts=created, status=200, bytes_sent=366, duration_s=0.001, upstream="10.0.0.1:80"),
            row(ts=created, status=200, bytes_sent=57, duration_s=0.171, upstream="10.0.0.1:80"),
            row(
                ts=datetime(2018, 11, 30, 22, 22, 48, 364000, tzinfo=UTC),
                status=502,
                bytes_sent=366,
                duration_s=0.001,
                error_message="LambdaInvalidResponse",
            ),
            row(
                ts=datetime(
                    2015, 5, 13, 23, 39, 43, 945958, tzinfo=UTC
                ),  # no request_creation_time
                status=200,
                bytes_sent=29,
                duration_s=0.001178,
                upstream="10.0.0.1:80",
                user_agent="curl/7.38.0",
                edge="my-loadbalancer",
            ),
            row(
                ts=datetime(2018, 7, 2, 22, 23, 0, 186641, tzinfo=UTC),
                client_ip="2001:db8::1",
                path="/v2/library/alpine/blobs/sha256:ab",
                status=504,
                bytes_sent=0,
                user_agent="docker/20.10",
            ),
        ],
        schema=REQUEST_FIELDS,
    ).with_columns(pl.Series(KIND, [REQUEST] * 5, pl.UInt8))
    assert_frame_equal(out, want)


def test_malformed_request_line_is_still_a_request() -> None:
    line = DOC_HTTP.replace(
        '"GET http://www.example.com:80/ HTTP/1.1"', '"- http://www.example.com:80- -"'
    )
    got = alb.parse(pl.Series([line]), ParseState("t")).row(0, named=True)
    assert (got[KIND], got["method"], got["path"], got["status"]) == (REQUEST, None, None, 200)


def test_extra_trailing_fields_and_torn_lines() -> None:
    longer = DOC_HTTP + ' "-" "-" "-" future_field'
    lines = [longer, DOC_HTTP[:120], "", "http nonsense", DOC_HTTP]
    kinds = alb.parse(pl.Series(lines), ParseState("t")).get_column(KIND).to_list()
    assert kinds == [REQUEST, MALFORMED, OTHER, MALFORMED, REQUEST]
    assert alb.sniff([DOC_HTTP, DOC_HTTPS]) == 1.0
    assert (
        alb.sniff(['127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 200 1 "-" "-"'])
        == 0.0
    )


ip = st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t)))
timing = st.one_of(st.just(-1.0), st.integers(0, 10**6).map(lambda ms: ms / 1000))
agent = st.text(
    st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters='"\\'), max_size=30
)


@settings(max_examples=100, deadline=None)
@given(
    client=ip,
    port=st.integers(1, 65535),
    target=st.one_of(st.none(), ip),
    timings=st.tuples(timing, timing, timing),
    status=st.integers(100, 599),
    sent=st.integers(0, 10**12),
    path=st.from_regex(r"/[a-z0-9/._-]{0,30}", fullmatch=True),
    ua=agent,
    created=st.datetimes(min_value=datetime(2016, 1, 1), max_value=datetime(2035, 1, 1)),
    error=st.sampled_from(["-", "TargetConnectionError", "LambdaInvalidResponse"]),
)
def test_round_trip(
    client: str,
    port: int,
    target: str | None,
    timings: tuple[float, float, float],
    status: int,
    sent: int,
    path: str,
    ua: str,
    created: datetime,
    error: str,
) -> None:
    start = created.replace(tzinfo=UTC)
    stamp = lambda d: d.strftime("%Y-%m-%dT%H:%M:%S.%fZ")  # noqa: E731
    target_field = f"{target}:8080" if target else "-"
    t1, t2, t3 = (f"{t:.3f}" if t >= 0 else "-1" for t in timings)
    line = (
        f"https {stamp(start + timedelta(seconds=1))} app/lb/1 {client}:{port} {target_field} {t1} {t2} {t3} "
        f'{status} - 10 {sent} "GET https://h.example.com:443{path}?q=1 HTTP/1.1" "{ua or "-"}" - - {ARN} '
        f'"Root=1" "-" "-" 0 {stamp(start)} "forward" "-" "{error}" "-" "-" "-" "-" TID_1'
    )
    got = alb.parse(pl.Series([line]), ParseState("t")).row(0, named=True)
    assert got[KIND] == REQUEST
    assert got["ts"] == start
    assert (got["client_ip"], got["method"], got["path"], got["status"]) == (
        client,
        "GET",
        path,
        status,
    )
    assert got["bytes_sent"] == sent
    assert got["upstream"] == (f"{target}:8080" if target else None)
    assert got["edge"] == "app/lb/1"
    assert got["user_agent"] == (None if ua in ("", "-") else ua)  # "-" is AWS's "none"
    assert got["error_message"] == (None if error == "-" else error)
    if min(timings) < 0:
        assert got["duration_s"] is None
    else:
        assert got["duration_s"] == pytest.approx(sum(round(t, 3) for t in timings), abs=1e-6)


@settings(max_examples=150, deadline=None)
@given(
    lines=st.lists(
        st.one_of(st.text(), st.binary().map(lambda b: b.decode("utf-8", "replace"))), max_size=8
    )
)
@example(lines=[DOC_HTTPS[:n] for n in range(0, len(DOC_HTTPS), 9)])
def test_never_raises_same_length(lines: list[str]) -> None:
    out = alb.parse(pl.Series(lines, dtype=pl.String), ParseState("t"))
    assert out.height == len(lines)
    assert list(out.columns) == [*REQUEST_FIELDS, KIND]
    assert 0.0 <= alb.sniff(lines) <= 1.0


# --- the split reader vs the capturing regex ---------------------------------------------

_MUTATIONS = st.lists(
    st.tuples(st.integers(0, 400), st.sampled_from(['"', "\\", " ", "", "x", '\\"', "-", "\t"])),
    max_size=4,
)


def _mutate(line: str, edits: list[tuple[int, str]]) -> str:
    for at, text in edits:
        at = at % (len(line) + 1)
        # An empty edit deletes a character; the others insert.
        line = line[:at] + line[at + 1 :] if text == "" else line[:at] + text + line[at:]
    return line


def _regex_fields(lines: list[str]) -> pl.DataFrame:
    from rca.ingest.formats._alb import _GROUPS, _PATTERN

    series = pl.Series("line", lines, dtype=pl.String)
    return series.str.extract_groups(_PATTERN).struct.unnest().select(_GROUPS)


@settings(max_examples=200, deadline=None)
@given(
    picks=st.lists(
        st.tuples(st.sampled_from([DOC_HTTP, DOC_HTTPS, DOC_LAMBDA_FAILED, DOC_CLASSIC, NO_TARGET]),
                  _MUTATIONS),
        min_size=1, max_size=6,
    )
)  # fmt: skip
def test_split_reader_reads_what_the_regex_reads(picks: list[tuple[str, list]]) -> None:
    """Lines in the current layout are cut at quotes and spaces instead of captured by the
    regex; on any line, mutated or not, both readings must agree."""
    from rca.ingest.formats._alb import _fields

    lines = [_mutate(line, edits) for line, edits in picks]
    assert_frame_equal(_fields(pl.Series("line", lines)), _regex_fields(lines))


def test_split_reader_on_simulated_lines(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from rca.ingest.formats._alb import _fields
    from rca.simulate import simulate

    simulate("bad_backend", tmp_path, seed=2, log_format="alb", hours=1, rate=2)
    lines = [
        line for f in sorted((tmp_path / "logs").iterdir()) for line in f.read_text().splitlines()
    ]
    assert len(lines) > 1000
    assert_frame_equal(_fields(pl.Series("line", lines)), _regex_fields(lines))


@settings(max_examples=200, deadline=None)
@given(
    picks=st.lists(
        st.tuples(st.sampled_from([DOC_HTTP, DOC_HTTPS, DOC_LAMBDA_FAILED, DOC_CLASSIC, NO_TARGET,
                                   "203.0.113.7 - - [17/May/2015:10:05:03 +0000] \"GET / HTTP/1.1\""]),
                  _MUTATIONS),
        min_size=1, max_size=6,
    )
)  # fmt: skip
def test_sniff_skips_the_parse_only_where_it_reads_no_request(
    picks: list[tuple[str, list]],
) -> None:
    """Sniffing skips the parse on samples where no line starts as ALB lines do; the share
    must be what the parse gives."""
    from rca.ingest.formats._log_format import sniff_share

    lines = [_mutate(line, edits) for line, edits in picks]
    assert alb.sniff(lines) == sniff_share(alb, lines)
