from __future__ import annotations

import polars as pl

from rca.candidates._patterns import template


def test_masks_variable_parts() -> None:
    msgs = [
        "dial tcp 10.1.4.18:5000: connect: connection refused",
        "dial tcp 10.1.4.19:5000: connect: connection refused",
        "blob unknown sha256:0123456789abcdef0123 at /var/lib/registry/docker/x",
        "timeout after 31.5s on 2001:db8::1",
    ]
    out = pl.DataFrame({"m": msgs}).select(template(pl.col("m")))["m"].to_list()
    assert out[0] == out[1] == "dial tcp <ip>: connect: connection refused"
    assert out[2] == "blob unknown <digest> at <path>"
    assert "<n>" in out[3] and "31" not in out[3]
