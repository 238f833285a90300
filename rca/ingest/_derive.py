"""Derived request attributes: the dimensions segments are made of.

The last step of log ingest (``rca.ingest._logs`` runs it on every parsed chunk): from the
request fields it adds the columns of ``rca._schema.DERIVED_FIELDS``:

- ``endpoint``: the Docker Registry HTTP API V2 route, ``ping`` (``/v2/``), ``manifest``
  (``/v2/<name>/manifests/<reference>``), ``blob`` (``/v2/<name>/blobs/<digest>``),
  ``upload`` (``/v2/<name>/blobs/uploads/...``, or a POST/PATCH/PUT to a blob),
  ``tags`` (``/v2/<name>/tags/list``) or ``other``;
- ``repository`` (``<name>``, which may hold slashes: ``myorg/team/app``) and its first
  component ``namespace``;
- ``client_prefix``: the client's IPv4 /24 (``203.0.113.0/24``) or IPv6 /48
  (``2001:db8:1::/48``), the unit in which abusive clients and ISPs show up;
- ``ua_family``, ``ua_version``, ``ua_os`` and ``ua_kernel`` from the user agent.

Every attribute is a vectorised Polars expression. User agents and client addresses repeat
a lot, so the expressions run once per distinct value and are joined back.

User-agent decisions, for the record:

- ``containers/<v> (github.com/containers/image)`` is the default agent of the
  containers/image library, which skopeo, cri-o, buildah and podman all embed: it says
  which library, not which tool, so its family is its product token, ``containers``, and
  its version is the library's. Podman names itself (``libpod/<v>``), as does skopeo
  (``skopeo/<v>``).
- ``ua_version`` is the first product token's version without a leading ``v``
  (``buildkit/v0.11.6`` -> ``0.11.6``), so ``containerd/v1.6.21`` and ``containerd/1.6.21``
  group together; browsers get their engine/product version (``Chrome/120.0``).
- ``ua_kernel`` is the distribution marker of a ``kernel/`` token: what follows the
  upstream version and the package's build numbers, without a trailing architecture
  (``4.14.238-182.422.amzn2.x86_64`` -> ``amzn2``, ``3.10.0-1160.el7.x86_64`` -> ``el7``,
  ``5.15.0-91-generic`` -> ``generic``, ``5.10.104-linuxkit`` -> ``linuxkit``).
  RHEL's minor-release stream is dropped (``4.18.0-477.13.1.el8_8.x86_64`` -> ``el8``,
  like ``el9_2`` -> ``el9``): one segment per distribution, not per point release.
  Debian names its kernel flavours after the architecture (``6.1.0-13-amd64``,
  ``6.1.0-13-cloud-amd64``); there the flavour is the only marker, so it is kept as is.
  A kernel with no suffix (``5.15.65+``) has no marker (null).
"""

from __future__ import annotations

import secrets
from collections.abc import Collection
from typing import Any, TypeVar

import polars as pl

from rca._schema import DERIVED_FIELDS
from rca.ingest._compiled import load
from rca.ingest._files import present_bytes, view_series, views_of

FrameT = TypeVar("FrameT", pl.DataFrame, pl.LazyFrame)

# The route is the suffix after /v2/<name>/; it has a fixed number of slashes, so the split
# is unambiguous even when a repository component is called "blobs" or "manifests". Only the
# short suffix is captured: a capture spanning the whole path (``^/v2/(.+)/...``) makes the
# regex engine fall back to a slow path, 25x slower on registry logs.
_V2_ROUTE = r"/(?:manifests/[^/]+|blobs/uploads(?:/[^/]*)?|blobs/[^/]+|tags/list)$"
_WRITE_METHODS = ["POST", "PATCH", "PUT"]
_V4 = r"^(?:::[fF]{4}:)?(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.\d{1,3}$"
#: Derived columns cut from the path (views into it), and those from the user agent.
ROUTE_FIELDS: tuple[str, ...] = ("endpoint", "repository", "namespace")
_UA_FIELDS = frozenset({"ua_family", "ua_version", "ua_os", "ua_kernel"})


def _route(path: pl.Expr) -> pl.Expr:
    # Removing the route and measuring what is left costs a third of a capturing extract:
    # the regex engine only has to find the match, not its groups.
    before = path.str.replace(_V2_ROUTE, "").str.len_chars()
    return pl.when(before < path.str.len_chars()).then(path.str.slice(before + 1))


