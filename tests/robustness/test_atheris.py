"""A one-minute coverage-guided fuzz of the readers with atheris (libFuzzer), in CI.

Seeds are ``corpus/seeds`` and ``corpus/crashes`` (prefixed with a format-picking byte by
libFuzzer's mutations, not by us). The run is a child process, so a crash in native code
cannot take pytest down; a crashing input is kept and its path shown. The longer run is
``benchmarks/fuzz.py``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.robustness.conftest import CRASHES, SEEDS

pytest.importorskip("atheris")

FUZZ_SECONDS = int(os.environ.get("RCA_FUZZ_SECONDS", "60"))
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.fuzz
@pytest.mark.slow
@pytest.mark.timeout(FUZZ_SECONDS + 240)
def test_atheris_finds_no_crash_in_a_minute(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for src in [*SEEDS.iterdir(), *CRASHES.iterdir()]:
        shutil.copy(src, corpus / src.name)
    artifacts = tmp_path / "artifacts"
    artifacts.mkdir()
    proc = subprocess.run(
        [
            sys.executable, "-m", "tests.robustness._atheris_target",
            f"-max_total_time={FUZZ_SECONDS}", "-rss_limit_mb=4096", "-timeout=60",
            "-max_len=65536", f"-artifact_prefix={artifacts}/", str(corpus),
        ],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    crashes = sorted(artifacts.iterdir())
    kept = []
    for crash in crashes:
        keep = ROOT / "tests" / "robustness" / "corpus" / "new" / crash.name
        keep.parent.mkdir(exist_ok=True)
        shutil.copy(crash, keep)
        kept.append(str(keep))
    assert proc.returncode == 0 and not crashes, (kept, proc.stderr[-3000:])
    assert "Done" in proc.stderr or "DONE" in proc.stderr, proc.stderr[-2000:]
