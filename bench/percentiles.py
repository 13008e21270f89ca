"""Percentiles of latency samples, one definition for every benchmark that
reports them, so that a p99 means the same in all their tables."""

import math
from collections.abc import Sequence


def percentile(values: Sequence[float], p: float) -> float:
    """The nearest-rank percentile (p in 0–100) of ``values``: always one of
    the samples, so an infinite one (a timeout) shows as such, not averaged."""
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]
