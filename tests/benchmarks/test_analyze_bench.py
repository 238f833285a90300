"""The analyze benchmark script runs end to end on a tiny input, so it cannot rot.

Only the exit code and the printed table are checked: times are never asserted.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]
SCRIPT = ROOT / "benchmarks" / "analyze.py"


def test_quick_run_prints_the_table_with_the_comparison(tmp_path: Path) -> None:
    proc = subprocess.run(
        # The tree compared with itself: the "(before)" rows must be measured too.
        [sys.executable, str(SCRIPT), "--quick", "--work", str(tmp_path), "--compare", str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout
    for tool in (
        "rca ingest",
        "rca analyze",
        "rca analyze (before)",
        "rca analyze from Parquet",
        "rca analyze from Parquet (before)",
    ):
        assert f"| nginx_timing | 2,000 | {tool} |" in out, tool
    assert "(exit " not in out
    assert "Same-run ratios" in out
    assert (tmp_path / "analyze.json").read_text() == (tmp_path / "analyzebefore.json").read_text()
