"""parse_logs / read_logs: counting, reconciliation, order, parallelism, damaged input."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from rca._errors import DataQualityWarning, IngestError
from rca._schema import FILE_QUALITY, REQUESTS
from rca.ingest import ParsedLogs, parse_logs, read_logs
from rca.ingest import _logs as logs_module
from rca.ingest.formats import all_formats
from rca.ingest.formats._base import LogFormat

# Real-shaped lines of several formats, truncated at random by the fuzz test below.
_DOC_LINES = [
    '203.0.113.7 - - [17/May/2015:10:05:03 +0000] "GET /v2/ HTTP/1.1" 200 2 "-" "curl/8.0" 0.005 10.0.0.1:5000 0.004',
    'time="2023-05-04T10:01:02Z" level=info msg="response completed" http.request.method=GET http.request.uri="/v2/" http.response.status=200 http.response.duration=2.2ms',
    '{"time":"2023-05-04T10:01:02Z","msg":"response completed","http.request.uri":"/v2/","http.response.status":200,"ClientIP":"192.0.2.1","EdgeStartTimestamp":1683194463}',
    'http 2018-07-02T22:23:00.186641Z app/lb/50dc 192.168.131.39:2817 10.0.0.1:80 0.000 0.001 0.000 200 200 34 366 "GET http://x:80/ HTTP/1.1" "curl/7.46.0" - -',
    "2019-12-04\t21:02:31\tLAX1\t392\t192.0.2.100\tGET\td1.cloudfront.net\t/index.html\t200",
]

GOOD = [
    "2024-01-01T00:00:00Z 200 GET /v2/",
    "2024-01-01T00:00:02Z 503 GET /v2/library/alpine/manifests/3.18",
    "2024-01-01T00:00:01Z 200 HEAD /v2/library/alpine/blobs/sha256:ab",
]


def _reconciles(quality: pl.DataFrame) -> bool:
    q = quality
    return bool(((q["records"] + q["malformed"] + q["other"]) == q["lines"]).all())


def test_counts_samples_and_reconciliation(
    write_log: Callable[..., Path], simple_format: LogFormat
) -> None:
    lines = [GOOD[0], "", "   ", "torn line", GOOD[1], "x" * 10, GOOD[2], "\x1b[31mred"]
    path = write_log("a.log", lines)
    parsed = parse_logs(path, format=simple_format)
    assert isinstance(parsed, ParsedLogs)
    assert parsed.requests.schema == pl.Schema(REQUESTS)
    assert parsed.quality.schema == pl.Schema(FILE_QUALITY)
    row = parsed.quality.row(0, named=True)
    assert row == {
        "source": str(path),
        "format": "simple",
        "bytes": path.stat().st_size,
        "lines": 8,
        "records": 3,
        "malformed": 3,
        "other": 2,
        "invalid_utf8": 0,
        "out_of_order": 1,  # 00:00:01 after 00:00:02
        "samples": ["torn line", "x" * 10, "\x1b[31mred"],  # verbatim
    }
    assert _reconciles(parsed.quality)
    out = parsed.requests
    assert out["source"].to_list() == [str(path)] * 3
    assert out["status"].to_list() == [200, 503, 200]  # file order, not time order
    assert out["endpoint"].to_list() == ["ping", "manifest", "blob"]


def test_samples_capped_and_counts_span_chunks(
    write_log: Callable[..., Path], simple_format: LogFormat, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines: list[str] = []
    for i in range(300):
        # Every tenth timestamp steps back; a malformed line every seventh.
        second = i - 5 if i % 10 == 0 and i else i
        lines.append(f"2024-01-01T00:{second // 60:02d}:{second % 60:02d}Z 200 GET /p{i}")
        if i % 7 == 0:
            lines.append(f"bad {i}")
    path = write_log("big.log", lines, newline_at_end=False)
    whole = parse_logs(path, format=simple_format)
    monkeypatch.setattr(logs_module, "CHUNK_BYTES", 64)  # a few lines per chunk
    chunked = parse_logs(path, format=simple_format)
    assert_frame_equal(chunked.requests, whole.requests)
    assert_frame_equal(chunked.quality, whole.quality)
    row = whole.quality.row(0, named=True)
    assert (row["lines"], row["records"], row["malformed"]) == (343, 300, 43)
    assert row["out_of_order"] == 29
    assert row["samples"] == ["bad 0", "bad 7", "bad 14", "bad 21", "bad 28"]


def test_non_utf8_blank_and_torn_last_line_never_stop_a_run(
    write_log: Callable[..., Path], simple_format: LogFormat
) -> None:
    data = (
        GOOD[0].encode()
        + b"\n\n"
        + b"2024-01-01T00:00:03Z 200 GET /caf\xe9\n"  # Latin-1 byte in the path
        + b"\xff\xfe\x00garbage\n"
        + GOOD[1].encode()[:20]  # torn last line, no newline
    )
    path = write_log("damaged.log", data)
    parsed = parse_logs(path, format=simple_format)
    row = parsed.quality.row(0, named=True)
    assert (row["lines"], row["records"], row["malformed"], row["other"]) == (5, 2, 2, 1)
    assert row["invalid_utf8"] == 2
    assert parsed.requests["path"].to_list() == ["/v2/", "/caf\ufffd"]
    assert row["samples"][1] == GOOD[1][:20]


def test_files_come_out_in_sorted_path_order(
    write_log: Callable[..., Path], simple_format: LogFormat, tmp_path: Path
) -> None:
    for name in ["c.log", "a.log", "sub/b.log", "d.log.gz"]:
        write_log(name, [f"2024-01-01T00:00:00Z 200 GET /{name}"] * 50, gz=name.endswith(".gz"))
    expected = [str(tmp_path / n) for n in ["a.log", "c.log", "d.log.gz", "sub/b.log"]]
    for spec in (tmp_path, [tmp_path / "sub", tmp_path / "d.log.gz", str(tmp_path / "*.log")]):
        parsed = parse_logs(spec, format=simple_format)
        assert parsed.quality["source"].to_list() == expected
        assert parsed.requests["source"].unique(maintain_order=True).to_list() == expected
        assert parsed.requests.height == 200


def test_parallel_result_is_deterministic(
    write_log: Callable[..., Path], simple_format: LogFormat, tmp_path: Path
) -> None:
    for f in range(6):
        write_log(
            f"f{f}.log",
            [
                f"2024-01-01T00:{i // 60 % 60:02d}:{i % 60:02d}Z 200 GET /{f}/{i}"
                for i in range(2000)
            ],
        )
    first = parse_logs(tmp_path, format=simple_format)
    for _ in range(3):
        again = parse_logs(tmp_path, format=simple_format)
        assert_frame_equal(again.requests, first.requests)
        assert_frame_equal(again.quality, first.quality)


def test_gzip_and_plain_give_identical_frames(
    write_log: Callable[..., Path], simple_format: LogFormat
) -> None:
    plain = parse_logs(write_log("x.log", GOOD), format=simple_format)
    packed = parse_logs(write_log("x.log.gz", GOOD, gz=True), format=simple_format)
    assert_frame_equal(packed.requests.drop("source"), plain.requests.drop("source"))
    assert_frame_equal(
        packed.quality.drop("source", "bytes"), plain.quality.drop("source", "bytes")
    )


def test_errors_from_a_worker_reach_the_caller(
    write_log: Callable[..., Path], simple_format: LogFormat, tmp_path: Path
) -> None:
    write_log("a.log", GOOD)
    torn = tmp_path / "b.log.gz"
    import gzip

    data = gzip.compress(("\n".join(GOOD) + "\n").encode() * 5000)
    torn.write_bytes(data[: len(data) // 2])
    with pytest.raises(IngestError, match="corrupt or truncated gzip") as info:
        parse_logs(tmp_path, format=simple_format)
    assert info.value.path == str(torn)


def test_unknown_format_name_lists_the_known_ones(write_log: Callable[..., Path]) -> None:
    with pytest.raises(IngestError, match=r"unknown log format 'nope'.*combined"):
        parse_logs(write_log("a.log", GOOD), format="nope")


def test_explicit_format_wins_over_detection(
    write_log: Callable[..., Path], simple_format: LogFormat, combined_lines: list[str]
) -> None:
    path = write_log("a.log", combined_lines)
    detected = parse_logs(path)
    assert detected.quality["format"].to_list() == ["combined"]
    forced = parse_logs(path, format=simple_format)
    assert forced.quality.select("format", "records", "malformed").row(0) == ("simple", 0, 3)


def test_mixed_formats_in_one_folder(
    write_log: Callable[..., Path], tmp_path: Path, combined_lines: list[str]
) -> None:
    write_log("lb/access.log", combined_lines)
    write_log("registry/registry.log.gz", _registry_text_lines(), gz=True)
    parsed = parse_logs(tmp_path)
    assert parsed.quality.select("format", "records").rows() == [
        ("combined", 3),
        ("registry_text", 2),
    ]
    assert parsed.requests.height == 5


def _registry_text_lines() -> list[str]:
    # Shaped like distribution's logrus text output (docs: "Configuring a registry" / logs).
    return [
        'time="2023-05-04T10:01:02.123456789Z" level=info msg="response completed" go.version=go1.20.3 http.request.host="registry.example.com" http.request.id=0d9b1a7c http.request.method=GET http.request.remoteaddr="203.0.113.9:51234" http.request.uri="/v2/library/alpine/manifests/3.18" http.request.useragent="containerd/1.6.21" http.response.contenttype="application/vnd.oci.image.index.v1+json" http.response.duration=2.2ms http.response.status=200 http.response.written=1638',
        'time="2023-05-04T10:01:03.5Z" level=info msg="response completed" go.version=go1.20.3 http.request.host="registry.example.com" http.request.id=1e2f3a4b http.request.method=HEAD http.request.remoteaddr="203.0.113.9:51235" http.request.uri="/v2/library/alpine/blobs/sha256:ab12" http.request.useragent="containerd/1.6.21" http.response.duration=941.5µs http.response.status=404 http.response.written=0',
    ]


def test_folder_with_unrelated_files_skips_them(
    write_log: Callable[..., Path], tmp_path: Path, combined_lines: list[str]
) -> None:
    write_log("access.log", combined_lines)
    write_log("README.md", ["# Logs", "", "Rotated daily by logrotate."])
    write_log("logo.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10")
    write_log("empty.log", b"")
    parsed = parse_logs(tmp_path)
    assert parsed.quality.select("source", "format", "lines", "other").rows() == [
        (str(tmp_path / "README.md"), "unrecognised", 3, 3),
        (str(tmp_path / "access.log"), "combined", 3, 0),
        (str(tmp_path / "empty.log"), "empty", 0, 0),
        (str(tmp_path / "logo.png"), "unrecognised", 3, 3),  # 2 newlines + a torn tail
    ]
    assert _reconciles(parsed.quality)
    assert parsed.requests.height == 3
    with pytest.warns(DataQualityWarning, match="2 file\\(s\\) matched no log format"):
        read_logs(tmp_path)


def test_an_explicitly_named_unrecognised_file_is_an_error(
    write_log: Callable[..., Path], combined_lines: list[str]
) -> None:
    path = write_log("notes.txt", ["\x1b[2Jhello " + "y" * 200, "world"])
    with pytest.raises(IngestError) as info:
        parse_logs([path, write_log("ok.log", combined_lines)])
    message = str(info.value)
    assert message.startswith(f"{path}: no known log format matches")
    assert "first line: '\\x1b[2Jhello yyy" in message  # terminal-safe
    assert "\x1b" not in message
    assert "y" * 100 not in message  # truncated
    assert "combined" in message and "registry_text" in message and "--format" in message


def test_a_folder_with_no_log_at_all_is_an_error(
    write_log: Callable[..., Path], tmp_path: Path
) -> None:
    write_log("README.md", ["# not a log"])
    write_log("empty.log", b"")
    with pytest.raises(IngestError, match="none of the 2 input file\\(s\\) is a log"):
        parse_logs(tmp_path)


def test_only_empty_files_give_an_empty_frame(write_log: Callable[..., Path]) -> None:
    parsed = parse_logs(write_log("empty.log", b"\n\n"))
    assert parsed.requests.height == 0
    assert parsed.requests.schema == pl.Schema(REQUESTS)
    assert parsed.quality.select("format", "lines", "other").row(0) == ("empty", 2, 2)


def test_read_logs_warns_once_about_malformed_lines(
    write_log: Callable[..., Path], simple_format: LogFormat
) -> None:
    path = write_log("a.log", [*GOOD, "oops", "oops again"])
    with pytest.warns(DataQualityWarning, match=r"2 of 5 lines could not be parsed") as record:
        frame = read_logs(path, format=simple_format)
    assert len(record) == 1
    assert isinstance(frame, pl.LazyFrame)
    assert frame.collect().height == 3
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_logs(write_log("clean.log", GOOD), format=simple_format)  # no warning


def test_public_names_are_complete() -> None:
    import rca.ingest

    modules = {"metrics", "formats", "annotations", "TYPE_CHECKING"}  # not API
    public = {n for n in dir(rca.ingest) if not n.startswith("_")} - modules
    assert sorted(rca.ingest.__all__) == rca.ingest.__all__
    assert public <= set(rca.ingest.__all__)
    for name in rca.ingest.__all__:
        assert getattr(rca.ingest, name) is not None


@pytest.mark.parametrize("name", [f.name for f in all_formats()])
@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    data=st.lists(
        st.one_of(
            st.binary(max_size=80),
            st.sampled_from(_DOC_LINES).flatmap(
                lambda line: st.integers(0, len(line)).map(lambda cut: line[:cut].encode())
            ),
        ),
        max_size=12,
    ).map(b"\n".join)
)
def test_any_bytes_with_any_format_never_raise_and_reconcile(
    tmp_path: Path, name: str, data: bytes
) -> None:
    path = tmp_path / "fuzz.log"
    # Not a gzip stream or a Parquet file by accident (their magic bytes pick the reader;
    # a corrupt one is an IngestError, tested in tests/robustness).
    while data[:2] == b"\x1f\x8b" or data[:4] == b"PAR1":
        data = data[2:]
    path.write_bytes(data)
    parsed = parse_logs(path, format=name)
    assert _reconciles(parsed.quality)
    assert parsed.requests.height == parsed.quality["records"].sum()
    assert parsed.requests.schema == pl.Schema(REQUESTS)


# ------------------------------------- keys answered across chunks (REPEAT_KEY formats)


def _registry_lines(n: int, seed: int) -> list[bytes]:
    """Registry JSON response lines where many requests log several errors, some far apart
    (across chunk boundaries), some with a time nothing can read, plus torn lines."""
    import json
    import random

    rnd = random.Random(seed)
    lines = []
    for i in range(n):
        rid = f"req-{rnd.randrange(n // 3)}"  # ids repeat, near and far
        entry = {
            "http.request.id": rid,
            "http.request.method": "PUT",
            "http.request.uri": f"/v2/a/blobs/uploads/{i}",
            "http.response.status": rnd.choice([200, 400, 500]),
            "level": "error",
            "msg": "response completed with error",
            "err.message": f"error {i}",
            "time": f"2021-04-01T10:00:{i % 60:02d}Z" if rnd.random() > 0.05 else "garbage",
        }
        line = json.dumps(entry)
        if rnd.random() < 0.03:
            line = line[: rnd.randrange(len(line))]  # torn
        lines.append(line.encode())
    return lines


@pytest.mark.parametrize("seed", [0, 1])
def test_keys_answered_in_earlier_chunks_match_the_sequential_reference(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    from rca.ingest import _logs
    from rca.ingest._files import iter_line_chunks
    from rca.ingest.formats import get_format
    from rca.ingest.formats._base import KIND, MALFORMED, OTHER, REQUEST, ParseState

    path = tmp_path / "registry.log"
    path.write_bytes(b"\n".join(_registry_lines(3000, seed)) + b"\n")
    monkeypatch.setattr(_logs, "CHUNK_BYTES", 8192)  # ~40 chunks, parsed in parallel
    got = parse_logs(path, format="registry_json")
    # Reference: the format's own parse, chunk after chunk, the state carried along.
    fmt, state = get_format("registry_json"), ParseState(str(path))
    kinds, requests, samples = [], [], []
    for chunk in iter_line_chunks(path, 8192):
        parsed = fmt.parse(chunk.lines, state)
        kinds.append(parsed[KIND])
        requests.append(parsed.filter(pl.col(KIND) == REQUEST))
        bad = parsed[KIND] == MALFORMED
        samples += chunk.lines.filter(bad).to_list()
    kind = pl.concat(kinds)
    row = got.quality.row(0, named=True)
    assert (row["records"], row["malformed"], row["other"]) == (
        int((kind == REQUEST).sum()),
        int((kind == MALFORMED).sum()),
        int((kind == OTHER).sum()),
    )
    assert row["other"] > 0 and row["malformed"] > 0  # the cases happened
    assert list(row["samples"]) == samples[: len(row["samples"])]
    expected = pl.concat(requests).select("ts", "status", "path", "error_message")
    assert_frame_equal(got.requests.select(expected.columns), expected)


def test_a_malformed_line_of_a_request_answered_earlier_is_other_and_not_sampled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from rca.ingest import _logs

    def line(rid: str, time: str, status: int = 400) -> str:
        return json.dumps(
            {
                "http.request.id": rid,
                "http.response.status": status,
                "http.request.uri": "/v2/a/blobs/uploads/x",
                "level": "error",
                "msg": "response completed with error",
                "time": time,
            }
        )

    ok = "2021-04-01T10:00:00Z"
    filler = [line(f"fill-{i}", ok, 200) for i in range(60)]  # pushes the repeat to a later chunk
    torn = line("torn", ok)[:40]
    text = "\n".join([line("r-1", ok), *filler, line("r-1", "garbage"), torn]) + "\n"
    path = tmp_path / "registry.log"
    path.write_text(text)
    monkeypatch.setattr(_logs, "CHUNK_BYTES", 4096)
    row = parse_logs(path, format="registry_json").quality.row(0, named=True)
    assert (row["records"], row["malformed"], row["other"]) == (61, 1, 1)
    assert list(row["samples"]) == [torn]


def test_a_request_time_outside_years_1_to_9999_is_malformed(tmp_path: Path) -> None:
    # The regex parser reads the year "-021" as -21 (found by atheris): no datetime holds it.
    good = '203.0.113.7 - - [29/May/2021:09:03:39 +0000] "GET /v2/ HTTP/1.1" 200 2 "-" "curl/8"'
    path = tmp_path / "access.log"
    path.write_text(good + "\n" + good.replace("2021", "-021") + "\n")
    parsed = parse_logs(path, format="combined")
    row = parsed.quality.row(0, named=True)
    assert (row["records"], row["malformed"]) == (1, 1)
    assert "-021" in row["samples"][0]
    assert parsed.requests["ts"].dt.year().to_list() == [2021]


def test_byte_path_chunks_count_torn_and_outside_time_lines_in_line_order(tmp_path: Path) -> None:
    # A chunk of 100+ lines takes the byte-level path, which hands over its request rows
    # alone (ChunkRows): a torn line, a blank one and one whose year the regexes read as -21
    # must still be counted, sampled by line and kept out of the requests, in line order.
    good = [
        f'203.0.113.{i} - - [29/May/2021:09:03:{i % 60:02d} +0000] "GET /v2/a{i}/blobs/x HTTP/1.1"'
        f' 200 {i} "-" "curl/8.{i}"'
        for i in range(120)
    ]
    lines = list(good)
    lines[10] = good[10][:40]  # torn
    lines[20] = ""  # blank
    lines[30] = good[30].replace("2021", "-021")
    lines[40] = good[40].replace("curl", "cürl")  # left to the regexes, still a request
    path = tmp_path / "access.log"
    path.write_text("\n".join(lines) + "\n")
    parsed = parse_logs(path, format="combined")
    row = parsed.quality.row(0, named=True)
    assert (row["lines"], row["records"], row["malformed"], row["other"]) == (120, 117, 2, 1)
    assert [s[:20] for s in row["samples"]] == [lines[10][:20], lines[30][:20]]
    requests = parsed.requests
    kept = [i for i in range(120) if i not in (10, 20, 30)]
    assert requests["bytes_sent"].to_list() == kept
    assert requests["user_agent"][kept.index(40)] == "cürl/8.40"
