"""Runtime and peak memory of SR models, measured two ways, each record saying which.

``mode="robust"`` (the recommended protocol)
    One fixed LR input already on the device; ``warmup`` untimed-for-the-statistics forwards
    (default 10), then ``repeats`` timed forwards under ``torch.inference_mode()``. CUDA: a pair of
    ``torch.cuda.Event`` recorded around the forward only, after a ``torch.cuda.synchronize()``, then
    synchronised; CPU: ``time.perf_counter_ns`` around the forward. Statistics: median, mean, sample
    std, min, p90, IQR, CV (see :mod:`bench.stats`). ``cudnn.benchmark`` is off unless asked for.

``mode="ntire"`` (a faithful reproduction of the official NTIRE ESR ``test_demo.py`` loop)
    Parameters get ``requires_grad=False`` but no ``no_grad`` / ``inference_mode`` is used; no
    warm-up; one image at a time (batch 1, whole image), the host->device copy outside the timed
    region, ``cuda.Event`` start/end around the forward then ``torch.cuda.synchronize()``; every image
    counts, the first one (which pays start-up costs) included. Per split the mean is reported;
    ``ave_time_ms`` ("Ave Time" of the official table) is the mean of the split means (valid, test) and
    is the record's headline figure (the top-level median/mean/... stay ``None``: a statistic pooled
    over both splits is not an official figure). Memory: ``torch.cuda.max_memory_allocated()`` after
    each split, never reset, model load included.

Peak memory (``peak_mem_forward_mib``) is the memory allocated *by one forward* above what was
already allocated (weights, input): on CUDA ``reset_peak_memory_stats`` + ``max_memory_allocated``
around one synchronised forward; on CPU the c10 CPU allocator peak seen by ``torch.profiler`` with
``profile_memory=True`` (allocations and frees during that forward, in time order). The output
tensor is part of the forward peak. ``peak_mem_total_mib`` = parameter and buffer bytes + input bytes +
that forward peak, the same sum on CPU and CUDA. The NTIRE "Mem" figure, ``torch.cuda.max_memory_allocated()``
never reset since before the model was moved to the GPU (warm-ups and every forward included), exists
on CUDA only and is ``cuda_max_allocated_mib``. ``memory_method`` in each record spells out the methods.

Timers and the CUDA event/synchronise functions are injectable (``timer=``), so the protocol logic is
unit-tested on CPU with a fake clock and fake events.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

import torch
from torch import nn

from . import output_check
from .env import environment
from .stats import summarize

__all__ = [
    "DTYPES",
    "MODES",
    "REFERENCE_MODELS",
    "RuntimeRecord",
    "ComparisonRecord",
    "Timer",
    "PerfCounterTimer",
    "CudaEventTimer",
    "time_repeated",
    "time_per_image",
    "warmup_until_stable",
    "cpu_forward_peak_bytes",
    "cuda_forward_peak_bytes",
    "measure_runtime",
    "measure_runtime_isolated",
    "compare_runtime",
    "parse_size",
    "hr_to_lr_size",
]

T = TypeVar("T")
MIB = 2**20

MODES = ("robust", "ntire")
DTYPES: dict[str, torch.dtype] = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
#: The challenge baseline each NTIRE ESR year ranks against (runtime ratios are reported to it).
REFERENCE_MODELS: dict[int, str] = {2024: "rlfn-ntire22", 2025: "efdn", 2026: "span-ch28"}
DEFAULT_WARMUP = {"robust": 10, "ntire": 0}


# --------------------------------------------------------------------------------------------------
# timers


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


# --------------------------------------------------------------------------------------------------
# protocol loops (pure logic: tested with fake timers)


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
    from .stats import percentile

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
) -> list[float]:
    """NTIRE loop: every image once, in order, first included; the copy to the device is not timed."""
    times = []
    for img in images:
        x = to_device(img)
        out, ms = timer.time(lambda x=x: forward(x))
        del out, x
        times.append(ms)
    if not times:
        raise ValueError("no images to time")
    return times


# --------------------------------------------------------------------------------------------------
# memory


def _profiler_trace_peak(trace_file: Path) -> int:
    """Peak of the running sum of CPU ``[memory]`` events (bytes) in a chrome trace."""
    data = json.loads(trace_file.read_text(encoding="utf-8"))
    events = [
        e
        for e in data.get("traceEvents", [])
        if e.get("name") == "[memory]" and int(e.get("args", {}).get("Device Type", 0)) == 0
    ]
    events.sort(key=lambda e: float(e.get("ts", 0.0)))
    current = peak = 0
    for e in events:
        current += int(e["args"].get("Bytes", 0))
        peak = max(peak, current)
    return peak


@contextlib.contextmanager
def _quiet_native_stderr() -> Iterator[None]:
    """Silence the profiler's native start/stop lines (written by C++ straight to fd 2).

    Python-level errors still propagate as exceptions; only text written to file descriptor 2 while the
    profiler starts, runs one forward and stops is discarded.
    """
    try:
        saved = os.dup(2)
    except OSError:  # no usable fd 2 (embedded interpreters): nothing to silence
        yield
        return
    try:
        sys.stderr.flush()
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def cpu_forward_peak_bytes(forward: Callable[[Any], Any], x: Any) -> int:
    """Peak bytes the c10 CPU allocator holds for allocations made during one ``forward(x)``.

    Measured with ``torch.profiler.profile(profile_memory=True)``: every allocation/free during the
    forward is an event; the running sum's maximum is the peak above what existed before (weights,
    input). The output, alive at the end of the forward, is included. Memory obtained outside the c10
    allocator (e.g. a library's private malloc) is not seen.
    """
    from torch.profiler import ProfilerActivity, profile

    with _quiet_native_stderr(), profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        out = forward(x)
        del out
    with tempfile.TemporaryDirectory(prefix="esr-bench-mem-") as tmp:
        trace = Path(tmp) / "trace.json"
        prof.export_chrome_trace(str(trace))
        return _profiler_trace_peak(trace)


def cuda_forward_peak_bytes(forward: Callable[[Any], Any], x: Any, device: torch.device) -> int:
    """``max_memory_allocated`` during one synchronised forward minus what was allocated before it."""
    torch.cuda.synchronize(device)
    torch.cuda.reset_peak_memory_stats(device)
    base = torch.cuda.memory_allocated(device)
    out = forward(x)
    torch.cuda.synchronize(device)
    peak = torch.cuda.max_memory_allocated(device)
    del out
    return int(peak - base)


def _tensor_bytes(tensors: Iterable[torch.Tensor]) -> int:
    return sum(t.numel() * t.element_size() for t in tensors)


def module_bytes(model: nn.Module) -> int:
    """Bytes of the parameters and buffers of ``model`` (each shared tensor counted once)."""
    seen: dict[int, torch.Tensor] = {}
    for t in list(model.parameters()) + list(model.buffers()):
        seen.setdefault(id(t), t)
    return _tensor_bytes(seen.values())


# --------------------------------------------------------------------------------------------------
# records


@dataclass
class RuntimeRecord:
    """One runtime measurement (see the module docstring). Times in ms, memory in MiB (2**20 bytes).

    ``times_ms`` are the timed forwards only (robust: after warm-up; ntire: every image, in order,
    splits concatenated). Headline figure: ``median_ms`` in robust mode; ``ave_time_ms``, the NTIRE
    "Ave Time" (mean of per-split means), in ntire mode, where the pooled statistics stay ``None`` and
    ``splits`` holds per-split details. ``peak_mem_total_mib`` means the same on every device;
    ``cuda_max_allocated_mib`` is CUDA's never-reset ``max_memory_allocated`` (``None`` on CPU).
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


# --------------------------------------------------------------------------------------------------
# helpers


def parse_size(text: str) -> tuple[int, int]:
    """``"256x256"`` -> ``(256, 256)``; a single number means a square. Raises ``ValueError``."""
    parts = str(text).lower().replace("*", "x").split("x")
    try:
        nums = [int(p) for p in parts]
    except ValueError:
        raise ValueError(f"size {text!r} is not of the form AxB (e.g. 256x256)") from None
    if len(nums) == 1:
        nums = nums * 2
    if len(nums) != 2 or min(nums) < 1:
        raise ValueError(f"size {text!r} is not of the form AxB with positive integers")
    return nums[0], nums[1]


def hr_to_lr_size(width: int, height: int, scale: int) -> tuple[int, int]:
    """LR (H, W) for an HR frame given as width x height (``1280x720`` -> x4: ``(180, 320)``)."""
    if width % scale or height % scale:
        raise ValueError(f"HR size {width}x{height} is not divisible by the scale {scale}")
    return height // scale, width // scale


DEFAULT_CPU_THREADS = 1


@contextlib.contextmanager
def _threads(n: int | None) -> Iterator[None]:
    if not n:
        yield
        return
    if n < 1:
        raise ValueError(f"threads must be >= 1, got {n}")
    old = torch.get_num_threads()
    torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(old)


@contextlib.contextmanager
def _cudnn_benchmark(flag: bool) -> Iterator[None]:
    old = torch.backends.cudnn.benchmark
    torch.backends.cudnn.benchmark = bool(flag)
    try:
        yield
    finally:
        torch.backends.cudnn.benchmark = old


def _resolve_model(model: str | nn.Module, scale: int, pretrained: bool | str | Path) -> tuple[str, nn.Module]:
    if isinstance(model, nn.Module):
        spec = getattr(model, "esr_spec", None)
        name = spec.name if spec is not None else type(model).__name__
        return name, model
    from models import create_model, get_spec

    spec = get_spec(model)
    return spec.name, create_model(spec.name, scale, pretrained=pretrained)


def _forward_fn(model: nn.Module, scale: int) -> Callable[[torch.Tensor], torch.Tensor]:
    spec = getattr(model, "esr_spec", None)
    if spec is not None and getattr(spec, "multi_scale", False):
        return lambda x: model(x, scale)
    return lambda x: model(x)


def _prepare(
    model: nn.Module, device: torch.device, dtype: torch.dtype, channels_last: bool, mode: str
) -> nn.Module:
    model = model.eval().to(device=device, dtype=dtype)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    if mode == "ntire":
        for p in model.parameters():  # as the official select_model() does
            p.requires_grad = False
    return model


def _make_u8(size: Sequence[int], seed: int, channels: int = 3) -> torch.Tensor:
    """A reproducible random 1xCxHxW uint8 LR image."""
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (1, channels, *size), generator=g, dtype=torch.uint8)


