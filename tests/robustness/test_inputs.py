"""Inputs named in awkward ways: an empty file named directly, and one file reached twice.

case                                        what the tool does
------------------------------------------  ------------------------------------------------
empty file named directly (analyze, ingest)  exit 2, the error names the file: "is empty"
blank-lines-only / empty gzip, named         exit 2, the error names the file: "holds no text"
the same file via a folder and by name       read once
the same file via a symlink and by name      read once, under the smaller path, any order
the same file as ./a and /abs/a              read once
"""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import polars as pl
import pytest

import rca
from rca.ingest._files import expand
from tests.robustness.conftest import LOG_SEEDS, assert_clean_error, run_cli

GOOD = LOG_SEEDS["combined"]
GOOD_LINES = len(GOOD.read_bytes().splitlines())


@pytest.mark.parametrize("command", ["analyze", "ingest"])
def test_an_empty_file_named_directly_is_named_in_the_error(tmp_path: Path, command: str) -> None:
    empty = tmp_path / "access-empty.log"
    empty.touch()
    args = ["--logs", str(empty)] + (
        ["-o", str(tmp_path / "r.parquet")] if command == "ingest" else ["--quiet"]
    )
    result = run_cli(command, *args)
    assert_clean_error(result, str(empty), "is empty (0 bytes)", "folder")
    assert not (tmp_path / "r.parquet").exists()


@pytest.mark.parametrize("content", [b"\n\n  \r\n", gzip.compress(b""), gzip.compress(b"\n\n")])
def test_a_named_file_with_no_text_is_named_in_the_error(tmp_path: Path, content: bytes) -> None:
    blank = tmp_path / "blank.log.gz"
    blank.write_bytes(content)
    result = run_cli("analyze", "--logs", str(blank), "--quiet")
    assert_clean_error(result, str(blank), "holds no text")


def _folder_with_log(tmp_path: Path) -> Path:
    folder = tmp_path / "logs"
    folder.mkdir()
    target = folder / "access.log"
    target.write_bytes(GOOD.read_bytes())
    return target


def _ingest_lines(tmp_path: Path, *logs: str) -> tuple[int, list[str]]:
    out = tmp_path / "r.parquet"
    args = [a for path in logs for a in ("--logs", path)]
    result = run_cli("ingest", *args, "-o", str(out))
    assert result.exit_code == 0, result.output
    frame = pl.read_parquet(out)
    return frame.height, sorted(set(frame["source"].to_list()))


def test_a_file_in_a_folder_and_named_again_is_read_once(tmp_path: Path) -> None:
    target = _folder_with_log(tmp_path)
    once, _ = _ingest_lines(tmp_path, str(target.parent))
    twice, sources = _ingest_lines(tmp_path, str(target.parent), str(target))
    assert once > 0 and twice == once and sources == [str(target)]


@pytest.mark.parametrize("order", ["link-first", "file-first"])
def test_a_file_and_a_symlink_to_it_are_read_once(tmp_path: Path, order: str) -> None:
    target = _folder_with_log(tmp_path)
    link = tmp_path / "zz-link.log"
    link.symlink_to(target)
    once, _ = _ingest_lines(tmp_path, str(target))
    paths = [str(link), str(target)] if order == "link-first" else [str(target), str(link)]
    twice, sources = _ingest_lines(tmp_path, *paths)
    # The same name whatever the argument order, so the output is deterministic.
    assert twice == once and sources == [str(target)]


def test_relative_and_absolute_paths_to_one_file_are_read_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = _folder_with_log(tmp_path)
    monkeypatch.chdir(tmp_path)
    once, _ = _ingest_lines(tmp_path, "logs/access.log")
    twice, _ = _ingest_lines(tmp_path, "./logs/../logs/access.log", str(target))
    assert twice == once


def test_expand_keeps_the_first_seen_order_and_drops_repeats(tmp_path: Path) -> None:
    target = _folder_with_log(tmp_path)
    other = target.parent / "b.log"
    other.write_bytes(GOOD.read_bytes())
    link = tmp_path / "a-link.log"
    link.symlink_to(other)
    found = expand([str(other), str(target.parent), str(link)])
    assert found == [other, target]


def test_the_analysis_counts_a_doubly_named_file_once(tmp_path: Path) -> None:
    target = _folder_with_log(tmp_path)
    out = tmp_path / "r.json"
    result = run_cli(
        "analyze",
        "--logs",
        str(target.parent),
        "--logs",
        str(target),
        "--quiet",
        "--json",
        str(out),
    )
    assert result.exit_code == 0, result.output
    quality = json.loads(out.read_text(encoding="utf-8"))["data_quality"]
    assert quality["lines"] == GOOD_LINES and len(quality["files"]) == 1
    assert os.path.samefile(quality["files"][0]["source"], target)
    assert rca.read_logs([target, target.parent]).collect().height == quality["requests"]
