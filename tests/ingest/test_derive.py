"""Derived attributes: endpoint kind, repository, client prefix, user-agent fields."""

from __future__ import annotations

import ipaddress

import polars as pl
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from rca._schema import DERIVED_FIELDS
from rca.ingest import _derive
from rca.ingest._derive import client_prefix_expr, derive, endpoint_expr, repository_expr


def _frame(**columns: list[str | None]) -> pl.DataFrame:
    n = len(next(iter(columns.values())))
    base: dict[str, list[str | None]] = {
        "path": ["/"] * n,
        "method": ["GET"] * n,
        "client_ip": ["192.0.2.1"] * n,
        "user_agent": ["curl/8.0"] * n,
    }
    base.update(columns)
    return pl.DataFrame(base, schema=dict.fromkeys(base, pl.String))


ENDPOINTS = [
    # method, path, endpoint, repository, namespace
    ("GET", "/v2/", "ping", None, None),
    ("GET", "/v2", "other", None, None),
    ("GET", "/v2/library/alpine/manifests/3.18", "manifest", "library/alpine", "library"),
    ("HEAD", "/v2/library/alpine/manifests/sha256:0123", "manifest", "library/alpine", "library"),
    ("PUT", "/v2/myorg/team/app/manifests/v1", "manifest", "myorg/team/app", "myorg"),
    ("GET", "/v2/myorg/team/app/blobs/sha256:ab12", "blob", "myorg/team/app", "myorg"),
    ("HEAD", "/v2/alpine/blobs/sha256:ab12", "blob", "alpine", "alpine"),
    ("POST", "/v2/library/alpine/blobs/uploads/", "upload", "library/alpine", "library"),
    ("PATCH", "/v2/library/alpine/blobs/uploads/5a1e-uuid", "upload", "library/alpine", "library"),
    ("GET", "/v2/library/alpine/blobs/uploads", "upload", "library/alpine", "library"),
    ("PUT", "/v2/library/alpine/blobs/sha256:ab12", "upload", "library/alpine", "library"),
    ("GET", "/v2/library/alpine/tags/list", "tags", "library/alpine", "library"),
    # A repository component named like a route keyword: the route is the suffix.
    ("GET", "/v2/org/blobs/manifests/latest", "manifest", "org/blobs", "org"),
    ("GET", "/v2/_catalog", "other", None, None),
    # A route without a repository name (once read as repository "blobs/x": unsigned
    # lengths wrapped around).
    ("GET", "/v2/blobs/sha256:ab12", "other", None, None),
    ("GET", "/v2/manifests/latest", "other", None, None),
    ("GET", "/index.html", "other", None, None),
    ("GET", None, "other", None, None),
]


def test_endpoint_repository_namespace() -> None:
    frame = _frame(path=[e[1] for e in ENDPOINTS], method=[e[0] for e in ENDPOINTS])
    got = derive(frame).select("endpoint", "repository", "namespace").rows()
    assert got == [e[2:] for e in ENDPOINTS]


