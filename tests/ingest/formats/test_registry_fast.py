"""registry_json's compiled scanner (``_registry_scan``) against the Polars path it speeds up.

The scanner reads the common lines and leaves the rest to ``_registry._json_rows``; for the
lines it reads, its rows must be exactly the reference's, and the parse of a whole chunk
(scanner + fallback + repeated request ids) must be exactly the reference's parse. Each test
runs with the scanner and with the reference alone (``registry_engine``); the comparisons
of the two run in the scanner's round.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from rca.ingest._files import LineChunk, iter_line_chunks
from rca.ingest.formats import _registry_fast
from rca.ingest.formats._base import KIND, REQUEST, ParseState
from rca.ingest.formats._registry import _json_rows, _parse_json, registry_json
from rca.simulate import simulate

from .test_registry_json_parity import BASE, GOOD, HOSTILE, line

pytestmark = pytest.mark.usefixtures("registry_engine")


def utf8(**changes: Any) -> str:
    """``line``, with text outside ASCII written as UTF-8 (as Go writes it), not escaped."""
    obj = {**BASE, **changes}
    return json.dumps({k: v for k, v in obj.items() if v is not ...}, ensure_ascii=False)


def _reference_parse(lines: pl.Series) -> pl.DataFrame:
    held = _registry_fast._scanner
    _registry_fast._scanner = None
    try:
        return _parse_json(lines)
    finally:
        _registry_fast._scanner = held


def check(lines: pl.Series | list[str]) -> np.ndarray:
    """The scanner's rows equal the reference's on the lines it reads, and the whole parse
    equals the reference's; returns the positions of the lines the scanner read."""
    series = lines if isinstance(lines, pl.Series) else pl.Series("line", lines, pl.String)
    series = series.rename("line")
    parsed = registry_json.parse_independent(series)
    assert_frame_equal(parsed, _reference_parse(series))
    scanned = _registry_fast.scan(series)
    if _registry_fast._scanner is None:
        assert scanned is None
        return np.zeros(0, np.int64)
    assert scanned is not None
    rows, rest = scanned
    assert rows.height == len(series)
    taken = np.setdiff1d(np.arange(len(series)), rest)
    reference = _json_rows(series).select(
        pl.col(c).cast(t) for c, t in _registry_fast.ROW_COLUMNS.items()
    )
    assert_frame_equal(rows[taken], reference[taken])
    return taken


def taken_ones(lines: list[str]) -> list[bool]:
    """Which lines the scanner reads (all False in the reference's round)."""
    taken = set(check(lines).tolist())
    return [i in taken for i in range(len(lines))]


def test_hostile_lines() -> None:
    taken = check(HOSTILE)
    if _registry_fast._scanner is not None:
        assert 0 in taken  # GOOD itself


def test_a_plain_response_line_is_read_by_the_scanner() -> None:
    lines = [GOOD, line(**{"http.response.status": ...})]
    out = registry_json.parse_independent(pl.Series("line", lines))
    assert out[KIND].to_list() == [REQUEST, 2]
    assert out["client_ip"][0] == "203.0.113.7"
    assert out["user_agent"][0].endswith("\\(linux\\))")
    if _registry_fast._scanner is not None:
        assert taken_ones(lines) == [True, True]


