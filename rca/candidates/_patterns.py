"""Error-message patterns: which kinds of error rose in the episodes?

Sits beside the segment search, on the request counts of ``rca.candidates._requests``
(requests per distinct error message, in an episode or not). ``error_message``
is reduced to a template by masking what varies between occurrences of the same error:
IP addresses (v4 and v6), ports, hex digests and ids, UUIDs, paths and numbers. A masking
pass is deterministic and vectorised; drain3 would learn templates too, but it runs
per line in Python and its clusters depend on line order, which the report must not.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from rca.candidates._base import Candidate, Context
from rca.candidates._requests import Pending, RequestCounts

# Order matters: wider shapes first, so an IP is not half-eaten by the number rule.
_MASKS: tuple[tuple[str, str], ...] = (
    (r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}", "<uuid>"),
    (r"sha256:[0-9a-fA-F]{8,}", "<digest>"),
    (r"\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b", "<ip>"),
    (r"\b(?:[0-9a-fA-F]{1,4}:){2,7}[0-9a-fA-F]{1,4}\b", "<ip>"),
    (r"\b[0-9a-fA-F]{12,}\b", "<hex>"),
    (r"(?:/[\w.\-]+){2,}/?", "<path>"),
    (r"\b0x[0-9a-fA-F]+\b", "<hex>"),
    (r"\d+(?:\.\d+)?", "<n>"),
)
_MIN_SHARE = 0.1
MAX_PATTERNS = 8


def template(expr: pl.Expr) -> pl.Expr:
    """Mask the variable parts of an error message.

    Examples
    --------
    >>> import polars as pl
    >>> f = pl.DataFrame({"m": ["dial tcp 10.1.4.18:5000: i/o timeout after 30s"]})
    >>> f.select(template(pl.col("m")))["m"][0]
    'dial tcp <ip>: i/o timeout after <n>s'
    """
    for pattern, repl in _MASKS:
        expr = expr.str.replace_all(pattern, repl)
    return expr.str.strip_chars().str.slice(0, 200)


def pattern_candidates(counts: RequestCounts, ctx: Context) -> list[Pending]:
    """One candidate per error template that carries a real share of the excess failures
    (series still to count)."""
    errs = counts.errors
    if errs is None or not errs.height:
        return []
    f_ep = counts.total("_f", in_episode=True)
    n_ep = counts.total("_n", in_episode=True)
    n_cal = counts.total("_n", in_episode=False)
    # Templates are made once per distinct message, not once per request.
    errs = errs.with_columns(template(pl.col("error_message")).alias("_tpl"))
    st = errs.group_by("_tpl").agg(
        pl.col("_n").filter(pl.col("_ep")).sum().cast(pl.Float64).alias("c_ep"),
        pl.col("_n").filter(~pl.col("_ep")).sum().cast(pl.Float64).alias("c_cal"),
    )
    cands: list[Pending] = []
    total_excess = max(f_ep - n_ep * ctx.baseline_rate, 1.0)
    for r in (
        st.sort(["c_ep", "_tpl"], descending=[True, False])
        .head(MAX_PATTERNS * 3)
        .iter_rows(named=True)
    ):
        # Expected occurrences in the episodes at the calm frequency per request.
        expected = n_ep * (r["c_cal"] + 1.0) / (n_cal + 100.0)
        share = (r["c_ep"] - expected) / total_excess
        if share < _MIN_SHARE:
            continue
        rate_in = r["c_ep"] / max(n_ep, 1.0)
        rate_cal = r["c_cal"] / max(n_cal, 1.0)
        messages = errs.filter(pl.col("_tpl") == r["_tpl"])["error_message"].unique().sort()
        label = f"error {r['_tpl']!r}"
        cand = Candidate(
            kind="log_pattern",
            key=f"log_pattern:{r['_tpl']}",
            label=label,
            # Its series: the requests per bucket that logged it.
            series=np.zeros(0),
            unit="count",
            facts={
                "explained_share": float(min(1.0, share)),
                "surprise": max(0.0, 1.0 - rate_cal / rate_in) if rate_in > 0 else 0.0,
                "rate_in": rate_in,
                "rate_rest": rate_cal,
            },
        )
        cands.append(Pending(cand, pl.col("error_message").is_in(messages.implode())))
        if len(cands) >= MAX_PATTERNS:
            break
    return cands
