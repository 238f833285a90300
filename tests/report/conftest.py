"""Hand-built Results for the renderers: realistic shapes, hostile strings.

``incident_result`` looks like an intermittent load-balancer incident: 12 hours at one
minute per bucket, three episodes, causes of every kind and two ruled-out suspects. Text
that in real life comes from logs (user agents, paths, error messages, file names)
carries XSS and Markdown payloads, so every renderer test is also an escaping test.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from rca._result import (
    CAUSE_SERIES,
    CAUSES,
    DATA_QUALITY,
    EPISODES,
    RULED_OUT,
    SEGMENTS,
    TIMELINE,
    Diagnostics,
    Provenance,
    Result,
)

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
BREAKOUT = "</script><script>alert(2)</script>"
MD_LINK = "[click](http://evil.example/x) ![img](http://evil.example/i.png)"
HOSTILE = (SCRIPT, IMG, BREAKOUT)

START = datetime(2021, 4, 1, 6, 0, tzinfo=UTC)
MINUTES = 12 * 60
GENERATED = datetime(2021, 4, 2, 9, 30, tzinfo=UTC)

#: (start minute, end minute) of the three episodes.
EPISODE_MINUTES = ((150, 185), (330, 352), (545, 590))


def _seg(**pairs: str) -> list[dict[str, str]]:
    return [{"dimension": k, "value": v} for k, v in pairs.items()]


def _feat(**values: float) -> list[dict[str, object]]:
    return [{"name": k, "value": v} for k, v in values.items()]


def _in_episode(minute: int) -> bool:
    return any(a <= minute < b for a, b in EPISODE_MINUTES)


def make_result(*, hostile: bool = True, episodes: bool = True) -> Result:
    """A Result with three episodes (or none), every cause kind and ruled-out suspects."""
    ua = f"docker/20.10.6 kernel/4.14 amzn2 {SCRIPT}" if hostile else "docker/20.10.6 amzn2"
    path = f"/v2/library/{IMG}/blobs/{BREAKOUT}" if hostile else "/v2/library/alpine/blobs"
    err = f"blob unknown {MD_LINK}" if hostile else "blob unknown to registry"
    ts = [START + timedelta(minutes=i) for i in range(MINUTES)]
    # Daily-ish traffic wave; failures rise only inside the episodes (when enabled).
    requests = [int(180 + 60 * math.sin(i / 90)) for i in range(MINUTES)]
    failures = [
        (r * 3 // 100 if episodes and _in_episode(i) else (1 if i % 7 == 0 else 0))
        for i, r in enumerate(requests)
    ]
    rate = [f / r for f, r in zip(failures, requests, strict=True)]
    timeline = pl.DataFrame(
        {
            "ts": ts,
            "requests": requests,
            "failures": failures,
            "failure_rate": rate,
            "symptom": rate,
        },
        schema=TIMELINE,
    )
    ep_rows = []
    if episodes:
        for a, b in EPISODE_MINUTES:
            req = sum(requests[a:b])
            fail = sum(failures[a:b])
            ep_rows.append(
                {
                    "start": ts[a],
                    "end": ts[b],
                    "requests": req,
                    "failures": fail,
                    "failure_rate": fail / req,
                    "baseline_rate": 0.0008,
                    "excess_failures": fail - 0.0008 * req,
                }
            )
    episodes_df = pl.DataFrame(ep_rows, schema=EPISODES)
    causes = pl.DataFrame(
        [
            {
                "rank": 1,
                "kind": "metric",
                "label": "lb_cpu_utilization{instance=lb-2} near saturation",
                "score": 0.91,
                "metric": "lb_cpu_utilization",
                "labels": "instance=lb-2,job=lb",
                "segment": [],
                "evidence": [
                    "above 0.93 in 3 of 3 episodes, onset 40 s before failures",
                    "failures never occurred below 0.88",
                ],
                "features": _feat(anomaly=0.95, timing=0.9, coverage=1.0, specificity=0.88),
            },
            {
                "rank": 2,
                "kind": "segment",
                "label": f"user agent {ua} at edge IAD89",
                "score": 0.64,
                "metric": None,
                "labels": None,
                "segment": _seg(ua_kernel="amzn2", user_agent=ua, edge="IAD89"),
                "evidence": [
                    f"31% of excess failures come from {ua}",
                    "failure rate 9.1% vs 0.4% elsewhere",
                ],
                "features": _feat(explanatory_power=0.31, surprise=0.7),
            },
            {
                "rank": 3,
                "kind": "client",
                "label": f"client 203.0.113.7 requesting {path}",
                "score": 0.33,
                "metric": None,
                "labels": None,
                "segment": _seg(client_ip="203.0.113.7", path=path),
                "evidence": ["12% of traffic during episode 1 only"],
                "features": _feat(coverage=0.33, load_share=0.12),
            },
            {
                "rank": 4,
                "kind": "log_pattern",
                "label": f"error: {err}",
                "score": 0.21,
                "metric": None,
                "labels": None,
                "segment": _seg(error_message=err),
                "evidence": [f"'{err}' appears 412 times, 380 during episodes"],
                "features": _feat(anomaly=0.4),
            },
        ],
        schema=CAUSES,
    )
    series = []
    for rank, (base, peak) in enumerate(
        ((0.55, 0.97), (0.004, 0.09), (20.0, 90.0), (0.0, 14.0)), 1
    ):
        for i, t in enumerate(ts):
            series.append(
                {"rank": rank, "ts": t, "value": peak if _in_episode(i) else base + 0.01 * (i % 5)}
            )
    cause_series = pl.DataFrame(series, schema=CAUSE_SERIES)
    ruled_out = pl.DataFrame(
        [
            {
                "kind": "metric",
                "label": "coredns_request_duration_seconds p99",
                "reason": "elevated in 1 of 3 episodes (coverage 0.33)",
                "metric": "coredns_request_duration_seconds",
                "labels": "quantile=0.99",
                "segment": [],
            },
            {
                "kind": "client",
                "label": f"client 198.51.100.23 ({SCRIPT})",
                "reason": "failures continued for 2 h after it went quiet",
                "metric": None,
                "labels": None,
                "segment": _seg(client_ip="198.51.100.23"),
            },
        ],
        schema=RULED_OUT,
    )
    segments = pl.DataFrame(
        [
            {
                "segment": _seg(ua_kernel="amzn2", edge="IAD89"),
                "label": "ua_kernel = amzn2 ∧ edge = IAD89",
                "requests": 5120,
                "failures": 466,
                "failure_rate": 0.091,
                "rest_failure_rate": 0.004,
                "explained_share": 0.31,
                "score": 0.64,
            },
            {
                "segment": _seg(user_agent=ua),
                "label": f"user_agent = {ua}",
                "requests": 800,
                "failures": 40,
                "failure_rate": 0.05,
                "rest_failure_rate": 0.006,
                "explained_share": 0.03,
                "score": 0.12,
            },
        ],
        schema=SEGMENTS,
    )
    dq = pl.DataFrame(
        [
            {
                "input": "logs",
                "source": f"logs/access-{IMG}.log.gz",
                "format": "nginx_combined",
                "bytes": 48_213_000,
                "lines": sum(requests) + 12,
                "records": sum(requests),
                "malformed": 3,
                "other": 9,
                "invalid_utf8": 1,
                "out_of_order": 0,
                "samples": [
                    f'10.0.0.1 - - [01/Apr/2021 "GET {SCRIPT}',
                    BREAKOUT,
                    f"\x1b[31m{MD_LINK}",
                ],
            },
            {
                "input": "metrics",
                "source": "metrics/lb.json",
                "format": "prometheus_json",
                "bytes": 310_000,
                "lines": 1,
                "records": 43_200,
                "malformed": 0,
                "other": 0,
                "invalid_utf8": 0,
                "out_of_order": 0,
                "samples": [],
            },
        ],
        schema=DATA_QUALITY,
    )
    provenance = Provenance(
        version="0.1.0",
        command=f"rca analyze --logs 'logs/{IMG}' --metrics metrics --html report.html",
        parameters=(("bucket", "1m"), ("failure", "default"), ("symptom", "failure_rate")),
        inputs=((f"logs/access-{IMG}.log.gz", 48_213_000), ("metrics/lb.json", 310_000)),
        generated_at=GENERATED,
    )
    return Result(
        episodes=episodes_df,
        causes=causes if episodes else causes.clear(),
        ruled_out=ruled_out,
        segments=segments,
        data_quality=dq,
        timeline=timeline,
        cause_series=cause_series if episodes else cause_series.clear(),
        window=(ts[0], ts[-1] + timedelta(minutes=1)),
        bucket_seconds=60,
        provenance=provenance,
        diagnostics=Diagnostics(
            metric_series=30,
            log_gaps=2,
            metric_gaps=5,
            clock_skew_s=-12.5,
            notes=(f"3 malformed lines in logs/access-{IMG}.log.gz",),
        ),
    )


@pytest.fixture(scope="session")
def incident_result() -> Result:
    return make_result()


@pytest.fixture(scope="session")
def quiet_result() -> Result:
    return make_result(episodes=False, hostile=False)