USER_AGENTS = [
    # user agent, family, version, os, kernel
    (
        "docker/20.10.7 go/go1.13.15 git-commit/8728dd2 kernel/4.14.238-182.422.amzn2.x86_64 os/linux arch/amd64 UpstreamClient(Docker-Client/20.10.7 \\(linux\\))",
        "docker",
        "20.10.7",
        "linux",
        "amzn2",
    ),
    (
        "docker/1.13.1 go/go1.10.3 kernel/3.10.0-1160.el7.x86_64 os/linux arch/amd64",
        "docker",
        "1.13.1",
        "linux",
        "el7",
    ),
    (
        "docker/24.0.7 go/go1.20.10 git-commit/311b9ff kernel/5.15.0-91-generic os/linux arch/amd64 UpstreamClient(Docker-Client/24.0.7 \\(linux\\))",
        "docker",
        "24.0.7",
        "linux",
        "generic",
    ),
    (
        "docker/20.10.21 go/go1.18.7 git-commit/3056208 kernel/5.10.102.1-microsoft-standard-WSL2 os/linux arch/amd64 UpstreamClient(Docker-Client/20.10.21 \\(windows\\))",
        "docker",
        "20.10.21",
        "linux",
        "microsoft-standard-WSL2",
    ),
    (
        "docker/24.0.6 go/go1.20.7 git-commit/1a79695 kernel/6.1.0-13-amd64 os/linux arch/amd64",
        "docker",
        "24.0.6",
        "linux",
        "amd64",  # Debian's flavour name, its only marker
    ),
    (
        "docker/24.0.6 go/go1.20.7 kernel/5.10.104-linuxkit os/linux arch/arm64 UpstreamClient(Docker-Client/24.0.6 \\(darwin\\))",
        "docker",
        "24.0.6",
        "linux",
        "linuxkit",
    ),
    (
        "docker/24.0.6 go/go1.20.7 kernel/6.5.6-300.fc39.aarch64 os/linux arch/arm64",
        "docker",
        "24.0.6",
        "linux",
        "fc39",
    ),
    ("docker/19.03.5 kernel/5.15.65+ os/linux", "docker", "19.03.5", "linux", None),
    ("containerd/1.6.21", "containerd", "1.6.21", None, None),
    ("containerd/v1.7.2", "containerd", "1.7.2", None, None),
    ("cri-o/1.25.1 go/go1.19.9 os/linux arch/amd64", "cri-o", "1.25.1", "linux", None),
    ("buildkit/v0.11", "buildkit", "0.11", None, None),
    ("skopeo/1.13.3", "skopeo", "1.13.3", None, None),
    # containers/image's default agent: skopeo, cri-o, buildah or podman; the library, not a tool.
    ("containers/5.24.2 (github.com/containers/image)", "containers", "5.24.2", None, None),
    ("libpod/4.7.2", "podman", "4.7.2", None, None),
    ("Libpod/3.4.4 (linux)", "podman", "3.4.4", "linux", None),
    ("skopeo/1.14.0 (github.com/containers/image)", "skopeo", "1.14.0", None, None),
    (
        "docker/20.10.17 go/go1.17.11 git-commit/a89b842 kernel/4.18.0-477.13.1.el8_8.x86_64 os/linux arch/amd64 UpstreamClient(Docker-Client/20.10.17 \\(linux\\))",
        "docker",
        "20.10.17",
        "linux",
        "el8",  # RHEL 8.8's stream, one segment with the rest of el8
    ),
    (
        "docker/24.0.5 go/go1.20.6 kernel/5.14.0-284.11.1.el9_2.x86_64 os/linux arch/amd64",
        "docker",
        "24.0.5",
        "linux",
        "el9",
    ),
    (
        "docker/20.10.7 go/go1.13.15 kernel/5.4.17-2136.307.3.1.el8uek.x86_64 os/linux",
        "docker",
        "20.10.7",
        "linux",
        "el8uek",  # Oracle's Unbreakable kernel is its own flavour
    ),
    ("curl/7.68.0", "curl", "7.68.0", None, None),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
        "browser",
        "120.0.0.0",
        "windows",
        None,
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15",
        "browser",
        "17.1",
        "darwin",
        None,
    ),
    (
        "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36",
        "browser",
        "120.0",
        "android",
        None,
    ),
    (
        "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0",
        "browser",
        "120.0",
        "linux",
        None,
    ),
    ("Go-http-client/1.1", "other", "1.1", None, None),
    ("", "other", None, None, None),
    (None, None, None, None, None),
]


@pytest.mark.parametrize("case", USER_AGENTS, ids=lambda c: str(c[0])[:40])
def test_user_agent_fields(case: tuple[str | None, ...]) -> None:
    frame = _frame(user_agent=[case[0]])
    got = derive(frame).select("ua_family", "ua_version", "ua_os", "ua_kernel").row(0)
    assert got == case[1:]


def test_user_agents_all_at_once_keep_row_order() -> None:
    # Repeated values exercise the distinct-value join; row order must survive it.
    agents = [c[0] for c in USER_AGENTS] * 3
    frame = _frame(user_agent=agents)
    out = derive(frame)
    assert out.get_column("user_agent").to_list() == agents
    assert out.get_column("ua_family").to_list() == [c[1] for c in USER_AGENTS] * 3


