"""Every log and metrics format round-trips through the readers; determinism per seed;
the CLI; truth matching."""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from rca._errors import DataQualityWarning, ParameterError
from rca.simulate import LOG_FORMATS, METRICS_FORMATS, SCENARIOS, simulate


def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        h.update(path.relative_to(folder).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()


@pytest.mark.parametrize("log_format", LOG_FORMATS)
def test_each_log_format_round_trips(log_format: str, tmp_path: Path) -> None:
    from rca.ingest import parse_logs

    truth = simulate(
        "cdn_client_hang", tmp_path, seed=5, hours=2, rate=1.5, log_format=log_format, compress=True
    )
    assert all(f.endswith(".gz") for f in truth["files"]["logs"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        parsed = parse_logs([tmp_path / "logs"])
    q = parsed.quality
    assert set(q["format"].to_list()) == {log_format}
    assert int(q["malformed"].sum()) == truth["lines"]["torn"]
    assert parsed.requests.height == truth["lines"]["requests"] - truth["lines"]["torn"]
    # The user agent survives each format's escaping, amzn2 kernel marker included.
    kernels = set(parsed.requests["ua_kernel"].drop_nulls().unique().to_list())
    assert "amzn2" in kernels and "amzn2023" in kernels
    assert parsed.requests["user_agent"].str.contains(r"\\\(linux\\\)").any()


@pytest.mark.parametrize("metrics_format", METRICS_FORMATS)
def test_each_metrics_format_round_trips(metrics_format: str, tmp_path: Path) -> None:
    from rca.ingest import parse_metrics

    simulate("storage_latency", tmp_path, seed=4, hours=1, rate=0.3, metrics_format=metrics_format)
    parsed = parse_metrics([tmp_path / "metrics"])
    assert int(parsed.quality["malformed"].sum()) == 0
    assert set(parsed.quality["format"].to_list()) == {metrics_format}
    m = parsed.metrics
    assert m["metric"].n_unique() >= 15
    assert m.select(pl.struct("metric", "labels").n_unique()).item() >= 20


def test_same_seed_same_bytes_and_different_seeds_differ(tmp_path: Path) -> None:
    a = simulate("bad_backend", tmp_path / "a", seed=7, hours=1.5, rate=0.5)
    b = simulate("bad_backend", tmp_path / "b", seed=7, hours=1.5, rate=0.5)
    c = simulate("bad_backend", tmp_path / "c", seed=8, hours=1.5, rate=0.5)
    assert a == b
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    assert _digest(tmp_path / "a") != _digest(tmp_path / "c")
    assert a["incidents"] != c["incidents"]
    assert a["root_cause"] != c["root_cause"] or a["clock_skew_s"] != c["clock_skew_s"]


def test_seeds_change_names_instances_and_skew(tmp_path: Path) -> None:
    truths = [
        simulate("lb_cpu_saturation", tmp_path / str(s), seed=s, hours=36, rate=0.05)
        for s in range(4)
    ]
    assert (
        len({t["root_cause"]["metric"] for t in truths}) > 1
        or len({t["red_herrings"][0]["metric"] for t in truths}) > 1
    )
    assert len({t["clock_skew_s"] for t in truths}) == 4
    assert all(abs(t["clock_skew_s"]) <= 30 for t in truths)
    assert all(len(t["incidents"]) >= 2 for t in truths)


def test_unsupported_combination_says_what_to_use(tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="nginx_timing"):
        simulate("bad_backend", tmp_path, log_format="combined")
    with pytest.raises(ParameterError, match="choose one of"):
        simulate("no_such_scenario", tmp_path)
    with pytest.raises(ParameterError, match="metrics format"):
        simulate("quiet_day", tmp_path, metrics_format="xml")


def test_cli_lists_and_writes(tmp_path: Path) -> None:
    from rca.cli import cli

    runner = CliRunner()
    listed = runner.invoke(cli, ["simulate", "--list"])
    assert listed.exit_code == 0
    assert all(name in listed.output for name in SCENARIOS)
    out = tmp_path / "q"
    ran = runner.invoke(
        cli, ["simulate", "quiet_day", "-o", str(out), "--hours", "1", "--rate", "0.2", "--gzip"]
    )
    assert ran.exit_code == 0, ran.output
    assert "quiet_day" in ran.output and (out / "truth.json").exists()
    bad = runner.invoke(cli, ["simulate", "bad_backend", "-o", str(out), "--log-format", "alb2"])
    assert bad.exit_code == 2 and "unknown log format" in bad.output


def test_registry_text_line_of_an_error_without_detail_leaves_the_key_out() -> None:
    # A null err.detail once blanked the whole line (concat_str of a null), which made
    # `rca simulate --format registry_text` fail at 24 h of storage_latency.
    import polars as pl

    from rca.simulate._render_logs import _registry_lines

    row = {
        "err_code": "BLOB_UNKNOWN",
        "err_detail": None,
        "err_message": "blob unknown to registry",
        "req_id": "r-1",
        "method": "GET",
        "ip": "203.0.113.7",
        "port": 41234,
        "path": "/v2/a/blobs/sha256:ab",
        "ua": "docker/24.0.5",
        "content_type": "application/json",
        "dur_ns": 4_000_000,
        "status": 404,
        "bytes": 157,
        "end_ns": 1_615_873_483_242_731_816,
        "hung": False,
    }
    frame = pl.DataFrame([row], schema_overrides={"err_detail": pl.String, "status": pl.Int16})
    line = _registry_lines(frame, json=False, instance_id="i-1")["line"][0]
    assert line is not None
    assert "err.code=BLOB_UNKNOWN" in line and "err.detail" not in line
