"""The ingest benchmark script runs end to end on a tiny input, so it cannot rot.

Only the exit code and the printed table are checked: times are never asserted.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).parents[2] / "benchmarks" / "ingest.py"


def test_quick_run_prints_the_table(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--work", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout
    assert "| format | lines | tool | seconds | CPU s |" in out
    for tool in ("wc -l", "naive Polars", "rca ingest", "rca to aggregates", "rca analyze"):
        assert f"| nginx_timing | 2,000 | {tool} |" in out, tool
    # Every measured child succeeded (a failing one is labelled with its exit code).
    assert "(exit " not in out
    assert "Same-run ratios" in out
