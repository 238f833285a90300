"""Writing reports: atomic, and readable by others (a report is meant to be shared)."""

from __future__ import annotations

import stat
from pathlib import Path

from rca._result import Result


def test_written_reports_are_world_readable_and_complete(
    incident_result: Result, tmp_path: Path
) -> None:
    incident_result.write_markdown(tmp_path / "sub" / "r.md")
    incident_result.write_json(tmp_path / "r.json")
    for path in (tmp_path / "sub" / "r.md", tmp_path / "r.json"):
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & stat.S_IROTH and mode & stat.S_IRGRP
    assert (tmp_path / "sub" / "r.md").read_text() == incident_result.to_markdown()
    assert [
        p.name for p in tmp_path.iterdir() if p.name.startswith(".")
    ] == []  # no temp files left
