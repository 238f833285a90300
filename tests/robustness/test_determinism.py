"""Determinism: the same inputs give the same JSON byte for byte, across runs and across
the order in which files are named (and created)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import rca
from tests.robustness.conftest import run_cli


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("det") / "lb"
    result = run_cli(
        "simulate", "bad_backend", "-o", str(root), "--hours", "2", "--rate", "2",
        "--log-format", "nginx_timing", "--metrics-format", "prometheus_text", "--seed", "3",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return root


def test_same_json_across_runs_and_file_order(scenario: Path, tmp_path: Path) -> None:
    logs = sorted(str(p) for p in (scenario / "logs").iterdir())
    metrics = sorted(str(p) for p in (scenario / "metrics").iterdir())
    assert len(logs) > 1
    first = rca.analyze(logs, metrics).to_json()
    again = rca.analyze(logs, metrics).to_json()
    reversed_ = rca.analyze(logs[::-1], metrics[::-1]).to_json()
    assert first == again == reversed_
    assert '"episodes": []' not in first  # an incident, so ranking order is exercised


def test_same_json_when_files_are_created_in_another_order(scenario: Path, tmp_path: Path) -> None:
    copies = []
    for name, order in (("a", 1), ("b", -1)):
        dest = tmp_path / name / "logs"
        dest.mkdir(parents=True)
        for src in sorted((scenario / "logs").iterdir())[::order]:
            shutil.copy(src, dest / src.name)
        copies.append(dest)
    a, b = (rca.analyze(c).to_dict() for c in copies)
    for d in (a, b):
        for f in d["data_quality"]["files"]:
            f["source"] = Path(f["source"]).name
    assert a == b


def test_cli_json_is_byte_identical(scenario: Path, tmp_path: Path) -> None:
    outs = []
    for i, order in enumerate((1, -1)):
        out = tmp_path / f"r{i}.json"
        logs = sorted((scenario / "logs").iterdir())[::order]
        args = [a for p in logs for a in ("--logs", str(p))]
        result = run_cli("analyze", *args, "--metrics", str(scenario / "metrics"), "--quiet",
                         "--json", str(out))  # fmt: skip
        assert result.exit_code == 0, result.output
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]
