"""Ingest speed and memory, side by side with the baselines issue 6 names, in one run.

    python benchmarks/ingest.py                     # 1M and 4M lines, all formats, 3 rounds (~45 min)
    python benchmarks/ingest.py --sizes 200000 --repeat 1  # quicker
    python benchmarks/ingest.py --big-gb 10         # add the larger-than-cache memory run
    python benchmarks/ingest.py --sizes --big-gb 10 # only the memory run
    python benchmarks/ingest.py --quick             # tiny smoke run (the test suite uses it)

Inputs are made by ``rca simulate`` and then repeated to the wanted line count. For each
format and size it measures, each in its own child process (wall time, peak RSS):

(a) ``wc -l``, the floor;  (b) a straightforward Polars pipeline (``scan_csv`` of lines, an
8-group ``str.extract_groups``, ``strptime``, ``group_by`` per minute) — nginx only;
(c) GoAccess making its HTML report (installed with apt if missing, else skipped) — nginx
only; (d) ``rca ingest`` to Parquet; (e) ``rca`` to the bucketed aggregates (parse of
the columns the aggregates read + bucket), again parsing every column, and again with
``RCA_NO_COMPILED=1`` (without the C extensions); (f) ``rca analyze`` end to end with the
scenario's metric series; (g) ``rca analyze`` again from the Parquet written by (d).
Every tool runs ``--repeat`` times (default 3) in rounds, all tools in turn, so the noise of
a shared machine falls on each alike; a row is the run with the median wall time, and the
last column shows every round's.
Figures go to stdout and to the "ingest" section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import compileall
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import Run, measure, python_snippet, record, table

import rca

FORMATS = ("nginx_timing", "registry_json", "registry_text", "alb")
RCA = [sys.executable, "-m", "rca"]

NAIVE_POLARS = r"""
import sys, polars as pl
pattern = r'^(\S+) \S+ \S+ \[([^\]]+)\] "(\S+) (\S+) [^"]*" (\d{3}) (\d+|-) "[^"]*" "([^"]*)" (\S+)'
lines = pl.scan_csv(sys.argv[1], has_header=False, separator="\x1f", quote_char=None,
                    new_columns=["line"], schema_overrides={"line": pl.String})
parsed = lines.select(pl.col("line").str.extract_groups(pattern).struct.rename_fields(
    ["ip", "time", "method", "path", "status", "bytes", "ua", "rt"]).alias("r")).unnest("r")
out = (parsed.with_columns(pl.col("time").str.strptime(pl.Datetime("us", "UTC"), "%d/%b/%Y:%H:%M:%S %z", strict=False),
                           pl.col("status").cast(pl.Int16, strict=False))
       .group_by(pl.col("time").dt.truncate("1m")).agg(pl.len(), (pl.col("status") >= 500).sum())
       .collect())
