"""The terminal side of ``rca analyze``: rich progress bars and the closing summary.

Everything from the logs is passed to rich as :class:`rich.text.Text` (never parsed as
rich markup) after :func:`rca._text.terminal_safe` has made control characters visible,
so a user agent cannot recolour, move the cursor or rewrite the terminal.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from types import TracebackType
from typing import Any

from rca._result import Result
from rca._text import terminal_safe
from rca.report._summary import data_quality_totals, episode_rows, fmt_span, verdict

#: Rows shown per table in the summary; the reports hold everything.
TERMINAL_ROWS = 5


def _text(value: str, style: str = "") -> Any:
    from rich.text import Text

    return Text(terminal_safe(value), style=style)


class RichProgress:
    """A :class:`rca._progress.Progress` drawn with rich on a console (stderr in the CLI).

    One bar per stage; a stage without a total shows a spinner. Use as a context manager.

    Examples
    --------
    >>> from rich.console import Console
    >>> with RichProgress(Console(quiet=True)) as progress:
    ...     progress.start("parsing logs", total=2)
    ...     progress.advance(2)
    ...     progress.done()
    """

    def __init__(self, console: Any) -> None:
        from rich.progress import (
            BarColumn,
            Progress,
            SpinnerColumn,
            TaskProgressColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            TimeElapsedColumn(),
            console=console,
            # The bars vanish when the work ends, so what stays on screen is the summary,
            # or, on failure, the one-line error alone.
            transient=True,
        )
        self._task: Any = None
        self._lock = threading.Lock()  # stages may report from worker threads

    def __enter__(self) -> RichProgress:
        self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        with self._lock:
            if exc_type is None:
                self._finish()
        self._progress.stop()

    def _finish(self) -> None:
        if self._task is not None:
            task = self._progress.tasks[-1]
            total = task.total if task.total is not None else max(task.completed, 1.0)
            self._progress.update(self._task, total=total, completed=total)
            self._task = None

    def start(self, task: str, total: float | None = None) -> None:
        with self._lock:
            self._finish()
            self._task = self._progress.add_task(terminal_safe(task), total=total)

    def advance(self, amount: float = 1.0) -> None:
        with self._lock:
            if self._task is not None:
                self._progress.advance(self._task, amount)

    def done(self) -> None:
        with self._lock:
            self._finish()


def print_summary(result: Result, console: Any, written: Sequence[tuple[str, str]] = ()) -> None:
    """Print the verdict, episodes, top causes, ruled-out suspects and the reports written.

    ``written`` holds (kind, path) pairs such as ``("HTML report", "report.html")``.

    Examples
    --------
    >>> from rich.console import Console
    >>> print_summary(result, Console(), [("HTML report", "report.html")])  # doctest: +SKIP
    """
    from rich import box
    from rich.console import Group
    from rich.panel import Panel
    from rich.table import Table

    v = verdict(result, esc=terminal_safe)
    style = "red" if result.episodes.height else "green"
    body: list[Any] = [_text("\n".join(v.sentences()))]
    if v.checked:
        # "Nothing found" is only worth as much as what was looked at.
        checked = Table.grid(padding=(0, 1))
        checked.add_column(no_wrap=True)
        checked.add_column(overflow="fold")
        for item in v.checked:
            checked.add_row(" •", _text(item))
        body += [_text("What was checked:"), checked]
    console.print(
        Panel(
            Group(*body),
            title=_text(f"rca: {fmt_span(*result.window)}", "bold"),
            border_style=style,
            expand=True,
        )
    )
    eps = episode_rows(result)
    if eps:
        table = Table(title="Failure episodes (UTC)", box=box.SIMPLE_HEAD, title_justify="left")
        for name in ("#", "start", "end", "duration", "requests", "failures", "rate", "baseline"):
            left = name in ("start", "end")
            table.add_column(name, justify="left" if left else "right", no_wrap=True)
        for i, e in enumerate(eps[: TERMINAL_ROWS * 2], start=1):
            table.add_row(
                str(i), e["start"].removesuffix(" UTC"), e["end"].removesuffix(" UTC"),
                e["duration"], e["requests"], e["failures"], e["failure_rate"], e["baseline_rate"],
            )  # fmt: skip
        if len(eps) > TERMINAL_ROWS * 2:
            table.caption = f"… and {len(eps) - TERMINAL_ROWS * 2} more in the reports"
        console.print(table)
    causes = result.causes.sort("rank")
    if causes.height:
        table = Table(title="Top causes", box=box.SIMPLE_HEAD, title_justify="left")
        table.add_column("#", justify="right")
        table.add_column("score", justify="right")
        table.add_column("kind")
        table.add_column("cause", overflow="fold", ratio=2)
        table.add_column("evidence", overflow="fold", ratio=3)
        for r in causes.head(TERMINAL_ROWS).iter_rows(named=True):
            evidence = (r["evidence"] or ["–"])[0]
            table.add_row(
                str(r["rank"]),
                f"{r['score']:.2f}",
                r["kind"].replace("_", " "),
                _text(r["label"], "bold" if r["rank"] == 1 else ""),
                _text(evidence),
            )
        if causes.height > TERMINAL_ROWS:
            table.caption = f"… and {causes.height - TERMINAL_ROWS} more in the reports"
        console.print(table)
    if result.ruled_out.height:
        table = Table(title="Ruled out", box=box.SIMPLE_HEAD, title_justify="left")
        table.add_column("kind")
        table.add_column("suspect", overflow="fold", ratio=2)
        table.add_column("why not", overflow="fold", ratio=3)
        for r in result.ruled_out.head(TERMINAL_ROWS).iter_rows(named=True):
            table.add_row(r["kind"].replace("_", " "), _text(r["label"]), _text(r["reason"]))
        if result.ruled_out.height > TERMINAL_ROWS:
            table.caption = f"… and {result.ruled_out.height - TERMINAL_ROWS} more in the reports"
        console.print(table)
    totals = data_quality_totals(result)
    console.print(
        _text(
            f"Data: {totals['lines']:,} log lines, {totals['requests']:,} requests, "
            f"{totals['malformed']:,} malformed; {result.diagnostics.metric_series:,} metric series.",
            "dim",
        )
    )
    for kind, path in written:
        line = _text(f"{kind}: ", "bold")
        line.append_text(_text(path))
        console.print(line, soft_wrap=True)


def print_demo_row(
    console: Any,
    scenario: str,
    result: Result,
    truth: str | None,
    written: Sequence[tuple[str, str]],
) -> None:
    """One scenario of ``rca demo``: episodes, top cause, the truth, and where the reports are."""
    top = result.causes.sort("rank").head(1)
    best = f"{top['label'][0]} (score {top['score'][0]:.2f})" if top.height else "none"
    line = _text(f"{scenario}", "bold")
    line.append_text(_text(f": {result.episodes.height} episode(s); top cause: {best}"))
    console.print(line)
    if truth:
        console.print(_text(f"  truth: {truth}", "dim"))
    if written:
        # Not wrapped: a path broken over two lines cannot be copied.
        console.print(_text("  wrote " + ", ".join(path for _, path in written)), soft_wrap=True)
