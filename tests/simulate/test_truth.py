"""Matching analysis causes against truth specs."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from rca.simulate import matches, rank_of_truth

SEGMENT = {
    "kind": "segment",
    "metric": None,
    "required": {"ua_kernel": "amzn2"},
    "optional": {"endpoint": ["blob"], "edge": ["FRA67-C2", "LHR80-C2"]},
}
CLIENT = {"kind": "client", "metric": None, "required": {"client_ip": "3.80.1.2"}, "optional": {}}
METRIC = {"kind": "metric", "metric": "lb_cpu_utilization", "required": {}, "optional": {}}
PATTERN = {"kind": "log_pattern", "metric": None, "pattern": "lookup .*timeout"}


def test_segment_needs_required_and_allows_optional() -> None:
    assert matches({"kind": "segment", "segment": {"ua_kernel": "amzn2"}}, SEGMENT)
    assert matches(
        {"kind": "segment", "segment": {"ua_kernel": "amzn2", "edge": "LHR80-C2"}}, SEGMENT
    )
    assert not matches({"kind": "segment", "segment": {"edge": "LHR80-C2"}}, SEGMENT)
    assert not matches(
        {"kind": "segment", "segment": {"ua_kernel": "amzn2", "edge": "IAD56-C2"}}, SEGMENT
    )
    assert not matches({"kind": "segment", "segment": {"ua_kernel": "amzn2023"}}, SEGMENT)
    pairs = [
        {"dimension": "ua_kernel", "value": "amzn2"},
        {"dimension": "endpoint", "value": "blob"},
    ]
    assert matches({"kind": "segment", "segment": pairs}, SEGMENT)


def test_client_and_segment_kinds_are_interchangeable() -> None:
    assert matches({"kind": "client", "segment": {"client_ip": "3.80.1.2"}}, CLIENT)
    assert matches({"kind": "segment", "segment": {"client_ip": "3.80.1.2"}}, CLIENT)
    assert not matches({"kind": "metric", "metric": "x", "segment": {}}, CLIENT)


def test_metric_and_pattern() -> None:
    assert matches({"kind": "metric", "metric": "lb_cpu_utilization"}, METRIC)
    assert not matches({"kind": "metric", "metric": "lb_network_bytes"}, METRIC)
    assert not matches({"kind": "segment", "segment": {}}, METRIC)
    label = "dial tcp: lookup s3.amazonaws.com on 10.0.0.2:53: i/o timeout"
    assert matches({"kind": "log_pattern", "label": label}, PATTERN)
    assert not matches({"kind": "log_pattern", "label": "manifest unknown"}, PATTERN)


def test_rank_of_truth_uses_also_accept() -> None:
    truth = {"root_cause": METRIC, "also_accept": [PATTERN]}
    result = {
        "causes": [
            {"rank": 1, "kind": "segment", "segment": {"client_ip": "1.2.3.4"}},
            {"rank": 2, "kind": "log_pattern", "label": "lookup x: i/o timeout", "segment": {}},
            {"rank": 3, "kind": "metric", "metric": "lb_cpu_utilization", "segment": {}},
        ]
    }
    assert rank_of_truth(result, truth) == 2
    assert rank_of_truth({"causes": []}, truth) is None
    assert rank_of_truth(result, {"root_cause": None}) is None


@given(st.dictionaries(st.sampled_from(["edge", "endpoint", "method", "asn"]), st.text(max_size=5)))
def test_extra_dimensions_outside_optional_never_match(extra: dict[str, str]) -> None:
    seg = {"ua_kernel": "amzn2", **extra}
    allowed = all(
        k in SEGMENT["optional"] and v in SEGMENT["optional"][k] for k, v in extra.items()
    )
    assert matches({"kind": "segment", "segment": seg}, SEGMENT) == allowed
