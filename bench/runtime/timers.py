"""Timers and the timing loops of both protocols (pure logic: tested with fake clocks and events).

A :class:`Timer` times one call and returns its result with the elapsed milliseconds;
:func:`time_repeated` is the robust loop, :func:`time_per_image` the NTIRE one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any, Protocol, TypeVar

import torch

from ..stats import percentile

T = TypeVar("T")


class Timer(Protocol):
    """Times one call: ``time(fn) -> (fn's result, elapsed milliseconds)``."""

    name: str

    def time(self, fn: Callable[[], T]) -> tuple[T, float]: ...


class PerfCounterTimer:
    """Wall-clock timer around the call with ``time.perf_counter_ns`` (CPU execution is synchronous)."""

    name = "time.perf_counter_ns"

    def __init__(self, clock: Callable[[], int] = time.perf_counter_ns) -> None:
        self.clock = clock

    def time(self, fn: Callable[[], T]) -> tuple[T, float]:
        t0 = self.clock()
        out = fn()
        t1 = self.clock()
        return out, (t1 - t0) / 1e6


class CudaEventTimer:
    """``torch.cuda.Event`` pair recorded around the call, then ``synchronize()``; GPU-side ms.

    ``sync_before`` adds a synchronise before the start event (robust mode: nothing queued earlier can
    overlap the measurement); the official NTIRE loop does not do it. ``event_factory`` and
    ``synchronize`` are injectable for tests. Like the official script, one start/end pair is reused.
    """

    name = "torch.cuda.Event"

    def __init__(
        self,
        event_factory: Callable[[], Any] | None = None,
        synchronize: Callable[[], None] | None = None,
        *,
        sync_before: bool = True,
    ) -> None:
        factory = event_factory or (lambda: torch.cuda.Event(enable_timing=True))
        self.synchronize = synchronize or torch.cuda.synchronize
        self.start = factory()
        self.end = factory()
        self.sync_before = sync_before

    def time(self, fn: Callable[[], T]) -> tuple[T, float]:
        if self.sync_before:
            self.synchronize()
        self.start.record()
        out = fn()
        self.end.record()
        self.synchronize()
        return out, float(self.start.elapsed_time(self.end))


def default_timer(device: torch.device, mode: str) -> Timer:
    """CUDA events on a GPU (synchronised before the start in robust mode only), else ``perf_counter_ns``."""
    if device.type == "cuda":
        return CudaEventTimer(sync_before=(mode == "robust"))
    return PerfCounterTimer()


def default_timer_name(device: torch.device) -> str:
    """The ``name`` of :func:`default_timer`'s timer on ``device``."""
    return CudaEventTimer.name if device.type == "cuda" else PerfCounterTimer.name


# --------------------------------------------------------------------------------------------------
# protocol loops


def time_repeated(forward: Callable[[Any], Any], x: Any, timer: Timer, *, warmup: int, repeats: int) -> list[float]:
    """Robust loop: ``warmup`` forwards (timed the same way, then discarded), ``repeats`` timed ones."""
    if warmup < 0 or repeats < 1:
        raise ValueError(f"need warmup >= 0 and repeats >= 1, got warmup={warmup}, repeats={repeats}")
    for _ in range(warmup):
        out, _ms = timer.time(lambda: forward(x))
        del out
    times = []
    for _ in range(repeats):
        out, ms = timer.time(lambda: forward(x))
        del out
        times.append(ms)
    return times


def warmup_until_stable(
    forward: Callable[[Any], Any],
    x: Any,
    timer: Timer,
    *,
    min_iters: int = 10,
    window: int = 5,
    rtol: float = 0.05,
    max_iters: int = 200,
) -> int:
    """Warm up until timings settle; returns how many warm-up forwards ran.

    At least ``min_iters`` forwards; then warm-up stops as soon as the median of the last ``window``
    timings is within ``rtol`` of the median of the ``window`` before it, or at ``max_iters``.
    """
    times: list[float] = []
    while len(times) < max_iters:
        out, ms = timer.time(lambda: forward(x))
        del out
        times.append(ms)
        if len(times) >= max(min_iters, 2 * window):
            last = percentile(times[-window:], 50.0)
            prev = percentile(times[-2 * window : -window], 50.0)
            if abs(last - prev) <= rtol * prev:
                break
    return len(times)


def time_per_image(
    forward: Callable[[Any], Any],
    images: Iterable[Any],
    timer: Timer,
    to_device: Callable[[Any], Any] = lambda t: t,
    consume: Callable[[int, Any], None] | None = None,
) -> list[float]:
    """NTIRE loop: every image once, in order, first included; the copy to the device is not timed.

    Returns one time per image (ms, the timer's figure). ``consume(i, output)``, when given, runs after
    image ``i`` is timed and before its output is released (the official ``test_demo.py`` converts
    the output to uint8 and computes its PSNR there, outside the timed region); whatever it raises
    propagates. Raises ``ValueError`` when ``images`` is empty.
    """
    times = []
    for i, img in enumerate(images):
        x = to_device(img)
        out, ms = timer.time(lambda x=x: forward(x))
        times.append(ms)
        if consume is not None:
            consume(i, out)
        del out, x
    if not times:
        raise ValueError("no images to time")
    return times
