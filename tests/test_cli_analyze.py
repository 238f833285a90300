"""``rca analyze`` and ``rca demo`` through click's CliRunner: outputs, exit codes, messages.

The error cases follow the contract in DESIGN.md: bad usage or unreadable input exits 2
with one line that names the file (or option) and says what to do, never a traceback.
"""

from __future__ import annotations

import gzip
import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from rca._cli_analyze import parse_when
from rca.cli import cli

UA = "docker/20.10.6 go/go1.13.15 kernel/4.14.232-176.381.amzn2.x86_64 os/linux arch/amd64"
T0 = datetime(2021, 4, 1, 10, 0, tzinfo=UTC)


def write_nginx_log(
    path: Path, *, seconds: int = 7200, user_agent: str = UA, url: str | None = None
) -> Path:
    """Two hours of nginx combined lines, one per second, with a burst of 503s at 40-50 min."""
    rnd = random.Random(7)
    lines = []
    for i in range(seconds):
        t = T0 + timedelta(seconds=i)
        status = 503 if 2400 <= i < 3000 and rnd.random() < 0.3 else 200
        target = url or f"/v2/library/alpine/manifests/{i % 7}"
        lines.append(
            f'203.0.113.{i % 50} - - [{t:%d/%b/%Y:%H:%M:%S} +0000] "GET {target} HTTP/1.1" '
            f'{status} 512 "-" "{user_agent}"'
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def log_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_nginx_log(tmp_path_factory.mktemp("logs") / "access.log")


def _run(args: list[str]) -> Result:
    return CliRunner().invoke(cli, args)


def _one_line_error(result: Result) -> str:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


# -- errors -------------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.log"
    line = _one_line_error(_run(["analyze", "--logs", str(missing)]))
    assert str(missing) in line


def test_empty_folder(tmp_path: Path) -> None:
    line = _one_line_error(_run(["analyze", "--logs", str(tmp_path)]))
    assert str(tmp_path) in line


def test_unknown_format(log_file: Path) -> None:
    line = _one_line_error(_run(["analyze", "--logs", str(log_file), "--format", "no_such_format"]))
    assert "no_such_format" in line


def test_corrupt_gzip(tmp_path: Path) -> None:
    bad = tmp_path / "access.log.gz"
    good = gzip.compress(b"not really a log\n" * 100)
    bad.write_bytes(good[: len(good) // 2] + b"\x00garbage")
    line = _one_line_error(_run(["analyze", "--logs", str(bad)]))
    assert str(bad) in line


def test_bad_failure_expression(log_file: Path) -> None:
    line = _one_line_error(
        _run(["analyze", "--logs", str(log_file), "--failure", "status >>> 5 or"])
    )
    assert "failure" in line.lower()


def test_bad_since(log_file: Path) -> None:
    line = _one_line_error(_run(["analyze", "--logs", str(log_file), "--since", "yesterday-ish"]))
    assert "--since" in line and "ISO 8601" in line


def test_nothing_to_analyse() -> None:
    line = _one_line_error(_run(["analyze"]))
    assert "--logs" in line


# -- success ------------------------------------------------------------------------------


def test_json_to_stdout_is_pure_json_and_summary_goes_to_stderr(log_file: Path) -> None:
    result = _run(["analyze", "--logs", str(log_file), "--json", "-"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["schema"] == "rca.result/1"
    assert len(doc["episodes"]) >= 1
    assert "failure episode" in result.stderr


def test_writes_every_report_and_says_where(log_file: Path, tmp_path: Path) -> None:
    html, js, md = tmp_path / "r.html", tmp_path / "r.json", tmp_path / "r.md"
    result = _run(
        [
            "analyze",
            "--logs",
            str(log_file),
            "--html",
            str(html),
            "--json",
            str(js),
            "--md",
            str(md),
        ]
    )
    assert result.exit_code == 0, result.output
    assert html.read_text().startswith("<!DOCTYPE html>")
    assert json.loads(js.read_text())["schema"] == "rca.result/1"
    assert md.read_text().startswith("# Incident analysis")
    for path in (html, js, md):
        assert str(path) in result.stdout
    # The command is recorded in the provenance, as the user could retype it.
    assert f"rca analyze --logs {log_file}" in html.read_text()


def test_quiet_prints_nothing(log_file: Path, tmp_path: Path) -> None:
    result = _run(["analyze", "--logs", str(log_file), "--quiet", "--md", str(tmp_path / "r.md")])
    assert result.exit_code == 0
    assert result.stdout == "" and result.stderr == ""
    assert (tmp_path / "r.md").exists()


def test_since_until_restrict_the_window(log_file: Path) -> None:
    result = _run(
        [
            "analyze",
            "--logs",
            str(log_file),
            "--since",
            "2021-04-01T11:00Z",
            "--until",
            "2021-04-01T12:00",
            "--json",
            "-",
        ]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["window"]["start"] >= "2021-04-01T11:00:00Z"
    assert doc["episodes"] == []  # the burst was at 10:40-10:50


@pytest.mark.parametrize("command", ["analyze", "demo", "ingest", "simulate"])
def test_help_shows_a_worked_example(command: str) -> None:
    result = _run([command, "--help"])
    assert result.exit_code == 0
    assert "Example" in result.output
    # An example line is a full command a user can copy, not a placeholder.
    examples = [ln.strip() for ln in result.output.splitlines() if ln.strip().startswith("rca ")]
    assert any(ln.startswith(f"rca {command}") and len(ln.split()) >= 2 for ln in examples)


def test_analyze_help_teaches_the_time_forms() -> None:
    text = " ".join(_run(["analyze", "--help"]).output.split())
    # ISO with its zone rule, and the relative forms with what they count from.
    assert "2021-04-01T08:00Z" in text and "UTC unless it has an offset" in text
    assert "counted back from now" in text and "--since 6h" in text
    for form in ("90s", "30m", "6h", "2d", "1w"):
        assert form in text
        assert parse_when(form, "--since") is not None  # what the help shows is accepted


def test_ingest_help_says_where_the_window_is_cut() -> None:
    text = " ".join(_run(["ingest", "--help"]).output.split())
    assert "--since/--until" in text and "rca analyze --logs requests.parquet" in text


@pytest.mark.parametrize("command", ["analyze", "ingest"])
def test_format_help_names_every_built_in_format(command: str) -> None:
    from rca.ingest.formats import all_formats

    text = " ".join(_run([command, "--help"]).output.split())
    missing = [f.name for f in all_formats() if f.name not in text]
    assert not missing, f"--format help does not name {missing}"


def test_top_level_help_does_not_truncate_command_summaries() -> None:
    output = _run(["--help"]).output
    commands = output.split("Commands:")[1]
    assert "..." not in commands


# -- demo ---------------------------------------------------------------------------------


def test_demo_without_samples_exits_2(tmp_path: Path) -> None:
    line = _one_line_error(_run(["demo", "--samples", str(tmp_path / "sample_logs")]))
    assert "sample_logs" in line and "--samples" in line


def test_demo_with_empty_samples_exits_2(tmp_path: Path) -> None:
    line = _one_line_error(_run(["demo", "--samples", str(tmp_path)]))
    assert "no scenario folders" in line


def test_demo_writes_reports_per_scenario(tmp_path: Path) -> None:
    samples = tmp_path / "samples"
    write_nginx_log(samples / "burst" / "logs" / "access.log", seconds=3600)
    (samples / "burst" / "truth.json").write_text(json.dumps({"summary": "503 burst at 10:40"}))
    out = tmp_path / "reports"
    result = _run(["demo", "--samples", str(samples), "-o", str(out)])
    assert result.exit_code == 0, result.output
    for ext in ("html", "json", "md"):
        assert (out / f"burst.{ext}").exists()
    assert "burst" in result.stdout and "503 burst at 10:40" in result.stdout
    assert str(out / "burst.html") in result.stdout


# -- time parsing -------------------------------------------------------------------------

NOW = datetime(2021, 4, 2, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2021-04-01T10:00:00Z", datetime(2021, 4, 1, 10, tzinfo=UTC)),
        ("2021-04-01T12:00:00+02:00", datetime(2021, 4, 1, 10, tzinfo=UTC)),
        ("2021-04-01 10:00", datetime(2021, 4, 1, 10, tzinfo=UTC)),
        ("2021-04-01", datetime(2021, 4, 1, tzinfo=UTC)),
        ("6h", NOW - timedelta(hours=6)),
        ("90m", NOW - timedelta(minutes=90)),
        ("45s", NOW - timedelta(seconds=45)),
        ("2d", NOW - timedelta(days=2)),
        ("1.5h", NOW - timedelta(minutes=90)),
        (None, None),
    ],
)
def test_parse_when(text: str | None, expected: datetime | None) -> None:
    assert parse_when(text, "--since", now=NOW) == expected


def test_parse_when_rejects_nonsense() -> None:
    with pytest.raises(click.ClickException, match="ISO 8601"):
        parse_when("6 hours-ish", "--since", now=NOW)
