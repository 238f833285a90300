"""The known truth of a scenario, and how an analysis result is scored against it.

``truth.json`` holds the incident windows and the root cause in the vocabulary of the
JSON result (DESIGN.md, "Contracts"). A *spec* is one acceptable answer::

    {"kind": "metric", "metric": "lb_cpu_utilization", "required": {}, "optional": {}}
    {"kind": "segment", "metric": None, "required": {"ua_kernel": "amzn2"},
     "optional": {"endpoint": ["blob"], "edge": ["IAD", "FRA"]}}
    {"kind": "client", "metric": None, "required": {"client_ip": "203.0.113.7"}, "optional": {}}
    {"kind": "log_pattern", "metric": None, "pattern": "lookup .* i/o timeout",
     "required": {}, "optional": {}}

:func:`matches` says whether one cause of a result names a spec; :func:`rank_of_truth`
finds the first cause that names the root cause (or an ``also_accept`` alternative).
"""

from __future__ import annotations

import re
from typing import Any


def spec(
    kind: str,
    *,
    metric: str | None = None,
    required: dict[str, str] | None = None,
    optional: dict[str, list[str]] | None = None,
    pattern: str | None = None,
    note: str = "",
) -> dict[str, Any]:
    """One root-cause or red-herring spec (see the module docstring).

    Examples
    --------
    >>> spec("metric", metric="lb_cpu_utilization")["kind"]
    'metric'
    """
    out: dict[str, Any] = {
        "kind": kind,
        "metric": metric,
        "required": dict(required or {}),
        "optional": {k: sorted(set(v)) for k, v in (optional or {}).items()},
    }
    if pattern is not None:
        out["pattern"] = pattern
    if note:
        out["note"] = note
    return out


def _segment(cause: dict[str, Any]) -> dict[str, str]:
    """A cause's segment as ``{dimension: value}``; accepts the list-of-pairs form too."""
    seg = cause.get("segment") or {}
    if isinstance(seg, list):
        return {str(p["dimension"]): str(p["value"]) for p in seg}
    return {str(k): str(v) for k, v in seg.items()}


def matches(cause: dict[str, Any], spec: dict[str, Any]) -> bool:
    """Whether ``cause`` (one entry of a JSON result's ``causes``) names ``spec``.

    A metric matches by name. Segments and clients (interchangeable kinds) match when the
    cause's segment contains every ``required`` pair and each other pair is allowed by
    ``optional``. A log pattern matches when ``spec["pattern"]`` (a case-insensitive
    regex) is found in the cause's label or segment values.

    Examples
    --------
    >>> s = {"kind": "segment", "metric": None, "required": {"ua_kernel": "amzn2"},
    ...      "optional": {"endpoint": ["blob"]}}
    >>> matches({"kind": "segment", "segment": {"ua_kernel": "amzn2", "endpoint": "blob"}}, s)
    True
    >>> matches({"kind": "segment", "segment": {"ua_kernel": "amzn2", "endpoint": "ping"}}, s)
    False
    >>> matches({"kind": "metric", "metric": "lb_cpu", "segment": {}},
    ...         {"kind": "metric", "metric": "lb_cpu", "required": {}, "optional": {}})
    True
    """
    kind = cause.get("kind")
    want = spec.get("kind")
    if want == "metric":
        return kind == "metric" and cause.get("metric") == spec.get("metric")
    if want == "log_pattern":
        if kind != "log_pattern":
            return False
        texts = [str(cause.get("label") or ""), *_segment(cause).values()]
        if cause.get("metric"):
            texts.append(str(cause["metric"]))
        rx = re.compile(str(spec.get("pattern") or ""), re.IGNORECASE)
        return any(rx.search(t) for t in texts)
    if want in ("segment", "client"):
        if kind not in ("segment", "client"):
            return False
        seg = _segment(cause)
        required = {str(k): str(v) for k, v in (spec.get("required") or {}).items()}
        if any(seg.get(k) != v for k, v in required.items()):
            return False
        optional = spec.get("optional") or {}
        for k, v in seg.items():
            if k in required:
                continue
            if k not in optional or v not in {str(x) for x in optional[k]}:
                return False
        return True
    return False


def rank_of_truth(result: dict[str, Any], truth: dict[str, Any]) -> int | None:
    """The rank of the first cause in ``result`` that names the truth's root cause or one
    of its ``also_accept`` alternatives; ``None`` when none does or there is no root cause.

    Examples
    --------
    >>> truth = {"root_cause": {"kind": "metric", "metric": "cpu", "required": {},
    ...          "optional": {}}, "also_accept": []}
    >>> rank_of_truth({"causes": [{"rank": 1, "kind": "metric", "metric": "dns"},
    ...                           {"rank": 2, "kind": "metric", "metric": "cpu"}]}, truth)
    2
    """
    root = truth.get("root_cause")
    if root is None:
        return None
    accepted = [root, *(truth.get("also_accept") or [])]
    for i, cause in enumerate(result.get("causes") or []):
        if any(matches(cause, s) for s in accepted):
            return int(cause.get("rank") or i + 1)
    return None
