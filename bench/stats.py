"""Summary statistics of repeated timings (milliseconds).

Conventions (so every number can be reproduced by hand):

- ``median``, ``p90`` and the quartiles use linear interpolation between closest ranks, i.e. the
  ``numpy.percentile(..., method="linear")`` default: position ``q/100 * (n-1)`` in the sorted list.
- ``std`` is the *sample* standard deviation (divisor ``n - 1``); 0.0 for a single value.
- ``iqr`` = p75 - p25; ``cv`` (coefficient of variation) = std / mean (``None`` if mean is 0).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["TimingStats", "percentile", "summarize", "runtime_headline"]


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100) with linear interpolation (numpy's default method)."""
    if not values:
        raise ValueError("percentile of an empty sequence")
    if not 0.0 <= q <= 100.0:
        raise ValueError(f"percentile q must be in [0, 100], got {q}")
    xs = sorted(float(v) for v in values)
    pos = (len(xs) - 1) * q / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, len(xs) - 1)
    frac = pos - lo
    return xs[lo] + (xs[hi] - xs[lo]) * frac


@dataclass(frozen=True)
class TimingStats:
    """Summary of ``n`` timings, all in the unit of the input (the suite uses milliseconds)."""

    n: int
    median: float
    mean: float
    std: float
    min: float
    max: float
    p90: float
    iqr: float
    cv: float | None


def summarize(values: Sequence[float]) -> TimingStats:
    """Median, mean, sample std, min, max, p90, IQR and CV of ``values`` (must be non-empty, finite)."""
    xs = [float(v) for v in values]
    if not xs:
        raise ValueError("no timings to summarise (repeats must be >= 1)")
    if not all(math.isfinite(v) for v in xs):
        raise ValueError("timings contain a non-finite value")
    n = len(xs)
    mean = math.fsum(xs) / n
    std = math.sqrt(math.fsum((v - mean) ** 2 for v in xs) / (n - 1)) if n > 1 else 0.0
    return TimingStats(
        n=n,
        median=percentile(xs, 50.0),
        mean=mean,
        std=std,
        min=min(xs),
        max=max(xs),
        p90=percentile(xs, 90.0),
        iqr=percentile(xs, 75.0) - percentile(xs, 25.0),
        cv=(std / mean) if mean != 0 else None,
    )


def runtime_headline(rec: Mapping[str, Any]) -> tuple[float | None, str]:
    """The figure a table or a summary shows for a runtime record (a JSON dict), and its name.

    Robust mode: ``median_ms`` ("median", after the record's warm-up). NTIRE mode: ``ave_time_ms``
    ("NTIRE Ave Time": mean of the per-split means, no warm-up, first image included), the figure of
    the official ``results.txt``; never a statistic pooled over both splits. ``(None, "")`` if missing.
    """
    if rec.get("mode") == "ntire":
        v = rec.get("ave_time_ms")
        return (float(v), "NTIRE Ave Time") if v is not None else (None, "")
    v = rec.get("median_ms")
    return (float(v), "median") if v is not None else (None, "")
