from __future__ import annotations

from engine_data import bad_edge

from rca import _analyze


def test_hanging_segment_is_found_as_the_combination() -> None:
    res = _analyze.analyze(bad_edge())
    assert res.episodes.height == 1
    top = res.causes.row(0, named=True)
    assert top["kind"] == "segment"
    seg = {p["dimension"]: p["value"] for p in top["segment"]}
    assert seg.get("edge") == "iad" and seg.get("ua_kernel") == "amzn2"
    assert res.segments.height >= 1
    assert res.segments["explained_share"][0] > 0.8
