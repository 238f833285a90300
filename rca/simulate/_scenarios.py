"""The incident scenarios: each changes a normal world in one known way.

A scenario draws its own timing, magnitudes, instances and IPs from the seed, changes the
requests and the metric signals, and says what the truth is: incident windows, the root
cause, equally correct alternatives and the red herrings it planted. The red herrings are
the point: each scenario plants suspects that correlate with the failures in some way
(one episode only, a lag, a heavy client in the same window) so that an analysis that
merely correlates gets it wrong.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import polars as pl

from rca.simulate._metrics import MetricsBuilder, add_noise, add_standard
from rca.simulate._render_logs import (
    LOG_FORMATS,
    REGISTRY_FORMATS,
    UPSTREAM_FORMATS,
    country_value,
    edge_value,
)
from rca.simulate._truth import spec
from rca.simulate._world import ENDPOINTS, POP_COUNTRY, World

Window = tuple[float, float]


@dataclass
class Context:
    """What a scenario works with: the world, the generator, the metrics under construction."""

    world: World
    rng: np.random.Generator
    mb: MetricsBuilder
    log_format: str

    def base_requests(self, multiplier: np.ndarray | None = None) -> pl.DataFrame:
        """Normal traffic over the whole window (per-second rate curve times ``multiplier``)."""
        w = self.world
        lam = w.curve if multiplier is None else w.curve * multiplier
        t = w.arrivals(lam)
        return w.requests(t, w.pick_clients(len(t)))

    def client_requests(
        self,
        client: int,
        start: float,
        end: float,
        rate: float,
        mix: tuple[float, ...] | None = None,
    ) -> pl.DataFrame:
        """Requests of one client at a constant Poisson ``rate`` between ``start`` and ``end``."""
        w = self.world
        a, b = max(0, int(start)), min(w.seconds, int(end))
        t = w.arrivals(np.full(max(0, b - a), rate), offset=float(a))
        return w.requests(t, np.full(len(t), client, dtype=np.int32), mix=mix)

    def window(self, lo: float, hi: float, min_h: float, max_h: float) -> Window:
        """A random window starting in [lo, hi] of the span, ``min_h``..``max_h`` hours long,
        kept inside the span with at least 30 minutes after it."""
        s = self.world.seconds
        start = self.rng.uniform(lo, hi) * s
        length = self.rng.uniform(min_h, max_h) * 3600.0
        return start, min(start + length, s - 1800.0)

    def standard_metrics(self, req: pl.DataFrame, **overrides: Any) -> None:
        w = self.world
        add_standard(
            self.mb,
            t=req["t"].to_numpy(),
            duration=overrides.pop("duration", req["duration"].to_numpy()),
            bytes_=req["bytes"].to_numpy(),
            lbs=w.lbs,
            upstreams=w.upstreams,
            **overrides,
        )

    def grid_curve(self, per_second: np.ndarray) -> np.ndarray:
        """A per-second curve (true time) sampled on the metrics grid."""
        return self.mb.smooth_at(self.mb.true, per_second)


@dataclass
class Outcome:
    """What a scenario produced."""

    requests: pl.DataFrame
    incidents: list[Window]
    root_cause: dict[str, Any] | None
    also_accept: list[dict[str, Any]] = field(default_factory=list)
    red_herrings: list[dict[str, Any]] = field(default_factory=list)
    notes: dict[str, Any] = field(default_factory=dict)


def set_rows(df: pl.DataFrame, mask: np.ndarray, **values: Any) -> pl.DataFrame:
    """Set columns on the rows where ``mask`` holds; values are scalars or full arrays."""
    m = pl.Series("m", mask)
    exprs = []
    for col, v in values.items():
        dtype = df.schema[col]
        new = pl.Series(col, v).cast(dtype) if isinstance(v, np.ndarray) else pl.lit(v, dtype)
        exprs.append(pl.when(m).then(new).otherwise(pl.col(col)).alias(col))
    return df.with_columns(exprs)


def in_windows(t: np.ndarray, windows: list[Window]) -> np.ndarray:
    out = np.zeros(len(t), dtype=bool)
    for a, b in windows:
        out |= (t >= a) & (t < b)
    return out


def ramp(x: np.ndarray, a: float, b: float, rise: float) -> np.ndarray:
    """0 outside [a, b], 1 inside, with linear edges ``rise`` seconds long."""
    up = np.clip((x - a) / rise, 0.0, 1.0)
    down = np.clip((b - x) / rise, 0.0, 1.0)
    return np.minimum(up, down)


def _segment_opt(ctx: Context, pops: list[str]) -> dict[str, list[str]]:
    """Optional dimension values that name the same CDN locations in this log format."""
    out: dict[str, list[str]] = {}
    if ctx.log_format in ("cloudfront", "cloudflare"):
        out["edge"] = [e for p in pops if (e := edge_value(ctx.log_format, p))]
    countries = [country_value(ctx.log_format, POP_COUNTRY[p]) for p in pops]
    if any(countries):
        out["country"] = [c for c in countries if c]
    return out


class Scenario:
    """Base class: class attributes describe it, :meth:`run` builds it."""

    name: ClassVar[str]
    summary: ClassVar[str]
    default_log_format: ClassVar[str]
    default_metrics_format: ClassVar[str]
    default_hours: ClassVar[float] = 24.0
    default_rate: ClassVar[float] = 3.0
    log_formats: ClassVar[tuple[str, ...]] = LOG_FORMATS
    why_not: ClassVar[str] = ""
    #: Hours (low, high) after the window start where the first daily peak falls; None: any.
    first_peak_after: ClassVar[tuple[float, float] | None] = None
    #: Force CDN-style blob serving (200 with bytes) even in LB/registry formats.
    serves_blobs: ClassVar[bool] = False

    def run(self, ctx: Context) -> Outcome:
        raise NotImplementedError


class LBCPUSaturation(Scenario):
    name = "lb_cpu_saturation"
    summary = (
        "April 2021: LB CPU saturates at traffic peaks in recurring episodes (<3% failures) "
        "while bandwidth stays moderate; DNS and a few heavy IPs are red herrings of the first episode."
    )
    default_log_format = "nginx_timing"
    default_metrics_format = "prometheus_json"
    default_hours = 36.0
    first_peak_after = (3.0, 8.0)
    log_formats = tuple(f for f in LOG_FORMATS if f not in REGISTRY_FORMATS)
    why_not = "the load balancer's own errors never reach the registry's logs"

    def run(self, ctx: Context) -> Outcome:
        w, rng = ctx.world, ctx.rng
        # Smoothed traffic level; the LB saturates above the r_sat quantile.
        k = 600
        smooth = np.convolve(w.curve, np.ones(k) / k, mode="same")
        smooth[: k // 2] = smooth[k // 2]
        smooth[-k // 2 :] = smooth[-k // 2]
        # The threshold sits just below the lowest daily peak, so every day's peak in the
        # window saturates the LB: the episodes recur, as in April 2021.
        first_peak = (w.peak_hour - (w.start.hour + w.start.minute / 60)) % 24 * 3600
        peaks = [
            float(smooth[max(0, int(p) - 3 * 3600) : int(p) + 3 * 3600].max())
            for p in np.arange(first_peak, w.seconds - 1800, 86400.0)
        ]
        r_sat = min(peaks) * rng.uniform(0.93, 0.97)
        episodes = _runs(smooth > r_sat, min_len=600, merge=1800)
        over = np.clip((smooth / r_sat - 1.0) / 0.06, 0.0, 1.0)
        p_max = rng.uniform(0.012, 0.026)
        req = ctx.base_requests()
        # Heavy client IPs, active only around the first episode, then blocked.
        first = episodes[0]
        heavy: list[str] = []
        heavy_reqs = []
        block_at = first[1] + rng.uniform(0, 900)
        region = int(rng.integers(len(w.pops)))
        for _ in range(int(rng.integers(3, 6))):
            ip, reg, asn = w.fresh_ip(region)
            fam = str(rng.choice(["docker", "other", "containerd"]))
            ua = (
                "Go-http-client/1.1"
                if fam == "other"
                else (
                    "containerd/1.4.3"
                    if fam == "containerd"
                    else str(w.clients.ua[w.clients.family == "docker"][0])
                )
            )
            cid = w.add_client(ip, ua, fam, region=reg, asn=asn)
            heavy.append(ip)
            rate_h = w.rate * rng.uniform(0.03, 0.07)
            hr = ctx.client_requests(cid, first[0] - rng.uniform(1800, 5400), block_at, rate_h)
            blocked = ctx.client_requests(
                cid, block_at, block_at + rng.uniform(300, 900), rate_h * 0.3
            )
            blocked = set_rows(
                blocked,
                np.ones(blocked.height, dtype=bool),
                status=403,
                upstream=None,
                upstream_time=None,
                size=146,
                bytes=146,
                duration=0.0005,
                err_code="denied",
                err_message="requested access to the resource is denied",
                err_detail=None,
                content_type="text/html",
            )
            heavy_reqs += [hr, blocked]
        req = pl.concat([req, *heavy_reqs]).sort("t")
        t = req["t"].to_numpy()
        sec = np.clip(t.astype(np.int64), 0, w.seconds - 1)
        p = p_max * over[sec]
        failed = (rng.random(len(t)) < p) & (req["status"].to_numpy() < 500)
        kind = rng.random(len(t))
        dur = req["duration"].to_numpy() * (1.0 + 3.0 * over[sec])
        req = req.with_columns(duration=pl.Series(dur))
        f503 = failed & (kind < 0.6)
        f502 = failed & (kind >= 0.6) & (kind < 0.85)
        f504 = failed & (kind >= 0.85)
        common = {
            "err_code": "unavailable",
            "err_message": "service unavailable",
            "err_detail": None,
            "content_type": "text/html",
            "size": 197,
            "bytes": 197,
        }
        req = set_rows(
            req,
            f503,
            status=503,
            upstream=None,
            upstream_time=None,
            duration=rng.uniform(0.0002, 0.01, len(t)),
            **common,
        )
        req = set_rows(
            req,
            f502,
            status=502,
            upstream=None,
            upstream_time=None,
            duration=rng.uniform(0.5, 3.0, len(t)),
            **common,
        )
        req = set_rows(
            req,
            f504,
            status=504,
            upstream=None,
            upstream_time=None,
            duration=rng.uniform(59.5, 60.5, len(t)),
            **common,
        )
        # CPU tracks traffic up to the ceiling; at saturation it pins near 1.0.
        base = 0.9 * smooth / r_sat
        cpu_true = np.where(smooth > r_sat, 0.965 + 0.03 * over, np.minimum(base, 0.93))
        # DNS: a red herring that is slow only during the first episode (it was scaled up).
        dns: np.ndarray = np.full(w.seconds, rng.uniform(0.002, 0.005), dtype=np.float64)
        secs = np.arange(w.seconds, dtype=np.float64)
        dns = dns + dns * rng.uniform(6, 20) * ramp(
            secs, first[0] - rng.uniform(300, 1500), first[1] + rng.uniform(0, 1200), 300.0
        )
        ctx.standard_metrics(req, cpu=ctx.grid_curve(cpu_true), dns=ctx.grid_curve(dns))
        add_noise(ctx.mb, t=t, avoid=episodes)
        herrings = [
            spec("metric", metric=ctx.mb.names["dns"], note="slow only during the first episode")
        ]
        herrings += [
            spec(
                "client",
                required={"client_ip": ip},
                note="heavy in the first episode, then blocked",
            )
            for ip in heavy
        ]
        return Outcome(
            requests=req,
            incidents=episodes,
            root_cause=spec(
                "metric", metric=ctx.mb.names["lb_cpu"], note="LB CPU saturated at every peak"
            ),
            red_herrings=herrings,
            notes={"episodes": len(episodes), "max_failure_share": round(float(p_max), 4)},
        )


class CDNClientHang(Scenario):
    name = "cdn_client_hang"
    summary = (
        "July 2020: blob downloads by amzn2 docker clients at some CDN edges hang for minutes "
        "(499/000/460 or truncated bytes) over several hours; a heavy harmless client shares the window."
    )
    default_log_format = "cloudfront"
    default_metrics_format = "prometheus_text"
    serves_blobs = True

    def run(self, ctx: Context) -> Outcome:
        w, rng = ctx.world, ctx.rng
        win = ctx.window(0.15, 0.4, 5.0, 11.0)
        c = w.clients
        amzn = c.kernel == "amzn2"
        counts = np.bincount(c.region[amzn], weights=c.weight[amzn], minlength=len(w.pops))
        # Some edges, drawn by their amzn2 traffic, until they carry a visible share of it.
        order = rng.choice(len(w.pops), size=len(w.pops), replace=False, p=counts / counts.sum())
        pops_i = order[: int(rng.integers(2, 4))]
        for extra in order[len(pops_i) :]:
            if counts[pops_i].sum() >= 0.35 * counts.sum() or len(pops_i) >= 4:
                break
            pops_i = np.append(pops_i, extra)
        pops = [w.pops[int(i)] for i in pops_i]
        req = ctx.base_requests()
        # The harmless red herring: a heavy CI client busy in the same hours, no failures.
        ip, reg, asn = w.fresh_ip()
        ci = w.add_client(ip, "buildkit/v0.8.3-3-g244e8cde", "buildkit", region=reg, asn=asn)
        ci_req = ctx.client_requests(
            ci,
            win[0] + rng.uniform(-1800, 600),
            win[1] + rng.uniform(-600, 1800),
            w.rate * rng.uniform(0.1, 0.2),
        )
        ci_req = set_rows(
            ci_req,
            ci_req["status"].to_numpy() >= 500,
            status=200,
            err_code=None,
            err_message=None,
            err_detail=None,
        )
        req = pl.concat([req, ci_req]).sort("t")
        t = req["t"].to_numpy()
        cl = req["client"].to_numpy()
        c = w.clients
        target = (
            in_windows(t, [win])
            & np.isin(c.region[cl], pops_i)
            & (w.clients.kernel[cl] == "amzn2")
            & (req["endpoint"].to_numpy() == "blob")
            & (req["method"].to_numpy() == "GET")
        )
        p_hang = rng.uniform(0.5, 0.9)
        hang = target & (rng.random(len(t)) < p_hang)
        size = req["size"].to_numpy()
        cut = np.minimum(size * rng.uniform(0, 0.3, len(t)), rng.uniform(0, 2e6, len(t))).astype(
            np.int64
        )
        req = set_rows(
            req,
            hang,
            hung=True,
            duration=rng.uniform(60, 900, len(t)),
            bytes=cut,
            upstream_time=rng.uniform(0.01, 0.05, len(t)),
        )
        ctx.standard_metrics(req, duration=np.minimum(req["duration"].to_numpy(), 5.0))
        add_noise(ctx.mb, t=t, avoid=[win])
        opt = {
            "endpoint": ["blob"],
            "method": ["GET"],
            "ua_family": ["docker"],
            "ua_os": ["linux"],
            **_segment_opt(ctx, pops),
        }
        root = spec(
            "segment",
            required={"ua_kernel": "amzn2"},
            optional=opt,
            note=f"amzn2 docker clients at {', '.join(pops)}",
        )
        return Outcome(
            requests=req,
            incidents=[win],
            root_cause=root,
            red_herrings=[
                spec(
                    "client",
                    required={"client_ip": ip},
                    note="heavy CI client in the same window, no failures",
                )
            ],
            notes={"edges": pops, "hang_share": round(float(p_hang), 3)},
        )


_LOOKUP = "dial tcp: lookup {host} on 10.0.0.2:53: read udp {ip}:{port}->10.0.0.2:53: i/o timeout"


class DNSOverload(Scenario):
    name = "dns_overload"
    summary = (
        "Resolver latency climbs; storage lookups fail with 'lookup ... i/o timeout' errors "
        "(the in-flight count rises as an effect)."
    )
    default_log_format = "registry_text"
    default_metrics_format = "prometheus_json"
    default_hours = 12.0

    def run(self, ctx: Context) -> Outcome:
        w, rng = ctx.world, ctx.rng
        win = ctx.window(0.3, 0.6, 1.0, 3.0)
        secs = np.arange(w.seconds, dtype=np.float64)
        base = rng.uniform(0.002, 0.005)
        rise = rng.uniform(600, 1500)
        level = ramp(secs, win[0], win[1], rise)
        dns = base + rng.uniform(0.8, 3.0) * level**1.5
        req = ctx.base_requests()
        t = req["t"].to_numpy()
        sec = np.clip(t.astype(np.int64), 0, w.seconds - 1)
        storage = np.isin(req["endpoint"].to_numpy(), ["manifest", "blob", "upload"])
        p = rng.uniform(0.06, 0.2) * level[sec] ** 1.5
        failed = storage & (rng.random(len(t)) < p) & (req["status"].to_numpy() < 500)
        host = str(
            rng.choice(["s3.us-east-1.amazonaws.com", "s3.amazonaws.com", "storage.googleapis.com"])
        )
        ip = f"10.1.{int(rng.integers(0, 255))}.{int(rng.integers(2, 255))}"
        ports = rng.integers(30000, 60000, len(t))
        msgs = np.array(
            [_LOOKUP.format(host=host, ip=ip, port=int(x)) for x in ports[failed]], dtype=object
        )
        full = np.full(len(t), None, dtype=object)
        full[failed] = msgs
        req = set_rows(
            req,
            failed,
            status=503,
            err_code="unknown",
            size=180,
            bytes=180,
            duration=rng.uniform(5.0, 10.5, len(t)),
            content_type="application/json; charset=utf-8",
        )
        req = req.with_columns(
            err_message=pl.when(pl.Series(failed))
            .then(pl.Series(full.tolist(), dtype=pl.String))
            .otherwise(pl.col("err_message")),
            err_detail=pl.when(pl.Series(failed))
            .then(pl.Series(full.tolist(), dtype=pl.String))
            .otherwise(pl.col("err_detail")),
        )
        ctx.standard_metrics(req, dns=ctx.grid_curve(dns))
        add_noise(ctx.mb, t=t, avoid=[win])
        also = []
        if ctx.log_format in REGISTRY_FORMATS:
            also.append(
                spec(
                    "log_pattern",
                    pattern=r"lookup .*(i/o timeout|timeout)",
                    note="the registry's lookup timeout errors",
                )
            )
        return Outcome(
            requests=req,
            incidents=[win],
            root_cause=spec("metric", metric=ctx.mb.names["dns"], note="resolver latency"),
            also_accept=also,
            red_herrings=[
                spec(
                    "metric",
                    metric=ctx.mb.names["inflight"],
                    note="rises as an effect of slow requests",
                )
            ],
        )


class StorageLatency(Scenario):
    name = "storage_latency"
    summary = (
        "Storage latency rises first; LB CPU and in-flight requests rise minutes later as "
        "effects (red herrings with a lag)."
    )
    default_log_format = "nginx_json"
    default_metrics_format = "csv_long"
    default_hours = 12.0

    def run(self, ctx: Context) -> Outcome:
        w, rng = ctx.world, ctx.rng
        win = ctx.window(0.3, 0.6, 1.0, 2.5)
        secs = np.arange(w.seconds, dtype=np.float64)
        level = ramp(secs, win[0], win[1], rng.uniform(120, 300))
        storage = rng.uniform(0.03, 0.06) * (1.0 + rng.uniform(10, 40) * level)
        lag = rng.uniform(300, 720)
        lagged = ramp(secs, win[0] + lag, win[1] + lag, 300.0)
        req = ctx.base_requests()
        normal_duration = req["duration"].to_numpy().copy()
        t = req["t"].to_numpy()
        sec = np.clip(t.astype(np.int64), 0, w.seconds - 1)
        touches = np.isin(req["endpoint"].to_numpy(), ["manifest", "blob", "upload"])
        dur = req["duration"].to_numpy() + touches * (storage[sec] - storage[0]) * rng.uniform(
            1, 3, len(t)
        )
        req = req.with_columns(duration=pl.Series(dur), upstream_time=pl.Series(dur * 0.95))
        p = rng.uniform(0.05, 0.15) * level[sec]
        failed = touches & (rng.random(len(t)) < p) & (req["status"].to_numpy() < 500)
        gw = failed & (rng.random(len(t)) < 0.4)
        req = set_rows(
            req,
            failed,
            status=503,
            err_code="unknown",
            err_message="s3aws: RequestTimeout: Your socket connection to the server was not read from or written to within the timeout period.",
            err_detail=None,
            size=180,
            bytes=180,
            duration=rng.uniform(3, 30, len(t)),
        )
        req = set_rows(
            req,
            gw,
            status=504,
            upstream=None,
            upstream_time=None,
            duration=rng.uniform(59.5, 60.5, len(t)),
        )
        smooth = np.convolve(w.curve, np.ones(600) / 600, mode="same")
        cpu = 0.15 + 0.45 * smooth / np.quantile(smooth, 0.99) + rng.uniform(0.2, 0.35) * lagged
        inflight = ctx.grid_curve(lagged) * rng.uniform(20, 60)
        ctx.standard_metrics(
            req,
            duration=normal_duration,
            cpu=ctx.grid_curve(cpu),
            storage=ctx.grid_curve(storage),
            inflight_extra=inflight,
        )
        add_noise(ctx.mb, t=t, avoid=[win])
        return Outcome(
            requests=req,
            incidents=[win],
            root_cause=spec(
                "metric", metric=ctx.mb.names["storage"], note="storage latency rose first"
            ),
            red_herrings=[
                spec(
                    "metric",
                    metric=ctx.mb.names["lb_cpu"],
                    note=f"rises {lag / 60:.0f} min after the failures",
                ),
                spec(
                    "metric",
                    metric=ctx.mb.names["inflight"],
                    note=f"rises {lag / 60:.0f} min after the failures",
                ),
            ],
            notes={"effect_lag_s": round(float(lag), 1)},
        )


class BadBackend(Scenario):
    name = "bad_backend"
    summary = (
        "After a deploy, one upstream instance returns 500 on manifests until rollback; "
        "a heavy CI client in the same window is the red herring."
    )
    default_log_format = "nginx_timing"
    default_metrics_format = "prometheus_text"
    default_hours = 12.0
    log_formats = tuple(f for f in LOG_FORMATS if f in UPSTREAM_FORMATS)
    why_not = "the format does not say which backend answered"

    def run(self, ctx: Context) -> Outcome:
        w, rng = ctx.world, ctx.rng
        win = ctx.window(0.3, 0.6, 1.0, 3.0)
        bad = str(rng.choice(w.upstreams))
        req = ctx.base_requests()
        ip, reg, asn = w.fresh_ip()
        ci = w.add_client(
            ip,
            str(rng.choice(["buildkit/v0.11.6", "containerd/v1.6.20"])),
            "buildkit",
            region=reg,
            asn=asn,
        )
        ci_req = ctx.client_requests(
            ci,
            win[0] - rng.uniform(0, 1200),
            win[1] + rng.uniform(0, 1200),
            w.rate * rng.uniform(0.15, 0.3),
            mix=(0.05, 0.45, 0.2, 0.3, 0.0, 0.0),
        )
        req = pl.concat([req, ci_req]).sort("t")
        t = req["t"].to_numpy()
        hit = (
            in_windows(t, [win])
            & (req["upstream"].to_numpy() == bad)
            & (req["endpoint"].to_numpy() == "manifest")
            & (req["status"].to_numpy() < 500)
        )
        failed = hit & (rng.random(len(t)) < rng.uniform(0.35, 0.85))
        req = set_rows(
            req,
            failed,
            status=500,
            err_code="unknown",
            err_message="unknown error",
            err_detail="invalid checksum digest format",
            size=70,
            bytes=70,
            content_type="application/json; charset=utf-8",
        )
        ctx.standard_metrics(req)
        add_noise(ctx.mb, t=t, avoid=[win])
        return Outcome(
            requests=req,
            incidents=[win],
            root_cause=spec(
                "segment",
                required={"upstream": bad},
                optional={"endpoint": ["manifest"], "method": ["GET", "HEAD", "PUT"]},
                note="the freshly deployed instance",
            ),
            red_herrings=[
                spec(
                    "client", required={"client_ip": ip}, note="heavy CI client in the same window"
                )
            ],
            notes={"bad_upstream": bad},
        )


class ClientFlood(Scenario):
    name = "client_flood"
    summary = (
        "One IP floods; the registry saturates: everyone else gets 503 while the flooder gets 429."
    )
    default_log_format = "combined"
    default_metrics_format = "grafana_csv"
    default_hours = 8.0

    def run(self, ctx: Context) -> Outcome:
        w, rng = ctx.world, ctx.rng
        win = ctx.window(0.3, 0.6, 0.5, 1.5)
        ip, reg, asn = w.fresh_ip()
        ua = str(rng.choice(["python-requests/2.31.0", "Go-http-client/1.1", "curl/7.81.0"]))
        fam = {"p": "other", "G": "other", "c": "curl"}[ua[0]]
        cid = w.add_client(ip, ua, fam, region=reg, asn=asn)
        flood = ctx.client_requests(
            cid, win[0], win[1], w.rate * rng.uniform(3, 8), mix=(0.1, 0.6, 0.0, 0.0, 0.3, 0.0)
        )
        f_mask = rng.random(flood.height) < rng.uniform(0.75, 0.95)
        flood = set_rows(
            flood,
            f_mask,
            status=429,
            err_code="toomanyrequests",
            err_message="too many requests",
            err_detail="rate limit exceeded",
            size=120,
            bytes=120,
            duration=0.0008,
            upstream=None,
            upstream_time=None,
        )
        req = ctx.base_requests()
        t = req["t"].to_numpy()
        secs = np.arange(w.seconds, dtype=np.float64)
        level = ramp(secs, win[0], win[1], 120.0)
        p = rng.uniform(0.05, 0.18) * level[np.clip(t.astype(np.int64), 0, w.seconds - 1)]
        failed = (rng.random(len(t)) < p) & (req["status"].to_numpy() < 500)
        req = set_rows(
            req,
            failed,
            status=503,
            err_code="unavailable",
            err_message="service unavailable",
            err_detail=None,
            size=190,
            bytes=190,
        )
        req = pl.concat([req, flood]).sort("t")
        cpu = 0.15 + 0.4 * w.curve / w.curve.max() + 0.5 * level
        ctx.standard_metrics(
            req,
            cpu=ctx.grid_curve(np.minimum(cpu, 0.99)),
            inflight_extra=ctx.grid_curve(level) * rng.uniform(40, 100),
        )
        add_noise(ctx.mb, t=req["t"].to_numpy(), avoid=[win])
        prefix = ".".join(ip.split(".")[:3]) + ".0/24"
        return Outcome(
            requests=req,
            incidents=[win],
            root_cause=spec("client", required={"client_ip": ip}, note="the flooding client"),
            also_accept=[spec("segment", required={"client_prefix": prefix})],
            red_herrings=[
                spec(
                    "metric",
                    metric=ctx.mb.names["inflight"],
                    note="saturation is an effect of the flood",
                )
            ],
            notes={"flooder": ip},
        )


class RateLimitMisconfig(Scenario):
    name = "rate_limit_misconfig"
    summary = "After a config change, one client family (by user agent) gets 429s until the fix."
    default_log_format = "alb"
    default_metrics_format = "parquet"
    default_hours = 12.0

    def run(self, ctx: Context) -> Outcome:
        w, rng = ctx.world, ctx.rng
        win = ctx.window(0.25, 0.55, 1.5, 4.0)
        c = w.clients
        share = {
            f: float(c.weight[c.family == f].sum())
            for f in ("containerd", "cri-o", "podman", "buildkit")
        }
        # skopeo is left out: its containers/image agent is shared with other tools, so
        # "the skopeo family" is not something a reader can derive unambiguously.
        fams = [f for f, s in share.items() if s > 0.02] or ["containerd"]
        fam = str(rng.choice(fams))
        req = ctx.base_requests()
        t = req["t"].to_numpy()
        hit = in_windows(t, [win]) & (c.family[req["client"].to_numpy()] == fam)
        failed = hit & (rng.random(len(t)) < rng.uniform(0.4, 0.9))
        req = set_rows(
            req,
            failed,
            status=429,
            err_code="toomanyrequests",
            err_message="You have reached your pull rate limit. You may increase the limit by authenticating and upgrading: https://www.docker.com/increase-rate-limit",
            err_detail=None,
            size=160,
            bytes=160,
            duration=0.0009,
            content_type="application/json",
        )
        ctx.standard_metrics(req)
        add_noise(ctx.mb, t=t, avoid=[win])
        versions = sorted({str(u).split("/")[1].split(" ")[0] for u in c.ua[c.family == fam]})
        return Outcome(
            requests=req,
            incidents=[win],
            root_cause=spec(
                "segment",
                required={"ua_family": fam},
                optional={
                    "endpoint": list(ENDPOINTS),
                    "method": ["GET", "HEAD", "POST", "PATCH", "PUT"],
                    "ua_version": versions,
                    "ua_os": ["linux"],
                },
                note="the client family the new limit matched",
            ),
            notes={"family": fam},
        )


class QuietDay(Scenario):
    name = "quiet_day"
    summary = (
        "No incident: a large harmless traffic burst and a metric spike; there is no root cause."
    )
    default_log_format = "registry_json"
    default_metrics_format = "prometheus_json"

    def run(self, ctx: Context) -> Outcome:
        w, rng = ctx.world, ctx.rng
        burst = ctx.window(0.15, 0.8, 0.4, 1.0)
        secs = np.arange(w.seconds, dtype=np.float64)
        mult = 1.0 + rng.uniform(1.5, 3.0) * ramp(secs, burst[0], burst[1], 300.0)
        req = ctx.base_requests(mult)
        t = req["t"].to_numpy()
        spike_at = burst[0] + (1 if rng.random() < 0.5 else -1) * rng.uniform(3, 6) * 3600
        if not 0 < spike_at < w.seconds:
            spike_at = (burst[0] + w.seconds / 2) % w.seconds
        ctx.standard_metrics(req)
        spiked = add_noise(ctx.mb, t=t, avoid=[burst], spike_at=spike_at)
        return Outcome(
            requests=req,
            incidents=[],
            root_cause=None,
            red_herrings=[spec("metric", metric=spiked[-1], note="a spike with no failures")],
            notes={
                "burst": {
                    "start": w.ts(burst[0]).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "end": w.ts(burst[1]).strftime("%Y-%m-%dT%H:%M:%SZ"),
                }
            },
        )


def _runs(mask: np.ndarray, *, min_len: int, merge: int) -> list[Window]:
    """Contiguous True runs of a per-second mask, gaps under ``merge`` s merged, runs
    under ``min_len`` s dropped."""
    d = np.diff(np.r_[0, mask.astype(np.int8), 0])
    starts, ends = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
    runs: list[list[float]] = []
    for a, b in zip(starts, ends, strict=True):
        if runs and a - runs[-1][1] < merge:
            runs[-1][1] = float(b)
        else:
            runs.append([float(a), float(b)])
    return [(a, b) for a, b in runs if b - a >= min_len]


SCENARIO_CLASSES: tuple[type[Scenario], ...] = (
    LBCPUSaturation,
    CDNClientHang,
    DNSOverload,
    StorageLatency,
    BadBackend,
    ClientFlood,
    RateLimitMisconfig,
    QuietDay,
)
