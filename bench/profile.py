"""Where one forward's time and memory go: per-module and per-operator breakdown via ``torch.profiler``.

:func:`profile_forward` runs a model on one LR input (robust-mode settings: eval, ``inference_mode``,
warm-up first), then profiles one more forward with ``torch.profiler.profile(profile_memory=True)``:

- **operators** (``aten::*``): calls, self time, self memory (bytes the operator allocated minus what it
  freed, from the c10 allocator events), share of the forward's self time;
- **modules**: every ``nn.Module`` down to ``depth`` levels is wrapped (forward pre/post hooks) in a
  profiler range ``module:<qualified name>``; networks whose fast forward calls functions instead of
  sub-module forwards (``models.agdn_fast``) open the same ranges themselves with
  ``torch.profiler.record_function``. Module time is *inclusive* (sub-modules and operators inside);
  module memory is the net bytes still held when the module returns (its output, mostly);
- the un-profiled forward time (median of ``repeats`` timed forwards, ``bench.runtime.timers``) and the
  forward peak memory (``bench.runtime.memory.cpu_forward_peak_bytes`` / ``cuda_forward_peak_bytes``).

Units: milliseconds, MiB (2**20 bytes). The profiler adds overhead per operator (a few microseconds),
so the profiled total exceeds ``forward_ms``; shares are computed within the profiled forward.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .env import environment
from .runtime.inputs import make_input, to_device
from .runtime.memory import MIB, cpu_forward_peak_bytes, cuda_forward_peak_bytes, quiet_native_stderr
from .runtime.prepare import forward_fn, torch_device, using_threads
from .runtime.timers import PerfCounterTimer, default_timer, time_repeated
from .stats import summarize

__all__ = ["MODULE_PREFIX", "ProfileRecord", "module_ranges", "profile_forward", "format_profile"]

#: Prefix of the profiler ranges that stand for modules (``module:B1.esa``).
MODULE_PREFIX = "module:"


@dataclass
class ProfileRecord:
    """One profiled forward. Times in ms, memory in MiB; ``operators``/``modules`` sorted by time."""

    model: str
    scale: int
    device: str
    input_size: list[int]
    threads: int | None
    status: str = "ok"
    message: str = ""
    forward_ms: float | None = None  # median of the un-profiled timed forwards
    profiled_ms: float | None = None  # wall time of the profiled forward (profiler overhead included)
    self_time_total_ms: float | None = None  # sum of every operator's self time in the profiled forward
    peak_mem_forward_mib: float | None = None
    operators: list[dict[str, Any]] = field(default_factory=list)
    modules: list[dict[str, Any]] = field(default_factory=list)
    protocol: dict[str, Any] = field(default_factory=dict)
    env: dict[str, Any] = field(default_factory=dict)
    kind: str = "profile"


@contextlib.contextmanager
def module_ranges(model: nn.Module, depth: int = 2) -> Iterator[None]:
    """Open a profiler range ``module:<name>`` around every sub-module's forward, ``depth`` levels deep.

    The root module is ``module:<root>``; ``depth=0`` keeps only it. Hooks are removed on exit.
    """
    handles = []
    stack: list[Any] = []

    def pre(name: str):
        def hook(_m, _inp):
            rf = torch.profiler.record_function(MODULE_PREFIX + name)
            rf.__enter__()
            stack.append(rf)

        hook._esr_profile_range = True  # a label only: models.agdn_fast keeps its fast forward
        return hook

    def post(_m, _inp, _out):
        if stack:
            stack.pop().__exit__(None, None, None)

    post._esr_profile_range = True

    for name, m in model.named_modules():
        level = 0 if not name else name.count(".") + 1
        if level > depth:
            continue
        handles.append(m.register_forward_pre_hook(pre(name or "<root>")))
        handles.append(m.register_forward_hook(post))
    try:
        yield
    finally:
        for h in handles:
            h.remove()
        while stack:
            stack.pop().__exit__(None, None, None)


def _device_time(e: Any, self_: bool) -> float:
    for attr in (("self_device_time_total", "self_cuda_time_total") if self_ else
                 ("device_time_total", "cuda_time_total")):
        v = getattr(e, attr, None)
        if v is not None:
            return float(v)
    return 0.0


def _summaries(prof: Any, device: torch.device, by_shape: bool) -> tuple[list[dict], list[dict], float]:
    events = prof.key_averages(group_by_input_shape=by_shape)
    gpu = device.type == "cuda"
    ops, mods = [], []
    for e in events:
        name = e.key
        if name.startswith(MODULE_PREFIX):
            mods.append({
                "module": name[len(MODULE_PREFIX):],
                "calls": int(e.count),
                "time_ms": (_device_time(e, False) if gpu else e.cpu_time_total) / 1e3,
                "cpu_time_ms": e.cpu_time_total / 1e3,
                "mem_mib": e.cpu_memory_usage / MIB if not gpu else getattr(e, "device_memory_usage", 0) / MIB,
            })
        elif not name.startswith("[") and not name.startswith("ProfilerStep"):
            row = {
                "operator": name,
                "calls": int(e.count),
                "self_time_ms": (_device_time(e, True) if gpu else e.self_cpu_time_total) / 1e3,
                "self_cpu_ms": e.self_cpu_time_total / 1e3,
                "self_mem_mib": (getattr(e, "self_device_memory_usage", 0) if gpu else e.self_cpu_memory_usage) / MIB,
            }
            if by_shape:
                row["input_shapes"] = [list(s) if isinstance(s, (list, tuple)) else s for s in e.input_shapes]
            ops.append(row)
    total = sum(o["self_time_ms"] for o in ops)
    for o in ops:
        o["share"] = o["self_time_ms"] / total if total else None
    root = next((m["time_ms"] for m in mods if m["module"] == "<root>"), None)
    for m in mods:  # module shares: of the whole network's (inclusive) time
        m["share"] = m["time_ms"] / root if root else None
    ops.sort(key=lambda o: -o["self_time_ms"])
    mods.sort(key=lambda m: (m["module"] != "<root>", -m["time_ms"]))
    return ops, mods, total


def profile_forward(
    model: nn.Module,
    scale: int,
    *,
    name: str | None = None,
    input_size: tuple[int, int] = (256, 256),
    device: str | torch.device = "cpu",
    threads: int | None = 1,
    warmup: int = 2,
    repeats: int = 5,
    depth: int = 2,
    by_shape: bool = False,
    top: int | None = 30,
    seed: int = 0,
) -> ProfileRecord:
    """Profile one forward of ``model`` (eval, ``inference_mode``) on a ``1 x C x H x W`` LR input.

    ``input_size`` is (H, W) of the LR input; ``threads`` the torch CPU threads (``None``: unchanged);
    ``depth`` how many module levels get their own row; ``top`` keeps that many operator rows
    (``None``: all). Raises ``ValueError`` for a bad size / thread count / repeat count; an unavailable
    CUDA device gives a ``skipped`` record, a forward that raises ``RuntimeError`` a ``failed`` one.
    """
    if len(input_size) != 2 or min(input_size) < 1:
        raise ValueError(f"input size must be two positive integers (H, W), got {input_size}")
    if threads is not None and threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    if warmup < 0 or repeats < 1 or depth < 0:
        raise ValueError("need warmup >= 0, repeats >= 1 and depth >= 0")
    dev = torch_device(device)
    spec = getattr(model, "esr_spec", None)
    rec = ProfileRecord(model=name or (spec.name if spec else type(model).__name__), scale=int(scale),
                        device=str(dev), input_size=[int(input_size[0]), int(input_size[1])], threads=threads)
    rec.protocol = {
        "name": "esr-bench profile: torch.profiler over one forward (profile_memory=True)",
        "grad_mode": "torch.inference_mode()", "warmup": warmup, "repeats": repeats, "module_depth": depth,
        "module_time": "inclusive (sub-modules and operators inside)",
        "operator_time": "self time (children excluded)",
        "memory": "c10 allocator events: bytes allocated minus freed",
    }
    if dev.type == "cuda" and not torch.cuda.is_available():
        rec.status, rec.message = "skipped", "CUDA is not available on this machine"
        return rec
    from torch.profiler import ProfilerActivity, profile

    model = model.eval().to(dev)
    with using_threads(threads), torch.inference_mode():
        rec.threads = torch.get_num_threads() if dev.type == "cpu" else threads
        rec.env = environment(dev)
        x = to_device(make_input(input_size, float(getattr(model, "data_range", 1.0)), seed), dev,
                      torch.float32, False)
        fwd = forward_fn(model, scale)
        timer = default_timer(dev, "robust") if dev.type == "cuda" else PerfCounterTimer()
        try:
            times = time_repeated(fwd, x, timer, warmup=warmup, repeats=repeats)
        except RuntimeError as exc:  # e.g. an input too small for the network's pooling
            rec.status = "failed"
            rec.message = f"forward failed on a 1x3x{input_size[0]}x{input_size[1]} input: {exc}"
            return rec
        rec.forward_ms = summarize(times).median
        peak = cuda_forward_peak_bytes(fwd, x, dev) if dev.type == "cuda" else cpu_forward_peak_bytes(fwd, x)
        rec.peak_mem_forward_mib = peak / MIB
        activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if dev.type == "cuda" else [])
        with module_ranges(model, depth), quiet_native_stderr():
            with profile(activities=activities, profile_memory=True, record_shapes=by_shape) as prof:
                t0 = time.perf_counter()
                out = fwd(x)
                if dev.type == "cuda":
                    torch.cuda.synchronize(dev)
                rec.profiled_ms = (time.perf_counter() - t0) * 1e3
                del out
    ops, mods, total = _summaries(prof, dev, by_shape)
    rec.operators = ops[:top] if top else ops
    rec.modules = mods
    rec.self_time_total_ms = total
    if top and len(ops) > top:
        rec.message = f"{len(ops) - top} more operator rows left out (--top)"
    return rec


def format_profile(rec: ProfileRecord | dict[str, Any], top: int = 25) -> str:
    """The record as two plain-text tables (modules, then operators) for the terminal."""
    from .records import to_jsonable

    d = to_jsonable(rec)
    if d["status"] != "ok":
        return f"{d['model']} x{d['scale']}: {d['status']}: {d['message']}"
    h, w = d["input_size"]
    lines = [
        f"{d['model']} x{d['scale']} on {d['env'].get('device_name') or d['device']}, LR {h}x{w}, "
        f"threads {d['threads']}: forward {d['forward_ms']:.2f} ms (median, unprofiled), "
        f"profiled {d['profiled_ms']:.2f} ms, peak forward memory {d['peak_mem_forward_mib']:.1f} MiB",
        "",
        f"{'module (inclusive)':<40}{'calls':>6}{'time ms':>11}{'share':>8}{'mem MiB':>10}",
    ]
    for m in d["modules"]:
        share = "-" if m["share"] is None else f"{100 * m['share']:.1f}%"
        lines.append(f"{m['module'][:39]:<40}{m['calls']:>6}{m['time_ms']:>11.2f}{share:>8}{m['mem_mib']:>10.2f}")
    lines += ["", f"{'operator (self)':<40}{'calls':>6}{'time ms':>11}{'share':>8}{'mem MiB':>10}"]
    for o in d["operators"][:top]:
        share = "-" if o["share"] is None else f"{100 * o['share']:.1f}%"
        label = o["operator"] + (f" {o['input_shapes'][0]}" if o.get("input_shapes") else "")
        lines.append(f"{label[:39]:<40}{o['calls']:>6}{o['self_time_ms']:>11.2f}{share:>8}{o['self_mem_mib']:>10.2f}")
    lines.append(f"{'all operators':<40}{'':>6}{d['self_time_total_ms']:>11.2f}")
    if d.get("message"):
        lines.append(d["message"])
    return "\n".join(lines)


def default_out_path(out: str | Path, rec: ProfileRecord) -> Path:
    """``<out>/profile/<model>_x<scale>_<H>x<W>_<device>_t<threads>.json``."""
    h, w = rec.input_size
    dev = rec.device.split(":")[0]
    return Path(out) / "profile" / f"{rec.model}_x{rec.scale}_{h}x{w}_{dev}_t{rec.threads}.json"
