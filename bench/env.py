"""The environment a number was measured in: hardware, library versions, thread settings.

:func:`environment` returns a plain JSON-safe dict that every record carries in its ``env`` field.
Nothing here needs a network; a missing tool (no ``nvidia-smi``, no ``/proc/cpuinfo``) gives ``None``.
"""

from __future__ import annotations

import functools
import os
import platform
import subprocess
import sys
from typing import Any

import numpy
import torch

from . import __version__

__all__ = ["environment", "cpu_model", "nvidia_driver_version"]


@functools.lru_cache(maxsize=1)
def cpu_model() -> str | None:
    """CPU model name from ``/proc/cpuinfo`` (Linux), else ``platform.processor()``, else ``None``."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


@functools.lru_cache(maxsize=1)
def nvidia_driver_version() -> str | None:
    """NVIDIA kernel driver version (e.g. ``"550.54.15"``) from ``nvidia-smi``, or ``None``."""
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return out.splitlines()[0].strip() if out else None


def _cuda_info(device: torch.device) -> dict[str, Any]:
    index = device.index if device.index is not None else torch.cuda.current_device()
    props = torch.cuda.get_device_properties(index)
    return {
        "device_name": torch.cuda.get_device_name(index),
        "device_index": index,
        "gpu_memory_mib": round(props.total_memory / 2**20, 1),
        "compute_capability": f"{props.major}.{props.minor}",
        "driver": nvidia_driver_version(),
        "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version(),
        "cudnn_benchmark": bool(torch.backends.cudnn.benchmark),
        "cudnn_deterministic": bool(torch.backends.cudnn.deterministic),
        "tf32_matmul": bool(torch.backends.cuda.matmul.allow_tf32),
        "tf32_cudnn": bool(torch.backends.cudnn.allow_tf32),
    }


def environment(device: str | torch.device | None = None) -> dict[str, Any]:
    """Versions, hardware and threading of this process, for ``device`` (default: CPU).

    Keys: ``torch``, ``python``, ``platform``, ``numpy``, ``esr_bench``, ``cpu_model``, ``cpu_count``,
    ``threads`` (``torch.get_num_threads()``), ``interop_threads``, ``omp_num_threads`` (env var),
    ``mkldnn``, ``device``, ``device_name`` and, on CUDA, ``driver`` (NVIDIA driver), ``cuda`` (CUDA
    runtime torch was built with), ``cudnn``, ``gpu_memory_mib``, ``compute_capability`` and the cuDNN
    / TF32 flags. ``cuda`` / ``cudnn`` are also filled on CPU when torch is a CUDA build.
    """
    dev = torch.device(device) if device is not None else torch.device("cpu")
    env: dict[str, Any] = {
        "torch": torch.__version__,
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "numpy": numpy.__version__,
        "esr_bench": __version__,
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "threads": torch.get_num_threads(),
        "interop_threads": torch.get_num_interop_threads(),
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "mkldnn": bool(torch.backends.mkldnn.is_available()),
        "device": str(dev),
        "device_name": cpu_model() if dev.type == "cpu" else None,
        "cuda": torch.version.cuda,
        "cudnn": None,
        "driver": None,
        "executable": sys.executable,
    }
    if dev.type == "cuda" and torch.cuda.is_available():
        env.update(_cuda_info(dev))
    return env
