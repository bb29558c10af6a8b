"""Peak memory of one forward, on CPU (torch.profiler) and CUDA (the caching allocator), and tensor bytes.

All figures are bytes; records convert them to MiB (:data:`MIB`).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import torch
from torch import nn

MIB = 2**20


def profiler_trace_peak(trace_file: Path) -> int:
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
def quiet_native_stderr() -> Iterator[None]:
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

    with quiet_native_stderr(), profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        out = forward(x)
        del out
    with tempfile.TemporaryDirectory(prefix="esr-bench-mem-") as tmp:
        trace = Path(tmp) / "trace.json"
        prof.export_chrome_trace(str(trace))
        return profiler_trace_peak(trace)


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


def ntire_max_allocated_mib(device: torch.device | str | None = None) -> float:
    """The official NTIRE "Mem" figure (MiB): ``torch.cuda.max_memory_allocated(device) / 2**20``, absolute.

    As the official ``test_demo.py`` writes ``results[f"{mode}_memory"]``: read after a split, the peak
    statistics never reset by the harness, nothing subtracted, so it counts everything the process has
    allocated on the GPU since it started (or since the last ``reset_peak_memory_stats``): weights,
    inputs, every forward's activations and outputs. In a long-lived process it includes memory held by
    earlier models; measure in a fresh process (``measure_runtime_isolated``, the challenge's sandbox
    child) for the official figure. CUDA only (raises whatever ``torch.cuda`` raises without a GPU).
    Used by both :func:`bench.runtime.measure_runtime` (``cuda_max_allocated_mib``, per-split
    ``max_memory_allocated_mib``) and :mod:`challenge.evaluate` (``valid_memory`` / ``test_memory``).
    """
    return torch.cuda.max_memory_allocated(device) / MIB


def tensor_bytes(tensors: Iterable[torch.Tensor]) -> int:
    """Bytes of the elements of ``tensors`` (``numel * element_size`` each)."""
    return sum(t.numel() * t.element_size() for t in tensors)


def module_bytes(model: nn.Module) -> int:
    """Bytes of the parameters and buffers of ``model`` (each shared tensor counted once)."""
    seen: dict[int, torch.Tensor] = {}
    for t in list(model.parameters()) + list(model.buffers()):
        seen.setdefault(id(t), t)
    return tensor_bytes(seen.values())


def memory_method(device: torch.device, mode: str) -> str:
    """How the record's memory figures were taken on ``device`` in ``mode`` (the record's ``memory_method``)."""
    total = "total: parameter+buffer bytes + input bytes + forward peak"
    if device.type == "cuda":
        nt = (
            "cuda_max_allocated: torch.cuda.max_memory_allocated() / 2**20, absolute (nothing subtracted), peak "
            "statistics reset once before the model was moved to the GPU and never again (weights, inputs, every "
            "forward; memory other objects of the process still hold is included), the official NTIRE Mem"
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