#: Boundaries of every rule the scanner checks, each with whether it reads the line.
EDGES: list[tuple[str, bool]] = [
    # times
    (line(time="2021-03-15T16:00:00Z"), True),
    (line(time="2021-03-15T16:00:00.1Z"), True),
    (line(time="2021-03-15T16:00:00.123456789Z"), True),
    (line(time="2021-03-15T16:00:00.1234567891Z"), False),
    (line(time="2021-03-15T16:00:00.Z"), False),
    (line(time="2021-03-15T16:00:00.5+23:59"), True),
    (line(time="2021-03-15T16:00:00.5-23:59"), True),
    (line(time="2021-03-15T16:00:00+24:00"), False),
    (line(time="2021-03-15T16:00:00+02:60"), False),
    (line(time="2021-03-15T16:00:00+0200"), False),
    (line(time="2021-03-15T16:00:00z"), False),
    (line(time="2021-03-15t16:00:00Z"), False),
    (line(time="2021-03-15 16:00:00Z"), False),
    (line(time="2021-03-15T16:00:00"), False),
    (line(time="2021-03-15T23:59:60Z"), False),
    (line(time="2021-03-15T24:00:00Z"), False),
    (line(time="2024-02-29T00:00:00Z"), True),
    (line(time="2023-02-29T00:00:00Z"), False),
    (line(time="2000-02-29T00:00:00Z"), True),
    (line(time="2100-02-29T00:00:00Z"), False),
    (line(time="1970-06-01T00:00:00Z"), False),
    (line(time="1971-01-01T00:00:00+23:59"), True),
    (line(time="2200-12-31T23:59:59Z"), True),
    (line(time="2201-01-01T00:00:00Z"), False),
    (line(time="2021-13-01T00:00:00Z"), False),
    (line(time="2021-00-01T00:00:00Z"), False),
    (line(time="2021-04-31T00:00:00Z"), False),
    (line(time="2021-04-00T00:00:00Z"), False),
    (line(time=None), True),
    (line(time=..., **{"@timestamp": "2023-09-01T13:00:00+01:00"}), True),
    (line(time=None, **{"@timestamp": "2023-09-01T13:00:00+01:00"}), True),
    (line(**{"@timestamp": "2023-09-01T13:00:00+01:00"}), True),
    (line(time=..., **{"@timestamp": "not a time"}), False),
    (line(time="2021-03-15T16:00:00\\u002e5Z").replace("\\\\u", "\\u"), False),
    # durations
    (line(**{"http.response.duration": "0"}), True),
    (line(**{"http.response.duration": "0s"}), True),
    (line(**{"http.response.duration": "00"}), False),
    (line(**{"http.response.duration": "1.5h"}), True),
    (line(**{"http.response.duration": "5m"}), True),
    (line(**{"http.response.duration": "86400s"}), True),
    (line(**{"http.response.duration": "86400.000001s"}), True),
    (line(**{"http.response.duration": "0.0000005s"}), True),
    (line(**{"http.response.duration": "0.0000015s"}), True),
    (line(**{"http.response.duration": "2.5us"}), True),
    (utf8(**{"http.response.duration": "3.5\u00b5s"}), True),
    (utf8(**{"http.response.duration": "3.5\u03bcs"}), True),
    (line(**{"http.response.duration": "12ns"}), True),
    (line(**{"http.response.duration": "007.50ms"}), True),
    (line(**{"http.response.duration": "123456789012345ns"}), True),
    (line(**{"http.response.duration": "1234567890123456ns"}), False),
    (line(**{"http.response.duration": "12345678.90123456ms"}), False),
    (line(**{"http.response.duration": "1.ms"}), False),
    (line(**{"http.response.duration": ".5ms"}), False),
    (line(**{"http.response.duration": "1m3.2s"}), True),
    (line(**{"http.response.duration": "1m0.488373653s"}), True),
    (line(**{"http.response.duration": "1h2m3s"}), True),
    (line(**{"http.response.duration": "25h0m0.000001s"}), True),
    (line(**{"http.response.duration": "0m0s"}), True),
    (line(**{"http.response.duration": "1h3s"}), False),
    (line(**{"http.response.duration": "1h2m"}), False),
    (line(**{"http.response.duration": "1.5m3s"}), False),
    (line(**{"http.response.duration": "1m3.s"}), False),
    (line(**{"http.response.duration": "1m1234567890123456s"}), False),
    (line(**{"http.response.duration": "1234567890m1s"}), False),
    (line(**{"http.response.duration": "1m3.2ms"}), False),
    (line(**{"http.response.duration": "1m3.2s "}), False),
    (line(**{"http.response.duration": "-5ms"}), False),
    (line(**{"http.response.duration": " 5ms"}), False),
    (line(**{"http.response.duration": "5 ms"}), False),
    (line(**{"http.response.duration": "5"}), False),
    (line(**{"http.response.duration": "5d"}), False),
    (line(**{"http.response.duration": ""}), False),
    (line(**{"http.response.duration": 5}), False),
    (line(**{"http.response.duration": None}), True),
    # status and written
    (line(**{"http.response.status": 0}), True),
    (line(**{"http.response.status": 32767}), True),
    (line(**{"http.response.status": 32768}), False),
    (line(**{"http.response.status": -1}), False),
    (line(**{"http.response.status": 200.0}), False),
    (line(**{"http.response.status": "200"}), False),
    (line(**{"http.response.status": None}), True),
    (GOOD.replace('"http.response.status": 200', '"http.response.status": 2e2'), False),
    (GOOD.replace('"http.response.status": 200', '"http.response.status": 0200'), False),
    (line(**{"http.response.written": 0}), True),
    (line(**{"http.response.written": 999999999999999999}), True),
    (line(**{"http.response.written": 1000000000000000000}), False),
    (line(**{"http.response.written": -5}), False),
    (line(**{"http.response.written": 1.5}), False),
    (line(**{"http.response.written": "685"}), False),
    (line(**{"http.response.written": None}), True),
    # client addresses
    (line(**{"http.request.remoteaddr": "203.0.113.7, 10.0.0.1"}), True),
    (line(**{"http.request.remoteaddr": " 203.0.113.7:1 ,x"}), True),
    (line(**{"http.request.remoteaddr": "[2001:db8::7]:51234"}), True),
    (line(**{"http.request.remoteaddr": "[2001:db8::7]"}), True),
    (line(**{"http.request.remoteaddr": "[]:80"}), True),
    (line(**{"http.request.remoteaddr": "["}), True),
    (line(**{"http.request.remoteaddr": "2001:db8::7"}), True),
    (line(**{"http.request.remoteaddr": "[2001:db8::7"}), True),
    (line(**{"http.request.remoteaddr": "host:80:90"}), True),
    (line(**{"http.request.remoteaddr": "a[b:80"}), True),
    (line(**{"http.request.remoteaddr": "10.0.0.1:"}), True),
    (line(**{"http.request.remoteaddr": ":80"}), True),
    (line(**{"http.request.remoteaddr": "-:80"}), True),
    (line(**{"http.request.remoteaddr": "-"}), True),
    (line(**{"http.request.remoteaddr": " - "}), True),
    (line(**{"http.request.remoteaddr": ""}), True),
    (line(**{"http.request.remoteaddr": ","}), True),
    (line(**{"http.request.remoteaddr": "a b:1"}), True),
    (line(**{"http.request.remoteaddr": "203.0.113.77:41234"}), True),  # 13 bytes: in aux
    (utf8(**{"http.request.remoteaddr": "10.0.0.1:\u0661\u0662"}), False),
    (utf8(**{"http.request.remoteaddr": "caf\u00e9:443"}), False),
    (utf8(**{"http.request.remoteaddr": "\u00a010.0.0.1"}), False),
    (line(**{"http.request.remoteaddr": "10.0.0.1\\u003a80"}).replace("\\\\u", "\\u"), True),
    # URIs
    (line(**{"http.request.uri": "https://r.example.com/v2/x?y=1#z"}), True),
    (line(**{"http.request.uri": "https://r.example.com"}), True),
    (line(**{"http.request.uri": "h+t.t-p://host/a"}), True),
    (line(**{"http.request.uri": "1http://host/a"}), True),
    (line(**{"http.request.uri": "http:/host/a"}), True),
    (line(**{"http.request.uri": "/v2/x#a?b"}), True),
    (line(**{"http.request.uri": "?only"}), True),
    (line(**{"http.request.uri": ""}), True),
    (line(**{"http.request.uri": "-"}), True),
    (utf8(**{"http.request.uri": "/v2/caf\u00e9/manifests/\u2603"}), True),
    (line(**{"http.request.uri": "/v2/x?a\nb"}), False),
    (line(**{"http.request.uri": "/v2/\\u003fx"}).replace("\\\\u", "\\u"), True),
    # strings, escapes, keys
    (line(**{"http.request.useragent": "-"}), True),
    (line(**{"http.request.useragent": ""}), True),
    (line(**{"http.request.useragent": "\\u002d"}).replace("\\\\u", "\\u"), True),
    (GOOD.replace('"GET"', '"a\\/b \\"q\\" \\\\"'), True),  # \/ \" \\
    (line(**{"http.request.useragent": "x" * 5000}), True),
    (line(**{"http.request.useragent": "tab\there"}), False),
    (
        line(**{"http.request.useragent": "caf\u00e9 \U0001f600"}).replace("\\u00e9", "\u00e9"),
        False,
    ),
    (utf8(**{"http.request.useragent": "caf\u00e9 \U0001f600"}), True),
    (utf8(**{"http.request.useragent": "\x7f"}), False),
    (GOOD.replace('"GET"', '"\\u0047ET"'), True),
    (GOOD.replace('"GET"', '"\\u00c9T"'), False),
    (GOOD.replace('"GET"', '"\\u001fT"'), False),
    (GOOD.replace('"GET"', '"\\u007fT"'), False),
    (GOOD.replace('"GET"', '"\\ud83dT"'), False),
    (GOOD.replace('"GET"', '"\\u004"'), False),
    (GOOD.replace('"GET"', '"G\\xT"'), False),
    (line(**{"err.code": "unknown", "err.message": "blob unknown"}), True),
    (line(**{"err.code": "unknown", "err.message": "-"}), True),
    (line(**{"err.code": "unknown", "err.message": ""}), True),
    (line(**{"err.code": "-", "err.message": None}), True),
    (line(**{"err.code": "unknown"}), True),
    (line(**{"err.code": 5}), False),
    (line(**{"http.request.id": ""}), True),
    (line(**{"http.request.id": "-"}), True),
    (line(**{"http.request.id": None}), True),
    (line(**{"http.request.id": 7}), False),
    (line(**{"http.request.method": True}), False),
    (line(msg=None, message="response completed"), True),
    (line(msg=..., message="response completed"), True),
    (line(msg=..., message=None), False),
    (line(msg=...), False),
    (line(level=None), False),
    (line(level=""), True),
    (line(level=3), False),
    (line(**{"err.detail": [{"Type": "repository", "Name": "a/b", "Action": "pull"}]}), True),
    (line(**{"err.detail": {"a": {"b": {"c": [1, -2.5e-3, True, False, None, "x"]}}}}), True),
    (line(**{"err.detail": json.loads("[" * 16 + "]" * 16)}), True),
    (line(**{"err.detail": json.loads("[" * 17 + "]" * 17)}), False),
    (line(**{"err.detail": {}}), True),
    (line(**{"err.detail": "multi\nline"}), False),
    (line(**{"other": 12345678901234567890123}), True),
    (line(**{"other": True, "more": None, "n": -0.5e10}), True),
    (line(**{"http.request.uri": {"path": "/v2/"}}), False),
    (GOOD[:-1] + ',"http.response.status":404}', False),
    (GOOD[:-1] + ',"go.version":"again"}', True),  # a duplicate of a key not read
    (GOOD.replace('"level"', '"lev\\u0065l"'), False),
    (GOOD.replace('"go.version"', '"go\\u002eversion"'), False),
    (GOOD.replace(": ", ":").replace(", ", ","), True),
    (GOOD.replace(": ", " :  ").replace(", ", " , "), True),
    ("  " + GOOD + "   ", True),
    ("\t" + GOOD, False),
    (GOOD + "\r", False),
    (GOOD[:-1] + ",}", False),
    (GOOD[:-1] + ',"x"}', False),
    (GOOD + "}", False),
    (GOOD[:-1], False),
    ("{}", False),
    ('{"level":"i","msg":""}', True),
    ('{"level":"i","msg":"", }', False),
    ('{"level":"i","msg":1}', False),
    ('{"level":"i","msg":"x","n":01}', False),
    ('{"level":"i","msg":"x","n":1.}', False),
    ('{"level":"i","msg":"x","n":1e}', False),
    ('{"level":"i","msg":"x","n":-}', False),
    ('{"level":"i","msg":"x","n":nul}', False),
    ('{"level":"i","msg":"x","n":[1,]}', False),
    ('{"level":"i","msg":"x","n":{"a"}}', False),
    ('{"level":"i","msg":"x","n":{1:2}}', False),
    ('{"level":"i","msg":"x"} {"level":"i","msg":"y"}', False),
    ('{"level":"i"}', False),
    ('{"a":"b c d [x] \\""}', False),  # not logrus, and shaped like an access line
]