def _name_length(path: pl.Expr, route: pl.Expr) -> pl.Expr:
    # "/v2/" + name + "/" + route
    # Signed: lengths are UInt32, and "/v2/manifests/x" (no name) would wrap to 4 billion.
    return path.str.len_chars().cast(pl.Int64) - route.str.len_chars().cast(pl.Int64) - 5


def _is_v2_route(path: pl.Expr, route: pl.Expr) -> pl.Expr:
    return path.str.starts_with("/v2/") & (_name_length(path, route) > 0)


def endpoint_expr(path: pl.Expr, method: pl.Expr) -> pl.Expr:
    """The registry API endpoint kind of each request (see the module docstring).

    Examples
    --------
    >>> import polars as pl
    >>> df = pl.DataFrame({"path": ["/v2/", "/v2/a/b/manifests/1"], "method": ["GET", "GET"]})
    >>> df.select(endpoint_expr(pl.col("path"), pl.col("method"))).to_series().to_list()
    ['ping', 'manifest']
    """
    route = _route(path)
    return _endpoint(path, method, route, _is_v2_route(path, route).fill_null(False))


def _endpoint(path: pl.Expr, method: pl.Expr, route: pl.Expr, routed: pl.Expr) -> pl.Expr:
    """The endpoint kind from the route (its first 13 characters suffice) and whether the
    path is a ``/v2/<name>/<route>`` request at all."""
    return (
        pl.when(path == "/v2/")
        .then(pl.lit("ping"))
        .when(routed.not_())
        .then(pl.lit("other"))
        .when(route.str.starts_with("manifests/"))
        .then(pl.lit("manifest"))
        .when(route.str.starts_with("tags/"))
        .then(pl.lit("tags"))
        .when(route.str.starts_with("blobs/uploads"))
        .then(pl.lit("upload"))
        .when(method.str.to_uppercase().is_in(_WRITE_METHODS))
        .then(pl.lit("upload"))
        .otherwise(pl.lit("blob"))
    )


def repository_expr(path: pl.Expr) -> pl.Expr:
    """The repository name of a ``/v2/<name>/...`` request; null for other paths."""
    return _repository(path, _route(path))


def _repository(path: pl.Expr, route: pl.Expr) -> pl.Expr:
    return pl.when(_is_v2_route(path, route).fill_null(False)).then(
        path.str.slice(4, _name_length(path, route))
    )


def client_prefix_expr(ip: pl.Expr) -> pl.Expr:
    """The /24 of an IPv4 address or the /48 of an IPv6 address, in canonical text form.

    IPv4-mapped IPv6 addresses (``::ffff:192.0.2.1``) count as IPv4; zone ids are ignored.
    Anything else (a hostname, ``-``) gives null.

    Examples
    --------
    >>> import polars as pl
    >>> df = pl.DataFrame({"ip": ["203.0.113.7", "2001:db8:1::1", "2001:DB8::1", "x"]})
    >>> df.select(client_prefix_expr(pl.col("ip"))).to_series().to_list()
    ['203.0.113.0/24', '2001:db8:1::/48', '2001:db8::/48', None]
    """
    v4 = _V4
    addr = (
        ip.str.to_lowercase()
        .str.replace(r"%.*$", "")
        # An embedded IPv4 tail is the last 32 bits: never part of a /48 unless all zero.
        .str.replace(r"\d+\.\d+\.\d+\.\d+$", "0:0")
    )
    is_v6 = addr.str.contains(r"^[0-9a-f:]*:[0-9a-f:]*$") & (
        addr.str.count_matches("::", literal=True) <= 1
    )
    compressed = addr.str.contains("::", literal=True)
    halves = addr.str.split("::")

    def hextets(text: pl.Expr) -> pl.Expr:
        return text.str.split(":").list.eval(pl.element().filter(pl.element() != ""))

    left = hextets(pl.when(compressed).then(halves.list.first()).otherwise(addr))
    right = hextets(
        pl.when(compressed).then(halves.list.get(1, null_on_oob=True)).otherwise(pl.lit(""))
    )
    # Lengths are UInt32: without the cast, more than 8 hextets (an attacker's "address")
    # wraps around to ~4 billion zeros and runs out of memory (found by atheris).
    used = left.list.len().cast(pl.Int64) + right.list.len().cast(pl.Int64)
    zeros = (8 - used).clip(0, 8)
    first48 = (
        pl.concat_list(left, pl.lit("0").repeat_by(zeros), right)
        .list.head(3)
        .list.eval(pl.element().str.replace(r"^0+(.)", "$1"))
    )
    valid48 = first48.list.eval(pl.element().str.len_chars() <= 4).list.all()
    v6_prefix = first48.list.join(":").str.replace(r"(:0)+$", "").str.replace(r"^0$", "") + "::/48"
    return (
        pl.when(ip.str.contains(v4))
        .then(ip.str.replace(v4, "$1.$2.$3.0/24"))
        .when(is_v6 & valid48 & (used <= 8))
        .then(v6_prefix)
        .otherwise(pl.lit(None, pl.String))
    )


