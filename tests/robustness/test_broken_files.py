"""Broken files: each either fails with exit code 2 and one line naming the file and what
to do, or runs and reports the damage in data quality. Decisions, per case:

=============================  =====================================================
corrupt gzip (truncated, CRC)  exit 2: the file name, "corrupt or truncated gzip", re-copy
empty file, alone              exit 2: the file name, "file is empty (0 bytes)"
empty file next to logs        runs; the file is listed with format "empty", 0 lines
empty folder                   exit 2: the folder name, "folder has no files"
mixed formats + README + PNG   runs; each log file detected by content, README and PNG
                               listed as "unrecognised" with every line counted as other
symlink loop (file)            exit 2: the link name, "not a regular file or folder"
symlink loop (folder, glob)    runs; links are not followed, every file is read once
unreadable file                exit 2: the file name, "permission denied"
metrics without a time column  exit 2: the file name, "no timestamp column"
metrics all NaN / one point    runs; the file is in data quality and the unusable series
                               is named in the notes
metrics duplicate series       runs; duplicate points are kept and averaged per bucket
=============================  =====================================================
"""

from __future__ import annotations

import gzip
import json
import os
import struct
import zlib
from pathlib import Path

import pytest

import rca
from rca._errors import IngestError
from rca.ingest import _files
from tests.robustness.conftest import LOG_SEEDS, assert_clean_error, run_cli

GOOD = LOG_SEEDS["combined"]


def _png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\x00"))
        + chunk(b"IEND", b"")
    )


def _analyze_json(tmp_path: Path, *args: str) -> dict[str, object]:
    out = tmp_path / "result.json"
    result = run_cli("analyze", *args, "--quiet", "--json", str(out))
    assert result.exit_code == 0, result.output
    data: dict[str, object] = json.loads(out.read_text(encoding="utf-8"))
    return data


def _files_of(data: dict[str, object]) -> dict[str, dict[str, object]]:
    quality = data["data_quality"]
    assert isinstance(quality, dict)
    return {Path(f["source"]).name: f for f in quality["files"]}


# --- gzip ----------------------------------------------------------------------------------


def _gzip(tmp_path: Path, damage: str, suffix: str = ".log.gz") -> Path:
    data = gzip.compress(GOOD.read_bytes() * 50)
    if damage == "truncated":
        data = data[: len(data) // 2]
    else:  # flip a byte of the CRC32 in the trailer
        raw = bytearray(data)
        raw[-8] ^= 0xFF
        data = bytes(raw)
    path = tmp_path / f"{damage}{suffix}"
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("damage", ["truncated", "bad_crc"])
def test_corrupt_gzip_log_exits_2_naming_the_file(tmp_path: Path, damage: str) -> None:
    path = _gzip(tmp_path, damage)
    result = run_cli("analyze", "--logs", str(path), "--quiet")
    assert_clean_error(result, path.name, "corrupt or truncated gzip", "re-copy")


@pytest.mark.parametrize("damage", ["truncated", "bad_crc"])
def test_corrupt_gzip_metrics_exits_2_naming_the_file(tmp_path: Path, damage: str) -> None:
    path = _gzip(tmp_path, damage, ".prom.gz")
    result = run_cli("analyze", "--logs", str(GOOD), "--metrics", str(path), "--quiet")
    assert_clean_error(result, path.name, "gzip")


# --- empty ---------------------------------------------------------------------------------


def test_an_empty_file_alone_exits_2(tmp_path: Path) -> None:
    empty = tmp_path / "empty.log"
    empty.touch()
    assert_clean_error(run_cli("analyze", "--logs", str(empty), "--quiet"), "empty")


def test_an_empty_file_named_in_python_names_it_too(tmp_path: Path) -> None:
    empty = tmp_path / "empty.log"
    empty.touch()
    with pytest.raises(IngestError, match=r"empty\.log: file is empty"):
        rca.analyze(logs=str(empty))
    assert rca.read_logs(str(empty)).collect().height == 0  # a reader: an empty frame


def test_an_empty_file_next_to_logs_is_listed_not_fatal(tmp_path: Path) -> None:
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "empty.log").touch()
    (tmp_path / "logs" / "access.log").write_bytes(GOOD.read_bytes())
    files = _files_of(_analyze_json(tmp_path, "--logs", str(tmp_path / "logs")))
    assert files["empty.log"]["format"] == "empty"
    assert files["empty.log"]["lines"] == 0
    assert files["access.log"]["records"] == 6


def test_an_empty_folder_exits_2_naming_it(tmp_path: Path) -> None:
    folder = tmp_path / "nothing-here"
    folder.mkdir()
    result = run_cli("analyze", "--logs", str(folder), "--quiet")
    assert_clean_error(result, "nothing-here", "folder has no files")


# --- a folder of everything ----------------------------------------------------------------


def test_mixed_formats_readme_and_png(tmp_path: Path) -> None:
    folder = tmp_path / "logs"
    folder.mkdir()
    for name in ("combined", "alb", "registry_json", "cloudfront"):
        (folder / f"{name}.log").write_bytes(LOG_SEEDS[name].read_bytes())
    (folder / "README.md").write_text("# Logs\n\nCopied from the LB on Monday.\n")
    (folder / "logo.png").write_bytes(_png())
    files = _files_of(_analyze_json(tmp_path, "--logs", str(folder)))
    for name in ("combined", "alb", "registry_json", "cloudfront"):
        assert files[f"{name}.log"]["format"] == name
        assert files[f"{name}.log"]["malformed"] == 0
    for stray in ("README.md", "logo.png"):
        assert files[stray]["format"] == "unrecognised"
        assert files[stray]["records"] == 0
        assert files[stray]["lines"] == files[stray]["other"] > 0


