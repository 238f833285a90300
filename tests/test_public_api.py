"""The public API is exactly what ``rca.__all__`` says, sorted and complete."""

from __future__ import annotations

import inspect

import rca


def test_all_is_sorted_and_resolves() -> None:
    assert rca.__all__ == sorted(rca.__all__)
    for name in rca.__all__:
        assert hasattr(rca, name), name


def test_all_lists_every_public_name() -> None:
    public = {
        name
        for name, value in vars(rca).items()
        if not name.startswith("_") and not inspect.ismodule(value) and name != "annotations"
    }
    assert public == set(rca.__all__) - {"__version__"}


def test_contract_functions_present() -> None:
    # DESIGN.md "Contracts": these are what notebooks and tests call.
    for name in ("read_logs", "read_metrics", "analyze", "rank_metrics", "localize"):
        assert callable(getattr(rca, name))
    for attr in ("episodes", "causes", "ruled_out", "segments", "data_quality"):
        assert attr in rca.Result.__dataclass_fields__
    for method in ("to_html", "write_html", "to_dict", "write_json", "to_markdown", "_repr_html_"):
        assert callable(getattr(rca.Result, method))