_FAMILIES = (
    ("docker", r"(?i)^\s*docker/"),
    ("buildkit", r"(?i)^\s*buildkit/"),
    ("cri-o", r"(?i)^\s*cri-o/"),
    ("containerd", r"(?i)^\s*containerd/"),
    ("skopeo", r"(?i)^\s*skopeo/"),
    ("podman", r"(?i)^\s*(?:podman/|libpod/)"),
    ("containers", r"(?i)^\s*containers/\S+\s+\(github\.com/containers/image\)"),
    ("curl", r"(?i)^\s*curl/"),
    ("browser", r"^\s*Mozilla/"),
)

# Platform words inside a browser's parentheses, first match wins (Android says "Linux",
# iPhones say "like Mac OS X").
_PLATFORMS = (
    ("windows", r"(?i)windows"),
    ("android", r"(?i)android"),
    ("ios", r"(?i)iphone|ipad|ipod"),
    ("darwin", r"(?i)macintosh|mac os x"),
    ("chromeos", r"CrOS"),
    ("linux", r"(?i)linux|x11"),
)

_ARCH_SUFFIX = r"\.(?:x86_64|amd64|aarch64|arm64|i[3-6]86|ppc64le|ppc64|s390x|armv7l|armv7hl)$"


def _first_match(cases: list[tuple[pl.Expr, str]], default: pl.Expr) -> pl.Expr:
    """``when(c1).then(v1).when(c2).then(v2)...otherwise(default)``: the first true case wins."""
    (cond, value), *rest = cases
    chain: Any = pl.when(cond).then(pl.lit(value))
    for cond, value in rest:
        chain = chain.when(cond).then(pl.lit(value))
    out: pl.Expr = chain.otherwise(default)
    return out


def ua_family_expr(ua: pl.Expr) -> pl.Expr:
    """The client family of a user agent (see ``rca._schema.DERIVED_FIELDS``); null when
    there is no user agent."""
    family = _first_match(
        [(ua.str.contains(pattern), name) for name, pattern in _FAMILIES], pl.lit("other")
    )
    return pl.when(ua.is_null()).then(pl.lit(None, pl.String)).otherwise(family)


def ua_version_expr(ua: pl.Expr) -> pl.Expr:
    """The version of the user agent's first product, or the browser's product version."""
    browser = ua.str.extract(r"(?:Firefox|Edg|OPR|Chrome|Version|Safari)/([0-9][\w.]*)", 1)
    containers = ua.str.extract(r"(?i)^\s*containers/v?([0-9]\S*)\s+\(", 1)
    first = ua.str.extract(r"^\s*[^/\s()]+/v?([0-9][^\s;()]*)", 1)
    return (
        pl.when(ua.str.contains(r"^\s*Mozilla/"))
        .then(browser)
        .otherwise(pl.coalesce(containers, first))
    )


def ua_os_expr(ua: pl.Expr) -> pl.Expr:
    """The operating system: an ``os/<name>`` token, else the platform in parentheses."""
    token = ua.str.extract(r"(?i)\bos/([A-Za-z0-9_]+)", 1).str.to_lowercase()
    platform = ua.str.extract(r"\(([^)]*)\)", 1)
    from_platform = _first_match(
        [(platform.str.contains(pattern), name) for name, pattern in _PLATFORMS],
        pl.lit(None, pl.String),
    )
    return pl.coalesce(token, from_platform)


