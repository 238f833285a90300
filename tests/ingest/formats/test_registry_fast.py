"""registry_json's compiled scanner (``_registry_scan.c``) against Polars' JSON decoder.

The scanner replaces ``decode_json_objects`` for the lines it takes and must give exactly
its frame; ``RegistryJSON.parse_independent`` must then give the same frame with and without
it, for any input. The boundary cases below are chosen so that a change to one rule of the
C (what it takes, what it gives) fails a test: either a frame differs, or a line that must
be taken (or redone) is not.
"""

from __future__ import annotations

import json
import re
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
from rca.ingest.formats._jsonlines import decode_json_objects, json_candidates
from rca.ingest.formats._registry import _JSON_SCHEMA, registry_json
from tests.robustness.conftest import CRASHES

from ._render import go_format
from .test_registry_json_parity import BASE, HOSTILE

KEYS = list(_JSON_SCHEMA)


def line(**changes: Any) -> str:
    """BASE with ``changes`` (``...`` drops a key), as logrus writes it (non-ASCII as is)."""
    obj = {**BASE, **changes}
    values = {k: v for k, v in obj.items() if v is not ...}
    return json.dumps(values, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def with_status(raw: str) -> str:
    """GOOD with the status written as ``raw`` (any text)."""
    return GOOD.replace('"http.response.status":200', f'"http.response.status":{raw}')


@pytest.fixture(autouse=True)
def scanner() -> Any:
    if _registry_fast._scanner is None:
        pytest.fail("the compiled scanner was not built: pip install -e . needs a C compiler")
    return _registry_fast._scanner


def without_scanner(lines: pl.Series) -> pl.DataFrame:
    held, _registry_fast._scanner = _registry_fast._scanner, None
    try:
        return registry_json.parse_independent(lines)
    finally:
        _registry_fast._scanner = held


def assert_same(lines: list[str] | pl.Series) -> None:
    """Both levels: the decoded frame of the JSON-shaped lines, and the parsed frame."""
    series = lines if isinstance(lines, pl.Series) else pl.Series("line", lines, pl.String)
    series = series.cast(pl.String).fill_null("").rename("line")
    text = series.filter(json_candidates(series))
    assert_frame_equal(
        _registry_fast.decode_objects(text, _JSON_SCHEMA, compiled=True),
        decode_json_objects(text, _JSON_SCHEMA),
    )
    assert_frame_equal(registry_json.parse_independent(series), without_scanner(series))


def redone(lines: list[str]) -> list[bool]:
    _, redo = _registry_fast._scan(pl.Series(lines, dtype=pl.String), KEYS)
    return [i in set(redo.tolist()) for i in range(len(lines))]


GOOD = line()
UA = "http.request.useragent"

#: Lines the scanner must take (and give as the decoder does).
TAKEN = [
    GOOD,
    "{}",
    "{ }",
    '{"level":"info","msg":"x"}',
    '{ "level" : "info" , "msg" : "x" }',  # spaces between tokens
    line(**{UA: ""}),  # empty string
    line(**{UA: "a" * 12}),  # inline view (12 bytes)
    line(**{UA: "a" * 13}),  # the shortest value in aux
    line(**{UA: 'say "hi" \\ to /'}),  # \" \\ and \/ below
    GOOD.replace("/v2/library", "\\/v2\\/library"),
    line(**{UA: "\\" * 13}),  # escapes that shrink a value to 13 bytes
    line(**{UA: "ab\\"}),  # \\ that shrinks a value to an inline one
    line(**{UA: "caf\u00e9 \u00b5s \u4e2d \U0001f600"}),  # UTF-8 of 2, 3, 4 bytes
    line(**{"http.response.duration": "941.5\u00b5s"}),
    line(**{UA: "dock\ufffder"}),  # as the reader replaces invalid UTF-8
    line(**{"http.response.status": 0}),
    with_status(" 201 "),
    line(**{"http.response.status": -7}),
    line(**{"http.response.written": 123456789012345678}),  # 18 digits
    line(**{"http.response.written": True}),
    line(**{"http.response.written": False}),
    line(**{"http.response.written": None}),
    line(**{"err.code": None, "err.message": "x"}),
    line(time=..., **{"@timestamp": "2023-09-01T13:00:00+01:00"}),
    line(msg=..., message="response completed"),
    # Keys that are prefixes or extensions of wanted keys are other keys.
    GOOD[:-1] + ',"tim":"x","times":"y","http.request":"z","level2":"w","":"v"}',
    # Other keys may hold what wanted ones may not (but no nested values, no \u).
    GOOD[:-1] + ',"other":1.5e-3,"o2":-0,"o3":"a\\nb\\tc\\r\\b\\f","o4":true,"o5":null}',
    GOOD[:-1] + ',"instance.id":"x","instance.id":"y"}',  # a repeated other key
    json.dumps(dict(reversed(list(BASE.items())))),  # keys in another order
]

#: Lines the scanner must leave to the decoder.
REDONE = [
    "",
    " {}",
    "{} ",
    "{",
    "}",
    "{,}",
    "{ x",
    "{x}",
    "{ ]",
    "{}}",
    "{ } }",
    '{"level":"info",}',
    '{"level":"info"',
    '{"level":"info"}x}',
    '{"level":"info"}{"msg":"x"}',
    GOOD[:-1] + ',"level":"warn"}',  # a repeated wanted key
    GOOD[:-1] + ',"level":null}',
    GOOD.replace('"GET"', '"G\\u0045T"'),  # \u in a wanted value
    GOOD[:-1] + ',"other":"\\u0041"}',  # \u in another value
    GOOD.replace('"GET"', '"G\\nT"'),  # \n in a wanted value
    GOOD.replace('"GET"', '"G\\qT"'),  # not a JSON escape
    GOOD.replace('"GET"', '"G\tT"'),  # a raw control byte in a string
    GOOD.replace('"GET"', '"G\x7fT"'),
    GOOD.replace(":", "\t:", 1),  # whitespace other than spaces
    GOOD.replace('"http.request.method"', '"http\\u002erequest.method"'),  # escaped key
    GOOD.replace('"http.request.method"', '"http.request.m\u00e9thod"'),  # non-ASCII key
    line(**{"http.response.status": 200.0}),  # floats, exponents in wanted values
    line(**{"http.response.status": 2e2}),
    with_status("2E2"),
    with_status("-0"),
    with_status("0200"),
    with_status("+200"),
    with_status("2."),
    with_status("-"),
    line(**{"http.response.written": 1234567890123456789}),  # 19 digits
    line(**{"http.response.status": [200]}),
    line(**{"http.response.status": {"code": 200}}),
    GOOD[:-1] + ',"other":{"a":1}}',  # nested values anywhere
    GOOD[:-1] + ',"other":[]}',
    GOOD[:-1] + ',"other":1.}',  # not JSON numbers
    GOOD[:-1] + ',"other":01}',
    GOOD[:-1] + ',"other":tru}',
    GOOD[:-1] + ',"other":nul}',
    GOOD[:-1] + ",other:1}",
    GOOD[:-1] + ',"other" 1}',
    GOOD[:-1] + ',"other":"\\ud83d\\ude00"}',
]


def test_boundary_lines_are_taken_or_redone_as_designed() -> None:
    assert not any(redone(TAKEN)), [t for t, r in zip(TAKEN, redone(TAKEN), strict=True) if r]
    assert all(redone(REDONE)), [t for t, r in zip(REDONE, redone(REDONE), strict=True) if not r]


@pytest.mark.parametrize("text", TAKEN + REDONE)
def test_each_boundary_line_alone(text: str) -> None:
    assert_same([text])


def test_boundary_lines_together_and_with_hostile_ones() -> None:
    assert_same(TAKEN + REDONE)
    assert_same(TAKEN + HOSTILE)
    assert_same(HOSTILE)


def test_taken_values_are_the_raw_text() -> None:
    raw = r'{"http.request.useragent":"a\"b\\c\/dxxxxxxxxxxxxxxxxxxxx","http.response.written":-12}'
    frame = _registry_fast.decode_objects(pl.Series([GOOD, raw]), _JSON_SCHEMA, compiled=True)
    assert frame[UA][1] == 'a"b\\c/d' + "x" * 20
    assert frame["http.response.written"].to_list() == ["685", "-12"]
    assert frame["http.response.status"].to_list() == ["200", None]
    assert frame[UA][0] == BASE[UA]  # its backslashes escaped in the line


def test_a_failing_redone_line_sends_the_chunk_through_the_reference() -> None:
    # A {...} line that is not JSON makes the reference decode its neighbours one by one
    # in Python (whose float text differs from Polars'): the scanner must not change that.
    floats = line(**{"http.response.written": 1.0})
    lines = [GOOD] * 40 + [floats, '{"a":1}{"b":2}', floats] + [GOOD] * 40
    assert_same(lines)
    assert_same([floats, '{"a":1}{"b":2}'])


def test_views_across_several_data_buffers() -> None:
    # A concatenated column keeps the data buffers of its parts.
    parts = [pl.Series([line(**{UA: f"agent {i}" * 9}) for i in range(k, k + 5)]) for k in (0, 9)]
    lines = pl.concat(parts, rechunk=False).rechunk()
    assert_same(lines)


@pytest.mark.parametrize(
    "name",
    [
        "registry_json__scanner_duration_last_bit.log",
        # Found by atheris while the compiled durations divided in numpy: Polars multiplies.
        "registry_json__duration_divided_not_multiplied.log",
    ],
)
def test_the_duration_last_bit_crash_inputs(name: str) -> None:
    chunk = LineChunk((CRASHES / name).read_bytes() + b"\n")
    assert_same(chunk.lines)


def test_real_lines_of_another_format(real_apache: Path) -> None:
    # No real registry log is shipped (shared/data/real holds an Apache log): its lines
    # are all non-candidates, the path around the scanner.
    assert_same(LineChunk(real_apache.read_bytes()).lines)


def test_simulated_registry_logs(tmp_path: Path) -> None:
    from rca.simulate import simulate

    simulate("storage_latency", tmp_path, seed=5, log_format="registry_json", hours=1, rate=2)
    files = sorted((tmp_path / "logs").iterdir())
    assert files
    for path in files:
        for chunk in iter_line_chunks(path, 256 * 1024):
            lines = chunk.lines
            assert_same(lines)
            # The scanner takes nearly every line of a registry's log.
            text = lines.filter(json_candidates(lines))
            assert len(_registry_fast._scan(text, KEYS)[1]) <= len(text) // 50


def test_scanner_refuses_views_outside_their_buffers_and_small_outputs(scanner: Any) -> None:
    n, k = 2, len(KEYS)
    keys = [key.encode() for key in KEYS]
    views = np.zeros((n, 4), np.uint32)
    views[:, 0] = 20  # 20 bytes at offset 50 of a 64-byte buffer
    views[:, 3] = 50
    buffers = [np.zeros(64, np.uint8)]

    def outputs(rows: int = n, keys: int = k, aux: int = 64 * k) -> list[np.ndarray]:
        return [
            np.empty((keys, rows, 16), np.uint8),
            np.empty((keys, (rows + 7) // 8), np.uint8),
            np.empty(rows, np.uint8),
            np.empty(aux, np.uint8),
            np.empty(keys, np.int64),
        ]

    with pytest.raises(ValueError, match="outside"):
        scanner.scan(views.view(np.uint8), buffers, keys, *outputs())
    views[:, 2] = 1  # a buffer index past the buffers
    views[:, 3] = 0
    with pytest.raises(ValueError, match="outside"):
        scanner.scan(views.view(np.uint8), buffers, keys, *outputs())
    views[:, 2] = 0
    with pytest.raises(ValueError, match="needs"):
        scanner.scan(views.view(np.uint8), buffers, keys, *outputs(rows=1))
    with pytest.raises(ValueError, match="needs"):
        scanner.scan(views.view(np.uint8), buffers, keys, *outputs()[:4], np.empty(k - 1, np.int64))
    with pytest.raises(ValueError, match="16-byte"):
        scanner.scan(np.zeros(17, np.uint8), buffers, keys, *outputs())
    with pytest.raises(ValueError, match="too many"):
        scanner.scan(views.view(np.uint8), buffers, keys * 3, *outputs(keys=3 * k))
    # A line whose values do not fit in aux is redone, not written past it.
    text = pl.Series([line(**{UA: "x" * 100})])
    values = decode_json_objects(text, _JSON_SCHEMA).drop("_json_ok").row(0)
    need = sum(len(v.encode()) for v in values if v is not None)
    arr = text.to_arrow(compat_level=pl.CompatLevel.newest())
    raw = np.frombuffer(arr.buffers()[1], np.uint8)[:16].copy()
    out, valid, redo, aux, used = outputs(rows=1, aux=need - 1)
    assert scanner.scan(raw, arr.buffers()[2:], keys, out, valid, redo, aux, used) == 1
    assert redo[0] == 1 and not used.any()
    out, valid, redo, aux, used = outputs(rows=1, aux=need)
    assert scanner.scan(raw, arr.buffers()[2:], keys, out, valid, redo, aux, used) == 0
    assert redo[0] == 0 and used[KEYS.index(UA)] == 100
    # compact: views outside aux, or more text than the column's buffer holds, are refused.
    column = out[KEYS.index(UA)]
    own, text_out = np.empty_like(column), np.empty(100, np.uint8)
    scanner.compact(column, aux, own, text_out)
    assert bytes(text_out) == b"x" * 100
    with pytest.raises(ValueError, match="outside"):
        scanner.compact(column, aux, own, np.empty(99, np.uint8))
    with pytest.raises(ValueError, match="outside"):
        scanner.compact(column, aux[:50], own, text_out)
    with pytest.raises(ValueError, match="needs"):
        scanner.compact(column, aux, np.empty(8, np.uint8), text_out)


# Hypothesis: JSON-ish lines built from the pieces the rules are about.
_KEY = st.sampled_from([*KEYS, "tim", "timex", "", "other", "le\\u0076el", "l\u00e9vel"])
_STRING = st.lists(
    st.sampled_from([*'ab -:./"\\\u00b5\u00e9\t\x00\x7f', "\\u00e9", "\\/", "\\\\", '\\"']),
    max_size=16,
).map("".join)
_SCALAR = st.one_of(
    _STRING.map(lambda s: json.dumps(s, ensure_ascii=False)),
    _STRING.map(lambda s: '"' + s + '"'),  # raw: escapes as they come, maybe invalid
    st.integers(-(10**20), 10**20).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.sampled_from(["true", "false", "null", "-0", "0.0", "1e3", "01", "[1]", '{"a":"b"}', ""]),
)
_SPACE = st.sampled_from(["", "", "", " ", "  ", "\t"])


@st.composite
def json_ish_line(draw: st.DrawFn) -> str:
    pairs = draw(st.lists(st.tuples(_KEY, _SCALAR, _SPACE), max_size=8))
    body = ",".join(f'{space}"{key}"{space}:{space}{value}{space}' for key, value, space in pairs)
    text = "{" + body + "}"
    cut = draw(st.sampled_from([None, None, None, "torn", "double", "pad"]))
    if cut == "torn":
        text = text[: draw(st.integers(0, len(text)))]
    elif cut == "double":
        text = text + text
    elif cut == "pad":
        text = " " + text
    return text


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(json_ish_line(), st.sampled_from(TAKEN + REDONE)), max_size=12))
@example(['{"http.response.status":-0}', '{"level":"a","level":"b"}'])
@example(['{"msg":1.0}', '{"a":1}{"b":2}', '{"msg":"x"}'])
def test_random_json_ish_lines_give_identical_frames(lines: list[str]) -> None:
    assert_same(lines)


# ------------------------------------------------ request times (_registry_scan.c: times)


@st.composite
def stamp(draw: st.DrawFn) -> str:
    """RFC 3339-ish text around Go's RFC3339Nano: fields at and past their ranges, every
    offset spelling, separators and spaces that only the Polars reference accepts."""
    n = st.integers
    y, mo, d = draw(n(1960, 2100)), draw(n(0, 13)), draw(n(0, 32))
    h, mi, s = draw(n(0, 25)), draw(n(0, 61)), draw(n(0, 61))
    frac = draw(
        st.sampled_from(["", "."])
        | st.text("0123456789", min_size=1, max_size=11).map(lambda digits: "." + digits)
    )
    offset = draw(
        st.sampled_from(["Z", "z", "", "+00:00", "+0200", "+02", "-05:30", "+24:00", "+01:60"])
        | st.builds(
            lambda sign, oh, om: f"{sign}{oh:02d}:{om:02d}",
            st.sampled_from("+-"),
            n(0, 25),
            n(0, 61),
        )
    )
    sep = draw(st.sampled_from(["T", "T", "t", " "]))
    text = f"{y:04d}-{mo:02d}-{d:02d}{sep}{h:02d}:{mi:02d}:{s:02d}{frac}{offset}"
    return draw(st.sampled_from(["", " "])) + text + draw(st.sampled_from(["", " ", "x"]))


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(stamp(), st.none(), st.text(max_size=30)), min_size=1, max_size=30))
@example(["2024-02-29T23:59:59.999999-05:30", "2023-02-29T00:00:00Z", "1970-01-01T00:30:00+01:00"])
@example(["2021-03-12T08:14:60Z", "2021-03-12T08:14:00.1234567890Z", "2000-12-31T23:59:59.9Z"])
def test_compiled_request_times_equal_the_reference(values: list[str | None]) -> None:
    from rca.ingest.formats._godur import rfc3339_utc
    from rca.ingest.formats._registry import _rfc3339_utc

    time = pl.Series("time", values, pl.String)
    want = pl.select(rfc3339_utc(pl.lit(time))).to_series()
    assert _rfc3339_utc(time).to_list() == want.to_list()
    # What the C parses on its own is exactly the reference's value, and it parses every
    # plain Go stamp (so a refusal rule that is too wide fails too).
    own = _registry_fast.rfc3339_times(time)
    assert own is not None
    for text, got, ref in zip(values, own.to_list(), want.to_list(), strict=True):
        if got is not None:
            assert got == ref
        elif text is not None and ref is not None and _GO_STAMP.fullmatch(text):
            raise AssertionError(f"the scanner refused {text!r}")


