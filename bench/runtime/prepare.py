"""Getting a model and the process ready to be timed: device, dtype, threads, cuDNN, grad mode.

Shared by :func:`~bench.runtime.measure.measure_runtime`, :func:`~bench.runtime.compare.compare_runtime`
and :mod:`bench.profile`; every process-wide setting is restored on exit.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

import torch
from torch import nn

DTYPES: dict[str, torch.dtype] = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
#: CPU threads when none are asked for: single-thread timings are reproducible on a shared machine.
DEFAULT_CPU_THREADS = 1


@contextlib.contextmanager
def using_threads(n: int | None) -> Iterator[None]:
    """``torch.set_num_threads(n)`` inside the block (nothing when ``n`` is falsy); ``ValueError`` if n < 1."""
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
def using_cudnn_benchmark(flag: bool) -> Iterator[None]:
    """``torch.backends.cudnn.benchmark = flag`` inside the block."""
    old = torch.backends.cudnn.benchmark
    torch.backends.cudnn.benchmark = bool(flag)
    try:
        yield
    finally:
        torch.backends.cudnn.benchmark = old


def torch_device(device: str | torch.device) -> torch.device:
    """``device`` as a ``torch.device``; ``ValueError`` unless it is cpu or cuda."""
    dev = torch.device(device)
    if dev.type not in ("cpu", "cuda"):
        raise ValueError(f"device must be cpu or cuda, got {device!r}")
    return dev


def resolve_model(model: str | nn.Module, scale: int, pretrained: bool | str | Path) -> tuple[str, nn.Module]:
    """``(record name, module)``: a zoo name is built at ``scale``; a module is named by its spec or class."""
    if isinstance(model, nn.Module):
        spec = getattr(model, "esr_spec", None)
        name = spec.name if spec is not None else type(model).__name__
        return name, model
    from models import create_model, get_spec

    spec = get_spec(model)
    return spec.name, create_model(spec.name, scale, pretrained=pretrained)


def forward_fn(model: nn.Module, scale: int) -> Callable[[torch.Tensor], torch.Tensor]:
    """``x -> model(x)``, or ``model(x, scale)`` for a multi-scale zoo model."""
    spec = getattr(model, "esr_spec", None)
    if spec is not None and getattr(spec, "multi_scale", False):
        return lambda x: model(x, scale)
    return lambda x: model(x)


def prepare_model(
    model: nn.Module, device: torch.device, dtype: torch.dtype, channels_last: bool, mode: str
) -> nn.Module:
    """``model`` in eval mode on ``device``/``dtype`` (in place); ntire mode freezes the parameters."""
    model = model.eval().to(device=device, dtype=dtype)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    if mode == "ntire":
        for p in model.parameters():  # as the official select_model() does
            p.requires_grad = False
    return model


def grad_context(mode: str) -> contextlib.AbstractContextManager:
    """The grad mode of the timed forwards: ``inference_mode`` (robust) or autograd on (ntire)."""
    # the official loop uses neither no_grad nor inference_mode
    return torch.inference_mode() if mode == "robust" else torch.enable_grad()
