"""The terminal summary and rich progress: content, and no terminal injection."""

from __future__ import annotations

import io
import threading
from dataclasses import replace

import polars as pl
from rich.console import Console

from rca._result import Result
from rca.report._terminal import RichProgress, print_summary


def _console() -> tuple[Console, io.StringIO]:
    buf = io.StringIO()
    return Console(file=buf, width=120, force_terminal=False, color_system=None), buf


def test_summary_shows_episodes_causes_ruled_out_and_paths(incident_result: Result) -> None:
    console, buf = _console()
    print_summary(incident_result, console, [("HTML report", "out/report.html")])
    text = buf.getvalue()
    assert "3 failure episodes" in text
    assert "Top causes" in text and "0.91" in text and "lb_cpu_utilization" in text
    assert "Ruled out" in text and "coredns_request_duration_seconds" in text
    assert "HTML report: out/report.html" in text
    assert "2021-04-01 08:30 UTC" in text and "2021-04-01 09:05 " in text  # verdict, episodes


def test_summary_neutralises_escapes_and_rich_markup(incident_result: Result) -> None:
    causes = incident_result.causes.with_columns(
        pl.when(pl.col("rank") == 1)
        .then(pl.lit("evil \x1b[2J\x1b[31m [bold red]loud[/bold red] \r overwrite"))
        .otherwise(pl.col("label"))
        .alias("label")
    )
    buf = io.StringIO()
    console = Console(file=buf, width=200, force_terminal=True, color_system="truecolor")
    print_summary(replace(incident_result, causes=causes), console)
    text = buf.getvalue()
    assert "\x1b[2J" not in text and "\\x1b[2J" in text
    assert "[bold red]loud[/bold red]" in text  # shown literally, not interpreted
    assert "\r" not in text


def test_quiet_day_summary(quiet_result: Result) -> None:
    console, buf = _console()
    print_summary(quiet_result, console)
    text = buf.getvalue()
    assert "No failure episode found" in text and "Top causes" not in text
    assert "What was checked:" in text and "Window: 2021-04-01 06:00–18:00 UTC" in text


def test_rich_progress_is_thread_safe_and_completes_stages() -> None:
    console, buf = _console()
    with RichProgress(console) as progress:
        progress.start("parsing logs", total=400)
        threads = [
            threading.Thread(target=lambda: [progress.advance(1) for _ in range(100)])
            for _ in range(4)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert progress._progress.tasks[0].completed == 400
        progress.start("ranking causes")  # no total: a spinner, finished by done()
        progress.done()
        assert all(task.finished for task in progress._progress.tasks)
    assert "parsing logs" not in buf.getvalue()  # transient: gone once the work ends
