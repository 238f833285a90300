"""Fixtures shared by the format tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from rca.ingest.formats import _registry_fast


@pytest.fixture(scope="module", params=["compiled", "reference"])
def registry_engine(request: pytest.FixtureRequest) -> Iterator[str]:
    """A whole module once with registry_json's compiled scanner (``_registry_scan``) and
    once with the Polars path alone (its reference)."""
    held = _registry_fast._scanner
    if request.param == "reference":
        _registry_fast._scanner = None
    elif held is None:
        pytest.fail(
            "the compiled registry scanner was not built: pip install -e . needs a C compiler"
        )
    yield request.param
    _registry_fast._scanner = held
