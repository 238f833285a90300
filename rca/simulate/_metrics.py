"""Metric series of a simulated world: the signals scenarios act on, plus noise.

The builder samples every series on a scrape grid in the *metrics* clock, which runs
``skew`` seconds ahead of the logs' clock (Prometheus and the log shippers rarely agree),
so a value stamped ``g`` describes the world at true time ``g - skew``. Traffic-shaped
series are computed from the simulated requests themselves, so they agree with the logs.

Names vary by seed (the engine must not rely on them), label sets vary too, and there are
always ten or more noise series: random walks, periodic jobs, traffic-shaped series and
spikes placed away from the incident. Scrape gaps drop whole spans; a few points are NaN.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl

from rca._schema import METRICS, UTC_TS, format_labels

#: Role -> candidate names; the seed picks one per world.
ROLE_NAMES: dict[str, tuple[str, ...]] = {
    "lb_cpu": ("lb_cpu_utilization", "loadbalancer_cpu_utilization_ratio", "lb_cpu_usage_ratio"),
    "lb_net": (
        "lb_network_bytes",
        "lb_network_transmit_bytes_per_second",
        "loadbalancer_bandwidth_bytes_rate",
    ),
    "dns": (
        "dns_lookup_duration_seconds",
        "resolver_lookup_latency_seconds",
        "coredns_request_duration_seconds_p99",
    ),
    "storage": (
        "storage_request_duration_seconds",
        "blobstore_request_latency_seconds",
        "s3_request_duration_seconds_p95",
    ),
    "inflight": (
        "registry_inflight_requests",
        "registry_http_in_flight_requests",
        "http_server_active_requests",
    ),
    "req_rate": (
        "registry_http_requests_per_second",
        "http_requests_rate",
        "lb_requests_per_second",
    ),
}


@dataclass
class Series:
    """One metric series: name, labels and one value per grid point."""

    name: str
    labels: dict[str, str]
    values: np.ndarray
    help: str = ""
    kind: str = "gauge"


@dataclass
class MetricsBuilder:
    """Accumulates series on one grid; :meth:`frame` returns the long metrics frame."""

    rng: np.random.Generator
    seconds: int
    step: int
    skew: float
    names: dict[str, str] = field(default_factory=dict)
    series: list[Series] = field(default_factory=list)

    def __post_init__(self) -> None:
        # Grid in the metrics clock, aligned to the step like a query_range result.
        self.grid = np.arange(0, self.seconds + 1, self.step, dtype=np.float64)
        self.true = self.grid - self.skew
        for role, options in ROLE_NAMES.items():
            self.names[role] = options[int(self.rng.integers(len(options)))]

    def add(self, name: str, labels: dict[str, str], values: np.ndarray, help: str = "") -> None:
        self.series.append(Series(name, labels, np.asarray(values, dtype=np.float64), help))

    def smooth_at(self, t: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Interpolate a per-second curve ``v`` (true time) at true times ``t``."""
        return np.interp(t, np.arange(len(v), dtype=np.float64), v)

    def per_step(self, t: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        """Sum of ``weights`` (or counts) per scrape interval ending at each grid point,
        divided by the step: a per-second rate as Prometheus' ``rate()`` gives it."""
        edges = np.concatenate([[self.true[0] - self.step], self.true])
        out, _ = np.histogram(t, bins=edges, weights=weights)
        return out / self.step

    def walk(self, n_sigma: float, start: float, lo: float, hi: float) -> np.ndarray:
        """A bounded random walk on the grid."""
        steps = self.rng.normal(0.0, n_sigma, len(self.grid))
        return np.clip(start + np.cumsum(steps), lo, hi)

    def frame(self, start_us: int, *, gaps: int = 3, nan_share: float = 0.0005) -> pl.DataFrame:
        """The long metrics frame (``rca._schema.METRICS``) with scrape gaps and NaNs."""
        rng = self.rng
        keep = np.ones(len(self.grid), dtype=bool)
        # Whole-scrape gaps: Prometheus restarts or a network blip, a few minutes each.
        for _ in range(gaps):
            g0 = rng.uniform(0, self.seconds)
            keep &= ~((self.grid >= g0) & (self.grid < g0 + rng.uniform(60, 600)))
        parts = []
        for s in self.series:
            own = keep & (rng.random(len(self.grid)) > 0.002)  # single missed scrapes
            vals = s.values.copy()
            vals[rng.random(len(vals)) < nan_share] = np.nan
            parts.append(
                pl.DataFrame(
                    {
                        "ts": (start_us + (self.grid[own] * 1e6).astype(np.int64)),
                        "metric": np.full(int(own.sum()), s.name),
                        "labels": np.full(int(own.sum()), format_labels(s.labels)),
                        "value": vals[own],
                    }
                )
            )
        out = pl.concat(parts).with_columns(pl.col("ts").cast(UTC_TS))
        return out.select(list(METRICS)).cast(METRICS)  # type: ignore[arg-type]

    def help_of(self) -> dict[str, str]:
        """HELP text per metric name (first one wins)."""
        out: dict[str, str] = {}
        for s in self.series:
            out.setdefault(s.name, s.help or s.name.replace("_", " "))
        return out


# ---------------------------------------------------------------------------------------
# Standard signals, shared by every scenario. Scenarios pass the multipliers/overrides.


def add_standard(
    mb: MetricsBuilder,
    *,
    t: np.ndarray,
    duration: np.ndarray,
    bytes_: np.ndarray,
    lbs: list[str],
    upstreams: list[str],
    cpu: np.ndarray | None = None,
    dns: np.ndarray | None = None,
    storage: np.ndarray | None = None,
    inflight_extra: np.ndarray | None = None,
) -> None:
    """Add the LB, DNS, storage, in-flight and request-rate series.

    ``t``, ``duration`` and ``bytes_`` are the requests' true start times, durations and
    bytes. ``cpu``/``dns``/``storage`` override the default curves (values on the grid);
    ``inflight_extra`` adds to in-flight requests.
    """
    rng = mb.rng
    rate = mb.per_step(t)
    smooth = np.convolve(rate, np.ones(5) / 5, mode="same")
    peak = max(float(np.quantile(smooth, 0.99)), 1e-9)
    label_style = int(rng.integers(3))

    def lb_labels(lb: str) -> dict[str, str]:
        if label_style == 0:
            return {"instance": lb, "job": "lb"}
        if label_style == 1:
            return {"host": f"{lb}.internal", "az": f"us-east-1{'abc'[int(lb[-1]) % 3]}"}
        return {"lb": lb, "cluster": "registry-prod", "job": "haproxy"}

    base_cpu = 0.12 + 0.55 * smooth / peak * rng.uniform(0.8, 1.0)
    for i, lb in enumerate(lbs):
        own = cpu if cpu is not None else base_cpu
        noise = rng.normal(0, 0.02, len(own)) + 0.01 * i
        mb.add(
            mb.names["lb_cpu"], lb_labels(lb), np.clip(own + noise, 0.0, 1.0), "LB CPU busy ratio"
        )
    # Bandwidth: what the autoscaler watched; traffic-shaped, well below capacity.
    bw = mb.per_step(t, bytes_.astype(np.float64) + 600.0) + 2e5
    for lb in lbs:
        mb.add(
            mb.names["lb_net"],
            lb_labels(lb),
            bw / len(lbs) * rng.normal(1.0, 0.05, len(bw)),
            "LB network bytes per second",
        )
    dns_v = dns if dns is not None else np.full(len(mb.grid), rng.uniform(0.002, 0.006))
    dns_v = dns_v * np.exp(rng.normal(0, 0.15, len(dns_v)))
    dns_labels = (
        {"job": "coredns", "instance": "10.0.0.2:9153"}
        if rng.random() < 0.5
        else {"resolver": "10.0.0.2", "zone": "internal"}
    )
    mb.add(mb.names["dns"], dns_labels, dns_v, "DNS lookup latency (p99)")
    st_v = storage if storage is not None else np.full(len(mb.grid), rng.uniform(0.03, 0.06))
    ops = ("GetObject", "PutObject", "HeadObject") if rng.random() < 0.6 else ("read", "write")
    for j, op in enumerate(ops):
        k = 1.0 + 0.4 * j
        mb.add(
            mb.names["storage"],
            {"operation": op, "backend": "s3"},
            st_v * k * np.exp(rng.normal(0, 0.12, len(st_v))),
            "storage request latency",
        )
    # In-flight requests by Little's law, from the requests themselves.
    busy = mb.per_step(t, np.minimum(duration, 120.0))
    for up in upstreams:
        extra = 0.0 if inflight_extra is None else inflight_extra / len(upstreams)
        mb.add(
            mb.names["inflight"],
            {"instance": up, "job": "registry"},
            np.maximum(0.0, busy / len(upstreams) + extra + rng.normal(0, 0.3, len(busy))).round(),
            "requests being served",
        )
    mb.add(mb.names["req_rate"], {"job": "registry"}, rate * rng.normal(1.0, 0.02, len(rate)))


_NOISE_KINDS = (
    "process_resident_memory_bytes",
    "go_goroutines",
    "node_load1",
    "cache_hit_ratio",
    "backup_job_running",
    "node_disk_io_time_seconds",
    "db_query_duration_seconds",
    "redis_connected_clients",
    "cert_expiry_days",
    "replication_lag_seconds",
    "node_filesystem_avail_bytes",
    "ntp_offset_seconds",
    "token_requests_per_second",
    "go_gc_pause_seconds",
    "webhook_queue_length",
    "garbage_collect_blobs_deleted",
)


def add_noise(
    mb: MetricsBuilder,
    *,
    t: np.ndarray,
    avoid: list[tuple[float, float]],
    count: int | None = None,
    spike_at: float | None = None,
) -> list[str]:
    """Add noise series (>= 10). Spikes are placed at least an hour away from ``avoid``
    windows (true seconds), except ``spike_at`` which forces one big spike there.
    Returns the names of the series that got a spike."""
    rng = mb.rng
    n = len(mb.grid)
    hours = mb.true / 3600.0
    rate = mb.per_step(t)
    traffic = np.convolve(rate, np.ones(7) / 7, mode="same") / max(float(rate.mean()), 1e-9)
    chosen = rng.choice(len(_NOISE_KINDS), size=count or int(rng.integers(11, 15)), replace=False)
    phase = rng.uniform(0, 6)

    def far_time() -> float:
        for _ in range(200):
            c = rng.uniform(0.05, 0.95) * mb.seconds
            if all(c < a - 3600 or c > b + 3600 for a, b in avoid):
                return c
        return rng.uniform(0, mb.seconds)

    def spike(v: np.ndarray, at: float, height: float, width: float) -> np.ndarray:
        return v + height * np.exp(-0.5 * ((mb.true - at) / width) ** 2)

    spiked: list[str] = []
    n_spiky = int(rng.integers(2, 4))
    for rank, k in enumerate(chosen):
        name = _NOISE_KINDS[int(k)]
        inst = {"instance": f"node-{int(rng.integers(1, 9))}", "job": "node"}
        if name == "process_resident_memory_bytes":
            v = 3e8 + np.abs(mb.walk(2e6, 0.0, -1e8, 2e8))
            v = v * (1 + 0.3 * ((hours * 2 + phase) % 6) / 6)  # GC sawtooth
            labels = {"job": "registry", "instance": "registry-0"}
        elif name == "go_goroutines":
            v = 400 + 180 * traffic + rng.normal(0, 15, n)
            labels = {"job": "registry"}
        elif name == "node_load1":
            v = np.maximum(0, 1.2 + 1.5 * traffic + rng.normal(0, 0.3, n))
            labels = inst
        elif name == "cache_hit_ratio":
            v = mb.walk(0.004, 0.9, 0.6, 0.99)
            labels = {"cache": "blobdescriptor"}
        elif name == "backup_job_running":
            v = (((hours + phase) % 6.0) < 0.35).astype(float)
            labels = {"job": "backup"}
        elif name == "node_disk_io_time_seconds":
            v = 0.05 + 0.6 * (((hours + phase) % 6.0) < 0.35) + np.abs(rng.normal(0, 0.03, n))
            labels = {**inst, "device": "nvme0n1"}
        elif name == "db_query_duration_seconds":
            v = 0.004 * np.exp(rng.normal(0, 0.2, n))
            labels = {"db": "metadata", "quantile": "0.99"}
        elif name == "redis_connected_clients":
            v = np.round(mb.walk(0.6, 120, 40, 400))
            labels = {"instance": "redis-0:6379"}
        elif name == "cert_expiry_days":
            v = rng.uniform(20, 80) - hours / 24.0
            labels = {"domain": "registry.internal"}
        elif name == "replication_lag_seconds":
            v = ((hours * 3600.0 + phase * 100) % 900.0) / 30.0 + np.abs(rng.normal(0, 0.5, n))
            labels = {"replica": "db-replica-1"}
        elif name == "node_filesystem_avail_bytes":
            v = 5e11 - ((hours * 3600.0) % (8 * 3600.0)) * 2e6 + rng.normal(0, 1e8, n)
            labels = {**inst, "mountpoint": "/var/lib/registry"}
        elif name == "ntp_offset_seconds":
            v = mb.walk(0.0002, 0.0, -0.05, 0.05)
            labels = inst
        elif name == "token_requests_per_second":
            v = np.maximum(0, 0.3 * rate + rng.normal(0, 0.2, n))
            labels = {"service": "auth"}
        elif name == "go_gc_pause_seconds":
            v = np.abs(rng.standard_cauchy(n)) * 1e-4 + 2e-4
            v = np.minimum(v, 0.05)
            labels = {"job": "registry"}
        elif name == "webhook_queue_length":
            v = np.maximum(0, np.round(mb.walk(0.8, 5, 0, 60)))
            labels = {"queue": "notifications"}
        else:  # garbage_collect_blobs_deleted: a nightly job
            v = (((hours + phase) % 24.0) < 0.5) * rng.uniform(200, 900) + rng.poisson(1, n)
            labels = {"job": "gc"}
        if rank < n_spiky:
            scale = float(np.nanmedian(np.abs(v))) or 1.0
            v = spike(v, far_time(), scale * rng.uniform(3, 8), rng.uniform(60, 400))
            spiked.append(name)
        mb.add(name, labels, v)
    if spike_at is not None:
        name = "node_network_receive_errs_rate"
        v = np.abs(rng.normal(0, 0.3, n))
        mb.add(name, {"device": "eth0", "instance": "lb-host-1"}, spike(v, spike_at, 40.0, 300.0))
        spiked.append(name)
    return spiked


def to_polars_ts(start_us: int, seconds: np.ndarray) -> pl.Series:
    """Absolute UTC timestamps for offsets in seconds."""
    return pl.Series(start_us + (seconds * 1e6).astype(np.int64)).cast(pl.Datetime("us", "UTC"))
