"""The optional compiled hot paths (C extensions built by setup.py), loaded in one place.

Each has a pure Python/numpy/Polars reference that gives the same results; the reference
runs when the extension was not built (no C compiler at install time) or when
``RCA_NO_COMPILED=1`` is set, which the benchmarks and tests use to compare the two.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType


def load(module: str) -> ModuleType | None:
    """The compiled module ``module`` (e.g. ``rca.ingest._routes``), or None."""
    if os.environ.get("RCA_NO_COMPILED"):
        return None
    try:
        return importlib.import_module(module)
    except ImportError:
        return None
