"""Shared pieces of the robustness suite (issue 7): seed inputs, the reconciliation check
and a CLI runner that checks the exit-code contract.

``corpus/seeds/`` holds a few real-shaped lines per format (written by ``rca simulate``),
the starting points for mutation. ``corpus/crashes/`` holds every input that once crashed
a reader; ``test_corpus.py`` replays them.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner, Result

from rca.cli import cli

HERE = Path(__file__).parent
SEEDS = HERE / "corpus" / "seeds"
CRASHES = HERE / "corpus" / "crashes"

#: Seed files of log formats, by format name.
LOG_SEEDS = {p.stem: p for p in sorted(SEEDS.glob("*.log"))}
#: Seed files of metrics formats, by format name.
METRIC_SEEDS = {p.stem: p for p in sorted(SEEDS.iterdir()) if p.suffix != ".log"}


def pytest_configure(config: pytest.Config) -> None:
    # Registered here so the one-line pyproject stays untouched by this suite.
    config.addinivalue_line(
        "markers", "fuzz: coverage-guided fuzzing run (atheris, about a minute)"
    )


def assert_reconciles(quality: pl.DataFrame) -> None:
    """``lines == records + malformed + other`` on every file, and nothing negative."""
    for row in quality.iter_rows(named=True):
        assert row["lines"] == row["records"] + row["malformed"] + row["other"], row
        assert min(row["records"], row["malformed"], row["other"]) >= 0, row


@pytest.fixture
def quiet_warnings() -> Iterator[None]:
    """``read_logs``/``read_metrics`` warn about damage by design; the suite runs with
    warnings as errors, so tests that feed damage on purpose silence them here."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def run_cli(*args: str) -> Result:
    """``rca ARGS`` in-process; exit codes as a user sees them."""
    return CliRunner().invoke(cli, list(args))


def assert_clean_error(result: Result, *needles: str) -> None:
    """Exit 2, one ``Error:`` line on stderr naming what is wrong, and no traceback."""
    assert result.exit_code == 2, (result.exit_code, result.output)
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