# Go's RFC3339Nano in the years the scanner takes, fields in range (leap days aside).
_GO_STAMP = re.compile(
    r"(19[7-9]\d|20\d\d)-(0[1-9]|1[0-2])-(0[1-9]|1\d|2[0-8])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d"
    r"(\.\d{1,9})?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)"
)


def test_request_times_refuse_views_outside_their_buffers(scanner: Any) -> None:
    view = np.zeros((1, 16), np.uint8)
    view[0, :4] = np.frombuffer(np.uint32(40).tobytes(), np.uint8)
    micros, ok = np.empty(1, np.int64), np.empty(1, np.uint8)
    with pytest.raises(ValueError, match="outside"):
        scanner.times(view, [b"2021-03-12T08:14:00Z"], micros, ok)
    with pytest.raises(ValueError, match="do not match"):
        scanner.times(view, [b"x" * 40], micros[:0], ok)


# --------------------------------------------- client addresses (_registry_scan.c: hosts)

_ADDRESS_PARTS = [
    "1.2.3.4",
    ":",
    "80",
    ",",
    " ",
    "\t",
    "\x0b",
    "-",
    "[",
    "]",
    "2001:db8::1",
    "host",
    "\u00a0",
    "８",
    "é",
    "",
    "a",
]


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.none(),
            st.lists(st.sampled_from(_ADDRESS_PARTS), max_size=8).map("".join),
            st.ip_addresses().map(lambda a: f"{a}:{a.version * 1000}"),
        ),
        min_size=1,
        max_size=30,
    )
)
@example(["1.2.3.4:80", " 1.2.3.4:80 , 5.6.7.8", "-", "", None, "[2001:db8::1]:443"])
@example(["2001:db8::1", "host:", ":80", "h:1:2", "\u00a01.2.3.4:80", "1.2.3.4:８０", " - "])
@example(["registry.example.internal:5000", "a-very-long-host-name.example:443, 10.0.0.1"])
@example(["\x0b1.2.3.4:80", "1.2.3.4:80\x0c", "\r1.2.3.4:80\n", "\t-\t"])
def test_compiled_client_hosts_equal_the_expressions(values: list[str | None]) -> None:
    from rca.ingest.formats._common import first_hop
    from rca.ingest.formats._registry import _client_ip, _strip_port

    addr = pl.Series("remoteaddr", values, pl.String)
    # Sliced, several chunks: views at an offset, several data buffers.
    addr = pl.concat([addr, addr.slice(len(values) // 2)], rechunk=False)
    want = pl.DataFrame([addr]).select(_strip_port(first_hop(pl.col("remoteaddr")))).to_series()
    assert _client_ip(addr).to_list() == want.to_list()
    # The scanner itself takes every plain host:port (a refusal rule too wide fails too).
    got = _registry_fast.client_hosts(addr)
    assert got is not None
    taken = set(range(addr.len())) - set(got[1].tolist())
    for i, text in enumerate(addr.to_list()):
        if text is not None and re.fullmatch(r"[A-Za-z0-9.-]+:[0-9]+", text) and text != "-":
            assert i in taken, text


def test_client_hosts_refuse_views_outside_their_buffers(scanner: Any) -> None:
    view = np.zeros((1, 16), np.uint8)
    view[0, :4] = np.frombuffer(np.uint32(40).tobytes(), np.uint8)
    out, valid, refused = np.empty((1, 16), np.uint8), np.zeros(1, np.uint8), np.empty(1, np.uint8)
    with pytest.raises(ValueError, match="outside"):
        scanner.hosts(view, [b"1.2.3.4:80"], out, valid, refused)
    with pytest.raises(ValueError, match="do not match"):
        scanner.hosts(view, [b"x" * 40], out, valid, refused[:0])


# ------------------------------------------------- durations (_registry_scan.c: durations)

_DURATION_PARTS = ["1", "0", "9", "4.016532", ".", "5", "ns", "us", "µs", "μs", "ms", "s"]
_DURATION_PARTS += [
    "m",
    "h",
    "1m3.2",
    " ",
    "-",
    "+",
    "e3",
    "٣",
    "x",
    "",
    "\t",
    "12345678901234.5678",
]


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.none(),
            st.lists(st.sampled_from(_DURATION_PARTS), max_size=6).map("".join),
            st.integers(-(2**62), 2**62).map(go_format),
        ),
        min_size=1,
        max_size=30,
    )
)
@example(["4.016532ms", "941.5µs", "941.5μs", "2us", "0s", "3m", "2h", "1m3.2s", " 2ms", "0"])
@example(["1.", ".5ms", "1.2.3ms", "12345678901234.5678ms", "٣ms", "ms", ".ms", "1e3ms", None])
def test_compiled_durations_equal_the_expression(values: list[str | None]) -> None:
    from rca.ingest.formats._godur import go_duration_seconds
    from rca.ingest.formats._registry import _durations

    text = pl.Series("duration", values, pl.String)
    # Sliced, several chunks: views at an offset, several data buffers.
    text = pl.concat([text, text.slice(len(values) // 2)], rechunk=False)
    want = pl.DataFrame([text]).select(go_duration_seconds(pl.col("duration"))).to_series()
    assert _durations(text).to_list() == want.to_list()
    # The expression gives the same bits whatever the column's length.
    assert [pl.select(go_duration_seconds(pl.lit(v, pl.String))).item() for v in text] == (
        want.to_list()
    )
    # The scanner takes every one-unit duration (a refusal rule too wide fails here).
    compiled = _registry_fast.go_durations(text)
    assert compiled is not None
    left = set(compiled[1].tolist())
    one_unit = r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:ns|us|µs|μs|ms|s|m|h)"
    for i, value in enumerate(text.to_list()):
        if value is not None and re.fullmatch(one_unit, value):
            assert i not in left, value


def test_durations_refuse_views_outside_their_buffers(scanner: Any) -> None:
    view = np.zeros((1, 16), np.uint8)
    view[0, :4] = np.frombuffer(np.uint32(40).tobytes(), np.uint8)
    out, units = np.empty((1, 16), np.uint8), np.empty(1, np.uint8)
    with pytest.raises(ValueError, match="outside"):
        scanner.durations(view, [b"1ms"], out, units)
    with pytest.raises(ValueError, match="do not match"):
        scanner.durations(view, [b"x" * 40], out, units[:0])