print(out.height)
"""

TO_AGGREGATES = r"""
import sys
from rca.ingest import parse_logs
from rca._bucket import BUCKET_COLUMNS, bucket_requests
from rca._failure import FAILURE_COLUMNS, hung_thresholds, with_failures
columns = None if "--every-column" in sys.argv else {*FAILURE_COLUMNS, *BUCKET_COLUMNS}
requests = parse_logs(sys.argv[1], columns=columns).requests.lazy()
flagged = with_failures(requests, hung=hung_thresholds(requests))
buckets = bucket_requests(flagged, bucket_seconds=60)
print(buckets.counts.height)
"""


def make_input(
    fmt: str, lines: int, work: Path, *, hours: float = 24, rate: float = 3.0
) -> tuple[Path, Path]:
    """A log file of ``fmt`` with ``lines`` lines and a folder of metrics, from ``rca simulate``."""
    from rca.simulate import SCENARIOS, simulate

    # The load-balancer scenario cannot be written as registry logs (the LB's own errors
    # never reach the registry); those formats get the storage-latency incident.
    scenario = "lb_cpu_saturation"
    if fmt not in SCENARIOS[scenario].log_formats:
        scenario = "storage_latency"
    base = work / f"base-{fmt}"
    if not base.exists():
        # Simulated into a scratch folder first, so a failed run leaves nothing half-made.
        scratch = work / f".base-{fmt}.tmp"
        shutil.rmtree(scratch, ignore_errors=True)
        simulate(scenario, scratch, seed=7, log_format=fmt, hours=hours, rate=rate)
        scratch.rename(base)
    source_lines: list[bytes] = []
    for f in sorted((base / "logs").iterdir()):
        source_lines.extend(f.read_bytes().splitlines(keepends=True))
    if not source_lines:
        raise RuntimeError(f"the simulation in {base} wrote no log lines")
    target = work / f"{fmt}-{lines}.log"
    if not target.exists():
        with target.open("wb") as out:
            written = 0
            while written < lines:
                chunk = source_lines[: lines - written]
                out.writelines(chunk)
                written += len(chunk)
    return target, base / "metrics"


Tool = tuple[str, list[str], dict[str, str] | None]


def _tools(
    fmt: str, path: Path, parquet: Path, metrics: Path, work: Path, goaccess: str | None
) -> list[Tool]:
    """What is measured on one input: (label, argv, environment) in running order."""
    tools: list[Tool] = [("wc -l", ["wc", "-l", str(path)], None)]
    if fmt == "nginx_timing":
        tools.append(("naive Polars", [*python_snippet(NAIVE_POLARS), str(path)], None))
        if goaccess:
            out = str(work / "goaccess.html")
            tools.append(
                ("GoAccess", [goaccess, str(path), "--log-format=COMBINED", "-o", out], None)
            )
    analyze = [*RCA, "analyze", "--quiet", "--metrics", str(metrics)]
    tools += [
        ("rca ingest", [*RCA, "ingest", "--quiet", "--logs", str(path), "-o", str(parquet)], None),
        ("rca to aggregates", [*python_snippet(TO_AGGREGATES), str(path)], None),
        # The same parsing every request column (what ``parse_logs`` gives by default).
        (
            "rca to aggregates, every column",
            [*python_snippet(TO_AGGREGATES), str(path), "--every-column"],
            None,
        ),
        # The same without the C extensions (their numpy/Polars references), same run.
        (
            "rca to aggregates, not compiled",
            [*python_snippet(TO_AGGREGATES), str(path)],
            {**os.environ, "RCA_NO_COMPILED": "1"},
        ),
        ("rca analyze", [*analyze, "--logs", str(path), "--json", str(work / "r.json")], None),
        (
            "rca analyze from Parquet",
            [*analyze, "--logs", str(parquet), "--json", str(work / "r2.json")],
            None,
        ),
    ]
    return tools


def _median(runs: list[Run]) -> Run:
    """The run with the median wall time (the lower middle one of an even count)."""
    return sorted(runs, key=lambda r: r.seconds)[(len(runs) - 1) // 2]


def ensure_goaccess() -> str | None:
    if shutil.which("goaccess"):
        return shutil.which("goaccess")
    if shutil.which("apt-get"):
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "goaccess"], capture_output=True, check=False
        )
    return shutil.which("goaccess")


HEADER = [
    "format",
    "lines",
    "tool",
    "seconds",
    "CPU s",
    "lines/s",
    "lines per CPU-s",
    "MB/s",
    "peak RSS MB",
    "wall s of each round",
]


def fmt_row(
    fmt: str, n: int, size_mb: float, run: Run, spread: list[Run] | None = None
) -> list[str]:
    rate = n / run.seconds if run.seconds else 0.0
    per_cpu = n / run.cpu_seconds if run.cpu_seconds else 0.0
    ok = "" if run.returncode == 0 else f" (exit {run.returncode})"
    return [
        fmt,
        f"{n:,}",
        run.label + ok,
        f"{run.seconds:.2f}",
        f"{run.cpu_seconds:.2f}",
        f"{rate / 1000:,.0f}k",
        f"{per_cpu / 1000:,.0f}k",
        f"{size_mb / run.seconds:,.0f}",
        f"{run.peak_rss_mb:,.0f}",
        ", ".join(f"{r.seconds:.2f}" for r in spread or [run]),
    ]


def ratios(fmt: str, n: int, runs: list[Run]) -> list[str]:
    """The issue's same-run comparisons for one input: wall-time and CPU-time ratios."""
    by = {r.label: r for r in runs}

    def ratio(a: str, b: str, cpu: bool = False) -> str:
        if a not in by or b not in by:
            return "n/a"
        x, y = by[a], by[b]
        num, den = (x.cpu_seconds, y.cpu_seconds) if cpu else (x.seconds, y.seconds)
        return f"{num / den:.2f}x" if den else "n/a"

    parquet = by.get("rca analyze from Parquet")
    return [
        fmt,
        f"{n:,}",
        ratio("naive Polars", "rca to aggregates")
        + " / "
        + ratio("naive Polars", "rca to aggregates", True),
        ratio("GoAccess", "rca to aggregates")
        + " / "
        + ratio("GoAccess", "rca to aggregates", True),
        ratio("rca analyze", "rca ingest") + " / " + ratio("rca analyze", "rca ingest", True),
        f"{parquet.seconds:.2f}" if parquet else "n/a",
    ]