def test_edges_are_read_exactly_or_left_to_the_reference() -> None:
    lines = [text for text, _ in EDGES]
    taken = taken_ones(lines)
    if _registry_fast._scanner is not None:
        wrong = [
            (text, want) for (text, want), got in zip(EDGES, taken, strict=True) if got != want
        ]
        assert wrong == []
    for text, _ in EDGES:  # each alone too: chunks of one line
        check([text])


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.one_of(st.none(), st.integers(0, 10**6)),
            st.integers(0, 59),
            st.integers(0, 59),
            st.text(alphabet="0123456789", max_size=10),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_go_durations_of_a_minute_and_more(parts: list[tuple[int | None, int, int, str]]) -> None:
    # The reference scales each part and sums them in Polars' order; so must the scanner.
    texts = [
        (f"{h}h" if h is not None else "") + f"{m}m{s}" + (f".{f}" if f else "") + "s"
        for h, m, s, f in parts
    ]
    lines = [line(**{"http.response.duration": t}) for t in texts]
    taken = taken_ones(lines)
    if _registry_fast._scanner is not None:
        assert taken == [len(f) + len(str(s)) <= 15 for _, _, s, f in parts]


def test_rounding_of_durations_to_microseconds() -> None:
    # Half-way cases: Polars rounds half to even, as the scanner does.
    durations = [f"{k}.5us" for k in range(10)] + [f"0.00{k}5ms" for k in range(10)]
    durations += [f"{k / 8}us" for k in range(40)] + ["1.0000005s", "2.5000005s"]
    lines = [line(**{"http.response.duration": d}) for d in durations]
    assert all(taken_ones(lines)) or _registry_fast._scanner is None


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    out = tmp_path_factory.mktemp("sim")
    simulate("storage_latency", out, seed=11, log_format="registry_json", hours=1, rate=2.0)
    return sorted((out / "logs").iterdir())


