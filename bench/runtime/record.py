"""The records a runtime measurement returns: :class:`RuntimeRecord` and :class:`ComparisonRecord`.

Times in ms, memory in MiB (2**20 bytes); ``bench.records.to_jsonable`` turns them into JSON.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..stats import summarize


@dataclass
class RuntimeRecord:
    """One runtime measurement (see :mod:`bench.runtime`). Times in ms, memory in MiB (2**20 bytes).

    ``times_ms`` are the timed forwards only (robust: after warm-up; ntire: every image, in order,
    splits concatenated). Headline figure: ``median_ms`` in robust mode; ``ave_time_ms``, the NTIRE
    "Ave Time" (mean of per-split means), in ntire mode, where the pooled statistics stay ``None`` and
    ``splits`` holds per-split details. ``peak_mem_total_mib`` means the same on every device;
    ``cuda_max_allocated_mib`` is CUDA's never-reset ``max_memory_allocated`` in MiB, absolute (the
    official NTIRE Mem: :func:`bench.runtime.memory.ntire_max_allocated_mib`; ``None`` on CPU).
    """

    model: str
    scale: int
    device: str
    mode: str
    dtype: str
    input_size: list[int] | None
    warmup: int
    repeats: int
    kind: str = "runtime"
    median_ms: float | None = None
    mean_ms: float | None = None
    std_ms: float | None = None
    min_ms: float | None = None
    p90_ms: float | None = None
    iqr_ms: float | None = None
    cv: float | None = None
    times_ms: list[float] = field(default_factory=list)
    peak_mem_forward_mib: float | None = None
    peak_mem_total_mib: float | None = None
    memory_method: str = ""
    status: str = "ok"
    message: str = ""
    protocol: dict[str, Any] = field(default_factory=dict)
    env: dict[str, Any] = field(default_factory=dict)
    ave_time_ms: float | None = None
    splits: dict[str, dict[str, Any]] = field(default_factory=dict)
    dataset: str | None = None
    cuda_max_allocated_mib: float | None = None

    def fill_stats(self, times: Sequence[float]) -> None:
        """Keep ``times`` (ms) and their statistics (median, mean, std, min, p90, IQR, CV)."""
        s = summarize(times)
        self.times_ms = [float(t) for t in times]
        self.median_ms, self.mean_ms, self.std_ms = s.median, s.mean, s.std
        self.min_ms, self.p90_ms, self.iqr_ms, self.cv = s.min, s.p90, s.iqr, s.cv


@dataclass
class ComparisonRecord:
    """Interleaved comparison of several models; ``ratios`` are median_ms / reference median_ms."""

    models: list[str]
    reference: str | None
    scale: int
    device: str
    order: str
    rounds: int
    kind: str = "runtime_comparison"
    records: dict[str, RuntimeRecord] = field(default_factory=dict)
    ratios: dict[str, float | None] = field(default_factory=dict)
    status: str = "ok"
    message: str = ""
    protocol: dict[str, Any] = field(default_factory=dict)
    env: dict[str, Any] = field(default_factory=dict)