def _make_input(size: Sequence[int], data_range: float, seed: int, channels: int = 3) -> torch.Tensor:
    """A reproducible 1xCxHxW LR input in the model's range, quantised to 8 bits like a real image."""
    return _make_u8(size, seed, channels).float() / (255.0 / data_range)


def _to_device(x: torch.Tensor, device: torch.device, dtype: torch.dtype, channels_last: bool) -> torch.Tensor:
    x = x.to(device=device, dtype=dtype)
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x


def _grad_context(mode: str) -> contextlib.AbstractContextManager:
    # robust: inference_mode; ntire: autograd on (the official loop uses neither no_grad nor inference_mode)
    return torch.inference_mode() if mode == "robust" else torch.enable_grad()


def _default_timer(device: torch.device, mode: str) -> Timer:
    if device.type == "cuda":
        return CudaEventTimer(sync_before=(mode == "robust"))
    return PerfCounterTimer()


def _memory_method(device: torch.device, mode: str) -> str:
    total = "total: parameter+buffer bytes + input bytes + forward peak"
    if device.type == "cuda":
        nt = (
            "cuda_max_allocated: torch.cuda.max_memory_allocated() never reset after the model was moved to "
            "the GPU (weights, inputs, every forward), minus memory allocated before that (0 in a fresh process)"
        )
        if mode == "ntire":
            nt += "; after the first split, as the official script reports it"
        return (
            "forward: torch.cuda.reset_peak_memory_stats() then max_memory_allocated() - memory_allocated() "
            f"around one synchronised forward (caching-allocator bytes, output included); {total}; {nt}"
        )
    return (
        "forward: torch.profiler profile_memory=True, peak of the c10 CPU allocator bytes allocated during "
        "one forward (output included; weights and input excluded; allocations outside the c10 allocator "
        f"not seen); {total}"
    )