RATIO_HEADER = [
    "format",
    "lines",
    "naive Polars / rca to aggregates (wall / CPU)",
    "GoAccess / rca to aggregates (wall / CPU)",
    "rca analyze / rca ingest (wall / CPU)",
    "analyze from Parquet s",
]


FIRST_TOUCH = r"""
import numpy as np
held = [np.ones(8 << 20, np.uint8) for _ in range(128)]  # 1 GiB, every page written once
"""


def first_touch() -> str:
    """What writing 1 GiB of fresh memory costs here, measured in a child process.

    A tool that keeps its parsed rows in memory pays this per GiB it holds; on a virtual
    machine whose host backs guest memory lazily it is seconds, not the ~0.2 s of bare
    metal, which is most of the gap between "rca to aggregates, every column" (keeps every
    request in memory, as ``parse_logs`` returns them) and "rca ingest" (streams to Parquet).
    """
    run = measure("first touch", python_snippet(FIRST_TOUCH))
    return (
        f"Writing 1 GiB of fresh memory in a child process took {run.seconds:.2f} s "
        f"({run.cpu_seconds:.2f} CPU-s, mostly kernel time) in this run."
    )


def _body(rows: list[list[str]], bar: list[list[str]], notes: list[str], touch: str = "") -> str:
    body = (
        table(HEADER, rows)
        + "\n\nSame-run ratios (the issue's bar):\n\n"
        + table(RATIO_HEADER, bar)
    )
    if touch:
        body += "\n\nMemory: " + touch
    if notes:
        body += "\n\nNot measured:\n\n" + "\n".join(f"- {n}" for n in notes)
    return body


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="*", default=[1_000_000, 4_000_000])
    parser.add_argument("--formats", nargs="+", default=list(FORMATS))
    parser.add_argument(
        "--big-gb", type=float, default=0.0, help="also ingest a file this large (GB)"
    )
    parser.add_argument(
        "--repeat",
        type=_positive,
        default=3,
        help="rounds of every tool per input; each row is the median run (default 3)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="tiny smoke run; does not record results"
    )
    parser.add_argument(
        "--section",
        default="ingest",
        help="RESULTS.md section to write (e.g. to add a format without erasing the others)",
    )
    parser.add_argument(
        "--work", type=Path, default=None, help="folder for generated inputs (kept)"
    )
    args = parser.parse_args()
    sim = {"hours": 24.0, "rate": 3.0}
    if args.quick:
        args.sizes, args.formats, args.repeat = [2000], ["nginx_timing"], 1
        sim = {"hours": 12.0, "rate": 0.2}  # the smallest run the scenario supports
    # rca's modules as an installed package has them, byte-compiled: Python writes these
    # on first import, unless PYTHONDONTWRITEBYTECODE is set (as on our machines); then
    # every edited module would be compiled again in every measured run.
    compileall.compile_dir(Path(rca.__file__).parent, quiet=1)
    work = args.work or Path(tempfile.mkdtemp(prefix="rca-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    goaccess = None if args.quick else ensure_goaccess()

    rows: list[list[str]] = []
    bar: list[list[str]] = []
    notes: list[str] = []
    touch = first_touch()
    print(touch, flush=True)
    for fmt in args.formats:
        for n in args.sizes:
            try:
                path, metrics = make_input(fmt, n, work, **sim)
            except Exception as exc:  # a broken simulator must not lose the other formats
                notes.append(f"{fmt} {n:,}: input not generated ({type(exc).__name__}: {exc})")
                print("  ! " + notes[-1], file=sys.stderr, flush=True)
                continue
            size_mb = path.stat().st_size / 1e6
            print(f"{fmt} {n:,} lines ({size_mb:,.0f} MB)", flush=True)
            path.read_bytes()  # warm the page cache so every tool reads from memory
            parquet = work / f"{fmt}-{n}.parquet"
            tools = _tools(fmt, path, parquet, metrics, work, goaccess)
            # Rounds of every tool in turn: the noise of a shared machine falls on all of
            # them alike, and each row is the run with the median wall time.
            rounds = [[measure(label, argv, env=env) for label, argv, env in tools]]
            for _ in range(args.repeat - 1):
                rounds.append([measure(label, argv, env=env) for label, argv, env in tools])
            runs = [_median(list(same)) for same in zip(*rounds, strict=True)]
            for run, same in zip(runs, zip(*rounds, strict=True), strict=True):
                rows.append(fmt_row(fmt, n, size_mb, run, spread=list(same)))
                print("  " + " | ".join(rows[-1][2:]), flush=True)
            bar.append(ratios(fmt, n, runs))
            if not args.quick:  # recorded as it goes, so an interrupted run keeps its rows
                record(args.section, _body(rows, bar, notes, touch))

    big_rows: list[list[str]] = []
    if args.big_gb:
        fmt = "nginx_timing"
        path, _ = make_input(fmt, 1_000_000, work, **sim)
        big = work / "big.log"
        if not big.exists():
            block = path.read_bytes()
            with big.open("wb") as out:
                while out.tell() < args.big_gb * 1e9:
                    out.write(block)
        n_big = int(
            subprocess.run(
                ["wc", "-l", str(big)], capture_output=True, text=True, check=True
            ).stdout.split()[0]
        )
        size_mb = big.stat().st_size / 1e6
        for run in (
            measure("wc -l", ["wc", "-l", str(big)]),
            measure(
                "rca ingest",
                [*RCA, "ingest", "--quiet", "--logs", str(big), "-o", str(work / "big.parquet")],
            ),
        ):
            big_rows.append(fmt_row(f"{fmt} (big)", n_big, size_mb, run))
            print("  " + " | ".join(big_rows[-1][2:]), flush=True)

    body = _body(rows, bar, notes, touch)
    if args.quick:
        print(body)
        return
    # Each part keeps its own section, so the memory run does not erase the speed table.
    if rows:
        record(args.section, body)
    if big_rows:
        record(
            "ingest memory",
            "A log file far larger than the memory bar (made by repeating a simulated file; "
            "it may sit in the page cache on a 24 GiB machine, so this measures rca's own "
            "memory, not disk speed); `rca ingest` streams it to Parquet.\n\n"
            + table(HEADER, big_rows),
        )


if __name__ == "__main__":
    main()
