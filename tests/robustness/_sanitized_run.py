"""Child process of ``test_sanitizers``: the C extensions, built with AddressSanitizer and
UndefinedBehaviorSanitizer, fed mutated log lines and random views, compared with their
references. Run with libasan preloaded; a memory error aborts the process.

    python -m tests.robustness._sanitized_run BUILD_DIR ROUNDS LINES [REGISTRY_LINES]
"""

from __future__ import annotations

import contextlib
import importlib.util
import random
import sys
from pathlib import Path

import numpy as np
import polars as pl

from rca.ingest import _derive, _files
from rca.ingest._files import LineChunk
from rca.ingest.formats import _clf_fast, _registry_fast
from rca.ingest.formats._registry import _JSON_SCHEMA, registry_json


def _load(name: str, build: Path) -> object:
    path = next(build.glob(f"{name.rsplit('.', 1)[-1]}*.so"))
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_ALPHABET = b' "\\-/?#:,.[]+0123456789aAxXzZ5C\t\x00\x7f\xc3\xa9'
_JSON_ALPHABET = b' "\\{}[]:,.-+/0123456789eEunltrfa\t\x00\x7f\xc2\xb5\xc3\xa9\xe4\xb8\xad'
_PARTS = ["/", "/v2/", "blobs", "uploads", "manifests", "tags", "list", "a", "bcdefghijklmn", "//"]
_IP = "0123456789.:fFx%"


def _mutate(line: bytes, rnd: random.Random, alphabet: bytes = _ALPHABET) -> bytes:
    out = bytearray(line)
    for _ in range(rnd.randint(0, 6)):
        at = rnd.randint(0, len(out))
        roll = rnd.random()
        if roll < 0.4:
            out[at:at] = bytes([rnd.choice(alphabet)]) * rnd.randint(1, 3)
        elif roll < 0.8:
            del out[at : at + rnd.randint(1, 5)]
        else:
            del out[at:]
    return bytes(out)


def main() -> None:
    build, rounds = Path(sys.argv[1]), int(sys.argv[2])
    _clf_fast._scanner = _load("rca.ingest.formats._clf_scan", build)
    _derive._kernels = _load("rca.ingest._derive_kernels", build)
    _files._line_bounds = _load("rca.ingest._line_bounds", build)
    _registry_fast._scanner = _load("rca.ingest.formats._registry_scan", build)
    plain = Path(sys.argv[3]).read_bytes().splitlines()
    registry = Path(sys.argv[4]).read_bytes().splitlines() if len(sys.argv) > 4 else []
    rnd = random.Random(7)
    for _ in range(rounds):
        data = b"\n".join(_mutate(rnd.choice(plain), rnd) for _ in range(80)) + b"\n"
        view = LineChunk(data).bytes_view
        raw = np.frombuffer(data, np.uint8)
        for got, want in zip(_files.line_bounds(raw), _files.line_bounds_numpy(raw), strict=True):
            assert got.tolist() == want.tolist()
        padded = np.frombuffer(data + bytes(16), np.uint8)
        views = np.empty((len(view.starts), 2), np.uint64)
        _files._line_bounds.views(padded, view.starts, view.ends, views)
        reference = _files.string_views_numpy(padded, view.starts, view.ends)
        assert views.tolist() == reference.tolist()
        for timing in (True, False):
            got = _clf_fast.parse_fast(view, timing=timing, compiled=True, routes=True)
            want = _clf_fast.parse_fast(view, timing=timing, compiled=False)
            assert got is not None and want is not None and got.routes is not None
            assert got.rows.tolist() == want.rows.tolist()
            assert got.fields.equals(want.fields)
            routes = _derive._routes(got.fields.select("path", "method"))
            assert got.routes.equals(routes.select(_derive.ROUTE_FIELDS))
            # Skipping columns: the same lines, the other fields alike.
            skip = rnd.sample(_clf_fast.STRING_COLUMNS, rnd.randint(1, 5))
            part = _clf_fast.parse_fast(view, timing=timing, compiled=True, skip=skip)
            assert part is not None and part.rows.tolist() == want.rows.tolist()
            assert part.fields.drop(skip).equals(want.fields.drop(skip))
        n = rnd.randint(1, 40)
        paths = ["".join(rnd.choice(_PARTS) for _ in range(rnd.randint(0, 10))) for _ in range(n)]
        ips = ["".join(rnd.choice(_IP) for _ in range(rnd.randint(0, 20))) for _ in range(n)]
        frame = pl.DataFrame({"path": paths, "method": ["GET"] * n, "client_ip": ips})
        frame = pl.concat([frame, frame.slice(rnd.randint(0, n - 1))], rechunk=False)
        _derive._compiled_routes(frame)
        _derive._compiled_prefixes(frame.get_column("client_ip"))
        numbered = _derive._compiled_intern(frame.get_column("path"))
        assert numbered is not None
        assert frame["path"].gather(numbered[1]).gather(numbered[0]).equals(frame["path"])
        # Views near and past the ends of their buffers: refused, never read outside.
        views = np.zeros((n, 4), np.uint32)
        views[:, 0] = [rnd.randint(0, 100) for _ in range(n)]  # length
        views[:, 1] = [rnd.getrandbits(32) for _ in range(n)]  # prefix (or inline bytes)
        views[:, 2] = [rnd.randint(0, 2) for _ in range(n)]  # buffer index
        views[:, 3] = [rnd.randint(0, 70) for _ in range(n)]  # offset
        raw = views.view(np.uint8).reshape(n, 16)
        buffers = [np.frombuffer(rnd.randbytes(64), np.uint8).copy()]
        out = [np.empty((n, 16), np.uint8) for _ in range(3)]
        with contextlib.suppress(ValueError):
            _derive._kernels.routes(  # type: ignore[attr-defined]
                raw, buffers, raw, buffers, *out, np.zeros((2, n), np.uint8)
            )
        with contextlib.suppress(ValueError):
            _derive._kernels.ipv4_prefixes(  # type: ignore[attr-defined]
                raw,
                buffers,
                np.ones(n, np.uint8),
                np.empty((n, 16), np.uint8),
                np.empty((n, 16), np.uint8),
                np.zeros(n, np.uint8),
                np.empty(n, np.uint8),
            )
        with contextlib.suppress(ValueError):
            _derive._kernels.intern(  # type: ignore[attr-defined]
                raw,
                buffers,
                np.ones(n, np.uint8),
                rnd.getrandbits(64),
                np.empty(n, np.int32),
                np.empty(n, np.int32),
            )
        # detach: the same wild views, with data sized right for the in-bounds long ones
        # and wrong for the rest (refused before any write past it).
        lengths = views[:, 0].astype(np.int64)
        long = int(lengths[lengths > 12].sum())
        with contextlib.suppress(ValueError):
            _files._line_bounds.detach(  # type: ignore[union-attr]
                raw,
                buffers,
                np.ones(n, np.uint8),
                np.empty((n, 16), np.uint8),
                np.empty(rnd.choice([long, max(0, long - 1), 13]), np.uint8),
            )
        with contextlib.suppress(ValueError):
            _files._line_bounds.long_bytes(  # type: ignore[union-attr]
                raw, np.ones(n, np.uint8), np.zeros(rnd.randint(0, 3), np.int64)
            )
        # and real columns (sliced, several buffers, nulls) through detached.
        column = pl.Series([p if p else None for p in paths] + ["x" * 70_000], dtype=pl.String)
        column = pl.concat([column.head(n), column.slice(rnd.randint(0, n - 1), n)], rechunk=False)
        assert _files.detached(column).to_list() == column.to_list()
        if registry:
            _registry_round(registry, rnd)
    print("sanitized run: clean")


