"""The Markdown summary: a snapshot, and no links, images or HTML injected from log text."""

from __future__ import annotations

import os
import re
from pathlib import Path

from rca._result import Result
from rca.report import render_markdown

SNAPSHOTS = Path(__file__).parent / "snapshots"


def _check_snapshot(name: str, text: str) -> None:
    """Compare with the stored snapshot; RCA_UPDATE_SNAPSHOTS=1 rewrites it."""
    path = SNAPSHOTS / name
    if os.environ.get("RCA_UPDATE_SNAPSHOTS") == "1" or not path.exists():
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), (
        f"{name} changed; review, then RCA_UPDATE_SNAPSHOTS=1"
    )


def test_markdown_snapshot(incident_result: Result) -> None:
    _check_snapshot("incident.md", render_markdown(incident_result))


def test_markdown_snapshot_quiet_day(quiet_result: Result) -> None:
    md = render_markdown(quiet_result)
    assert "No failure episode found" in md and "No failure episodes." in md
    _check_snapshot("quiet.md", md)


def test_markdown_has_the_ticket_sections(incident_result: Result) -> None:
    md = render_markdown(incident_result)
    for heading in (
        "## Verdict",
        "## Top causes",
        "## Episodes",
        "## Ruled out",
        "## Data quality",
    ):
        assert heading in md
    rows = [line for line in md.splitlines() if re.match(r"\| \d \| 2021-04-01", line)]
    assert len(rows) == incident_result.episodes.height


def test_log_text_cannot_inject_links_images_or_html(incident_result: Result) -> None:
    md = render_markdown(incident_result)
    # The command line is shown as an inline code span, where nothing is interpreted.
    body = re.sub(r"`[^`\n]*`", "", md)
    assert not re.search(r"(?<!\\)[<>]", body)  # no raw HTML
    assert not re.search(r"(?<!\\)\[[^\]]*(?<!\\)\]\(", body)  # no [text](url)
    assert "![" not in body  # no images
    assert "\x1b" not in md
    # Table rows keep their column count: a '|' in a label is escaped.
    for line in md.splitlines():
        if line.startswith("| 2 | segment"):
            assert len(re.findall(r"(?<!\\)\|", line)) == 6