def ua_kernel_expr(ua: pl.Expr) -> pl.Expr:
    """The distribution marker of a ``kernel/<release>`` token (see the module docstring).

    Examples
    --------
    >>> import polars as pl
    >>> df = pl.DataFrame({"ua": ["docker/20.10.7 kernel/4.14.238-182.422.amzn2.x86_64 os/linux"]})
    >>> df.select(ua_kernel_expr(pl.col("ua"))).item()
    'amzn2'
    """
    release = ua.str.extract(r"(?i)\bkernel/(\S+)", 1).str.replace(_ARCH_SUFFIX, "")
    # upstream version, "-", build numbers (digits, dots, dashes), then the marker.
    marker = release.str.extract(r"^[0-9][^-]*-[0-9._-]*([A-Za-z][^\s]*)$", 1)
    return marker.str.replace(r"^(el[0-9]+)_[0-9]+$", "${1}")


def _route_start(frame: pl.DataFrame | pl.LazyFrame) -> pl.Expr | pl.Series:
    """Character offset of the ``/`` before the registry route (see ``_V2_ROUTE``), null
    when the path has none; UInt32, like ``len_chars``.

    On an eager frame of ASCII paths, ``str.find`` gives it directly (its byte offset is
    then the character offset) at about half the cost of removing the route and measuring
    what is left.
    """
    if isinstance(frame, pl.DataFrame):
        path = frame.get_column("path")
        if (path.str.len_bytes() == path.str.len_chars()).all():
            return path.str.find(_V2_ROUTE)
    before = pl.col("path").str.replace(_V2_ROUTE, "").str.len_chars()
    return pl.when(before < pl.col("path").str.len_chars()).then(before)


def _join_unique(frame: FrameT, column: str, exprs: dict[str, pl.Expr]) -> FrameT:
    # Regexes over distinct values only: a million requests have a few thousand user agents.
    distinct = frame.select(pl.col(column)).unique()
    table = distinct.with_columns(**exprs)
    return frame.join(
        table,
        on=column,
        how="left",
        nulls_equal=True,
        maintain_order="left",
    )


def _join_client_prefix(frame: FrameT) -> FrameT:
    """``client_prefix`` per distinct address. The IPv6 arithmetic (list operations) only
    runs on the addresses with a colon; for the rest the expression is the IPv4 branch.
    Eager frames of ASCII addresses take the compiled kernel for IPv4 instead."""
    if isinstance(frame, pl.DataFrame) and _kernels is not None:
        prefixes = _compiled_prefixes(frame.get_column("client_ip"))
        if prefixes is not None:
            return frame.with_columns(prefixes)
    ip = pl.col("client_ip")
    distinct = frame.select(ip).unique()
    colon = ip.str.contains(":", literal=True).fill_null(False)
    v4 = distinct.filter(~colon).with_columns(
        client_prefix=pl.when(ip.str.contains(_V4)).then(ip.str.replace(_V4, "$1.$2.$3.0/24"))
    )
    v6 = distinct.filter(colon)
    parts = [v4]
    # Compiling the IPv6 expression costs more than evaluating it: skipped on an eager
    # frame without IPv6 addresses.
    if not isinstance(v6, pl.DataFrame) or v6.height:
        parts.insert(0, v6.with_columns(client_prefix=client_prefix_expr(ip)))
    table = pl.concat(parts)
    return frame.join(table, on="client_ip", how="left", nulls_equal=True, maintain_order="left")


#: The user-agent attributes of each user agent seen, across chunks and files: a log holds
#: few distinct agents, and the regexes (compiled on every call) cost more than a lookup.
_UA_SEEN: dict[str | None, tuple[str | None, ...]] = {}
_UA_SEEN_MAX = 1 << 16
_UA_COLUMNS = ("ua_family", "ua_version", "ua_os", "ua_kernel")


def _ua_exprs() -> dict[str, pl.Expr]:
    ua = pl.col("user_agent")
    return {
        "ua_family": ua_family_expr(ua),
        "ua_version": ua_version_expr(ua),
        "ua_os": ua_os_expr(ua),
        "ua_kernel": ua_kernel_expr(ua),
    }


