"""The HTML report in a real headless Chromium (Debian's, driven by Playwright).

Opens generated reports from file:// with every non-file request blocked and recorded,
and checks what a reader would: no console errors, no network, every chart drawn, the
episodes table equal to the JSON result, and no script from the data running. A
screenshot of each page goes to test-artifacts/ (git-ignored) for a human look.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from rca._result import Result
from tests.report.conftest import BREAKOUT, IMG, SCRIPT

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing: apt-get install chromium (the browser tests need it)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield browser
        browser.close()


@dataclass
class Opened:
    page: Any
    console_errors: list[str] = field(default_factory=list)
    network: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)


def _open(browser: Any, html_path: Path, screenshot: str) -> Opened:
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    opened = Opened(page)

    def on_console(msg: Any) -> None:
        if msg.type == "error":
            opened.console_errors.append(msg.text)

    def on_dialog(dialog: Any) -> None:
        opened.dialogs.append(dialog.message)
        dialog.dismiss()

    def on_route(route: Any) -> None:
        url = route.request.url
        if url.startswith("file://"):
            route.continue_()
        else:
            opened.network.append(url)
            route.abort()

    page.on("console", on_console)
    page.on("pageerror", lambda exc: opened.console_errors.append(str(exc)))
    page.on("dialog", on_dialog)
    page.route("**/*", on_route)
    page.goto(html_path.as_uri())
    page.wait_for_function(
        "[...document.querySelectorAll('.chart')].every(e => e.hasAttribute('data-rendered'))",
        timeout=30_000,
    )
    page.wait_for_timeout(300)  # let late errors or dialogs surface
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / screenshot), full_page=True)
    return opened


def _chart_size(page: Any, chart_id: str) -> tuple[float, float, int]:
    """(width, height, marks) of the SVG vega-embed drew inside ``#chart_id``."""
    return tuple(  # type: ignore[return-value]
        page.evaluate(
            """id => { const svg = document.querySelector('#' + id + ' svg.marks');
                       if (!svg) return [0, 0, 0];
                       const r = svg.getBoundingClientRect();
                       return [r.width, r.height, svg.querySelectorAll('path, rect, line').length]; }""",
            chart_id,
        )
    )


def test_report_renders_offline_with_every_chart(
    browser: Any, incident_result: Result, tmp_path: Path
) -> None:
    path = tmp_path / "report.html"
    incident_result.write_html(path)
    opened = _open(browser, path, "report.png")
    page = opened.page
    assert opened.console_errors == []
    assert opened.network == []
    chart_ids = ["chart-timeline"] + [f"chart-cause-{r}" for r in incident_result.causes["rank"]]
    for chart_id in chart_ids:
        assert page.get_attribute(f"#{chart_id}", "data-rendered") == "true", chart_id
        width, height, marks = _chart_size(page, chart_id)
        assert width > 200 and height > 100 and marks > 10, (chart_id, width, height, marks)
        assert page.get_attribute(f"#{chart_id} svg.marks", "aria-label")
    # The episodes table says what the JSON says.
    rows = page.eval_on_selector_all(
        "#episodes-table tbody tr",
        "rows => rows.map(r => [r.dataset.start, r.dataset.end, r.cells[4].innerText, r.cells[5].innerText])",
    )
    expected = incident_result.to_dict()["episodes"]
    assert rows == [
        [e["start"], e["end"], f"{e['requests']:,}", f"{e['failures']:,}"] for e in expected
    ]
    page.close()


def test_timeline_hover_shows_a_tooltip(
    browser: Any, incident_result: Result, tmp_path: Path
) -> None:
    path = tmp_path / "report.html"
    incident_result.write_html(path)
    page = _open(browser, path, "report-hover.png").page
    box = page.locator("#chart-timeline svg.marks").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.4)
    page.wait_for_selector("#vg-tooltip-element.visible", timeout=5_000)
    tooltip = page.inner_text("#vg-tooltip-element")
    assert "requests" in tooltip and "failure rate" in tooltip
    assert re.search(r"2021-04-01 \d\d:\d\d:00 UTC", tooltip), tooltip  # the bucket's time
    page.close()


def test_hostile_log_text_shows_as_text_and_never_runs(
    browser: Any, incident_result: Result, tmp_path: Path
) -> None:
    # Hostile strings in a user agent, a path, an error message, a malformed sample and a
    # file name (see conftest); a folder name with markup, too.
    folder = tmp_path / '"><img src=x onerror=alert(3)>'
    path = folder / "report.html"
    incident_result.write_html(path)
    opened = _open(browser, path, "report-xss.png")
    page = opened.page
    assert opened.dialogs == []
    assert opened.console_errors == []
    assert page.evaluate("document.querySelectorAll('img, iframe, object, embed').length") == 0
    assert (
        page.evaluate(
            "[...document.querySelectorAll('*')].filter(e => [...e.attributes].some(a => a.name.startsWith('on'))).length"
        )
        == 0
    )
    text = page.inner_text("body")
    for payload in (SCRIPT, IMG, BREAKOUT):
        assert payload in text
    page.close()


def test_quiet_day_report_renders(browser: Any, quiet_result: Result, tmp_path: Path) -> None:
    path = tmp_path / "quiet.html"
    quiet_result.write_html(path)
    opened = _open(browser, path, "report-quiet.png")
    assert opened.console_errors == [] and opened.network == []
    assert opened.page.get_attribute("#chart-timeline", "data-rendered") == "true"
    assert "No failure episode found" in opened.page.inner_text("#verdict")
    opened.page.close()


def _hostile_log(path: Path) -> Path:
    """nginx lines whose failing requests carry hostile user agents and paths, plus torn lines."""
    from datetime import UTC, datetime, timedelta

    t0 = datetime(2021, 4, 1, 10, 0, tzinfo=UTC)
    ua_ok = "docker/20.10.6 go/go1.13.15 kernel/5.4 os/linux arch/amd64"
    ua_bad = f"evil {SCRIPT} {IMG} {BREAKOUT}"
    lines = []
    for i in range(3600):
        t = t0 + timedelta(seconds=i)
        bad = 1200 <= i < 1800 and i % 3 == 0
        ua, url, status = (
            (ua_bad, f"/v2/{SCRIPT}/{IMG}/blobs/x", 503)
            if bad
            else (ua_ok, "/v2/library/alpine/manifests/latest", 200)
        )
        lines.append(
            f'203.0.113.{i % 20} - - [{t:%d/%b/%Y:%H:%M:%S} +0000] "GET {url} HTTP/1.1" {status} 512 "-" "{ua}"'
        )
        if i in (100, 2000):
            lines.append(f"torn line {SCRIPT} {IMG} {BREAKOUT}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_hostile_logs_end_to_end(browser: Any, tmp_path: Path) -> None:
    import rca._analyze

    result = rca._analyze.analyze(logs=str(_hostile_log(tmp_path / "logs" / "access.log")))
    path = tmp_path / "report.html"
    result.write_html(path)
    opened = _open(browser, path, "report-xss-e2e.png")
    page = opened.page
    assert opened.dialogs == [] and opened.console_errors == [] and opened.network == []
    assert page.evaluate("document.querySelectorAll('img, iframe, object, embed').length") == 0
    text = page.inner_text("body")
    for payload in (SCRIPT, IMG, BREAKOUT):
        assert payload in text  # at least in the malformed-line samples
    page.close()
