"""The byte-level fast path of the combined parsers gives exactly what the regexes give.

Every test here runs twice: with the compiled scanner (``_clf_scan``) and with the numpy
reference, and the two are also compared with each other directly."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from rca.ingest._derive import ROUTE_FIELDS, _routes
from rca.ingest._files import LineChunk
from rca.ingest.formats import _clf_fast
from rca.ingest.formats._base import KIND, MALFORMED, REQUEST, ChunkRows, ParseState, per_line
from rca.ingest.formats._clf_fast import STRING_COLUMNS, _clf_time, parse_fast, series_bytes
from rca.ingest.formats._combined import _FAST_MIN_LINES, combined, nginx_timing
from rca.simulate import simulate

PLAIN = (
    '203.0.113.7 - - [12/Mar/2021:08:14:00 +0000] "GET /v2/library/alpine/blobs/sha256:ab?x=1 '
    'HTTP/1.1" 307 247 "-" "docker/20.10.7 kernel/4.14.238-182.422.amzn2.x86_64 os/linux '
    'UpstreamClient(Docker-Client/20.10.7 \\x5C(linux\\x5C))" 0.022 10.1.122.245:5000 0.014'
)


def _with_agent(text: str) -> str:
    """PLAIN with its user agent (between the quotes) replaced by ``text``."""
    start, end = PLAIN.index('"docker') + 1, PLAIN.index('))"') + 2
    return PLAIN[:start] + text + PLAIN[end:]


TRICKY = [
    "",
    "   ",
    "garbage",
    PLAIN[:80],
    PLAIN.replace("+0000", "-0130").replace("12/Mar", "29/Feb").replace("2021", "2024"),
    PLAIN.replace("12/Mar", "31/Feb"),
    PLAIN.replace("12/Mar", "12/mar"),
    PLAIN.replace("08:14:00", "23:59:60"),
    PLAIN.replace("GET", "get"),
    PLAIN.replace("GET /v2", "GET http://host/v2"),
    PLAIN.replace("HTTP/1.1", "HTTP/2"),
    PLAIN.replace('HTTP/1.1"', 'HTTP/1.1 "'),
    PLAIN.replace("?x=1", "#frag"),
    PLAIN.replace("/v2/library", "/v2/lib\\x41rary"),  # the regexes unescape the request
    PLAIN.replace("?x=1", "?x=\\x41"),
    PLAIN.replace("?x=1", "?x 1"),
    PLAIN.replace(" 247 ", " - "),
    PLAIN.replace(" 247 ", " 0247 "),
    PLAIN.replace(" 247 ", " 99999999999999999999 "),
    PLAIN.replace(" 307 ", " 30 "),
    PLAIN.replace(' "-" "docker', ' "http://ref/" "docker'),
    PLAIN.replace('"docker/20.10.7', '"dock\\"er/20.10.7'),
    PLAIN.replace('"docker/20.10.7', '"-'),
    PLAIN.replace('"docker/20.10.7 kernel', '"\\xC3\\xA9 kernel'),
    PLAIN.replace("0.022", "-"),
    PLAIN.replace("0.022", "1."),
    PLAIN.replace("0.022", ".5"),
    PLAIN.replace("0.022", "1e3"),
    PLAIN.replace("10.1.122.245:5000", "-"),
    PLAIN.replace("10.1.122.245:5000", "a:1, b:2").replace("0.014", "0.1, 0.2"),
    PLAIN.replace("10.1.122.245:5000", "a,b"),
    PLAIN + " extra",
    PLAIN.replace("os/linux", "os/línux"),
    PLAIN.replace(" 0.022", ' "-" 0.022'),
    PLAIN.replace(" 0.022", ' "198.51.100.1, 10.0.0.1" 0.022'),
    PLAIN.replace("203.0.113.7 - -", "- - -"),
    PLAIN.replace("203.0.113.7 - -", "203.0.113.7 - frank smith"),
    PLAIN.replace("203.0.113.7 - -", "203.0.113.7  -"),
    PLAIN.replace(" 0.022 10.1.122.245:5000 0.014", ""),
    PLAIN.replace(" 0.022 10.1.122.245:5000 0.014", ' "-"'),
    PLAIN.replace("\t", "").replace(" 307", "\t307"),
    # Escapes in the user agent, undone before "-" becomes null.
    _with_agent("\\x2D"),
    _with_agent(""),
    _with_agent("a\\x5c\\x5Cb\\\\c\\x4"),
    _with_agent("\\xe2\\x82\\xac \\xff"),
    _with_agent("\\x00\\x1f\\x7f"),
    _with_agent("\\"),
    # Boundaries of each rule the fast path checks.
    PLAIN.replace("GET /", "ABCDEFGHIJKLMNOPQRST /"),  # a 20-letter method
    PLAIN.replace("GET /", "ABCDEFGHIJKLMNOPQRSTU /"),  # 21 letters
    PLAIN.replace("HTTP/1.1", "HTTP/"),
    PLAIN.replace("HTTP/1.1", "HTTP/1.1.1"),
    PLAIN.replace("HTTP/1.1", "HTTP/1.x"),
    PLAIN.replace("HTTP/1.1", "HTTQ/1.1"),
    PLAIN.replace(" 307 ", " 3x7 "),
    PLAIN.replace(" 247 ", " 123456789012345678 "),
    PLAIN.replace(" 247 ", " 1234567890123456789 "),
    PLAIN.replace("0.022", "12345678901234.5"),
    PLAIN.replace("0.022", "123456789012345.6"),
    PLAIN.replace("0.022", "1.2.3"),
    PLAIN.replace("2021", "1969"),
    PLAIN.replace("2021", "2200"),
    PLAIN.replace("2021", "2201"),
    PLAIN.replace("12/Mar/2021", "29/Feb/2023"),
    PLAIN.replace("12/Mar/2021", "29/Feb/2000"),
    PLAIN.replace("12/Mar/2021", "29/Feb/2100"),
    PLAIN.replace("+0000", "+2359"),
    PLAIN.replace("+0000", "+2400"),
    PLAIN.replace("+0000", "+0060"),
    PLAIN.replace("+0000", "*0000"),
    PLAIN.replace("?x=1", "/?a#b"),
    PLAIN.replace("?x=1", "#a?b"),
    PLAIN.replace("10.1.122.245:5000 0.014", "a:1, b:2, c:3, d:4 1, 2, 3, 4"),  # 9 spaces
    PLAIN.replace("10.1.122.245:5000 0.014", "a:1, b:2, c:3, d:4 1, 2, 3, 4, 5"),  # 10
    PLAIN.replace(" 0.022 10.1.122.245:5000 0.014", "  0.022 10.1.122.245:5000 0.014"),
    PLAIN.replace(' "-" "docker', ' "-"  "docker'),
    PLAIN.replace("203.0.113.7 - -", "203.0.113.7 -- -"),
]


@pytest.fixture(scope="module", params=["compiled", "numpy"], autouse=True)
def engine(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """The whole module once with each implementation of the fast path."""
    held = _clf_fast._scanner
    if request.param == "numpy":
        _clf_fast._scanner = None
    elif held is None:
        pytest.fail("the compiled scanner was not built: pip install -e . needs a C compiler")
    yield request.param
    _clf_fast._scanner = held


def as_parsed(frame: pl.DataFrame | ChunkRows) -> pl.DataFrame:
    """A parser's answer as the parse contract defines it: one row per line with its kind,
    and the fields of REQUEST rows (those of other rows are ignored; the fast path leaves
    them null)."""
    if isinstance(frame, ChunkRows):
        frame = per_line(frame)
    other = pl.col(KIND) != REQUEST
    return frame.with_columns(
        pl.when(other).then(None).otherwise(pl.col(c)).alias(c) for c in frame.columns if c != KIND
    )


def both(fmt, lines: list[str]) -> tuple[pl.DataFrame, pl.DataFrame]:  # type: ignore[no-untyped-def]
    series = pl.Series("line", lines, pl.String)
    return as_parsed(fmt.parse(series, ParseState("t"))), as_parsed(fmt._parse_regex(series))


@pytest.mark.parametrize("fmt", [nginx_timing, combined], ids=lambda f: f.name)
def test_tricky_lines_match_the_regex_parser(fmt) -> None:  # type: ignore[no-untyped-def]
    lines = (TRICKY * (_FAST_MIN_LINES // len(TRICKY) + 1))[: _FAST_MIN_LINES * 2]
    fast, regex = both(fmt, lines)
    assert_frame_equal(fast, regex)


def test_plain_lines_take_the_fast_path() -> None:
    lines = pl.Series("line", [PLAIN] * 100 + ["garbage"])
    result = parse_fast(series_bytes(lines), timing=True)
    assert result is not None
    assert result.rows.tolist() == list(range(100))
    # "garbage" has fewer quotes than either regex needs: known unmatched, not blank.
    assert result.unmatched.tolist() == [100]
    assert result.blank.tolist() == [False]
    assert (result.fields.get_column(KIND) == REQUEST).all()
    ua = result.fields.get_column("user_agent")[0]
    assert ua.endswith("(Docker-Client/20.10.7 \\(linux\\))")


_field = st.text(alphabet=st.sampled_from(list(' "\\-/?#:,.abcAZ09\tx[]é')), max_size=12)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, len(PLAIN) - 1), _field, st.integers(0, 3)),
        min_size=1,
        max_size=8,
    )
)
def test_mutated_lines_match_the_regex_parser(edits: list[tuple[int, str, int]]) -> None:
    # Each line is PLAIN with a few characters replaced: near-misses of the plain shape.
    lines = []
    for i in range(_FAST_MIN_LINES):
        pos, text, cut = edits[i % len(edits)]
        lines.append(PLAIN[:pos] + text + PLAIN[pos + cut :] if i % 2 else PLAIN)
    for fmt in (nginx_timing, combined):
        fast, regex = both(fmt, lines)
        assert_frame_equal(fast, regex)


# ---------------------------------------------------------------- the chunk's raw bytes


def _bytes_parity(fmt, data: bytes) -> LineChunk:  # type: ignore[no-untyped-def]
    """Parse ``data`` from its raw bytes and, as reference, its decoded lines with the
    regexes alone; the frames must be equal. Routes the scanner gave (every request row
    was its own) must be those the expressions find in the regexes' rows."""
    chunk = LineChunk(data)
    fast = as_parsed(fmt.parse_chunk(chunk, ParseState("t")))
    regex = fmt._parse_regex(LineChunk(data).lines)
    if "endpoint" in fast.columns:
        regex = _routes(regex)
    assert_frame_equal(fast, as_parsed(regex.select(fast.columns)))
    return chunk


