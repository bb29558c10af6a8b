"""Is a timed forward's output a valid result? (runtime records: fp16/bf16 overflow, broken kernels).

A time is only a result when the forward computed the model: an fp16 run whose activations overflow
to ``inf``/``NaN`` (fp32 finite) is fast and wrong. :func:`output_problem` checks one output:

- every element must be finite;
- when a lower precision (fp16 / bf16) was timed, the output must stay within
  :data:`MIN_PSNR_VS_FP32` dB of the fp32 output of the same weights and input (PSNR over the model's
  ``data_range``, :func:`bench.metrics.psnr`). 30 dB is an RMS deviation of 3.2% of the range: far
  beyond fp16/bf16 rounding of a working model (typically > 45 dB), and a deviation that would change
  any PSNR the record is compared with.

:func:`invalidate` turns a runtime record into ``status="invalid"`` with the reason; its times move to
``protocol["discarded_times_ms"]`` so that no table or CLI line can show them as a result.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from .metrics import psnr

__all__ = ["MIN_PSNR_VS_FP32", "output_problem", "fp32_reference", "check_forward", "invalidate", "check_record"]

MIN_PSNR_VS_FP32 = 30.0  # dB


def output_problem(output: torch.Tensor, reference: torch.Tensor | None = None, data_range: float = 1.0,
                   dtype: str = "fp32") -> str | None:
    """Why ``output`` (any shape, the model's range) is not a valid result, or ``None`` when it is.

    ``reference``: the fp32 output of the same weights and input (same shape), given when ``dtype`` is
    a lower precision. Raises ``ValueError`` when the shapes differ.
    """
    if not isinstance(output, torch.Tensor):
        return f"the forward returned {type(output).__name__}, not a tensor"
    out = output.detach().float().cpu()
    finite = torch.isfinite(out)
    if not bool(finite.all()):
        nan = int(torch.isnan(out).sum())
        inf = int(torch.isinf(out).sum())
        extra = ""
        if reference is not None and bool(torch.isfinite(reference).all()):
            extra = f" while the fp32 output is finite: {dtype} overflows in this model"
        return f"non-finite output in {dtype}: {nan:,} NaN and {inf:,} inf of {out.numel():,} values{extra}"
    if reference is None:
        return None
    ref = reference.detach().float().cpu()
    if ref.shape != out.shape:
        raise ValueError(f"output shape {tuple(out.shape)} differs from the fp32 reference {tuple(ref.shape)}")
    if not bool(torch.isfinite(ref).all()):
        return "the fp32 reference output is itself non-finite"
    db = psnr(out, ref, data_range)
    if db < MIN_PSNR_VS_FP32:
        return (f"{dtype} output is {db:.1f} dB from the fp32 output (PSNR over data_range {data_range:g}; "
                f"valid above {MIN_PSNR_VS_FP32:g} dB): lower precision changes the result")
    return None


def fp32_reference(net: nn.Module, dtype: str) -> nn.Module | None:
    """An fp32 copy of ``net`` taken before a low-precision run (``None`` when ``dtype`` is fp32)."""
    return None if dtype == "fp32" else copy.deepcopy(net).float().eval()


def check_forward(forward: Callable[[torch.Tensor], Any], x: torch.Tensor, reference_forward:
                  Callable[[torch.Tensor], Any] | None, data_range: float, dtype: str) -> str | None:
    """Run ``forward(x)`` (the timed model, ``x`` on its device and dtype) once more and check the output.

    ``reference_forward`` runs the fp32 copy on ``x`` in fp32 (``None`` for an fp32 run). The caller
    chooses the grad mode (the timed protocol's own).
    """
    out = forward(x)
    ref = reference_forward(x.float()) if reference_forward is not None else None
    return output_problem(out, ref, data_range, dtype)


def invalidate(rec: Any, reason: str) -> Any:
    """Mark a runtime record ``invalid``: reason in ``message``, times moved out of the result fields."""
    rec.status = "invalid"
    rec.message = f"output check failed: {reason}"
    rec.protocol["discarded_times_ms"] = list(rec.times_ms)
    rec.times_ms = []
    for key in ("median_ms", "mean_ms", "std_ms", "min_ms", "p90_ms", "iqr_ms", "cv", "ave_time_ms"):
        setattr(rec, key, None)
    for split in rec.splits.values():
        split.pop("mean_ms", None)
        split.pop("first_ms", None)
        split.pop("times_ms", None)
    return rec


def check_record(rec: Any, forward: Callable[[torch.Tensor], Any], x: torch.Tensor,
                 reference_forward: Callable[[torch.Tensor], Any] | None, data_range: float, dtype: str) -> Any:
    """:func:`check_forward` on a finished ``ok`` runtime record; :func:`invalidate` it on a problem."""
    reason = check_forward(forward, x, reference_forward, data_range, dtype)
    return invalidate(rec, reason) if reason else rec
