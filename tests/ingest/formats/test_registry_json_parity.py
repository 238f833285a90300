"""registry_json's parser against the general path it replaces, line for line.

``RegistryJSON.parse`` takes a faster route (only JSON-shaped lines decoded, the access
regex only where needed, regex-free common cases); ``_to_requests(registry_json._raw(...))``
is the general path (still used for sniffing and by ``registry_text``). Both must give the
same frame, values, dtypes and order, and carry the same state to the next chunk.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from rca.ingest._files import iter_line_chunks
from rca.ingest.formats._base import ParseState
from rca.ingest.formats._common import strip_port
from rca.ingest.formats._godur import rfc3339_utc
from rca.ingest.formats._registry import (
    _rfc3339_utc,
    _strip_port,
    _to_requests,
    registry_json,
    resolve_repeats,
)

from .test_registry import TEXT_LINES, entry, render, to_json_line


def general(lines: list[str], state: ParseState) -> pl.DataFrame:
    series = pl.Series("line", lines, dtype=pl.String)
    return resolve_repeats(_to_requests(registry_json._raw(series)), state)


def assert_parity(chunks: list[list[str]]) -> None:
    """Each chunk parsed both ways, the state carried across chunks on each side."""
    fast_state, general_state = ParseState("fast"), ParseState("general")
    for lines in chunks:
        fast = registry_json.parse(pl.Series("line", lines, dtype=pl.String), fast_state)
        assert_frame_equal(fast, general(lines, general_state))
    assert fast_state.values == general_state.values


BASE = {
    "go.version": "go1.16.15",
    "http.request.host": "registry.example.com",
    "http.request.id": "r-1",
    "http.request.method": "GET",
    "http.request.remoteaddr": "203.0.113.7:41234",
    "http.request.uri": "/v2/library/alpine/manifests/latest",
    "http.request.useragent": "docker/24.0.5 go/go1.20.6 UpstreamClient(Docker-Client/24.0.5 \\(linux\\))",
    "http.response.duration": "4.016532ms",
    "http.response.status": 200,
    "http.response.written": 685,
    "level": "info",
    "msg": "response completed",
    "time": "2021-03-15T16:00:00.367183737Z",
}


def line(**changes: Any) -> str:
    obj = {**BASE, **changes}
    return json.dumps({k: v for k, v in obj.items() if v is not ...}, sort_keys=True)


GOOD = line()
HOSTILE = [
    GOOD,
    "",
    "   ",
    "\t",
    f"  {GOOD}  ",
    f"{GOOD}\r",
    GOOD[:100],  # torn
    GOOD[:100] + GOOD,  # torn, then a whole line: starts with { and ends with }
    GOOD + GOOD,
    GOOD.replace('"GET"', '"G\\u0000T"'),
    GOOD.replace('"GET"', '"G\x00T"'),  # a raw NUL inside a string
    GOOD + "\x00",
    GOOD.replace("docker/24", "docker\ufffd/24"),  # invalid UTF-8, as replaced by the reader
    line(**{"http.request.useragent": "x" * 200_000}),  # a very long line
    json.dumps(dict(reversed(list(BASE.items())))),  # keys in another order
    GOOD.replace('"http.request.method"', '"http\\u002erequest.method"'),  # escaped key
    GOOD.replace('"GET"', '"caf\\u00e9 \\ud83d\\ude00 \\udcff"'),  # lone surrogate
    GOOD[:-1] + ',"http.response.status":"404"}',  # duplicate key
    GOOD[:-1] + ',"level":null}',
    line(**{"http.response.status": "200"}),  # numbers as strings
    line(**{"http.response.status": "-"}),
    line(**{"http.response.status": 200.0}),
    line(**{"http.response.status": " 201 "}),
    line(**{"http.response.status": "abc"}),  # a response line with a bad status
    line(**{"http.response.status": 99999}),
    line(**{"http.response.status": True}),
    line(**{"http.response.status": None}),
    line(**{"http.response.status": [200]}),
    line(**{"http.response.status": {"code": 200}}),
    line(**{"http.response.written": "12"}),
    line(**{"http.response.written": 1.5}),
    line(**{"http.response.written": "-"}),
    line(**{"http.response.duration": "1m3.2s"}),
    line(**{"http.response.duration": "-5ms"}),
    line(**{"http.response.duration": "0"}),
    line(**{"http.response.duration": "941.5µs"}),
    line(**{"http.response.duration": "bogus"}),
    line(**{"http.response.duration": ...}),
    line(time="2021-04-01T12:00:00.5+02:00"),
    line(time="2021-04-01 12:00:00"),
    line(time=" 2021-04-01T12:00:00Z "),
    line(time="2021-04-01t12:00:00z"),
    line(time="2021-04-01T12:00:00.123456789123Z"),
    line(time="not a time"),
    line(time=1617271200),
    line(time=...),
    line(time=..., **{"@timestamp": "2023-09-01T13:00:00+01:00"}),
    line(msg=..., message="response completed"),
    line(msg=...),
    line(level=...),
    line(**{"http.request.remoteaddr": "203.0.113.7, 10.0.0.1"}),
    line(**{"http.request.remoteaddr": "[2001:db8::7]:51234"}),
    line(**{"http.request.remoteaddr": "2001:db8::7"}),
    line(**{"http.request.remoteaddr": "[2001:db8::7"}),
    line(**{"http.request.remoteaddr": "host:80:90"}),
    line(**{"http.request.remoteaddr": "10.0.0.1:"}),
    line(**{"http.request.remoteaddr": ":80"}),
    line(**{"http.request.remoteaddr": "10.0.0.1:\u0661\u0662"}),  # Arabic-Indic digits
    line(**{"http.request.remoteaddr": "caf\u00e9:443"}),
    line(**{"http.request.remoteaddr": "-"}),
    line(**{"http.request.remoteaddr": " , 10.0.0.1"}),
    line(**{"http.request.uri": "https://r.example.com/v2/x?y=1#z"}),
    line(**{"http.request.uri": "/v2/x?a\nb"}),
    line(**{"err.code": "unknown", "err.message": "blob unknown"}),
    line(**{"err.code": "unknown", "err.message": "-"}),
    line(**{"http.request.id": "r-1", "msg": "response completed with error"}),
    line(**{"http.request.id": None}),
    line(**{"http.response.status": ...}),  # a per-request error line: OTHER
    '{"level":"info","msg":"listening on [::]:5000","time":"2021-04-01T10:00:00Z"}',
    "{}",
    "[1, 2]",
    '"text"',
    "null",
    "{not json}",
    '{"a":1}{"b":2}',
    '{"level":"info","msg":"x"',
    '172.17.0.1 - - [01/Apr/2021:10:00:00 +0000] "GET /v2/ HTTP/1.1" 401 87 "" "docker/20.10.7"',
    '{x - - [01/Apr/2021:10:00:00 +0000] "GET /v2/ HTTP/1.1" 401 87 "" "}',  # access-shaped "{...}"
    "panic: runtime error: invalid memory address",
    *[to_json_line(text) for text in TEXT_LINES[:5]],
    *TEXT_LINES,
]


def test_hand_made_hostile_lines() -> None:
    assert_parity([HOSTILE])


@pytest.mark.parametrize("start", range(0, len(HOSTILE), 7))
def test_hostile_lines_one_at_a_time_and_in_chunks(start: int) -> None:
    # Alone (a chunk of only non-candidates, or only candidates), then with neighbours.
    assert_parity([[text] for text in HOSTILE[start : start + 7]])
    assert_parity([HOSTILE[start : start + 7], HOSTILE[start + 7 : start + 14]])


def test_empty_and_all_blank_chunks() -> None:
    assert_parity([[], [""], ["", "  "], ["x"], [GOOD], []])


def test_repeated_request_ids_within_and_across_chunks() -> None:
    err = line(
        msg="response completed with error",
        level="error",
        **{"err.code": "c", "http.response.status": 400},
    )
    other = line(**{"http.request.id": "r-2"})
    assert_parity([[err, GOOD[:50], err, other], [err, "", other, GOOD]])


def test_simulated_registry_logs(tmp_path: Path) -> None:
    from rca.simulate import simulate

    simulate("storage_latency", tmp_path, seed=3, log_format="registry_json", hours=1, rate=1)
    files = sorted((tmp_path / "logs").iterdir())
    assert files
    for path in files:
        # Small chunks, so request ids are carried from one chunk to the next.
        chunks = [chunk.lines.to_list() for chunk in iter_line_chunks(path, 64 * 1024)]
        assert sum(len(c) for c in chunks) > 100
        assert_parity(chunks)


mutations = st.sampled_from(["keep", "torn", "torn+next", "pad", "double", "blank"])


@st.composite
def chunk_lines(draw: st.DrawFn) -> list[str]:
    out: list[str] = []
    for _ in range(draw(st.integers(0, 8))):
        choice = draw(st.integers(0, 3))
        if choice == 0:
            out.append(draw(st.text(max_size=60)))
            continue
        if choice == 1:
            out.append(draw(st.sampled_from(HOSTILE[:40])))
            continue
        text = render(draw(entry), as_json=True)
        mutation = draw(mutations)
        cut = draw(st.integers(0, len(text)))
        if mutation == "torn":
            text = text[:cut]
        elif mutation == "torn+next":
            text = text[:cut] + render(draw(entry), as_json=True)
        elif mutation == "pad":
            text = " " + text + "\t"
        elif mutation == "double":
            text = text + text
        elif mutation == "blank":
            text = ""
        out.append(text)
    return out


@settings(max_examples=150, deadline=None)
@given(st.lists(chunk_lines(), min_size=1, max_size=3))
@example([[GOOD, GOOD[:30]], [GOOD]])
def test_random_chunks_match_general_path(chunks: list[list[str]]) -> None:
    assert_parity(chunks)


stamps = st.one_of(
    st.datetimes().map(lambda d: d.isoformat() + st_suffix(d.microsecond)),
    st.text(alphabet="0123456789-:T tZz+.", max_size=35),
    st.text(max_size=20),
)


def st_suffix(micro: int) -> str:
    return ["Z", "+02:00", "-0130", "", "z"][micro % 5]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), stamps), max_size=20))
@example(["2021-03-15T16:00:00.367183737Z", " 2021-04-01T12:00:00Z ", "2021-04-01 12:00", None])
def test_rfc3339_fast_matches_general(values: list[str | None]) -> None:
    series = pl.Series("t", values, dtype=pl.String)
    assert_frame_equal(
        pl.DataFrame([_rfc3339_utc(series).alias("t")]),
        pl.DataFrame([series]).select(rfc3339_utc(pl.col("t"))),
    )


addresses = st.one_of(
    st.tuples(st.integers(0, 255), st.integers(0, 65535)).map(lambda t: f"10.0.0.{t[0]}:{t[1]}"),
    st.text(alphabet="0123456789abcdef.:[]-, \u0661\u00e9", max_size=25),
    st.text(max_size=20),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), addresses), max_size=20))
@example(["1.2.3.4:5", "[::1]:80", "::1", "a:1:2", ":1", "a:", "x:\u0661", "caf\u00e9:1", None])
def test_strip_port_fast_matches_general(values: list[str | None]) -> None:
    frame = pl.DataFrame([pl.Series("a", values, dtype=pl.String)])
    assert_frame_equal(
        frame.select(_strip_port(pl.col("a")).alias("a")),
        frame.select(strip_port(pl.col("a")).alias("a")),
    )
