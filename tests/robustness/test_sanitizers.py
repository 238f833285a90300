"""The C extensions under AddressSanitizer and UndefinedBehaviorSanitizer.

Log text is attacker-controlled and the compiled hot paths read it with raw pointers. Here
both extensions are rebuilt with ``-fsanitize=address,undefined`` and a child process runs
mutated log lines and random string views through them (``_sanitized_run``), comparing
with the numpy / Polars references; any read or write outside a buffer aborts it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = {
    "_clf_scan": ROOT / "rca" / "ingest" / "formats" / "_clf_scan.c",
    "_derive_kernels": ROOT / "rca" / "ingest" / "_derive_kernels.c",
    "_line_bounds": ROOT / "rca" / "ingest" / "_line_bounds.c",
    "_registry_scan": ROOT / "rca" / "ingest" / "formats" / "_registry_scan.c",
}


def _libasan() -> str | None:
    gcc = shutil.which("gcc")
    if gcc is None:
        return None
    found = subprocess.run(
        [gcc, "-print-file-name=libasan.so"], capture_output=True, text=True, check=False
    ).stdout.strip()
    return found if os.path.isabs(found) and os.path.exists(found) else None


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_c_extensions_are_clean_under_asan_and_ubsan(tmp_path: Path, real_apache: Path) -> None:
    libasan = _libasan()
    if libasan is None:
        pytest.skip("gcc with AddressSanitizer is not installed")
    include = sysconfig.get_paths()["include"]
    suffix = sysconfig.get_config_var("EXT_SUFFIX")
    for name, source in SOURCES.items():
        subprocess.run(
            [
                "gcc", "-shared", "-fPIC", "-O1", "-g", "-fno-omit-frame-pointer",
                "-fsanitize=address,undefined", "-fno-sanitize-recover=undefined",
                f"-I{include}", str(source), "-o", str(tmp_path / f"{name}{suffix}"),
            ],
            check=True,
        )  # fmt: skip
    lines = tmp_path / "lines.log"
    sample = real_apache.read_bytes().splitlines()[:300]
    sim = ROOT / "sample_logs"
    extra = [p for p in sim.rglob("*.log") if p.stat().st_size < 50_000_000][:1]
    for path in extra:
        sample += path.read_bytes().splitlines()[:300]
    lines.write_bytes(b"\n".join(sample) + b"\n")
    registry = tmp_path / "registry.log"
    registry.write_bytes(b"\n".join(_registry_lines(tmp_path / "sim")) + b"\n")
    env = {
        **os.environ,
        "LD_PRELOAD": libasan,
        "ASAN_OPTIONS": "detect_leaks=0:abort_on_error=1",
        "UBSAN_OPTIONS": "print_stacktrace=1",
    }
    proc = subprocess.run(
        [
            *(sys.executable, "-m", "tests.robustness._sanitized_run"),
            *(str(tmp_path), "300", str(lines), str(registry)),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "sanitized run: clean" in proc.stdout


def _registry_lines(folder: Path) -> list[bytes]:
    """Registry JSON lines: the fuzz seeds, the duration crash input, a simulated hour."""
    from rca.simulate import simulate

    corpus = ROOT / "tests" / "robustness" / "corpus"
    out = (corpus / "seeds" / "registry_json.log").read_bytes().splitlines()
    out += (
        (corpus / "crashes" / "registry_json__scanner_duration_last_bit.log")
        .read_bytes()
        .splitlines()
    )
    simulate("storage_latency", folder, seed=1, log_format="registry_json", hours=1, rate=1)
    for path in sorted((folder / "logs").iterdir()):
        out += path.read_bytes().splitlines()[:200]
    return out