def _error_record(base: dict[str, Any], status: str, message: str) -> RuntimeRecord:
    return RuntimeRecord(**base, status=status, message=message)


def _resolve_device(device: str | torch.device) -> torch.device:
    dev = torch.device(device)
    if dev.type not in ("cpu", "cuda"):
        raise ValueError(f"device must be cpu or cuda, got {device!r}")
    return dev


# --------------------------------------------------------------------------------------------------
# datasets (ntire mode over real images)


def _hwc_to_tensor(arr: Any) -> torch.Tensor:
    """An ``HxWx3`` uint8 array -> ``1x3xHxW`` uint8 tensor."""
    import numpy as np

    return torch.from_numpy(np.array(arr, dtype=np.uint8, copy=True)).permute(2, 0, 1).unsqueeze(0).contiguous()


def dataset_lr_images(dataset: str | Path, scale: int, split: str | None = None) -> tuple[str, list[torch.Tensor]]:
    """``(canonical name, LR images as 1x3xHxW uint8 tensors)`` of ``dataset`` at ``scale``.

    Goes through ``bench.data``: ``resolve_dataset(name_or_path, split=...)`` then ``pairs(scale)``;
    an image pair's LR file is read with ``read_image`` (8-bit RGB, grey -> 3 channels, like the
    official ``imread_uint``), or, when the dataset has no LR files for ``scale``, made from the HR
    image with ``make_lr`` (modcrop + MATLAB bicubic). Raises ``ImportError`` with an actionable
    message if ``bench.data`` is not available in this installation.
    """
    try:
        from bench import data as bdata
    except ImportError as exc:
        raise ImportError(
            "--dataset needs the dataset module bench.data, which this installation does not have; "
            "use --input HxW (LR) or --hr WxH instead"
        ) from exc
    if split in ("valid", "test"):
        ds = bdata.resolve_dataset(dataset, split=split)
    else:
        ds = bdata.resolve_dataset(dataset)
    images = []
    for pair in ds.pairs(int(scale)):
        if pair.lr is not None:
            arr = bdata.read_image(pair.lr)
        else:
            arr = bdata.make_lr(bdata.read_image(pair.hr), int(scale))
        images.append(_hwc_to_tensor(arr))
    return str(ds.name), images


