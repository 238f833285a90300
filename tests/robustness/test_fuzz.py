"""Fuzzing the readers: ``read_logs`` / ``read_metrics`` (and ``parse_*`` for the counts),
with ``format="auto"`` and with every explicit format, on hostile bytes.

Inputs: arbitrary bytes; real-shaped lines (``corpus/seeds``) with fields replaced by
hostile values; NUL bytes; invalid UTF-8; mixed ``\\n`` / ``\\r\\n`` / ``\\r`` endings;
a 10 MB line. The invariants (issue 7):

* nothing escapes but an :class:`~rca.RCAError` subclass;
* every line is counted: ``lines == records + malformed + other``, and for logs ``lines``
  is the number of newline-terminated lines in the file (a last line without a newline
  counts too), so nothing is lost.

The coverage-guided counterpart is ``test_atheris.py``; the long run is
``benchmarks/fuzz.py``.
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from rca import read_logs, read_metrics
from rca._errors import RCAError
from rca._schema import METRICS, REQUESTS
from rca.ingest import parse_logs, parse_metrics
from rca.ingest.formats import all_formats
from rca.ingest.metrics import METRIC_FORMATS
from tests.robustness.conftest import LOG_SEEDS, METRIC_SEEDS, assert_reconciles

LOG_FORMATS = ("auto", *(f.name for f in all_formats()))
METRICS_FORMATS = ("auto", *METRIC_FORMATS)

#: Field values that have broken parsers elsewhere: overflow, NaN, empty, escapes,
#: markup, terminal escapes, impossible dates, separators, unit soup.
HOSTILE = [
    "", "-", "0", "-1", "99999999999999999999999", "1e308", "-1e308", "1e29", "NaN", "inf",
    "-inf", "\x00", "\x1b[31m", "\x1b]8;;http://evil\x07", "%", "%zz", "%00", "\ufffd",
    "<script>alert(1)</script>", "[x](javascript:alert(1))", '"', "\\", '\\"', "{", "[",
    "0000-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "2021-02-30T25:61:61Z",
    "01/Jan/0001:00:00:00 +0000", "31/Dec/9999:23:59:59 +9999", "+9999",
    "-9223372036854775809", "18446744073709551616", "1622278800000000000000",
    "\t", "\r", "\u2028", "\u202e", "1m1h", "9999999h", "-5ms", "µs", "true", "null",
    "[]", "{}", "::", "\x85", "x" * 3000,
]  # fmt: skip
_TOKEN = re.compile(r'[^ \t",:\[\]{}=()]+')
_ENDINGS = ("\n", "\r\n", "\r")

# Kept small for CI (the suite's budget is ~2 minutes); benchmarks/fuzz.py runs long.
FUZZ = settings(
    max_examples=int(os.environ.get("RCA_FUZZ_EXAMPLES", "20")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def _mutate(line: str, picks: list[tuple[int, str]]) -> str:
    for where, value in picks:
        tokens = list(_TOKEN.finditer(line))
        if not tokens:
            break
        m = tokens[where % len(tokens)]
        line = line[: m.start()] + value + line[m.end() :]
    return line


@st.composite
def mutated_file(draw: st.DrawFn, seeds: dict[str, Path]) -> tuple[str, bytes]:
    """(seed format, bytes): a seed file's lines, some with fields replaced by hostile
    values, joined with mixed line endings, maybe with NULs and invalid UTF-8 spliced in."""
    name = draw(st.sampled_from(sorted(seeds)))
    lines = seeds[name].read_text(encoding="utf-8").splitlines()
    value = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=20))
    out = []
    for line in lines:
        if draw(st.booleans()):
            picks = draw(st.lists(st.tuples(st.integers(0, 200), value), max_size=3))
            line = _mutate(line, picks)
        if draw(st.integers(0, 9)) == 0:
            cut = draw(st.integers(0, len(line)))
            line = line[:cut]  # torn
        out.append(line + draw(st.sampled_from(_ENDINGS)))
    data = "".join(out).encode("utf-8", "surrogatepass")
    for raw in draw(st.lists(st.sampled_from([b"\x00", b"\xff\xfe", b"\xc3", b"\xed\xa0\x80"]))):
        at = draw(st.integers(0, len(data)))
        data = data[:at] + raw + data[at:]
    if not draw(st.booleans()):
        data = data.rstrip(b"\n")  # a last line without a newline
    return name, data


def _lines_in(data: bytes) -> int:
    """Lines as a reader must count them: newline-terminated, plus an unterminated tail."""
    return data.count(b"\n") + (bool(data) and not data.endswith(b"\n"))


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    # Arbitrary bytes must not be a gzip stream by accident (that is the broken-file suite).
    path.write_bytes(data[2:] if data.startswith(b"\x1f\x8b") else data)
    return path


def check_logs(path: Path, formats: tuple[str, ...] = LOG_FORMATS) -> None:
    """The log-reader invariants for one file, under every format."""
    expected_lines = _lines_in(path.read_bytes())
    for fmt in formats:
        try:
            parsed = parse_logs(path, format=fmt)
        except RCAError:
            continue
        assert_reconciles(parsed.quality)
        assert int(parsed.quality["lines"].sum()) == expected_lines, fmt
        assert parsed.requests.height == int(parsed.quality["records"].sum())
        assert parsed.requests.schema == pl.Schema(REQUESTS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # damage is reported by a DataQualityWarning
        try:
            frame = read_logs(path).collect()
        except RCAError:
            return
    assert frame.schema == pl.Schema(REQUESTS)


def check_metrics(path: Path, formats: tuple[str, ...] = METRICS_FORMATS) -> None:
    """The metrics-reader invariants for one file, under every format."""
    for fmt in formats:
        try:
            parsed = parse_metrics(path, format=fmt)
        except RCAError:
            continue
        assert_reconciles(parsed.quality)
        assert parsed.metrics.height == int(parsed.quality["records"].sum())
        assert parsed.metrics.schema == pl.Schema(METRICS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            frame = read_metrics(path)
        except RCAError:
            return
    assert frame.schema == pl.Schema(METRICS)


# --- Hypothesis ----------------------------------------------------------------------------


@FUZZ
@given(case=mutated_file(LOG_SEEDS))
def test_mutated_log_lines_only_raise_rca_errors_and_count_every_line(
    tmp_path: Path, case: tuple[str, bytes]
) -> None:
    name, data = case
    check_logs(_write(tmp_path, f"{name}.log", data))


@FUZZ
@given(case=mutated_file(METRIC_SEEDS))
def test_mutated_metrics_only_raise_rca_errors_and_reconcile(
    tmp_path: Path, case: tuple[str, bytes]
) -> None:
    name, data = case
    check_metrics(_write(tmp_path, f"{name}{METRIC_SEEDS[name].suffix}", data))


@settings(FUZZ, max_examples=max(10, FUZZ.max_examples // 2))
@given(data=st.binary(max_size=2000))
@example(data=b"\x00" * 100)
@example(data=b"\r\r\r\n\n\r")
@example(data=b"\xff\xfe\xfd\n" * 3)
@example(data=b"#Fields: date time\n\x00\t\x00\n")
@example(
    data=b'{"status":"success","data":{"resultType":"matrix","result":[{"values":[[1e400,"1"]]}]}}'
)
def test_random_bytes_only_raise_rca_errors(tmp_path: Path, data: bytes) -> None:
    path = _write(tmp_path, "random.dat", data)
    check_logs(path)
    check_metrics(path)


# --- fixed hostile shapes ------------------------------------------------------------------

TEN_MB = 10 * 1024 * 1024


@pytest.mark.parametrize("name", sorted(LOG_SEEDS))
def test_a_10mb_line_is_one_malformed_or_parsed_line(tmp_path: Path, name: str) -> None:
    lines = LOG_SEEDS[name].read_text(encoding="utf-8").splitlines()
    huge = lines[-1][:40] + "A" * TEN_MB + lines[-1][40:]
    path = tmp_path / f"{name}.log"
    path.write_text("\n".join([*lines[:-1], huge, lines[-1]]) + "\n", encoding="utf-8")
    parsed = parse_logs(path)  # auto: detection must still find the format
    row = parsed.quality.row(0, named=True)
    assert row["format"] == name
    assert row["lines"] == len(lines) + 1
    assert_reconciles(parsed.quality)
    check_logs(path, formats=(name,))
    # A sample is the line's start and its length: the report and the JSON stay small.
    assert all(len(s) < 400 for s in row["samples"])
    if row["malformed"]:
        assert any(f"({len(huge):,} characters)" in s for s in row["samples"]), row["samples"]


@pytest.mark.parametrize("name", sorted(METRIC_SEEDS))
def test_a_10mb_line_in_a_metrics_file(tmp_path: Path, name: str) -> None:
    text = METRIC_SEEDS[name].read_text(encoding="utf-8")
    cut = len(text) // 2
    path = tmp_path / f"big{METRIC_SEEDS[name].suffix}"
    path.write_text(text[:cut] + "9" * TEN_MB + text[cut:], encoding="utf-8")
    check_metrics(path)


@pytest.mark.parametrize("name", sorted(LOG_SEEDS))
def test_nul_bytes_invalid_utf8_and_mixed_endings_keep_the_good_lines(
    tmp_path: Path, name: str
) -> None:
    lines = LOG_SEEDS[name].read_text(encoding="utf-8").splitlines()
    clean = tmp_path / "clean.log"
    clean.write_text("\n".join(lines) + "\n", encoding="utf-8")
    good = parse_logs(clean, format=name)
    # Same lines, each ending differently, plus three damaged lines between them.
    endings = [b"\r\n", b"\n"]
    damaged = [b"\x00" * 50, b"\xff\xfe broken \xc3(", b"\x00GET / HTTP/1.1\x00"]
    body = b""
    for i, line in enumerate(lines):
        body += line.encode() + endings[i % 2]
        if i < len(damaged):
            body += damaged[i] + b"\n"
    dirty = tmp_path / "dirty.log"
    dirty.write_bytes(body)
    parsed = parse_logs(dirty, format=name)
    assert_reconciles(parsed.quality)
    row = parsed.quality.row(0, named=True)
    assert row["lines"] == len(lines) + len(damaged)
    assert row["invalid_utf8"] >= 1
    # Every request of the clean file is still there, with the same fields.
    assert parsed.requests.height == good.requests.height
    assert_frame_equal(
        parsed.requests.drop("source"), good.requests.drop("source"), check_exact=True
    )
