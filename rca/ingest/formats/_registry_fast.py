"""The compiled path of the registry_json decoder: plain lines read by ``_registry_scan.c``.

Ingest stage, format layer, hot path. Polars' JSON decoder was most of the cost of
``RegistryJSON.parse_independent``. The C scanner reads the common lines (one flat logrus
object of plain strings and integers) straight from the lines' Arrow string views and gives
the raw text of each wanted key, the frame ``decode_json_objects`` would give for them. The
lines it is not sure of go through ``decode_json_objects`` itself, which stays the reference
and the fallback (scanner not built, or ``RCA_NO_COMPILED=1``). Nothing is computed from
the values here: the Polars expressions of ``_registry`` run on these strings unchanged.

Two values are the exception, the request time and the client: ``rfc3339_times`` parses
the one spelling Go writes (RFC3339Nano) and ``client_hosts`` takes the host of Go's
``host:port`` in C, because chrono's format parsing and the address regexes were the
largest costs left in the expressions (about 0.3 us a line each); every other spelling
stays with the Polars reference.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from rca.ingest._compiled import load
from rca.ingest._files import arrow_series, view_series, views_of
from rca.ingest.formats._godur import UNIT_SECONDS
from rca.ingest.formats._jsonlines import OK, decode_json_batch, decode_json_objects

_scanner: Any = load("rca.ingest.formats._registry_scan")


def decode_objects(
    text: pl.Series, schema: dict[str, pl.DataType], *, compiled: bool | None = None
) -> pl.DataFrame:
    """``decode_json_objects(text, schema)`` (String fields only), the same frame, with the
    lines the scanner takes read by it. ``compiled``: use the scanner (default: when built).
    """
    if compiled is None:
        compiled = _scanner is not None
    if not compiled or len(text) == 0 or text.null_count():
        return decode_json_objects(text, schema)
    if _scanner is None:
        raise RuntimeError("rca's compiled scanner (_registry_scan) was not built")
    if any(dtype != pl.String() for dtype in schema.values()):
        return decode_json_objects(text, schema)
    scanned, redo = _scan(text, list(schema))
    if not len(redo):
        return scanned
    # The redone lines as the reference decodes them in one native batch. When that batch
    # fails (a line that looks like {...} but is not JSON), the reference's values for a
    # line depend on its neighbours (it decodes the failing part line by line in Python):
    # the whole text then goes through the reference.
    rest = decode_json_batch(text.gather(redo), schema)
    if rest is None:
        return decode_json_objects(text, schema)
    n = len(text)
    order = np.arange(n, dtype=np.int64)
    order[redo] = n + np.arange(len(redo))
    both = pl.concat([scanned, rest.with_columns(pl.lit(True).alias(OK))], how="vertical")
    return both[pl.Series(order)]


def _scan(text: pl.Series, keys: list[str]) -> tuple[pl.DataFrame, np.ndarray]:
    """The scanner's frame (schema keys, then ``_json_ok`` True; redone rows null) and the
    positions of the redone lines."""
    views, data = views_of(text)
    n = len(views)
    # Values are disjoint pieces of their lines: the lines' total length bounds aux. Views
    # of up to 12 bytes are inline, not in aux.
    total = int(np.ascontiguousarray(views[:, :4]).view("<u4").sum(dtype=np.int64))
    aux = np.empty(max(total, 1), np.uint8)
    used = np.empty(len(keys), np.int64)
    out = np.empty((len(keys), n, 16), np.uint8)
    bitmap = (n + 7) // 8
    valid = np.empty((len(keys), bitmap), np.uint8)
    redo = np.empty(n, np.uint8)
    _scanner.scan(
        views,
        data,
        [key.encode() for key in keys],
        out,
        valid,
        redo,
        aux,
        used,
    )
    columns = [_column(key, out[k], valid[k], aux, int(used[k])) for k, key in enumerate(keys)]
    frame = pl.DataFrame([*columns, pl.Series(OK, np.ones(n, bool))])
    return frame, np.flatnonzero(redo)


def _column(
    name: str, views: np.ndarray, valid: np.ndarray, aux: np.ndarray, size: int
) -> pl.Series:
    """One key's column, its views and text copied out of the scan's shared arrays: a
    column dropped later (the time, the duration) frees its text, and none keeps the
    chunk-sized aux alive."""
    own = np.empty_like(views)
    text = np.empty(size, np.uint8)
    _scanner.compact(views, aux, own, text)
    return view_series(name, own, [text], valid.copy())


def rfc3339_times(time: pl.Series) -> pl.Series | None:
    """UTC microsecond timestamps of Go's RFC3339Nano stamps (``2021-03-12T08:14:00.12Z``,
    ``...+02:00``), by the compiled scanner; null for every other text, which the caller
    hands to ``rfc3339_utc``. None without the compiled scanner."""
    import pyarrow as pa

    if _scanner is None or not time.len():
        return None
    # Null rows as empty strings: the scanner reads every view, and a null one's contents
    # are not defined.
    views, data = views_of(time.fill_null("") if time.null_count() else time)
    micros = np.empty(len(views), np.int64)
    ok = np.empty(len(views), np.uint8)
    _scanner.times(views, data, micros, ok)
    validity = pa.py_buffer(np.packbits(ok.view(bool), bitorder="little"))
    arr = pa.Array.from_buffers(
        pa.timestamp("us", tz="UTC"), len(views), [validity, pa.py_buffer(micros)]
    )
    return arrow_series(time.name, arr)


def client_hosts(remoteaddr: pl.Series) -> tuple[pl.Series, np.ndarray] | None:
    """The client of each remote address as ``strip_port(first_hop(...))`` gives it, by the
    compiled scanner for Go's ``host:port``, and the positions of the rows it left (null
    here) to those expressions. None without the compiled scanner."""
    if _scanner is None or not remoteaddr.len():
        return None
    text = remoteaddr.fill_null("") if remoteaddr.null_count() else remoteaddr
    views, data = views_of(text)
    n = len(views)
    out = np.empty_like(views)
    valid = np.zeros((n + 7) // 8, np.uint8)
    refused = np.empty(n, np.uint8)
    _scanner.hosts(views, data, out, valid, refused)
    return view_series(remoteaddr.name, out, data, valid), np.flatnonzero(refused)


#: Seconds per unit code of ``durations`` (1 ns, 2 µs, 3 ms, 4 s, 5 m, 6 h).
_UNIT_SECONDS = np.array([np.nan, *(UNIT_SECONDS[u] for u in ("ns", "us", "ms", "s", "m", "h"))])


def go_durations(duration: pl.Series) -> tuple[pl.Series, np.ndarray] | None:
    """Seconds of Go's one-unit durations (``4.016532ms``) as ``go_duration_seconds``
    gives them, by the compiled scanner, and the positions of the rows it left (null here)
    to that expression. None without the compiled scanner."""
    if _scanner is None or not duration.len():
        return None
    text = duration.fill_null("") if duration.null_count() else duration
    views, data = views_of(text)
    numbers = np.empty_like(views)
    units = np.empty(len(views), np.uint8)
    _scanner.durations(views, data, numbers, units)
    # The numbers are cast by Polars, as the expression casts them; one it cannot read is
    # NaN here and null there (a digit string is never NaN itself).
    value = view_series(duration.name, numbers, data).cast(pl.Float64, strict=False)
    seconds = value.to_numpy() * _UNIT_SECONDS[units]
    return pl.Series(duration.name, seconds, nan_to_null=True), np.flatnonzero(units == 0)
