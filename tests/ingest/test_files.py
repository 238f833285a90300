"""Input files: path expansion, gzip by content, chunked line reading, unreadable inputs."""

from __future__ import annotations

import gzip
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from rca._errors import IngestError
from rca._progress import SILENT
from rca._schema import REQUESTS
from rca.ingest._files import (
    LineChunk,
    Scratch,
    _decode_lines,
    _last_newline,
    _line_bounds,
    arrow_series,
    detached,
    expand,
    head_text,
    is_gzip,
    is_parquet,
    iter_line_chunks,
    line_bounds,
    line_bounds_numpy,
    string_views_numpy,
    views_of,
)


def test_expand_file_folder_glob_and_list(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "deep").mkdir()
    for rel in ["a.log", "b/x.log", "b/deep/y.log.gz", "b/.hidden.log"]:
        (tmp_path / rel).write_text("x\n")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "config").write_text("x\n")

    assert expand(tmp_path / "a.log") == [tmp_path / "a.log"]
    assert expand(tmp_path) == [
        tmp_path / "a.log",
        tmp_path / "b" / "deep" / "y.log.gz",
        tmp_path / "b" / "x.log",
    ]
    assert expand(str(tmp_path / "b" / "*.log")) == [tmp_path / "b" / "x.log"]
    assert expand(str(tmp_path / "**" / "*.gz")) == [tmp_path / "b" / "deep" / "y.log.gz"]
    # A file named twice (directly and through its folder) is read once.
    assert expand([tmp_path / "b" / "x.log", tmp_path / "b"]) == [
        tmp_path / "b" / "x.log",
        tmp_path / "b" / "deep" / "y.log.gz",
    ]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p / "missing.log", "no such file or folder"),
        (lambda p: (p / "empty").mkdir() or p / "empty", "folder has no files"),
        (lambda p: str(p / "*.nothing"), "pattern matches no files"),
    ],
    ids=["missing", "empty-folder", "glob-no-match"],
)
def test_expand_errors_name_the_path(
    tmp_path: Path, make: Callable[[Path], Path | str], message: str
) -> None:
    target = make(tmp_path)
    with pytest.raises(IngestError, match=message) as info:
        expand(target)
    assert info.value.path == str(target)


def test_expand_nothing_given() -> None:
    with pytest.raises(IngestError, match="no input paths given"):
        expand([])


def test_symlink_loop_given_directly_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    with pytest.raises(IngestError, match="not a regular file or folder"):
        expand(tmp_path / "a")


def test_folder_with_symlink_loops_and_fifo_lists_only_regular_files(tmp_path: Path) -> None:
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    (tmp_path / "up").symlink_to(tmp_path)  # a folder loop: not followed
    os.mkfifo(tmp_path / "pipe")  # reading it would block forever
    (tmp_path / "real.log").write_text("x\n")
    assert expand(tmp_path) == [tmp_path / "real.log"]


def test_gzip_is_recognised_by_content_not_name(write_log: Callable[..., Path]) -> None:
    disguised = write_log("plain-name.log", ["hello", "world"], gz=True)
    plain = write_log("fake.gz", ["hello", "world"])
    assert is_gzip(disguised) and not is_gzip(plain)
    assert head_text(disguised) == head_text(plain) == "hello\nworld\n"
    assert not is_parquet(plain)


def test_corrupt_gzip_is_a_clear_error(tmp_path: Path) -> None:
    data = gzip.compress(b"line\n" * 100_000)
    path = tmp_path / "torn.log.gz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(IngestError, match="corrupt or truncated gzip") as info:
        list(iter_line_chunks(path))
    assert info.value.path == str(path)


def test_permission_denied_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "secret.log"
    path.write_text("x\n")
    # chmod 000 does not stop root, so simulate the kernel's answer.
    monkeypatch.setattr(os, "access", lambda p, mode: False)
    with pytest.raises(IngestError, match="permission denied"):
        head_text(path)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_permission_denied_for_real(tmp_path: Path) -> None:
    path = tmp_path / "secret.log"
    path.write_text("x\n")
    path.chmod(0)
    with pytest.raises(IngestError, match="permission denied"):
        list(iter_line_chunks(path))