def _registry_round(registry: list[bytes], rnd: random.Random) -> None:
    """Mutated registry JSON lines through the scanner and Polars' decoder (equal frames);
    views near and past the ends of their buffers, and an aux too small, through the
    scanner alone."""
    data = b"\n".join(_mutate(rnd.choice(registry), rnd, _JSON_ALPHABET) for _ in range(60))
    lines = LineChunk(data + b"\n").lines
    got = registry_json.parse_independent(lines)
    held, _registry_fast._scanner = _registry_fast._scanner, None
    want = registry_json.parse_independent(lines)
    _registry_fast._scanner = held
    assert got.equals(want) and got.schema == want.schema
    n = rnd.randint(1, 30)
    keys = [key.encode() for key in _JSON_SCHEMA]
    buffers = [
        np.frombuffer(rnd.choice(registry)[: rnd.randint(0, 900)], np.uint8).copy()
        for _ in range(rnd.randint(1, 3))
    ]
    views = np.zeros((n, 4), np.uint32)
    views[:, 0] = [rnd.randint(0, 1000) for _ in range(n)]  # length
    views[:, 1] = [rnd.getrandbits(32) for _ in range(n)]  # prefix (or inline bytes)
    views[:, 2] = [rnd.randint(0, len(buffers)) for _ in range(n)]  # buffer index
    views[:, 3] = [rnd.randint(0, 900) for _ in range(n)]  # offset
    out = np.empty((len(keys), n, 16), np.uint8)
    aux = np.empty(rnd.randint(0, 2000), np.uint8)
    with contextlib.suppress(ValueError):
        held.scan(  # type: ignore[attr-defined]
            views.view(np.uint8),
            buffers,
            keys,
            out,
            np.empty((len(keys), (n + 7) // 8), np.uint8),
            np.empty(n, np.uint8),
            aux,
            np.empty(len(keys), np.int64),
        )
    # times over the same wild views, and over mutated time stamps.
    with contextlib.suppress(ValueError):
        held.times(  # type: ignore[attr-defined]
            views.view(np.uint8), buffers, np.empty(n, np.int64), np.empty(n, np.uint8)
        )
    with contextlib.suppress(ValueError):
        held.hosts(  # type: ignore[attr-defined]
            views.view(np.uint8),
            buffers,
            np.empty((n, 16), np.uint8),
            np.zeros((n + 7) // 8, np.uint8),
            np.empty(n, np.uint8),
        )
    addresses = [
        _mutate(b"203.0.113.7:5000, 10.0.0.1", rnd, b"0123456789:.,[] -") for _ in range(n)
    ]
    _registry_fast.client_hosts(pl.Series([a.decode() for a in addresses], dtype=pl.String))
    stamps = [
        _mutate(b"2021-03-12T08:14:00.123456789+02:00", rnd, b"0123456789T:.+-Z ") for _ in range(n)
    ]
    _registry_fast.rfc3339_times(pl.Series([t.decode() for t in stamps], dtype=pl.String))
    # compact over random views: offsets past aux, text too small.
    views[:, 2] = 0
    with contextlib.suppress(ValueError):
        held.compact(  # type: ignore[attr-defined]
            views.view(np.uint8),
            aux,
            np.empty((n, 16), np.uint8),
            np.empty(rnd.randint(0, 900), np.uint8),
        )


if __name__ == "__main__":
    main()
