"""CNCF distribution registry logs: logrus text and JSON.

The sample lines follow the registry's logging code (``internal/dcontext/http.go``: the
``http.request.*`` and ``http.response.*`` fields, ``err.*`` on "response completed with
error") and real registry output quoted in public bug reports and docs.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from rca._schema import REQUEST_FIELDS
from rca.ingest.formats import get_format
from rca.ingest.formats._base import KIND, MALFORMED, OTHER, REQUEST, ParseState
from rca.ingest.formats._registry import registry_json, registry_text

from ._render import go_format

DOCKER_UA = (
    "docker/20.10.12 go/go1.16.12 git-commit/459d0df kernel/5.13.0-28-generic os/linux "
    "arch/amd64 UpstreamClient(Docker-Client/20.10.12 \\(linux\\))"
)

TEXT_LINES = [
    # A real 500 from a registry on NFS (permission denied), as logged.
    'time="2022-02-14T06:45:46.211148795Z" level=error msg="response completed with error" '
    'err.code=unknown err.detail="`filesystem: mkdir /var/lib/registry/docker: permission denied`" '
    'err.message="unknown error" go.version=go1.11.2 http.request.host="localhost:30500" '
    "http.request.id=8c04e879-564b-4d56-b233-46e194625aad http.request.method=POST "
    'http.request.remoteaddr="10.44.0.0:46599" http.request.uri="/v2/jenkins-withdocker/blobs/uploads/" '
    'http.request.useragent="docker/20.10.12 go/go1.16.12 git-commit/459d0df kernel/5.13.0-28-generic '
    'os/linux arch/amd64 UpstreamClient(Docker-Client/20.10.12 \\\\(linux\\\\))" '
    'http.response.contenttype="application/json; charset=utf-8" http.response.duration=11.684664ms '
    "http.response.status=500 http.response.written=164 vars.name=jenkins-withdocker",
    # A manifest pull behind a proxy (remoteaddr from X-Forwarded-For), local offset.
    'time="2021-04-01T12:00:00.5+02:00" level=info msg="response completed" go.version=go1.16.15 '
    "http.request.host=registry.example.com http.request.id=2f1b0c47-7c1f-4b3e-9d2a-0d6c0b1e9a11 "
    'http.request.method=GET http.request.remoteaddr="203.0.113.7, 10.0.0.1" '
    'http.request.uri="/v2/library/alpine/manifests/latest?ns=docker.io" '
    'http.request.useragent="containerd/1.6.21" '
    'http.response.contenttype="application/vnd.docker.distribution.manifest.v2+json" '
    "http.response.duration=941.5µs http.response.status=200 http.response.written=1570",
    # A long blob download from an IPv6 client.
    'time="2021-04-01T10:01:03.2Z" level=info msg="response completed" go.version=go1.16.15 '
    "http.request.host=registry.example.com http.request.id=abc http.request.method=GET "
    'http.request.remoteaddr="[2001:db8::7]:51234" '
    'http.request.uri="/v2/acme/api/blobs/sha256:4bcff63911fcb4448bd4fdacec207030997caf25e9bea4045fa6c8c44de311d1" '
    'http.request.useragent="skopeo/1.9.3" http.response.duration=1m3.2s '
    "http.response.status=200 http.response.written=31457280",
    # Application messages and the per-request error line without a response: OTHER.
    'time="2021-04-01T10:00:00Z" level=info msg="listening on [::]:5000" go.version=go1.16.15',
    'time="2021-04-01T10:00:00Z" level=error msg="error authorizing context: authorization token required" '
    "go.version=go1.16.15 http.request.id=abc http.request.method=GET http.request.uri=/v2/",
    # gorilla's combined access line for the same requests: OTHER (counted once, above).
    '172.17.0.1 - - [01/Apr/2021:10:00:00 +0000] "GET /v2/ HTTP/1.1" 401 87 "" "docker/20.10.7"',
    "",
    "panic: runtime error: invalid memory address",
    # Torn inside a quoted value.
    'time="2021-04-01T10:00:00Z" level=info msg="response completed" http.request.useragent="docker/20.10',
]


def expected(rows: list[dict[str, Any]]) -> pl.DataFrame:
    full = [{**dict.fromkeys(REQUEST_FIELDS), **row} for row in rows]
    return pl.DataFrame(full, schema={**REQUEST_FIELDS, KIND: pl.UInt8()})


def parse(fmt: Any, lines: list[str], state: ParseState | None = None) -> pl.DataFrame:
    return fmt.parse(pl.Series("line", lines, dtype=pl.String), state or ParseState("test"))


def only_requests(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.filter(pl.col(KIND) == REQUEST)


REQUESTS = [
    {
        # ts = logged time - duration (the request start).
        "ts": datetime(2022, 2, 14, 6, 45, 46, 211148, tzinfo=UTC) - timedelta(microseconds=11685),
        "client_ip": "10.44.0.0",
        "method": "POST",
        "path": "/v2/jenkins-withdocker/blobs/uploads/",
        "status": 500,
        "bytes_sent": 164,
        "duration_s": 0.011684664,
        "user_agent": DOCKER_UA,
        "error_message": "unknown error",
        KIND: REQUEST,
    },
    {
        "ts": datetime(2021, 4, 1, 10, 0, 0, 499058, tzinfo=UTC),  # 0.5 s - 941.5 µs, truncated
        "client_ip": "203.0.113.7",
        "method": "GET",
        "path": "/v2/library/alpine/manifests/latest",
        "status": 200,
        "bytes_sent": 1570,
        "duration_s": 941.5e-6,
        "user_agent": "containerd/1.6.21",
        KIND: REQUEST,
    },
    {
        "ts": datetime(2021, 4, 1, 10, 0, 0, tzinfo=UTC),
        "client_ip": "2001:db8::7",
        "method": "GET",
        "path": "/v2/acme/api/blobs/sha256:4bcff63911fcb4448bd4fdacec207030997caf25e9bea4045fa6c8c44de311d1",
        "status": 200,
        "bytes_sent": 31457280,
        "duration_s": 63.2,
        "user_agent": "skopeo/1.9.3",
        KIND: REQUEST,
    },
]


def test_text_lines_every_field() -> None:
    out = parse(registry_text, TEXT_LINES)
    assert out.height == len(TEXT_LINES)
    assert out[KIND].to_list() == [REQUEST] * 3 + [OTHER] * 4 + [MALFORMED] * 2
    assert_frame_equal(only_requests(out), expected(REQUESTS))


def to_json_line(text_line: str) -> str:
    """The same entry as logrus' JSONFormatter writes it (sorted keys, numbers as numbers)."""
    pairs = re.findall(r'([^\s="]+)=("(?:[^"\\]|\\.)*"|[^\s"]*)', text_line)
    obj: dict[str, Any] = {}
    for key, value in pairs:
        obj[key] = json.loads(value) if value.startswith('"') else value
    for key in ("http.response.status", "http.response.written"):
        if key in obj:
            obj[key] = int(obj[key])
    return json.dumps(obj, sort_keys=True, ensure_ascii=False)


