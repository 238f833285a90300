"""Type stub of the compiled registry JSON scanner (``_registry_scan.c``)."""

from collections.abc import Sequence
from typing import Any

# Writable or read-only buffers (numpy arrays, bytes); typing.Buffer needs Python 3.12.
Buffer = Any

def scan(
    lines: Buffer,
    buffers: Sequence[Buffer],
    kind: Buffer,
    ts: Buffer,
    duration: Buffer,
    status: Buffer,
    written: Buffer,
    strings: Buffer,
    valid: Buffer,
    aux: Buffer,
) -> tuple[int, int]: ...
