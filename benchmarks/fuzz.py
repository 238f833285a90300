"""The long robustness run (issue 7): fuzzing for minutes instead of CI's one, and the
full-size load cases that do not fit CI.

    python benchmarks/fuzz.py                       # 10 min atheris + 500 Hypothesis examples
    python benchmarks/fuzz.py --seconds 3600 --examples 2000
    python benchmarks/fuzz.py --load                # + 2,000 files, 10M lines, 1M series, a week

Fuzzing: ``tests/robustness/_atheris_target.py`` under libFuzzer (coverage-guided, seeded
with ``tests/robustness/corpus``) and the Hypothesis properties of
``tests/robustness/test_fuzz.py`` with more examples. A crashing input is copied to
``tests/robustness/corpus/new/``: fix the reader, then move it to ``corpus/crashes/``.

Load: each case runs ``rca analyze`` in a child process measured by ``_harness.measure``
(wall time, peak RSS); it must exit 0, or 2 with a message naming the limit. Results go to
the "fuzz" section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import measure, record, table

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "robustness" / "corpus"
T0 = datetime(2021, 4, 1, tzinfo=UTC)


def atheris_run(seconds: int, work: Path) -> list[str]:
    corpus = work / "corpus"
    corpus.mkdir()
    for src in [*(CORPUS / "seeds").iterdir(), *(CORPUS / "crashes").iterdir()]:
        shutil.copy(src, corpus / src.name)
    artifacts = work / "artifacts"
    artifacts.mkdir()
    start = time.perf_counter()
    proc = subprocess.run(
        [
            sys.executable, "-m", "tests.robustness._atheris_target",
            f"-max_total_time={seconds}", "-rss_limit_mb=4096", "-timeout=120",
            "-max_len=65536", "-print_final_stats=1", f"-artifact_prefix={artifacts}/",
            str(corpus),
        ],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    wall = time.perf_counter() - start
    execs = re.search(r"stat::number_of_executed_units:\s*(\d+)", proc.stderr)
    cov = re.findall(r"cov: (\d+)", proc.stderr)
    crashes = _keep(artifacts)
    return [
        "atheris (libFuzzer)",
        f"{wall:.0f} s",
        f"{int(execs.group(1)):,}" if execs else "?",
        cov[-1] if cov else "?",
        f"{len(list(corpus.iterdir())):,}",
        ", ".join(crashes) or "none",
    ]


def hypothesis_run(examples: int) -> list[str]:
    env = {**os.environ, "RCA_FUZZ_EXAMPLES": str(examples)}
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "tests/robustness/test_fuzz.py", "-k", "mutated or random"],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    wall = time.perf_counter() - start
    summary = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else "?"
    failures = "none" if proc.returncode == 0 else summary
    return ["Hypothesis (3 properties)", f"{wall:.0f} s", f"{examples:,} per property", "-",
            "-", failures]  # fmt: skip


def _keep(artifacts: Path) -> list[str]:
    kept = []
    for crash in sorted(artifacts.iterdir()):
        dest = CORPUS / "new" / crash.name
        dest.parent.mkdir(exist_ok=True)
        shutil.copy(crash, dest)
        kept.append(str(dest.relative_to(ROOT)))
    return kept


def _line(t: datetime, i: int) -> str:
    status = 503 if i % 97 == 0 else 200
    return (
        f"203.0.{i % 250}.{i % 199} - - [{t:%d/%b/%Y:%H:%M:%S +0000}] "
        f'"GET /v2/library/app{i % 7}/manifests/{i % 5} HTTP/1.1" {status} 512 "-" '
        f'"docker/20.10.7 go/go1.13.15 os/linux"\n'
    )


def load_cases(work: Path, lines: int, series: int, files: int) -> list[list[str]]:
    rows = []
    rca = [sys.executable, "-m", "rca", "analyze", "--quiet", "--json", str(work / "r.json")]

    folder = work / "many"
    for f in range(files):
        sub = folder / f"host-{f // 100:02d}"
        sub.mkdir(parents=True, exist_ok=True)
        t = T0 + timedelta(minutes=f)
        (sub / f"access-{f:04d}.log").write_text(
            "".join(_line(t + timedelta(seconds=s), s) for s in range(5))
        )
    rows.append(_measured(f"{files:,} small files", [*rca, "--logs", str(folder)], work))

    big = work / "big.log"
    with big.open("w") as fh:
        step = 86_400 / lines * 7
        for i in range(lines):
            fh.write(_line(T0 + timedelta(seconds=i * step), i))
    size = big.stat().st_size / 1e6
    rows.append(
        _measured(f"{lines:,} lines ({size:,.0f} MB), one week", [*rca, "--logs", str(big)], work)
    )

    prom = work / "series.prom"
    ms = int(T0.timestamp() * 1000)
    with prom.open("w") as fh:
        for s in range(series):
            fh.write(f'up{{instance="10.{s // 62500}.{s // 250 % 250}.{s % 250}:9100"}} 1 {ms}\n')
    small = work / "small.log"
    small.write_text("".join(_line(T0 + timedelta(seconds=s), s) for s in range(3600)))
    rows.append(
        _measured(
            f"{series:,} metric series", [*rca, "--logs", str(small), "--metrics", str(prom)], work
        )
    )
    return rows


def _measured(label: str, argv: list[str], work: Path) -> list[str]:
    err = work / "stderr.txt"
    run = measure(label, ["sh", "-c", " ".join(f"'{a}'" for a in argv) + f" 2>{err}"])
    message = (
        err.read_text().strip().splitlines()[-1][:160]
        if err.exists() and err.read_text().strip()
        else ""
    )
    outcome = "completed" if run.returncode == 0 else f"exit {run.returncode}: {message}"
    return [label, f"{run.seconds:.1f}", f"{run.peak_rss_mb:,.0f}", outcome]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=600, help="atheris run length")
    parser.add_argument("--examples", type=int, default=500, help="Hypothesis examples")
    parser.add_argument("--load", action="store_true", help="also run the full-size load cases")
    parser.add_argument("--lines", type=int, default=10_000_000)
    parser.add_argument("--series", type=int, default=1_000_000)
    parser.add_argument("--files", type=int, default=2_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="rca-fuzz-") as tmp:
        work = Path(tmp)
        fuzz = [atheris_run(args.seconds, work), hypothesis_run(args.examples)]
        body = table(["fuzzer", "wall", "executions", "coverage", "corpus", "crashes"], fuzz)
        if args.load:
            (work / "load").mkdir()
            load = load_cases(work / "load", args.lines, args.series, args.files)
            body += "\n\nLoad (`rca analyze` in a child; peak RSS from /usr/bin/time):\n\n"
            body += table(["case", "seconds", "peak RSS MB", "outcome"], load)
    record("fuzz", "Written by `benchmarks/fuzz.py`.\n\n" + body)


if __name__ == "__main__":
    main()
