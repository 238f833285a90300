"""The accuracy benchmark script runs end to end on a tiny grid, so it cannot rot.

Only the exit code and the printed table are checked here; the ranking itself is asserted
in tests/test_accuracy.py, and runtimes are never asserted.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).parents[2] / "benchmarks" / "accuracy.py"


def test_tiny_hard_grid_prints_its_table() -> None:
    proc = subprocess.run(
        [
            sys.executable, str(SCRIPT), "--hard", "--seeds", "1", "--hours", "2",
            "--rate", "1", "--scenarios", "bad_backend", "quiet_day", "--no-record",
        ],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "- incident cases: 1;" in proc.stdout
    assert "- quiet-day cases: 1;" in proc.stdout
    assert "| bad_backend | 0 | metrics 4 min late |" in proc.stdout
    assert "| quiet_day | 0 | metrics 3 min early |" in proc.stdout
