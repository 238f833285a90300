"""The simulated world every scenario runs in: clients, traffic and normal requests.

A :class:`World` is drawn from one seeded generator. It holds a client population with
Zipf-like activity (IPs, ASNs, countries, CDN locations and real user agents), the
backends (registry upstreams, load balancers), a repository/tag/blob catalogue and a
diurnal traffic curve. :meth:`World.requests` turns arrival times and client indices into
one internal request frame (see :data:`REQUEST_COLUMNS`), vectorised with numpy/Polars.

Scenarios (``rca.simulate._scenarios``) take that frame and change it; the renderers
(``rca.simulate._render_logs``) turn it into log lines of a given format. Times here are
float seconds since the window start, in true (log) time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import polars as pl

#: Columns of the internal request frame (not the canonical requests frame: the
#: renderers map these onto each format's own fields).
REQUEST_COLUMNS: dict[str, pl.DataType] = {
    "t": pl.Float64(),  # request start, seconds since window start (true time)
    "client": pl.Int32(),  # index into World.clients
    "endpoint": pl.String(),  # ping | manifest | blob | upload | tags | other
    "method": pl.String(),
    "path": pl.String(),  # may carry a query string (upload PUT ?digest=)
    "status": pl.Int16(),  # HTTP status the client got (hung requests: see ``hung``)
    "size": pl.Int64(),  # full response body size
    "bytes": pl.Int64(),  # bytes actually sent (< size when the download was cut)
    "duration": pl.Float64(),  # seconds from request start to the log line
    "upstream": pl.String(),  # registry instance "ip:port"; null when no backend answered
    "upstream_time": pl.Float64(),  # backend time, null when no backend answered
    "lb": pl.String(),  # load-balancer instance that handled it
    "hung": pl.Boolean(),  # the client gave up on a hung/stalled response
    "err_code": pl.String(),  # registry err.code, null on success
    "err_message": pl.String(),
    "err_detail": pl.String(),
    "content_type": pl.String(),
}

ENDPOINTS = ("ping", "manifest", "blob", "upload", "tags", "other")

# ---------------------------------------------------------------------------------------
# User agents. Docker's carries the kernel, whose distro marker (amzn2, el7, generic, ...)
# is what the July 2020 CDN incident keyed on. amzn2023 is deliberately present: it
# contains "amzn2" as a substring but is a different distribution.

_DOCKER_VERSIONS = (
    ("19.03.12", "go1.13.10", "48a66213fe"),
    ("19.03.13", "go1.13.15", "4484c46d9d"),
    ("20.10.7", "go1.13.15", "b0f5bc3"),
    ("20.10.12", "go1.16.12", "459d0df"),
    ("20.10.17", "go1.17.11", "a89b842"),
    ("20.10.23", "go1.18.10", "6051f14"),
    ("23.0.1", "go1.19.5", "bc3805a"),
    ("24.0.5", "go1.20.6", "a61e2b4"),
    ("24.0.7", "go1.20.10", "311b9ff"),
)
_KERNELS = (  # (kernel token, arch, weight)
    ("4.14.238-182.422.amzn2.x86_64", "amd64", 6.0),
    ("4.14.232-176.381.amzn2.x86_64", "amd64", 3.0),
    ("5.10.184-175.731.amzn2.x86_64", "amd64", 5.0),
    ("5.10.198-187.748.amzn2.aarch64", "arm64", 1.5),
    ("6.1.41-63.114.amzn2023.x86_64", "amd64", 2.0),
    ("5.15.0-91-generic", "amd64", 8.0),
    ("5.4.0-150-generic", "amd64", 5.0),
    ("4.15.0-213-generic", "amd64", 2.0),
    ("5.15.0-1051-aws", "amd64", 3.0),
    ("5.4.0-1109-azure", "amd64", 3.0),
    ("3.10.0-1160.el7.x86_64", "amd64", 4.0),
    ("3.10.0-1160.92.1.el7.x86_64", "amd64", 2.0),
    ("4.18.0-477.13.1.el8_8.x86_64", "amd64", 2.0),
    ("5.10.104-linuxkit", "amd64", 3.0),
    ("6.4.16-linuxkit", "arm64", 2.0),
    ("5.10.0-26-cloud-amd64", "amd64", 2.0),
)
_OTHER_UAS = {
    "containerd": (
        "containerd/1.4.3",
        "containerd/v1.5.9",
        "containerd/v1.6.20",
        "containerd/1.7.2",
        "containerd/v1.6.8-k3s1",
    ),
    "cri-o": (
        "cri-o/1.21.1 go/go1.16.6 os/linux arch/amd64",
        "cri-o/1.24.2 go/go1.18.3 os/linux arch/amd64",
        "cri-o/1.27.1 go/go1.20.4 os/linux arch/arm64",
    ),
    "buildkit": ("buildkit/v0.8.3-3-g244e8cde", "buildkit/v0.11.6", "buildkit/v0.12.2"),
    "skopeo": (
        "containers/5.16.0 (github.com/containers/image)",
        "containers/5.26.1 (github.com/containers/image)",
    ),
    "podman": ("libpod/3.4.4", "libpod/4.4.1", "libpod/4.6.1"),
    "curl": ("curl/7.29.0", "curl/7.68.0", "curl/7.81.0", "curl/8.4.0"),
    "browser": (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/119.0.0.0 Safari/537.36",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:120.0) Gecko/20100101 Firefox/120.0",
    ),
    "other": (
        "Go-http-client/1.1",
        "python-requests/2.31.0",
        "Helm/3.12.0",
        "crane/0.15.2 go-containerregistry/v0.15.2",
        "regclient/v0.4.8",
    ),
}
#: Family weights of the client population.
FAMILIES = (
    "docker",
    "containerd",
    "cri-o",
    "buildkit",
    "skopeo",
    "podman",
    "curl",
    "browser",
    "other",
)
_FAMILY_WEIGHTS = np.array([52.0, 16, 5, 7, 4, 4, 4, 2, 6])

# Endpoint mix per family: ping, manifest, blob, upload, tags, other.
_MIX = {
    "docker": (0.14, 0.30, 0.46, 0.07, 0.01, 0.02),
    "containerd": (0.04, 0.34, 0.60, 0.00, 0.01, 0.01),
    "cri-o": (0.04, 0.34, 0.60, 0.00, 0.01, 0.01),
    "buildkit": (0.08, 0.30, 0.32, 0.29, 0.00, 0.01),
    "skopeo": (0.10, 0.40, 0.36, 0.06, 0.07, 0.01),
    "podman": (0.12, 0.32, 0.48, 0.06, 0.01, 0.01),
    "curl": (0.40, 0.22, 0.10, 0.00, 0.20, 0.08),
    "browser": (0.05, 0.05, 0.00, 0.00, 0.05, 0.85),
    "other": (0.15, 0.35, 0.35, 0.05, 0.08, 0.02),
}

# Where clients sit: CDN location (IATA code), country, and (ASN, first two octets).
# Cloud ASNs (16509/14618 AWS, 15169 Google, 8075 Microsoft) dominate real registry traffic.
_REGIONS = (
    ("IAD", "US", 3.0, ((14618, "3.80"), (14618, "54.85"), (16509, "52.90"), (7922, "73.12"))),
    ("ORD", "US", 1.2, ((7018, "12.34"), (15169, "34.69"), (7922, "98.213"))),
    ("DFW", "US", 1.0, ((16509, "3.135"), (20115, "71.78"), (8075, "20.97"))),
    ("SEA", "US", 1.5, ((16509, "52.36"), (16509, "35.160"), (8075, "40.91"))),
    ("SJC", "US", 1.5, ((15169, "34.105"), (7922, "67.180"), (13335, "104.28"))),
    ("FRA", "DE", 1.6, ((16509, "3.120"), (24940, "88.198"), (3320, "84.151"))),
    ("AMS", "NL", 0.8, ((16509, "52.58"), (1136, "83.84"), (60781, "37.48"))),
    ("LHR", "GB", 1.0, ((16509, "18.130"), (5089, "86.5"), (8075, "51.104"))),
    ("CDG", "FR", 0.7, ((16276, "51.75"), (3215, "90.84"), (12876, "163.172"))),
    ("DUB", "IE", 0.8, ((16509, "34.240"), (16509, "54.171"), (8075, "52.169"))),
    ("NRT", "JP", 0.9, ((16509, "18.176"), (2516, "106.154"), (4713, "153.246"))),
    ("SIN", "SG", 0.8, ((16509, "13.212"), (45102, "47.88"), (15169, "35.186"))),
    ("BOM", "IN", 0.6, ((16509, "13.232"), (55836, "49.36"), (9498, "122.160"))),
    ("SYD", "AU", 0.5, ((16509, "13.236"), (1221, "144.132"), (8075, "20.211"))),
    ("GRU", "BR", 0.5, ((16509, "18.228"), (28573, "177.92"), (26599, "189.4"))),
)
_CLOUD_ASNS = {16509, 14618}
#: CDN location -> country of the clients it serves.
POP_COUNTRY: dict[str, str] = {r[0]: r[1] for r in _REGIONS}

_LIBRARY = [
    "alpine",
    "ubuntu",
    "nginx",
    "busybox",
    "python",
    "node",
    "redis",
    "postgres",
    "golang",
    "debian",
    "mysql",
    "httpd",
    "traefik",
    "memcached",
    "mongo",
    "rabbitmq",
    "registry",
    "hello-world",
    "amazonlinux",
    "centos",
    "openjdk",
    "eclipse-temurin",
    "php",
    "ruby",
    "rust",
    "maven",
    "gradle",
    "docker",
    "elasticsearch",
    "haproxy",
]
_USERS = [
    "acme",
    "bitnami",
    "grafana",
    "prom",
    "jenkins",
    "hashicorp",
    "circleci",
    "cimg",
    "gitlab",
    "rancher",
    "envoyproxy",
    "calico",
    "coredns",
    "minio",
    "localstack",
    "cypress",
    "selenium",
    "portainer",
    "linuxserver",
    "jupyter",
    "atlassian",
    "sonarqube",
    "datadog",
    "newrelic",
    "fluent",
    "confluentinc",
]
_APPS = [
    "api",
    "web",
    "worker",
    "agent",
    "server",
    "proxy",
    "exporter",
    "runner",
    "base",
    "node",
    "build",
    "cli",
    "db",
    "cache",
    "gateway",
    "controller",
    "operator",
    "ui",
    "sidecar",
    "init",
]
_TAGS = [
    "latest",
    "3.18",
    "3.19",
    "22.04",
    "20.04",
    "1.25",
    "1.25.3",
    "1.21",
    "1.21-alpine",
    "3.11-slim",
    "3.12",
    "18",
    "20-alpine",
    "7.2",
    "15",
    "16-alpine",
    "stable",
    "edge",
    "v2.10.4",
    "2023.10",
    "main",
    "sha-3f2a9c1",
    "v1.4.0",
    "bookworm",
]

MANIFEST_TYPES = (
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
)


@dataclass(frozen=True)
class Clients:
    """The client population; arrays are indexed by client number."""

    ip: np.ndarray  # str
    ua: np.ndarray  # str
    family: np.ndarray  # str
    kernel: np.ndarray  # distro marker or "" (for truth specs only)
    region: np.ndarray  # int index into World.pops
    country: np.ndarray  # str, ISO 3166 alpha-2
    asn: np.ndarray  # int64
    weight: np.ndarray  # float, sums to 1


def kernel_marker(kernel: str) -> str:
    """The distro marker of a kernel token, as ``ua_kernel`` derives it.

    Examples
    --------
    >>> kernel_marker("4.14.238-182.422.amzn2.x86_64")
    'amzn2'
    >>> kernel_marker("5.15.0-91-generic")
    'generic'
    """
    import re

    m = re.search(r"\.(amzn\d+|el\d+(?:_\d+)?|fc\d+)\.", kernel)
    if m:
        return m.group(1).split("_")[0]
    m = re.search(r"-([a-z][a-z0-9]*(?:-amd64)?)$", kernel)
    return m.group(1).split("-")[0] if m else ""


class World:
    """Everything that stays fixed during one simulated window.

    Parameters
    ----------
    rng
        The scenario's generator; all randomness comes from it.
    start
        Window start (UTC, naive datetimes are taken as UTC).
    hours, rate
        Window length and mean requests per second.
    peak_hour
        UTC hour of the daily traffic peak.
    cdn
        True when the logs are a CDN's: blob GETs are then served (200 with the blob's
        bytes) instead of redirected (307) as the registry and its load balancer log them.
    """

    def __init__(
        self,
        rng: np.random.Generator,
        *,
        start: datetime,
        hours: float,
        rate: float,
        cdn: bool,
        peak_hour: float,
    ) -> None:
        self.rng = rng
        self.start = start
        self.seconds = round(hours * 3600)
        self.rate = rate
        self.cdn = cdn
        self.pops = [r[0] for r in _REGIONS]
        self.upstreams = self._upstreams()
        self.lbs = [f"lb-{i + 1}" for i in range(int(rng.integers(2, 5)))]
        self.clients = self._clients(int(rng.integers(2500, 6000)))
        self._catalogue()
        self.peak_hour = peak_hour
        self.amplitude = float(rng.uniform(0.35, 0.6))
        self.curve = self._curve()

    # -- population ----------------------------------------------------------------------

    def _upstreams(self) -> list[str]:
        rng = self.rng
        n = int(rng.integers(3, 7))
        third = int(rng.integers(1, 250))
        hosts = rng.choice(np.arange(2, 250), size=n, replace=False)
        port = int(rng.choice([5000, 5000, 8080, 443]))
        return [f"10.1.{third}.{h}:{port}" for h in sorted(hosts)]

    def _clients(self, n: int) -> Clients:
        rng = self.rng
        # Zipf-like activity: a few clients (CI farms, mirrors) make a large share.
        a = rng.uniform(0.9, 1.2)
        ranks = rng.permutation(n) + 1.0
        weight = ranks**-a
        weight /= weight.sum()
        fam_p = _FAMILY_WEIGHTS * rng.uniform(0.7, 1.3, size=len(FAMILIES))
        family = rng.choice(np.array(FAMILIES), size=n, p=fam_p / fam_p.sum())
        reg_w = np.array([r[2] for r in _REGIONS]) * rng.uniform(0.6, 1.4, size=len(_REGIONS))
        region = rng.choice(len(_REGIONS), size=n, p=reg_w / reg_w.sum())
        ips, asns, uas, kernels = [], [], [], []
        used: set[str] = set()
        k_w = np.array([k[2] for k in _KERNELS])
        amzn = np.array(["amzn2." in k[0] for k in _KERNELS])
        for i in range(n):
            blocks = _REGIONS[region[i]][3]
            asn, prefix = blocks[int(rng.integers(len(blocks)))]
            while True:
                ip = f"{prefix}.{int(rng.integers(0, 256))}.{int(rng.integers(1, 255))}"
                if ip not in used:
                    used.add(ip)
                    break
            ips.append(ip)
            asns.append(asn)
            fam = str(family[i])
            if fam == "docker":
                # Amazon Linux hosts mostly run on AWS.
                w = k_w * np.where(amzn, 4.0 if asn in _CLOUD_ASNS else 0.3, 1.0)
                kernel, arch, _ = _KERNELS[int(rng.choice(len(_KERNELS), p=w / w.sum()))]
                ver, gov, commit = _DOCKER_VERSIONS[int(rng.integers(len(_DOCKER_VERSIONS)))]
                host_os = "darwin" if "linuxkit" in kernel else "linux"
                upstream = (
                    "Go-http-client/1.1"
                    if rng.random() < 0.15
                    else f"Docker-Client/{ver} \\({host_os}\\)"
                )
                uas.append(
                    f"docker/{ver} go/{gov} git-commit/{commit} kernel/{kernel} "
                    f"os/linux arch/{arch} UpstreamClient({upstream})"
                )
                kernels.append(kernel_marker(kernel))
            else:
                options = _OTHER_UAS[fam]
                uas.append(options[int(rng.integers(len(options)))])
                kernels.append("")
        return Clients(
            ip=np.array(ips),
            ua=np.array(uas),
            family=family,
            kernel=np.array(kernels),
            region=region,
            country=np.array([_REGIONS[r][1] for r in region]),
            asn=np.array(asns, dtype=np.int64),
            weight=weight,
        )

    def _catalogue(self) -> None:
        rng = self.rng
        repos = [f"library/{x}" for x in _LIBRARY]
        while len(repos) < 400:
            repos.append(f"{rng.choice(_USERS)}/{rng.choice(_APPS)}{int(rng.integers(0, 30))}")
        self.repos = np.array(sorted(set(repos)))
        rw = (rng.permutation(len(self.repos)) + 1.0) ** -1.1
        self.repo_w = rw / rw.sum()
        self.digests = np.array([rng.bytes(32).hex() for _ in range(6000)])
        dw = (rng.permutation(len(self.digests)) + 1.0) ** -0.9
        self.digest_w = dw / dw.sum()
        # Blob sizes: layers from a few KB to hundreds of MB, fixed per digest.
        self.digest_size = np.clip(rng.lognormal(np.log(4e6), 1.6, len(self.digests)), 400, 2e9)
        self.digest_size = self.digest_size.astype(np.int64)

    # -- traffic ---------------------------------------------------------------------------

    def _curve(self) -> np.ndarray:
        """Expected requests/s for each second of the window (diurnal, weekly, wander)."""
        rng = self.rng
        t = np.arange(self.seconds, dtype=np.float64)
        hour = (self.start.hour + self.start.minute / 60.0) + t / 3600.0
        diurnal = 1.0 + self.amplitude * np.cos(2 * np.pi * (hour - self.peak_hour) / 24.0)
        diurnal += 0.12 * np.cos(4 * np.pi * (hour - self.peak_hour - 3.0) / 24.0)
        # Slow multiplicative wander so no two days look the same.
        steps = max(2, self.seconds // 600 + 2)
        walk = np.cumsum(rng.normal(0.0, 0.025, steps))
        walk -= walk.mean()
        wander = np.exp(np.interp(t, np.arange(steps) * 600.0, walk))
        day_level = rng.uniform(0.85, 1.15, size=int(self.seconds // 86400) + 2)
        level = np.interp(t, np.arange(len(day_level)) * 86400.0, day_level)
        curve = diurnal * wander * level
        return curve / curve.mean() * self.rate

    def arrivals(self, lam: np.ndarray, offset: float = 0.0) -> np.ndarray:
        """Poisson arrival times (sorted seconds) for a per-second rate array."""
        counts = self.rng.poisson(np.clip(lam, 0.0, None))
        base = np.repeat(np.arange(len(lam), dtype=np.float64), counts)
        return offset + base + self.rng.random(base.size)

    def pick_clients(self, n: int, mask: np.ndarray | None = None) -> np.ndarray:
        """Client indices drawn by activity weight, optionally among ``mask`` only."""
        w = self.clients.weight if mask is None else self.clients.weight * mask
        return self.rng.choice(len(w), size=n, p=w / w.sum()).astype(np.int32)

    # -- requests --------------------------------------------------------------------------

    def requests(
        self,
        t: np.ndarray,
        client: np.ndarray,
        *,
        mix: tuple[float, ...] | None = None,
        error_rate: float = 0.001,
    ) -> pl.DataFrame:
        """Normal requests at times ``t`` from ``client``: endpoint mix by user-agent
        family (or ``mix``), realistic statuses, sizes and durations, ~``error_rate``
        background 5xx."""
        rng = self.rng
        n = len(t)
        fam = self.clients.family[client]
        if mix is None:
            cum = np.zeros((n, len(ENDPOINTS)))
            for name, probs in _MIX.items():
                sel = fam == name
                cum[sel] = np.cumsum(probs)
        else:
            cum = np.broadcast_to(np.cumsum(mix), (n, len(ENDPOINTS)))
        ep = np.minimum((rng.random(n)[:, None] > cum).sum(axis=1), len(ENDPOINTS) - 1)
        endpoint = np.array(ENDPOINTS)[ep]
        repo = self.repos[rng.choice(len(self.repos), size=n, p=self.repo_w)]
        tag = np.array(_TAGS)[rng.integers(0, len(_TAGS), n)]
        dig_i = rng.choice(len(self.digests), size=n, p=self.digest_w)
        digest = self.digests[dig_i]
        u = rng.random(n)
        upload_id = _uuids(rng, n)

        method = np.full(n, "GET", dtype=object)
        path = np.empty(n, dtype=object)
        status = np.full(n, 200, dtype=np.int16)
        size = np.zeros(n, dtype=np.int64)
        duration = rng.lognormal(np.log(0.012), 0.6, n)
        ctype = np.full(n, "application/json; charset=utf-8", dtype=object)
        err_code = np.full(n, None, dtype=object)
        err_msg = np.full(n, None, dtype=object)
        err_detail = np.full(n, None, dtype=object)

        def fail(sel: np.ndarray, st: int, code: str, msg: str, detail: np.ndarray | str) -> None:
            status[sel] = st
            err_code[sel] = code
            err_msg[sel] = msg
            err_detail[sel] = detail if isinstance(detail, str) else detail[sel]

        s = endpoint == "ping"
        path[s] = "/v2/"
        unauth = s & (u < 0.68)
        status[s] = 200
        size[s] = 2
        fail(unauth, 401, "unauthorized", "authentication required", "null")
        size[unauth] = 87
        duration[s] = rng.lognormal(np.log(0.0009), 0.5, int(s.sum()))

        s = endpoint == "manifest"
        by_digest = rng.random(n) < 0.3
        ref = np.where(by_digest, "sha256:" + np.roll(digest, 1), tag)
        path[s] = "/v2/" + repo[s] + "/manifests/" + ref[s]
        head = s & (rng.random(n) < 0.45)
        put = s & ~head & (fam == "buildkit") & (rng.random(n) < 0.2)
        method[head] = "HEAD"
        method[put] = "PUT"
        mt = np.array(MANIFEST_TYPES)[rng.integers(0, len(MANIFEST_TYPES), n)]
        ctype[s] = mt[s]
        size[s] = rng.integers(420, 9000, n)[s]
        status[put] = 201
        miss = s & ~put & (u < 0.03)
        fail(miss, 404, "manifest unknown", "manifest unknown", "map[Tag:" + tag + "]")
        size[miss] = 96
        ctype[miss] = "application/json; charset=utf-8"
        duration[s] = rng.lognormal(np.log(0.014), 0.55, int(s.sum()))

        s = endpoint == "blob"
        path[s] = "/v2/" + repo[s] + "/blobs/sha256:" + digest[s]
        bhead = s & (rng.random(n) < 0.12)
        method[bhead] = "HEAD"
        full = self.digest_size[dig_i]
        if self.cdn:
            status[s] = 200
            size[s] = full[s]
            ctype[s] = "application/octet-stream"
            throughput = rng.lognormal(np.log(40e6), 0.8, n)  # bytes/s
            duration[s] = (rng.lognormal(np.log(0.02), 0.5, n) + full / throughput)[s]
        else:
            status[s] = 307
            size[s] = 0
            get = s & ~bhead
            size[get] = 220 + rng.integers(0, 120, n)[get]
            ctype[get] = "text/html; charset=utf-8"
            ctype[bhead] = "application/octet-stream"
            duration[s] = rng.lognormal(np.log(0.018), 0.5, int(s.sum()))
        status[bhead] = 200
        size[bhead] = 0
        bmiss = s & (u < 0.006)
        fail(bmiss, 404, "blob unknown", "blob unknown to registry", "sha256:" + digest)
        size[bmiss] = 157

        s = endpoint == "upload"
        step = rng.random(n)
        post = s & (step < 0.34)
        patch = s & (step >= 0.34) & (step < 0.67)
        putb = s & (step >= 0.67)
        method[post], method[patch], method[putb] = "POST", "PATCH", "PUT"
        path[post] = "/v2/" + repo[post] + "/blobs/uploads/"
        path[patch] = "/v2/" + repo[patch] + "/blobs/uploads/" + upload_id[patch]
        path[putb] = (
            "/v2/" + repo[putb] + "/blobs/uploads/" + upload_id[putb] + "?digest=sha256%3A"
        ) + digest[putb]
        status[post | patch] = 202
        status[putb] = 201
        size[s] = 0
        duration[patch] = (rng.lognormal(np.log(0.2), 0.5, n) + full / 25e6)[patch]

        s = endpoint == "tags"
        path[s] = "/v2/" + repo[s] + "/tags/list"
        size[s] = rng.integers(60, 4000, n)[s]
        tmiss = s & (u < 0.05)
        fail(
            tmiss,
            404,
            "name unknown",
            "repository name not known to registry",
            "map[name:" + repo + "]",
        )

        s = endpoint == "other"
        others = np.array(["/v2/_catalog", "/", "/favicon.ico", "/robots.txt", "/v1/_ping"])
        oi = rng.integers(0, len(others), n)
        path[s] = others[oi][s]
        status[s] = np.array([401, 200, 404, 404, 404], dtype=np.int16)[oi][s]
        size[s] = np.array([87, 1250, 19, 19, 19])[oi][s]
        ctype[s] = np.array(
            [
                "application/json; charset=utf-8",
                "text/html",
                "text/plain",
                "text/plain",
                "text/plain",
            ]
        )[oi][s]
        duration[s] = rng.lognormal(np.log(0.001), 0.5, int(s.sum()))

        # Background server errors, about error_rate of all requests.
        bg = rng.random(n) < error_rate
        which = rng.integers(0, 4, n)
        for i, (st, code, msg) in enumerate(
            (
                (500, "unknown", "unknown error"),
                (502, "unknown", "unknown error"),
                (503, "unavailable", "service unavailable"),
                (500, "unknown", "unknown error"),
            )
        ):
            sel = bg & (which == i)
            fail(sel, st, code, msg, "context canceled" if st == 502 else "unexpected EOF")
            size[sel] = 70
        ctype[bg] = "application/json; charset=utf-8"

        upstream = np.array(self.upstreams)[rng.integers(0, len(self.upstreams), n)]
        lb = np.array(self.lbs)[rng.integers(0, len(self.lbs), n)]
        up_time = duration * rng.uniform(0.6, 0.95, n)
        return pl.DataFrame(
            {
                "t": t.astype(np.float64),
                "client": client.astype(np.int32),
                "endpoint": endpoint,
                "method": method.astype(str),
                "path": path.astype(str),
                "status": status,
                "size": size,
                "bytes": size.copy(),
                "duration": duration,
                "upstream": upstream,
                "upstream_time": up_time,
                "lb": lb,
                "hung": np.zeros(n, dtype=bool),
                "err_code": pl.Series(err_code.tolist(), dtype=pl.String),
                "err_message": pl.Series(err_msg.tolist(), dtype=pl.String),
                "err_detail": pl.Series(err_detail.tolist(), dtype=pl.String),
                "content_type": ctype.astype(str),
            },
            schema=REQUEST_COLUMNS,
        )

    def add_client(
        self, ip: str, ua: str, family: str, *, kernel: str = "", region: int = 0, asn: int = 16509
    ) -> int:
        """Append one client with no background activity (scenarios drive its requests)."""
        c = self.clients
        self.clients = Clients(
            ip=np.append(c.ip, ip),
            ua=np.append(c.ua, ua),
            family=np.append(c.family, family),
            kernel=np.append(c.kernel, kernel),
            region=np.append(c.region, region),
            country=np.append(c.country, _REGIONS[region][1]),
            asn=np.append(c.asn, asn),
            weight=np.append(c.weight, 0.0),
        )
        return len(c.ip)

    def fresh_ip(self, region: int | None = None) -> tuple[str, int, int]:
        """An IP no client uses yet, from a region's address blocks: (ip, region, asn)."""
        rng = self.rng
        r = int(rng.integers(len(_REGIONS))) if region is None else region
        blocks = _REGIONS[r][3]
        asn, prefix = blocks[int(rng.integers(len(blocks)))]
        used = set(self.clients.ip.tolist())
        while True:
            ip = f"{prefix}.{int(rng.integers(0, 256))}.{int(rng.integers(1, 255))}"
            if ip not in used:
                return ip, r, asn

    def ts(self, seconds: float) -> datetime:
        """Absolute time of an offset in seconds."""
        return self.start + timedelta(seconds=float(seconds))


def _uuids(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` random UUID4-looking strings, without a Python loop per value."""
    raw = rng.integers(0, 256, size=(n, 16), dtype=np.uint8)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    hexs = np.frombuffer(raw.tobytes().hex().encode(), dtype="S32").astype("U32")
    frame = pl.DataFrame({"h": hexs}).select(
        pl.concat_str(
            [pl.col("h").str.slice(a, b) for a, b in ((0, 8), (8, 4), (12, 4), (16, 4), (20, 12))],
            separator="-",
        )
    )
    return frame.to_series().to_numpy().astype(str)


def uuids(rng: np.random.Generator, n: int) -> pl.Series:
    """Public wrapper of :func:`_uuids` returning a Polars series."""
    return pl.Series(_uuids(rng, n))