def test_json_lines_every_field() -> None:
    lines = [to_json_line(line) for line in TEXT_LINES[:5]]
    lines += [TEXT_LINES[5], "", "panic: runtime error", lines[1][:80]]
    out = parse(registry_json, lines)
    assert out[KIND].to_list() == [REQUEST] * 3 + [OTHER] * 4 + [MALFORMED] * 2
    assert_frame_equal(only_requests(out), expected(REQUESTS))


def test_json_err_detail_object_and_html_escapes() -> None:
    line = (
        '{"err.code":"manifest unknown","err.detail":{"Tag":"latest"},'
        '"err.message":"manifest unknown","http.request.id":"r1","http.request.method":"GET",'
        '"http.request.remoteaddr":"198.51.100.9","http.request.uri":"/v2/a/b/manifests/\\u003cx\\u003e",'
        '"http.request.useragent":"caf\\u00e9 \\ud83d\\ude00 \ufffd","http.response.duration":"2.2ms",'
        '"http.response.status":404,"http.response.written":96,"level":"error",'
        '"msg":"response completed with error","time":"2023-09-01T12:00:00.0022Z"}'
    )
    out = parse(registry_json, [line])
    assert_frame_equal(
        out,
        expected(
            [
                {
                    "ts": datetime(2023, 9, 1, 12, 0, tzinfo=UTC),
                    "client_ip": "198.51.100.9",
                    "method": "GET",
                    "path": "/v2/a/b/manifests/<x>",
                    "status": 404,
                    "bytes_sent": 96,
                    "duration_s": 0.0022,
                    "user_agent": "café 😀 \ufffd",
                    "error_message": "manifest unknown",
                    KIND: REQUEST,
                }
            ]
        ),
    )


def test_logstash_formatter_keys() -> None:
    line = (
        '{"@timestamp":"2023-09-01T13:00:00+01:00","@version":"1","level":"info",'
        '"message":"response completed","http.request.method":"HEAD","http.request.uri":"/v2/",'
        '"http.response.status":"200","http.response.written":"0"}'
    )
    out = parse(registry_json, [line])
    assert out[KIND].to_list() == [REQUEST]
    assert out["ts"].to_list() == [datetime(2023, 9, 1, 12, 0, tzinfo=UTC)]
    assert out["status"].to_list() == [200]


