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

__all__ = ["TimingStats", "percentile", "summarize", "runtime_headline", "split_mean_ms", "ave_time_ms"]


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


def split_mean_ms(times: Sequence[float]) -> float:
    """Per-image mean (ms) of one split: the official ``valid_ave_runtime`` / ``test_ave_runtime``.

    ``sum(times) / len(times)`` over every image of the split, the first (cold) one included, as the
    official NTIRE ``test_demo.py`` computes it (``sum(results[f"{mode}_runtime"]) / len(...)``); never
    a median. Raises ``ValueError`` for no timings.
    """
    if not times:
        raise ValueError("no timings: a split needs at least one image")
    return math.fsum(float(t) for t in times) / len(times)


def ave_time_ms(split_means: Mapping[str, float]) -> float:
    """"Ave Time" (ms): the mean of the per-split means, ``(valid + test) / 2`` in the official results.

    ``split_means`` maps split names to :func:`split_mean_ms` values. With both official splits this is
    the official figure; with one split it is that split's mean, which is *not* the official figure:
    callers record which splits it covers (``challenge.score.TeamMetrics.ave_time_splits``, a runtime
    record's ``splits``). Raises ``ValueError`` for no splits.
    """
    if not split_means:
        raise ValueError("no split means to average")
    return math.fsum(float(v) for v in split_means.values()) / len(split_means)


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
