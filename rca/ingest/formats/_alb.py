"""AWS Application Load Balancer access logs (and Classic ELB, their older cousin).

Ingest stage, format layer. Fields are space-separated by position, per the AWS
"Access log entries" syntax::

    type time elb client:port target:port request_processing_time target_processing_time
    response_processing_time elb_status_code target_status_code received_bytes sent_bytes
    "request" "user_agent" ssl_cipher ssl_protocol target_group_arn "trace_id" "domain_name"
    "chosen_cert_arn" matched_rule_priority request_creation_time "actions_executed"
    "redirect_url" "error_reason" "target:port_list" "target_status_code_list"
    "classification" "classification_reason" conn_trace_id ...

AWS appends fields over time, so anything after ``error_reason`` is ignored and lines that stop
early (older logs, Classic ELB lines without ``type``) still parse. Mapping:

- ``ts`` is ``request_creation_time`` (when the ALB received the request) when the line has
  it, else ``time`` (when the ALB answered; Classic ELB and old ALB lines);
- ``duration_s`` is the sum of the three processing times, null when any is ``-1`` (the ALB
  could not reach a target, or the client went away);
- ``status`` is ``elb_status_code`` (what the client got; ``-`` is 0, no response);
- ``upstream`` is the ``target`` ``ip:port`` (null when ``-``: no target answered);
- ``edge`` is the load balancer's resource id (``app/my-loadbalancer/50dc6c495c0c9188``);
- ``client_ip`` is the client address without its port;
- ``method``/``path`` come from the request line, whose URL is absolute
  (``GET https://host:443/v2/ HTTP/1.1`` → ``/v2/``); a malformed request (``- ://-:- -``)
  keeps the row as a request with null method and path;
- ``error_message`` is ``error_reason`` when it is not ``-`` (``LambdaInvalidResponse``, ...).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import polars as pl

from rca.ingest.formats._base import KIND, MALFORMED, OTHER, REQUEST, ParseState
from rca.ingest.formats._common import dash_null, finish, path_only
from rca.ingest.formats._log_format import QUOTED, iso_time, sniff_share, unescape

# A field that AWS writes quoted, or (older lines) bare.
_FIELD = rf'"{QUOTED}"|[^ "]*'
_NUM = r"-?[0-9]+(?:\.[0-9]+)?"
_HEAD = (
    r"^(?:(?P<type>[a-z0-9]+) )?"
    r"(?P<time>[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z?) (?P<elb>[^ ]+) (?P<client>[^ ]+) (?P<target>[^ ]+) "
    rf"(?P<t1>{_NUM}) (?P<t2>{_NUM}) (?P<t3>{_NUM}) (?P<elb_status>[0-9]{{3}}|-) [^ ]+ "
    r"(?:[0-9]+|-) (?P<sent>[0-9]+|-) "
    rf'"(?P<request>{QUOTED})" "(?P<user_agent>{QUOTED})" [^ ]+ [^ ]+'
)
# Fields after ssl_protocol, by position; only the ones named here are read. Each later field
# is optional (nested), so shorter lines from before AWS added it still match.
_TAIL_FIELDS = [
    "target_group_arn",
    "trace_id",
    "domain_name",
    "chosen_cert_arn",
    "matched_rule_priority",
    "request_creation_time",
    "actions_executed",
    "redirect_url",
    "error_reason",
]
_WANTED = {"request_creation_time", "error_reason"}


def _tail() -> str:
    out = "(?: .*)?"  # anything AWS adds after error_reason
    for name in reversed(_TAIL_FIELDS):
        group = f"(?P<{name}>{_FIELD})" if name in _WANTED else f"(?:{_FIELD})"
        out = f"(?: {group}{out})?"
    return out + "$"


_PATTERN = _HEAD + _tail()
#: How every line _PATTERN reads starts: sniffing skips the parse on a sample without one.
_START = re.compile(r"(?:[a-z0-9]+ )?[0-9]{4}-[0-9]{2}-[0-9]{2}T")
_REQUEST = r"^([!#$%&\'*+.^_`|~0-9A-Za-z-]+) (.*?)(?: HTTP/[0-9.]+)?$"


#: Groups of _PATTERN, in its order; both readers below give exactly these columns.
_GROUPS = [
    "type", "time", "elb", "client", "target", "t1", "t2", "t3", "elb_status", "sent",
    "request", "user_agent", "request_creation_time", "error_reason",
]  # fmt: skip
# The current ALB layout, as one anchored pattern without captures (the regex engine's fast
# path): 12 bare fields, then quoted and bare ones as AWS writes them today, then anything.
# On a line without ``\\"`` a quoted field is ``"[^"]*"`` exactly as _PATTERN's QUOTED reads
# it, so a line matching this is read by _PATTERN as the splits below read it.
_Q = r'"[^"]*"'
_B = r'[^ "]+'  # a bare field; no quote in it, or the cuts at quotes would be off
_LAYOUT = (
    rf"^[a-z0-9]+ [0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}T[0-9:.]+Z? {_B} {_B} {_B} "
    rf"{_NUM} {_NUM} {_NUM} (?:[0-9]{{3}}|-) {_B} (?:[0-9]+|-) (?:[0-9]+|-) "
    rf'{_Q} {_Q} {_B} {_B} [^ "]* {_Q} {_Q} {_Q} [^ "]* [^ "]* {_Q} {_Q} {_Q}(?: .*)?$'
)
#: Head fields (space-separated, before the first quote) that _PATTERN names, by position.
_HEAD_NAMES = {0: "type", 1: "time", 2: "elb", 3: "client", 4: "target", 5: "t1", 6: "t2",
               7: "t3", 8: "elb_status", 11: "sent"}  # fmt: skip


def _fields(line: pl.Series) -> pl.DataFrame:
    """The _PATTERN groups of each line.

    A capturing regex this long costs ~15 µs a line in the regex engine. Lines in the
    current layout (nearly all) are instead checked with a capture-free pattern and cut
    at their quotes and spaces; the others (older layouts, escaped quotes, anything odd)
    take the capturing regex.
    """
    frame = pl.DataFrame(line.rename("line"))
    ok = frame.select(
        pl.col("line").str.contains(_LAYOUT) & ~pl.col("line").str.contains('\\"', literal=True)
    ).to_series()
    parts = frame.select(pl.col("line").str.split_exact('"', 15)).unnest("line")
    head = parts.select(pl.col("field_0").str.split_exact(" ", 12)).unnest("field_0")
    late = parts.select(pl.col("field_10").str.split_exact(" ", 3)).unnest("field_10")
    fast = pl.DataFrame(
        [
            *[head[f"field_{i}"].rename(n) for i, n in _HEAD_NAMES.items()],
            parts["field_1"].rename("request"),
            parts["field_3"].rename("user_agent"),
            late["field_2"].rename("request_creation_time"),
            ('"' + parts["field_15"] + '"').rename("error_reason"),
        ]
    ).select(_GROUPS)
    if bool(ok.all()):
        return fast
    fast = fast.with_columns(pl.when(ok).then(pl.col(c)).alias(c) for c in _GROUPS)
    idx = (~ok).arg_true()
    slow = line.gather(idx).str.extract_groups(_PATTERN).struct.unnest()
    return fast.with_columns(fast[c].scatter(idx, slow[c]) for c in _GROUPS)


def _unquote(expr: pl.Expr) -> pl.Expr:
    return dash_null(expr.str.strip_prefix('"').str.strip_suffix('"'))


@dataclass(frozen=True)
class _ALB:
    name: str = "alb"
    description: str = "AWS Application Load Balancer (and Classic ELB) access log"
    #: No state is carried from chunk to chunk, so chunks of one file may parse in parallel.
    independent_chunks = True

    def sniff(self, lines: list[str]) -> float:
        """Share of the non-blank sample lines read as requests; never raises."""
        # A parse costs ~8 ms of the ~25 ms that detecting an nginx file took.
        if not any(_START.match(line) for line in lines):
            return 0.0
        return sniff_share(self, lines)

    def parse(self, lines: pl.Series, state: ParseState) -> pl.DataFrame:
        """Parse one chunk of lines into the canonical request fields plus ``_kind``."""
        line = lines.cast(pl.String).fill_null("").rename("line")
        raw = _fields(line).with_columns(line)
        timings = [pl.col(c).cast(pl.Float64, strict=False) for c in ("t1", "t2", "t3")]
        any_missing = pl.any_horizontal([(t < 0) | t.is_null() for t in timings])
        request = pl.col("request")
        request = (
            pl.when(request.str.contains("\\", literal=True))
            .then(unescape(request))
            .otherwise(request)
        )
        parts = request.str.extract_groups(_REQUEST)
        method = dash_null(parts.struct.field("1"))
        uri = parts.struct.field("2")
        path = path_only(uri)
        # An absolute URL without a path ("http://host:80") asks for "/".
        path = (
            pl.when(uri.str.contains("^[A-Za-z][A-Za-z0-9+.-]*://") & (path == ""))
            .then(pl.lit("/"))
            .otherwise(path)
        )
        ua = pl.col("user_agent")
        ua = pl.when(ua.str.contains("\\", literal=True)).then(unescape(ua)).otherwise(ua)
        matched = pl.col("time").is_not_null()
        out = raw.with_columns(
            ts=pl.coalesce(
                iso_time(_unquote(pl.col("request_creation_time"))), iso_time(pl.col("time"))
            ),
            client_ip=pl.col("client").str.replace(r"^\[?(.*?)\]?:[0-9]+$", "$1"),
            method=method,
            path=pl.when(method.is_not_null()).then(dash_null(path)),
            status=pl.when(pl.col("elb_status") == "-")
            .then(pl.lit(0, pl.Int16))
            .otherwise(pl.col("elb_status").cast(pl.Int16, strict=False)),
            bytes_sent=pl.col("sent").cast(pl.Int64, strict=False),
            duration_s=pl.when(any_missing)
            .then(None)
            .otherwise(pl.sum_horizontal(timings).round(6)),
            user_agent=dash_null(ua),
            upstream=dash_null(pl.col("target")),
            edge=pl.col("elb"),
            error_message=_unquote(pl.col("error_reason")),
            **{
                KIND: pl.when(pl.col("line").str.strip_chars() == "")
                .then(pl.lit(OTHER, pl.UInt8))
                .when(matched)
                .then(pl.lit(REQUEST, pl.UInt8))
                .otherwise(pl.lit(MALFORMED, pl.UInt8))
            },
        )
        return finish(out)


alb = _ALB()

FORMATS = [alb]
