"""The compiled path of the registry_json parser: common lines read by ``_registry_scan.c``.

Ingest stage, format layer, hot path. Polars' JSON reader and the expressions of
``_registry._json_rows`` cost about 4 us a line; nearly every line of a registry's log has
one shape (a flat logrus JSON object with the canonical time, duration and status), which
the C scanner reads in one pass straight from the lines' Arrow string views. It takes only
lines whose every field it can compute exactly as ``_json_rows`` does (see the scanner's
header); the rest (torn lines, access lines, unusual escapes or spellings) are returned as
positions for ``_json_rows``, which stays the reference and the fallback (the scanner not
built, or ``RCA_NO_COMPILED=1``). ``tests/ingest/formats/test_registry_fast.py`` checks the
two against each other.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from rca._schema import UTC_TS
from rca.ingest._compiled import load
from rca.ingest.formats._base import KIND

_scanner: Any = load("rca.ingest.formats._registry_scan")

#: The columns of a pre-``finish`` row frame (``_registry._json_rows``), in order.
ROW_COLUMNS: dict[str, pl.DataType] = {
    "ts": UTC_TS,
    "client_ip": pl.String(),
    "method": pl.String(),
    "path": pl.String(),
    "status": pl.Int16(),
    "bytes_sent": pl.Int64(),
    "duration_s": pl.Float64(),
    "user_agent": pl.String(),
    "error_message": pl.String(),
    KIND: pl.UInt8(),
    "request_id": pl.String(),
}

# String outputs and validity bitmaps as numbered in _registry_scan.c; its kind for a line
# left to the reference.
_S_CLIENT, _S_METHOD, _S_PATH, _S_UA, _S_ERROR, _S_ID, _N_STRINGS = range(7)
_V_TS, _V_DURATION, _V_STATUS, _V_WRITTEN, _N_VALID = range(_N_STRINGS, _N_STRINGS + 5)
_REST = 3
_MAX_AUX = 2**32 - 1


def scan(lines: pl.Series) -> tuple[pl.DataFrame, np.ndarray] | None:
    """The scanner's rows for ``lines`` (a String column without nulls): a frame of
    ``ROW_COLUMNS`` with one row per line, null on the lines it left to the reference, and
    the positions of those lines. None when the scanner is not built or cannot read this
    column (then the reference reads every line)."""
    import pyarrow as pa

    if _scanner is None or lines.len() == 0 or lines.null_count():
        return None
    arr = lines.rechunk().to_arrow(compat_level=pl.CompatLevel.newest())
    if not isinstance(arr, pa.StringViewArray):
        return None
    n = len(arr)
    buffers = arr.buffers()
    views = np.frombuffer(buffers[1], np.uint8).reshape(-1, 16)[arr.offset : arr.offset + n]
    views = np.ascontiguousarray(views)
    data = [b if b is not None else pa.py_buffer(b"") for b in buffers[2:]]
    # The strings it keeps are pieces of their lines: their total length bounds aux.
    total = int(views[:, :4].copy().view("<u4").sum(dtype=np.int64))
    aux = np.empty(max(1, min(total, _MAX_AUX)), np.uint8)
    kind = np.empty(n, np.uint8)
    ts = np.empty(n, np.int64)
    duration = np.empty(n, np.float64)
    status = np.empty(n, np.int16)
    written = np.empty(n, np.int64)
    strings = np.empty((_N_STRINGS, n, 16), np.uint8)
    bitmap = (n + 7) // 8
    valid = np.empty((_N_VALID, bitmap), np.uint8)
    used, _ = _scanner.scan(views, data, kind, ts, duration, status, written, strings, valid, aux)
    text = pa.py_buffer(aux[:used].copy())  # the rest of aux is let go

    def column(k: int, values: np.ndarray, dtype: pa.DataType) -> pl.Series:
        buffers = [pa.py_buffer(valid[k]), pa.py_buffer(values)]
        if dtype == pa.string_view():
            buffers.append(text)
        return pl.Series(pa.Array.from_buffers(dtype, n, buffers))

    view = pa.string_view()
    frame = pl.DataFrame(
        {
            "ts": column(_V_TS, ts, pa.int64()).cast(UTC_TS),
            "client_ip": column(_S_CLIENT, strings[_S_CLIENT], view),
            "method": column(_S_METHOD, strings[_S_METHOD], view),
            "path": column(_S_PATH, strings[_S_PATH], view),
            "status": column(_V_STATUS, status, pa.int16()),
            "bytes_sent": column(_V_WRITTEN, written, pa.int64()),
            "duration_s": column(_V_DURATION, duration, pa.float64()),
            "user_agent": column(_S_UA, strings[_S_UA], view),
            "error_message": column(_S_ERROR, strings[_S_ERROR], view),
            KIND: pl.Series(kind),
            "request_id": column(_S_ID, strings[_S_ID], view),
        }
    )
    return frame, np.flatnonzero(kind == _REST)
