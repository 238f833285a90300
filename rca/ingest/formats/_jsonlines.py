"""Torn-line-tolerant decoding of JSON lines, shared by the JSON log formats.

Polars' JSON readers abort a whole batch on one bad line, and a log file cut mid-write
(or concatenated badly) has bad lines. So: a cheap shape check (``{`` … ``}``) drops most
torn lines up front; the rest are decoded in bulk with ``pl.read_ndjson`` (fast, native);
if a batch still fails (a torn line that ran into the next one still looks like ``{…}``),
the failing lines are looked for directly among a few suspects, and the batch is decoded
around them exactly as bisection would split it: only the small parts holding a bad line
are decoded line by line in Python. When the suspects do not explain the failure, the
batch is bisected. Values come back as text (numbers as their JSON text, objects as JSON)
so one key written as a number by one tool and a string by another still reads.

nginx without ``escape=json`` writes ``\\xHH`` escapes, which are not JSON; the per-line
fallback turns them back into the bytes they stand for.
"""

from __future__ import annotations

import bisect
import json
import re
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa

from rca.ingest.formats._base import KIND, REQUEST, LogFormat, ParseState

#: Column added to the decoded frame: True where the line was a JSON object.
OK = "_json_ok"

# Below this many lines a failing batch is decoded line by line instead of bisected.
_SMALL = 16
_HEX_RUN = re.compile(r"\\\\|(?:\\x[0-9A-Fa-f]{2})+")


