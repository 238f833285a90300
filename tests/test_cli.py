"""The CLI's error contract: exit 2 with one line for bad input, 1 for internal errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from rca import RCAError
from rca.cli import cli


def test_help_lists_commands_with_examples() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for command in ("analyze", "ingest", "simulate"):
        assert command in result.output
    assert "rca analyze --logs" in result.output


def test_missing_file_exits_2_with_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "nope.log"
    result = CliRunner().invoke(
        cli, ["ingest", "--logs", str(missing), "-o", str(tmp_path / "x.parquet")]
    )
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1
    assert str(missing) in lines[0] and "no such file" in lines[0]
    assert "Traceback" not in result.output


def test_empty_folder_exits_2(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = CliRunner().invoke(
        cli, ["ingest", "--logs", str(tmp_path / "empty"), "-o", str(tmp_path / "x.parquet")]
    )
    assert result.exit_code == 2
    assert "folder has no files" in result.output


def _group_with(exc: BaseException) -> click.Group:
    # A throwaway group with rca's error mapping and one command raising ``exc``.
    from rca.cli import RcaGroup

    @click.group(cls=RcaGroup)
    @click.option("--debug", is_flag=True)
    def group(debug: bool) -> None:
        pass

    @group.command()
    def boom() -> None:
        raise exc

    return group


def test_rca_error_is_one_line_exit_2_and_neutralises_escapes() -> None:
    result = CliRunner().invoke(_group_with(RCAError("bad\x1b[31m input\nsecond line")), ["boom"])
    assert result.exit_code == 2
    assert result.output.count("\n") == 1
    assert "\x1b" not in result.output and "\\x1b" in result.output


def test_internal_error_exits_1_without_traceback_unless_debug() -> None:
    group = _group_with(ZeroDivisionError("oops"))
    result = CliRunner().invoke(group, ["boom"])
    assert result.exit_code == 1
    assert "internal error" in result.output and "--debug" in result.output
    assert "Traceback" not in result.output
    debug = CliRunner().invoke(group, ["--debug", "boom"])
    assert isinstance(debug.exception, ZeroDivisionError)


@pytest.mark.parametrize("args", [["--help"], ["--version"]])
def test_console_script_runs(args: list[str]) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "rca", *args], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip()