def _lines(path: Path, chunk_bytes: int) -> tuple[list[str], int]:
    chunks = list(iter_line_chunks(path, chunk_bytes))
    lines = pl.concat([c.lines for c in chunks]).to_list() if chunks else []
    return lines, sum(c.invalid_utf8 for c in chunks)


def test_torn_last_line_crlf_blank_lines_and_bad_utf8(tmp_path: Path) -> None:
    path = tmp_path / "x.log"
    path.write_bytes(b"one\r\n\r\n\ntwo \xff\xfe end\nthree-torn")
    lines, invalid = _lines(path, 1 << 20)
    assert lines == ["one", "", "", "two \ufffd\ufffd end", "three-torn"]
    assert invalid == 1


# Data starting with the gzip magic is (rightly) read as gzip: covered above.
@given(
    st.binary(max_size=300).filter(lambda b: not b.startswith(b"\x1f\x8b")),
    st.integers(min_value=1, max_value=64),
)
@example(b"", 1)
@example(b"\n", 1)
@example(b"a\nb", 1)
def test_chunking_never_changes_the_lines(
    tmp_path_factory: pytest.TempPathFactory, data: bytes, chunk: int
) -> None:
    path = tmp_path_factory.mktemp("chunks") / "x.log"
    path.write_bytes(data)
    small, invalid_small = _lines(path, chunk)
    whole, invalid_whole = _lines(path, 1 << 20)
    assert small == whole
    assert invalid_small == invalid_whole
    expected = data.split(b"\n")
    if data.endswith(b"\n") or not data:
        expected = expected[:-1]
    assert len(whole) == len(expected)


_PIECES = [
    b"a",
    b" ",
    b'"',
    b"\n",
    b"\r",
    b"\r\n",
    b"\x00",
    b"\xff",
    b"\xc3\xa9",
    b"\xc3",
    b"\xef\xbf\xbd",
]


@given(st.lists(st.sampled_from(_PIECES), max_size=40))
@example([b"\r", b"\n", b"\r", b"\r", b"\n", b"\xc3", b"\n"])
def test_chunk_bytes_agree_with_its_decoded_lines(pieces: list[bytes]) -> None:
    data = b"".join(pieces) + b"\n"
    eager = LineChunk(data)
    lines = eager.lines.to_list()
    lazy = LineChunk(data)
    # Counting invalid lines from the bytes gives the count decoding the chunk gives.
    assert lazy.invalid_utf8 == eager.invalid_utf8
    view = lazy.bytes_view
    assert lazy.n_lines == eager.n_lines == len(view.starts) == len(lines)
    odd = set(view.line_of(view.unusual).tolist())
    for i, line in enumerate(lines):
        raw = data[view.starts[i] : view.ends[i]]
        # Printable-ASCII lines are their bytes; the others hold an unusual byte.
        assert (i in odd) == any(b < 32 or b > 126 for b in raw)
        if i not in odd:
            assert raw.decode() == line
    rows = np.arange(len(lines))
    assert lazy.take(rows).to_list() == lines
    assert lazy.take(rows[1::2]).to_list() == lines[1::2]
    assert lazy.take(rows[:0]).to_list() == []
    assert "_decoded" not in lazy.__dict__


@given(
    st.lists(
        st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"")),
        min_size=1,
        max_size=30,
    ).map(lambda lines: b"\n".join(lines) + b"\n")
)
@example(b"a\r\n\r\n\xc3\xa9\n\xff\xfe\r\n\xef\xbf\xbd\nplain line longer than twelve bytes\n")
@example(b"\xc3\xa9 only valid utf-8\n\r\n")
def test_chunk_lines_as_views_equal_the_decoded_text(data: bytes) -> None:
    # Lines are String views into the chunk, with only non-ASCII lines decoded; the
    # reference decodes and splits the whole chunk.
    expected, invalid = _decode_lines(data)
    chunk = LineChunk(data)
    assert chunk.lines.to_list() == expected.to_list()
    assert chunk.invalid_utf8 == invalid
    assert LineChunk(data).invalid_utf8 == invalid  # counted without decoding the lines


