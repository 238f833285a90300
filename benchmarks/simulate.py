"""How long `rca simulate` takes for a 24-hour window at 3 requests/s (the bar: under a
minute), per scenario and log format, measured in a child process with its peak RSS.

Run: ``python benchmarks/simulate.py [SCENARIO:FORMAT ...]``. Appends rows to the
``## simulate`` section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _harness import RESULTS, machine, measure

DEFAULT = (
    "lb_cpu_saturation:nginx_timing",
    "cdn_client_hang:cloudfront",
    "quiet_day:registry_json",
)
HEADER = (
    "## simulate\n\n"
    "Written by `benchmarks/simulate.py`: `rca simulate SCENARIO --hours 24 --rate 3` in a child "
    "process (wall time includes interpreter start-up). One row per scenario and run.\n\n"
    "| date (UTC) | machine | scenario | log format | requests | log MB | seconds | peak RSS MB |\n"
    "|---|---|---|---|---|---|---|---|\n"
)


def main(cases: list[str]) -> None:
    import json

    rows = []
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M")
    for case in cases:
        scenario, fmt = case.split(":")
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "s"
            argv = [sys.executable, "-m", "rca", "simulate", scenario, "-o", str(out)]
            argv += ["--hours", "24", "--rate", "3", "--seed", "1", "--log-format", fmt]
            run = measure(f"{scenario}:{fmt}", argv)
            truth = json.loads((out / "truth.json").read_text())
            size = sum(p.stat().st_size for p in (out / "logs").iterdir()) / 1e6
        row = (
            f"| {when} | {machine()} | {scenario} | {fmt} | {truth['lines']['requests']:,} | "
            f"{size:.0f} | {run.seconds:.1f} | {run.peak_rss_mb:.0f} |"
        )
        print(row)
        rows.append(row)
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n\n"
    if "## simulate" not in text:
        text = text.rstrip("\n") + "\n\n" + HEADER
        text += "\n".join(rows) + "\n"
    else:
        head, rest = text.split("## simulate", 1)
        # Insert after the section's last table row.
        lines = rest.split("\n")
        last = max(i for i, ln in enumerate(lines) if ln.startswith("|"))
        lines[last + 1 : last + 1] = rows
        text = head + "## simulate" + "\n".join(lines)
    RESULTS.write_text(text)


if __name__ == "__main__":
    main(sys.argv[1:] or list(DEFAULT))