def decode_json_lines(lines: pl.Series, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """Decode each line as a JSON object, keeping only the keys in ``schema``.

    Parameters
    ----------
    lines
        String series, one JSON document per element.
    schema
        Keys to keep and their dtypes; use ``pl.String`` (numbers and booleans come back
        as their JSON text, objects as JSON text) or ``pl.List(pl.String)`` for arrays.

    Returns
    -------
    pl.DataFrame
        Exactly ``len(lines)`` rows in order: one column per key (null where absent or
        not decodable) plus the Boolean column ``_json_ok``. Never raises on bad input.

    Examples
    --------
    >>> import polars as pl
    >>> df = decode_json_lines(pl.Series(['{"a": 1}', '{"a": "x', ""]), {"a": pl.String()})
    >>> df.to_dicts()
    [{'a': '1', '_json_ok': True}, {'a': None, '_json_ok': False}, {'a': None, '_json_ok': False}]
    """
    text = lines.cast(pl.String).fill_null("")
    candidate = json_candidates(text)
    if candidate.all():
        return decode_json_objects(text, schema)
    decoded = decode_json_objects(text.filter(candidate), schema)
    # Scatter the decoded rows back to their line positions: a null index gathers a row of
    # nulls, so non-candidates come out null (and _json_ok False below).
    position = pl.select(pl.when(candidate).then(candidate.cum_sum() - 1)).to_series()
    out = decoded[position.cast(pl.UInt32)]
    return out.with_columns(pl.col(OK).fill_null(False))


def json_candidates(text: pl.Series) -> pl.Series:
    """Which lines can be a JSON object at all: ``{`` … ``}``, surrounding whitespace allowed.

    A cheap shape test that drops torn lines (and text lines) before the bulk decode,
    which would otherwise fail on them. ``text`` must not hold nulls.
    """
    candidate = text.str.starts_with("{") & text.str.ends_with("}")
    if not candidate.all():
        # Only lines that failed the quick test pay for stripping surrounding whitespace.
        idx = (~candidate).arg_true()
        stripped = text.gather(idx).str.strip_chars()
        candidate = candidate.scatter(
            idx, stripped.str.starts_with("{") & stripped.str.ends_with("}")
        )
    return candidate


def decode_json_objects(text: pl.Series, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """``decode_json_lines`` for lines already known to be candidates (see
    ``json_candidates``): one row per line, in order, keys of ``schema`` plus ``_json_ok``."""
    return _decode(text, schema)


def decode_json_batch(text: pl.Series, schema: dict[str, pl.DataType]) -> pl.DataFrame | None:
    """The keys of ``schema`` decoded natively in one batch (no ``_json_ok``), as
    ``decode_json_objects`` decodes a batch without a failing line; None when some line
    fails, where ``decode_json_objects`` would look for it."""
    return _bulk(text, schema)


def _decode(text: pl.Series, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    if len(text) == 0:
        return pl.DataFrame(schema={**schema, OK: pl.Boolean()})
    frame = _bulk(text, schema)
    if frame is not None:
        return frame.with_columns(pl.lit(True).alias(OK))
    bad = _bad_lines(text, schema)
    if bad is not None:
        found = _decode_around(text, schema, bad)
        if found is not None:
            return found
    return _bisect(text, schema)


def _bisect(text: pl.Series, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """Decode in halves until the failing parts are small, then those line by line."""
    if len(text) == 0:
        return pl.DataFrame(schema={**schema, OK: pl.Boolean()})
    frame = _bulk(text, schema)
    if frame is not None:
        return frame.with_columns(pl.lit(True).alias(OK))
    if len(text) <= _SMALL:
        return _per_line(text.to_list(), schema)
    half = len(text) // 2
    return pl.concat(
        [_bisect(text.slice(0, half), schema), _bisect(text.slice(half), schema)],
        how="vertical",
    )


# At most this many suspect lines are tried one by one before falling back to bisection.
_SUSPECTS = 128


def _bad_lines(text: pl.Series, schema: dict[str, pl.DataType]) -> list[int] | None:
    """Positions of the lines that make a batch fail, or None when a quick search cannot
    tell.

    A torn line that runs into the next one (the usual way a batch breaks) holds a second
    ``{"``, and a raw control character (a NUL from a crash, say) is never valid inside a
    JSON string; lines with nested objects or tabs between tokens are suspects too, and
    fine. Each suspect is tried on its own, so a bisection that re-reads the batch once per
    bad line is not needed. A bad line that looks like neither is not found here: decoding
    around the ones found then fails, and the caller bisects as before.
    """
    suspect = (text.str.count_matches('{"', literal=True) != 1) | text.str.contains(r"[\x00-\x1f]")
    if int(suspect.sum()) > _SUSPECTS:
        return None
    return [i for i in suspect.arg_true().to_list() if _bulk(text.slice(i, 1), schema) is None]


def _decode_around(
    text: pl.Series, schema: dict[str, pl.DataType], bad: list[int]
) -> pl.DataFrame | None:
    """The result of ``_bisect`` when ``bad`` are the lines that fail, with every part
    bisection would decode natively read in one batch. None if that batch fails after all.
    """
    bulk_ranges: list[tuple[int, int]] = []
    line_ranges: list[tuple[int, int]] = []
    bad_sorted = sorted(bad)

    def split(lo: int, hi: int) -> None:
        # The same recursion as _bisect, run on positions instead of text.
        if hi == lo:
            return
        left = bisect.bisect_left(bad_sorted, lo)
        if left == len(bad_sorted) or bad_sorted[left] >= hi:
            bulk_ranges.append((lo, hi))
        elif hi - lo <= _SMALL:
            line_ranges.append((lo, hi))
        else:
            half = (hi - lo) // 2
            split(lo, lo + half)
            split(lo + half, hi)

    split(0, len(text))
    parts: list[pl.DataFrame] = []
    if bulk_ranges:
        idx = pl.concat(
            [pl.int_range(lo, hi, dtype=pl.UInt32, eager=True) for lo, hi in bulk_ranges]
        )
        frame = _bulk(text.gather(idx), schema)
        if frame is None:
            return None
        parts.append(frame.with_columns(pl.lit(True).alias(OK), idx.alias("__row")))
    for lo, hi in line_ranges:
        rows = _per_line(text.slice(lo, hi - lo).to_list(), schema)
        parts.append(rows.with_columns(pl.int_range(lo, hi, dtype=pl.UInt32).alias("__row")))
    return pl.concat(parts, how="vertical").sort("__row").drop("__row")


def _bulk(text: pl.Series, schema: dict[str, pl.DataType]) -> pl.DataFrame | None:
    """Native decode of a batch, or None when any line in it is not valid JSON."""
    try:
        frame = pl.read_ndjson(_ndjson_bytes(text), schema=schema, ignore_errors=True)
    except Exception:  # Polars raises several error types for bad JSON; all mean "bisect"
        return None
    # read_ndjson skips lines it sees as empty; a count mismatch means misalignment.
    if frame.height != len(text):
        return None
    return frame


def _ndjson_bytes(text: pl.Series) -> bytes:
    """The lines joined by newlines, straight from the Arrow buffer (no Python strings):
    appending "\n" to each line makes the large-string data buffer exactly that."""
    arr = (text + "\n").to_arrow().cast(pa.large_string())
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)
    start, end = offsets[arr.offset], offsets[arr.offset + len(arr)]
    return memoryview(arr.buffers()[2])[start:end].tobytes()


def _per_line(rows: list[str], schema: dict[str, pl.DataType]) -> pl.DataFrame:
    records: list[dict[str, Any]] = []
    for row in rows:
        obj = _loads(row)
        rec: dict[str, Any] = {name: None for name in schema}
        rec[OK] = obj is not None
        if obj is not None:
            for name, dtype in schema.items():
                if name in obj:
                    rec[name] = _as(obj[name], dtype)
        records.append(rec)
    return pl.DataFrame(records, schema={**schema, OK: pl.Boolean()}, orient="row")


def _loads(row: str) -> dict[str, Any] | None:
    for attempt in (row, _unhex(row)):
        try:
            obj = json.loads(attempt, strict=False)
        except (ValueError, RecursionError):
            continue
        return obj if isinstance(obj, dict) else None
    return None


def _unhex(row: str) -> str:
    """nginx's default log escaping (``\\xHH`` per byte) → JSON escapes of the same text."""

    def repl(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "\\\\":
            return token
        raw = bytes.fromhex(token.replace("\\x", ""))
        return json.dumps(raw.decode("utf-8", errors="replace"))[1:-1]

    return _HEX_RUN.sub(repl, row)


def _as(value: Any, dtype: pl.DataType) -> Any:
    if isinstance(dtype, pl.List):
        if isinstance(value, list):
            return [_text(v) for v in value]
        return None
    return _text(value)


def _text(value: Any) -> str | None:
    """A JSON value as the text Polars' reader gives for a String field."""
    if value is None:
        return None
    if isinstance(value, str):
        # A lone surrogate escape ("\\udcff") is valid JSON but not encodable text.
        return value.encode("utf-8", errors="replace").decode("utf-8")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return _text(json.dumps(value, ensure_ascii=False, separators=(",", ":")))


def sniff_json_requests(fmt: LogFormat, lines: list[str]) -> float:
    """Share of non-blank ``lines`` that ``fmt`` (a JSON-lines format) parses as requests.

    Only a ``{`` line can be a request, so text logs skip the JSON parse entirely: that parse
    was most of the per-file detection cost of a folder of many small files. Never raises.
    """
    try:
        sample = [line for line in lines if line.strip()]
        objects = [line for line in sample if line.lstrip().startswith("{")]
        if not objects:
            return 0.0
        frame = fmt.parse(pl.Series("line", objects, dtype=pl.String), ParseState("sniff"))
        return int((frame[KIND] == REQUEST).sum()) / len(sample)
    except Exception:  # sniffing must never raise
        return 0.0
