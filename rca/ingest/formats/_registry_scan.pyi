"""Type stub of the compiled registry JSON scanner (``_registry_scan.c``)."""

from collections.abc import Sequence
from typing import Any

# Writable or read-only buffers (numpy arrays, bytes); typing.Buffer needs Python 3.12.
Buffer = Any

def scan(
    lines: Buffer,
    buffers: Sequence[Buffer],
    keys: Sequence[bytes],
    out: Buffer,
    valid: Buffer,
    redo: Buffer,
    aux: Buffer,
    used: Buffer,
) -> int: ...
def compact(views: Buffer, aux: Buffer, out: Buffer, text: Buffer) -> None: ...
def times(views: Buffer, buffers: Sequence[Buffer], micros: Buffer, ok: Buffer) -> int: ...
def hosts(
    views: Buffer, buffers: Sequence[Buffer], out: Buffer, valid: Buffer, refused: Buffer
) -> int: ...