def _join_user_agent(frame: FrameT) -> FrameT:
    """The ``ua_*`` columns, computed once per distinct user agent (remembered across
    calls on eager frames) and joined back."""
    if not isinstance(frame, pl.DataFrame):
        return _join_unique(frame, "user_agent", _ua_exprs())
    agent = frame.get_column("user_agent")
    numbered = _compiled_intern(agent) if _kernels is not None else None
    if numbered is not None:
        codes, firsts = numbered
        distinct = agent.gather(firsts)
    else:
        distinct = agent.unique()
    if distinct.len() > _UA_SEEN_MAX:
        return _join_unique(frame, "user_agent", _ua_exprs())
    agents = distinct.to_list()
    found = {agent: _UA_SEEN.get(agent) for agent in agents}
    missing = [agent for agent, row in found.items() if row is None]
    if missing:
        table = pl.DataFrame({"user_agent": missing}, schema={"user_agent": pl.String})
        computed = {row[0]: row[1:] for row in table.with_columns(**_ua_exprs()).iter_rows()}
        found.update(computed)
        if len(_UA_SEEN) + len(computed) > _UA_SEEN_MAX:
            _UA_SEEN.clear()
        _UA_SEEN.update(computed)
    rows = [found[agent] for agent in agents]
    columns: dict[str, list[Any]] = {"user_agent": agents}
    for i, name in enumerate(_UA_COLUMNS):
        columns[name] = [row[i] for row in rows]  # type: ignore[index]
    table = pl.DataFrame(columns, schema={c: pl.String for c in columns})
    if numbered is None:
        # Each row's place in the table, by a join on the agent's text.
        codes = (
            frame.select("user_agent")
            .join(
                table.select("user_agent").with_row_index("__ua"),
                on="user_agent",
                how="left",
                nulls_equal=True,
                maintain_order="left",
            )
            .get_column("__ua")
        )
    # The agent itself is taken from the table too, by row: kept rows then share one copy of
    # each distinct agent (100 bytes a request in registry traffic) instead of each its own.
    return frame.with_columns(table[codes])


_kernels: Any = load("rca.ingest._derive_kernels")
#: The seed of the kernels' string hash, drawn per process so that no log can be crafted
#: to make every agent collide (the kernel would then give up: see ``intern``).
_SEED = secrets.randbits(64)


def _compiled_intern(text: pl.Series) -> tuple[pl.Series, pl.Series] | None:
    """Each row's number among the distinct values of ``text`` (nulls are one value), in
    order of first appearance, and each number's first row: what ``unique()`` and a join
    back gave, in one hash pass instead of two. None if the kernel gave up."""
    import numpy as np

    n = text.len()
    if not n or n >= 2**30:
        return None
    codes = np.empty(n, np.int32)
    firsts = np.empty(n, np.int32)
    k = _kernels.intern(*views_of(text), present_bytes(text), _SEED, codes, firsts)
    if k < 0:
        return None
    return pl.Series(codes), pl.Series(firsts[:k])


