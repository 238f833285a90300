"""Torn-line-tolerant JSON decoding: finding the bad lines directly gives what bisection gives.

When a batch fails, ``_decode`` looks for the failing lines and decodes around them; the
result must be exactly ``_bisect``'s, including which good lines end up decoded line by
line in Python (whose text for objects and numbers can differ from the native reader's).
"""

from __future__ import annotations

import json

import polars as pl
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from rca.ingest.formats import _jsonlines as jsonlines
from rca.ingest.formats._jsonlines import (
    _SUSPECTS,
    _bisect,
    decode_json_lines,
    decode_json_objects,
    json_candidates,
)

SCHEMA: dict[str, pl.DataType] = {"a": pl.String(), "b": pl.String(), "n": pl.String()}


def good(i: int) -> str:
    # Objects and floats read differently natively and in Python, so a wrong partition
    # shows; the space in '{ "x"' keeps the line from looking like two objects run together.
    return f'{{"a":"v{i}","b":{{ "x":{i},"y":[1.5,null]}},"n":{json.dumps(i * 1.25)}}}'


def test_good_lines_parse_and_differ_natively() -> None:
    # The premise of the partition checks: a good line decodes, and its object's text
    # differs between the native reader and the line-by-line fallback.
    text = pl.Series([good(3)])
    native = decode_json_objects(text, SCHEMA)["b"][0]
    assert json.loads(good(3))["b"] == {"x": 3, "y": [1.5, None]}
    assert native != _bisect(pl.Series([good(3), merged(3)]), SCHEMA)["b"][0]


def merged(i: int) -> str:
    return good(i)[:20] + good(i + 1)


def assert_same_as_bisect(lines: list[str]) -> None:
    text = pl.Series("line", lines, dtype=pl.String)
    assert_frame_equal(decode_json_objects(text, SCHEMA), _bisect(text, SCHEMA))


def test_no_bad_lines() -> None:
    assert_same_as_bisect([good(i) for i in range(100)])


def test_one_merged_line_among_many() -> None:
    lines = [good(i) for i in range(1000)]
    lines[537] = merged(537)
    assert_same_as_bisect(lines)


def test_many_merged_lines_and_neighbours() -> None:
    lines = [good(i) for i in range(2000)]
    for i in range(3, 2000, 41):
        lines[i] = merged(i)
    lines[10] = lines[11] = merged(10)  # adjacent bad lines
    assert_same_as_bisect(lines)


def test_bad_lines_the_quick_search_misses_fall_back_to_bisection() -> None:
    # No second '{"' in these: only bisection finds them.
    lines = [good(i) for i in range(300)]
    lines[5] = '{"a":1}}'
    lines[150] = '{"a":1,}'
    lines[299] = "{" + good(1)
    assert_same_as_bisect(lines)


def test_more_suspects_than_tried_one_by_one() -> None:
    lines = [merged(i) if i % 3 == 0 else good(i) for i in range(3 * _SUSPECTS + 30)]
    assert_same_as_bisect(lines)


def test_nginx_hex_escapes_and_odd_lines() -> None:
    lines = [good(i) for i in range(200)]
    lines[7] = '{"a":"caf\\xc3\\xa9","b":"x"}'  # nginx without escape=json
    lines[8] = '{ "a" : "spaced" }'
    lines[9] = '{"a":"\\ud83d"}'
    lines[100] = '{"a":"x\x00y"}'
    lines[101] = merged(101)
    lines[199] = "{}"
    assert_same_as_bisect(lines)


fragments = st.one_of(
    st.integers(0, 50).map(good),
    st.integers(0, 50).map(merged),
    st.sampled_from(['{"a":1}}', "{}", '{"a":{"b":{}}}', '{"a":"\\xff"}', '{"a":[1,{"b":2}]}']),
    st.text(alphabet='{}":,ab1 \\', max_size=12).map(lambda t: "{" + t + "}"),
)


@settings(max_examples=100, deadline=None)
@given(st.lists(fragments, max_size=120))
@example([merged(1)] * 17 + [good(2)] * 40)
def test_random_batches_match_bisection(lines: list[str]) -> None:
    assert_same_as_bisect(lines)


def test_decode_json_lines_keeps_positions() -> None:
    lines = ["", good(1), "torn {", merged(2), "  " + good(3) + " ", "x"]
    out = decode_json_lines(pl.Series(lines), SCHEMA)
    assert out.height == len(lines)
    assert out["_json_ok"].to_list() == [False, True, False, False, True, False]
    assert out["a"].to_list() == [None, "v1", None, None, "v3", None]
    assert json_candidates(pl.Series(lines)).to_list() == [False, True, False, True, True, False]


def test_merged_lines_found_without_bisection(monkeypatch: pytest.MonkeyPatch) -> None:
    lines = [good(i) for i in range(500)]
    for i in (3, 250, 251, 499):
        lines[i] = merged(i)
    lines[100] = good(100).replace("v100", "v\x00100")  # a raw NUL inside a string
    text = pl.Series("line", lines, dtype=pl.String)
    expected = _bisect(text, SCHEMA)

    def no_bisect(*_: object) -> pl.DataFrame:
        raise AssertionError("bisected")

    monkeypatch.setattr(jsonlines, "_bisect", no_bisect)
    assert_frame_equal(decode_json_objects(text, SCHEMA), expected)
    # The NUL line fails natively but decodes in the Python fallback (strict=False).
    assert expected["_json_ok"].sum() == 496
    assert expected["a"][100] == "v\x00100"
