"""Accuracy of ``rca.analyze`` over the simulated scenarios: every scenario x seeds x formats.

For each case: simulate the scenario into a temporary folder (``rca.simulate``), analyse
its logs and metrics from the files exactly as ``rca analyze`` would, and score the result
with ``rca.simulate.rank_of_truth``. Records the rank of the true cause, the top 3, whether
the red herrings were ruled out, episodes on quiet days and the runtime per case, then
writes the table to ``benchmarks/RESULTS.md`` (section "accuracy").

Usage::

    python benchmarks/accuracy.py                 # full grid: 8 scenarios x 3 seeds
    python benchmarks/accuracy.py --seeds 1 --scenarios lb_cpu_saturation bad_backend
    python benchmarks/accuracy.py --hours 6 --rate 2 --no-record   # quick look
    python benchmarks/accuracy.py --hard          # the grid under hard conditions (below)

``--hard`` runs each case under one of the conditions real data brings, rotated over
seeds, and records the section "accuracy (hard conditions)": metrics 4 minutes late,
metrics 3 minutes early (clock skew beyond the alignment tolerance), a tenth of the
traffic (0.3 requests/s: most buckets hold no failure at all), every log line
written twice (a log shipper that re-sent its files), and a window cut tightly around the
incidents with --since/--until (they fill three quarters of it).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import record, table

# Log formats rotated over seeds (seed 0 uses the scenario's own format); CDN scenarios
# rotate over CDN formats, since only those carry edge locations.
_LOG_ROTATION = ("nginx_json", "alb", "registry_json", "combined", "cloudflare")
_CDN_ROTATION = ("cloudflare", "cloudfront")
_METRICS_ROTATION = ("csv_long", "grafana_csv", "prometheus_text", "parquet")


#: Hard conditions for ``--hard``: (name, metrics clock skew s, rate override, lines twice,
#: window cut tightly around the incidents).
HARD = (
    ("metrics 4 min late", 240.0, None, False, False),
    ("metrics 3 min early", -180.0, None, False, False),
    ("0.3 requests/s", None, 0.3, False, False),
    ("every line twice", None, None, True, False),
    ("window cut tightly", None, None, False, True),
)


@dataclass(frozen=True)
class Case:
    scenario: str
    seed: int
    log_format: str
    metrics_format: str
    rank: int | None
    incident: bool
    episodes: int
    truth_episodes: int
    top3: list[str]
    herrings_ruled_out: str
    seconds: float
    condition: str = ""


def _formats(scenario: str, seed: int) -> list[tuple[str | None, str | None]]:
    """Formats to try for this case, in order (a scenario may refuse some formats)."""
    from rca.simulate import SCENARIOS

    if seed == 0:
        return [(None, None)]
    own = getattr(SCENARIOS[scenario], "default_log_format", "")
    rotation = _CDN_ROTATION if own in _CDN_ROTATION else _LOG_ROTATION
    metrics = _METRICS_ROTATION[seed % len(_METRICS_ROTATION)]
    logs = [rotation[(seed + k) % len(rotation)] for k in range(len(rotation))]
    return [(log, metrics) for log in logs if log != own] + [(None, metrics)]


def _herrings(result: Any, truth: dict[str, Any]) -> str:
    """'k/n' red herrings found in ruled_out, or '-' when the scenario has none."""
    from rca.simulate._truth import matches

    specs = truth.get("red_herrings") or []
    if not specs:
        return "-"
    entries = [
        {
            "kind": r["kind"],
            "label": r["label"],
            "metric": r["metric"],
            "segment": {p["dimension"]: p["value"] for p in (r["segment"] or [])},
        }
        for r in result.ruled_out.iter_rows(named=True)
    ]
    found = sum(any(matches(e, s) for e in entries) for s in specs)
    return f"{found}/{len(specs)}"


def run_case(
    scenario: str,
    seed: int,
    *,
    hours: float | None,
    rate: float | None,
    workdir: Path,
    hard: int | None = None,
) -> Case:
    """Simulate one case, analyse it from its files, score it (under ``HARD[hard]``)."""
    import rca.simulate as sim
    from rca._analyze import analyze
    from rca._errors import ParameterError

    out = workdir / f"{scenario}-{seed}"
    condition, skew, twice, tight = "", None, False, False
    if hard is not None:
        condition, skew, hard_rate, twice, tight = HARD[hard]
        rate = hard_rate or rate
    truth: dict[str, Any] = {}
    for log_format, metrics_format in _formats(scenario, seed):
        try:
            truth = sim.simulate(
                scenario,
                out,
                seed=seed,
                log_format=log_format,
                metrics_format=metrics_format,
                hours=hours,
                rate=rate,
                clock_skew=skew,
            )
            break
        except ParameterError:
            continue  # this scenario cannot be written in that format: try the next
    if twice:
        _write_lines_twice(out / "logs")
    since, until = _tight_window(truth) if tight else (None, None)
    started = time.perf_counter()
    result = analyze(logs=str(out / "logs"), metrics=str(out / "metrics"), since=since, until=until)
    seconds = time.perf_counter() - started
    doc = result.to_dict()
    incident = bool(truth.get("root_cause"))
    return Case(
        scenario=scenario,
        seed=seed,
        log_format=str(truth.get("log_format")),
        metrics_format=str(truth.get("metrics_format")),
        rank=sim.rank_of_truth(doc, truth) if incident else None,
        incident=incident,
        episodes=len(doc["episodes"]),
        truth_episodes=len(truth.get("incidents") or []),
        top3=[c["label"] for c in doc["causes"][:3]],
        herrings_ruled_out=_herrings(result, truth),
        seconds=seconds,
        condition=condition,
    )


def _tight_window(truth: dict[str, Any]) -> tuple[Any, Any]:
    """--since/--until as an SRE cuts them: from a little before the first incident to a
    little after the last, so that the incidents fill three quarters of the window. A
    quiet day gets its middle quarter."""
    from datetime import datetime, timedelta

    def when(text: str) -> datetime:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))

    incidents = truth.get("incidents") or []
    if incidents:
        start, end = when(incidents[0]["start"]), when(incidents[-1]["end"])
        pad = (end - start) / 6
    else:
        lo, hi = when(truth["window"]["start"]), when(truth["window"]["end"])
        start, end = lo + (hi - lo) * 3 / 8, lo + (hi - lo) * 5 / 8
        pad = timedelta(0)
    return start - pad, end + pad


def _write_lines_twice(folder: Path) -> None:
    """Rewrite every log file with each line repeated (gzip kept as gzip)."""
    import gzip

    for path in sorted(folder.iterdir()):
        raw = path.read_bytes()
        packed = raw[:2] == b"\x1f\x8b"
        text = gzip.decompress(raw) if packed else raw
        doubled = b"".join(line + line for line in text.splitlines(keepends=True))
        path.write_bytes(gzip.compress(doubled, mtime=0) if packed else doubled)


def summarise(cases: list[Case]) -> str:
    inc = [c for c in cases if c.incident]
    quiet = [c for c in cases if not c.incident]
    first = sum(c.rank == 1 for c in inc)
    top3 = sum(c.rank is not None and c.rank <= 3 for c in inc)
    lines = [
        f"- incident cases: {len(inc)}; true cause ranked 1st in {first} "
        f"({100 * first / max(len(inc), 1):.0f}%), in the top 3 in {top3} "
        f"({100 * top3 / max(len(inc), 1):.0f}%)",
        f"- quiet-day cases: {len(quiet)}; with zero episodes: "
        f"{sum(c.episodes == 0 for c in quiet)}",
        f"- median runtime of analyze (parse + analysis): "
        f"{sorted(c.seconds for c in cases)[len(cases) // 2]:.1f} s",
    ]
    return "\n".join(lines)


def main() -> None:
    from rca.simulate import SCENARIOS

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--scenarios", nargs="*", default=list(SCENARIOS))
    ap.add_argument("--seeds", type=int, default=3, help="seeds per scenario (0..N-1)")
    ap.add_argument("--hours", type=float, default=None, help="override each scenario's hours")
    ap.add_argument("--rate", type=float, default=None, help="override each scenario's rate")
    ap.add_argument("--no-record", action="store_true", help="print only, leave RESULTS.md")
    ap.add_argument("--hard", action="store_true", help="rotate the hard conditions over cases")
    args = ap.parse_args()

    cases: list[Case] = []
    with tempfile.TemporaryDirectory(prefix="rca-accuracy-") as tmp:
        for scenario in args.scenarios:
            for seed in range(args.seeds):
                hard = (seed + len(cases)) % len(HARD) if args.hard else None
                case = run_case(
                    scenario, seed, hours=args.hours, rate=args.rate, workdir=Path(tmp), hard=hard
                )
                cases.append(case)
                print(
                    f"{scenario:22} seed {seed} {case.condition:20} {case.log_format:13} "
                    f"rank {case.rank} "
                    f"episodes {case.episodes}/{case.truth_episodes} "
                    f"herrings {case.herrings_ruled_out} {case.seconds:5.1f}s  "
                    f"top: {' | '.join(t[:40] for t in case.top3)}",
                    flush=True,
                )
    rows = [
        [
            c.scenario,
            str(c.seed),
            *([c.condition] if args.hard else []),
            f"{c.log_format} / {c.metrics_format}",
            "-" if not c.incident else (str(c.rank) if c.rank else "missed"),
            f"{c.episodes} (truth {c.truth_episodes})",
            c.herrings_ruled_out,
            "<br>".join(t.replace("|", "\\|")[:60] for t in c.top3) or "-",
            f"{c.seconds:.1f}",
        ]
        for c in cases
    ]
    body = (
        summarise(cases)
        + "\n\n"
        + table(
            [
                "scenario",
                "seed",
                *(["condition"] if args.hard else []),
                "formats (logs / metrics)",
                "rank of truth",
                "episodes",
                "red herrings ruled out",
                "top 3",
                "analyze s",
            ],
            rows,
        )
    )
    if args.hours or args.rate:
        body = f"Overrides: hours={args.hours}, rate={args.rate}.\n\n" + body
    if args.no_record:
        print(body)
    else:
        record("accuracy (hard conditions)" if args.hard else "accuracy", body)


if __name__ == "__main__":
    main()