@pytest.mark.parametrize(
    ("ip", "prefix"),
    [
        ("203.0.113.7", "203.0.113.0/24"),
        ("10.0.0.255", "10.0.0.0/24"),
        ("::ffff:192.0.2.33", "192.0.2.0/24"),
        ("2001:db8:1::1", "2001:db8:1::/48"),
        ("2001:DB8:0001:0002:3:4:5:6", "2001:db8:1::/48"),
        ("2001:db8::1", "2001:db8::/48"),
        ("2001::1:2:3:4:5:6", "2001:0:1::/48"),
        ("fe80::1%eth0", "fe80::/48"),
        ("::1", "::/48"),
        ("-", None),
        ("1:2:3:4:5:6:7:8:9:a", None),  # more than 8 hextets: once an out-of-memory
        ("registry.example.com", None),
        ("", None),
        (None, None),
    ],
)
def test_client_prefix(ip: str | None, prefix: str | None) -> None:
    out = derive(_frame(client_ip=[ip]))
    assert out.get_column("client_prefix").to_list() == [prefix]


@given(st.ip_addresses())
@example(ipaddress.ip_address("::ffff:192.0.2.33"))
@example(ipaddress.ip_address("2001:db8::"))
def test_client_prefix_matches_ipaddress(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> None:
    forms = {str(ip), ip.exploded}
    if ip.version == 6 and ip.ipv4_mapped is not None:
        forms.add(f"::ffff:{ip.ipv4_mapped}")  # how servers print a mapped client
    for text in forms:
        if "." in text or ip.version == 4:
            v4 = ip if ip.version == 4 else ip.ipv4_mapped
            expected = str(ipaddress.ip_network(f"{v4}/24", strict=False))
        else:  # hex-form mapped addresses are rare in logs: taken as plain IPv6
            expected = str(ipaddress.ip_network(f"{ip}/48", strict=False))
        got = pl.select(client_prefix_expr(pl.lit(text, pl.String))).item()
        assert got == expected, text


def test_derive_is_lazy_friendly_and_typed() -> None:
    frame = _frame(path=["/v2/a/tags/list", "/v2/"], user_agent=["curl/8.0", "curl/8.0"])
    eager = derive(frame)
    lazy = derive(frame.lazy())
    assert isinstance(lazy, pl.LazyFrame)
    assert_frame_equal(lazy.collect(), eager)
    assert {c: eager.schema[c] for c in DERIVED_FIELDS} == DERIVED_FIELDS
    # Running it twice replaces the columns rather than duplicating them.
    assert_frame_equal(derive(eager), eager)


def test_derive_empty_frame() -> None:
    out = derive(_frame(path=[]))
    assert out.height == 0
    assert set(DERIVED_FIELDS) <= set(out.columns)


_PATH_PARTS = ["/", "/v2/", "v2", "blobs", "uploads", "manifests", "tags", "list", "a", "é", "?"]


@given(st.lists(st.lists(st.sampled_from(_PATH_PARTS), max_size=8).map("".join), min_size=1))
@example(["/v2/blobs/x", "/v2//blobs/x", "/v2/manifests/x", "/v2/é/a/blobs/x", "/v2/"])
@example(["/v2/a/blobs/uploads", "/v2/a/blobs/uploads/", "/v2/a/blobs/uploads/x/y"])
def test_route_offsets_on_eager_frames_match_the_lazy_expressions(paths: list[str]) -> None:
    # Eager frames of ASCII paths find the route with str.find; lazy frames (and paths
    # with other characters) remove it with a regex and measure what is left.
    frame = _frame(path=paths, method=["PUT" if i % 3 else "GET" for i in range(len(paths))])
    eager = derive(frame)
    assert_frame_equal(eager, derive(frame.lazy()).collect())
    expected = frame.select(
        endpoint=endpoint_expr(pl.col("path"), pl.col("method")),
        repository=repository_expr(pl.col("path")),
    ).with_columns(namespace=pl.col("repository").str.split("/").list.first())
    assert_frame_equal(
        eager.select("endpoint", "repository", "namespace"), expected, check_dtypes=False
    )


def test_user_agent_attributes_do_not_depend_on_earlier_chunks() -> None:
    # Eager frames remember each agent's attributes; the lazy path computes them afresh.
    agents = ["curl/8.0", None, "docker/24.0.5 kernel/5.15.0-91-generic os/linux", "x"]
    first = _frame(user_agent=agents[:2])
    second = _frame(user_agent=agents[::-1] * 2)
    for frame in (first, second, first):
        assert_frame_equal(derive(frame), derive(frame.lazy()).collect())


# ------------------------------------------------- the compiled routes kernel (_kernels.c)

_ASCII_PARTS = [
    "/",
    "/v2/",
    "blobs",
    "uploads",
    "manifests",
    "tags",
    "list",
    "a",
    "bcdefghijklmn",
    "-",
]
_METHODS = ["GET", "HEAD", "PUT", "put", "Post", "PATCH", "patchy", "PU", "", "DELETE"]


def _by_expressions(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(
        endpoint=endpoint_expr(pl.col("path"), pl.col("method")),
        repository=repository_expr(pl.col("path")),
    ).with_columns(namespace=pl.col("repository").str.split("/").list.first())


@given(
    st.lists(
        st.tuples(
            st.lists(st.sampled_from(_ASCII_PARTS), max_size=10).map("".join),
            st.sampled_from(_METHODS),
        ),
        min_size=1,
        max_size=40,
    ),
    st.integers(0, 3),
)
@example([("/v2/a/blobs/uploads", "GET"), ("/v2/bcdefghijklmn/bcdefghijklmn/tags/list", "GET")], 1)
@example(
    [
        (path, method)
        for path in [
            "/v2/a/blobs/",
            "/v2/a/manifests/",
            "/v2/a/blobs/uploads/x/",
            "/v2/a/blobs/uploadsx",
            "/v2/a/tags/list/",
            "/v2/a/tags/listx",
            "/v2/a/tags/lis",
            "/v2//tags/list",
            "/v2/",
        ]
        for method in ["GET", "post"]
    ]
    + [(p, m) for m, p, *_ in ENDPOINTS if p is not None],
    0,
)
def test_compiled_routes_match_the_expressions(rows: list[tuple[str, str]], cut: int) -> None:
    if _derive._kernels is None:
        pytest.fail("the compiled routes kernel was not built: pip install -e . needs a C compiler")
    frame = _frame(path=[p for p, _ in rows], method=[m for _, m in rows])
    # Sliced and multi-chunk columns: views at an offset, several data buffers.
    frame = pl.concat([frame, frame.slice(min(cut, frame.height - 1))], rechunk=False)
    got = _derive._compiled_routes(frame)
    assert got is not None
    assert_frame_equal(pl.DataFrame(got), _by_expressions(frame))


def test_compiled_routes_leave_non_ascii_and_null_frames_to_the_expressions() -> None:
    assert _derive._compiled_routes(_frame(path=["/v2/é/blobs/x"])) is None
    # The kernel finds the wide byte itself, in any row, in a long (not inline) path too.
    long_wide = "/v2/" + "a" * 20 + "é/blobs/x"
    assert _derive._compiled_routes(_frame(path=["/v2/a/blobs/x"] * 3 + [long_wide])) is None
    assert _derive._compiled_routes(_frame(path=[None])) is None
    assert _derive._compiled_routes(_frame(method=[None])) is None


def test_compiled_routes_refuse_views_outside_their_buffers() -> None:
    import numpy as np

    kernel = _derive._kernels
    if kernel is None:
        pytest.skip("not built")
    view = np.zeros((1, 16), np.uint8)
    view[0, :4] = np.frombuffer(np.uint32(100).tobytes(), np.uint8)  # 100 bytes at offset 0
    method = np.zeros((1, 16), np.uint8)
    out = [np.empty((1, 16), np.uint8) for _ in range(3)]
    with pytest.raises(ValueError, match="outside"):
        kernel.routes(view, [b"short"], method, [], *out, np.zeros((2, 1), np.uint8))
    with pytest.raises(ValueError, match="do not match"):
        kernel.routes(view, [], method[:0], [], *out, np.zeros((2, 1), np.uint8))


_IP_TEXT = st.text(alphabet=st.sampled_from(list("0123456789.:fFx%")), max_size=20)


@given(
    st.lists(
        st.one_of(
            _IP_TEXT,
            st.ip_addresses().map(str),
            st.ip_addresses(v=4).map(lambda a: f"::ffff:{a}"),
            st.none(),
        ),
        min_size=1,
        max_size=40,
    )
)
@example(["203.0.113.7", "::FFFF:10.0.0.1", "1.2.3.", "1234.1.1.1", "::ffff:2001:db8::1", None])
def test_compiled_prefixes_match_the_expressions(ips: list[str | None]) -> None:
    if _derive._kernels is None:
        pytest.fail("the compiled derive kernels were not built")
    frame = pl.DataFrame({"client_ip": ips}, schema={"client_ip": pl.String})
    frame = pl.concat([frame, frame.slice(1)], rechunk=False)
    got = _derive._compiled_prefixes(frame.get_column("client_ip"))
    assert got is not None
    expected = _derive._join_client_prefix(frame.lazy()).collect().get_column("client_prefix")
    assert got.to_list() == expected.to_list()


def test_non_ascii_methods_and_addresses_keep_the_expressions_meaning() -> None:
    # Unicode uppercases "ſ" to "S" and \d matches Arabic-Indic digits: a byte-level kernel
    # would read both differently, so it must hand such frames back.
    frame = _frame(
        path=["/v2/a/blobs/x", "/v2/a/blobs/x"],
        method=["GET", "poſt"],
        client_ip=["203.0.113.7", "١٢.0.113.7"],
    )
    assert _derive._compiled_routes(frame) is None
    assert _derive._compiled_prefixes(frame.get_column("client_ip")) is None
    got = derive(frame)
    assert got.get_column("endpoint").to_list() == ["blob", "upload"]
    expected = _derive._join_client_prefix(frame.lazy()).collect().get_column("client_prefix")
    assert got.get_column("client_prefix").to_list() == expected.to_list()


def test_compiled_prefixes_refuse_views_outside_their_buffers() -> None:
    import numpy as np

    kernel = _derive._kernels
    if kernel is None:
        pytest.skip("not built")
    view = np.zeros((1, 16), np.uint8)
    view[0, :4] = np.frombuffer(np.uint32(100).tobytes(), np.uint8)
    args = [np.ones(1, np.uint8), np.empty((1, 16), np.uint8), np.empty((1, 16), np.uint8)]
    with pytest.raises(ValueError, match="outside"):
        kernel.ipv4_prefixes(view, [b"short"], *args, np.zeros(1, np.uint8), np.empty(1, np.uint8))
    with pytest.raises(ValueError, match="do not match"):
        kernel.ipv4_prefixes(view, [], *args, np.zeros(0, np.uint8), np.empty(1, np.uint8))


# ------------------------------------------------------- the compiled intern kernel

_AGENT_TEXT = st.one_of(
    st.none(),
    st.sampled_from(["", "-", "curl/8.0", "docker/24.0.5 go/go1.20.6 kernel/5.15.0 os/linux"]),
    st.text(max_size=40),  # any Unicode, inline (<= 12 bytes) and not
)


@given(st.lists(_AGENT_TEXT, min_size=1, max_size=60), st.integers(0, 5))
@example(["a" * 13, "a" * 13 + "b", None, "a" * 13, None, ""], 1)
def test_intern_numbers_the_distinct_values_as_unique_and_a_join_would(
    agents: list[str | None], cut: int
) -> None:
    if _derive._kernels is None:
        pytest.fail("the compiled derive kernels were not built")
    column = pl.Series(agents, dtype=pl.String)
    column = pl.concat([column, column.slice(min(cut, len(agents) - 1))], rechunk=False)
    numbered = _derive._compiled_intern(column)
    assert numbered is not None
    codes, firsts = numbered
    # The first row of each value, in order of first appearance; nulls are one value.
    assert column.gather(firsts).to_list() == column.unique(maintain_order=True).to_list()
    assert column.gather(firsts).gather(codes).to_list() == column.to_list()


def test_intern_tells_apart_values_that_share_a_hash_slot() -> None:
    # 5,000 values of one length in a table of 16,384 slots: many share a slot, and only
    # their bytes tell them apart.
    if _derive._kernels is None:
        pytest.fail("the compiled derive kernels were not built")
    values = [f"docker/24.0.{i:05d} os/linux" for i in range(5000)]
    column = pl.Series(values * 2, dtype=pl.String)
    numbered = _derive._compiled_intern(column)
    assert numbered is not None
    codes, firsts = numbered
    assert firsts.to_list() == list(range(5000))
    assert codes.to_list() == list(range(5000)) * 2


def test_user_agents_without_the_intern_kernel_join_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The kernel gives up on a long hash probe: the join on the agents' text then answers.
    agents = [c[0] for c in USER_AGENTS] * 3
    frame = _frame(user_agent=agents)
    expected = derive(frame)
    monkeypatch.setattr(_derive, "_compiled_intern", lambda text: None)
    assert_frame_equal(derive(frame), expected)


def test_intern_refuses_views_outside_their_buffers() -> None:
    import numpy as np

    kernel = _derive._kernels
    if kernel is None:
        pytest.skip("not built")
    view = np.zeros((1, 16), np.uint8)
    view[0, :4] = np.frombuffer(np.uint32(100).tobytes(), np.uint8)
    out = [np.empty(1, np.int32), np.empty(1, np.int32)]
    with pytest.raises(ValueError, match="outside"):
        kernel.intern(view, [b"short"], np.ones(1, np.uint8), 7, *out)
    with pytest.raises(ValueError, match="do not match"):
        kernel.intern(view, [], np.ones(0, np.uint8), 7, *out)


@pytest.mark.parametrize(
    "columns",
    [["endpoint"], ["client_prefix"], ["ua_family", "ua_os"], ["namespace"], []],
)
@pytest.mark.parametrize("lazy", [False, True])
def test_derive_works_out_only_the_columns_asked_for(columns: list[str], lazy: bool) -> None:
    frame = _frame(
        path=[e[1] for e in ENDPOINTS],
        method=[e[0] for e in ENDPOINTS],
        client_ip=["203.0.113.7", "2001:db8:1::1"] * (len(ENDPOINTS) // 2),
        user_agent=[USER_AGENTS[0][0], "containerd/1.6.21"] * (len(ENDPOINTS) // 2),
    )
    full = derive(frame)
    source = frame.lazy() if lazy else frame
    part = derive(source, columns)
    got = part.collect() if isinstance(part, pl.LazyFrame) else part
    assert got.schema == full.schema
    assert_frame_equal(got.select(columns), full.select(columns))
    rest = [c for c in DERIVED_FIELDS if c not in columns]
    assert got.select(rest).null_count().row(0) == (got.height,) * len(rest)
    assert full.select(rest).null_count().row(0) != (got.height,) * len(rest)


def test_derive_keeps_the_routes_a_parser_gave() -> None:
    frame = pl.DataFrame(
        {
            "path": ["/v2/library/alpine/manifests/3.19", "/v2/"],
            "method": ["GET", "GET"],
            "client_ip": ["203.0.113.7", None],
            "user_agent": ["curl/8.0", None],
            # What a parser worked out (deliberately not what the path says), kept as given.
            "endpoint": ["blob", "other"],
            "repository": ["given/repo", None],
            "namespace": ["given", None],
        }
    )
    kept = derive(frame, given=["endpoint", "repository", "namespace"])
    assert kept["endpoint"].to_list() == ["blob", "other"]
    assert kept["repository"].to_list() == ["given/repo", None]
    assert kept["ua_family"].to_list() == ["curl", None]  # the rest is still derived
    redone = derive(frame)  # without ``given``, every derived column is worked out
    assert redone["endpoint"].to_list() == ["manifest", "ping"]
    assert redone["namespace"].to_list() == ["library", None]
    assert kept.columns == redone.columns
