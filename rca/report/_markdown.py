"""The Markdown summary (``--md FILE``, ``Result.to_markdown()``), to paste into a ticket.

Verdict, top causes, episodes and ruled-out suspects, as GitHub-flavoured Markdown tables.
Every string that may come from logs goes through :func:`rca._text.markdown_safe`, so a
user agent cannot inject a link, an image or HTML into the ticket.
"""

from __future__ import annotations

from rca._result import Result
from rca._text import markdown_safe, terminal_safe
from rca.report._summary import (
    data_quality_totals,
    episode_rows,
    fmt_pct,
    fmt_span,
    fmt_ts,
    verdict,
)

#: Causes listed in the Markdown table; the HTML report has them all.
MARKDOWN_CAUSES = 10


def _md(text: str) -> str:
    return markdown_safe(text)


def _code(text: str) -> str:
    """An inline code span: nothing inside is Markdown, once backticks and newlines are gone."""
    return "`" + terminal_safe(text).replace("`", "'").replace("\n", " ") + "`"


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def render_markdown(result: Result) -> str:
    """A Markdown summary: verdict, top causes, episodes, ruled out, data quality.

    Examples
    --------
    >>> print(render_markdown(result))  # doctest: +SKIP
    # Incident analysis: 2021-04-01 06:00–18:00 UTC
    ...
    """
    v = verdict(result, esc=_md)
    lines = [f"# Incident analysis: {fmt_span(*result.window)}", ""]
    lines += ["## Verdict", ""]
    lines += [s + "  " for s in v.sentences()]
    lines[-1] = lines[-1].rstrip()
    lines.append("")
    if v.checked:
        # "Nothing found" is only worth as much as what was looked at.
        lines += ["What was checked:", ""]
        lines += [f"- {item}" for item in v.checked]
        lines.append("")

    causes = result.causes.sort("rank")
    if causes.height:
        lines += ["## Top causes", ""]
        lines.append(_row(["#", "Kind", "Cause", "Score", "Evidence"]))
        lines.append(_row(["--:", "---", "---", "--:", "---"]))
        for r in causes.head(MARKDOWN_CAUSES).iter_rows(named=True):
            evidence = "; ".join(_md(e) for e in (r["evidence"] or [])[:2]) or "–"
            lines.append(
                _row(
                    [
                        str(r["rank"]),
                        r["kind"].replace("_", " "),
                        _md(r["label"]),
                        f"{r['score']:.2f}",
                        evidence,
                    ]
                )
            )
        if causes.height > MARKDOWN_CAUSES:
            lines += ["", f"… and {causes.height - MARKDOWN_CAUSES} more in the HTML report."]
        lines.append("")

    eps = episode_rows(result)
    lines += ["## Episodes", ""]
    if eps:
        lines.append(
            _row(
                [
                    "#",
                    "Start (UTC)",
                    "End (UTC)",
                    "Duration",
                    "Requests",
                    "Failures",
                    "Failure rate",
                    "Baseline",
                ]
            )
        )
        lines.append(_row(["--:", "---", "---", "--:", "--:", "--:", "--:", "--:"]))
        for i, e in enumerate(eps, start=1):
            lines.append(
                _row(
                    [
                        str(i),
                        e["start"].removesuffix(" UTC"),
                        e["end"].removesuffix(" UTC"),
                        e["duration"],
                        e["requests"],
                        e["failures"],
                        e["failure_rate"],
                        e["baseline_rate"],
                    ]
                )
            )
    else:
        lines.append("No failure episodes.")
    lines.append("")

    lines += ["## Ruled out", ""]
    if result.ruled_out.height:
        lines.append(_row(["Kind", "Suspect", "Why it is not the cause"]))
        lines.append(_row(["---", "---", "---"]))
        for r in result.ruled_out.iter_rows(named=True):
            lines.append(_row([r["kind"].replace("_", " "), _md(r["label"]), _md(r["reason"])]))
    else:
        lines.append("Nothing was ruled out.")
    lines.append("")

    totals = data_quality_totals(result)
    diag = result.diagnostics
    skew = (
        "not measurable"
        if diag.clock_skew_s is None
        else f"{diag.clock_skew_s:+.1f} s (metrics minus logs)"
    )
    share = fmt_pct(totals["malformed"] / totals["lines"]) if totals["lines"] else "–"
    lines += [
        "## Data quality",
        "",
        f"- {totals['lines']:,} log lines in {totals['log_files']} file(s), {totals['requests']:,} requests, "
        f"{totals['malformed']:,} malformed ({share})",
        f"- {diag.metric_series:,} metric series, {totals['metric_points']:,} points",
        f"- gaps: {diag.log_gaps:,} empty log bucket(s), {diag.metric_gaps:,} missing scrape(s); clock skew: {skew}",
        "",
    ]
    prov = result.provenance
    lines += [
        "---",
        "",
        f"rca {_md(prov.version)} · {_code(prov.command)} · bucket {result.bucket_seconds} s  ",
        f"Generated at {fmt_ts(prov.generated_at)}",
        "",
    ]
    return "\n".join(lines)