def test_simulated_registry_lines(simulated: list[Path]) -> None:
    read = lines = 0
    for path in simulated:
        for chunk in iter_line_chunks(path, 256 * 1024):
            read += len(check(chunk.lines))
            lines += chunk.n_lines
    assert lines > 1000
    if _registry_fast._scanner is not None:
        assert read > 0.95 * lines  # the scanner did the work


def test_chunk_of_mixed_utf8_lines_whose_views_span_buffers() -> None:
    # Lines with bytes above 127 are decoded apart and scattered back into the chunk's
    # column: its views then point into several data buffers.
    good = GOOD.encode()
    odd = [
        good.replace(b"docker/24", b"d\xc3\xa9cker/24"),
        good.replace(b"docker/24", b"d\xe9cker/24"),  # invalid UTF-8: U+FFFD
        good.replace(b"4.016532ms", b"941.5\xc2\xb5s"),
        good + b"\r",  # CRLF: the reader drops the "\r"
        good[:70],
        b"",
        b"{}",
    ]
    lines = [good] * 50
    for i, text in enumerate(odd):
        lines.insert(5 * i + 2, text)
    chunk = LineChunk(b"\n".join(lines) + b"\n")
    taken = check(chunk.lines)
    if _registry_fast._scanner is not None:
        assert len(taken) == 50 + 4


