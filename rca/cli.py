"""The ``rca`` command line: thin click commands over the public API.

This is the only module that turns errors into exit codes (DESIGN.md "Contracts"):
0 success (including "no incident found"), 2 bad usage or unreadable input with a
one-line reason, 1 internal error (traceback only with ``--debug``).

Heavy libraries are imported inside the commands so that ``rca --help`` stays fast.
"""

from __future__ import annotations

import atexit
import gc
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from rca._cli_analyze import FORMAT_HELP
from rca._errors import RCAError
from rca._version import __version__

F = TypeVar("F", bound=Callable[..., Any])


class RcaGroup(click.Group):
    """Maps rca's error tree to exit codes for every subcommand."""

    def invoke(self, ctx: click.Context) -> Any:
        debug = bool(ctx.params.get("debug")) or "--debug" in sys.argv
        try:
            return super().invoke(ctx)
        except RCAError as exc:
            if debug:
                raise
            raise click.ClickException(_one_line(str(exc))) from None
        except (click.ClickException, click.exceptions.Exit, click.Abort, KeyboardInterrupt):
            raise
        except Exception as exc:  # an rca bug: short message, exit 1
            if debug:
                raise
            click.echo(
                f"Error: internal error: {type(exc).__name__}: {_one_line(str(exc))}\n"
                "Run again with --debug for the traceback, and please report it.",
                err=True,
            )
            ctx.exit(1)


class UsageClickException(click.ClickException):
    exit_code = 2


# click's own ClickException exits 1; ours must exit 2 for bad input.
click.ClickException.exit_code = 2


def _one_line(text: str) -> str:
    """Errors are one line; log content inside them is neutralised for the terminal."""
    from rca._text import terminal_safe

    return terminal_safe(" ".join(text.split()))


@click.group(cls=RcaGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="rca")
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
def cli(debug: bool) -> None:
    """Root cause analysis for registry, load-balancer and CDN incidents.

    \b
    Typical use:
      rca analyze --logs ./logs --metrics ./metrics --html report.html
      rca ingest --logs ./logs -o requests.parquet     # parse once, analyse many times
      rca simulate lb_cpu_saturation -o /tmp/scenario   # an incident with a known truth
      rca demo                                          # sample_logs/ -> reports/
    """


def main() -> None:
    """Console-script entry point."""
    # At exit the interpreter collects every object left, one by one: with Polars and
    # SciPy imported that took 0.2-0.3 s after the work was done. Frozen objects are
    # skipped, and the OS frees the memory anyway. (atexit runs this last, after the
    # handlers registered later, such as temporary-folder cleanup.)
    atexit.register(gc.freeze)
    cli(prog_name="rca")


@cli.command(short_help="Parse logs once into Parquet, to analyse many times.")
@click.option(
    "--logs",
    "logs",
    multiple=True,
    required=True,
    metavar="PATH",
    help="Log file, folder or glob; plain or gzip. Repeatable.",
)
@click.option(
    "-o", "--output", required=True, type=click.Path(dir_okay=False), help="Parquet file to write."
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
def ingest(logs: tuple[str, ...], output: str, fmt: str, quiet: bool) -> None:
    """Parse logs once into a Parquet requests frame, so later analyses skip parsing.

    Every line is kept in the count: malformed lines are counted and sampled in the
    file's data quality, which travels inside the Parquet file. To cut a window, give
    --since/--until to the analysis that reads it.

    \b
    Example:
      rca ingest --logs /var/log/registry/ --logs 'lb/*.log.gz' -o requests.parquet
      rca analyze --logs requests.parquet --metrics metrics/ --since 2d --html report.html
    """
    from rca._cli_analyze import check_named_logs
    from rca._progress import SILENT
    from rca._text import terminal_safe
    from rca.ingest import write_parquet
    from rca.ingest._logs import quality_summary

    check_named_logs(logs)

    if quiet:
        quality = write_parquet(list(logs), output, format=fmt, progress=SILENT)
    else:
        from rich.console import Console

        from rca.report._terminal import RichProgress

        with RichProgress(Console(stderr=True)) as progress:
            quality = write_parquet(list(logs), output, format=fmt, progress=progress)
    if not quiet:
        totals = quality.select("lines", "records", "malformed", "other").sum().row(0)
        click.echo(
            f"{len(quality)} file(s): {totals[0]:,} lines, {totals[1]:,} requests, "
            f"{totals[2]:,} malformed, {totals[3]:,} other -> {terminal_safe(output)}"
        )
        # Damage is reported, never fatal: say so on stderr so scripts can still pipe stdout.
        note = quality_summary(quality)
        if note:
            click.echo(f"warning: {terminal_safe(note)}", err=True)


@cli.command(short_help="Write a scenario's logs, metrics and truth, for measuring accuracy.")
@click.argument("scenario", required=False)
@click.option("-o", "--output", type=click.Path(file_okay=False), help="Folder to write into.")
@click.option(
    "--seed",
    type=int,
    default=0,
    show_default=True,
    help="Random seed; each gives a different world.",
)
@click.option(
    "--log-format", default=None, help="Log format to write (default: the scenario's own)."
)
@click.option(
    "--metrics-format", default=None, help="Metrics format to write (default: the scenario's own)."
)
@click.option("--hours", type=float, default=None, help="Length of the simulated window.")
@click.option("--rate", type=float, default=None, help="Mean requests per second.")
@click.option("--gzip", "compress", is_flag=True, help="Gzip the log files.")
@click.option(
    "--clock-skew",
    type=float,
    default=None,
    metavar="SECONDS",
    help="How far the metrics' clock runs ahead of the logs' (negative: behind); "
    "default: random within +-30 s.",
)
@click.option("--list", "list_", is_flag=True, help="List the scenarios and exit.")
def simulate(
    scenario: str | None,
    output: str | None,
    seed: int,
    log_format: str | None,
    metrics_format: str | None,
    hours: float | None,
    rate: float | None,
    compress: bool,
    clock_skew: float | None,
    list_: bool,
) -> None:
    """Write an incident scenario's logs, metrics and truth.json, for measuring accuracy.

    \b
    Example:
      rca simulate --list
      rca simulate lb_cpu_saturation -o /tmp/lb --seed 3 --log-format nginx_timing
      rca analyze --logs /tmp/lb/logs --metrics /tmp/lb/metrics
      rca simulate storage_latency -o /tmp/skewed --clock-skew 300   # metrics 5 min late
    """
    from rca.simulate import SCENARIOS
    from rca.simulate import simulate as run

    if list_:
        for name, scenario_cls in SCENARIOS.items():
            click.echo(f"{name:24} {scenario_cls.summary}")
        return
    if not scenario or not output:
        raise click.UsageError(
            "give a SCENARIO and -o DIR (rca simulate --list shows the scenarios)"
        )
    truth = run(
        scenario,
        output,
        seed=seed,
        log_format=log_format,
        metrics_format=metrics_format,
        hours=hours,
        rate=rate,
        compress=compress,
        clock_skew=clock_skew,
    )
    click.echo(f"wrote {scenario} (seed {seed}) to {output}: {truth['summary']}")


def _register_commands() -> None:
    """Commands defined in their own modules (analysis and report UX)."""
    from rca import _cli_analyze

    _cli_analyze.register(cli)


_register_commands()
