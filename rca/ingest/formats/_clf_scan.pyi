"""Type stub of the compiled scanner (``_clf_scan.c``)."""

from typing import Any

# Writable or read-only buffers (numpy arrays, bytes); typing.Buffer needs Python 3.12.
Buffer = Any

def scan(
    buf: Buffer,
    starts: Buffer,
    ends: Buffer,
    odd: Buffer,
    timing: bool,
    kind: Buffer,
    rows: Buffer,
    ts: Buffer,
    status: Buffer,
    bytes_sent: Buffer,
    duration: Buffer,
    views: Buffer,
    valid: Buffer,
    aux: Buffer,
    redo: Buffer,
    endpoint: Buffer = ...,
    routes: Buffer = ...,
    route_valid: Buffer = ...,
    *,
    skip: int = 0,
) -> tuple[int, int]: ...
