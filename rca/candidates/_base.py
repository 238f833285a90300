"""What every candidate cause looks like to the scorer, whatever its kind.

Each candidate builder (metric series, segments, heavy clients, log patterns) reduces its
suspect to one series aligned to the bucket grid, plus kind-specific facts. The evidence
features (``rca.candidates._features``) are then computed the same way for every kind,
which is what makes one ranking across kinds meaningful.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Context:
    """The detected symptom, on the bucket grid, that candidates are judged against.

    Attributes
    ----------
    ts_s
        Bucket starts as unix seconds.
    requests, failures
        Per-bucket counts (floats; a value symptom puts its values in ``failures``).
    rate
        The symptom series (failure rate by default).
    episodes
        ``(start, end)`` bucket indices, end exclusive, in time order.
    bucket_seconds
        Bucket width.
    baseline_rate
        The detector's baseline failure rate (0 for a value symptom).
    dispersion
        How much more the failure counts vary than independent requests would (the
        detector's quasi-binomial factor, 1 when they behave). Count-based evidence
        divides counts by it, so a log shipped twice does not look twice as certain.
    """

    ts_s: np.ndarray
    requests: np.ndarray
    failures: np.ndarray
    rate: np.ndarray
    episodes: tuple[tuple[int, int], ...]
    bucket_seconds: int
    baseline_rate: float
    baseline: np.ndarray | None = None  # explicit calm buckets; default: far from episodes
    dispersion: float = 1.0

    @property
    def n(self) -> int:
        return len(self.ts_s)

    @property
    def in_episode(self) -> np.ndarray:
        mask = np.zeros(self.n, dtype=bool)
        for s, e in self.episodes:
            mask[s:e] = True
        return mask

    def calm(self, margin: int | None = None) -> np.ndarray:
        """Buckets far enough from every episode to serve as the baseline."""
        if self.baseline is not None:
            return self.baseline.copy()
        if margin is None:
            # Causes build up and effects drain over minutes: keep ~10 min around episodes out.
            margin = max(2, round(600 / self.bucket_seconds))
        mask = np.ones(self.n, dtype=bool)
        for s, e in self.episodes:
            mask[max(0, s - margin) : min(self.n, e + margin)] = False
        return mask


@dataclass(frozen=True)
class Candidate:
    """One suspect.

    Attributes
    ----------
    kind
        ``metric``, ``segment``, ``client`` or ``log_pattern``.
    key
        Unique identifier within a run (stable, used for sorting ties).
    label
        One human-readable line.
    series
        The suspect's own series on the bucket grid (NaN where unknown).
    metric, labels
        For metric candidates: the metric name and the stable label string.
    segment
        For segments and clients: (dimension, value) pairs exactly as in the input.
    unit
        How to print the series' values in evidence sentences: ``value``, ``ratio``,
        ``count`` or ``share``.
    facts
        Kind-specific features already in [0, 1] (e.g. ``explained_share``, ``surprise``)
        and figures for sentences, by name.
    """

    kind: str
    key: str
    label: str
    series: np.ndarray
    metric: str | None = None
    labels: str | None = None
    segment: tuple[tuple[str, str], ...] = ()
    unit: str = "value"
    facts: dict[str, float] = field(default_factory=dict)
