"""Output safety: log text is attacker-controlled, and outputs go only where asked, whole.

* HTML: hostile fields are shown as text (escaped), chart JSON cannot end its ``<script>``
  element, no event handler or external load is injected, and the Content-Security-Policy
  forbids every network load.
* Markdown: rendered as CommonMark it has no link, image or HTML from log text, and GitHub's
  bare-URL autolinker finds nothing to link.
* Terminal: control characters and ANSI/OSC escapes from logs are neutralised.
* ``--html/--json/--md``, ``rca ingest -o``, ``rca simulate -o`` write only there (the
  trees of the working folder, inputs, $HOME and $TMPDIR are compared before and after).
* Writes are atomic: an exception or a SIGKILL in the middle of a write leaves the
  previous file intact.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from datetime import UTC, datetime, timedelta
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

import rca
from rca._result import Result, write_atomic
from tests.robustness.conftest import run_cli

EVIL = (
    "</script><script>alert(1)</script><img src=x onerror=alert(2)>"
    "[click](http://evil.example/)![i](http://evil.example/x.png) www.evil.example "
    "\x1b[2J\x1b]8;;http://evil.example\x07\x08\r"
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def write_hostile_log(path: Path) -> Path:
    """nginx JSON lines where a third of the requests carry EVIL as user agent, upstream
    and repository, and fail for 40 minutes: EVIL ends up in segments and ruled-out labels."""
    t0 = datetime(2021, 5, 29, 8, tzinfo=UTC)
    lines = []
    for i in range(3 * 3600 // 4):
        t = t0 + timedelta(seconds=4 * i)
        bad = i % 3 == 0
        incident = timedelta(hours=1) <= t - t0 < timedelta(hours=1, minutes=40)
        record = {
            "time_local": t.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "remote_addr": f"198.51.100.{i % 50}",
            "request_method": "GET",
            "request_uri": f"/v2/{'evil' if bad else 'library'}/alpine/manifests/3.{i % 4}",
            "status": "503" if bad and incident else "200",
            "body_bytes_sent": "100",
            "request_time": "0.010",
            "http_referer": EVIL,
            "http_user_agent": EVIL if bad else "docker/20.10.7 go/go1.13.15 os/linux",
            "http_x_forwarded_for": "",
            "upstream_addr": EVIL if bad else f"10.0.0.{i % 5}:5000",
            "upstream_response_time": "0.010",
        }
        lines.append(json.dumps(record))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Result]:
    log = write_hostile_log(tmp_path_factory.mktemp("hostile") / "access.log")
    result = rca.analyze(log)
    # The test only proves something if EVIL reached the outputs.
    labels = result.ruled_out["label"].to_list() + result.causes["label"].to_list()
    assert any("alert(1)" in label for label in labels), labels
    return log, result


# --- HTML ------------------------------------------------------------------------------------


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self.text: list[str] = []
        self._script: dict[str, str | None] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._script = dict(attrs)
            self.scripts.append((self._script, ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._script = None

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            attrs, body = self.scripts[-1]
            self.scripts[-1] = (attrs, body + data)
        else:
            self.text.append(data)


def test_html_shows_log_text_as_text_and_nothing_else(hostile: tuple[Path, Result]) -> None:
    page = _Page()
    page.feed(hostile[1].to_html())
    # Shown, escaped: the text nodes hold the hostile markup verbatim (minus controls).
    assert "<script>alert(1)</script><img src=x onerror=alert(2)>" in "".join(page.text)
    for tag, attrs in page.tags:
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
        for name in ("src", "href", "action", "formaction", "data"):
            value = attrs.get(name) or ""
            assert not re.match(r"(?i)\s*(https?:|//|javascript:)", value), (tag, attrs)
    assert "img" not in {tag for tag, _ in page.tags} or all(
        (attrs.get("src") or "").startswith("data:") for tag, attrs in page.tags if tag == "img"
    )
    charts = 0
    for attrs, body in page.scripts:
        if attrs.get("type") == "application/json":
            charts += 1
            json.loads(body)  # the element was not cut short by a "</script>" in the data
        else:
            assert "alert(1)" not in body and "alert(2)" not in body
    assert charts >= 1


def _csp(html: str) -> dict[str, list[str]]:
    match = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]*)"', html)
    assert match, "no Content-Security-Policy meta tag"
    policy: dict[str, list[str]] = {}
    for part in unescape(match.group(1)).split(";"):
        words = part.split()
        if words:
            policy[words[0]] = words[1:]
    return policy


def test_html_csp_forbids_every_network_load(hostile: tuple[Path, Result]) -> None:
    policy = _csp(hostile[1].to_html())
    assert policy.get("default-src") == ["'none'"], policy
    for directive, sources in policy.items():
        for source in sources:
            # Only keywords, hashes/nonces and inline data: no scheme, host or wildcard.
            assert source.startswith("'") or source in ("data:", "blob:"), (directive, source)
    for fetch in ("connect-src", "script-src", "img-src", "font-src", "frame-src", "media-src"):
        assert "*" not in policy.get(fetch, [])


# --- Markdown --------------------------------------------------------------------------------

# Where GitHub's extended autolink starts: line start, whitespace, or one of *_~( before it.
_GFM_AUTOLINK = re.compile(r"(?im)(?:^|[\s*_~(])(?:(?:https?|ftp)://|www\.)\w")


def test_markdown_has_no_injected_link_image_or_html(hostile: tuple[Path, Result]) -> None:
    text = hostile[1].to_markdown()
    assert "alert(1)" in text  # the hostile label is there, escaped
    html = MarkdownIt("commonmark").render(text)
    assert not re.search(r"<(?:a|img|script|iframe)\b", html), html
    assert "evil.example" not in re.sub(r"<[^>]+>", "", html) or "href" not in html
    assert not _GFM_AUTOLINK.search(text), _GFM_AUTOLINK.search(text)
    assert not _CONTROL.search(text)


# --- terminal --------------------------------------------------------------------------------


def test_terminal_summary_neutralises_control_characters(hostile: tuple[Path, Result]) -> None:
    from rich.console import Console

    from rca.report._terminal import print_summary

    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=100, color_system="truecolor")
    print_summary(hostile[1], console, [])
    out = buffer.getvalue()
    # rich styles its own output with SGR sequences; what must not appear is the log's.
    for sequence in ("\x1b[2J", "\x1b]8;;http://evil", "\x07", "\x08"):
        assert sequence not in out
    assert "\\x1b[2J" in out  # shown, visibly escaped


def test_cli_output_has_no_raw_control_characters(
    hostile: tuple[Path, Result], tmp_path: Path
) -> None:
    result = run_cli("analyze", "--logs", str(hostile[0]), "--json", str(tmp_path / "r.json"))
    assert result.exit_code == 0, result.output
    assert not _CONTROL.search(result.stdout)
    assert not _CONTROL.search(result.stderr.replace("\r", "").replace("\x1b", ""))
    # JSON is data: the value is kept exactly as in the input (the contract), JSON-escaped.
    data = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    values = [v for r in data["causes"] for v in r["segment"].values()]
    labels = [r["label"] for r in data["ruled_out"]] + values
    assert any(EVIL.strip() in label or "alert(1)" in label for label in labels)


# --- writes go only where asked ---------------------------------------------------------------


def _tree(root: Path) -> dict[str, str]:
    out = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            out[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


@pytest.fixture
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    places = {name: tmp_path / name for name in ("cwd", "home", "tmp", "inputs", "out")}
    for place in places.values():
        place.mkdir()
    monkeypatch.chdir(places["cwd"])
    monkeypatch.setenv("HOME", str(places["home"]))
    monkeypatch.setenv("XDG_CACHE_HOME", str(places["home"] / ".cache"))
    monkeypatch.setenv("TMPDIR", str(places["tmp"]))
    monkeypatch.setattr(tempfile, "tempdir", str(places["tmp"]))
    return places


def test_analyze_writes_only_the_named_outputs(
    sandbox: dict[str, Path], hostile: tuple[Path, Result]
) -> None:
    log = sandbox["inputs"] / "access.log"
    log.write_bytes(hostile[0].read_bytes())
    root = sandbox["cwd"].parent
    before = _tree(root)
    out = sandbox["out"]
    result = run_cli(
        "analyze", "--logs", str(log), "--quiet",
        "--html", str(out / "r.html"), "--json", str(out / "r.json"), "--md", str(out / "r.md"),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    after = _tree(root)
    new = sorted(set(after) - set(before))
    assert new == ["out/r.html", "out/r.json", "out/r.md"]
    assert {k: v for k, v in after.items() if k in before} == before  # inputs untouched


def test_ingest_and_simulate_write_only_under_o(
    sandbox: dict[str, Path], hostile: tuple[Path, Result]
) -> None:
    log = sandbox["inputs"] / "access.log"
    log.write_bytes(hostile[0].read_bytes())
    root = sandbox["cwd"].parent
    before = _tree(root)
    out = sandbox["out"]
    ingest = run_cli("ingest", "--logs", str(log), "-o", str(out / "req.parquet"), "--quiet")
    assert ingest.exit_code == 0, ingest.output
    sim = run_cli("simulate", "quiet_day", "-o", str(out / "sim"), "--hours", "1", "--rate", "0.05")
    assert sim.exit_code == 0, sim.output
    new = set(_tree(root)) - set(before)
    assert "out/req.parquet" in new
    assert {p for p in new if not p.startswith("out/")} == set()


# --- atomic writes --------------------------------------------------------------------------


def test_a_failed_render_leaves_the_previous_report(
    hostile: tuple[Path, Result], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "report.html"
    hostile[1].write_html(target)
    good = target.read_bytes()

    def boom(result: Result) -> str:
        raise RuntimeError("renderer crashed")

    monkeypatch.setattr("rca.report.render_html", boom)
    with pytest.raises(RuntimeError):
        hostile[1].write_html(target)
    assert target.read_bytes() == good
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]


def test_a_write_failing_half_way_leaves_the_previous_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "result.json"
    write_atomic(target, '{"good": true}\n')
    real_fdopen = os.fdopen

    class _DiskFull(io.TextIOWrapper):
        def write(self, text: str) -> int:
            super().write(text[: len(text) // 2])
            self.flush()
            raise OSError(28, "No space left on device")

    def fdopen(fd: int, *args: object, **kwargs: object) -> io.TextIOWrapper:
        raw = real_fdopen(fd, "wb")
        return _DiskFull(raw, encoding="utf-8", newline="\n")

    monkeypatch.setattr("rca._result.os.fdopen", fdopen)
    with pytest.raises(OSError, match="No space"):
        write_atomic(target, '{"new": "' + "x" * 100_000 + '"}\n')
    assert target.read_text() == '{"good": true}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result.json"]


def test_sigkill_in_the_middle_of_a_write_leaves_the_previous_file(tmp_path: Path) -> None:
    target = tmp_path / "report.md"
    target.write_text("good report\n")
    ready = tmp_path / "ready"
    # The child writes its temporary file, signals, and is killed before the rename.
    child = textwrap.dedent(
        f"""
        import os, pathlib, time
        import rca._result as r
        def stall(src, dst):
            pathlib.Path({str(ready)!r}).touch()
            time.sleep(60)
        r.os.replace = stall
        r.write_atomic({str(target)!r}, "half a report " * 100000)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", child])
    try:
        deadline = time.monotonic() + 60
        while not ready.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ready.exists(), "the child never reached the rename"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert target.read_text() == "good report\n"
    leftovers = [p.name for p in tmp_path.iterdir() if p.name not in ("report.md", "ready")]
    # A killed process cannot clean up: what it leaves is a hidden temporary file.
    assert all(name.startswith(".report.md.") and name.endswith(".tmp") for name in leftovers)


def test_ingest_parquet_failing_half_way_leaves_the_previous_file(
    hostile: tuple[Path, Result], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rca.ingest import _logs

    target = tmp_path / "requests.parquet"
    rca.ingest.write_parquet(hostile[0], target)
    good = target.read_bytes()

    def fail(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_logs, "_check_some_logs", fail)
    with pytest.raises(OSError):
        rca.ingest.write_parquet(hostile[0], target)
    assert target.read_bytes() == good
    assert sorted(p.name for p in tmp_path.iterdir()) == ["requests.parquet"]
