"""Regression inputs: every file that once crashed a reader, replayed under every format.

A file is named ``<format>__<what>.<ext>``; ``<format>`` is the format it crashed under
(``auto`` for detection). Found by fuzzing (``test_fuzz.py``, ``test_atheris.py``,
``benchmarks/fuzz.py``); the fix is named in the commit that added the file.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.robustness.conftest import CRASHES
from tests.robustness.test_fuzz import LOG_FORMATS, METRICS_FORMATS, check_logs, check_metrics

CASES = sorted(p for p in CRASHES.iterdir() if not p.name.startswith("."))


def test_the_corpus_is_not_empty() -> None:
    assert CASES, f"no regression inputs in {CRASHES}"


@pytest.mark.parametrize("path", CASES, ids=[p.name for p in CASES])
def test_crash_input_no_longer_crashes(path: Path) -> None:
    fmt = path.name.split("__", 1)[0]
    assert fmt in (*LOG_FORMATS, *METRICS_FORMATS), f"{path.name}: name it <format>__<what>"
    check_logs(path)
    check_metrics(path)
