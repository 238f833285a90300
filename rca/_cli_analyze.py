"""``rca analyze`` and ``rca demo``: run the engine, write the reports, print a summary.

Thin commands over :func:`rca.analyze` and :mod:`rca.report`; ``rca.cli`` registers them
and maps errors to exit codes. Progress and the summary are drawn by rich: progress on
stderr; the summary on stdout, or on stderr when ``--json -`` keeps stdout pure JSON.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click

#: The --format help; tests/test_cli.py checks that it names every built-in format.
FORMAT_HELP = (
    "Log format: auto (detected per file from the content), registry_json, registry_text, "
    "nginx_json, nginx_timing, combined (nginx/Apache), alb, cloudfront, cloudflare, or an "
    "nginx log_format string in quotes."
)

_RELATIVE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|min|h|d|w)\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_when(text: str | None, option: str, *, now: datetime | None = None) -> datetime | None:
    """An ISO time (UTC when it has no offset) or a relative form counted back from now.

    Relative forms are a number and a unit: ``90s``, ``30m``, ``6h``, ``2d``, ``1w``.

    Examples
    --------
    >>> parse_when("2021-04-01T10:00", "--since")
    datetime.datetime(2021, 4, 1, 10, 0, tzinfo=datetime.timezone.utc)
    >>> parse_when("6h", "--since", now=datetime(2021, 4, 1, 12, tzinfo=UTC))
    datetime.datetime(2021, 4, 1, 6, 0, tzinfo=datetime.timezone.utc)
    """
    if text is None or not text.strip():
        return None
    match = _RELATIVE.match(text)
    if match:
        seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2).lower()]
        return (now or datetime.now(UTC)) - timedelta(seconds=seconds)
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise click.ClickException(
            f"{option} {text!r} is not a time: use ISO 8601 (2021-04-01T10:00Z) or a relative "
            "form such as 90m, 6h or 2d (counted back from now)"
        ) from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def check_named_logs(logs: Sequence[str]) -> None:
    """Stop early, naming it, when a log file given by name is empty.

    Without this the run fails later with "no data in the window", which does not say
    which of the inputs was empty.
    """
    import os

    from rca.ingest._files import check_not_empty

    for item in logs:
        if os.path.isfile(item):
            check_not_empty(Path(item))


def _command_line(name: str, options: Sequence[tuple[str, Any]]) -> str:
    """The command as a user would retype it (recorded in the report's provenance)."""
    words = ["rca", name]
    for flag, value in options:
        if value is None or value is False or value == ():
            continue
        if value is True:
            words.append(flag)
        else:
            for v in value if isinstance(value, tuple | list) else (value,):
                words += [flag, str(v)]
    return shlex.join(words)


def _consoles(quiet: bool, json_to_stdout: bool) -> tuple[Any, Any]:
    """(progress console on stderr, summary console: stdout unless stdout carries JSON)."""
    from rich.console import Console

    err = Console(stderr=True, quiet=quiet)
    out = Console(stderr=json_to_stdout, quiet=quiet)
    return err, out


def _run(err: Any, quiet: bool, **kwargs: Any) -> Any:
    """Run the analysis with rich progress on ``err`` (or none when quiet)."""
    from rca._analyze import analyze
    from rca._progress import SILENT
    from rca.report._terminal import RichProgress

    if quiet:
        return analyze(progress=SILENT, **kwargs)
    with RichProgress(err) as progress:
        return analyze(progress=progress, **kwargs)


def _write_reports(
    result: Any, html: str | None, json_: str | None, md: str | None
) -> list[tuple[str, str]]:
    written = []
    if html:
        result.write_html(html)
        written.append(("HTML report", html))
    if json_ and json_ != "-":
        result.write_json(json_)
        written.append(("JSON result", json_))
    if md:
        result.write_markdown(md)
        written.append(("Markdown summary", md))
    return written


def register(cli: click.Group) -> None:
    """Attach the analysis commands to the ``rca`` group."""

    @cli.command(short_help="Find the error episodes and rank their likely causes.")
    @click.option(
        "--logs",
        multiple=True,
        metavar="PATH",
        help="Log file, folder, glob or Parquet from 'rca ingest'; plain or gzip. Repeatable.",
    )
    @click.option(
        "--metrics", multiple=True, metavar="PATH", help="Metrics file, folder or glob. Repeatable."
    )
    @click.option("--html", type=click.Path(dir_okay=False), help="Write the HTML report here.")
    @click.option(
        "--json",
        "json_",
        type=click.Path(dir_okay=False, allow_dash=True),
        help="Write the JSON result here ('-' for stdout; the summary then goes to stderr).",
    )
    @click.option("--md", type=click.Path(dir_okay=False), help="Write the Markdown summary here.")
    @click.option(
        "--since",
        metavar="T",
        help="Start of the window: an ISO time such as 2021-04-01T08:00Z (UTC unless it "
        "has an offset), or a span counted back from now: 90s, 30m, 6h, 2d, 1w.",
    )
    @click.option(
        "--until",
        metavar="T",
        help="End of the window (exclusive), in the same forms as --since: 2021-04-01T12:00Z, "
        "or 1h for an hour ago.",
    )
    @click.option(
        "--bucket",
        metavar="WIDTH",
        help="Bucket width: 30s, 1m, 5m, 1h (default: chosen from the window, 1m for a day).",
    )
    @click.option(
        "--failure",
        metavar="EXPR",
        help='What counts as a failure, over the request columns, e.g. "status >= 500 or '
        'duration_s > 30" (default: 5xx, 429, 499, 0 and hung requests).',
    )
    @click.option(
        "--symptom",
        default="failure_rate",
        show_default=True,
        metavar="NAME",
        help="Series to find episodes on: failure_rate, 5xx, 429, aborted, hung, or a metric "
        "name such as lb_cpu_utilization.",
    )
    @click.option(
        "--format",
        "fmt",
        default="auto",
        show_default=True,
        metavar="NAME",
        help=FORMAT_HELP,
    )
    @click.option("--quiet", is_flag=True, help="Print nothing but errors.")
    def analyze(
        logs: tuple[str, ...],
        metrics: tuple[str, ...],
        html: str | None,
        json_: str | None,
        md: str | None,
        since: str | None,
        until: str | None,
        bucket: str | None,
        failure: str | None,
        symptom: str,
        fmt: str,
        quiet: bool,
    ) -> None:
        """Find the error episodes in logs and metrics and rank their likely causes.

        Without --since/--until the whole span of the data is analysed. T is an ISO
        time (2021-04-01T08:00Z; UTC unless it has an offset) or a span counted back
        from now (90s, 30m, 6h, 2d, 1w): relative forms suit live logs; for an old
        incident, give ISO times.

        \b
        Examples:
          rca analyze --logs ./logs --metrics ./metrics --html report.html --md report.md
          rca analyze --logs /var/log/nginx --since 6h            # the last six hours
          rca analyze --logs 'lb/*.log.gz' --since 2021-04-01T08:00Z --until 2021-04-01T20:00Z \\
                      --json - | jq .causes
          rca analyze --logs requests.parquet --failure "status >= 500 or duration_s > 30"
        """
        from rca.report._terminal import print_summary

        if not logs and not metrics:
            raise click.ClickException(
                "nothing to analyse: give --logs PATH and/or --metrics PATH (see rca analyze --help)"
            )
        check_named_logs(logs)
        err, out = _consoles(quiet, json_ == "-")
        command = _command_line(
            "analyze",
            [("--logs", logs), ("--metrics", metrics), ("--since", since), ("--until", until),
             ("--bucket", bucket), ("--failure", failure),
             ("--symptom", None if symptom == "failure_rate" else symptom),
             ("--format", None if fmt == "auto" else fmt),
             ("--html", html), ("--json", json_), ("--md", md)],
        )  # fmt: skip
        result = _run(
            err,
            quiet,
            logs=list(logs) or None,
            metrics=list(metrics) or None,
            symptom=symptom,
            bucket=bucket,
            failure=failure,
            since=parse_when(since, "--since"),
            until=parse_when(until, "--until"),
            format=fmt,
            command=command,
        )
        written = _write_reports(result, html, json_, md)
        if json_ == "-":
            click.echo(result.to_json(), nl=False)
        print_summary(result, out, written)

    @cli.command(short_help="Write reports/ for every scenario in sample_logs/.")
    @click.option(
        "--samples",
        default="sample_logs",
        show_default=True,
        type=click.Path(file_okay=False),
        help="Folder of scenarios, each with logs/, metrics/ and truth.json.",
    )
    @click.option(
        "-o",
        "--output",
        default="reports",
        show_default=True,
        type=click.Path(file_okay=False),
        help="Folder to write <scenario>.html, .json and .md into.",
    )
    @click.option("--quiet", is_flag=True, help="Print nothing but errors.")
    def demo(samples: str, output: str, quiet: bool) -> None:
        """Analyse every bundled scenario in sample_logs/ and write its reports to reports/.

        \b
        Example:
          rca demo                      # then open reports/*.html
          rca demo --samples /tmp/scenarios -o /tmp/reports
        """
        from rca.report._terminal import print_demo_row

        scenarios = _scenarios(Path(samples))
        err, out = _consoles(quiet, False)
        for folder in scenarios:
            logs, metrics = folder / "logs", folder / "metrics"
            options = [
                ("--logs", str(logs)),
                ("--metrics", str(metrics) if metrics.exists() else None),
            ]
            base = Path(output) / folder.name
            files = {"--html": f"{base}.html", "--json": f"{base}.json", "--md": f"{base}.md"}
            result = _run(
                err,
                quiet,
                logs=str(logs),
                metrics=str(metrics) if metrics.exists() else None,
                command=_command_line("analyze", [*options, *files.items()]),
            )
            written = _write_reports(result, files["--html"], files["--json"], files["--md"])
            print_demo_row(out, folder.name, result, _truth(folder), written)


def _scenarios(samples: Path) -> list[Path]:
    """The scenario folders (those holding logs/), sorted by name; exit 2 when none."""
    if not samples.is_dir():
        raise click.ClickException(
            f"{samples}: no such folder. Run 'rca demo' from the repository root (where "
            "sample_logs/ is), or pass --samples DIR; 'rca simulate' makes new scenarios."
        )
    found = sorted(p for p in samples.iterdir() if (p / "logs").is_dir())
    if not found:
        raise click.ClickException(
            f"{samples}: no scenario folders (each needs a logs/ folder). "
            "Make one with: rca simulate SCENARIO -o " + str(samples / "SCENARIO")
        )
    return found


def _truth(folder: Path) -> str | None:
    """The scenario's one-line truth summary, when truth.json says it."""
    import json

    path = folder / "truth.json"
    try:
        truth = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    summary = truth.get("summary") if isinstance(truth, dict) else None
    return summary if isinstance(summary, str) else None
