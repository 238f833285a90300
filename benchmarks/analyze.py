"""Speed and peak memory of ``rca analyze``, from log files and from ``rca ingest`` Parquet.

    python benchmarks/analyze.py --work /tmp/w6                         # 1M and 4M nginx lines
    python benchmarks/analyze.py --work /tmp/w6 --sizes 10000000 --section "analyze memory (10M)"
    python benchmarks/analyze.py --work /tmp/w6 --compare /path/to/older/checkout
    python benchmarks/analyze.py --quick                                 # tiny smoke run

Inputs are the nginx_timing files of ``benchmarks/ingest.py`` (the same ``--work`` folder
reuses them). For each size it measures, each in its own child process: ``rca ingest`` to
Parquet, ``rca analyze`` end to end from the log file with the scenario's metric series,
and ``rca analyze`` again from the Parquet file. With ``--compare TREE`` the two analyses
are also run with ``TREE`` first on ``PYTHONPATH`` (an older checkout), interleaved with
the current ones, so before/after figures come from the same run on the same files.
Figures go to stdout and to the "analyze memory" section (``--section``) of
benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import Run, measure, record, table
from ingest import HEADER, fmt_row, make_input

# -P: the working directory must not shadow PYTHONPATH, which picks the checkout measured.
RCA = [sys.executable, "-P", "-m", "rca"]
FMT = "nginx_timing"
HERE = Path(__file__).resolve().parents[1]


def _env(tree: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(tree), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def _ratio(runs: dict[str, Run], a: str, b: str) -> str:
    if a not in runs or b not in runs or not runs[b].seconds:
        return "n/a"
    x, y = runs[a], runs[b]
    wall = x.seconds / y.seconds
    cpu = x.cpu_seconds / y.cpu_seconds if y.cpu_seconds else 0.0
    return f"{wall:.2f}x / {cpu:.2f}x"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 4_000_000])
    parser.add_argument("--work", type=Path, default=None, help="folder for generated inputs")
    parser.add_argument("--compare", type=Path, default=None, help="older checkout to compare")
    parser.add_argument("--quick", action="store_true", help="tiny smoke run; records nothing")
    parser.add_argument("--section", default="analyze memory", help="RESULTS.md section to write")
    args = parser.parse_args()
    sim = {"hours": 24.0, "rate": 3.0}
    if args.quick:
        args.sizes = [2000]
        sim = {"hours": 12.0, "rate": 0.2}
    work = args.work or Path(tempfile.mkdtemp(prefix="rca-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    now = _env(HERE)
    trees = [("", now)]
    if args.compare:
        trees.append((" (before)", _env(args.compare.resolve())))

    rows: list[list[str]] = []
    bar: list[list[str]] = []
    for n in args.sizes:
        path, metrics = make_input(FMT, n, work, **sim)
        size_mb = path.stat().st_size / 1e6
        print(f"{FMT} {n:,} lines ({size_mb:,.0f} MB)", flush=True)
        path.read_bytes()  # warm the page cache so every run reads from memory
        parquet = work / f"{FMT}-{n}.parquet"
        runs = [
            measure(
                "rca ingest",
                [*RCA, "ingest", "--quiet", "--logs", str(path), "-o", str(parquet)],
                env=now,
            )
        ]
        for source, label in ((path, "rca analyze"), (parquet, "rca analyze from Parquet")):
            for suffix, env in trees:
                out = work / f"analyze{suffix.strip(' ()')}.json"
                argv = [*RCA, "analyze", "--quiet", "--logs", str(source)]
                argv += ["--metrics", str(metrics), "--json", str(out)]
                runs.append(measure(label + suffix, argv, env=env))
        by = {r.label: r for r in runs}
        for run in runs:
            rows.append(fmt_row(FMT, n, size_mb, run))
            print("  " + " | ".join(rows[-1][2:]), flush=True)
        bar.append(
            [
                f"{n:,}",
                _ratio(by, "rca analyze", "rca ingest"),
                f"{by['rca analyze from Parquet'].seconds:.2f}",
                _ratio(by, "rca analyze (before)", "rca analyze"),
                _ratio(by, "rca analyze from Parquet (before)", "rca analyze from Parquet"),
            ]
        )
    body = (
        table(HEADER, rows)
        + "\n\nSame-run ratios:\n\n"
        + table(
            [
                "lines",
                "rca analyze / rca ingest (wall / CPU)",
                "analyze from Parquet s",
                "before / now, from logs (wall / CPU)",
                "before / now, from Parquet (wall / CPU)",
            ],
            bar,
        )
    )
    if args.quick:
        print(body)
        return
    record(args.section, body)


if __name__ == "__main__":
    main()