_BYTES = b' "\\{}[]:,.-+/0123456789eEuUaAfFntrl\xc2\xb5\xce\xbc\xc3\xa9\x00\x7f\t'


@st.composite
def mutated_chunks(draw: st.DrawFn) -> bytes:
    """Lines of a registry log with random bytes inserted, deleted or replaced."""
    seeds = [
        GOOD,
        line(**{"http.response.status": ...}),
        line(**{"err.code": "unknown", "err.message": "blob unknown", "err.detail": [1, {}]}),
        line(
            **{
                "http.request.remoteaddr": "[2001:db8::7]:51234",
                "time": "2021-04-01T12:00:00.5+02:00",
            }
        ),
        utf8(**{"http.response.duration": "941.5\u00b5s"}),
        line(**{"http.request.useragent": "\\u002d"}).replace("\\\\u", "\\u"),
    ]
    out = []
    for _ in range(draw(st.integers(1, 12))):
        text = bytearray(draw(st.sampled_from(seeds)).encode())
        for _ in range(draw(st.integers(0, 4))):
            at = draw(st.integers(0, len(text)))
            op = draw(st.sampled_from(["insert", "delete", "replace"]))
            chunk = bytes(draw(st.lists(st.sampled_from(list(_BYTES)), min_size=1, max_size=4)))
            if op == "insert":
                text[at:at] = chunk
            elif op == "delete":
                del text[at : at + len(chunk)]
            else:
                text[at : at + len(chunk)] = chunk
        out.append(bytes(text).replace(b"\n", b" "))
    return b"\n".join(out) + b"\n"


@settings(max_examples=300, deadline=None)
@given(mutated_chunks())
@example(GOOD.encode() + b"\n" + GOOD.encode()[:40] + b"\n")
def test_mutated_lines(data: bytes) -> None:
    check(LineChunk(data).lines)