# --- symlinks ------------------------------------------------------------------------------


def test_a_symlink_loop_named_directly_exits_2(tmp_path: Path) -> None:
    (tmp_path / "a.log").symlink_to(tmp_path / "b.log")
    (tmp_path / "b.log").symlink_to(tmp_path / "a.log")
    result = run_cli("analyze", "--logs", str(tmp_path / "a.log"), "--quiet")
    assert_clean_error(result, "a.log", "not a regular file or folder")


@pytest.mark.timeout(60)
@pytest.mark.parametrize("pattern", ["", "/**", "/**/*.log", "/*"])
def test_folder_symlink_loops_are_not_followed(tmp_path: Path, pattern: str) -> None:
    folder = tmp_path / "logs"
    folder.mkdir()
    (folder / "access.log").write_bytes(GOOD.read_bytes())
    # Two links back to the folder: glob.glob(recursive=True) used to enumerate 2**40 paths.
    (folder / "again").symlink_to(folder)
    (folder / "and-again").symlink_to(Path(".."), target_is_directory=True)
    (folder / "dangling.log").symlink_to(tmp_path / "gone.log")
    parsed = rca.ingest.parse_logs(str(folder) + pattern)
    assert parsed.quality["source"].to_list() == [str(folder / "access.log")]
    assert parsed.requests.height == 6


def test_the_same_file_through_a_folder_symlink_is_read_once(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (real / "access.log").write_bytes(GOOD.read_bytes())
    (tmp_path / "link").symlink_to(real)
    parsed = rca.ingest.parse_logs(str(tmp_path / "*"))
    assert parsed.requests.height == 6


# --- permissions ---------------------------------------------------------------------------


def test_an_unreadable_file_exits_2_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The suite runs as root, which reads any file: deny access where rca asks for it.
    path = tmp_path / "secret.log"
    path.write_bytes(GOOD.read_bytes())
    real_access = os.access
    monkeypatch.setattr(
        _files.os, "access", lambda p, mode: Path(p) != path and real_access(p, mode)
    )
    result = run_cli("analyze", "--logs", str(path), "--quiet")
    assert_clean_error(result, "secret.log", "permission denied")
    folder_result = run_cli("analyze", "--logs", str(tmp_path), "--quiet")
    assert_clean_error(folder_result, "secret.log", "permission denied")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_a_chmod_000_file_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "secret.log"
    path.write_bytes(GOOD.read_bytes())
    path.chmod(0)
    assert_clean_error(run_cli("analyze", "--logs", str(path), "--quiet"), "secret.log")


def test_permission_error_at_open_is_an_ingest_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # os.access can say yes and open still fail (ACLs, SELinux, a file replaced meanwhile).
    path = tmp_path / "racy.log"
    path.write_bytes(GOOD.read_bytes())
    real_open = Path.open

    def deny(self: Path, *args: object, **kwargs: object) -> object:
        if self == path:
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "open", deny)
    with pytest.raises(IngestError, match=r"racy\.log"):
        rca.ingest.parse_logs(path)


# --- metrics -------------------------------------------------------------------------------

_T = "2021-05-29T09:0{}:00Z"


def test_metrics_without_a_time_column_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "cpu.csv"
    path.write_text("metric,instance,value\ncpu,lb-1,0.5\ncpu,lb-1,0.6\n")
    result = run_cli("analyze", "--logs", str(GOOD), "--metrics", str(path), "--quiet")
    assert_clean_error(result, "cpu.csv", "no timestamp column")


@pytest.mark.parametrize(
    ("name", "rows"),
    [
        ("all_nan", [(_T.format(i), "cpu", "NaN") for i in range(6)]),
        ("one_point", [(_T.format(3), "cpu", "0.5")]),
        (
            "duplicates",
            [(_T.format(i), "cpu", v) for i in range(6) for v in ("0.5", "0.5", "0.9")],
        ),
    ],
)
def test_damaged_metrics_run_and_are_reported(
    tmp_path: Path, name: str, rows: list[tuple[str, str, str]]
) -> None:
    path = tmp_path / f"{name}.csv"
    path.write_text("timestamp,metric,value\n" + "".join(f"{t},{m},{v}\n" for t, m, v in rows))
    data = _analyze_json(tmp_path, "--logs", str(GOOD), "--metrics", str(path))
    files = _files_of(data)
    assert files[path.name]["records"] == len(rows)
    assert files[path.name]["lines"] == len(rows) + 1
    result = rca.analyze(GOOD, path)
    if name == "duplicates":
        return  # a usable series: nothing to report
    notes = " ".join(result.diagnostics.notes)
    assert "cpu" in notes and "metric series" in notes, notes


def test_duplicate_series_in_a_wide_export_stay_separate_points(tmp_path: Path) -> None:
    path = tmp_path / "grafana.csv"
    lines = ['"Time","cpu","cpu"'] + [f"2021-05-29 09:0{i}:00,0.{i},0.{9 - i}" for i in range(6)]
    path.write_text("\n".join(lines) + "\n")
    parsed = rca.ingest.parse_metrics(path)
    assert parsed.metrics.height == 12
    result = run_cli("analyze", "--logs", str(GOOD), "--metrics", str(path), "--quiet")
    assert result.exit_code == 0, result.output
