"""Coverage-guided fuzz target (atheris / libFuzzer) for the log and metrics readers.

Run as a script: ``python -m tests.robustness._atheris_target -max_total_time=60
-artifact_prefix=DIR/ [CORPUS_DIR ...]``. Each input is written to a file and read with
``parse_logs`` and ``parse_metrics`` (auto-detection, then one explicit format chosen by
the first byte), split into lines by the compiled kernel and its numpy reference, and
scanned by the compiled scanners (C, not instrumented, so found by their crashes) and their
references: the combined family's with its numpy twin, registry_json's with Polars' JSON
decoder (the parsed frames must be equal); each pair must agree. Anything but an
``RCAError``, a disagreement, or counts that do not reconcile, is a crash:
libFuzzer saves the input under the artifact prefix and exits non-zero. Add such a file to
``tests/robustness/corpus/crashes/`` once fixed.
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
from pathlib import Path

import atheris
import numpy as np

with atheris.instrument_imports(include=["rca"]):
    from rca._errors import RCAError
    from rca.ingest import _derive, _files, parse_logs, parse_metrics
    from rca.ingest._files import LineChunk
    from rca.ingest.formats import _clf_fast, _registry_fast, all_formats
    from rca.ingest.formats._registry import registry_json
    from rca.ingest.metrics import METRIC_FORMATS

LOG_FORMATS = ["auto", *(f.name for f in all_formats())]
METRICS = ["auto", *METRIC_FORMATS]
_DIR = Path(tempfile.mkdtemp(prefix="rca-atheris-"))
_PATH = _DIR / "input"


def _reconciled(quality: object) -> None:
    for row in quality.iter_rows(named=True):  # type: ignore[attr-defined]
        if row["lines"] != row["records"] + row["malformed"] + row["other"]:
            raise AssertionError(f"counts do not reconcile: {row}")


def _scanners_agree(data: bytes, *, timing: bool) -> None:
    if not data.endswith(b"\n"):
        data += b"\n"  # a chunk holds whole lines, as iter_line_chunks makes them
    if _files._line_bounds is not None:
        raw = np.frombuffer(data, np.uint8)
        got, want = _files.line_bounds(raw), _files.line_bounds_numpy(raw)
        if any(a.tolist() != b.tolist() for a, b in zip(got, want, strict=True)):
            raise AssertionError("the compiled line bounds and the numpy reference disagree")
    if _clf_fast._scanner is None:
        return
    view = LineChunk(data).bytes_view
    compiled = _clf_fast.parse_fast(view, timing=timing, compiled=True, routes=True)
    reference = _clf_fast.parse_fast(view, timing=timing, compiled=False)
    if compiled is None or reference is None:
        return
    if compiled.rows.tolist() != reference.rows.tolist() or not compiled.fields.equals(
        reference.fields
    ):
        raise AssertionError("the compiled scanner and the numpy reference disagree")
    routes = _derive._routes(compiled.fields.select("path", "method"))
    if compiled.routes is None or not compiled.routes.equals(routes.select(_derive.ROUTE_FIELDS)):
        raise AssertionError("the scanner's routes and the expressions disagree")
    skip = ["client_ip", "user_agent", "upstream"]  # what the aggregates leave out
    part = _clf_fast.parse_fast(view, timing=timing, compiled=True, skip=skip)
    if part is None or part.rows.tolist() != compiled.rows.tolist():
        raise AssertionError("skipping columns changed the lines the scanner takes")
    if not part.fields.drop(skip).equals(reference.fields.drop(skip)):
        raise AssertionError("skipping columns changed the fields kept")


def _registry_scanner_agrees(data: bytes) -> None:
    held = _registry_fast._scanner
    if held is None:
        return
    if not data.endswith(b"\n"):
        data += b"\n"
    lines = LineChunk(data).lines
    compiled = registry_json.parse_independent(lines)
    _registry_fast._scanner = None
    try:
        reference = registry_json.parse_independent(lines)
    finally:
        _registry_fast._scanner = held
    if not compiled.equals(reference) or compiled.schema != reference.schema:
        raise AssertionError("the registry JSON scanner and Polars' decoder disagree")


def test_one_input(data: bytes) -> None:
    if not data:
        return
    pick = data[0]
    _PATH.write_bytes(data[1:])
    for fmt in ("auto", LOG_FORMATS[pick % len(LOG_FORMATS)]):
        with contextlib.suppress(RCAError):
            _reconciled(parse_logs(_PATH, format=fmt).quality)
    _scanners_agree(data[1:], timing=bool(pick & 1))
    _registry_scanner_agrees(data[1:])
    for fmt in ("auto", METRICS[pick % len(METRICS)]):
        with contextlib.suppress(RCAError):
            _reconciled(parse_metrics(_PATH, format=fmt).quality)


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