@pytest.fixture(scope="module")
def simulated_timing(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    out = tmp_path_factory.mktemp("sim")
    simulate("storage_latency", out, seed=7, log_format="nginx_timing", hours=1, rate=3.0)
    return b"".join(p.read_bytes() for p in sorted((out / "logs").glob("*.log")))


@pytest.mark.parametrize("fmt", [nginx_timing, combined], ids=lambda f: f.name)
def test_simulated_nginx_timing_lines_match_the_regex_parser(fmt, simulated_timing: bytes) -> None:  # type: ignore[no-untyped-def]
    chunk = _bytes_parity(fmt, simulated_timing)
    if fmt is nginx_timing:
        result = parse_fast(chunk.bytes_view, timing=True)
        assert result is not None
        assert len(result.rows) > 0.95 * chunk.n_lines  # the fast path did the work


@pytest.mark.parametrize("fmt", [nginx_timing, combined], ids=lambda f: f.name)
def test_real_apache_lines_match_the_regex_parser(fmt, real_apache: Path) -> None:  # type: ignore[no-untyped-def]
    chunk = _bytes_parity(fmt, real_apache.read_bytes())
    if fmt is combined:
        result = parse_fast(chunk.bytes_view, timing=False)
        assert result is not None
        assert len(result.rows) > 0.9 * chunk.n_lines


@pytest.mark.parametrize("fmt", [nginx_timing, combined], ids=lambda f: f.name)
def test_mixed_utf8_chunk_gives_the_frame_and_counts_of_its_decoded_lines(fmt) -> None:  # type: ignore[no-untyped-def]
    plain = PLAIN.encode()
    if fmt is combined:
        plain = plain[: plain.rindex(b'"') + 1]
    odd = [
        plain.replace(b"docker", b"d\xc3\xa9cker"),  # valid UTF-8, not ASCII
        plain.replace(b"docker", b"d\xe9cker"),  # invalid UTF-8
        plain.replace(b"docker", b"d\xef\xbf\xbdcker"),  # a literal U+FFFD
        plain + b"\r",  # CRLF
        plain.replace(b"HTTP/1.1", b"HTTP/1.1\r"),  # a CR inside the line
        plain + b"\r\r",
        b"\x00" + plain,
        b"",
        b"\r",
        plain[:90],
    ]
    lines = [plain] * _FAST_MIN_LINES
    for i, line in enumerate(odd):
        lines.insert(3 * i + 1, line)
    data = b"\n".join(lines) + b"\n"
    lazy = LineChunk(data)
    parsed = as_parsed(fmt.parse_chunk(lazy, ParseState("t")))
    eager = LineChunk(data)
    expected = as_parsed(fmt._parse_regex(eager.lines))
    assert_frame_equal(parsed, expected)
    assert (parsed.get_column(KIND) == REQUEST).sum() > _FAST_MIN_LINES
    assert "_decoded" not in lazy.__dict__  # only the odd lines were decoded
    assert lazy.invalid_utf8 == eager.invalid_utf8 == 2
    assert lazy.n_lines == eager.n_lines == len(lines)
    malformed = (parsed.get_column(KIND) == MALFORMED).arg_true().to_numpy()
    assert len(malformed) > 0
    assert lazy.take(malformed).to_list() == eager.lines.gather(malformed).to_list()


@given(
    st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2200, 12, 30)),
    st.integers(-(23 * 60 + 59), 23 * 60 + 59),
)
def test_clf_time_matches_datetime(moment: datetime, offset_minutes: int) -> None:
    zone = timezone(timedelta(minutes=offset_minutes))
    local = moment.replace(microsecond=0, tzinfo=zone)
    text = local.strftime("%d/%b/%Y:%H:%M:%S %z").encode()
    buf = np.frombuffer(text + bytes(16), np.uint8)
    micros, ok = _clf_time(buf, np.array([0]))
    assert ok[0]
    assert micros[0] == int(local.timestamp()) * 1_000_000


