"""Candidate causes and their evidence.

Builders turn each kind of suspect into a :class:`~rca.candidates._base.Candidate` (one
series aligned to the bucket grid plus kind-specific facts): metric series
(``_metrics``), segments of the derived request attributes (``_segments``), heavy clients
(``_clients``) and error-message patterns (``_patterns``). ``_features`` computes the
evidence features every candidate is ranked on (``rca._rank``).
"""