# --------------------------------------------------------------------------------------------------
# the measurement


def measure_runtime(
    model: str | nn.Module,
    scale: int,
    *,
    device: str | torch.device = "cpu",
    input_size: tuple[int, int] | Sequence[int] | None = (256, 256),
    warmup: int | str | None = None,
    repeats: int = 30,
    mode: str = "robust",
    dtype: str = "fp32",
    channels_last: bool = False,
    compile: bool = False,
    threads: int | None = None,
    cudnn_benchmark: bool = False,
    datasets: Mapping[str, Sequence[torch.Tensor]] | None = None,
    dataset_name: str | None = None,
    memory: bool = True,
    pretrained: bool | str | Path = False,
    seed: int = 0,
    in_channels: int = 3,
    timer: Timer | None = None,
) -> RuntimeRecord:
    """Time ``model`` (zoo name or module) at ``scale``; see the module docstring for both protocols.

    ``input_size`` is the LR (H, W) of a synthetic 8-bit input. ``warmup`` defaults to 10 (robust) and
    0 (ntire; a non-zero value is refused there); ``"auto"`` warms up until timings settle (see
    :func:`warmup_until_stable`; the record's ``warmup`` is the count that ran). In ntire mode
    ``datasets`` maps split names (e.g. ``{"valid": [...], "test": [...]}``) to LR uint8 images;
    without it, ``repeats`` synthetic images of ``input_size`` form one split. ``in_channels``
    (default 3, RGB) shapes synthetic inputs for non-SR test modules. ``timer`` replaces the default
    timer (tests). A module passed in is moved to ``device``/``dtype`` in place. Errors while running
    (out of memory, an op missing for a dtype, a failed ``torch.compile``) give ``status="failed"``;
    CUDA absent gives ``status="skipped"``. On CPU in robust mode ``threads=None`` means
    :data:`DEFAULT_CPU_THREADS` (1): single-thread timings are reproducible run to run on a shared or
    virtualised machine (seen here: two consecutive medians within 2% with 1 thread, up to 50% apart
    with 2); pass ``threads=N`` to use more cores. The record's ``protocol.threads`` says which.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {sorted(DTYPES)}, got {dtype!r}")
    auto_warmup = warmup == "auto"
    if warmup is None or auto_warmup:
        warmup = DEFAULT_WARMUP[mode]
    if isinstance(warmup, str):
        raise ValueError(f"warmup must be an integer or 'auto', got {warmup!r}")
    if mode == "ntire" and (warmup or auto_warmup):
        raise ValueError("ntire mode reproduces the official loop, which has no warm-up: use warmup=0")
    if repeats < 1 or warmup < 0:
        raise ValueError(f"need repeats >= 1 and warmup >= 0, got repeats={repeats}, warmup={warmup}")
    dev = _resolve_device(device)
    if threads is None and dev.type == "cpu" and mode == "robust":
        threads = DEFAULT_CPU_THREADS
    scale = int(scale)
    name, net = _resolve_model(model, scale, pretrained)
    data_range = float(getattr(net, "data_range", 1.0))
    size = tuple(int(v) for v in input_size) if input_size is not None else None
    base: dict[str, Any] = {
        "model": name,
        "scale": scale,
        "device": str(dev),
        "mode": mode,
        "dtype": dtype,
        "input_size": list(size) if size is not None and datasets is None else None,
        "warmup": int(warmup),
        "repeats": int(repeats),
        "dataset": dataset_name,
    }
    protocol: dict[str, Any] = {
        "name": "esr-bench robust" if mode == "robust" else "NTIRE ESR test_demo.py loop",
        "timer": (timer.name if timer is not None else _default_timer_name(dev)),
        "timed_region": "model forward only (input already on the device; output not copied back)",
        "grad_mode": "torch.inference_mode()" if mode == "robust" else "autograd on, params requires_grad=False",
        "warmup": int(warmup),
        "repeats": int(repeats),
        "batch": 1,
        "input": "random 8-bit LR image / (255 / data_range)" if datasets is None else f"dataset {dataset_name}",
        "data_range": data_range,
        "dtype": dtype,
        "channels_last": bool(channels_last),
        "compile": bool(compile),
        "cudnn_benchmark": bool(cudnn_benchmark) if dev.type == "cuda" else None,
        "threads": None,
        "seed": seed,
        "weights": "pretrained" if pretrained not in (False, None) else "random init (runtime is value-independent)",
    }
    if mode == "ntire":
        protocol["statistic"] = "mean per split; ave_time_ms = mean of split means; first image included"
    else:
        protocol["statistic"] = "median of repeats (mean/std/min/p90/IQR/CV also given)"
    if dev.type == "cuda" and not torch.cuda.is_available():
        return _error_record(base, "skipped", "CUDA is not available (torch.cuda.is_available() is False)")
    if size is None and datasets is None:
        raise ValueError("give input_size or datasets")
    if mode == "robust" and datasets is not None:
        raise ValueError("datasets are timed in ntire mode only; robust mode times one fixed input")

    torch_dtype = DTYPES[dtype]
    ref_net = output_check.fp32_reference(net, dtype)  # taken before the timed model is cast in place
    with _threads(threads), _cudnn_benchmark(cudnn_benchmark):
        protocol["threads"] = torch.get_num_threads()
        env = environment(dev)
        try:
            rec = _measure(
                net, name, scale, dev, size, warmup, repeats, mode, torch_dtype, channels_last, compile,
                datasets, memory, seed, timer, data_range, base, in_channels, auto_warmup,
            )
        except (RuntimeError, NotImplementedError) as exc:
            # Out of memory, an operator missing for this dtype/device, a torch.compile failure, ...
            rec = _error_record(base, "failed", f"{type(exc).__name__}: {exc}".strip()[:2000])
        finally:
            if dev.type == "cuda":
                torch.cuda.empty_cache()
    if auto_warmup:
        protocol["warmup"] = f"auto: {rec.warmup} (>= 10, until the median of 5 moves < 5%)"
    rec.protocol = protocol
    rec.env = env
    if rec.status == "ok":  # a time is a result only if the output is (bench/output_check.py)
        x0 = (_make_input(size, data_range, seed, in_channels) if datasets is None
              else next(iter(datasets.values()))[0].float() / (255.0 / data_range))
        with _threads(threads), _grad_context(mode):
            output_check.check_record(rec, _forward_fn(net, scale), _to_device(x0, dev, torch_dtype, channels_last),
                                      None if ref_net is None else _forward_fn(ref_net.to(dev), scale),
                                      data_range, dtype)
    rec.memory_method = _memory_method(dev, mode) if memory and rec.status == "ok" else ""
    return rec


def _default_timer_name(dev: torch.device) -> str:
    return CudaEventTimer.name if dev.type == "cuda" else PerfCounterTimer.name


def _measure(
    net: nn.Module,
    name: str,
    scale: int,
    dev: torch.device,
    size: tuple[int, ...] | None,
    warmup: int,
    repeats: int,
    mode: str,
    torch_dtype: torch.dtype,
    channels_last: bool,
    compile: bool,
    datasets: Mapping[str, Sequence[torch.Tensor]] | None,
    memory: bool,
    seed: int,
    timer: Timer | None,
    data_range: float,
    base: dict[str, Any],
    in_channels: int = 3,
    auto_warmup: bool = False,
) -> RuntimeRecord:
    cuda = dev.type == "cuda"
    mem_before = 0
    if cuda:
        torch.cuda.synchronize(dev)
        torch.cuda.reset_peak_memory_stats(dev)  # "never reset" from here on: model load included
        mem_before = torch.cuda.memory_allocated(dev)
    net = _prepare(net, dev, torch_dtype, channels_last, mode)
    runner: Any = torch.compile(net) if compile else net
    forward = _forward_fn(runner, scale)
    timer = timer or _default_timer(dev, mode)
    rec = RuntimeRecord(**base)
    to_dev = lambda t: _to_device(t, dev, torch_dtype, channels_last)  # noqa: E731

    with _grad_context(mode):
        if mode == "robust":
            x = to_dev(_make_input(size, data_range, seed, in_channels))
            if auto_warmup:
                rec.warmup = warmup_until_stable(forward, x, timer, min_iters=warmup)
                warmup = 0
            times = time_repeated(forward, x, timer, warmup=warmup, repeats=repeats)
            rec.fill_stats(times)
            if cuda:
                rec.cuda_max_allocated_mib = (torch.cuda.max_memory_allocated(dev) - mem_before) / MIB
        else:
            if datasets is None:
                g = random.Random(seed)
                splits = {"synthetic": [_make_u8(size, g.randrange(2**31), in_channels) for _ in range(repeats)]}
            else:
                splits = dict(datasets)
            scale_in = 255.0 / data_range
            all_times: list[float] = []
            for split, images in splits.items():
                imgs = (img.float() / scale_in for img in images)
                t = time_per_image(forward, imgs, timer, to_dev)
                info: dict[str, Any] = {"n": len(t), "mean_ms": math.fsum(t) / len(t), "median_ms": summarize(t).median,
                                        "first_ms": t[0], "times_ms": t}
                if cuda:
                    info["max_memory_allocated_mib"] = (torch.cuda.max_memory_allocated(dev) - mem_before) / MIB
                rec.splits[split] = info
                all_times.extend(t)
            rec.times_ms = all_times  # no pooled statistics: the headline is ave_time_ms
            rec.repeats = len(all_times)
            rec.ave_time_ms = math.fsum(s["mean_ms"] for s in rec.splits.values()) / len(rec.splits)
            if cuda:
                first = next(iter(rec.splits.values()))
                rec.cuda_max_allocated_mib = first["max_memory_allocated_mib"]  # the table reports the valid figure
            x = to_dev(next(iter(splits.values()))[0].float() / scale_in)
        if memory:
            fwd = cuda_forward_peak_bytes(forward, x, dev) if cuda else cpu_forward_peak_bytes(forward, x)
            rec.peak_mem_forward_mib = fwd / MIB
            rec.peak_mem_total_mib = (module_bytes(net) + _tensor_bytes([x]) + fwd) / MIB
    return rec


def _isolated_child(model: str, scale: int, kwargs: dict[str, Any]) -> dict[str, Any]:
    from .records import to_jsonable

    return to_jsonable(measure_runtime(model, scale, **kwargs))


def measure_runtime_isolated(model: str, scale: int, **kwargs: Any) -> RuntimeRecord:
    """:func:`measure_runtime` in a fresh Python process (``multiprocessing`` spawn).

    The official NTIRE script runs one model per process, so its first image pays CUDA context and
    cuDNN start-up; in a long-lived process only the first model would. Use this for ntire-mode
    figures that must match the official first-image behaviour. ``model`` must be a zoo name.
    """
    import multiprocessing as mp

    if not isinstance(model, str):
        raise TypeError("measure_runtime_isolated needs a zoo model name, not a module")
    if kwargs.get("timer") is not None:
        raise ValueError("a custom timer cannot be sent to a fresh process")
    ctx = mp.get_context("spawn")
    with ctx.Pool(1) as pool:
        data = pool.apply(_isolated_child, (model, int(scale), kwargs))
    data.pop("kind", None)
    rec = RuntimeRecord(**data)
    rec.protocol["process"] = "fresh (spawned) Python process"
    return rec


# --------------------------------------------------------------------------------------------------
# fair comparison


def reference_model(year: int) -> str:
    """The NTIRE ESR baseline of ``year`` (2024: rlfn-ntire22, 2025: efdn, 2026: span-ch28)."""
    try:
        return REFERENCE_MODELS[int(year)]
    except KeyError:
        raise ValueError(f"no reference model for year {year}; known: {sorted(REFERENCE_MODELS)}") from None


def interleaved_order(n_models: int, rounds: int, order: str = "interleaved", seed: int = 0) -> list[int]:
    """Model indices in measurement order: ``interleaved`` = A B C A B C ...; ``random`` = each round
    a fresh permutation (seeded), so slow drift (thermal, other load) hits every model alike."""
    if order not in ("interleaved", "random"):
        raise ValueError(f"order must be 'interleaved' or 'random', got {order!r}")
    rng = random.Random(seed)
    seq: list[int] = []
    for _ in range(rounds):
        idx = list(range(n_models))
        if order == "random":
            rng.shuffle(idx)
        seq.extend(idx)
    return seq


def compare_runtime(
    models: Sequence[str | nn.Module],
    scale: int,
    *,
    reference: str | None = None,
    year: int | None = None,
    device: str | torch.device = "cpu",
    input_size: tuple[int, int] = (256, 256),
    warmup: int = 10,
    rounds: int = 30,
    order: str = "interleaved",
    dtype: str = "fp32",
    channels_last: bool = False,
    threads: int | None = None,
    cudnn_benchmark: bool = False,
    seed: int = 0,
    timer: Timer | None = None,
) -> ComparisonRecord:
    """Robust-mode timing of several models in one run, interleaved, with ratios to a reference.

    Each model gets ``warmup`` forwards first (all models, before any timing); then ``rounds`` rounds
    in which each model is timed once (``order``). ``reference`` (default: the baseline of ``year``,
    if given) is added to the list when missing; ratios are median / reference median (``None`` if
    the reference could not be built, with the reason in ``message``). ``threads=None`` means
    :data:`DEFAULT_CPU_THREADS` (1) on CPU, as in :func:`measure_runtime`.
    """
    dev = _resolve_device(device)
    if threads is None and dev.type == "cpu":
        threads = DEFAULT_CPU_THREADS
    torch_dtype = DTYPES[dtype]
    messages: list[str] = []
    ref_name = reference or (reference_model(year) if year is not None else None)
    entries = [_resolve_model(m, scale, False) for m in models]
    if ref_name is not None:
        from models import get_spec
        from models.registry import UnknownModelError

        try:
            ref_name = get_spec(ref_name).name
        except UnknownModelError:
            messages.append(f"reference model {ref_name!r} is not in the zoo; no ratios")
            ref_name = None
        if ref_name is not None and ref_name not in {n for n, _ in entries}:
            entries.append(_resolve_model(ref_name, scale, False))
    if len({n for n, _ in entries}) != len(entries):
        raise ValueError("a model appears twice in the comparison")
    base_protocol = {
        "name": "esr-bench interleaved comparison (robust mode)",
        "order": order,
        "rounds": rounds,
        "warmup": warmup,
        "input_size": list(input_size),
        "dtype": dtype,
        "channels_last": channels_last,
        "grad_mode": "torch.inference_mode()",
        "ratio": "median_ms / reference median_ms",
    }
    rec = ComparisonRecord(
        models=[n for n, _ in entries], reference=ref_name, scale=int(scale), device=str(dev), order=order,
        rounds=rounds, protocol=base_protocol,
    )
    if dev.type == "cuda" and not torch.cuda.is_available():
        rec.status, rec.message = "skipped", "CUDA is not available on this machine"
        return rec
    with _threads(threads), _cudnn_benchmark(cudnn_benchmark), torch.inference_mode():
        rec.protocol["threads"] = torch.get_num_threads()
        rec.env = environment(dev)
        timer = timer or _default_timer(dev, "robust")
        fwd: list[Callable[[torch.Tensor], Any]] = []
        xs: list[torch.Tensor] = []
        refs = [output_check.fp32_reference(net, dtype) for _n, net in entries]
        for _n, net in entries:
            net = _prepare(net, dev, torch_dtype, channels_last, "robust")
            fwd.append(_forward_fn(net, scale))
            x = _make_input(input_size, float(getattr(net, "data_range", 1.0)), seed)
            xs.append(_to_device(x, dev, torch_dtype, channels_last))
        for i in range(len(entries)):  # warm every model up before any timed round
            for _ in range(warmup):
                out, _ms = timer.time(lambda i=i: fwd[i](xs[i]))
                del out
        times: list[list[float]] = [[] for _ in entries]
        for i in interleaved_order(len(entries), rounds, order, seed):
            out, ms = timer.time(lambda i=i: fwd[i](xs[i]))
            del out
            times[i].append(ms)
    for i, ((n, _net), t) in enumerate(zip(entries, times)):
        r = RuntimeRecord(
            model=n, scale=int(scale), device=str(dev), mode="robust", dtype=dtype, input_size=list(input_size),
            warmup=warmup, repeats=rounds, protocol=dict(base_protocol), env=rec.env,
        )
        r.fill_stats(t)
        with torch.inference_mode():  # an invalid output keeps no time (bench/output_check.py)
            ref_fwd = None if refs[i] is None else _forward_fn(refs[i].to(dev), scale)
            output_check.check_record(r, fwd[i], xs[i], ref_fwd, float(getattr(_net, "data_range", 1.0)), dtype)
        rec.records[n] = r
    if ref_name is not None:
        ref_med = rec.records[ref_name].median_ms
        rec.ratios = {n: (r.median_ms / ref_med if ref_med and r.median_ms is not None else None)
                      for n, r in rec.records.items()}
    rec.message = "; ".join(messages)
    return rec