RETRIES = [
    ("10.0.0.1:5000, 10.0.0.2:5000", "0.001, 0.013", True),
    ("a:1, b:2, c:3", "-, 0.5, 1", True),
    ("a:1, -", "0.1, -", True),
    ("a:1 : b:2", "0.1 : 0.2", False),  # nginx's internal-redirect separator: the regexes
    ("a:1,, b:2", "0.1, 0.2", False),
    ("a:1, b:2,", "0.1, 0.2", False),
    ("a:1, b:2", "0.1, 0.2,", False),
    ("a:1, b:2", "0.1,, 0.2", False),
    ("a:1,b:2", "0.1, 0.2", False),
    ("a:1, b:2", "0.1 0.2", False),
    ("a:1, b:2", "0.1, 0.2 extra", False),
    ("a:1, b:2", "0.1, 1234567890123456", False),  # too many digits to convert exactly
]


def test_retried_upstreams_take_the_fast_path_and_match_the_regex_parser() -> None:
    lines = [
        PLAIN.replace("10.1.122.245:5000 0.014", f"{addresses} {times}")
        for addresses, times, _ in RETRIES
    ]
    lines = lines * (_FAST_MIN_LINES // len(lines) + 1)
    fast, regex = both(nginx_timing, lines)
    assert_frame_equal(fast, regex)
    result = parse_fast(series_bytes(pl.Series(lines)), timing=True)
    assert result is not None
    taken = {i % len(RETRIES) for i in result.rows.tolist()}
    assert taken == {i for i, (_, _, fast_path) in enumerate(RETRIES) if fast_path}
    upstreams = fast.get_column("upstream").head(3).to_list()
    assert upstreams == ["10.0.0.2:5000", "c:3", None]


# ---------------------------------------------------------- compiled vs numpy, directly


def _same_result(view) -> None:  # type: ignore[no-untyped-def]
    if _clf_fast._scanner is None:
        return  # the numpy run of the module
    compiled = parse_fast(view, timing=True, compiled=True)
    reference = parse_fast(view, timing=True, compiled=False)
    assert compiled is not None and reference is not None
    assert compiled.rows.tolist() == reference.rows.tolist()
    assert compiled.unmatched.tolist() == reference.unmatched.tolist()
    assert compiled.blank.tolist() == reference.blank.tolist()
    assert_frame_equal(compiled.fields, reference.fields)
    # The routes the scanner works out are the expressions' (derive's reference).
    routed = parse_fast(view, timing=True, compiled=True, routes=True)
    assert routed is not None and routed.routes is not None and reference.routes is None
    assert_frame_equal(routed.fields, compiled.fields)
    want = _routes(compiled.fields.select("path", "method")).select(ROUTE_FIELDS)
    assert_frame_equal(routed.routes, want)
    # Skipped strings come out null; the lines taken and every other field are the same.
    for skip in ([c] for c in STRING_COLUMNS):
        part = parse_fast(view, timing=True, compiled=True, skip=skip)
        assert part is not None and part.rows.tolist() == compiled.rows.tolist()
        assert_frame_equal(part.fields.drop(skip), compiled.fields.drop(skip))
        assert part.fields.get_column(skip[0]).null_count() == part.fields.height
    for timing in (True, False):
        a = parse_fast(view, timing=timing, compiled=True)
        b = parse_fast(view, timing=timing, compiled=False)
        assert a is not None and b is not None
        assert a.rows.tolist() == b.rows.tolist()
        assert_frame_equal(a.fields, b.fields)


_byte = st.sampled_from(list(b' "\\-/?#:,.[]+0123456789aAxXzZ\t\x00\x7f\xc3\xa9'))


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, len(PLAIN) + 2), st.lists(_byte, max_size=6), st.integers(0, 4)),
        min_size=1,
        max_size=12,
    )
)
def test_compiled_scanner_matches_the_numpy_reference(
    edits: list[tuple[int, list[int], int]],
) -> None:
    plain = PLAIN.encode()
    lines = [plain[:pos] + bytes(text) + plain[pos + cut :] for pos, text, cut in edits]
    lines += [PLAIN.replace(" 0.022 10.1.122.245:5000 0.014", "").encode()] * 2
    _same_result(series_bytes(pl.Series([x.decode("utf-8", "replace") for x in lines])))
    _same_result(LineChunk(b"\n".join(lines) + b"\n").bytes_view)