def test_text_escapes_decoded() -> None:
    line = (
        'time="2021-04-01T10:00:00Z" level=info msg="response completed" http.request.method=GET '
        'http.request.uri="/v2/x/manifests/caf\\u00e9" http.request.useragent="say \\"hi\\"\\n\\t\\xff" '
        "http.response.status=200"
    )
    out = parse(registry_text, [line])
    assert out["user_agent"].to_list() == ['say "hi"\n\t\ufffd']
    assert out["path"].to_list() == ["/v2/x/manifests/café"]


def test_repeated_error_lines_count_once_across_chunks() -> None:
    err = (
        'time="2021-04-01T10:00:00Z" level=error msg="response completed with error" '
        'err.code="{code}" err.message="{code}" http.request.id=req-1 http.request.method=PUT '
        "http.request.uri=/v2/a/blobs/uploads/u1 http.response.status=400"
    )
    state = ParseState("test")
    first = parse(
        registry_text, [err.format(code="digest invalid"), err.format(code="size invalid")], state
    )
    second = parse(registry_text, [err.format(code="blob unknown")], state)
    assert first[KIND].to_list() == [REQUEST, OTHER]
    assert first["error_message"][0] == "digest invalid"
    assert second[KIND].to_list() == [OTHER]


def test_torn_json_line_mid_chunk_rest_parses() -> None:
    lines = []
    for i in range(50):
        # Distinct request ids, so no line is taken for a repeat of another.
        good = [
            to_json_line(line).replace('"http.request.id": "', f'"http.request.id": "{i}-')
            for line in TEXT_LINES[:3]
        ]
        lines += [good[0], good[1][:57], good[1], good[2][: len(good[2]) // 2] + good[0], good[2]]
    out = parse(registry_json, lines)
    assert out.height == 250
    assert out[KIND].to_list() == [REQUEST, MALFORMED, REQUEST, MALFORMED, REQUEST] * 50
    assert out.filter(pl.col(KIND) == REQUEST)["status"].to_list() == [500, 200, 200] * 50


def test_sniff_separates_encodings() -> None:
    json_lines = [to_json_line(line) for line in TEXT_LINES[:5]]
    assert registry_text.sniff(TEXT_LINES[:6]) == 1.0
    assert registry_json.sniff(TEXT_LINES[:6]) == 0.0
    assert registry_json.sniff(json_lines) == 1.0
    assert registry_text.sniff(json_lines) == 0.0
    # A file of only access lines is not a registry's (combined handles it).
    assert registry_text.sniff([TEXT_LINES[5]] * 3) == 0.0


def test_registered_under_both_names() -> None:
    assert get_format("registry_text") is registry_text
    assert get_format("registry_json") is registry_json
    assert get_format("registry") is registry_text


# --------------------------------------------------------------------------- properties


def go_quote(text: str) -> str:
    """Go's %q for a valid UTF-8 string (logrus quotes values with it)."""
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch in "\a\b\f\n\r\t\v":
            out.append("\\" + "abfnrtv"["\a\b\f\n\r\t\v".index(ch)])
        elif ch.isprintable():
            out.append(ch)
        elif ord(ch) < 0x10000:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    return '"' + "".join(out) + '"'


def logrus_value(text: str) -> str:
    """logrus' TextFormatter: bare when every char is in [A-Za-z0-9-._/@^+], else %q."""
    if text and re.fullmatch(r"[A-Za-z0-9\-._/@^+]+", text):
        return text
    return go_quote(text)


texts = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    min_size=1,
    max_size=40,
).filter(lambda s: s.strip() == s and s not in ("-",))
ipv4 = st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t)))
paths = st.lists(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_.:", min_size=1, max_size=12),
    min_size=1,
    max_size=5,
).map(lambda parts: "/v2/" + "/".join(parts))
entry = st.fixed_dictionaries(
    {
        "when": st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)),
        "ip": ipv4,
        "port": st.integers(1, 65535),
        "method": st.sampled_from(["GET", "HEAD", "PUT", "POST", "PATCH", "DELETE"]),
        "path": paths,
        "status": st.integers(0, 599),
        "written": st.integers(0, 2**53),
        "ns": st.integers(1, 10**13),
        "ua": texts,
        "err": st.one_of(st.none(), texts),
    }
)


