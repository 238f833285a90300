"""Finding input files and reading them as chunks of lines, plain or gzip.

The first step of the data flow: user paths (files, folders, globs) become a sorted list of
files, and each file becomes a stream of chunks of whole lines for a parser (``LineChunk``:
the raw bytes, decoded to a ``pl.Series`` of lines only when a parser asks). Gzip is
recognised by its magic bytes, never by the file name.
"""

from __future__ import annotations

import functools
import glob
import gzip
import io
import os
import sys
import threading
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from rca._errors import IngestError
from rca.ingest._compiled import load

GZIP_MAGIC = b"\x1f\x8b"
PARQUET_MAGIC = b"PAR1"
CHUNK_BYTES = 16 * 1024 * 1024

PathsLike = str | os.PathLike[str] | Sequence[str | os.PathLike[str]]


def expand(paths: PathsLike) -> list[Path]:
    """Turn files, folders (searched recursively) and globs into a sorted list of files.

    Hidden files and folders (starting with ``.``) inside a folder are skipped; symlinked
    folders are not followed, so a symlink loop cannot hang the search.

    Raises
    ------
    IngestError
        A path does not exist, a glob matches nothing, or a folder holds no files.

    Examples
    --------
    >>> expand([])  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    rca._errors.IngestError: no input paths given
    """
    items: Iterable[str | os.PathLike[str]]
    items = [paths] if isinstance(paths, str | os.PathLike) else paths
    found: list[Path] = []
    for item in items:
        text = os.fspath(item)
        path = Path(text)
        if path.is_dir():
            files = _walk(path)
            if not files:
                raise IngestError(
                    "folder has no files; point --logs/--metrics at log files", path=path
                )
            found.extend(files)
        elif path.is_file():
            found.append(path)
        elif glob.has_magic(text):
            matches = sorted(_glob(text))
            files = [m for m in matches if m.is_file()]
            for m in matches:
                if m.is_dir():
                    files.extend(_walk(m))
            if not files:
                raise IngestError("pattern matches no files", path=text)
            found.extend(files)
        elif path.exists() or path.is_symlink():
            raise IngestError("not a regular file or folder (broken symlink?)", path=path)
        else:
            raise IngestError("no such file or folder", path=path)
    if not found:
        raise IngestError("no input paths given")
    # A file named twice (a folder and a glob over it, or a symlink to a folder next to
    # the folder itself) is read once: the same file under two paths counted its requests
    # twice. The first path seen names it.
    unique: dict[FileKey, Path] = {}
    for f in found:
        unique.setdefault(file_key(f), f)
    return list(unique.values())


#: What identifies a file whatever path reached it: (device, inode), or the resolved path.
FileKey = tuple[int, int] | str


def file_key(path: Path) -> FileKey:
    """The same key for every path to one file (symlinks, hard links, ``./a`` and ``/abs/a``).

    Examples
    --------
    >>> file_key(Path(__file__)) == file_key(Path(__file__).parent / ".." / "ingest" / "_files.py")
    True
    """
    try:
        st = path.stat()
    except OSError:
        return os.path.realpath(path)
    return (st.st_dev, st.st_ino)


#: Files up to this size are opened to check that they hold more than blank lines.
_SMALL_FILE = 64 * 1024


def check_not_empty(path: Path) -> None:
    """Stop on a log file named directly that holds nothing, naming it.

    Inside a folder an empty file is normal (a log rotated a moment ago) and is listed with
    format ``empty``; a file the user typed by name had better hold data, and the error
    must name it, not say that "the inputs" were empty. The CLI calls this for each
    ``--logs`` file named directly; the Python readers still read an empty file as an
    empty frame (their documented behaviour).

    Raises
    ------
    IngestError
        The file is 0 bytes, or (up to 64 kB) holds only blank lines once decompressed.
    """
    try:
        size = path.stat().st_size
    except OSError:
        return  # unreadable: reported by name when it is opened
    if size == 0:
        what = "is empty (0 bytes)"
    elif size <= _SMALL_FILE and os.access(path, os.R_OK) and not head_text(path).strip():
        what = "holds no text (only blank lines, or an empty gzip stream)"
    else:
        return
    raise IngestError(
        f"file {what}; point --logs/--metrics at a file with data, or at its folder "
        "(empty files in a folder are listed and skipped)",
        path=path,
    )