def test_compiled_scanner_matches_on_tricky_simulated_and_real_lines(
    simulated_timing: bytes, real_apache: Path
) -> None:
    _same_result(LineChunk(simulated_timing).bytes_view)
    _same_result(LineChunk("\n".join([*TRICKY, PLAIN]).encode() + b"\n").bytes_view)
    _same_result(LineChunk(real_apache.read_bytes()).bytes_view)


def test_scanner_refuses_to_skip_what_it_does_not_give() -> None:
    if _clf_fast._scanner is None:
        pytest.skip("the numpy run of the module")
    view = LineChunk((PLAIN + "\n").encode()).bytes_view
    with pytest.raises(ValueError, match="cannot skip"):
        parse_fast(view, timing=True, compiled=True, skip=["status"])


def test_compiled_scanner_refuses_bounds_outside_its_buffers() -> None:
    scanner = _clf_fast._scanner
    if scanner is None:
        pytest.skip("the numpy run of the module")
    buf = np.zeros(40, np.uint8)
    n = 1

    def outputs(rows: int = n) -> list[np.ndarray]:
        # kind, rows, ts, status, bytes_sent, duration, views, valid, aux, redo
        return [
            np.empty(rows, np.uint8),
            np.empty(rows, np.int64),
            np.empty(rows, np.int64),
            np.empty(rows, np.int16),
            np.empty(rows, np.int64),
            np.empty(rows, np.float64),
            np.empty((5, rows, 16), np.uint8),
            np.zeros((6, (rows + 7) // 8), np.uint8),
            np.empty(len(buf), np.uint8),
            np.empty(rows, np.int64),
        ]

    starts, ends = np.array([0]), np.array([30])  # 30 + 16 > 40: past the padding
    with pytest.raises(ValueError, match="outside the buffer"):
        scanner.scan(buf, starts, ends, np.zeros(1, np.uint8), True, *outputs())
    with pytest.raises(ValueError, match="needs"):
        scanner.scan(
            buf, np.array([0, 1]), np.array([1, 2]), np.zeros(2, np.uint8), True, *outputs(1)
        )
    with pytest.raises(ValueError, match="differ"):
        scanner.scan(buf, np.array([0, 1]), np.array([1]), np.zeros(2, np.uint8), True, *outputs(2))
    # The route outputs come all three or not at all, each large enough.
    line = (np.array([0]), np.array([1]), np.zeros(1, np.uint8), True)
    endpoint, routes, route_valid = (
        np.empty((1, 16), np.uint8),
        np.empty((2, 1, 16), np.uint8),
        np.zeros((2, 1), np.uint8),
    )
    with pytest.raises(TypeError, match="go together"):
        scanner.scan(buf, *line, *outputs(), endpoint)
    with pytest.raises(TypeError, match="go together"):
        scanner.scan(buf, *line, *outputs(), endpoint, routes)
    with pytest.raises(ValueError, match="routes holds"):
        scanner.scan(buf, *line, *outputs(), endpoint, routes[:1], route_valid)
    assert scanner.scan(buf, *line, *outputs(), endpoint, routes, route_valid) == (0, 0)