def _compiled_routes(frame: pl.DataFrame) -> list[pl.Series] | None:
    """``endpoint``, ``repository`` and ``namespace`` from the compiled kernel
    (``_derive_kernels.c``), which gives what the expressions give for ASCII paths and
    methods without nulls; None for any other frame (the expressions then run)."""
    import numpy as np

    path, method = frame.get_column("path"), frame.get_column("method")
    if path.null_count() or method.null_count() or not frame.height:
        return None
    paths, methods = views_of(path), views_of(method)
    n = frame.height
    endpoint = np.empty((n, 16), np.uint8)
    repository = np.empty((n, 16), np.uint8)
    namespace = np.empty((n, 16), np.uint8)
    valid = np.zeros((2, (n + 7) // 8), np.uint8)
    if _kernels.routes(*paths, *methods, endpoint, repository, namespace, valid) < 0:
        return None  # not ASCII
    data = paths[1]  # repository and namespace are views into the paths
    return [
        view_series("endpoint", endpoint, data),
        view_series("repository", repository, data, valid[0]),
        view_series("namespace", namespace, data, valid[1]),
    ]


def _compiled_prefixes(ips: pl.Series) -> pl.Series | None:
    """``client_prefix`` by the compiled kernel, the IPv6 addresses (with a colon, not
    IPv4-mapped) by the expressions; None unless the addresses are ASCII."""
    import numpy as np

    # The prefixes' text buffer holds 16 bytes a row at u32 offsets.
    if not ips.len() or ips.len() >= 2**28:
        return None
    found = views_of(ips)
    n = ips.len()
    present = present_bytes(ips)
    prefixes = np.empty((n, 16), np.uint8)
    text = np.empty((n, 16), np.uint8)
    valid = np.zeros((n + 7) // 8, np.uint8)
    other = np.empty(n, np.uint8)
    others = _kernels.ipv4_prefixes(*found, present, prefixes, text, valid, other)
    if others < 0:
        return None  # not ASCII
    out = view_series("client_prefix", prefixes, [text], valid)
    if others:
        at = np.flatnonzero(other)
        v6 = pl.DataFrame({"client_ip": ips.gather(at)}).lazy()
        fixed = _join_client_prefix(v6).collect().get_column("client_prefix")
        out = out.scatter(at, fixed)
    return out


def sources(columns: Collection[str] | None) -> frozenset[str]:
    """The request fields :func:`derive` reads to work out ``columns`` (None: every derived
    column), so that a parser can leave out the fields nobody reads.

    Examples
    --------
    >>> sorted(sources(["endpoint", "status"]))
    ['method', 'path']
    """
    wanted = set(DERIVED_FIELDS if columns is None else columns)
    needed: set[str] = set()
    if wanted.intersection(ROUTE_FIELDS):
        needed |= {"path", "method"}
    if "client_prefix" in wanted:
        needed.add("client_ip")
    if wanted & _UA_FIELDS:
        needed.add("user_agent")
    return frozenset(needed)


def derive(
    frame: FrameT, columns: Collection[str] | None = None, *, given: Collection[str] = ()
) -> FrameT:
    """Add (or replace) the derived columns of ``rca._schema.DERIVED_FIELDS``.

    ``frame`` needs ``path``, ``method``, ``client_ip`` and ``user_agent`` (String). Rows
    keep their order. With ``columns``, only the derived columns named there are worked
    out; the others are null (the client prefix and the user-agent fields are a third of
    an nginx chunk's parse). ``given``: derived columns the frame already holds, worked out
    by a parser (the nginx scanner gives the routes), kept as they are.

    Examples
    --------
    >>> import polars as pl
    >>> df = pl.DataFrame({
    ...     "path": ["/v2/library/alpine/blobs/sha256:ab"], "method": ["GET"],
    ...     "client_ip": ["203.0.113.7"],
    ...     "user_agent": ["containerd/1.6.21"],
    ... })
    >>> derive(df).select("endpoint", "repository", "namespace", "client_prefix", "ua_family").row(0)
    ('blob', 'library/alpine', 'library', '203.0.113.0/24', 'containerd')
    """
    given = set(given)
    existing = [c for c in DERIVED_FIELDS if c in frame.collect_schema() and c not in given]
    if existing:
        frame = frame.drop(existing)
    wanted = set(DERIVED_FIELDS if columns is None else columns)
    if wanted.intersection(ROUTE_FIELDS) - given:
        by_kernel = (
            _compiled_routes(frame)
            if isinstance(frame, pl.DataFrame) and _kernels is not None
            else None
        )
        frame = frame.with_columns(by_kernel) if by_kernel is not None else _routes(frame)
    if "client_prefix" in wanted:
        frame = _join_client_prefix(frame)
    if wanted & _UA_FIELDS:
        frame = _join_user_agent(frame)
    return frame.select(
        pl.exclude(*DERIVED_FIELDS),
        *[
            (pl.col(c) if c in wanted else pl.lit(None)).cast(t).alias(c)
            for c, t in DERIVED_FIELDS.items()
        ],
    )


def _routes(frame: FrameT) -> FrameT:
    """``endpoint``, ``repository`` and ``namespace`` by the expressions."""
    path = pl.col("path")
    # Where the route starts (the regex runs once), then every attribute from that offset.
    frame = frame.with_columns(_route_start(frame).alias("__before"))
    before = pl.col("__before")
    # Signed: the offset is UInt32, and a route right after "/v2/" (no name) would wrap.
    frame = frame.with_columns(
        __routed=(path.str.starts_with("/v2/") & (before.cast(pl.Int64) - 4 > 0)).fill_null(False),
        __head=path.str.slice(before + 1, len("blobs/uploads")),
    )
    routed, head = pl.col("__routed"), pl.col("__head")
    frame = frame.with_columns(
        endpoint=_endpoint(path, pl.col("method"), head, routed),
        repository=pl.when(routed).then(path.str.slice(4, before - 4)),
    ).drop("__before", "__routed", "__head")
    return frame.with_columns(namespace=pl.col("repository").str.split("/").list.first())
