"""``rca analyze`` and ``rca demo``: run the engine, write the reports, print a summary."""

from __future__ import annotations

import click


def register(cli: click.Group) -> None:
    """Attach the analysis commands to the ``rca`` group."""

    @cli.command()
    @click.option(
        "--logs",
        multiple=True,
        required=True,
        metavar="PATH",
        help="Log file, folder, glob or Parquet from 'rca ingest'. Repeatable.",
    )
    @click.option(
        "--metrics", multiple=True, metavar="PATH", help="Metrics file, folder or glob. Repeatable."
    )
    @click.option("--html", type=click.Path(dir_okay=False), help="Write the HTML report here.")
    @click.option(
        "--json",
        "json_",
        type=click.Path(dir_okay=False, allow_dash=True),
        help="Write the JSON result here ('-' for stdout).",
    )
    @click.option("--md", type=click.Path(dir_okay=False), help="Write the Markdown summary here.")
    @click.option("--since", help="Start of the window: ISO time or relative (e.g. 6h).")
    @click.option("--until", help="End of the window: ISO time or relative.")
    @click.option(
        "--bucket", help="Bucket width, e.g. 30s, 1m, 5m (default: chosen from the window)."
    )
    @click.option("--failure", help='Failure definition, e.g. "status >= 500 or duration_s > 30".')
    @click.option(
        "--format", "fmt", default="auto", show_default=True, help="Log format name, or 'auto'."
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
        fmt: str,
        quiet: bool,
    ) -> None:
        """Find the error episodes in logs and rank their likely causes.

        \b
        Example:
          rca analyze --logs ./logs --metrics ./metrics --html report.html --json result.json
        """
        raise click.ClickException("analysis is not built yet (issue 4)")
