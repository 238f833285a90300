"""The combined access-log format (nginx and Apache) and nginx's timing extension.

Ingest stage, format layer. ``combined`` is the layout nginx and Apache share::

    $remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"

``nginx_timing`` appends `` $request_time $upstream_addr $upstream_response_time`` (the common
extension for reverse proxies). Both accept, right after the user agent, the extra quoted
``"$http_x_forwarded_for"`` of the stock nginx ``main`` format; its first hop becomes
``client_ip`` when it is an address. ``combined`` also accepts any further trailing fields, so
it reads logs that append their own fields; ``nginx_timing`` is registered first and wins
detection when the timing fields are there.

Fields map to the canonical ones as in :func:`rca.ingest.formats._log_format.nginx_to_canonical`
(notably: ``$time_local`` is taken as the request time, the last ``$upstream_addr`` is the
upstream, Apache's ``-`` bytes are 0, and a request line that is not ``METHOD URI HTTP/x`` --
``"-"``, TLS bytes on a plain port -- leaves a request with null method and path).

Lines are matched by one anchored regex; the rare line it misses (a quote that the writer did
not escape) is retried with a looser regex that takes the last ``" status bytes "`` as the field
boundary. A line neither matches is MALFORMED (a torn last line, for instance).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass

import numpy as np
import polars as pl

from rca.ingest._derive import ROUTE_FIELDS, sources
from rca.ingest._files import LineBytes, LineChunk
from rca.ingest.formats._base import (
    KIND,
    MALFORMED,
    OTHER,
    REQUEST,
    ChunkRows,
    ParseState,
    per_line,
)
from rca.ingest.formats._clf_fast import STRING_COLUMNS, parse_fast, series_bytes
from rca.ingest.formats._log_format import (
    QUOTED,
    UPSTREAM_ADDRS,
    UPSTREAM_NUMS,
    nginx_to_canonical,
    sniff_share,
)

_CORE = (
    r"^(?P<remote_addr>[^ ]+) [^ ]+ [^ ]+ \[(?P<time_local>[^\]]*)\] "
    rf'"(?P<request>{QUOTED})" (?P<status>[0-9]{{3}}) (?P<body_bytes_sent>[0-9]+|-) '
    rf'"(?P<http_referer>{QUOTED})" "(?P<http_user_agent>{QUOTED})"'
    # The rest of the line is matched separately: a `$`-anchored optional tail makes the
    # whole-line regex several times slower.
    r"(?P<tail>.*)"
)
# Fallback for writers that do not escape quotes inside fields: the user may hold spaces, the
# request runs to the last `" status bytes "`, the referer to the next `" "`.
_LOOSE_CORE = (
    r"^(?P<remote_addr>[^ ]+) [^ ]+ .*? \[(?P<time_local>[^\]]*)\] "
    r'"(?P<request>.*)" (?P<status>[0-9]{3}) (?P<body_bytes_sent>[0-9]+|-) '
    r'"(?P<http_referer>.*?)" "(?P<http_user_agent>.*)"'
)
_XFF = rf'^(?: "(?P<http_x_forwarded_for>{QUOTED})")?'
#: Below this many lines a chunk goes straight to the regexes (sniffing, tests, tails).
_FAST_MIN_LINES = 64
_TIMING = (
    r" (?P<request_time>[0-9]+(?:\.[0-9]+)?|-)"
    rf" (?P<upstream_addr>{UPSTREAM_ADDRS}) (?P<upstream_response_time>{UPSTREAM_NUMS})"
    r"(?: .*)?$"
)


@dataclass(frozen=True)
class _Layout:
    """A combined-shaped format: the shared core regex, a regex for what follows the user
    agent (``tail``), and a looser fallback for lines the core regex misses."""

    name: str
    description: str
    tail: str
    loose: str
    timing: bool  # the tail is `` $request_time $upstream_addr $upstream_response_time``

    #: No state is carried from chunk to chunk, so chunks of one file may parse in parallel.
    independent_chunks = True

    def sniff(self, lines: list[str]) -> float:
        """Share of the non-blank sample lines read as requests; never raises."""
        return sniff_share(self, lines)

    def parse(self, lines: pl.Series, state: ParseState) -> pl.DataFrame:
        """Parse one chunk of lines into the canonical request fields plus ``_kind``.

        Plain-shaped lines take the byte-level fast path (``_clf_fast``); the rest, and
        small chunks, where the fast path's fixed cost does not pay, take the regexes.
        """
        line = lines.cast(pl.String).fill_null("").rename("line")
        if line.len() < _FAST_MIN_LINES:
            return self._parse_regex(line)
        parsed = self._parse_bytes(series_bytes(line), line.gather, lambda: line)
        return per_line(parsed) if isinstance(parsed, ChunkRows) else parsed

    def parse_chunk(self, chunk: LineChunk, state: ParseState) -> pl.DataFrame | ChunkRows:
        """:meth:`parse` on a chunk's raw bytes: only the lines the fast path leaves to
        the regexes are decoded to text. The request rows come alone (``ChunkRows``)."""
        view = chunk.bytes_view
        if len(view.starts) < _FAST_MIN_LINES:
            return self._parse_regex(chunk.lines)
        # Strings nobody reads (not kept, not read by derive) are left out by the scanner:
        # the agent's unescape and the views of address and upstream were a fifth of it.
        read = None if state.keep is None else state.keep | sources(state.keep)
        return self._parse_bytes(
            view,
            chunk.take,
            lambda: chunk.lines,
            routes=read is None or bool(read.intersection(ROUTE_FIELDS)),
            skip=[] if read is None else [c for c in STRING_COLUMNS if c not in read],
        )

    def _parse_bytes(
        self,
        view: LineBytes,
        take: Callable[[np.ndarray], pl.Series],
        everything: Callable[[], pl.Series],
        *,
        routes: bool = False,
        skip: Collection[str] = (),
    ) -> pl.DataFrame | ChunkRows:
        """``routes``: when every request row came from the compiled scanner, the rows
        carry their ``endpoint``, ``repository`` and ``namespace`` too (see ``derive``).
        ``skip``: string columns the scanner may leave null (``parse_fast``)."""
        n = len(view.starts)
        fast = parse_fast(view, timing=self.timing, routes=routes, skip=skip)
        if fast is None or len(fast.rows) + len(fast.unmatched) == 0:
            return self._parse_regex(everything())
        fields = fast.fields if fast.routes is None else fast.fields.hstack(fast.routes)
        if len(fast.rows) == n:
            return fields
        kinds = np.full(n, REQUEST, np.uint8)
        kinds[fast.unmatched] = np.where(fast.blank, OTHER, MALFORMED)
        rest = np.ones(n, dtype=bool)
        rest[fast.rows] = False
        rest[fast.unmatched] = False
        slow_rows = np.flatnonzero(rest)
        if not len(slow_rows):
            return ChunkRows(fields, kinds)
        slow = self._parse_regex(take(slow_rows))
        slow_kinds = slow.get_column(KIND).to_numpy()
        kinds[slow_rows] = slow_kinds
        is_request = slow_kinds == REQUEST
        if not is_request.any():
            return ChunkRows(fields, kinds)
        # The regexes' rows have no routes: derive finds them all.
        # Back to line order among the request rows only (rechunked first: a gather across
        # chunks costs several times more).
        lines = np.concatenate([fast.rows, slow_rows[is_request]])
        both = pl.concat([fast.fields, slow.filter(pl.Series(is_request))], rechunk=True)
        return ChunkRows(both.gather(np.argsort(lines, kind="stable")), kinds)

    def _parse_regex(self, line: pl.Series) -> pl.DataFrame:
        core = line.str.extract_groups(_CORE).struct.unnest()
        tail = core.get_column("tail")
        # A tail must start with a space: `"ua "x" y"` (an unescaped quote) is not a match.
        core_ok = tail.is_not_null() & ((tail == "") | tail.str.starts_with(" "))
        missed = ~core_ok & (line.str.strip_chars() != "")
        if missed.any():
            # Only the few rows the strict regex missed pay for the looser one.
            idx = missed.arg_true()
            loose = line.gather(idx).str.extract_groups(self.loose).struct.unnest()
            core = (
                core.with_columns(tail=pl.when(core_ok).then(pl.col("tail")))
                .with_row_index("_i")
                .update(loose.with_columns(_i=idx.cast(pl.UInt32)), on="_i", how="left")
                .drop("_i")
            )
            tail = core.get_column("tail")
        rest = tail.str.extract_groups(self.tail).struct.unnest()
        matched = (
            core.get_column("remote_addr").is_not_null()
            & rest.get_column(rest.columns[0]).is_not_null()
        )
        raw = pl.concat([core.drop("tail"), rest], how="horizontal").with_columns(
            line, _matched=matched
        )
        return nginx_to_canonical(raw, pl.col("_matched"))


#: nginx combined + ``$request_time $upstream_addr $upstream_response_time``.
nginx_timing = _Layout(
    name="nginx_timing",
    description="nginx combined + $request_time $upstream_addr $upstream_response_time",
    tail="(?P<_tail_ok>" + _XFF + _TIMING + ")",
    loose=_LOOSE_CORE + r"(?P<tail>.*)",
    timing=True,
)

#: nginx / Apache combined, optionally followed by ``"$http_x_forwarded_for"`` and more fields.
combined = _Layout(
    name="combined",
    description="nginx / Apache combined log format",
    tail="(?P<_tail_ok>" + _XFF + r"(?: .*)?$)",
    loose=_LOOSE_CORE + r"(?P<tail>$)",
    timing=False,
)

FORMATS = [nginx_timing, combined]
