"""Shared benchmark plumbing: run a command in a child process, measure wall time and peak
RSS, and record a results section in benchmarks/RESULTS.md.

Peak RSS comes from ``/usr/bin/time`` wrapped around the child (``os.wait4`` from a big
Python parent would count the forked parent's pages), so every measured tool (wc,
GoAccess, Python snippets, ``rca``) is measured the same way. Times are never asserted anywhere: the machines
are shared and noisy, which is why each benchmark runs its baselines side by side in one run.
"""

from __future__ import annotations

import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")


@dataclass(frozen=True)
class Run:
    """One measured child process."""

    label: str
    seconds: float
    peak_rss_mb: float
    returncode: int
    cpu_seconds: float = 0.0  # user + system time of the child: robust on a shared machine


def measure(
    label: str,
    argv: list[str],
    *,
    stdout: int | None = subprocess.DEVNULL,
    env: dict[str, str] | None = None,
) -> Run:
    """Run ``argv`` to completion; return its wall time and peak resident memory."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as report:
        timed = ["/usr/bin/time", "-f", "rca-time %M %U %S", "-o", report.name, *argv]
        start = time.perf_counter()
        proc = subprocess.run(timed, stdout=stdout, stderr=subprocess.PIPE, env=env, check=False)
        seconds = time.perf_counter() - start
        # /usr/bin/time may add a "Command exited with non-zero status" line first.
        lines = [ln.split() for ln in report.read().splitlines() if ln.startswith("rca-time ")]
    peak_kb, user, system = (
        (int(lines[-1][1]), float(lines[-1][2]), float(lines[-1][3])) if lines else (0, 0.0, 0.0)
    )
    if proc.returncode != 0:
        err = proc.stderr.decode(errors="replace").strip()[-400:]
        print(f"  ! {label} exited {proc.returncode}: {err}", file=sys.stderr)
    return Run(label, seconds, peak_kb / 1024, proc.returncode, user + system)


def python_snippet(code: str) -> list[str]:
    """argv that runs ``code`` in a fresh interpreter (so its memory is measured alone)."""
    return [sys.executable, "-c", code]


def machine() -> str:
    """CPU model, core count and memory, for the results header."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = next(
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        )
        mem = f"{mem_kb / 1024 / 1024:.0f} GiB"
    except (OSError, StopIteration):
        mem = "?"
    return f"{cpu}, {os.cpu_count()} cores, {mem}"


def record(section: str, body: str) -> None:
    """Replace (or add) ``## section`` in RESULTS.md with ``body``, stamped with date and machine."""
    stamp = (
        f"_{datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine()}; command: `{' '.join(sys.argv)}`_"
    )
    block = f"## {section}\n\n{stamp}\n\n{body.strip()}\n"
    text = (
        RESULTS.read_text()
        if RESULTS.exists()
        else "# Benchmark results\n\nEach section is rewritten by the benchmark named in it.\n"
    )
    pattern = re.compile(rf"^## {re.escape(section)}\n.*?(?=^## |\Z)", re.S | re.M)
    text = (
        pattern.sub(lambda _: block + "\n", text)
        if pattern.search(text)
        else text.rstrip() + "\n\n" + block
    )
    RESULTS.write_text(text)
    print(block)


def table(header: list[str], rows: list[list[str]]) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)