def _glob(pattern: str) -> list[Path]:
    """Matches of a glob, where ``**`` does not descend into symlinked folders.

    ``glob.glob(recursive=True)`` follows them: two symlinks to their own parent folder
    made it enumerate 2**40 paths (a hang), one made it read every file 40 times.
    """
    parts = Path(pattern).parts
    fixed = next((i for i, part in enumerate(parts) if glob.has_magic(part)), len(parts))
    base = Path(*parts[:fixed]) if fixed else Path()
    rest = "/".join(parts[fixed:])
    if not rest:
        return [base] if base.exists() else []
    # Like glob.glob, a wildcard does not match hidden names unless the pattern asks.
    hidden_ok = any(part.startswith(".") for part in parts[fixed:])
    try:
        return [
            m
            for m in base.glob(rest)
            if hidden_ok or not any(c.startswith(".") for c in m.relative_to(base).parts)
        ]
    except (OSError, ValueError):
        return []


def _walk(folder: Path) -> list[Path]:
    out: list[Path] = []
    for root, dirs, files in os.walk(folder, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        # Only regular files: a FIFO would block the read forever, and a dangling or
        # looping symlink cannot be read (it would surface as a misleading error).
        paths = (Path(root, f) for f in sorted(files) if not f.startswith("."))
        out.extend(p for p in paths if p.is_file())
    return sorted(out)


def _check_readable(path: Path) -> None:
    if not os.access(path, os.R_OK):
        raise IngestError("permission denied; check the file's permissions", path=path)


def sniff_bytes(path: Path, size: int = 4) -> bytes:
    """The first ``size`` raw bytes of a file (before any decompression)."""
    _check_readable(path)
    try:
        with path.open("rb") as fh:
            return fh.read(size)
    except OSError as exc:
        raise IngestError(f"cannot read: {exc.strerror or exc}", path=path) from None


def is_gzip(path: Path) -> bool:
    return sniff_bytes(path, 2) == GZIP_MAGIC


def is_parquet(path: Path) -> bool:
    return sniff_bytes(path, 4) == PARQUET_MAGIC


def open_binary(path: Path) -> io.BufferedIOBase:
    """Open a file for reading bytes, transparently decompressing gzip."""
    _check_readable(path)
    try:
        if is_gzip(path):
            return gzip.GzipFile(path, "rb")
        return path.open("rb")
    except OSError as exc:
        raise IngestError(f"cannot open: {exc.strerror or exc}", path=path) from None


def head_text(path: Path, size: int = 65536) -> str:
    """Up to ``size`` decompressed bytes from the file's start as text, for format detection."""
    with open_binary(path) as fh:
        try:
            data = fh.read(size)
        except (OSError, EOFError, zlib.error) as exc:
            raise _corrupt(path, exc) from None
    return data.decode("utf-8", errors="replace")


def _corrupt(path: Path, exc: BaseException) -> IngestError:
    return IngestError(
        f"corrupt or truncated gzip ({type(exc).__name__}: {exc}); re-copy the file or gunzip what is left",
        path=path,
    )


@dataclass(frozen=True)
class LineBytes:
    """A chunk's lines as bytes, for parsers that work on the raw buffer (``_clf_fast``).

    ``buf`` is the chunk (every line ending in ``\\n``) followed by 16 zero bytes, so that
    fixed-width reads near the end stay inside it. Line ``i`` is ``buf[starts[i]:ends[i]]``,
    without its ``\\n`` and one ``\\r`` before it, exactly the text of ``LineChunk.lines[i]``
    when the line is ASCII. ``unusual`` holds the positions, inside lines, of every byte that
    is not printable ASCII (control characters, DEL, and all bytes of multi-byte or invalid
    UTF-8), in increasing order.
    """

    buf: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    unusual: np.ndarray

    def line_of(self, positions: np.ndarray) -> np.ndarray:
        """The line holding each of ``positions`` (positions inside lines)."""
        import numpy as np

        return np.searchsorted(self.ends, positions, side="right")


class LineChunk:
    """One chunk of a file's lines: its raw bytes, and the lines as text when asked.

    Formats get ``lines`` (decoded and split once, on first use, in the parsing thread);
    a byte-level parser can use ``bytes_view`` instead and decode only the lines it needs
    with ``take``.
    """

    def __init__(self, data: bytes | memoryview, *, room: np.ndarray | None = None) -> None:
        """``room``, if given, is a writable buffer starting with ``data`` and at least 16
        bytes longer, which ``bytes_view`` may pad in place instead of copying ``data``."""
        self.data = data  # whole lines, each ending in "\n"
        self.nbytes = len(data)  # raw (decompressed) bytes this chunk covered
        self._room = room

    @functools.cached_property
    def _decoded(self) -> tuple[pl.Series, int]:
        view = self.bytes_view
        if len(view.buf) >= MAX_VIEW_BUFFER:
            return _decode_lines(self.data)
        # Valid UTF-8 lines are String views into the chunk, no copy; only the others are
        # decoded with U+FFFD: decoding never crosses a "\n", so each line decodes as it
        # would in the whole chunk.
        rows, picked = self._to_decode
        ends = view.ends
        if len(rows):
            ends = ends.copy()
            ends[rows] = view.starts[rows]  # empty until replaced: views hold valid UTF-8
        lines = string_views(view.buf, view.starts, ends).alias("line")
        if not len(rows):
            return lines, 0
        decoded, invalid = _decode_lines(picked, strip_cr=False)
        return lines.scatter(rows, decoded), invalid

    @property
    def lines(self) -> pl.Series:
        """String lines without terminators ("\\n" and one "\\r" before it removed);
        bytes that are not UTF-8 are replaced by U+FFFD."""
        return self._decoded[0]

    @functools.cached_property
    def invalid_utf8(self) -> int:
        """How many lines have bytes that are not UTF-8 (lines holding U+FFFD once decoded,
        when the chunk has any invalid byte at all)."""
        if "_decoded" in self.__dict__:
            return self._decoded[1]
        rows, picked = self._to_decode
        if not len(rows):
            return 0
        lines = _decode_lines(picked, strip_cr=False)[0]
        return int(lines.str.contains("\ufffd", literal=True).sum())

    @functools.cached_property
    def _to_decode(self) -> tuple[np.ndarray, bytes]:
        """The lines that must be decoded (sorted positions) and their bytes, joined as
        ``_join`` joins them: the lines with a byte above 127 when some of them is not
        UTF-8, none otherwise. Only such lines can be invalid, and they are checked together
        (one C-level decode): "\n" never sits inside a multi-byte character."""
        view = self.bytes_view
        high = view.unusual[view.buf[view.unusual] > 127]
        if not len(high):
            return high, b""
        rows = np.unique(view.line_of(high))
        picked = self._join(rows)
        if _valid_utf8(picked):
            return rows[:0], b""  # valid as they are (Go's "µs", names): views too
        return rows, picked

    @functools.cached_property
    def n_lines(self) -> int:
        if "_decoded" in self.__dict__:
            return self._decoded[0].len()
        if "bytes_view" in self.__dict__:
            return len(self.bytes_view.starts)
        return int(np.count_nonzero(np.frombuffer(self.data, np.uint8) == 10))

    @functools.cached_property
    def bytes_view(self) -> LineBytes:
        """The lines' boundaries and unusual bytes (``line_bounds``: compiled, or numpy)."""
        data = self.data
        if self._room is not None:
            buf = self._room[: len(data) + 16]
        else:
            buf = np.empty(len(data) + 16, np.uint8)
            buf[: len(data)] = np.frombuffer(data, np.uint8)
        buf[len(data) :] = 0
        raw = buf[: len(data)]
        starts, ends, unusual = (
            line_bounds(raw) if _line_bounds is not None else line_bounds_numpy(raw)
        )
        return LineBytes(buf=buf, starts=starts, ends=ends, unusual=unusual)

    def take(self, rows: np.ndarray) -> pl.Series:
        """The lines at ``rows`` (sorted positions), as ``lines.gather(rows)`` gives them."""
        if "_decoded" in self.__dict__:
            return self._decoded[0].gather(rows)
        if not len(rows):
            return pl.Series("line", [], pl.String)
        # Decoded and split as a chunk of their own: UTF-8 decoding never crosses a "\n",
        # so each line decodes as it would in place.
        return _decode_lines(self._join(rows), strip_cr=False)[0]

    def _join(self, rows: np.ndarray) -> bytes:
        """The bytes of the lines at ``rows`` (without terminators), each followed by "\\n"."""
        view = self.bytes_view
        data = self.data
        pieces = zip(view.starts[rows].tolist(), view.ends[rows].tolist(), strict=True)
        return b"\n".join([data[a:b] for a, b in pieces]) + b"\n"


_line_bounds: Any = load("rca.ingest._line_bounds")


def line_bounds(raw: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``LineBytes``' starts, ends and unusual positions of ``raw`` (whole lines, the last
    ending in "\\n"), by the compiled kernel (``_line_bounds.c``)."""
    # One walk when the guess holds (access log lines are longer than 128 bytes), else a
    # count first: a walk costs about 3 ms per 16 MB chunk.
    guess = len(raw) // 128 + 16
    starts, ends, unusual = (np.empty(guess, np.int64) for _ in range(3))
    got = _line_bounds.fill(raw, starts, ends, unusual)
    if got is None:
        lines, others = _line_bounds.count(raw)
        starts, ends = np.empty(lines, np.int64), np.empty(lines, np.int64)
        unusual = np.empty(others, np.int64)
        got = _line_bounds.fill(raw, starts, ends, unusual)
    lines, others = got
    return starts[:lines], ends[:lines], unusual[:others]


def line_bounds_numpy(raw: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``line_bounds`` with a few passes of numpy: the reference for the kernel."""
    # One pass finds line ends and every byte outside printable ASCII (newlines are
    # control characters).
    mask, other = scratch_masks(len(raw))
    np.less(raw, 32, out=mask)
    np.greater(raw, 126, out=other)
    mask |= other
    at = np.flatnonzero(mask)
    char = raw[at]
    newline = char == 10
    ends = at[newline]
    starts = np.empty_like(ends)
    starts[:1] = 0
    starts[1:] = ends[:-1] + 1
    unusual = at[~newline]
    if len(unusual) and (char == 13).any():
        # A "\r" right before the "\n" is part of the line terminator.
        cr = (raw[unusual] == 13) & (raw[unusual + 1] == 10)
        if cr.any():
            ends = ends - (raw[np.maximum(ends - 1, 0)] == 13) * (ends > starts)
            unusual = unusual[~cr]
    return starts, ends, unusual


#: String views hold u32 offsets into their buffer.
MAX_VIEW_BUFFER = 2**32 - 16
#: Masks keeping the low ``k`` bytes of a 64-bit word, and of a 32-bit word.
LOW_BYTES64 = np.array([(1 << (8 * k)) - 1 for k in range(9)], dtype=np.uint64)
_LOW_BYTES32 = np.array([(1 << (8 * k)) - 1 for k in range(5)], dtype=np.uint32)


def string_views_numpy(buf: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """The 16-byte views of ``string_views`` (as n x 2 uint64) by numpy: the reference for
    the kernel."""
    lengths = hi - lo
    n = len(lengths)
    # Unaligned little-endian reads of 8 and 4 bytes at any position.
    u64 = np.ndarray((len(buf) - 8,), "<u8", buf.data, 0, (1,))
    u32 = np.ndarray((len(buf) - 4,), "<u4", buf.data, 0, (1,))
    # A view is 16 bytes: u32 length, then up to 12 bytes inline, or else a 4-byte
    # prefix, u32 buffer index (0) and u32 offset.
    inline = lengths <= 12
    w0 = u64[lo] & LOW_BYTES64[np.minimum(lengths, 8)]
    w1 = u32[lo + 8] & _LOW_BYTES32[np.clip(lengths - 8, 0, 4)]
    views = np.empty((n, 2), np.uint64)
    views[:, 0] = lengths.astype(np.uint64) | (w0 << np.uint64(32))
    views[:, 1] = np.where(
        inline,
        (w0 >> np.uint64(32)) | (w1.astype(np.uint64) << np.uint64(32)),
        lo.astype(np.uint64) << np.uint64(32),
    )
    return views


def string_views(buf: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> pl.Series:
    """Bytes ``[lo, hi)`` of ``buf`` for each row, as a String column of Arrow string views
    into ``buf`` (no text is copied). ``buf`` (uint8) has at least 16 bytes after the last
    row's end and is under 4 GiB; the bytes must be valid UTF-8."""
    n = len(lo)
    if _line_bounds is not None:
        views = np.empty((n, 2), np.uint64)
        _line_bounds.views(
            buf, np.ascontiguousarray(lo, np.int64), np.ascontiguousarray(hi, np.int64), views
        )
    else:
        views = string_views_numpy(buf, lo, hi)
    return view_series("", views, [buf])


def views_of(text: pl.Series) -> tuple[np.ndarray, list[Any]]:
    """A String column as the compiled kernels read it: its Arrow string views (n x 16
    bytes, contiguous) and its data buffers, in the order the views' buffer indexes count
    them (an absent buffer is an empty one). The inverse of ``string_views``."""
    import pyarrow as pa

    arr = text.rechunk().to_arrow(compat_level=pl.CompatLevel.newest())
    if not isinstance(arr, pa.StringViewArray):
        arr = arr.cast(pa.string_view())
    raw = np.frombuffer(arr.buffers()[1], np.uint8).reshape(-1, 16)
    views = np.ascontiguousarray(raw[arr.offset : arr.offset + len(arr)])
    return views, [b if b is not None else pa.py_buffer(b"") for b in arr.buffers()[2:]]


def view_series(
    name: str, views: np.ndarray, data: Sequence[Any], valid: np.ndarray | None = None
) -> pl.Series:
    """A String column from Arrow string views (n x 16 bytes) over ``data`` (buffers or
    uint8 arrays, in buffer-index order) and an optional validity bitmap: what the compiled
    kernels return, as Polars holds it (no text is copied). The inverse of ``views_of``."""
    import pyarrow as pa

    buffers = [b if isinstance(b, pa.Buffer) else pa.py_buffer(b) for b in data]
    validity = None if valid is None else pa.py_buffer(valid)
    arr = pa.Array.from_buffers(
        pa.string_view(), len(views), [validity, pa.py_buffer(views), *buffers]
    )
    return arrow_series(name, arr)


class _ArrowArray:
    """Only the Arrow C data interface of a pyarrow array (see :func:`arrow_series`)."""

    def __init__(self, array: Any) -> None:
        self._array = array

    def __arrow_c_array__(self, requested_schema: object | None = None) -> tuple[object, object]:
        return self._array.__arrow_c_array__(requested_schema)


def arrow_series(name: str, array: Any) -> pl.Series:
    """A Series over a pyarrow array's buffers (no copy), through the Arrow C data
    interface: given a pyarrow array itself, Polars imports ``pyarrow.compute`` to check
    for dictionaries, ~60 ms of every run's start."""
    return pl.Series(name, _ArrowArray(array)).alias(name)


def present_bytes(text: pl.Series) -> np.ndarray:
    """One uint8 per row of ``text``, 0 where it is null: the ``present`` argument of the
    compiled kernels. Without nulls (most columns) no Polars pass is needed."""
    if not text.null_count():
        return np.ones(text.len(), np.uint8)
    return text.is_not_null().to_numpy().view(np.uint8)


def detached(text: pl.Series) -> pl.Series:
    """``text`` with its strings of over 12 bytes copied into a buffer of their own, when the
    buffers it holds are more than twice what it uses; else ``text`` itself.

    String columns cut from a chunk are views into its 32 MB buffer, and each keeps all of
    it: parsed rows held in memory (``parse_logs``) kept every chunk of the file, 280 bytes
    a row for nginx where the kept strings need about 100. Without the compiled kernel the
    column is returned as it is (the values are the same either way).
    """
    if _line_bounds is None or not text.len():
        return text
    views, data = views_of(text)
    if not any(b.size for b in data):
        return text  # every string is inline (or null): no buffer to keep alive
    present = present_bytes(text)
    per_buffer = np.zeros(len(data), np.int64)
    _line_bounds.long_bytes(views, present, per_buffer)
    used = int(per_buffer.sum())
    if sum(b.size for b in data) <= 2 * used + (1 << 16) or used >= 2**32:
        return text
    out = np.empty_like(views)
    packed = np.empty(used, np.uint8)
    _line_bounds.detach(views, data, present, out, packed)
    valid = None if present.all() else np.packbits(present, bitorder="little")
    return view_series(text.name, out, [packed], valid)


_scratch = threading.local()
#: Scratch masks up to this size are kept per thread.
_SCRATCH_MAX = 64 * 1024 * 1024


def scratch_masks(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Two boolean arrays of length ``n`` for full-buffer comparisons, reused by the
    calling thread: a fresh 8 MB array per comparison costs page faults (kernel time)
    comparable to the comparison itself. Their contents are garbage."""
    held: tuple[np.ndarray, np.ndarray] | None = getattr(_scratch, "masks", None)
    if held is None or len(held[0]) < n:
        held = (np.empty(n, bool), np.empty(n, bool))
        if n <= _SCRATCH_MAX:
            _scratch.masks = held
    return held[0][:n], held[1][:n]


def iter_line_chunks(path: Path, chunk_bytes: int = CHUNK_BYTES) -> Iterator[LineChunk]:
    """Read a file as chunks of whole lines, with bounded memory.

    A final line without a newline is still a line (a torn last line is counted, not lost).
    Non-UTF-8 bytes are replaced and counted, never fatal.

    Raises
    ------
    IngestError
        The file is unreadable or its gzip stream is corrupt.
    """
    rooms = _Rooms(chunk_bytes + _ROOM_SLACK + 16)
    with open_binary(path) as fh:
        carry = b""
        while True:
            # Read straight into the chunk's own buffer (16 spare bytes for the byte-level
            # parsers' padding): no copy of the block. Not zero-filled first (a bytearray
            # is): the read writes every byte used, and the padding is set by bytes_view.
            room = rooms.take(len(carry) + chunk_bytes + 16)
            room[: len(carry)] = np.frombuffer(carry, np.uint8)
            try:
                got = fh.readinto(room.data[len(carry) : len(carry) + chunk_bytes])
            except (OSError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
                raise _corrupt(path, exc) from None
            if not got:
                break
            end = len(carry) + got
            if got < chunk_bytes:
                # A short read (a small file, or the end of one) gets a room of its size: a
                # string left in a room keeps all of it, and 300 files of 100 lines held 5 GB.
                room = room[: end + 16].copy()
            cut = _last_newline(room, end)
            if cut < 0:
                carry = bytes(room[:end])
                continue
            carry = bytes(room[cut + 1 : end])
            yield LineChunk(room.data[: cut + 1], room=room)
        if carry:
            yield LineChunk(carry + b"\n")


#: A chunk's room holds this much of a line carried over from the chunk before it and
#: still comes from the reader's pool; a longer carry gets a room of its own.
_ROOM_SLACK = 1 << 20
#: Rooms a reader keeps track of: the chunks in flight (a few per core) and some spare.
_ROOMS_TRACKED = 8


class _Rooms:
    """A reader's chunk buffers, reused once nothing refers to them any more.

    A fresh 32 MB buffer per chunk costs page faults (kernel time, zeroed pages) on every
    read. A room is handed out again only when this pool holds the sole reference to it:
    every chunk, line view, Arrow buffer or column that reads its bytes holds a reference,
    so none can see it overwritten.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self.lent: list[np.ndarray] = []

    def take(self, need: int) -> np.ndarray:
        if need > self.size:
            return np.empty(need, np.uint8)
        for i in range(len(self.lent)):
            # Two references: the list's, and getrefcount's own argument.
            if sys.getrefcount(self.lent[i]) == 2:
                return self.lent[i]
        room = np.empty(self.size, np.uint8)
        if len(self.lent) == _ROOMS_TRACKED:
            self.lent.pop(0)  # the oldest is freed by whoever still reads it
        self.lent.append(room)
        return room


class Scratch(threading.local):
    """Output arrays of the compiled kernels that a thread reuses from chunk to chunk.

    A fresh 10 MB array per chunk was faulted in page by page (the kernel zeroes each
    page first): a sixth of the page faults of parsing 4M nginx lines. As with the
    reader's rooms, an array is handed out again only when this pool holds its sole
    reference: every view, Arrow buffer or column over it refers to it, so reuse never
    overwrites live data. Per thread, so two workers never share one.
    """

    def __init__(self) -> None:
        self.held: dict[str, np.ndarray] = {}

    def take(self, name: str, nbytes: int) -> np.ndarray:
        """``nbytes`` uint8 of the array kept under ``name`` (contents undefined)."""
        held = self.held
        # Two references when free: the dict's, and getrefcount's own argument.
        if name not in held or held[name].nbytes < nbytes or sys.getrefcount(held[name]) != 2:
            held[name] = np.empty(max(nbytes, 1), np.uint8)
        return held[name][:nbytes]


def _last_newline(room: np.ndarray, end: int) -> int:
    """The position of the last "\\n" in ``room[:end]``, -1 if none; searched backwards a
    window at a time (lines are short, chunks long)."""
    window = 1 << 16
    hi = end
    while hi > 0:
        lo = max(0, hi - window)
        at = room[lo:hi].tobytes().rfind(b"\n")
        if at >= 0:
            return lo + at
        hi = lo
        window *= 4
    return -1


def _valid_utf8(data: bytes) -> bool:
    try:
        str(data, "utf-8")
    except UnicodeDecodeError:
        return False
    return True


# Texts shorter than this are split into lines by Python (see _decode_lines).
_SPLIT_NATIVE = 1 << 20


def _decode_lines(data: bytes | memoryview, *, strip_cr: bool = True) -> tuple[pl.Series, int]:
    """``\\n``-terminated lines -> (String lines, how many had bytes that are not UTF-8).
    ``strip_cr``: remove one ``\\r`` at the end of each line."""
    try:
        text = str(data, "utf-8")
        invalid = 0
    except UnicodeDecodeError:
        text = str(data, "utf-8", "replace")
        invalid = -1  # counted below, per line
    if len(text) < _SPLIT_NATIVE:
        lines = pl.Series("line", text[:-1].split("\n"), dtype=pl.String)
    else:
        # One native split instead of a Python list of lines: this is the hot path of the
        # formats parsed from strings. Arrow's split costs ~40% less CPU than Polars' split
        # + explode. Not for small texts (format sniffing, a chunk's few odd lines):
        # importing pyarrow.compute takes ~60 ms, a tenth of parsing 1M nginx lines.
        import pyarrow as pa
        import pyarrow.compute as pc

        parts = pc.split_pattern(pa.array([text[:-1]], pa.large_string()), "\n").flatten()
        lines = pl.Series("line", parts, dtype=pl.String)
    if strip_cr and "\r" in text:
        lines = lines.str.strip_suffix("\r")
    if invalid:
        invalid = int(lines.str.contains("\ufffd", literal=True).sum())
    return lines, invalid


def read_all_bytes(path: Path) -> bytes:
    """The whole (decompressed) file; for metrics formats that are not line-oriented."""
    with open_binary(path) as fh:
        try:
            return fh.read()
        except (OSError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
            raise _corrupt(path, exc) from None


def as_text_stream(data: bytes) -> io.StringIO:
    """Decode bytes leniently (non-UTF-8 replaced) for readers that want a text stream."""
    return io.StringIO(data.decode("utf-8", errors="replace"))