@given(
    st.lists(
        st.sampled_from(["plain", "", "é ünïcode", "tab\there", "cr\r", "\ufffd"]), min_size=1
    ),
    st.booleans(),
)
def test_small_texts_split_like_the_native_split(lines: list[str], strip_cr: bool) -> None:
    # Short texts are split by Python, long ones by Arrow: the same lines either way.
    data = ("\n".join(lines) + "\n").encode()
    small, invalid = _decode_lines(data, strip_cr=strip_cr)
    big, big_invalid = _decode_lines(data * (2**21 // len(data) + 1), strip_cr=strip_cr)
    assert small.name == big.name == "line"
    assert big.to_list()[: len(lines)] == small.to_list()
    assert big.len() % len(lines) == 0
    assert (invalid, big_invalid) == (0, 0)


def test_arrow_series_is_named_and_keeps_the_buffers_and_nulls() -> None:
    import pyarrow as pa

    values = np.array([1.5, 2.5, 3.5], np.float64)
    valid = np.packbits(np.array([1, 0, 1], bool), bitorder="little")
    arr = pa.Array.from_buffers(pa.float64(), 3, [pa.py_buffer(valid), pa.py_buffer(values)])
    series = arrow_series("d", arr)
    assert series.name == "d"
    assert series.to_list() == [1.5, None, 3.5]
    values[2] = 9.0  # no copy: the Series reads the same memory
    assert series[2] == 9.0


_KERNEL = pytest.mark.skipif(_line_bounds is None, reason="the C extensions are not built")


def _same_bounds(data: bytes) -> None:
    raw = np.frombuffer(data, np.uint8)
    for got, want in zip(line_bounds(raw), line_bounds_numpy(raw), strict=True):
        assert got.dtype == want.dtype
        assert got.tolist() == want.tolist()


@_KERNEL
@given(st.lists(st.sampled_from([*_PIECES, b"12345678", b"\x7f", b"~ ", b"\x1f"]), max_size=60))
@example([b"\r", b"\r", b"\n"])
@example([b"12345678", b"\r\n", b"12345678", b"\x7f", b"\n"])
def test_compiled_line_bounds_equal_the_numpy_reference(pieces: list[bytes]) -> None:
    # Pieces of 8 bytes put unusual bytes on both sides of the kernel's word boundaries.
    _same_bounds(b"".join(pieces) + b"\n")


@_KERNEL
def test_compiled_line_bounds_on_real_logs(real_apache: Path) -> None:
    files = sorted(p for p in real_apache.parent.glob("*") if p.is_file() and not is_gzip(p))
    for path in files:
        data = path.read_bytes()
        if not data.endswith(b"\n"):
            data += b"\n"
        _same_bounds(data)
        # Every byte class at every offset of a word: the file shifted by 1..7 bytes.
        for shift in range(1, 8):
            _same_bounds(b"x" * shift + data[: 1 << 16] + b"\n")


@_KERNEL
def test_compiled_line_bounds_refuse_wrong_output_sizes() -> None:
    raw = np.frombuffer(b"a\nb\xff\n", np.uint8)
    lines, others = _line_bounds.count(raw)
    assert (lines, others) == (2, 1)
    short = np.empty(1, np.int64)
    # Too small: None, nothing written past the arrays (the caller counts and retries).
    assert _line_bounds.fill(raw, short, short.copy(), np.empty(1, np.int64)) is None
    assert _line_bounds.fill(raw, np.empty(2, np.int64), np.empty(2, np.int64), short) == (2, 1)
    assert _line_bounds.fill(raw, *(np.empty(2, np.int64) for _ in range(2)), short[:0]) is None
    with pytest.raises(ValueError, match="do not match"):
        _line_bounds.fill(raw, np.empty(2, np.int64), np.empty(3, np.int64), short)


@_KERNEL
def test_short_lines_take_the_counting_walk() -> None:
    # Lines far shorter than line_bounds' guess of 128 bytes: the first walk overflows.
    raw = np.frombuffer(b"a\n" * 5000 + b"\xff\n" * 3000, np.uint8)
    for got, want in zip(line_bounds(raw), line_bounds_numpy(raw), strict=True):
        assert got.tolist() == want.tolist()


@_KERNEL
@given(
    st.binary(min_size=1, max_size=80), st.lists(st.tuples(st.integers(0, 80), st.integers(0, 30)))
)
def test_compiled_string_views_equal_the_numpy_reference(
    text: bytes, spans: list[tuple[int, int]]
) -> None:
    # Every length around the 12-byte inline limit, at every offset of the buffer.
    buf = np.frombuffer(text + b"\0" * 16, np.uint8)
    bounds = [(a, min(a + k, len(text))) for a, k in spans if a <= len(text)]
    lo = np.array([a for a, _ in bounds], np.int64)
    hi = np.array([z for _, z in bounds], np.int64)
    got = np.empty((len(lo), 2), np.uint64)
    _line_bounds.views(buf, lo, hi, got)
    assert got.tolist() == string_views_numpy(buf, lo, hi).tolist()


@_KERNEL
def test_compiled_string_views_refuse_rows_outside_the_buffer() -> None:
    buf = np.zeros(20, np.uint8)
    out = np.empty((1, 2), np.uint64)
    for lo, hi in [(-1, 2), (5, 4), (0, 21)]:
        with pytest.raises(ValueError, match="outside the buffer"):
            _line_bounds.views(buf, np.array([lo]), np.array([hi]), out)
    with pytest.raises(ValueError, match="do not match"):
        _line_bounds.views(buf, np.array([0, 1]), np.array([1, 2]), out)


@_KERNEL
@given(
    st.lists(st.one_of(st.none(), st.text(max_size=30)), min_size=1, max_size=40),
    st.integers(0, 5),
)
@example(["a" * 13, None, "é" * 7, "short", "b" * 12], 1)
def test_detached_columns_keep_their_values(values: list[str | None], cut: int) -> None:
    # A big unused buffer beside the values forces the copy; sliced and multi-chunk inputs
    # give views at an offset and several data buffers.
    text = pl.Series("t", [*values, "x" * 200_000], pl.String).head(len(values))
    text = pl.concat([text, text.slice(min(cut, len(values) - 1))], rechunk=False)
    got = detached(text)
    assert got.name == "t"
    assert got.to_list() == text.to_list()


@_KERNEL
def test_compiled_detach_refuses_views_outside_their_buffers_and_wrong_sizes() -> None:
    view = np.zeros((1, 16), np.uint8)
    view[0, :4] = np.frombuffer(np.uint32(100).tobytes(), np.uint8)  # 100 bytes at offset 0
    present, out = np.ones(1, np.uint8), np.empty((1, 16), np.uint8)
    with pytest.raises(ValueError, match="do not match their buffers"):
        _line_bounds.detach(view, [b"short"], present, out, np.empty(100, np.uint8))
    with pytest.raises(ValueError, match="do not match their buffers"):
        _line_bounds.detach(view, [b"x" * 100], present, out, np.empty(99, np.uint8))
    with pytest.raises(ValueError, match="sizes do not match"):
        _line_bounds.detach(view, [b"x" * 100], present[:0], out, np.empty(100, np.uint8))
    _line_bounds.detach(view, [b"x" * 100], present, out, data := np.empty(100, np.uint8))
    assert data.tobytes() == b"x" * 100


@_KERNEL
def test_long_bytes_sums_the_long_views_per_buffer() -> None:
    column = pl.concat(
        [pl.Series(["a" * 20, None, "b" * 12, "c" * 13]), pl.Series(["d" * 40, "e" * 5])],
        rechunk=False,
    ).rechunk()
    views, data = views_of(column)
    counts = np.zeros(len(data), np.int64)
    present = column.is_not_null().to_numpy().view(np.uint8)
    _line_bounds.long_bytes(views, present, counts)
    assert int(counts.sum()) == 20 + 13 + 40
    with pytest.raises(ValueError, match="past its buffers"):
        _line_bounds.long_bytes(views, present, np.zeros(0, np.int64))
    with pytest.raises(ValueError, match="sizes do not match"):
        _line_bounds.long_bytes(views, present[:1], counts)


@pytest.fixture
def rooms(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Weak references to every chunk buffer (room) read from now on."""
    import weakref

    from rca.ingest import _files

    if _files._line_bounds is None:
        pytest.fail("the compiled line kernel was not built")
    rooms: list[weakref.ref[np.ndarray]] = []
    init = LineChunk.__init__

    def recording(
        self: LineChunk, data: bytes | memoryview, *, room: np.ndarray | None = None
    ) -> None:
        init(self, data, room=room)
        if room is not None:
            rooms.append(weakref.ref(room))

    monkeypatch.setattr(LineChunk, "__init__", recording)
    return rooms


@pytest.fixture
def chunked_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rooms: list[Any]
) -> tuple[Path, list[Any]]:
    """An nginx log parsed in small chunks (byte-level path, string views), and weak
    references to every chunk buffer it is cut into."""
    from rca.ingest import _logs

    agents = [f"containerd/1.{i}.0 go/go1.21 kernel/5.15.0-{i}-generic os/linux" for i in range(9)]
    lines = [
        f"203.0.113.{i % 250} - - [17/May/2015:10:05:{i % 60:02d} +0000] "
        f'"GET /v2/library/application{i % 7}/blobs/sha256:{i:064x} HTTP/1.1" 200 {i} "-" '
        f'"{agents[i % 9]}" 0.{i % 900:03d} 10.1.122.245:5000 0.001'
        for i in range(12_000)
    ]
    log = tmp_path / "access.log"
    log.write_text("\n".join(lines) + "\n")
    # Chunks well above detached's 64 KB of slack, so that copying pays.
    monkeypatch.setattr(_logs, "CHUNK_BYTES", 512 * 1024)
    return log, rooms


def _full_rooms_alive(rooms: list[Any]) -> int:
    """Chunk buffers still alive that are more than twice what the last (short) chunk
    needs: a short chunk's strings may stay in its own right-sized buffer."""
    return sum(1 for r in rooms if r() is not None and r().size > 2 * 90_000)


def test_parsed_rows_do_not_keep_their_chunks(chunked_log: tuple[Path, list[Any]]) -> None:
    """Kept requests hold copies of their strings, not the 16 MB buffers they were cut from
    (each chunk of 4M nginx lines kept alive cost 1 GB of the in-memory path's 2.9)."""
    import gc

    from rca.ingest import parse_logs

    log, rooms = chunked_log
    parsed = parse_logs(log)
    assert parsed.quality.get_column("format").to_list() == ["nginx_timing"]
    requests = parsed.requests
    gc.collect()
    assert len(rooms) > 5
    assert requests.height == 12_000
    assert _full_rooms_alive(rooms) == 0
    # And each distinct agent is stored once per chunk, not once per request.
    agent = requests.get_column("user_agent")
    assert agent.n_unique() == 9
    assert sum(b.size for b in views_of(agent)[1]) < 12_000 * 5


def test_small_files_do_not_each_keep_a_whole_chunk_buffer(
    tmp_path: Path, rooms: list[Any]
) -> None:
    """A file shorter than a chunk is read into a buffer of its own size: each small
    file's rows held a 16 MB buffer alive (300 files of 100 lines: 5 GB). The files are
    50 KB, past what format detection reads, so their lines are parsed from the chunk."""
    from rca.ingest import parse_logs

    text = "".join(
        f"203.0.113.{i} - - [17/May/2015:10:05:03 +0000] "
        f'"GET /v2/library/application/blobs/sha256:{i:064x} HTTP/1.1" 200 {i} "-" '
        f'"containerd/1.{i}.0 go/go1.21 kernel/5.15.0-{i}-generic os/linux" 0.002 '
        "10.1.122.245:5000 0.001\n"
        for i in range(200)
    )
    for k in range(20):
        (tmp_path / f"access-{k:02d}.log").write_text(text)
    requests = parse_logs(tmp_path).requests
    assert requests.height == 4000
    assert len(rooms) == 20
    alive = [r() for r in rooms if r() is not None]
    assert all(a.size <= len(text) + 16 for a in alive), [a.size for a in alive]


def test_kept_columns_alone_are_filled_and_do_not_keep_their_chunks(
    chunked_log: tuple[Path, list[Any]],
) -> None:
    """rca analyze's scratch copy keeps some columns (the others null). The path is then
    not copied out of its chunk, but the substrings cut from it (the repository) are."""
    import gc

    from rca.ingest import _logs, parse_logs

    log, rooms = chunked_log
    keep = frozenset({"ts", "status", "repository", "namespace"})
    whole = parse_logs(log).requests
    items = list(_logs._stream(_logs._inputs(log), None, SILENT, keep))
    requests = pl.concat([f for f in items if isinstance(f, pl.DataFrame)])
    del items
    for column, dtype in REQUESTS.items():
        nulls = pl.Series(column, [None] * whole.height, dtype)
        assert requests[column].equals(whole[column] if column in keep else nulls), column
    assert requests["repository"].str.len_bytes().min() > 12  # not inline: views
    del whole
    gc.collect()
    assert len(rooms) > 5
    assert _full_rooms_alive(rooms) == 0


@given(
    st.lists(st.sampled_from([b"\n", b"x", b"\xff"]), max_size=40),
    st.sampled_from([0, 1, 70_000, 300_000]),
    st.sampled_from([0, 1, 70_000]),
)
@example([b"\n"], 0, 0)
def test_last_newline_is_bytes_rfind(pieces: list[bytes], pad: int, tail: int) -> None:
    # Long runs without a newline on either side make the search cross its windows.
    data = b"y" * pad + b"".join(pieces) + b"z" * tail
    room = np.frombuffer(data + b"\0" * 16, np.uint8)
    assert _last_newline(room, len(data)) == data.rfind(b"\n")


def _numbered_lines(tmp_path: Path) -> tuple[Path, list[str]]:
    lines = [f"{i:06d} {'x' * (i % 50)}" for i in range(20_000)]
    path = tmp_path / "numbered.log"
    path.write_text("".join(f"{line}\n" for line in lines))
    return path, lines


def test_chunk_rooms_in_use_are_never_reused(tmp_path: Path) -> None:
    # Each chunk's lines are string views into its room: kept, they keep their rooms, which
    # a later read must not overwrite.
    path, lines = _numbered_lines(tmp_path)
    kept = [chunk.lines for chunk in iter_line_chunks(path, 4096)]
    assert len(kept) > 100
    assert pl.concat(kept).to_list() == lines


def test_chunk_rooms_are_reused_once_nothing_reads_them(tmp_path: Path) -> None:
    path, lines = _numbered_lines(tmp_path)
    addresses, got = set(), []
    for chunk in iter_line_chunks(path, 4096):
        if chunk._room is not None:
            addresses.add(chunk._room.__array_interface__["data"][0])
        got.extend(chunk.lines.to_list())  # copied out: the chunk is dropped after
    assert got == lines
    assert len(addresses) <= 3  # the generator's, the loop's, and one free


def test_scratch_arrays_are_reused_only_once_nothing_refers_to_them() -> None:
    import threading

    import pyarrow as pa

    scratch = Scratch()
    first = scratch.take("views", 64)
    first[:] = 7
    column = pa.py_buffer(first[:32])  # a column over the array, as view_series makes
    del first
    second = scratch.take("views", 64)
    second[:] = 1
    assert bytes(column) == bytes([7] * 32)  # not handed out again: the column reads it
    del column
    at = second.ctypes.data
    del second
    third = scratch.take("views", 48)  # free now, and large enough: the same memory
    assert third.ctypes.data == at and third.nbytes == 48
    del third
    assert scratch.take("views", 128).nbytes == 128  # too small: a new array
    taken: list[np.ndarray] = []
    worker = threading.Thread(target=lambda: taken.append(Scratch.take(scratch, "views", 128)))
    worker.start()
    worker.join()
    assert taken[0].ctypes.data != scratch.held["views"].ctypes.data  # a pool per thread