def test_many_lines_and_repeated_request_ids_across_the_two_paths() -> None:
    rng = random.Random(5)
    lines = []
    for i in range(3000):
        rid = f"r-{rng.randint(0, 400)}"
        roll = rng.random()
        if roll < 0.05:
            lines.append(GOOD[: rng.randint(0, len(GOOD))])  # torn: the reference's
        elif roll < 0.1:  # the reference's too, with a request id
            lines.append(line(**{"http.request.id": rid, "http.response.status": "500"}))
        else:
            lines.append(line(**{"http.request.id": rid, "http.response.status": 200 + i % 5}))
    check(lines)
    state_a, state_b = ParseState("a"), ParseState("b")
    a = registry_json.parse(pl.Series(lines[:1500]), state_a)
    b = registry_json.parse(pl.Series(lines[1500:]), state_a)
    held = _registry_fast._scanner
    _registry_fast._scanner = None
    try:
        assert_frame_equal(a, registry_json.parse(pl.Series(lines[:1500]), state_b))
        assert_frame_equal(b, registry_json.parse(pl.Series(lines[1500:]), state_b))
    finally:
        _registry_fast._scanner = held
    assert state_a.values == state_b.values


def test_sliced_and_null_holding_columns() -> None:
    series = pl.Series("line", [GOOD, "x", *HOSTILE[:20], GOOD])
    check(series.slice(3, 15))
    check(pl.concat([series, series.slice(5)], rechunk=False))
    assert _registry_fast.scan(pl.Series("line", [GOOD, None])) is None
    assert _registry_fast.scan(pl.Series("line", [], pl.String)) is None


# ------------------------------------------------------------- the scanner's own checks


def _outputs(n: int, aux: int = 4096) -> list[Any]:
    # kind, ts, duration, status, written, strings, valid, aux
    return [
        np.empty(n, np.uint8),
        np.empty(n, np.int64),
        np.empty(n, np.float64),
        np.empty(n, np.int16),
        np.empty(n, np.int64),
        np.empty((6, n, 16), np.uint8),
        np.empty((10, (n + 7) // 8), np.uint8),
        np.empty(aux, np.uint8),
    ]


def _view(length: int, index: int, offset: int) -> np.ndarray:
    return np.array([length, 0, index, offset], np.uint32).view(np.uint8)


def test_views_outside_their_buffers_are_not_read() -> None:
    scanner = _registry_fast._scanner
    if scanner is None:
        pytest.skip("the reference's round")
    data = np.frombuffer(GOOD.encode(), np.uint8)
    n = len(data)
    views = np.stack(
        [
            _view(n, 0, 0),  # the line itself
            _view(n, 0, 1),  # one byte past the buffer's end
            _view(n, 1, 0),  # no such buffer
            _view(2**32 - 1, 0, 2**32 - 1),
            _view(10, 0, 0),  # inline: never a logrus entry
        ]
    )
    out = _outputs(5)
    used, rest = scanner.scan(views, [data], *out)
    assert out[0].tolist() == [REQUEST, 3, 3, 3, 3]
    assert rest == 4 and 0 < used < n


def test_a_line_that_does_not_fit_in_aux_is_left_to_the_reference() -> None:
    scanner = _registry_fast._scanner
    if scanner is None:
        pytest.skip("the reference's round")
    data = np.frombuffer(GOOD.encode(), np.uint8)
    views = np.stack([_view(len(data), 0, 0)] * 2)
    out = _outputs(2, aux=200)  # room for one line's strings, not two
    used, rest = scanner.scan(views, [data], *out)
    assert out[0].tolist() == [REQUEST, 3]
    assert rest == 1 and used <= 200


def test_output_buffers_too_small_are_refused() -> None:
    scanner = _registry_fast._scanner
    if scanner is None:
        pytest.skip("the reference's round")
    data = np.frombuffer(GOOD.encode(), np.uint8)
    views = np.stack([_view(len(data), 0, 0)] * 3)
    for k in range(7):
        out = _outputs(3)
        out[k] = out[k][:1]
        with pytest.raises(ValueError, match="needs"):
            scanner.scan(views, [data], *out)
    with pytest.raises(ValueError, match="16-byte"):
        scanner.scan(views.reshape(-1)[:20], [data], *_outputs(3))
    with pytest.raises(TypeError):
        scanner.scan(views, [data, 5], *_outputs(3))