def render(e: dict[str, Any], as_json: bool) -> str:
    fields: dict[str, Any] = {
        "time": e["when"].strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "level": "info" if e["err"] is None else "error",
        "msg": "response completed" if e["err"] is None else "response completed with error",
        "http.request.method": e["method"],
        "http.request.remoteaddr": f"{e['ip']}:{e['port']}",
        "http.request.uri": e["path"],
        "http.request.useragent": e["ua"],
        "http.response.duration": go_format(e["ns"]),
        "http.response.status": e["status"],
        "http.response.written": e["written"],
    }
    if e["err"] is not None:
        fields["err.message"] = e["err"]
    if as_json:
        return json.dumps(fields, sort_keys=True)
    head = [f"time={logrus_value(fields.pop('time'))}", f"level={fields.pop('level')}"]
    head.append(f"msg={logrus_value(fields.pop('msg'))}")
    return " ".join(head + [f"{k}={logrus_value(str(v))}" for k, v in sorted(fields.items())])


@settings(max_examples=150, deadline=None)
@given(entry, st.booleans())
def test_rendered_line_parses_back(e: dict[str, Any], as_json: bool) -> None:
    out = parse(registry_json if as_json else registry_text, [render(e, as_json)])
    row = out.row(0, named=True)
    assert row[KIND] == REQUEST
    duration = e["ns"] / 1e9
    logged = e["when"].replace(tzinfo=UTC)
    assert abs((logged - row["ts"]).total_seconds() - duration) <= 1e-6
    assert row["client_ip"] == e["ip"]
    assert row["method"] == e["method"]
    assert row["path"] == e["path"]
    assert row["status"] == e["status"]
    assert row["bytes_sent"] == e["written"]
    assert row["duration_s"] == pytest.approx(duration, rel=1e-9)
    assert row["user_agent"] == e["ua"]
    assert row["error_message"] == e["err"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=80), max_size=10), st.booleans())
def test_arbitrary_text_never_raises(lines: list[str], as_json: bool) -> None:
    fmt = registry_json if as_json else registry_text
    out = parse(fmt, lines)
    assert out.height == len(lines)
    assert fmt.sniff(lines) >= 0.0


@settings(max_examples=100, deadline=None)
@given(entry, st.booleans(), st.data())
def test_truncations_never_raise(e: dict[str, Any], as_json: bool, data: st.DataObject) -> None:
    line = render(e, as_json)
    cut = data.draw(st.integers(0, len(line)))
    out = parse(registry_json if as_json else registry_text, [line[:cut], line])
    assert out.height == 2
    assert out[KIND][1] == REQUEST
    if as_json and cut < len(line):
        assert out[KIND][0] in (MALFORMED, OTHER)


def test_start_is_logged_time_minus_a_plausible_duration() -> None:
    """ts is the start; an absurd duration (a broken clock, an attacker's number) would
    move it by years and stretch the window, so beyond a day the logged time stands."""
    from datetime import UTC, datetime

    from rca.ingest.formats._common import started

    end = datetime(2021, 4, 1, 10, 0, tzinfo=UTC)
    frame = pl.DataFrame({"end": [end] * 5, "d": [1.5, 0.0, None, -3.0, 1e12]})
    got = frame.select(started(pl.col("end"), pl.col("d"))).to_series().to_list()
    assert got[0] == datetime(2021, 4, 1, 9, 59, 58, 500000, tzinfo=UTC)
    assert got[1:] == [end] * 4


@settings(max_examples=150, deadline=None)
@given(
    entry,
    st.booleans(),
    st.lists(st.tuples(st.integers(0, 600), st.sampled_from(["", " ", '"', "=", "\\u", "x"]))),
)
def test_sniff_prefilter_never_rejects_a_logrus_line(
    e: dict[str, Any], as_json: bool, edits: list[tuple[int, str]]
) -> None:
    """Detection skips the full reading when no line may be a logrus entry; that test must
    hold for every line the full reading calls logrus, rendered or mutated."""
    fmt = registry_json if as_json else registry_text
    line = render(e, as_json)
    for at, text in edits:
        at %= len(line) + 1
        line = line[:at] + line[at + 1 :] if text == "" else line[:at] + text + line[at:]
    lines = pl.Series("line", [line, *TEXT_LINES[:3]], dtype=pl.String)
    logrus = fmt._raw(lines)["_logrus"]
    assert not (logrus & ~fmt._may_be_logrus(lines)).any()


def test_a_backslash_x_without_hex_digits_is_kept_as_text() -> None:
    # "\xZZ" in a quoted value once raised ValueError (int("", 16)) out of the parser
    # (found by Hypothesis in test_sniff_prefilter_never_rejects_a_logrus_line).
    line = (
        'time="2021-04-01T10:00:00Z" level=info msg="response completed" '
        'http.request.method=GET http.request.uri=/v2/ http.request.useragent="a\\xZZ\\x" '
        "http.response.status=200"
    )
    out = parse(registry_text, [line])
    assert out["user_agent"].to_list() == ["axZZx"]
